//! A signing secret as users give it: a `whsec_` secret (HMAC-SHA256, `v1`) or a `whsk_`
//! Ed25519 signing key (`v1a`).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::ed25519::{PublicKey, SigningKey, PUBLIC_PREFIX, SIGNING_PREFIX};

const PREFIX: &str = "whsec_";

/// One signing key: a symmetric secret's base64-decoded bytes, or an Ed25519 key.
#[derive(Clone)]
pub struct SigningSecret(Kind);

#[derive(Clone)]
enum Kind {
    Hmac(Vec<u8>),
    Ed25519(SigningKey),
}

impl SigningSecret {
    /// Parses `whsec_<base64>` (the prefix is optional, as in the reference libraries) or
    /// `whsk_<base64>`. The error never repeats the secret.
    pub fn parse(secret: &str) -> Result<SigningSecret, String> {
        let secret = secret.trim();
        if let Some(encoded) = secret.strip_prefix(SIGNING_PREFIX) {
            return SigningKey::parse_base64(encoded).map(|key| SigningSecret(Kind::Ed25519(key)));
        }
        if secret.starts_with(PUBLIC_PREFIX) {
            return Err(
                "a whpk_ public key only verifies signatures: sign with the whsk_ \
                        signing key it belongs to"
                    .into(),
            );
        }
        let encoded = secret.strip_prefix(PREFIX).unwrap_or(secret);
        let bytes = B64.decode(encoded).map_err(|_| {
            "a secret must be whsec_ (or whsk_) followed by base64 (see `pulse secret new`)"
        })?;
        if bytes.is_empty() {
            return Err("a secret must not be empty".into());
        }
        Ok(SigningSecret(Kind::Hmac(bytes)))
    }

    /// A fresh 24-byte `whsec_` secret, as the reference libraries generate.
    pub fn generate() -> (SigningSecret, String) {
        let mut bytes = vec![0u8; 24];
        rand::thread_rng().fill_bytes(&mut bytes);
        let text = format!("{PREFIX}{}", B64.encode(&bytes));
        (SigningSecret(Kind::Hmac(bytes)), text)
    }

    /// A fresh `whsk_` Ed25519 signing key.
    pub fn generate_asymmetric() -> (SigningSecret, String) {
        let key = SigningKey::generate();
        let [text, ..] = key.texts();
        (SigningSecret(Kind::Ed25519(key)), text)
    }

    /// The public key of a `whsk_` signing key; None for a `whsec_` secret.
    pub fn public_key(&self) -> Option<PublicKey> {
        match &self.0 {
            Kind::Hmac(_) => None,
            Kind::Ed25519(key) => Some(key.public_key()),
        }
    }

    /// The symmetric key's bytes; None for an Ed25519 key.
    pub(super) fn hmac_key(&self) -> Option<&[u8]> {
        match &self.0 {
            Kind::Hmac(bytes) => Some(bytes),
            Kind::Ed25519(_) => None,
        }
    }

    /// The secret as users write it and its base64 alone (for a `whsk_` key, its seed's
    /// base64 too): what a receiver could echo back, for redaction.
    pub fn texts(&self) -> Vec<String> {
        match &self.0 {
            Kind::Hmac(bytes) => {
                let encoded = B64.encode(bytes);
                vec![format!("{PREFIX}{encoded}"), encoded]
            }
            Kind::Ed25519(key) => key.texts().to_vec(),
        }
    }

    /// A fingerprint that tells secrets apart without revealing them: `fp_` and the first
    /// 8 bytes of the SHA-256 of the key (of a `whsk_` key's public key), in hex. Stored with a
    /// run, so that a different secret given to resume or resend is refused before anything is
    /// sent.
    pub fn fingerprint(&self) -> String {
        let digest = match &self.0 {
            Kind::Hmac(bytes) => Sha256::digest(bytes),
            Kind::Ed25519(key) => Sha256::digest(key.public_key().as_bytes()),
        };
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("fp_{hex}")
    }

    /// `v1,<base64 HMAC-SHA256>` or `v1a,<base64 Ed25519 signature>` of
    /// `{id}.{timestamp}.{body}`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let timestamp = timestamp.to_string();
        match &self.0 {
            Kind::Hmac(bytes) => {
                let mut mac =
                    Hmac::<Sha256>::new_from_slice(bytes).expect("HMAC takes any key length");
                for part in [id.as_bytes(), b".", timestamp.as_bytes(), b".", body] {
                    mac.update(part);
                }
                format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
            }
            Kind::Ed25519(key) => {
                // Ed25519 hashes the message twice, and ring takes it whole: one copy of the
                // body while it signs.
                let message = signed_content(id, &timestamp, body);
                format!("v1a,{}", B64.encode(key.sign(&message)))
            }
        }
    }
}

/// `{id}.{timestamp}.{body}` in one buffer.
pub(super) fn signed_content(id: &str, timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(id.len() + timestamp.len() + 2 + body.len());
    for part in [id.as_bytes(), b".", timestamp.as_bytes(), b".", body] {
        message.extend_from_slice(part);
    }
    message
}
