//! Who may use the dashboard: whoever holds the access token (`access`), given once in the
//! address (`/?token=...`) and kept in a cookie after, so it leaves the address bar and the
//! history at once. A POST (an action) must also come from a page of the dashboard: its `Origin`
//! and `Sec-Fetch-Site` say so when the browser sends them, and its form carries the CSRF token
//! that only the dashboard's pages hold (checked by `actions`).

use super::state::Shared;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

/// The middleware every request passes: the token from the cookie, or from `?token=` (then
/// set as the cookie, and the address given again without it).
pub async fn require_token(State(ui): State<Shared>, request: Request, next: Next) -> Response {
    let query = request.uri().query().unwrap_or("");
    let given = form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned());
    if let Some(given) = given {
        if !ui.access.is_token(&given) {
            return unauthorized();
        }
        let rest: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                form_urlencoded::parse(query.as_bytes()).filter(|(key, _)| key != "token"),
            )
            .finish();
        // One leading slash: `//host/...` would send the browser to another site.
        let path = request.uri().path().trim_start_matches(['/', '\\']);
        let path = format!("/{path}");
        let to = if rest.is_empty() {
            path
        } else {
            format!("{path}?{rest}")
        };
        // Lax: a link to the dashboard from elsewhere opens it; actions need the CSRF token.
        let cookie = format!(
            "{}={}; HttpOnly; SameSite=Lax; Path=/",
            ui.access.cookie_name,
            ui.access.cookie()
        );
        return ([(header::SET_COOKIE, cookie)], Redirect::to(&to)).into_response();
    }
    let cookie = cookie_value(request.headers(), &ui.access.cookie_name);
    if !cookie.is_some_and(|value| ui.access.is_cookie(value)) {
        return unauthorized();
    }
    if request.method() == Method::POST && is_cross_site(request.headers()) {
        let body = "403: refused: a page of another origin asked for this action (a cross-site \
                    request)\n";
        return (StatusCode::FORBIDDEN, body).into_response();
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        "no-store".parse().expect("a header value"),
    );
    headers.insert("x-frame-options", "DENY".parse().expect("a header value"));
    headers.insert(
        "x-content-type-options",
        "nosniff".parse().expect("a header value"),
    );
    // Not `no-referrer`: Chromium then sends `Origin: null` with the dashboard's own forms.
    headers.insert(
        "referrer-policy",
        "same-origin".parse().expect("a header value"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
            .parse()
            .expect("a header value"),
    );
    response
}

/// A request a page of another origin made: its `Origin` is not this host, or the browser
/// says it came from another site.
fn is_cross_site(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(site) = text("sec-fetch-site")
        && site != "same-origin"
        && site != "none"
    {
        return true;
    }
    match (text("origin"), text("host")) {
        (Some(origin), Some(host)) => {
            origin != format!("http://{host}") && origin != format!("https://{host}")
        }
        (Some(_), None) => true,
        _ => false,
    }
}

fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn unauthorized() -> Response {
    let body = "401: pulse ui needs its access token: open the address `pulse ui` printed \
                (http://HOST:PORT/?token=...)\n";
    (StatusCode::UNAUTHORIZED, body).into_response()
}

/// The answer to a POST whose form lacks the dashboard's CSRF token.
pub fn refused() -> Response {
    let body = "403: refused: the form carries no valid CSRF token: ask for this action from \
                a page of this dashboard\n";
    (StatusCode::FORBIDDEN, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_site_requests_are_told_apart() {
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, value.parse().unwrap());
            }
            map
        };
        let host = ("host", "127.0.0.1:8484");
        assert!(!is_cross_site(&headers(&[host])));
        assert!(!is_cross_site(&headers(&[
            host,
            ("origin", "http://127.0.0.1:8484")
        ])));
        assert!(is_cross_site(&headers(&[
            host,
            ("origin", "http://127.0.0.1:9999")
        ])));
        assert!(is_cross_site(&headers(&[
            host,
            ("sec-fetch-site", "same-site")
        ])));
        assert!(is_cross_site(&headers(&[
            host,
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(!is_cross_site(&headers(&[
            host,
            ("sec-fetch-site", "same-origin")
        ])));
        let cookies = headers(&[("cookie", "a=1; pulse_ui=xyz")]);
        assert_eq!(cookie_value(&cookies, "pulse_ui"), Some("xyz"));
    }
}
