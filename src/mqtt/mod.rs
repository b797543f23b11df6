//! The MQTT broker link, shared by device ingest (`ingest::mqtt`, subscriber) and the live
//! publisher (`sinks::mqtt`): the `[mqtt]` section, its URL parsed once (with the `url`
//! crate, the same rules for both roles) and the client options built from it.
//!
//! `mqtts://` connects with TLS: the broker's certificate is verified against the system
//! roots plus `ca_file`, and `client_cert`/`client_key` are presented to a broker that
//! requires them (mTLS, Mosquitto's `require_certificate true`); see [`crate::tls::client`].
//! rumqttc is handed the finished rustls configuration (aws-lc-rs provider), and uses the
//! URL's host for SNI and the certificate name check.

use crate::protocol::owntracks::Mapping;
use crate::secret::{resolve, Secret, SecretError};
use crate::tls::client::ClientTls;
use rumqttc::{MqttOptions, TlsConfiguration, Transport};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// `[mqtt]`: the broker trackgate subscribes to (MQTT devices) and publishes to (live
/// positions, ETAs, events).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// Broker URL: `mqtt://host:port` (default port 1883) or `mqtts://host:port` (TLS, 8883).
    /// Default `mqtt://127.0.0.1:1883`.
    pub url: String,
    /// Client id prefix; each connection appends its role (`-in`, `-out`). Default `trackgate`.
    pub client_id: String,
    /// Username, if the broker requires one.
    pub username: Option<String>,
    /// Password, if the broker requires one. Also `TRACKGATE_MQTT__PASSWORD`, or
    /// `password_file`.
    pub password: Option<Secret>,
    /// A file holding the password (Docker/Kubernetes secrets). Default none.
    pub password_file: Option<PathBuf>,
    /// MQTT keep-alive, seconds. Default 30.
    pub keep_alive_secs: u64,
    /// PEM bundle of extra trusted roots for `mqtts://` (added to the system roots). Default
    /// none.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate for a broker that requires one (mTLS). Default none.
    pub client_cert: Option<PathBuf>,
    /// PEM private key of `client_cert`. Default none.
    pub client_key: Option<PathBuf>,
    /// Accept any broker certificate (logged as a warning at start). Default false.
    pub insecure_skip_verify: bool,
    /// Prefix of published topics. Default `trackgate` (`trackgate/devices/{id}/position`).
    pub topic_prefix: String,
    /// `[mqtt.ingest]`: OwnTracks and mapped JSON devices trackgate subscribes to.
    #[serde(default)]
    pub ingest: MqttIngestConfig,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            url: "mqtt://127.0.0.1:1883".into(),
            client_id: "trackgate".into(),
            username: None,
            password: None,
            password_file: None,
            keep_alive_secs: 30,
            ca_file: None,
            client_cert: None,
            client_key: None,
            insecure_skip_verify: false,
            topic_prefix: "trackgate".into(),
            ingest: Default::default(),
        }
    }
}

/// `[mqtt.ingest]`: what trackgate subscribes to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MqttIngestConfig {
    /// Subscribe at all (when `[mqtt]` is present). Default true.
    pub enabled: bool,
    /// OwnTracks topic filter; the 2nd and 3rd levels are user and device. Empty: no
    /// OwnTracks subscription. Default `owntracks/+/+`.
    pub owntracks_topic: String,
    /// Generic JSON devices, tried in order before the OwnTracks layout.
    pub mappings: Vec<Mapping>,
    /// Largest MQTT packet accepted from the broker, bytes. Default 65536.
    pub max_packet_bytes: usize,
    /// First reconnect delay, milliseconds. Default 500.
    pub reconnect_min_ms: u64,
    /// Longest reconnect delay, seconds. Default 30.
    pub reconnect_max_secs: u64,
}

impl Default for MqttIngestConfig {
    fn default() -> Self {
        MqttIngestConfig {
            enabled: true,
            owntracks_topic: "owntracks/+/+".into(),
            mappings: Vec::new(),
            max_packet_bytes: 64 * 1024,
            reconnect_min_ms: 500,
            reconnect_max_secs: 30,
        }
    }
}

/// A broker URL that cannot be used, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MqttUrlError {
    #[error("mqtt.url = {url:?}: {why}")]
    Invalid { url: String, why: String },
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("mqtt: {0}")]
    Tls(#[from] crate::tls::TlsFileError),
}

/// Where the broker is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    pub host: String,
    pub port: u16,
    /// `mqtts://`.
    pub tls: bool,
}

/// Parses `mqtt://host[:port]` (default port 1883) and `mqtts://host[:port]` (default port
/// 8883). Credentials belong in `username`/`password`, not in
/// the URL (URLs end up in logs); a path other than `/` is an error.
pub fn parse_url(url: &str) -> Result<Broker, MqttUrlError> {
    let bad = |why: &str| MqttUrlError::Invalid {
        url: crate::secret::redact_url(url),
        why: why.to_string(),
    };
    let u = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    let (tls, default_port) = match u.scheme() {
        "mqtt" => (false, 1883),
        "mqtts" => (true, 8883),
        _ => return Err(bad("expected mqtt://host[:port] or mqtts://host[:port]")),
    };
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad(
            "credentials in the URL are refused; set mqtt.username and mqtt.password",
        ));
    }
    if !matches!(u.path(), "" | "/") || u.query().is_some() || u.fragment().is_some() {
        return Err(bad("a broker URL has no path, query or fragment"));
    }
    let host = match u.host() {
        Some(url::Host::Ipv6(a)) => a.to_string(),
        Some(h) => h.to_string(),
        None => return Err(bad("no host")),
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    Ok(Broker {
        host,
        port: u.port().unwrap_or(default_port),
        tls,
    })
}

impl MqttConfig {
    /// Checks the URL and the ingest mappings, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        let b = parse_url(&self.url).map_err(|e| e.to_string())?;
        let tls = self.tls();
        if b.tls {
            tls.validate()?;
        } else if tls.is_configured() {
            return Err(format!(
                "mqtt.ca_file, client_cert, client_key and insecure_skip_verify apply to \
                 mqtts:// only (mqtt.url = {:?})",
                self.url
            ));
        }
        self.password().map_err(|e| e.to_string())?;
        if self.client_id.is_empty() || self.client_id.len() > 200 {
            return Err(format!(
                "mqtt.client_id = {:?}: must be 1 to 200 characters",
                self.client_id
            ));
        }
        if self.keep_alive_secs < 5 || self.keep_alive_secs > 65_535 {
            return Err(format!(
                "mqtt.keep_alive_secs = {}: must be within 5..=65535",
                self.keep_alive_secs
            ));
        }
        if self.topic_prefix.is_empty() || self.topic_prefix.contains(['+', '#']) {
            return Err(format!(
                "mqtt.topic_prefix = {:?}: must be a non-empty topic without wildcards",
                self.topic_prefix
            ));
        }
        if self.username.is_none() && (self.password.is_some() || self.password_file.is_some()) {
            return Err("mqtt.password is set without mqtt.username".into());
        }
        self.ingest.validate()
    }

    /// The password from `password` or `password_file`.
    pub fn password(&self) -> Result<Option<Secret>, SecretError> {
        resolve(
            "mqtt.password",
            self.password.as_ref(),
            self.password_file.as_deref(),
        )
    }

    /// TLS for `mqtts://`.
    pub fn tls(&self) -> ClientTls {
        ClientTls {
            section: "mqtt",
            ca_file: self.ca_file.clone(),
            client_cert: self.client_cert.clone(),
            client_key: self.client_key.clone(),
            insecure_skip_verify: self.insecure_skip_verify,
        }
    }

    /// Client options for one role (`in`, `out`): client id `<client_id>-<role>`,
    /// keep-alive, credentials, and for `mqtts://` the verified TLS transport.
    pub fn options(&self, role: &str) -> Result<MqttOptions, MqttUrlError> {
        let b = parse_url(&self.url)?;
        let mut opts = MqttOptions::new(format!("{}-{role}", self.client_id), b.host, b.port);
        opts.set_keep_alive(Duration::from_secs(self.keep_alive_secs.max(5)));
        if let Some(u) = &self.username {
            let password = self.password()?.unwrap_or_default();
            opts.set_credentials(u.clone(), password.expose());
        }
        if b.tls {
            let cfg = self.tls().client_config()?;
            opts.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
                std::sync::Arc::new(cfg),
            )));
        }
        Ok(opts)
    }
}

impl MqttIngestConfig {
    /// Checks limits and every mapping, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        if !self.enabled {
            return Ok(());
        }
        if self.max_packet_bytes < 128 || self.max_packet_bytes > 256 << 20 {
            return Err(format!(
                "mqtt.ingest.max_packet_bytes = {}: must be within 128..=268435456",
                self.max_packet_bytes
            ));
        }
        if self.reconnect_min_ms == 0 || self.reconnect_max_secs == 0 {
            return Err(
                "mqtt.ingest.reconnect_min_ms and reconnect_max_secs must be at least 1".into(),
            );
        }
        if self.reconnect_min_ms > self.reconnect_max_secs.saturating_mul(1000) {
            return Err(format!(
                "mqtt.ingest.reconnect_min_ms = {}: above reconnect_max_secs = {}",
                self.reconnect_min_ms, self.reconnect_max_secs
            ));
        }
        for m in &self.mappings {
            m.validate()
                .map_err(|e| format!("mqtt.ingest.mappings (topic {:?}): {e}", m.topic))?;
        }
        Ok(())
    }

    /// Every topic filter to subscribe to: the mappings', then OwnTracks'.
    pub fn topics(&self) -> Vec<String> {
        let mut t: Vec<String> = self.mappings.iter().map(|m| m.topic.clone()).collect();
        if !self.owntracks_topic.is_empty() {
            t.push(self.owntracks_topic.clone());
        }
        t
    }

    /// Backoff between reconnect attempts.
    pub fn reconnect_backoff(&self) -> crate::backoff::Backoff {
        crate::backoff::Backoff::new(
            Duration::from_millis(self.reconnect_min_ms.max(1)),
            Duration::from_secs(self.reconnect_max_secs.max(1)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(host: &str, port: u16, tls: bool) -> Broker {
        Broker {
            host: host.into(),
            port,
            tls,
        }
    }

    #[test]
    fn urls_parse_once_with_one_rule_set() {
        assert_eq!(
            parse_url("mqtt://127.0.0.1:1884"),
            Ok(broker("127.0.0.1", 1884, false))
        );
        assert_eq!(
            parse_url("mqtt://broker"),
            Ok(broker("broker", 1883, false))
        );
        assert_eq!(
            parse_url("mqtt://broker/"),
            Ok(broker("broker", 1883, false))
        );
        assert_eq!(
            parse_url("mqtt://[::1]:1885"),
            Ok(broker("::1", 1885, false))
        );
        assert_eq!(parse_url("mqtts://b"), Ok(broker("b", 8883, true)));
        assert_eq!(parse_url("mqtts://b:8884"), Ok(broker("b", 8884, true)));
        for bad in [
            "mqtt://b:x",
            "http://b",
            "tcp://b",
            "ssl://b",
            "mqtt://",
            "broker:1883",
            "mqtt://u:p@b",
            "mqtt://b/topic",
            "mqtt://b:70000",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn validation_names_the_key() {
        let ok = MqttConfig::default();
        assert_eq!(ok.validate(), Ok(()));
        let tls = MqttConfig {
            url: "mqtts://b:8883".into(),
            ..MqttConfig::default()
        };
        assert_eq!(tls.validate(), Ok(()));
        assert!(matches!(
            tls.options("out").unwrap().transport(),
            Transport::Tls(_)
        ));
        let plain_with_ca = MqttConfig {
            ca_file: Some("/etc/ca.pem".into()),
            ..MqttConfig::default()
        };
        assert!(plain_with_ca
            .validate()
            .unwrap_err()
            .contains("mqtts:// only"));
        let half = MqttConfig {
            client_cert: Some("/etc/c.pem".into()),
            ..tls.clone()
        };
        assert!(half.validate().unwrap_err().contains("mqtt.client_key"));
        let ka = MqttConfig {
            keep_alive_secs: 1,
            ..MqttConfig::default()
        };
        assert!(ka.validate().unwrap_err().contains("mqtt.keep_alive_secs"));
        let wild = MqttConfig {
            topic_prefix: "a/#".into(),
            ..MqttConfig::default()
        };
        assert!(wild.validate().unwrap_err().contains("mqtt.topic_prefix"));
        let mut ing = MqttConfig::default();
        ing.ingest.max_packet_bytes = 1;
        assert!(ing.validate().unwrap_err().contains("max_packet_bytes"));
    }

    #[test]
    fn options_carry_role_and_credentials() {
        let c = MqttConfig {
            url: "mqtt://b:1999".into(),
            username: Some("u".into()),
            password: Some("p".into()),
            ..MqttConfig::default()
        };
        assert!(
            !format!("{c:?}").contains("\"p\""),
            "password redacted in Debug"
        );
        let o = c.options("out").unwrap();
        assert_eq!(o.client_id(), "trackgate-out");
        assert_eq!(o.broker_address(), ("b".to_string(), 1999));
        let login = o.credentials().expect("credentials set");
        assert_eq!(
            (login.username.as_str(), login.password.as_str()),
            ("u", "p")
        );
    }
}
