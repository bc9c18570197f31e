//! Standard Webhooks signing: secrets, the signer a command resolves once, the signed content,
//! `v1,` (HMAC-SHA256, a `whsec_` secret) and `v1a,` (Ed25519, a `whsk_` signing key)
//! signatures, and their verification. `ed25519.rs` says which key encoding pulse follows.

mod ed25519;
mod secret;
#[cfg(test)]
mod tests;

pub use ed25519::PublicKey;
pub use secret::SigningSecret;

use secret::signed_content;

/// How a command was asked to sign, before the secrets are resolved (`run::signing`).
#[derive(Clone)]
pub enum Signing {
    /// `--secret` or `PULSE_SECRET`.
    Secrets(Vec<SigningSecret>),
    /// No secret given: use (or create) the one stored for the URL; `asymmetric`: a new one is
    /// a `whsk_` Ed25519 key (`push --asymmetric`), not a `whsec_` secret.
    Generated { asymmetric: bool },
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

/// The keys a receiver verifies with: `whsec_` secrets for `v1` signatures, public keys for
/// `v1a` (a `whsk_` signing key given to verify with stands for its public key).
#[derive(Clone, Default)]
pub struct Verifier {
    secrets: Vec<SigningSecret>,
    public_keys: Vec<PublicKey>,
}

impl Verifier {
    pub fn new(secrets: Vec<SigningSecret>, mut public_keys: Vec<PublicKey>) -> Verifier {
        public_keys.extend(secrets.iter().filter_map(SigningSecret::public_key));
        let secrets = secrets
            .into_iter()
            .filter(|s| s.hmac_key().is_some())
            .collect();
        Verifier {
            secrets,
            public_keys,
        }
    }

    /// True when there is nothing to verify with.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty() && self.public_keys.is_empty()
    }

    /// True when any signature in `header` (space-separated, `v1,` and `v1a,` mixed) is good
    /// for any key: a `v1` one compared in constant time, a `v1a` one verified with each
    /// public key. Signatures of other versions are passed over.
    pub fn verify(&self, header: &str, id: &str, timestamp: i64, body: &[u8]) -> bool {
        let expected: Vec<String> = self
            .secrets
            .iter()
            .map(|s| s.sign(id, timestamp, body))
            .collect();
        let mut message = None;
        header.split_whitespace().any(|given| {
            if let Some(signature) = given.strip_prefix("v1a,") {
                let message =
                    message.get_or_insert_with(|| signed_content(id, &timestamp.to_string(), body));
                self.public_keys
                    .iter()
                    .any(|key| key.verifies(message, signature))
            } else {
                expected
                    .iter()
                    .any(|want| constant_time_eq(want.as_bytes(), given.as_bytes()))
            }
        })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
