//! Host name resolution for delivery: the system resolver, except that names under `.invalid`
//! fail at once without a query (RFC 6761 §6.4 asks resolvers to do so), which also lets tests
//! exercise "a name that does not resolve" without sending a packet off the machine.

use std::net::ToSocketAddrs;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

pub struct SystemResolver;

/// Whether `host` is in the `.invalid` top-level domain (RFC 6761), any case, trailing dot or not.
fn is_reserved_invalid(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    host == "invalid" || host.ends_with(".invalid")
}

impl Resolve for SystemResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            if is_reserved_invalid(&host) {
                return Err(format!("{host}: no such host (.invalid names never resolve)").into());
            }
            // getaddrinfo blocks; keep it off the runtime's worker thread.
            let addrs =
                tokio::task::spawn_blocking(move || (host.as_str(), 0).to_socket_addrs()).await??;
            Ok(Box::new(addrs) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::is_reserved_invalid;

    #[test]
    fn only_the_invalid_tld_is_refused() {
        for host in ["invalid", "x.invalid", "a.b.INVALID", "x.invalid."] {
            assert!(is_reserved_invalid(host), "{host}");
        }
        for host in ["localhost", "invalid.example", "notinvalid", "x.invalidx"] {
            assert!(!is_reserved_invalid(host), "{host}");
        }
    }
}
