//! What pulse prints and stores in place of a credential.

/// A URL as pulse prints it: a password in it is masked, since nothing secret is printed.
pub fn shown_url(text: &str) -> String {
    match reqwest::Url::parse(text) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_masked() {
        assert_eq!(
            shown_url("https://user:pw@example.com/hook"),
            "https://user:***@example.com/hook"
        );
        assert_eq!(shown_url("http://127.0.0.1:8/h"), "http://127.0.0.1:8/h");
    }
}
