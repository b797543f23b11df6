//! `[log]`: which durable log the gateway writes and every consumer reads.
//!
//! `"local"` (the default) is the embedded write-ahead log under `[storage] dir`: nothing to
//! run besides trackgate. `"jetstream"` puts the log on a NATS JetStream stream, replicated
//! by the NATS cluster, so a gateway machine can die without losing an ACKed record (see
//! [`super::jetstream`] for what that backend does and does not do yet).

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `[log]`
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `"local"` (default) or `"jetstream"`.
    pub backend: LogBackend,
    /// `[log.jetstream]`, required with `backend = "jetstream"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jetstream: Option<JetStreamConfig>,
}

/// Where the log lives.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogBackend {
    /// The embedded write-ahead log.
    #[default]
    Local,
    /// A NATS JetStream stream.
    Jetstream,
}

/// `[log.jetstream]`
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct JetStreamConfig {
    /// NATS servers to connect to (`nats://host:port`, `tls://host:port`); the client
    /// fails over between them. At least one.
    pub servers: Vec<String>,
    /// The stream's name, created if missing. Default `"trackgate"`. Records are published
    /// to `<stream>.records.<partition>`.
    pub stream: String,
    /// Replicas of the stream (and of the consumer-position bucket) when trackgate creates
    /// them: 1, 3 or 5. Default 1; use 3 on a three-node cluster.
    pub replicas: usize,
    /// Subject partitions, by device: a device's records always go to the same one.
    /// Default 16.
    pub partitions: u32,
    /// How long a publish may wait for JetStream's acknowledgement before the frame is
    /// refused (no ACK: the device resends), milliseconds. Default 5000.
    pub publish_timeout_ms: u64,
    /// User and password, if the NATS server asks for them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Token authentication, if the NATS server asks for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// A CA certificate (PEM) to verify the servers with; setting it requires TLS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<PathBuf>,
}

impl Default for JetStreamConfig {
    fn default() -> Self {
        JetStreamConfig {
            servers: Vec::new(),
            stream: "trackgate".into(),
            replicas: 1,
            partitions: 16,
            publish_timeout_ms: 5000,
            user: None,
            password: None,
            token: None,
            tls_ca: None,
        }
    }
}

impl LogConfig {
    /// Checks the section; the message names the key at fault.
    pub fn validate(&self) -> Result<(), String> {
        match (self.backend, &self.jetstream) {
            (LogBackend::Local, _) => Ok(()),
            (LogBackend::Jetstream, None) => Err(
                "log.backend = \"jetstream\" needs a [log.jetstream] section with servers".into(),
            ),
            (LogBackend::Jetstream, Some(js)) => js.validate(),
        }
    }
}

impl JetStreamConfig {
    /// Checks the section; the message names the key at fault.
    pub fn validate(&self) -> Result<(), String> {
        if self.servers.is_empty() {
            return Err("log.jetstream.servers: at least one NATS server is needed".into());
        }
        for s in &self.servers {
            s.parse::<async_nats::ServerAddr>()
                .map_err(|e| format!("log.jetstream.servers: {s:?}: {e}"))?;
        }
        let name_ok = !self.stream.is_empty()
            && self.stream.len() <= 64
            && self
                .stream
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(format!(
                "log.jetstream.stream = {:?}: 1 to 64 letters, digits, '-' or '_'",
                self.stream
            ));
        }
        if ![1, 3, 5].contains(&self.replicas) {
            return Err(format!(
                "log.jetstream.replicas = {}: 1, 3 or 5",
                self.replicas
            ));
        }
        if !(1..=1024).contains(&self.partitions) {
            return Err(format!(
                "log.jetstream.partitions = {}: 1 to 1024",
                self.partitions
            ));
        }
        if !(100..=120_000).contains(&self.publish_timeout_ms) {
            return Err(format!(
                "log.jetstream.publish_timeout_ms = {}: 100 to 120000",
                self.publish_timeout_ms
            ));
        }
        if self.password.is_some() != self.user.is_some() {
            return Err("log.jetstream: user and password go together".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn js() -> JetStreamConfig {
        JetStreamConfig {
            servers: vec!["nats://127.0.0.1:4222".into()],
            ..Default::default()
        }
    }

    #[test]
    fn local_needs_nothing_and_jetstream_needs_its_section() {
        assert!(LogConfig::default().validate().is_ok());
        let mut c = LogConfig {
            backend: LogBackend::Jetstream,
            jetstream: None,
        };
        assert!(c.validate().unwrap_err().contains("[log.jetstream]"));
        c.jetstream = Some(js());
        assert!(c.validate().is_ok());
    }

    #[test]
    fn bad_values_name_their_key() {
        let bad = [
            (
                JetStreamConfig {
                    servers: vec![],
                    ..js()
                },
                "servers",
            ),
            (
                JetStreamConfig {
                    stream: "a.b".into(),
                    ..js()
                },
                "stream",
            ),
            (
                JetStreamConfig {
                    replicas: 2,
                    ..js()
                },
                "replicas",
            ),
            (
                JetStreamConfig {
                    partitions: 0,
                    ..js()
                },
                "partitions",
            ),
            (
                JetStreamConfig {
                    publish_timeout_ms: 1,
                    ..js()
                },
                "publish_timeout_ms",
            ),
            (
                JetStreamConfig {
                    user: Some("u".into()),
                    ..js()
                },
                "user and password",
            ),
        ];
        for (c, key) in bad {
            let e = c.validate().unwrap_err();
            assert!(e.contains(key), "{e} should name {key}");
        }
    }
}
