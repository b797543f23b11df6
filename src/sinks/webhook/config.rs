//! `[webhooks]`: retry policy, limits, the egress guard and TLS of the customer webhook
//! dispatcher.

use crate::backoff::Backoff;
use crate::egress::Policy;
use crate::tls::client::ClientTls;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Settings of the webhook dispatcher. Subscriptions themselves are data (created through
/// `POST /api/webhooks` and kept in the embedded store), not configuration.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// First retry delay after a failed attempt (429, 5xx, timeout, connection error); it
    /// doubles per attempt up to `max_backoff`. Default `"1s"`.
    #[serde(with = "crate::duration_text")]
    pub initial_backoff: Duration,
    /// Ceiling of the retry delay. Default `"1h"`.
    #[serde(with = "crate::duration_text")]
    pub max_backoff: Duration,
    /// How long after an event was queued it is still retried; a retry that would start
    /// later goes to the dead letters instead. Default `"24h"`.
    #[serde(with = "crate::duration_text")]
    pub retry_budget: Duration,
    /// Whole-request timeout of one delivery attempt (a hanging receiver counts as a
    /// failure and is retried). Default `"10s"`.
    #[serde(with = "crate::duration_text")]
    pub timeout: Duration,
    /// Deliveries in flight at once to one endpoint URL, so one customer's slow receiver
    /// cannot take every connection and a burst does not flood a small receiver. Default 4.
    pub max_in_flight_per_endpoint: usize,
    /// Deliveries in flight at once in total (bounds sockets and tasks). Default 64.
    pub max_in_flight: usize,
    /// Longest the dispatcher sleeps between scans of the outbox when nothing wakes it
    /// (new events and finished attempts wake it at once). Default `"1s"`.
    #[serde(with = "crate::duration_text")]
    pub poll_interval: Duration,
    /// Largest response body read from a receiver (its length and, for admin tokens, its
    /// first 200 bytes are kept for the delivery log). Default 1024 bytes.
    pub max_response_bytes: usize,
    /// Address ranges webhooks may reach although they are private, loopback, link-local or
    /// otherwise inward (`["10.1.2.0/24", "fd00:1::/64"]`; a bare address is one host), for
    /// on-premises receivers. Default none: every inward address is refused (see
    /// `crate::egress`).
    pub allow_private: Vec<String>,
    /// Names pinned to addresses instead of asking DNS, like curl's `--resolve`:
    /// `{ "receiver.test" = ["127.0.0.1"] }`. The guard still applies to pinned addresses.
    /// Default none.
    pub dns_overrides: BTreeMap<String, Vec<IpAddr>>,
    /// Most webhooks one customer's tokens may create (untenanted tokens count as one more
    /// customer). Default 20.
    pub max_webhooks_per_customer: usize,
    /// PEM bundle of extra trusted roots for `https://` receivers behind a private CA (added
    /// to the system's roots). Default none.
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate from `https://` receivers. Never in production; logged as a
    /// warning at start. Default false.
    pub insecure_skip_verify: bool,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(3600),
            retry_budget: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(10),
            max_in_flight_per_endpoint: 4,
            max_in_flight: 64,
            poll_interval: Duration::from_secs(1),
            max_response_bytes: 1024,
            allow_private: Vec::new(),
            dns_overrides: BTreeMap::new(),
            max_webhooks_per_customer: 20,
            ca_file: None,
            insecure_skip_verify: false,
        }
    }
}

impl WebhookConfig {
    /// Checks the values that would make the dispatcher stall or spin.
    pub fn validate(&self) -> Result<(), String> {
        if self.initial_backoff.is_zero() {
            return Err("webhooks.initial_backoff must be > 0".into());
        }
        if self.max_backoff < self.initial_backoff {
            return Err("webhooks.max_backoff must be >= webhooks.initial_backoff".into());
        }
        if self.timeout.is_zero() {
            return Err("webhooks.timeout must be > 0".into());
        }
        if self.max_in_flight_per_endpoint == 0 || self.max_in_flight == 0 {
            return Err("webhooks.max_in_flight(_per_endpoint) must be >= 1".into());
        }
        if self.poll_interval.is_zero() {
            return Err("webhooks.poll_interval must be > 0".into());
        }
        if self.max_webhooks_per_customer == 0 {
            return Err("webhooks.max_webhooks_per_customer must be >= 1".into());
        }
        self.policy()?;
        self.tls().validate()
    }

    /// The egress guard of these settings (`allow_private`, `dns_overrides`).
    pub fn policy(&self) -> Result<Policy, String> {
        let mut allow = Vec::with_capacity(self.allow_private.len());
        for r in &self.allow_private {
            let net = r
                .parse::<ipnet::IpNet>()
                .or_else(|_| r.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    format!(
                        "webhooks.allow_private: {r:?} is not an address range like 10.1.2.0/24"
                    )
                })?;
            allow.push(net.trunc());
        }
        for (name, addrs) in &self.dns_overrides {
            let valid = !name.is_empty()
                && name.len() <= 253
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
            if !valid {
                return Err(format!(
                    "webhooks.dns_overrides: {name:?} is not a host name"
                ));
            }
            if addrs.is_empty() {
                return Err(format!("webhooks.dns_overrides.{name:?}: no address"));
            }
        }
        Ok(Policy::new(allow, self.dns_overrides.clone()))
    }

    /// TLS for `https://` receivers.
    pub fn tls(&self) -> ClientTls {
        ClientTls {
            section: "webhooks",
            ca_file: self.ca_file.clone(),
            client_cert: None,
            client_key: None,
            insecure_skip_verify: self.insecure_skip_verify,
        }
    }

    /// Delay schedule between attempts: from `initial_backoff` doubling per failure up to
    /// `max_backoff`, with equal jitter (see [`crate::backoff`]), so receivers recovering
    /// from an outage are not hit by every retry at once while the delay still grows.
    pub fn backoff(&self) -> Backoff {
        Backoff::new(self.initial_backoff, self.max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters_within_half() {
        let c = WebhookConfig::default();
        assert_eq!(c.backoff().delay_with(1, 0.0), Duration::from_millis(500));
        assert_eq!(c.backoff().delay_with(1, 0.5), Duration::from_millis(750));
        assert_eq!(c.backoff().delay_with(2, 0.0), Duration::from_secs(1));
        assert_eq!(c.backoff().delay_with(3, 0.0), Duration::from_secs(2));
        // 2^12 s > 1 h: capped
        assert_eq!(c.backoff().delay_with(13, 0.0), Duration::from_secs(1800));
        assert_eq!(c.backoff().delay_with(1000, 0.0), Duration::from_secs(1800));
    }

    #[test]
    fn webhooks_section_parses_with_defaults_and_rejects_unknown_keys() {
        let c = crate::config::Config::from_toml(
            "[webhooks]\ntimeout = \"5s\"\nretry_budget = \"2h\"\ninitial_backoff = \"250ms\"\n",
        )
        .expect("valid");
        assert_eq!(c.webhooks.timeout, Duration::from_secs(5));
        assert_eq!(c.webhooks.retry_budget, Duration::from_secs(7200));
        assert_eq!(c.webhooks.initial_backoff, Duration::from_millis(250));
        assert_eq!(c.webhooks.max_backoff, Duration::from_secs(3600));
        let none = crate::config::Config::from_toml("").expect("defaults");
        assert_eq!(none.webhooks, WebhookConfig::default());
        let err = crate::config::Config::from_toml("[webhooks]\nretries = 3\n").unwrap_err();
        assert!(err.to_string().contains("retries"), "{err}");
    }

    #[test]
    fn validate_names_the_bad_key() {
        let c = WebhookConfig {
            max_in_flight_per_endpoint: 0,
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().contains("max_in_flight"));
        let c = WebhookConfig {
            allow_private: vec!["10.1.2.0/33".into()],
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().contains("webhooks.allow_private"));
        let c = WebhookConfig {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().contains("/nonexistent/ca.pem"));
    }

    #[test]
    fn guard_keys_parse_from_toml() {
        let c = crate::config::Config::from_toml(
            "[webhooks]\nallow_private = [\"10.1.2.0/24\", \"127.0.0.1\"]\n\
             dns_overrides = { \"receiver.test\" = [\"127.0.0.1\"] }\n\
             max_webhooks_per_customer = 3\n",
        )
        .expect("valid");
        let p = c.webhooks.policy().unwrap();
        assert!(p.check("10.1.2.200".parse().unwrap()).is_ok());
        assert!(p.check("127.0.0.1".parse().unwrap()).is_ok());
        assert!(p.check("127.0.0.2".parse().unwrap()).is_err());
        assert_eq!(c.webhooks.max_webhooks_per_customer, 3);
        assert_eq!(
            c.webhooks.dns_overrides["receiver.test"],
            vec!["127.0.0.1".parse::<IpAddr>().unwrap()]
        );
    }
}
