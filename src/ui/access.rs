//! The access token every request needs and the CSRF token forms carry, derived from it (so
//! it survives a restart with the same `--token`).

use hmac::Mac;
use rand::RngCore;

/// The access token, and what is derived from it: the cookie's value (not the token itself:
/// browsers send a cookie to every port of a host) and the CSRF token.
pub struct Access {
    token: String,
    cookie: String,
    csrf: String,
    /// `pulse_ui_PORT`: two dashboards on one host keep a cookie each.
    pub cookie_name: String,
}

impl Access {
    pub fn new(token: String, port: u16) -> Access {
        Access {
            cookie: derived(&token, b"pulse ui cookie"),
            csrf: derived(&token, b"pulse ui csrf"),
            token,
            cookie_name: format!("pulse_ui_{port}"),
        }
    }

    /// The cookie's value.
    pub fn cookie(&self) -> &str {
        &self.cookie
    }

    pub fn is_cookie(&self, given: &str) -> bool {
        same(given.as_bytes(), self.cookie.as_bytes())
    }

    /// The token forms carry in their `csrf` field.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    pub fn is_token(&self, given: &str) -> bool {
        same(given.as_bytes(), self.token.as_bytes())
    }

    /// Whether a form's `csrf` field is the dashboard's.
    pub fn is_csrf(&self, given: &str) -> bool {
        same(given.as_bytes(), self.csrf.as_bytes())
    }
}

/// HMAC-SHA256 of `what` keyed by the token, in hex.
fn derived(token: &str, what: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(token.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(what);
    hex(&mac.finalize().into_bytes())
}

/// Whether a token given by the user can travel in an address unescaped.
pub fn is_plain_token(token: &str) -> bool {
    token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._~+/=-".contains(&b))
}

/// 32 random hex digits (128 bits).
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares in time independent of where the texts differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        let access = Access::new("0123456789abcdef".into(), 8484);
        assert_eq!(access.cookie_name, "pulse_ui_8484");
        assert_eq!(access.cookie().len(), 64);
        assert!(!access.cookie().contains("0123456789abcdef"));
        assert!(access.is_cookie(access.cookie()));
        assert_ne!(access.cookie(), access.csrf());
        assert!(is_plain_token("a-Token_of.mine~1+2/3="));
        assert!(!is_plain_token("semi;colon") && !is_plain_token("spa ce") && !is_plain_token("é"));
        assert!(access.is_token("0123456789abcdef"));
        assert!(!access.is_token("0123456789abcde"));
        assert!(!access.is_token("0123456789abcdeF"));
        assert_eq!(access.csrf().len(), 64);
        assert_ne!(access.csrf(), "0123456789abcdef");
        assert!(access.is_csrf(access.csrf()));
        assert_eq!(random_token().len(), 32);
        assert_ne!(random_token(), random_token());
    }
}
