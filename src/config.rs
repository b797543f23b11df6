//! Configuration: documented data, loaded once, validated once.
//!
//! Sources, later wins: embedded defaults → TOML file (`--config`) → environment variables
//! `TRACKGATE_<SECTION>__<KEY>` (double underscore between levels, e.g.
//! `TRACKGATE_HTTP__LISTEN`, `TRACKGATE_PROTOCOLS__GT06__LISTEN`). Unknown keys are rejected
//! with the key's name, so a typo never silently falls back to a default.

use crate::pipeline::AckMode;
use crate::protocol::{self, ChecksumPolicy, DecoderOptions};
use crate::session::{Allow, DeviceKey, Takeover};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod listen;
pub use listen::HttpConfig;

/// The whole configuration.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// HTTP API, `/metrics`, `/healthz`.
    pub http: HttpConfig,
    /// Who may use the API (`[[api.tokens]]`).
    pub api: crate::api::auth::ApiConfig,
    /// Where the durable data lives.
    pub storage: StorageConfig,
    /// Which devices are admitted and when they count as offline.
    pub devices: DevicesConfig,
    /// The durable stage between decoding and the device ACK.
    pub pipeline: PipelineConfig,
    /// Which durable log: the embedded one (default) or NATS JetStream (`[log]`).
    pub log: crate::pipeline::backend::LogConfig,
    /// One table per protocol, keyed by registry name. Protocols not listed run with their
    /// defaults (enabled, Traccar's port).
    pub protocols: BTreeMap<String, ProtocolConfig>,
    /// InfluxDB sink; absent: no InfluxDB (data stays in the log, see `trackgate replay`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub influx: Option<crate::sinks::influx::InfluxConfig>,
    /// MQTT broker (device ingest and live publishing); absent: no MQTT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mqtt: Option<crate::mqtt::MqttConfig>,
    /// Customer webhooks: retry policy and limits (subscriptions are created via the API).
    #[serde(default)]
    pub webhooks: crate::sinks::webhook::WebhookConfig,
    /// Shipments, ETA and exceptions (`[tracking]`); every threshold with its default.
    pub tracking: crate::tracking::TrackingConfig,
    /// The ops console and customer tracking links (`[console]`).
    pub console: crate::console::ConsoleConfig,
    /// Fleet events from positions: geofences, overspeed, ignition, motion (`[events]`).
    pub events: crate::fleet::EventsConfig,
}

/// `[storage]`
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Directory of the write-ahead log (`<dir>/wal`) and embedded metadata. Default `./data`.
    pub dir: PathBuf,
    /// Cap on the log's size, bytes. When reached (and nothing consumed can be deleted), new
    /// frames are not ACKed so devices keep them. Default 1 GiB.
    pub max_bytes: u64,
    /// Segment file size, bytes (also the largest batch). Default 64 MiB.
    pub segment_bytes: u64,
    /// Group commit: longest time a record waits for companions before the fsync that
    /// covers them all, milliseconds; only under load (after a group of 32 or more appends),
    /// a lone append is fsynced at once. Default 2.
    pub group_commit_wait_ms: u64,
    /// How long records are kept once every sink has passed them (with no InfluxDB, the log
    /// is the embedded store). `"7d"`, `"12h"`, `"30m"`, `"45s"` or seconds. Default `"7d"`.
    #[serde(with = "crate::duration_text")]
    pub retention: Duration,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            dir: PathBuf::from("./data"),
            max_bytes: 1 << 30,
            segment_bytes: 64 << 20,
            group_commit_wait_ms: 2,
            retention: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl StorageConfig {
    /// The write-ahead log's options.
    pub fn wal_options(&self) -> crate::pipeline::wal::WalOptions {
        crate::pipeline::wal::WalOptions {
            segment_bytes: self.segment_bytes,
            max_total_bytes: self.max_bytes,
            group_commit_wait: Duration::from_millis(self.group_commit_wait_ms),
            retention: self.retention,
        }
    }

    /// Where the log lives.
    pub fn wal_dir(&self) -> PathBuf {
        self.dir.join("wal")
    }
}

/// `[devices]`
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DevicesConfig {
    /// `"all"` (default), `"registered"` (only ids in the device registry, see
    /// `crate::registry`; changes apply without a restart) or a list of device ids. A
    /// device that is not allowed gets its protocol's refusal, is counted in
    /// `trackgate_devices_refused_total` and logged once.
    pub allow: Allow,
    /// A device with no open connection and nothing received for this long is offline.
    /// Default 600 s.
    pub offline_after_secs: u64,
    /// Live state forgets a device with no connection and nothing received for this long
    /// (`"30d"`, `"12h"`, ...): a fleet that churns trackers must not grow memory forever.
    /// Its history stays in the log and InfluxDB. Default `"30d"`.
    #[serde(with = "crate::duration_text")]
    pub forget_after: Duration,
    /// A device id already online on another connection (TCP or UDP peer): `"replace"`
    /// (default: the old connection is closed — real trackers reconnect before the old
    /// socket times out) or `"reject"` (the newcomer is refused). Counted in
    /// `trackgate_device_takeovers_total`, logged with both peers, and shown as `takeovers`
    /// on `/api/devices/{id}`.
    pub takeover: Takeover,
    /// Positions whose fix time is more than this far ahead of the receive time (or before
    /// 2000) are dropped, counted and logged once per device, so no fix can freeze live
    /// state or tracking. Default 300 s.
    pub max_future_secs: u64,
    /// `[[devices.keys]]`: ids accepted only from the listed source ranges (`id`,
    /// `peer_cidrs`). Default none.
    pub keys: Vec<DeviceKey>,
    /// Most devices one customer's token may register in the device registry (a `PUT` of a
    /// new device beyond it answers 409); ops tokens and `trackgate devices import` are not
    /// limited. Default 100 000.
    pub max_registered_per_customer: usize,
}

impl Default for DevicesConfig {
    fn default() -> Self {
        DevicesConfig {
            allow: Allow::All,
            offline_after_secs: 600,
            forget_after: Duration::from_secs(30 * 86_400),
            takeover: Takeover::Replace,
            max_future_secs: 300,
            keys: Vec::new(),
            max_registered_per_customer: 100_000,
        }
    }
}

/// `[pipeline]`
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// On shutdown, how long to wait for in-flight batches to drain. Default 10 s.
    pub drain_secs: u64,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig { drain_secs: 10 }
    }
}

/// `[protocols.<name>]`
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ProtocolConfig {
    /// Serve this protocol. Default true.
    pub enabled: bool,
    /// TCP listen address. Default `0.0.0.0:<Traccar's port>`.
    pub listen: Option<SocketAddr>,
    /// UDP listen address, for protocols that have a UDP variant. Default: same as `listen`.
    pub udp_listen: Option<SocketAddr>,
    /// Serve the UDP variant (when the protocol has one). Default true.
    pub udp: bool,
    /// `"verify"` (default: drop frames with a bad checksum, count them, keep the connection)
    /// or `"ignore"` (clone devices that compute it wrongly).
    pub checksum: ChecksumPolicy,
    /// `"durable"` (default) or `"received"`; see [`AckMode`].
    pub ack: AckMode,
    /// Largest frame accepted, bytes. Default 4096 (Teltonika's biggest AVL packet is 1280).
    pub max_frame: usize,
    /// A connection that sends nothing for this long is closed. Default 600 s (trackers
    /// heartbeat every 1–5 min).
    pub idle_timeout_secs: u64,
    /// Most simultaneous TCP connections for this protocol; more are refused at accept.
    /// For HTTP protocols also the most requests in flight (503 beyond). Default 20 000.
    pub max_connections: usize,
    /// Serve the TCP (or HTTP) listener over TLS: devices that encrypt their link (Teltonika
    /// FMx, Traccar Client / OsmAnd with an `https://` URL). The UDP variant has no TLS and
    /// is not served then. Default false.
    pub tls: bool,
    /// PEM certificate chain of this listener; default: `[http] tls_cert` (one certificate
    /// for the host name serves API and devices).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`; default: `[http] tls_key`.
    pub tls_key: Option<PathBuf>,
    /// Longest TLS handshake, waiting for a handshake slot included, seconds. Default 10.
    pub tls_handshake_timeout_secs: u64,
    /// Most TLS handshakes of this listener in progress at once: a flood of handshakes is
    /// bounded in memory and CPU, and plain listeners never wait for it. Default 1024 (a
    /// fleet reconnecting after an outage handshakes all at once; each waits at most the
    /// handshake timeout for a slot).
    pub max_tls_handshakes: usize,
    /// HTTP protocols: from connect (or the first byte after an idle spell) to complete
    /// request headers, seconds. The keep-alive idle limit is `idle_timeout_secs`.
    /// Default 10.
    pub header_timeout_secs: u64,
    /// HTTP protocols: from complete headers to the end of the request body, seconds
    /// (408 after it). Default 30.
    pub body_timeout_secs: u64,
    /// A TCP connection (or UDP peer) that has not identified a device this long after it
    /// opened is closed; bytes that do not complete an identifying frame do not extend it.
    /// Default 30 s.
    pub identify_timeout_secs: u64,
    /// A connection (or UDP peer) that sends this many frames failing checksum or decoding
    /// (or garbage the framer skips) before identifying is closed. Default 16.
    pub max_bad_frames: u32,
    /// Most simultaneous TCP connections from one source address (IPv6: one /64); more are
    /// refused at accept. Default 256 (many trackers share a carrier NAT address).
    pub max_connections_per_ip: usize,
    /// New TCP connections accepted per second from one source address (IPv6: one /64),
    /// in bursts of up to `max_connections_per_ip`; more are refused at accept. Default 32.
    pub new_connections_per_ip_per_sec: u32,
    /// One connection may speak for several device ids (gateways multiplexing terminals, as
    /// JT/T 808 allows). Default false: a frame naming a second id is refused.
    pub multi_terminal: bool,
    /// Protocol-specific options, documented in `protocol-docs/<name>.md`.
    pub options: BTreeMap<String, String>,
}

impl Default for ProtocolConfig {
    fn default() -> Self {
        ProtocolConfig {
            enabled: true,
            listen: None,
            udp_listen: None,
            udp: true,
            checksum: ChecksumPolicy::Verify,
            ack: AckMode::Durable,
            max_frame: 4096,
            idle_timeout_secs: 600,
            max_connections: 20_000,
            tls: false,
            tls_cert: None,
            tls_key: None,
            tls_handshake_timeout_secs: 10,
            max_tls_handshakes: 1024,
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            identify_timeout_secs: 30,
            max_bad_frames: 16,
            max_connections_per_ip: 256,
            new_connections_per_ip_per_sec: 32,
            multi_terminal: false,
            options: BTreeMap::new(),
        }
    }
}

impl ProtocolConfig {
    /// The decoder options this table yields.
    pub fn decoder_options(&self) -> DecoderOptions {
        DecoderOptions {
            checksum: self.checksum,
            max_frame: self.max_frame,
            options: self.options.clone(),
        }
    }

    /// Idle timeout as a duration.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }

    /// Identify timeout as a duration.
    pub fn identify_timeout(&self) -> Duration {
        Duration::from_secs(self.identify_timeout_secs)
    }
}

/// Prefix of configuration environment variables.
const ENV_PREFIX: &str = "TRACKGATE_";

/// The `TRACKGATE_*` names among `names` that are not configuration: only
/// `TRACKGATE_<SECTION>__<KEY>` is. Anything else (Kubernetes' service variables for a
/// Service named `trackgate`, a wrapper script's own settings) must not stop the server.
fn ignored_env(names: impl Iterator<Item = std::ffi::OsString>) -> Vec<String> {
    let mut out: Vec<String> = names
        .filter_map(|k| k.into_string().ok())
        .filter(|k| {
            k.strip_prefix(ENV_PREFIX)
                .is_some_and(|rest| !rest.contains("__"))
        })
        .collect();
    out.sort();
    out
}

/// A configuration that cannot be used, naming what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("config: [protocols.{0}]: no such protocol (known: {1})")]
    UnknownProtocol(String, String),
    #[error("config: {0}")]
    Invalid(String),
    #[error("config: {0}")]
    Options(#[from] protocol::OptionsError),
}

/// Checks one `[protocols.<name>]` table.
fn validate_protocol(
    name: &str,
    pc: &ProtocolConfig,
    http: &HttpConfig,
) -> Result<(), ConfigError> {
    let Some(p) = protocol::find(name) else {
        let known: Vec<_> = protocol::REGISTRY.iter().map(|p| p.name()).collect();
        return Err(ConfigError::UnknownProtocol(
            name.to_string(),
            known.join(", "),
        ));
    };
    if pc.max_frame < 16 || pc.max_frame > 1 << 20 {
        return Err(ConfigError::Invalid(format!(
            "protocols.{name}.max_frame = {} is outside 16..=1048576",
            pc.max_frame
        )));
    }
    if pc.max_connections == 0 {
        return Err(ConfigError::Invalid(format!(
            "protocols.{name}.max_connections must be at least 1"
        )));
    }
    for (key, value) in [
        ("idle_timeout_secs", pc.idle_timeout_secs),
        ("identify_timeout_secs", pc.identify_timeout_secs),
        ("max_bad_frames", u64::from(pc.max_bad_frames)),
        ("max_connections_per_ip", pc.max_connections_per_ip as u64),
        (
            "new_connections_per_ip_per_sec",
            u64::from(pc.new_connections_per_ip_per_sec),
        ),
    ] {
        if value == 0 {
            return Err(ConfigError::Invalid(format!(
                "protocols.{name}.{key} must be at least 1"
            )));
        }
    }
    pc.validate_tls(name, p, http)?;
    p.new_decoder(&pc.decoder_options())?;
    Ok(())
}

impl Config {
    /// Loads defaults, then `file` (if any), then `TRACKGATE_*` environment variables, and
    /// validates the result.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.exists() {
                return Err(ConfigError::Invalid(format!(
                    "config file {} does not exist",
                    f.display()
                )));
            }
            fig = fig.merge(Toml::file(f));
        }
        let ignored = ignored_env(std::env::vars_os().map(|(k, _)| k));
        if !ignored.is_empty() {
            tracing::warn!(
                names = %ignored.join(", "),
                "environment variables ignored: not configuration (configuration is \
                 TRACKGATE_<SECTION>__<KEY>; Kubernetes sets TRACKGATE_PORT, \
                 TRACKGATE_SERVICE_HOST, ... for a Service named trackgate)"
            );
        }
        fig = fig.merge(
            Env::prefixed(ENV_PREFIX)
                .filter(|k| k.as_str().contains("__"))
                .split("__"),
        );
        let cfg: Config = fig.extract().map_err(Box::new)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parses a TOML string (no environment), then validates. For tests and tools.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let cfg: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(text))
            .extract()
            .map_err(Box::new)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks what serde cannot, section by section, naming the offending key: protocol
    /// names, limits and options, storage sizes, device timers, and every optional section
    /// (`[influx]`, `[mqtt]`, `[webhooks]`, `[tracking]`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate()?;
        for (name, pc) in &self.protocols {
            validate_protocol(name, pc, &self.http)?;
        }
        self.validate_storage()?;
        self.validate_devices()?;
        if self.pipeline.drain_secs == 0 || self.pipeline.drain_secs > 3600 {
            return Err(ConfigError::Invalid(format!(
                "pipeline.drain_secs = {}: must be within 1..=3600",
                self.pipeline.drain_secs
            )));
        }
        if let Some(i) = &self.influx {
            i.validate()
                .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        }
        if let Some(m) = &self.mqtt {
            m.validate().map_err(ConfigError::Invalid)?;
        }
        self.webhooks.validate().map_err(ConfigError::Invalid)?;
        self.console.validate().map_err(ConfigError::Invalid)?;
        self.events.validate().map_err(ConfigError::Invalid)?;
        self.api.validate().map_err(ConfigError::Invalid)?;
        self.tracking.validate().map_err(ConfigError::Invalid)?;
        self.log.validate().map_err(ConfigError::Invalid)?;
        Ok(())
    }

    fn validate_storage(&self) -> Result<(), ConfigError> {
        let s = &self.storage;
        if s.segment_bytes < crate::pipeline::wal::MIN_SEGMENT_BYTES
            || s.max_bytes < s.segment_bytes.saturating_mul(2)
        {
            return Err(ConfigError::Invalid(format!(
                "storage.segment_bytes = {} must be at least {} and storage.max_bytes = {} at least twice it",
                s.segment_bytes,
                crate::pipeline::wal::MIN_SEGMENT_BYTES,
                s.max_bytes
            )));
        }
        if s.group_commit_wait_ms > 1000 {
            return Err(ConfigError::Invalid(format!(
                "storage.group_commit_wait_ms = {}: at most 1000 (every durable ACK may wait this long)",
                s.group_commit_wait_ms
            )));
        }
        if s.retention.is_zero() {
            return Err(ConfigError::Invalid(
                "storage.retention = 0s: must be positive".into(),
            ));
        }
        if s.dir.as_os_str().is_empty() {
            return Err(ConfigError::Invalid("storage.dir is empty".into()));
        }
        Ok(())
    }

    fn validate_devices(&self) -> Result<(), ConfigError> {
        let d = &self.devices;
        if d.offline_after_secs == 0 {
            return Err(ConfigError::Invalid(
                "devices.offline_after_secs must be at least 1".into(),
            ));
        }
        if d.max_future_secs == 0 {
            return Err(ConfigError::Invalid(
                "devices.max_future_secs must be at least 1 (device clocks drift)".into(),
            ));
        }
        let mut ids = std::collections::HashSet::new();
        for k in &d.keys {
            let canonical = crate::model::device_id::canonical_str(&k.id);
            if k.id.is_empty() || !ids.insert(canonical.to_string()) {
                return Err(ConfigError::Invalid(format!(
                    "devices.keys: id {:?} is empty or listed twice",
                    k.id
                )));
            }
            if k.peer_cidrs.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "devices.keys: id {:?} lists no peer_cidrs (it could never connect)",
                    k.id
                )));
            }
        }
        if d.forget_after < Duration::from_secs(d.offline_after_secs) {
            return Err(ConfigError::Invalid(format!(
                "devices.forget_after = {:?}: must not be shorter than devices.offline_after_secs = {}",
                d.forget_after, d.offline_after_secs
            )));
        }
        Ok(())
    }

    /// The effective table of a protocol (its own, or the defaults).
    pub fn protocol(&self, name: &str) -> ProtocolConfig {
        self.protocols.get(name).cloned().unwrap_or_default()
    }

    /// Offline threshold as a duration.
    pub fn offline_after(&self) -> Duration {
        Duration::from_secs(self.devices.offline_after_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_file() {
        let c = Config::from_toml("").unwrap();
        assert_eq!(c.http.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.devices.allow, Allow::All);
        assert_eq!(c.protocol("gt06").checksum, ChecksumPolicy::Verify);
    }

    #[test]
    fn unknown_key_is_named() {
        let e = Config::from_toml("[http]\nlisten = \"127.0.0.1:1\"\nlisen = 1\n").unwrap_err();
        assert!(e.to_string().contains("lisen"), "{e}");
        let e =
            Config::from_toml("[protocols.gt06]\nchecksum = \"verify\"\nbogus = 1\n").unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
    }

    #[test]
    fn influx_and_mqtt_sections_are_optional() {
        let c = Config::from_toml("").unwrap();
        assert!(c.influx.is_none() && c.mqtt.is_none());
        let c = Config::from_toml(
            "[influx]\nurl = \"http://127.0.0.1:8086\"\n[mqtt]\nurl = \"mqtt://127.0.0.1:1883\"\n",
        )
        .unwrap();
        assert_eq!(c.influx.unwrap().database, "trackgate");
        assert_eq!(c.mqtt.unwrap().topic_prefix, "trackgate");
        assert!(Config::from_toml("[mqtt]\nurl = \"tcp://x\"\n").is_err());
    }

    #[test]
    fn durations_parse() {
        assert_eq!(
            crate::duration_text::parse("7d").unwrap(),
            Duration::from_secs(604_800)
        );
        assert_eq!(
            crate::duration_text::parse("250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(
            crate::duration_text::parse("90").unwrap(),
            Duration::from_secs(90)
        );
        assert!(crate::duration_text::parse("7 weeks").is_err());
        let c = Config::from_toml("[storage]\nretention = \"12h\"\n").unwrap();
        assert_eq!(c.storage.retention, Duration::from_secs(43_200));
    }

    #[test]
    fn every_section_is_validated_at_start_naming_the_key() {
        for (toml, key) in [
            (
                "[tracking]\npace_min = 3.0\npace_max = 2.0\n",
                "tracking.pace_min",
            ),
            ("[webhooks]\ntimeout = \"0s\"\n", "webhooks.timeout"),
            (
                "[devices]\noffline_after_secs = 0\n",
                "devices.offline_after_secs",
            ),
            ("[devices]\nforget_after = \"1m\"\n", "devices.forget_after"),
            (
                "[storage]\ngroup_commit_wait_ms = 5000\n",
                "storage.group_commit_wait_ms",
            ),
            ("[pipeline]\ndrain_secs = 0\n", "pipeline.drain_secs"),
            (
                "[events]\ngeofence_confirm_fixes = 0\n",
                "events.geofence_confirm_fixes",
            ),
            ("[mqtt]\nkeep_alive_secs = 1\n", "mqtt.keep_alive_secs"),
            (
                "[http]\ncors_origins = [\"not an origin\"]\n",
                "http.cors_origins",
            ),
        ] {
            let e = Config::from_toml(toml).expect_err(toml).to_string();
            assert!(e.contains(key), "{toml}: {e}");
        }
    }

    #[test]
    fn device_security_keys_parse_with_defaults_and_are_validated() {
        let c = Config::from_toml("").unwrap();
        let (d, p) = (&c.devices, c.protocol("gt06"));
        assert_eq!((d.takeover, d.max_future_secs), (Takeover::Replace, 300));
        assert!(d.keys.is_empty());
        assert_eq!(
            (
                p.identify_timeout_secs,
                p.max_bad_frames,
                p.max_connections_per_ip,
                p.new_connections_per_ip_per_sec,
                p.multi_terminal
            ),
            (30, 16, 256, 32, false)
        );
        let c = Config::from_toml(
            "[devices]\ntakeover = \"reject\"\nmax_future_secs = 60\n\
             [[devices.keys]]\nid = \"864717003283581\"\npeer_cidrs = [\"10.64.0.0/10\", \"2001:db8::1\"]\n\
             [protocols.jt808]\nmulti_terminal = true\nidentify_timeout_secs = 5\nmax_bad_frames = 2\n\
             max_connections_per_ip = 3\nnew_connections_per_ip_per_sec = 4\n",
        )
        .unwrap();
        assert_eq!(c.devices.takeover, Takeover::Reject);
        assert_eq!(c.devices.keys[0].peer_cidrs.len(), 2);
        let j = c.protocol("jt808");
        assert!(j.multi_terminal && j.identify_timeout_secs == 5 && j.max_bad_frames == 2);
        for (bad, key) in [
            ("[devices]\ntakeover = \"steal\"\n", "takeover"),
            ("[devices]\nmax_future_secs = 0\n", "max_future_secs"),
            ("[[devices.keys]]\nid = \"1\"\npeer_cidrs = [\"10.0.0.0/33\"]\n", "10.0.0.0/33"),
            ("[[devices.keys]]\nid = \"1\"\npeer_cidrs = []\n", "peer_cidrs"),
            ("[[devices.keys]]\nid = \"01\"\npeer_cidrs = [\"10.0.0.1\"]\n[[devices.keys]]\nid = \"1\"\npeer_cidrs = [\"10.0.0.2\"]\n", "twice"),
            ("[protocols.gt06]\nidentify_timeout_secs = 0\n", "identify_timeout_secs"),
            ("[protocols.gt06]\nmax_bad_frames = 0\n", "max_bad_frames"),
            ("[protocols.gt06]\nmax_connections_per_ip = 0\n", "max_connections_per_ip"),
            ("[protocols.gt06]\nnew_connections_per_ip_per_sec = 0\n", "new_connections_per_ip_per_sec"),
        ] {
            let e = Config::from_toml(bad).unwrap_err().to_string();
            assert!(e.contains(key), "{bad}: {e}");
        }
    }

    #[test]
    fn unknown_protocol_is_named() {
        let e = Config::from_toml("[protocols.nope]\n").unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
    }

    #[test]
    fn allow_list_and_checksum_policy() {
        let c = Config::from_toml(
            "[devices]\nallow = [\"864717003283581\"]\n[protocols.gt06]\nchecksum = \"ignore\"\n",
        )
        .unwrap();
        assert_eq!(c.devices.allow, Allow::List(vec!["864717003283581".into()]));
        assert_eq!(c.protocol("gt06").checksum, ChecksumPolicy::Ignore);
        assert!(Config::from_toml("[devices]\nallow = \"some\"\n").is_err());
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn env_overrides_nested_keys() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("TRACKGATE_HTTP__LISTEN", "127.0.0.1:9999");
            jail.set_env("TRACKGATE_PROTOCOLS__GT06__LISTEN", "127.0.0.1:15023");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.http.listen.to_string(), "127.0.0.1:9999");
            assert_eq!(
                c.protocol("gt06").listen.unwrap().to_string(),
                "127.0.0.1:15023"
            );
            jail.set_env("TRACKGATE_HTTP__NOPE", "1");
            let e = Config::load(None).unwrap_err().to_string();
            assert!(e.contains("nope"), "{e}");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn kubernetes_service_variables_are_not_configuration() {
        figment::Jail::expect_with(|jail| {
            // What a Service named `trackgate` puts into every pod of its namespace.
            jail.set_env("TRACKGATE_PORT", "tcp://10.96.0.12:8080");
            jail.set_env("TRACKGATE_PORT_8080_TCP_ADDR", "10.96.0.12");
            jail.set_env("TRACKGATE_SERVICE_HOST", "10.96.0.12");
            jail.set_env("TRACKGATE_SERVICE_PORT", "8080");
            jail.set_env("TRACKGATE_HTTP__LISTEN", "127.0.0.1:9998");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.http.listen.to_string(), "127.0.0.1:9998");
            Ok(())
        });
        let names = [
            "TRACKGATE_PORT",
            "PATH",
            "TRACKGATE_HTTP__LISTEN",
            "TRACKGATE_SERVICE_HOST",
        ];
        assert_eq!(
            ignored_env(names.iter().map(std::ffi::OsString::from)),
            ["TRACKGATE_PORT", "TRACKGATE_SERVICE_HOST"]
        );
    }
}
