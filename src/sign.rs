//! Standard Webhooks signing: secrets, the signer a command resolves once, the signed content,
//! and `v1,` signatures.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

const PREFIX: &str = "whsec_";

/// How a command was asked to sign, before the secrets are resolved (`run::signing`).
#[derive(Clone)]
pub enum Signing {
    /// `--secret` or `PULSE_SECRET`.
    Secrets(Vec<SigningSecret>),
    /// No secret given: use (or create) the one stored for the URL.
    Generated,
    /// `--no-sign`.
    Unsigned,
}

/// The secrets a command signs with, resolved once at its start; none: requests go unsigned.
/// Used by the deliverer's body loaders, the dry run and resend alike.
#[derive(Clone, Default)]
pub struct Signer {
    secrets: Vec<SigningSecret>,
}

/// A signature made for one timestamp.
#[derive(Debug, Clone)]
pub struct Signature {
    pub timestamp: i64,
    pub header: String,
}

impl Signer {
    pub fn new(secrets: Vec<SigningSecret>) -> Signer {
        Signer { secrets }
    }

    pub fn unsigned() -> Signer {
        Signer::default()
    }

    pub fn is_signing(&self) -> bool {
        !self.secrets.is_empty()
    }

    /// The secrets, for redaction wherever a receiver echoes one back.
    pub fn secrets(&self) -> &[SigningSecret] {
        &self.secrets
    }

    /// What a run stores to recognise its secrets later, never the secrets themselves.
    pub fn fingerprints(&self) -> Vec<String> {
        self.secrets
            .iter()
            .map(SigningSecret::fingerprint)
            .collect()
    }

    /// A signature by every secret for `content` as of now, or None when unsigned.
    pub fn sign_now(&self, webhook_id: &str, content: &[u8]) -> Option<Signature> {
        if self.secrets.is_empty() {
            return None;
        }
        let timestamp = unix_now();
        Some(Signature {
            timestamp,
            header: signature_header(&self.secrets, webhook_id, timestamp, content),
        })
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

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

    #[test]
    fn without_keys_nothing_is_signed() {
        assert!(Signer::unsigned().sign_now("msg_1", b"[]").is_none());
    }

    #[test]
    fn a_signature_is_for_the_current_second() {
        let (key, _) = SigningSecret::generate();
        let before = unix_now();
        let signer = Signer::new(vec![key.clone()]);
        let signed = signer.sign_now("msg_1", b"[1]").unwrap();
        assert!(signed.timestamp >= before && signed.timestamp <= unix_now());
        assert!(verify(
            &[key],
            &signed.header,
            "msg_1",
            signed.timestamp,
            b"[1]"
        ));
        assert_eq!(signer.fingerprints().len(), 1);
    }
}
