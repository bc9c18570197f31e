//! The HTTP client a deliverer sends with, and the runtime that drives it: timeouts, redirects
//! left unfollowed, our DNS resolver, and the TLS roots (`--cacert`), client certificate
//! (`--cert`, `--cert-key`) and `--insecure`. Built once per deliverer, before any request; the
//! OAuth2 token endpoint is asked through it too.

use anyhow::{Context, Result};
use reqwest::Client;

use super::settings::DeliverySettings;
use crate::exit::usage;

/// A client for `url` and the current-thread runtime it belongs to.
///
/// The runtime drives the client on the sending thread itself. The blocking client hands every
/// request to a thread of its own and waits for the answer there: two thread wake-ups per batch,
/// each delayed while the body loaders keep both cores busy (bench/README.md).
pub(super) fn build(
    url: &reqwest::Url,
    config: &DeliverySettings,
) -> Result<(Client, tokio::runtime::Runtime)> {
    let builder = builder(url, config)?;
    if config.insecure {
        crate::output::errln!("pulse: warning: --insecure: TLS certificates are NOT verified");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot set up the HTTP client")?;
    // Built inside the runtime, which the client's connection pool belongs to.
    let client = runtime
        .block_on(async { builder.build() })
        .context("cannot set up the HTTP client")?;
    Ok((client, runtime))
}

/// Loads and checks every TLS file of `config` (`--cacert`, `--cert`, `--cert-key`) by building
/// the client a delivery would use, and drops it: a push calls this before staging (and a dry
/// run too), so that a bad file stops it before anything is written to the log.
pub fn check_client_files(config: &DeliverySettings) -> Result<()> {
    if config.cacert.is_none() && config.client_cert.is_none() && config.client_key.is_none() {
        return Ok(());
    }
    // The URL only decides whether the system's roots are read, which these files do not need.
    let url = reqwest::Url::parse("http://localhost/").expect("a valid URL");
    let builder = builder(&url, config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot set up the HTTP client")?;
    runtime
        .block_on(async { builder.build() })
        .map_err(|_| tls_files_refused(config))?;
    Ok(())
}

/// The client's builder error names no file: name the files given.
fn tls_files_refused(config: &DeliverySettings) -> anyhow::Error {
    let mut given = Vec::new();
    if let Some(path) = &config.client_cert {
        given.push(format!("--cert {}", path.display()));
    }
    if let Some(path) = &config.client_key {
        given.push(format!("--cert-key {}", path.display()));
    }
    if let Some(path) = &config.cacert {
        given.push(format!("--cacert {}", path.display()));
    }
    usage(format!(
        "{}: the TLS client refused them (a key that does not belong to its certificate, or an \
         unsupported key type)",
        given.join(", ")
    ))
}

/// The client's settings, with `config`'s TLS files loaded.
fn builder(url: &reqwest::Url, config: &DeliverySettings) -> Result<reqwest::ClientBuilder> {
    // The operating system's trust store is added to the bundled roots (the reqwest
    // feature `rustls-tls-native-roots`; it reads SSL_CERT_FILE and SSL_CERT_DIR too), and
    // HTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured (reqwest's system proxy).
    let builder = Client::builder()
        // HTTP/1.1 as before object_store (S3 input) turned on reqwest's HTTP/2.
        .http1_only()
        .timeout(config.timeout)
        .connect_timeout(config.timeout)
        // Redirects are reported, never followed: a webhook that moved is a misconfiguration.
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(std::sync::Arc::new(super::dns::SystemResolver))
        // Reading the system store costs a few milliseconds at start-up: only for https.
        // The token endpoint's (`--oauth2-token-url`) counts.
        .tls_built_in_native_certs(
            url.scheme() == "https"
                || config
                    .oauth2
                    .as_ref()
                    .is_some_and(|oauth2| oauth2.token_url.scheme() == "https"),
        );
    with_tls_files(builder, config)
}

/// A client builder with delivery's TLS and proxy settings (`config`'s `--cacert`, `--cert`,
/// `--insecure`; the system's roots and proxies), for another request than a delivery: an
/// input downloaded over HTTP(S) (`run::remote`). Without `config`, the defaults. The system's
/// store is read for `https` only, as for delivery (it costs start-up time and memory).
pub fn download_builder(
    https: bool,
    config: Option<&DeliverySettings>,
) -> Result<reqwest::ClientBuilder> {
    let builder = Client::builder()
        .http1_only()
        .dns_resolver(std::sync::Arc::new(super::dns::SystemResolver))
        .tls_built_in_native_certs(https);
    match config {
        Some(config) => with_tls_files(builder, config),
        None => Ok(builder),
    }
}

/// `config`'s TLS files and `--insecure` on a client's settings.
fn with_tls_files(
    mut builder: reqwest::ClientBuilder,
    config: &DeliverySettings,
) -> Result<reqwest::ClientBuilder> {
    if let Some(path) = &config.cacert {
        for cert in ca_certificates(path)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some(cert) = &config.client_cert {
        builder = builder.identity(client_identity(cert, config.client_key.as_deref())?);
    }
    if config.insecure {
        builder = builder.danger_accept_invalid_certs(true);
    }
    Ok(builder)
}

/// `--cacert`: the certificates trusted besides the usual roots; a file without one is refused.
fn ca_certificates(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>> {
    let pem =
        std::fs::read(path).with_context(|| format!("--cacert {}: cannot read", path.display()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .ok()
        .filter(|certs| !certs.is_empty())
        .ok_or_else(|| {
            usage(format!(
                "--cacert {}: no PEM certificate in it",
                path.display()
            ))
        })?;
    Ok(certs)
}

/// `--cert` (and `--cert-key`, unless the key is in the same file): the client certificate
/// for servers that ask for one (mutual TLS).
fn client_identity(
    cert: &std::path::Path,
    key: Option<&std::path::Path>,
) -> Result<reqwest::Identity> {
    let mut pem =
        std::fs::read(cert).with_context(|| format!("--cert {}: cannot read", cert.display()))?;
    if let Some(key) = key {
        let key_pem = std::fs::read(key)
            .with_context(|| format!("--cert-key {}: cannot read", key.display()))?;
        pem.push(b'\n');
        pem.extend_from_slice(&key_pem);
    }
    // The error text may quote the PEM parser, never the key itself.
    reqwest::Identity::from_pem(&pem).map_err(|_| {
        usage(format!(
            "--cert {}: not a PEM certificate with its private key (give the key with --cert-key)",
            cert.display()
        ))
    })
}
