//! Standard Webhooks signing: secrets, the signed content, and `v1,` signatures.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

const PREFIX: &str = "whsec_";

/// One signing key: the secret's base64-decoded bytes.
#[derive(Clone)]
pub struct SigningSecret(Vec<u8>);

impl SigningSecret {
    /// Parses `whsec_<base64>` (the prefix is optional, as in the reference libraries).
    pub fn parse(secret: &str) -> Result<SigningSecret, String> {
        let encoded = secret.trim().strip_prefix(PREFIX).unwrap_or(secret.trim());
        let bytes = B64
            .decode(encoded)
            .map_err(|_| "a secret must be whsec_ followed by base64 (see `pulse secret new`)")?;
        if bytes.is_empty() {
            return Err("a secret must not be empty".into());
        }
        Ok(SigningSecret(bytes))
    }

    /// The secret as users write it, `whsec_<base64>`, and its base64 alone: what a receiver
    /// could echo back, for redaction.
    pub fn texts(&self) -> [String; 2] {
        let encoded = B64.encode(&self.0);
        [format!("{PREFIX}{encoded}"), encoded]
    }

    /// A fingerprint that tells secrets apart without revealing them: `fp_` and the first
    /// 8 bytes of the SHA-256 of the key, in hex. Stored with a run, so that a different secret
    /// given to resume or resend is refused before anything is sent.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let digest = Sha256::digest(&self.0);
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("fp_{hex}")
    }

    /// A fresh 24-byte key, as the reference libraries generate.
    pub fn generate() -> (SigningSecret, String) {
        let mut bytes = vec![0u8; 24];
        rand::thread_rng().fill_bytes(&mut bytes);
        let text = format!("{PREFIX}{}", B64.encode(&bytes));
        (SigningSecret(bytes), text)
    }

    /// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
    }
}

/// The `webhook-signature` header value: one signature per key, space-separated (rotation).
pub fn signature_header(
    secrets: &[SigningSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|key| key.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// True when any `v1,` signature in `header` matches any key (constant-time comparison).
pub fn verify(
    secrets: &[SigningSecret],
    header: &str,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> bool {
    let expected: Vec<String> = secrets
        .iter()
        .map(|s| s.sign(id, timestamp, body))
        .collect();
    header.split_whitespace().any(|given| {
        expected
            .iter()
            .any(|want| constant_time_eq(want.as_bytes(), given.as_bytes()))
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TS: i64 = 1649367553;
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;

    #[test]
    fn standard_webhooks_test_vector() {
        let key = SigningSecret::parse(SECRET).unwrap();
        assert_eq!(
            key.sign(ID, TS, BODY),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn rotation_gives_one_signature_per_key_and_verifies_with_either() {
        let old = SigningSecret::parse(SECRET).unwrap();
        let (new, _) = SigningSecret::generate();
        let header = signature_header(&[old.clone(), new.clone()], ID, TS, BODY);
        assert_eq!(header.split(' ').count(), 2);
        assert!(verify(&[new], &header, ID, TS, BODY));
        assert!(verify(std::slice::from_ref(&old), &header, ID, TS, BODY));
        assert!(!verify(&[old], &header, ID, TS + 1, BODY));
    }

    #[test]
    fn generated_secrets_round_trip() {
        let (key, text) = SigningSecret::generate();
        assert!(text.starts_with("whsec_"));
        let parsed = SigningSecret::parse(&text).unwrap();
        assert_eq!(parsed.sign(ID, TS, BODY), key.sign(ID, TS, BODY));
    }

    #[test]
    fn bad_secrets_are_refused() {
        assert!(SigningSecret::parse("whsec_not base64!").is_err());
        assert!(SigningSecret::parse("whsec_").is_err());
    }
}
