//! The access token every request needs and the CSRF token forms carry, derived from it (so
//! it survives a restart with the same `--token`).

use hmac::Mac;
use rand::RngCore;

/// The access token and the CSRF token derived from it.
pub struct Access {
    token: String,
    csrf: String,
}

impl Access {
    pub fn new(token: String) -> Access {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(token.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(b"pulse ui csrf");
        let csrf = hex(&mac.finalize().into_bytes());
        Access { token, csrf }
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
        let access = Access::new("0123456789abcdef".into());
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
