//! OAuth2 client credentials (RFC 6749 section 4.4): the bearer token a deliverer sends in
//! `Authorization`, fetched from the token endpoint before the first request (`token_endpoint.rs`
//! asks for it), kept in memory only, renewed before it expires and once after a 401.
//!
//! One token serves every batch in flight (`--concurrency`): they are futures on one thread,
//! and the token sits behind an async mutex held while a new one is fetched, so one refresh runs
//! at a time and the batches that wait for it take the token it brought. When to renew, and
//! whether a 401 renews, are pure functions tested here.

use std::time::{Duration, Instant};

use reqwest::Client;

use super::token_endpoint::{fetch, OAuth2Settings};

/// The most a token is renewed before it expires.
const MOST_MARGIN: Duration = Duration::from_secs(60);

/// How long before its end a token that lives `lifetime` is renewed: half its life, at most a
/// minute. A one-hour token is used for 59 minutes, a one-second token for half a second: a
/// request sent with it still reaches the receiver well before it expires.
pub(super) fn margin(lifetime: Duration) -> Duration {
    (lifetime / 2).min(MOST_MARGIN)
}

/// When a token asked for at `asked` (its life counted from then: it was issued no earlier)
/// that lives `expires_in` is renewed; never, without `expires_in` (then only a 401 renews it).
pub(super) fn renew_at(asked: Instant, expires_in: Option<Duration>) -> Option<Instant> {
    expires_in.map(|lifetime| asked + lifetime - margin(lifetime))
}

/// Whether an attempt that got `status` is tried again at once with a new token: a 401 to a
/// request that carried one, unless the attempt before was such a retry already (a second 401
/// in a row is the receiver's answer).
pub(super) fn renews_after(status: u16, sent_token: bool, renewed_before: bool) -> bool {
    status == 401 && sent_token && !renewed_before
}

/// The token in use.
struct Token {
    value: String,
    renew_at: Option<Instant>,
}

impl Token {
    fn usable(&self, now: Instant) -> bool {
        self.renew_at.is_none_or(|at| now < at)
    }
}

/// A token to send, and whether it was fetched for this call (its value is new to the
/// redactor).
pub(super) struct Bearer {
    pub token: String,
    pub fresh: bool,
}

/// The tokens of one deliverer.
pub(super) struct Tokens {
    settings: OAuth2Settings,
    /// Held across a fetch: one refresh at a time, and whoever waited takes its token.
    current: tokio::sync::Mutex<Option<Token>>,
}

impl Tokens {
    pub fn new(settings: OAuth2Settings) -> Tokens {
        Tokens {
            settings,
            current: tokio::sync::Mutex::new(None),
        }
    }

    pub fn settings(&self) -> &OAuth2Settings {
        &self.settings
    }

    /// The token to send now: the one held while it is fresh, else a new one. The error is the
    /// token endpoint's answer in a few words (not yet redacted).
    pub async fn bearer(&self, client: &Client) -> Result<Bearer, String> {
        let mut current = self.current.lock().await;
        if let Some(token) = current.as_ref().filter(|t| t.usable(Instant::now())) {
            return Ok(Bearer {
                token: token.value.clone(),
                fresh: false,
            });
        }
        *current = None;
        let asked = Instant::now();
        let issued = fetch(client, &self.settings).await?;
        let token = Token {
            renew_at: renew_at(asked, issued.expires_in),
            value: issued.access_token,
        };
        let bearer = Bearer {
            token: token.value.clone(),
            fresh: true,
        };
        *current = Some(token);
        Ok(bearer)
    }

    /// A receiver answered 401 to `token`: it is dropped, unless it was replaced already (by
    /// another batch's 401) or is being replaced (a fetch in flight holds the lock).
    pub fn refused(&self, token: &str) {
        if let Ok(mut current) = self.current.try_lock()
            && current.as_ref().is_some_and(|t| t.value == token)
        {
            *current = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_renewed_half_way_through_a_short_life_and_a_minute_early_in_a_long_one() {
        assert_eq!(margin(Duration::from_secs(1)), Duration::from_millis(500));
        assert_eq!(margin(Duration::from_secs(90)), Duration::from_secs(45));
        assert_eq!(margin(Duration::from_secs(3600)), Duration::from_secs(60));
        assert_eq!(margin(Duration::ZERO), Duration::ZERO);
        let asked = Instant::now();
        let one_second = renew_at(asked, Some(Duration::from_secs(1))).unwrap();
        assert_eq!(one_second - asked, Duration::from_millis(500));
        let hour = renew_at(asked, Some(Duration::from_secs(3600))).unwrap();
        assert_eq!(hour - asked, Duration::from_secs(3540));
        assert_eq!(renew_at(asked, None), None);
    }

    #[test]
    fn a_token_is_used_until_its_renewal_time_and_one_without_expiry_until_refused() {
        let asked = Instant::now();
        let token = Token {
            value: "t".into(),
            renew_at: renew_at(asked, Some(Duration::from_secs(2))),
        };
        assert!(token.usable(asked));
        assert!(token.usable(asked + Duration::from_millis(999)));
        assert!(!token.usable(asked + Duration::from_secs(1)));
        let lasting = Token {
            value: "t".into(),
            renew_at: None,
        };
        assert!(lasting.usable(asked + Duration::from_secs(86_400)));
        // A token that expires at once is renewed before each request.
        let instant = Token {
            value: "t".into(),
            renew_at: renew_at(asked, Some(Duration::ZERO)),
        };
        assert!(!instant.usable(asked));
    }

    #[test]
    fn only_a_first_401_to_a_request_with_a_token_renews_it() {
        assert!(renews_after(401, true, false));
        assert!(!renews_after(401, true, true), "a second 401 in a row");
        assert!(!renews_after(401, false, false), "no token was sent");
        assert!(!renews_after(403, true, false));
        assert!(!renews_after(200, true, false));
    }

    fn tokens() -> Tokens {
        Tokens::new(OAuth2Settings {
            token_url: reqwest::Url::parse("http://127.0.0.1:9/token").unwrap(),
            client_id: "id".into(),
            client_secret: "secret".into(),
            scope: None,
            audience: None,
            client_auth: super::super::token_endpoint::ClientAuth::Basic,
        })
    }

    #[test]
    fn a_refused_token_is_dropped_once_and_a_newer_one_is_kept() {
        let tokens = tokens();
        let set = |value: &str| {
            *tokens.current.try_lock().unwrap() = Some(Token {
                value: value.into(),
                renew_at: None,
            })
        };
        let held = || {
            tokens
                .current
                .try_lock()
                .unwrap()
                .as_ref()
                .map(|t| t.value.clone())
        };
        set("new");
        tokens.refused("old");
        assert_eq!(
            held().as_deref(),
            Some("new"),
            "replaced already by another 401"
        );
        tokens.refused("new");
        assert_eq!(held(), None);
        set("fetching");
        let guard = tokens.current.try_lock().unwrap();
        tokens.refused("fetching");
        drop(guard);
        assert_eq!(
            held().as_deref(),
            Some("fetching"),
            "a fetch in flight replaces it"
        );
    }
}
