//! Egress guard: where an outbound request made on a customer's behalf (a webhook) may go.
//!
//! A webhook URL is chosen by whoever holds a `write` token, so without a guard it is a way
//! to make the gateway call into its own network: the cloud metadata service at
//! 169.254.169.254, an admin API on 127.0.0.1, a database on 10.x — and read the answer back
//! in the delivery log. The guard refuses every address [`classify::refusal`] names, unless
//! an operator opened its range (`[webhooks] allow_private = ["10.1.2.0/24"]`).
//!
//! The check happens where the connection is made, not only when the URL is stored: a name is
//! resolved at every delivery and only the addresses that pass are handed to the connector,
//! so a DNS answer that changes after creation (DNS rebinding) cannot turn a webhook inward,
//! and the connection goes to an address that was checked. An IP-literal host is checked
//! before the request is built (no resolver is involved for it). `dns_overrides` (like curl's
//! `--resolve`) pins names to addresses and is subject to the same guard.
//!
//! This module is policy and name resolution only; the webhook dispatcher plugs it into its
//! HTTP client, and the API uses it to refuse a target at creation.

pub mod classify;

pub use classify::{refusal, Refusal};

use ipnet::IpNet;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// An address the guard refused, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub addr: IpAddr,
    pub reason: Refusal,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is {}", self.addr, self.reason)
    }
}

/// Why an outbound target cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    /// Every address of the target is refused.
    #[error("target {host} refused: {} (webhooks.allow_private opens a range)", list(.refused))]
    Refused { host: String, refused: Vec<Refused> },
    /// The name did not resolve.
    #[error("cannot resolve {host}: {reason}")]
    Dns { host: String, reason: String },
    /// The URL itself is not usable (scheme, credentials, no host).
    #[error("{0}")]
    Url(String),
}

impl EgressError {
    /// A refusal by the guard (as opposed to a DNS failure, which may heal).
    pub fn is_refusal(&self) -> bool {
        matches!(self, EgressError::Refused { .. } | EgressError::Url(_))
    }
}

fn list(r: &[Refused]) -> String {
    r.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The guard's settings: ranges the operator opened and pinned names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    allow: Vec<IpNet>,
    overrides: BTreeMap<String, Vec<IpAddr>>,
}

impl Policy {
    /// A policy with `allow` opened and `overrides` pinned (names lower-case, no final dot).
    pub fn new(allow: Vec<IpNet>, overrides: BTreeMap<String, Vec<IpAddr>>) -> Self {
        let overrides = overrides
            .into_iter()
            .map(|(k, v)| (normalize(&k), v))
            .collect();
        Policy { allow, overrides }
    }

    /// Whether `ip` may be reached. An allowed range is matched against the address and,
    /// for the IPv6 forms that carry one, against its IPv4 address.
    pub fn check(&self, ip: IpAddr) -> Result<(), Refused> {
        let Some(reason) = refusal(ip) else {
            return Ok(());
        };
        let inner = match ip {
            IpAddr::V6(a) => classify::embedded_v4(a).map(|(_, v4)| IpAddr::V4(v4)),
            IpAddr::V4(_) => None,
        };
        let opened = |a: IpAddr| self.allow.iter().any(|n| n.contains(&a));
        if opened(ip) || inner.is_some_and(opened) {
            return Ok(());
        }
        Err(Refused { addr: ip, reason })
    }

    /// Checks a URL before any connection: `http`/`https`, no credentials, a host; an
    /// IP-literal host must pass [`Policy::check`]. A name is left to [`Policy::resolve`].
    pub fn check_url(&self, url: &url::Url) -> Result<(), EgressError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(EgressError::Url(format!(
                "scheme {:?} is not http or https",
                url.scheme()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(EgressError::Url(
                "credentials in the URL (user:pass@) are refused; receivers verify the \
                 signature made with the webhook secret"
                    .into(),
            ));
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(a)) => IpAddr::V4(a),
            Some(url::Host::Ipv6(a)) => IpAddr::V6(a),
            Some(url::Host::Domain(_)) => return Ok(()),
            None => return Err(EgressError::Url("the URL has no host".into())),
        };
        self.check(ip).map_err(|r| EgressError::Refused {
            host: ip.to_string(),
            refused: vec![r],
        })
    }

    /// Resolves `host` (pinned names first, then the system resolver) and returns only the
    /// addresses the guard lets through, with `port`. Refused when none is left.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, EgressError> {
        let key = normalize(host);
        let found: Vec<IpAddr> = match self.overrides.get(&key) {
            Some(pinned) => pinned.clone(),
            None => tokio::net::lookup_host((key.as_str(), port))
                .await
                .map_err(|e| EgressError::Dns {
                    host: key.clone(),
                    reason: e.to_string(),
                })?
                .map(|a| a.ip())
                .collect(),
        };
        if found.is_empty() {
            return Err(EgressError::Dns {
                host: key,
                reason: "no address".into(),
            });
        }
        let mut ok = Vec::new();
        let mut refused = Vec::new();
        for ip in found {
            match self.check(ip) {
                Ok(()) if !ok.contains(&ip) => ok.push(ip),
                Ok(()) => {}
                Err(r) => refused.push(r),
            }
        }
        if ok.is_empty() {
            return Err(EgressError::Refused { host: key, refused });
        }
        Ok(ok.into_iter().map(|ip| SocketAddr::new(ip, port)).collect())
    }

    /// The check made when a target is stored: the URL rules, and for a name, one resolution
    /// (bounded by `timeout`) that must not yield only refused addresses. A name that does not
    /// resolve now is accepted: every delivery resolves it again under the guard.
    pub async fn vet(&self, url: &url::Url, timeout: Duration) -> Result<(), EgressError> {
        self.check_url(url)?;
        let Some(url::Host::Domain(name)) = url.host() else {
            return Ok(());
        };
        let port = url.port_or_known_default().unwrap_or(0);
        match tokio::time::timeout(timeout, self.resolve(name, port)).await {
            Ok(Err(e)) if e.is_refusal() => Err(e),
            _ => Ok(()),
        }
    }
}

/// A host name as the overrides key it: lower case, without the final dot.
fn normalize(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow: &[&str], pins: &[(&str, &[&str])]) -> Policy {
        Policy::new(
            allow.iter().map(|a| a.parse().unwrap()).collect(),
            pins.iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        v.iter().map(|a| a.parse().unwrap()).collect(),
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn allow_private_opens_only_the_named_range_in_every_form() {
        let p = policy(&["10.1.2.0/24", "127.0.0.0/8"], &[]);
        for ok in [
            "10.1.2.3",
            "127.0.0.1",
            "::ffff:10.1.2.9",
            "64:ff9b::7f00:1",
        ] {
            assert_eq!(p.check(ok.parse().unwrap()), Ok(()), "{ok}");
        }
        let e = p.check("10.1.3.1".parse().unwrap()).unwrap_err();
        assert_eq!(e.to_string(), "10.1.3.1 is private (RFC 1918)");
        assert!(p.check("169.254.169.254".parse().unwrap()).is_err());
    }

    #[test]
    fn urls_with_credentials_other_schemes_or_inward_literals_are_refused() {
        let p = Policy::default();
        let check = |u: &str| p.check_url(&url::Url::parse(u).unwrap());
        assert!(check("https://hooks.example.com/x").is_ok());
        let e = check("https://u:p@hooks.example.com/x").unwrap_err();
        assert!(e.to_string().contains("user:pass@"), "{e}");
        assert!(check("ftp://hooks.example.com/").is_err());
        let e = check("http://2130706433/h").unwrap_err();
        assert_eq!(
            e.to_string(),
            "target 127.0.0.1 refused: 127.0.0.1 is loopback (webhooks.allow_private opens a range)"
        );
        assert!(check("http://[::ffff:169.254.169.254]/latest").is_err());
    }

    #[tokio::test]
    async fn resolution_filters_refused_addresses_and_pins_are_guarded_too() {
        let p = policy(
            &[],
            &[
                ("Receiver.Test", &["127.0.0.1"]),
                ("mixed.test", &["10.0.0.1", "93.184.215.14"]),
            ],
        );
        let e = p.resolve("receiver.test.", 80).await.unwrap_err();
        assert!(e.is_refusal());
        assert!(e.to_string().contains("127.0.0.1 is loopback"), "{e}");
        let ok = p.resolve("mixed.test", 8443).await.unwrap();
        assert_eq!(ok, vec!["93.184.215.14:8443".parse().unwrap()]);
        // The system resolver's answer for localhost is filtered the same way.
        let e = p.resolve("localhost", 80).await.unwrap_err();
        assert!(e.is_refusal(), "{e}");
        let open = policy(&["127.0.0.0/8", "::1/128"], &[]);
        assert!(!open.resolve("localhost", 80).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn vet_refuses_inward_names_and_accepts_names_that_do_not_resolve_yet() {
        let p = policy(&[], &[("inward.test", &["169.254.169.254"])]);
        let t = Duration::from_secs(5);
        let url = |u: &str| url::Url::parse(u).unwrap();
        let e = p.vet(&url("https://inward.test/h"), t).await.unwrap_err();
        assert!(e.to_string().contains("cloud metadata"), "{e}");
        assert!(p
            .vet(&url("https://no-such-name.invalid/h"), t)
            .await
            .is_ok());
    }
}
