//! TLS: certificates are verified, `--cacert` adds a private CA, `--insecure` skips checks.
//! The server is a real HTTPS server on 127.0.0.1 with a certificate from a throwaway CA.

use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;

use crate::support::{stderr_of, Sandbox};

/// A throwaway CA: its certificate and key.
struct Ca {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl Ca {
    fn new() -> Ca {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        Ca {
            cert: params.self_signed(&key).unwrap(),
            key,
        }
    }

    /// A certificate for `names` signed by this CA, and its key.
    fn issue(&self, names: &[&str]) -> (rcgen::Certificate, rcgen::KeyPair) {
        let key = rcgen::KeyPair::generate().unwrap();
        let names = names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let cert = rcgen::CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.cert, &self.key)
            .unwrap();
        (cert, key)
    }
}

/// A private CA (PEM) and an HTTPS server on 127.0.0.1 with a certificate it signed.
fn https_server() -> (String, u16) {
    let ca = Ca::new();
    (ca.cert.pem(), https_server_of(&ca, None))
}

/// An HTTPS server on 127.0.0.1 with a certificate `ca` signed; with `client_ca`, it requires a
/// client certificate that CA signed.
fn https_server_of(ca: &Ca, client_ca: Option<&Ca>) -> u16 {
    let (leaf, leaf_key) = ca.issue(&["127.0.0.1"]);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(client_ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(client_ca.cert.der().clone()).unwrap();
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(|_req| async {
                        Ok::<_, hyper::Error>(hyper::Response::new(Full::new(Bytes::from("ok"))))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
    });
    port
}

#[test]
fn certificates_are_verified_and_a_private_ca_can_be_trusted() {
    let sandbox = Sandbox::new();
    let (ca_pem, port) = https_server();
    let ca = sandbox.write("ca.pem", ca_pem);
    let input = sandbox.write("d.csv", "a\n1\n");
    let url = format!("https://127.0.0.1:{port}/hook");
    let push = || {
        let mut cmd = sandbox.pulse();
        cmd.args([
            "push",
            input.to_str().unwrap(),
            "--url",
            &url,
            "--no-sign",
            "--retries",
            "0",
            // Each attempt a run of its own, though the file is the same.
            "--force",
        ]);
        cmd
    };
    let out = push().assert().code(4);
    let stderr = stderr_of(&out);
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
    push()
        .args(["--cacert", ca.to_str().unwrap()])
        .assert()
        .success();
    let out = push().arg("--insecure").assert().success();
    let stderr = stderr_of(&out);
    assert!(stderr.contains("warning: --insecure"), "{stderr}");
}

/// `pulse push` of a one-row file to `url`, unsigned, without retries, a run of its own.
fn push_to(sandbox: &Sandbox, url: &str) -> assert_cmd::Command {
    let input = sandbox.write("d.csv", "a\n1\n");
    let mut cmd = sandbox.pulse();
    cmd.args(["push", input.to_str().unwrap(), "--url", url])
        .args(["--no-sign", "--retries", "0", "--force"]);
    cmd
}

#[test]
fn a_server_that_requires_a_client_certificate_gets_one() {
    let sandbox = Sandbox::new();
    let (server_ca, client_ca) = (Ca::new(), Ca::new());
    let port = https_server_of(&server_ca, Some(&client_ca));
    let url = format!("https://127.0.0.1:{port}/hook");
    let ca = sandbox.write("ca.pem", server_ca.cert.pem());
    let (client, client_key) = client_ca.issue(&["pulse-client"]);
    let cert = sandbox.write("client.pem", client.pem());
    let key = sandbox.write("client.key", client_key.serialize_pem());
    let both = sandbox.write("both.pem", client.pem() + &client_key.serialize_pem());
    let cacert = ["--cacert", ca.to_str().unwrap()];

    let out = push_to(&sandbox, &url).args(cacert).assert().code(4);
    assert!(stderr_of(&out).contains("failed"), "{}", stderr_of(&out));
    push_to(&sandbox, &url)
        .args(cacert)
        .args([
            "--cert",
            cert.to_str().unwrap(),
            "--cert-key",
            key.to_str().unwrap(),
        ])
        .assert()
        .success();
    // The key may come in the certificate's file, as curl takes it.
    push_to(&sandbox, &url)
        .args(cacert)
        .args(["--cert", both.to_str().unwrap()])
        .assert()
        .success();
    // A certificate without its key is a usage error naming the flag; the key is never printed.
    let out = push_to(&sandbox, &url)
        .args(cacert)
        .args(["--cert", cert.to_str().unwrap()])
        .assert()
        .code(2);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("--cert") && stderr.contains("--cert-key"),
        "{stderr}"
    );
    assert!(!stderr.contains("PRIVATE KEY"), "{stderr}");
}

#[test]
fn the_system_trust_store_is_honoured() {
    let sandbox = Sandbox::new();
    let ca = Ca::new();
    let port = https_server_of(&ca, None);
    let url = format!("https://127.0.0.1:{port}/hook");
    push_to(&sandbox, &url).assert().code(4);
    // SSL_CERT_FILE stands for the operating system's store, as OpenSSL reads it.
    let store = sandbox.write("system-ca.pem", ca.cert.pem());
    push_to(&sandbox, &url)
        .env("SSL_CERT_FILE", &store)
        .assert()
        .success();
}

#[test]
fn proxies_from_the_environment_are_used_and_no_proxy_is_honoured() {
    let sandbox = Sandbox::new();
    let proxy = crate::support::server::TestServer::ok();
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    // Nothing listens on port 9: only the proxy can answer.
    let target = "http://127.0.0.1:9/hook";
    push_to(&sandbox, target)
        .env("HTTP_PROXY", &proxy_url)
        .assert()
        .success();
    let requests = proxy.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].path, target,
        "asked of the proxy in absolute form"
    );
    push_to(&sandbox, target)
        .env("HTTP_PROXY", &proxy_url)
        .env("NO_PROXY", "127.0.0.1")
        .assert()
        .code(4);
    assert_eq!(proxy.requests().len(), 1, "NO_PROXY: sent direct");
}

#[test]
fn bad_tls_files_stop_a_push_before_staging_and_a_dry_run_too() {
    let sandbox = Sandbox::new();
    let (server_ca, client_ca) = (Ca::new(), Ca::new());
    let port = https_server_of(&server_ca, Some(&client_ca));
    let url = format!("https://127.0.0.1:{port}/hook");
    let ca = sandbox.write("ca.pem", server_ca.cert.pem());
    let (client, client_key) = client_ca.issue(&["pulse-client"]);
    let (_, other_key) = client_ca.issue(&["someone-else"]);
    let cert = sandbox.write("client.pem", client.pem());
    let key = sandbox.write("client.key", client_key.serialize_pem());
    let wrong_key = sandbox.write("other.key", other_key.serialize_pem());
    let not_pem = sandbox.write("not.pem", "hello");
    let (ca, cert, key) = (
        ca.to_str().unwrap(),
        cert.to_str().unwrap(),
        key.to_str().unwrap(),
    );
    let runs = || {
        sandbox
            .query::<i64>("SELECT count(*) FROM runs")
            .unwrap_or(0)
    };
    let bad: [(&[&str], &str); 4] = [
        (&["--cacert", ca, "--cert", cert], "--cert-key"),
        (&["--cacert", not_pem.to_str().unwrap()], "--cacert"),
        (
            &[
                "--cacert",
                ca,
                "--cert",
                cert,
                "--cert-key",
                "/nonexistent.key",
            ],
            "--cert-key",
        ),
        (
            &[
                "--cacert",
                ca,
                "--cert",
                cert,
                "--cert-key",
                wrong_key.to_str().unwrap(),
            ],
            "--cert",
        ),
    ];
    for (flags, named) in bad {
        for dry in [false, true] {
            let mut cmd = push_to(&sandbox, &url);
            cmd.args(flags);
            if dry {
                cmd.arg("--dry-run");
            }
            let out = cmd.assert().failure();
            let stderr = stderr_of(&out);
            assert!(stderr.contains(named), "{flags:?}: {stderr}");
            assert!(!stderr.contains("PRIVATE KEY"), "{stderr}");
            assert_eq!(runs(), 0, "{flags:?} (dry run: {dry}) staged a run");
        }
    }
    // Nothing was left staged to go ahead of the next push.
    push_to(&sandbox, &url)
        .args(["--cacert", ca, "--cert", cert, "--cert-key", key])
        .assert()
        .success();
    assert_eq!(runs(), 1);
}

#[test]
fn an_https_input_is_downloaded_with_the_delivery_tls_settings() {
    let sandbox = Sandbox::new();
    let (ca_pem, port) = https_server();
    let ca = sandbox.write("ca.pem", ca_pem);
    // The server answers "ok" to everything: a CSV with a header and no rows.
    let input = format!("https://127.0.0.1:{port}/export.csv");
    let url = format!("https://127.0.0.1:{port}/hook");
    let push = ["push", &input, "--url", &url, "--no-sign", "--retries", "0"];
    let out = sandbox.pulse().args(push).assert().code(1);
    let stderr = stderr_of(&out);
    assert!(stderr.contains(&input), "{stderr}");
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
    let runs: i64 = sandbox.query("SELECT count(*) FROM runs").unwrap_or(0);
    assert_eq!(
        runs, 0,
        "nothing staged from an input that could not be read"
    );
    let out = sandbox
        .pulse()
        .args(push)
        .arg("--cacert")
        .arg(&ca)
        .assert()
        .success();
    assert!(stderr_of(&out).contains(&input), "{}", stderr_of(&out));
}
