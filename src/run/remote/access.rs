//! How this process reaches remote inputs: the `--input-header` lines and delivery's TLS
//! settings. Never stored, never printed.

use anyhow::Result;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::deliver::DeliverySettings;
use crate::exit::usage;

/// What every download of this process sends and trusts.
#[derive(Default)]
pub struct Access {
    /// `--input-header` lines, every value sensitive.
    pub headers: HeaderMap,
    /// Delivery's `--cacert`, `--cert` and `--insecure` (a push's); the defaults else.
    pub tls: Option<DeliverySettings>,
}

impl Access {
    /// `--input-header 'Name: value'` lines, checked; a malformed one is never echoed whole.
    pub fn new(lines: &[String], tls: Option<DeliverySettings>) -> Result<Access> {
        let mut headers = HeaderMap::new();
        for line in lines {
            let (name, value) = line.split_once(':').ok_or_else(|| {
                usage(
                    "--input-header must look like 'Name: value': one has no ':' (not shown, as \
                     it may hold a credential)",
                )
            })?;
            let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                usage("--input-header: an invalid header name (not shown, as it may hold a credential)")
            })?;
            let mut value = HeaderValue::from_str(value.trim()).map_err(|_| {
                usage(format!(
                    "--input-header {}: invalid header value",
                    name.as_str()
                ))
            })?;
            value.set_sensitive(true);
            headers.append(name, value);
        }
        Ok(Access { headers, tls })
    }
}
