//! Asymmetric signing (issue 34, Standard Webhooks `v1a`, Ed25519): `whsk_` signing keys made,
//! their `whpk_` public keys printed, requests signed with them verified by independent Ed25519
//! implementations (Python's `cryptography`, Node's `crypto`) and by `pulse receive`, mixed with
//! `v1` during a migration, and a key given again (never stored) to resume and resend a run.

use crate::receive::Receiver;
use crate::receivers::{example_receiver, rows_written};
use crate::support::server::{Recorded, Reply, TestServer};
use crate::support::{fixture, numbered_csv, stderr_of, Sandbox};

/// Svix's test key pair (svix-webhooks README): `whsk_` is base64 of seed and public key.
const KEY: &str =
    "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==";
const PUBLIC: &str = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=";
/// Another key pair's public key: verifies nothing KEY signed.
const OTHER_PUBLIC: &str = "whpk_7ddTSjXAQEE+dya7e9pt2uzw9v8UzZFRDIExr6ikKAg=";
const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// Whether Python's `cryptography` is there (CI installs it); where it must be, its absence
/// fails.
fn python_has_cryptography() -> bool {
    let has = std::process::Command::new("python3")
        .args(["-c", "import cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        has || std::env::var_os("PULSE_REQUIRE_EXAMPLES").is_none(),
        "pip install cryptography"
    );
    has
}

/// Python's `cryptography` (OpenSSL), not pulse's code: the public key of a `whsk_` key's seed,
/// and whether each `v1a` signature of each request verifies with `public`.
fn python_ed25519(script: &str, args: &[&str]) -> String {
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

const PUBLIC_OF: &str = r#"
import base64, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
seed = base64.b64decode(sys.argv[1].removeprefix("whsk_"))[:32]
raw = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
print("whpk_" + base64.b64encode(raw).decode())
"#;

const VERIFY: &str = r#"
import base64, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
key = Ed25519PublicKey.from_public_bytes(base64.b64decode(sys.argv[1].removeprefix("whpk_")))
message = open(sys.argv[2], "rb").read()
good = 0
for sig in sys.argv[3].split():
    version, _, value = sig.partition(",")
    if version == "v1a":
        key.verify(base64.b64decode(value), message)  # raises InvalidSignature
        good += 1
print(good)
"#;

/// How many `v1a` signatures of `request` Python verifies with `public` (it fails on a bad one).
fn python_verified(sandbox: &Sandbox, public: &str, request: &Recorded) -> usize {
    let id = request.header("webhook-id").unwrap();
    let timestamp = request.header("webhook-timestamp").unwrap();
    let mut message = format!("{id}.{timestamp}.").into_bytes();
    message.extend_from_slice(&request.body);
    let file = sandbox.write("signed.bin", message);
    let header = request.header("webhook-signature").unwrap();
    python_ed25519(VERIFY, &[public, file.to_str().unwrap(), header])
        .parse()
        .unwrap()
}

#[test]
fn secret_new_asymmetric_and_secret_public_round_trip() {
    let sandbox = Sandbox::new();
    let key = sandbox.stdout_of(&["secret", "new", "--asymmetric"]);
    let key = key.trim();
    assert!(key.starts_with("whsk_"), "{key}");
    assert_eq!(key.len(), "whsk_".len() + 88, "64 bytes in base64: {key}");
    assert!(sandbox.stdout_of(&["secret", "new"]).starts_with("whsec_"));
    // From PULSE_SECRET (no warning) or as an argument (a warning, never the key).
    let out = sandbox
        .pulse()
        .env("PULSE_SECRET", format!("{SECRET} {key}"))
        .args(["secret", "public"])
        .assert()
        .success();
    let public = String::from_utf8_lossy(&out.get_output().stdout)
        .trim()
        .to_string();
    assert!(
        public.starts_with("whpk_") && !public.contains(' '),
        "{public}"
    );
    assert_eq!(stderr_of(&out), "");
    let out = sandbox
        .pulse()
        .args(["secret", "public", key])
        .assert()
        .success();
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stdout).trim(),
        public
    );
    assert!(
        stderr_of(&out).contains("PULSE_SECRET"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(sandbox.stdout_of(&["secret", "public", KEY]).trim(), PUBLIC);
    if python_has_cryptography() {
        assert_eq!(
            python_ed25519(PUBLIC_OF, &[key]),
            public,
            "the same key pair"
        );
    }
}

#[test]
fn malformed_keys_are_usage_errors_that_never_repeat_the_key() {
    let sandbox = Sandbox::new();
    let input = sandbox.write("d.csv", numbered_csv(1));
    // A damaged key (a changed seed no longer matches its public half), a short one, no base64.
    let damaged = KEY.replace("6Xb/", "7Xb/");
    let short = "whsk_c2hvcnQta2V5LXNlbnRpbmVs";
    for (key, secret_part) in [
        (damaged.as_str(), "7Xb/dCcHpPea21PS1N9VY"),
        (short, "c2hvcnQta2V5LXNlbnRpbmVs"),
        ("whsk_not*base64*sentinel", "not*base64*sentinel"),
    ] {
        for args in [
            &[
                "push",
                input.to_str().unwrap(),
                "--url",
                "http://127.0.0.1:9/",
            ][..],
            &["secret", "public"],
            &["receive", "--port", "0"],
        ] {
            let out = sandbox
                .pulse()
                .env("PULSE_SECRET", key)
                .args(args)
                .assert()
                .code(2);
            let stderr = stderr_of(&out);
            assert!(!stderr.contains(secret_part), "{args:?}: {stderr}");
            let flag = if args[0] == "secret" {
                "KEY"
            } else {
                "--secret"
            };
            assert!(stderr.contains(flag), "{args:?}: {stderr}");
        }
    }
    // A signing key where a public key goes, and the other way round.
    let out = sandbox
        .pulse()
        .env("PULSE_PUBLIC_KEY", KEY)
        .args(["receive", "--port", "0"])
        .assert()
        .code(2);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("--public-key") && !stderr.contains("6Xb/dCcH"),
        "{stderr}"
    );
    let out = sandbox
        .pulse()
        .env("PULSE_SECRET", PUBLIC)
        .args([
            "push",
            input.to_str().unwrap(),
            "--url",
            "http://127.0.0.1:9/",
        ])
        .assert()
        .code(2);
    assert!(stderr_of(&out).contains("whsk_"), "{}", stderr_of(&out));
}

#[test]
fn pulse_receive_verifies_v1a_and_refuses_a_wrong_public_key() {
    let sandbox = Sandbox::new();
    let input = fixture("customers.csv");
    let push = |url: &str, secrets: &str| {
        let mut cmd = sandbox.pulse();
        cmd.env("PULSE_SECRET", secrets)
            .args(["push", input.to_str().unwrap(), "--url", url, "--force"])
            .args(["--retries", "0"]);
        cmd
    };
    let receiver = Receiver::start(&["--public-key", OTHER_PUBLIC, "--public-key", PUBLIC]);
    push(&receiver.url(), KEY).assert().success();
    let lines = receiver.lines();
    assert!(lines[0].contains("120 rows verified"), "{lines:?}");
    // Mixed v1 and v1a (a migration): a receiver with either key verifies.
    let both = format!("{SECRET} {KEY}");
    push(&receiver.url(), &both).assert().success();
    let by_secret = Receiver::start(&["--secret", SECRET]);
    push(&by_secret.url(), &both).assert().success();
    assert!(by_secret.lines()[0].contains("verified"));
    // A wrong public key, or only a v1 secret for a v1a signature: 401, like a bad v1.
    let wrong = Receiver::start(&["--public-key", OTHER_PUBLIC]);
    let out = push(&wrong.url(), KEY).assert().code(4);
    assert!(stderr_of(&out).contains("HTTP 401"), "{}", stderr_of(&out));
    assert!(wrong.lines()[0].starts_with("401"));
    push(&by_secret.url(), KEY).assert().code(4);
    push(&wrong.url(), SECRET).assert().code(4);
}

#[test]
fn v1a_and_mixed_signatures_are_verified_by_independent_receivers() {
    let customers = fixture("customers.csv");
    let has_cryptography = python_has_cryptography();
    for (program, script) in [("python3", "receiver.py"), ("node", "receiver.mjs")] {
        if program == "python3" && !has_cryptography {
            continue;
        }
        // (the receiver's keys, what pulse signs with, whether it is accepted)
        let cases = [
            (vec![("PULSE_PUBLIC_KEY", PUBLIC)], KEY.to_string(), true),
            (
                vec![("PULSE_PUBLIC_KEY", PUBLIC)],
                format!("{SECRET} {KEY}"),
                true,
            ),
            (
                vec![("PULSE_SECRET", SECRET)],
                format!("{KEY} {SECRET}"),
                true,
            ),
            (
                vec![("PULSE_PUBLIC_KEY", OTHER_PUBLIC)],
                KEY.to_string(),
                false,
            ),
            (vec![("PULSE_SECRET", SECRET)], KEY.to_string(), false),
        ];
        for (env, signing, accepted) in cases {
            let sandbox = Sandbox::new();
            let rows = sandbox.path("rows.jsonl");
            let Some(receiver) = example_receiver(program, script, &rows, &env) else {
                break;
            };
            let out = sandbox
                .pulse()
                .env("PULSE_SECRET", &signing)
                .args(["push", customers.to_str().unwrap(), "--batch-size", "50"])
                .args(["--url", &format!("http://127.0.0.1:{}/hook", receiver.port)])
                .args(["--retries", "0"])
                .assert();
            let what = format!("{program} {env:?} {}", signing.len());
            if accepted {
                out.success();
                assert_eq!(rows_written(&rows).len(), 120, "{what}");
            } else {
                let out = out.code(4);
                assert!(stderr_of(&out).contains("HTTP 401"), "{what}");
                assert!(rows_written(&rows).is_empty(), "{what}");
            }
        }
    }
}

#[test]
fn a_run_signed_with_a_whsk_key_needs_it_again_to_resume_and_resend() {
    let sandbox = Sandbox::new();
    // Refuses the first request only.
    let server = TestServer::start(|n, _| Reply::status(if n == 0 { 503 } else { 200 }));
    let input = sandbox.write("d.csv", numbered_csv(4));
    sandbox
        .pulse()
        .env("PULSE_SECRET", KEY)
        .args(["push", input.to_str().unwrap(), "--url", &server.url()])
        .args(["--batch-size", "2", "--retries", "0"])
        .assert()
        .code(4);
    let run = sandbox.last_run();
    // The run keeps the key's fingerprint, never the key.
    let options = sandbox.texts("SELECT options FROM runs").join("\n");
    assert!(options.contains("fp_"), "{options}");
    assert!(
        !options.contains("6Xb/dCcH") && !options.contains("whsk_"),
        "{options}"
    );
    // Without the key: asked for it; with another key: refused before anything is sent.
    let out = sandbox.pulse().args(["resume", &run]).assert().code(2);
    assert!(
        stderr_of(&out).contains("give it again"),
        "{}",
        stderr_of(&out)
    );
    let other = sandbox.stdout_of(&["secret", "new", "--asymmetric"]);
    let out = sandbox
        .pulse()
        .env("PULSE_SECRET", other.trim())
        .args(["resume", &run])
        .assert()
        .code(4);
    assert!(stderr_of(&out).contains("--resign"), "{}", stderr_of(&out));
    assert_eq!(
        server.requests().len(),
        1,
        "nothing sent with the wrong key"
    );
    // With the key: resumed, then resent, each request signed v1a with it.
    for args in [["resume", run.as_str()], ["resend", run.as_str()]] {
        sandbox
            .pulse()
            .env("PULSE_SECRET", KEY)
            .args(args)
            .assert()
            .success();
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 1 + 2 + 2);
    for request in &requests {
        let header = request.header("webhook-signature").unwrap();
        assert!(
            header.starts_with("v1a,") && !header.contains(' '),
            "{header}"
        );
    }
    if python_has_cryptography() {
        for request in &requests {
            assert_eq!(python_verified(&sandbox, PUBLIC, request), 1);
        }
    }
}

#[test]
fn push_asymmetric_generates_a_signing_key_for_the_url_and_shows_only_its_public_key() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", numbered_csv(2));
    let push = |extra: &[&str]| {
        let mut cmd = sandbox.pulse();
        cmd.args([
            "push",
            input.to_str().unwrap(),
            "--url",
            &server.url(),
            "--force",
        ])
        .args(extra);
        cmd
    };
    let out = push(&["--asymmetric", "--quiet"]).assert().success();
    let stderr = stderr_of(&out);
    let public = stderr
        .split_whitespace()
        .find(|w| w.starts_with("whpk_"))
        .unwrap_or_else(|| panic!("no public key in {stderr}"))
        .to_string();
    assert!(!stderr.contains("whsk_"), "{stderr}");
    assert_eq!(
        sandbox.stdout_of(&["secret", "show", &server.url()]).trim(),
        public
    );
    // Reused without --asymmetric: the URL's key signs v1a.
    push(&[]).assert().success();
    for request in server.requests() {
        assert!(request
            .header("webhook-signature")
            .unwrap()
            .starts_with("v1a,"));
    }
    if python_has_cryptography() {
        for request in server.requests() {
            assert_eq!(python_verified(&sandbox, &public, &request), 1);
        }
    }
    // A URL with a whsec_ secret keeps it: --asymmetric there is a usage error, as it is
    // beside a secret given.
    let other = TestServer::ok();
    let url = other.url();
    sandbox
        .pulse()
        .args(["push", input.to_str().unwrap(), "--url", &url])
        .assert()
        .success();
    let out = sandbox
        .pulse()
        .args([
            "push",
            input.to_str().unwrap(),
            "--url",
            &url,
            "--asymmetric",
            "--force",
        ])
        .assert()
        .code(2);
    assert!(
        stderr_of(&out).contains("whsec_ secret"),
        "{}",
        stderr_of(&out)
    );
    let out = push(&["--asymmetric"])
        .env("PULSE_SECRET", KEY)
        .assert()
        .code(2);
    assert!(
        stderr_of(&out).contains("--asymmetric"),
        "{}",
        stderr_of(&out)
    );
}
