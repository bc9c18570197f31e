use super::*;

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
const TS: i64 = 1649367553;
const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;

/// Svix's asymmetric test key and vector (svix-webhooks, `server/svix-server/src/worker.rs`,
/// `test_asymmetric_key_signing`, and its README's key pair).
const SVIX_KEY: &str =
    "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==";
const SVIX_PUBLIC: &str = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=";
const SVIX_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SVIX_TS: i64 = 1614265330;
const SVIX_BODY: &[u8] = b"{\"test\": 2432232314}";
const SVIX_SIGNATURE: &str =
    "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==";

fn verify(secrets: &[SigningSecret], header: &str, id: &str, ts: i64, body: &[u8]) -> bool {
    Verifier::new(secrets.to_vec(), Vec::new()).verify(header, id, ts, body)
}

#[test]
fn standard_webhooks_test_vector() {
    let key = SigningSecret::parse(SECRET).unwrap();
    assert_eq!(
        key.sign(ID, TS, BODY),
        "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
    );
}

#[test]
fn svix_asymmetric_test_vector() {
    let key = SigningSecret::parse(SVIX_KEY).unwrap();
    assert_eq!(key.sign(SVIX_ID, SVIX_TS, SVIX_BODY), SVIX_SIGNATURE);
    assert_eq!(key.public_key().unwrap().text(), SVIX_PUBLIC);
    let public = PublicKey::parse(SVIX_PUBLIC).unwrap();
    let verifier = Verifier::new(Vec::new(), vec![public]);
    assert!(verifier.verify(SVIX_SIGNATURE, SVIX_ID, SVIX_TS, SVIX_BODY));
    assert!(!verifier.verify(SVIX_SIGNATURE, SVIX_ID, SVIX_TS + 1, SVIX_BODY));
    // The seed alone is the same key.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let bytes = b64.decode(SVIX_KEY.strip_prefix("whsk_").unwrap()).unwrap();
    let seed = SigningSecret::parse(&format!("whsk_{}", b64.encode(&bytes[..32]))).unwrap();
    assert_eq!(seed.sign(SVIX_ID, SVIX_TS, SVIX_BODY), SVIX_SIGNATURE);
    assert_eq!(seed.fingerprint(), key.fingerprint());
    assert_eq!(seed.texts()[0], SVIX_KEY, "printed in the 64-byte form");
}

#[test]
fn mixed_v1_and_v1a_verify_with_either_key() {
    let hmac = SigningSecret::parse(SECRET).unwrap();
    let ed = SigningSecret::parse(SVIX_KEY).unwrap();
    let header = signature_header(&[hmac.clone(), ed.clone()], ID, TS, BODY);
    let parts: Vec<&str> = header.split(' ').collect();
    assert!(parts[0].starts_with("v1,") && parts[1].starts_with("v1a,"));
    assert!(verify(std::slice::from_ref(&hmac), &header, ID, TS, BODY));
    let public = PublicKey::parse(SVIX_PUBLIC).unwrap();
    assert!(Verifier::new(Vec::new(), vec![public.clone()]).verify(&header, ID, TS, BODY));
    // A whsk_ key given to verify with stands for its public key.
    assert!(verify(&[ed], &header, ID, TS, BODY));
    // Another public key verifies neither.
    let (other, _) = SigningSecret::generate_asymmetric();
    let wrong = Verifier::new(Vec::new(), vec![other.public_key().unwrap()]);
    assert!(!wrong.verify(&header, ID, TS, BODY));
    // A v1a signature is never compared as a v1 one, nor garbage verified.
    assert!(!verify(&[hmac], "v1a,AAAA v1a,!!", ID, TS, BODY));
    assert!(!Verifier::new(Vec::new(), vec![public]).verify("v1a,AAAA v1a,!! v1,x", ID, TS, BODY));
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
    let (key, text) = SigningSecret::generate_asymmetric();
    assert!(text.starts_with("whsk_"));
    let parsed = SigningSecret::parse(&text).unwrap();
    assert_eq!(parsed.sign(ID, TS, BODY), key.sign(ID, TS, BODY));
    assert_eq!(parsed.fingerprint(), key.fingerprint());
    assert_ne!(
        parsed.fingerprint(),
        SigningSecret::generate_asymmetric().0.fingerprint()
    );
}

#[test]
fn bad_secrets_are_refused_without_repeating_them() {
    assert!(SigningSecret::parse("whsec_not base64!").is_err());
    assert!(SigningSecret::parse("whsec_").is_err());
    let damaged = SVIX_KEY.replace("6Xb/", "7Xb/");
    for bad in [
        "whsk_not base64!".to_string(),
        "whsk_AAAA".to_string(),
        damaged.clone(),
        SVIX_PUBLIC.to_string(),
    ] {
        let err = SigningSecret::parse(&bad).err().unwrap();
        assert!(!err.contains(&bad[5..]), "{err}");
    }
    assert!(SigningSecret::parse(&damaged)
        .err()
        .unwrap()
        .contains("damaged"));
    for bad in [SVIX_KEY, SECRET, "whpk_AAAA", "whpk_not base64!"] {
        let err = PublicKey::parse(bad).err().unwrap();
        assert!(!err.contains(&bad[5..]), "{err}");
    }
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
