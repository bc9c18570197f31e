//! TLS: certificates are verified, `--cacert` adds a private CA, `--insecure` skips checks.
//! The server is a real HTTPS server on 127.0.0.1 with a certificate from a throwaway CA.

use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;

use crate::support::{stderr_of, Sandbox};

/// A private CA (PEM) and an HTTPS server on 127.0.0.1 with a certificate it signed.
fn https_server() -> (String, u16) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
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
    (ca.pem(), port)
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
