//! Scenarios: TOML files (`simulator/scenarios/*.toml`) describing a fleet, its routes, how
//! it moves and where it sends. Every key has a named default; unknown keys are rejected.

use super::motion::MotionConfig;
use super::proto::{self, SimError};
use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The mix of a scenario without a `[mix]` table: one of each of the common kinds.
pub const DEFAULT_MIX: &[(&str, u32)] = &[("gt06", 1), ("teltonika", 1), ("jt808_2013", 1)];

/// A fleet run.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// Label printed in the progress line.
    pub name: String,
    /// Number of devices. Default 10.
    pub devices: usize,
    /// Seed of every random choice (routes, speeds, noise, gaps): same seed, same fleet.
    pub seed: u64,
    /// Time compression: simulated seconds per real second. Default 1.
    pub speedup: f64,
    /// Stop after this many real seconds (then drain). Default: none (run until Ctrl-C).
    pub duration_s: Option<f64>,
    /// Stop once this many fixes have been produced (then drain). Default: none.
    pub records: Option<u64>,
    /// Protocol mix: kind name → weight (see `trackgate-sim kinds`). Devices are assigned
    /// round-robin over the weighted list, so small fleets get every kind. Empty (the
    /// default) means [`DEFAULT_MIX`]; a scenario's table replaces it rather than merging.
    pub mix: BTreeMap<String, u32>,
    /// Leading digits of generated IMEIs (a TAC-like prefix, at most 8 digits). Default "35".
    pub imei_prefix: String,
    /// Where trucks drive.
    pub route: RouteConfig,
    /// How trucks move and how their modems behave.
    pub motion: MotionConfig,
    /// Device firmware behaviour: timeouts, retries, backoff.
    pub device: DeviceConfig,
    /// Gateway listener per target key (`gt06`, `teltonika`, `teltonika_udp`, `jt808`,
    /// `h02`, `gps103`, `wialon`; `osmand` is the gateway's OsmAnd HTTP listener; `owntracks` is the
    /// MQTT broker the gateway subscribes through). Default: 127.0.0.1 on the protocol's
    /// default port (OwnTracks: the MQTT port 1883). Loopback addresses only.
    pub targets: BTreeMap<String, SocketAddr>,
    /// The gateway's HTTP API, for creating shipments.
    pub api: ApiConfig,
    /// Progress line period, real seconds; 0 disables it. Default 1.
    pub progress_s: f64,
}

/// `[route]`: a GeoJSON file shared by the fleet, or one generated route per device.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RouteConfig {
    /// GeoJSON LineString (or Feature/FeatureCollection holding one). Relative paths are
    /// resolved against the scenario file's directory. Default: none (generate).
    pub file: Option<PathBuf>,
    /// Start of generated routes, `[lon, lat]`. Default Zürich `[8.5417, 47.3769]`.
    pub start: [f64; 2],
    /// Length of generated routes, km. Default 30.
    pub length_km: f64,
    /// Start trucks spread along the route instead of all at its start. Default true.
    pub spread: bool,
}

/// `[device]`: how the simulated firmware waits and retries.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DeviceConfig {
    /// Wait this long (real ms) for an ACK before resending. Default 10 000 (FMB default).
    pub ack_timeout_ms: u64,
    /// Resends of one frame before the connection is dropped and re-dialled. Default 2.
    pub retries: u32,
    /// First reconnect delay, real ms; doubles per failure up to `backoff_max_ms`, with
    /// ±25 % jitter so a fleet does not reconnect in lock-step. Default 500.
    pub backoff_min_ms: u64,
    /// Largest reconnect delay, real ms. Default 30 000.
    pub backoff_max_ms: u64,
    /// Fixes a device buffers during a gap; older ones are dropped (counted as generated but
    /// never sent). Default 10 000 (an FMB keeps ~ 100 k, plenty for a simulated gap).
    pub buffer_max: usize,
    /// After the run stops, how long (real s) devices may keep uploading what they buffered.
    /// Default 15.
    pub drain_s: f64,
}

/// `[api]`: optional shipment creation.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Base URL of the gateway API, loopback only. Default `http://127.0.0.1:8080`.
    pub url: String,
    /// POST one shipment per device (route + stops) so ETAs are live. A gateway without the
    /// endpoint (404) is tolerated and reported once. Default false.
    pub shipments: bool,
    /// Give some plans a twist so exceptions show: one device in four gets a schedule it
    /// cannot keep (late), one in four a planned line that leaves its road (off route); see
    /// `shipments::Twist::for_index`. Default false (every plan fair).
    pub exceptions: bool,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "default".into(),
            devices: 10,
            seed: 1,
            speedup: 1.0,
            duration_s: None,
            records: None,
            mix: BTreeMap::new(),
            imei_prefix: "35".into(),
            route: RouteConfig::default(),
            motion: MotionConfig::default(),
            device: DeviceConfig::default(),
            targets: BTreeMap::new(),
            api: ApiConfig::default(),
            progress_s: 1.0,
        }
    }
}

impl Default for RouteConfig {
    fn default() -> Self {
        RouteConfig {
            file: None,
            start: [8.5417, 47.3769],
            length_km: 30.0,
            spread: true,
        }
    }
}

impl Default for DeviceConfig {
    fn default() -> Self {
        DeviceConfig {
            ack_timeout_ms: 10_000,
            retries: 2,
            backoff_min_ms: 500,
            backoff_max_ms: 30_000,
            buffer_max: 10_000,
            drain_s: 15.0,
        }
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            url: "http://127.0.0.1:8080".into(),
            shipments: false,
            exceptions: false,
        }
    }
}

impl Scenario {
    /// Loads a scenario file over the defaults.
    pub fn load(path: &Path) -> Result<Scenario, SimError> {
        let mut s: Scenario = Figment::from(Serialized::defaults(Scenario::default()))
            .merge(Toml::file_exact(path))
            .extract()
            .map_err(|e| SimError::Config(format!("{}: {e}", path.display())))?;
        if let (Some(file), Some(dir)) = (&s.route.file, path.parent()) {
            if file.is_relative() {
                s.route.file = Some(dir.join(file));
            }
        }
        Ok(s)
    }

    /// Parses scenario TOML text over the defaults (tests, embedded scenarios).
    pub fn from_toml(text: &str) -> Result<Scenario, SimError> {
        Figment::from(Serialized::defaults(Scenario::default()))
            .merge(Toml::string(text))
            .extract()
            .map_err(|e| SimError::Config(e.to_string()))
    }

    /// Checks values once, before anything starts.
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Config(m));
        if !(self.speedup.is_finite() && self.speedup > 0.0) {
            return bad(format!("speedup must be > 0, got {}", self.speedup));
        }
        let mix = self.effective_mix();
        if mix.values().all(|&w| w == 0) {
            return bad("mix has no kind with a weight > 0".into());
        }
        for k in mix.keys() {
            if proto::kind(k).is_none() {
                let known: Vec<_> = proto::KINDS.iter().map(|k| k.name).collect();
                return bad(format!("mix: unknown kind {k:?}; known: {known:?}"));
            }
        }
        for (k, addr) in &self.targets {
            if !proto::KINDS.iter().any(|x| x.target == k) {
                return bad(format!("targets: unknown key {k:?}"));
            }
            if !addr.ip().is_loopback() {
                return bad(format!(
                    "targets.{k} = {addr}: the simulator only drives loopback gateways"
                ));
            }
        }
        if self.api.shipments {
            let url = reqwest::Url::parse(&self.api.url)
                .map_err(|e| SimError::Config(format!("api.url {:?}: {e}", self.api.url)))?;
            let host = url.host_str().unwrap_or("");
            let local = host == "localhost"
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !local {
                return bad(format!("api.url {}: loopback only", self.api.url));
            }
        }
        if self.motion.moving_interval_s <= 0.0 || self.motion.parked_interval_s <= 0.0 {
            return bad("motion intervals must be > 0".into());
        }
        if self.device.ack_timeout_ms == 0 {
            return bad("device.ack_timeout_ms must be > 0".into());
        }
        Ok(())
    }

    /// `mix`, or [`DEFAULT_MIX`] when it is empty.
    pub fn effective_mix(&self) -> BTreeMap<String, u32> {
        if self.mix.is_empty() {
            DEFAULT_MIX
                .iter()
                .map(|&(k, w)| (k.to_string(), w))
                .collect()
        } else {
            self.mix.clone()
        }
    }

    /// The kind of every device, in fleet order: round-robin over the weighted mix.
    pub fn assign_kinds(&self) -> Vec<&'static proto::Kind> {
        let mut wheel = Vec::new();
        for (name, &w) in &self.effective_mix() {
            if let Some(k) = proto::kind(name) {
                wheel.extend(std::iter::repeat_n(k, w as usize));
            }
        }
        if wheel.is_empty() {
            return Vec::new();
        }
        (0..self.devices).map(|i| wheel[i % wheel.len()]).collect()
    }

    /// The address of a target key: configured, else loopback on the default port.
    pub fn target(&self, kind: &proto::Kind) -> Option<SocketAddr> {
        self.targets
            .get(kind.target)
            .copied()
            .or_else(|| proto::default_target(kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let s = Scenario::from_toml(
            "devices = 4\nspeedup = 30.0\n[mix]\ngt06 = 1\njt808_2019 = 1\n[motion]\nnoise_m = 0.0\n",
        )
        .expect("parses");
        assert_eq!(s.devices, 4);
        assert_eq!(s.motion.noise_m, 0.0);
        assert_eq!(s.motion.moving_interval_s, 15.0, "default kept");
        // BTreeMap order: gt06, jt808_2019, then round-robin.
        let kinds: Vec<_> = s.assign_kinds().iter().map(|k| k.name).collect();
        assert_eq!(kinds, ["gt06", "jt808_2019", "gt06", "jt808_2019"]);
        s.validate().expect("valid");
    }

    #[test]
    fn rejects_unknown_keys_kinds_and_remote_targets() {
        assert!(Scenario::from_toml("devicez = 3").is_err());
        let s = Scenario::from_toml("[mix]\nh03 = 1").expect("parses");
        assert!(s.validate().is_err());
        let s = Scenario::from_toml("[targets]\ngt06 = \"10.0.0.1:5023\"").expect("parses");
        let e = s.validate().expect_err("remote target").to_string();
        assert!(e.contains("loopback"), "{e}");
        let s = Scenario::from_toml("[api]\nshipments = true\nurl = \"http://example.com\"")
            .expect("parses");
        assert!(s.validate().is_err());
    }
}
