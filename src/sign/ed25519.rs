//! Ed25519 keys for Standard Webhooks' asymmetric scheme (`v1a`), through `ring` (already
//! built for rustls: no crate added for it).
//!
//! The key encoding is Svix's (the specification says only "base64 encoded, prefixed with
//! `whsk_` for the secret key, and `whpk_` for the public key"; Svix's server, the one sender
//! of `v1a` whose code is public, documents "the expected private key structure is:
//! `whsk_${base64(private_key + public_key)}`"): a `whsk_` key is standard base64 (with `=`
//! padding) of the 64-byte secret key as libsodium and NaCl hold it, the 32-byte seed followed
//! by the 32-byte public key; a `whpk_` key is standard base64 of the 32-byte public key. pulse
//! prints keys in that form, so they go to and from Svix unchanged. A `whsk_` of the 32-byte
//! seed alone (what most libraries export as the raw private key) is taken too; a 64-byte one
//! whose second half is not the seed's public key is refused (it would sign with a public key
//! no receiver holds).

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};

pub(super) const SIGNING_PREFIX: &str = "whsk_";
pub(super) const PUBLIC_PREFIX: &str = "whpk_";
const SEED_LEN: usize = 32;
const PUBLIC_LEN: usize = 32;
const SIGNATURE_LEN: usize = 64;

/// An Ed25519 signing key (`whsk_`): its seed, and the key pair ring signs with.
#[derive(Clone)]
pub struct SigningKey {
    seed: [u8; SEED_LEN],
    pair: Arc<Ed25519KeyPair>,
}

/// An Ed25519 public key (`whpk_`): what a receiver verifies `v1a` signatures with.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey([u8; PUBLIC_LEN]);

impl SigningKey {
    /// Parses the base64 after `whsk_`: the 64-byte secret key (seed, then public key) or the
    /// 32-byte seed. The error never repeats the key.
    pub fn parse_base64(encoded: &str) -> Result<SigningKey, String> {
        let bytes = B64.decode(encoded).map_err(|_| {
            "a signing key must be whsk_ followed by base64 (see `pulse secret new --asymmetric`)"
        })?;
        let seed: [u8; SEED_LEN] = match bytes.len() {
            SEED_LEN => bytes[..].try_into().expect("32 bytes"),
            64 => bytes[..SEED_LEN].try_into().expect("32 bytes"),
            n => {
                return Err(format!(
                    "a whsk_ signing key is 64 bytes (seed and public key) or a 32-byte seed, \
                     in base64; this one is {n} bytes"
                ))
            }
        };
        let key = SigningKey::from_seed(seed);
        if bytes.len() == 64 && key.pair.public_key().as_ref() != &bytes[SEED_LEN..] {
            return Err(
                "the whsk_ signing key's second half is not the public key of its first: the \
                 key is damaged"
                    .into(),
            );
        }
        Ok(key)
    }

    fn from_seed(seed: [u8; SEED_LEN]) -> SigningKey {
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).expect("any 32 bytes are a seed");
        SigningKey {
            seed,
            pair: Arc::new(pair),
        }
    }

    /// A fresh key from the operating system's random numbers.
    pub fn generate() -> SigningKey {
        let mut seed = [0u8; SEED_LEN];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        SigningKey::from_seed(seed)
    }

    /// The 64 bytes of the `whsk_` form: seed, then public key.
    fn secret_bytes(&self) -> Vec<u8> {
        [&self.seed[..], self.pair.public_key().as_ref()].concat()
    }

    /// `whsk_<base64>`, as pulse prints it; its base64 alone; the seed's base64 alone (the form
    /// a user may have given): every text a receiver could echo back, for redaction.
    pub fn texts(&self) -> [String; 3] {
        let encoded = B64.encode(self.secret_bytes());
        [
            format!("{SIGNING_PREFIX}{encoded}"),
            encoded,
            B64.encode(self.seed),
        ]
    }

    pub fn public_key(&self) -> PublicKey {
        let bytes = self.pair.public_key().as_ref();
        PublicKey(bytes.try_into().expect("an Ed25519 public key is 32 bytes"))
    }

    /// The 64-byte Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        let signature = self.pair.sign(message);
        signature
            .as_ref()
            .try_into()
            .expect("an Ed25519 signature is 64 bytes")
    }
}

impl PublicKey {
    /// Parses `whpk_<base64>` of 32 bytes (the prefix is optional). The error never repeats
    /// the text: a signing key given by mistake is a credential.
    pub fn parse(text: &str) -> Result<PublicKey, String> {
        let text = text.trim();
        if text.starts_with(SIGNING_PREFIX) || text.starts_with("whsec_") {
            return Err(
                "that is a secret, not a public key: give the whpk_ public key (`pulse secret \
                 public` prints a whsk_ key's)"
                    .into(),
            );
        }
        let encoded = text.strip_prefix(PUBLIC_PREFIX).unwrap_or(text);
        let bytes = B64
            .decode(encoded)
            .map_err(|_| "a public key must be whpk_ followed by base64")?;
        let bytes: [u8; PUBLIC_LEN] = bytes[..].try_into().map_err(|_| {
            format!(
                "a whpk_ public key is 32 bytes in base64; this one is {} bytes",
                bytes.len()
            )
        })?;
        Ok(PublicKey(bytes))
    }

    /// `whpk_<base64>`.
    pub fn text(&self) -> String {
        format!("{PUBLIC_PREFIX}{}", B64.encode(self.0))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether `signature` (base64, as after `v1a,`) is this key's signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        let Ok(signature) = B64.decode(signature) else {
            return false;
        };
        signature.len() == SIGNATURE_LEN
            && UnparsedPublicKey::new(&ED25519, self.0)
                .verify(message, &signature)
                .is_ok()
    }
}
