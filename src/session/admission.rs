//! Admission: which device ids may connect (`devices.allow`), and from where
//! (`[[devices.keys]]`).

use super::log_once::LogOnce;
use crate::model::{device_id::canonical_str, DeviceId};
use crate::telemetry::{Metrics, ProtoLabel};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

/// Which devices may connect.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Allow {
    /// Any device that identifies itself is accepted (what most fleets expect).
    #[default]
    All,
    /// Only these ids (compared after stripping zero padding of all-digit ids).
    List(Vec<String>),
    /// `"registered"`: only ids in the device registry (`/api/devices`, `trackgate devices
    /// import`), looked up at every claim, so registering or forgetting a device takes
    /// effect without a restart.
    Registered,
}

/// The registered ids, for `devices.allow = "registered"` (the device registry; admission
/// only asks, so the session does not depend on where they are kept).
pub trait KnownDevices: Send + Sync {
    /// Whether `id` (compared by its canonical form) is registered.
    fn is_registered(&self, id: &DeviceId) -> bool;
}

impl Serialize for Allow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Allow::All => s.serialize_str("all"),
            Allow::Registered => s.serialize_str("registered"),
            Allow::List(l) => l.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Allow {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            List(Vec<serde_json::Value>),
        }
        match Raw::deserialize(d)? {
            Raw::Word(w) if w == "all" => Ok(Allow::All),
            Raw::Word(w) if w == "registered" => Ok(Allow::Registered),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "devices.allow must be \"all\", \"registered\" or a list of device ids, got {w:?}"
            ))),
            // Env values like `[864717003283581]` parse as numbers; ids are text.
            Raw::List(l) => Ok(Allow::List(
                l.into_iter()
                    .map(|v| match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    })
                    .collect(),
            )),
        }
    }
}

/// `[[devices.keys]]`: a device id that is accepted only from the listed source ranges.
///
/// For protocols that carry no secret of their own (most of them: the IMEI is the whole
/// identity), fleets on an APN or a private network pin each id to the addresses its SIMs
/// get; anyone else naming that id is refused like a device not in `devices.allow`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceKey {
    /// The device id (compared after stripping zero padding of all-digit ids).
    pub id: String,
    /// Source ranges (`"10.64.0.0/10"`, `"2001:db8::/32"`; a bare address is one host) the
    /// device may connect from. At least one.
    #[serde(with = "cidrs")]
    pub peer_cidrs: Vec<IpNet>,
}

/// `peer_cidrs` as text: CIDR ranges or bare addresses, each error naming the value.
mod cidrs {
    use ipnet::IpNet;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::net::IpAddr;

    pub fn serialize<S: Serializer>(v: &[IpNet], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|n| n.to_string()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|t| {
                t.parse::<IpNet>()
                    .or_else(|_| t.parse::<IpAddr>().map(IpNet::from))
                    .map(|n| n.trunc())
                    .map_err(|_| {
                        serde::de::Error::custom(format!(
                            "peer_cidrs: {t:?} is not a range like 10.64.0.0/10 or an address"
                        ))
                    })
            })
            .collect()
    }
}

/// Who may connect (`devices.allow`, `[[devices.keys]]`), and the log-once memory of who was
/// refused.
///
/// Installers need to see a refused device's id to fix the allow list, but a device retries
/// every few seconds: each refused id is logged once (then only counted).
pub struct Admission {
    allowed: Option<HashSet<String>>,
    /// `devices.allow = "registered"`: the registry to ask (none attached: nobody is
    /// admitted, the safe side of a wiring mistake).
    registered_only: bool,
    known: Option<Arc<dyn KnownDevices>>,
    /// Canonical id → the ranges it may connect from.
    keys: HashMap<String, Vec<IpNet>>,
    logged: LogOnce,
    logged_peer: LogOnce,
    metrics: Arc<Metrics>,
}

impl Admission {
    /// From the configured policy.
    pub fn new(allow: &Allow, keys: &[DeviceKey], metrics: Arc<Metrics>) -> Self {
        let allowed = match allow {
            Allow::All | Allow::Registered => None,
            Allow::List(l) => Some(l.iter().map(|s| canonical_str(s).to_string()).collect()),
        };
        Admission {
            allowed,
            registered_only: *allow == Allow::Registered,
            known: None,
            keys: keys
                .iter()
                .map(|k| (canonical_str(&k.id).to_string(), k.peer_cidrs.clone()))
                .collect(),
            logged: LogOnce::default(),
            logged_peer: LogOnce::default(),
            metrics,
        }
    }

    /// Attaches the device registry `devices.allow = "registered"` reads.
    pub fn with_registry(mut self, known: Arc<dyn KnownDevices>) -> Self {
        self.known = Some(known);
        self
    }

    /// True if `id` may connect from `peer` (`None`: the source is unknown, as for MQTT
    /// devices behind a broker); counts and (once per id) logs a refusal.
    pub fn admits(&self, protocol: &'static str, id: &DeviceId, peer: Option<IpAddr>) -> bool {
        let label = ProtoLabel { protocol };
        let allowed = match &self.allowed {
            None => true,
            Some(set) => set.contains(id.canonical()),
        };
        let registered =
            !self.registered_only || self.known.as_ref().is_some_and(|k| k.is_registered(id));
        if !registered {
            self.metrics
                .ingest
                .devices_refused
                .get_or_create(&label)
                .inc();
            if self.logged.first(id) {
                tracing::warn!(protocol, device = %id, "device refused: not registered (devices.allow = \"registered\")");
            }
            return false;
        }
        if !allowed {
            self.metrics
                .ingest
                .devices_refused
                .get_or_create(&label)
                .inc();
            if self.logged.first(id) {
                tracing::warn!(protocol, device = %id, "device refused: not in devices.allow");
            }
            return false;
        }
        let Some(ranges) = self.keys.get(id.canonical()) else {
            return true;
        };
        // A listener on `[::]` sees IPv4 peers as `::ffff:a.b.c.d`.
        let peer = peer.map(|p| p.to_canonical());
        if peer.is_some_and(|p| ranges.iter().any(|r| r.contains(&p))) {
            return true;
        }
        self.metrics
            .ingest
            .devices_refused_peer
            .get_or_create(&label)
            .inc();
        if self.logged_peer.first(id) {
            let peer = peer.map_or_else(|| "unknown".to_string(), |p| p.to_string());
            tracing::warn!(protocol, device = %id, peer, "device refused: source address outside its devices.keys peer_cidrs");
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(allow: Allow, keys: &[DeviceKey]) -> (Admission, Arc<Metrics>) {
        let m = Arc::new(Metrics::new());
        (Admission::new(&allow, keys, m.clone()), m)
    }

    #[test]
    fn keys_pin_an_id_to_its_ranges_and_leave_others_alone() {
        let key = DeviceKey {
            id: "0864717003283581".into(),
            peer_cidrs: vec![
                "10.64.0.0/10".parse().unwrap(),
                "2001:db8::1/128".parse().unwrap(),
            ],
        };
        let (a, m) = admission(Allow::All, &[key]);
        let pinned = DeviceId::new("864717003283581").unwrap();
        let other = DeviceId::new("1").unwrap();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert!(a.admits("gt06", &pinned, ip("10.64.1.2")));
        assert!(
            a.admits("gt06", &pinned, ip("::ffff:10.127.0.1")),
            "v4-mapped"
        );
        assert!(a.admits("gt06", &pinned, ip("2001:db8::1")));
        assert!(!a.admits("gt06", &pinned, ip("10.128.0.1")));
        assert!(!a.admits("gt06", &pinned, ip("127.0.0.1")));
        assert!(!a.admits("gt06", &pinned, None), "unknown source");
        assert!(a.admits("gt06", &other, ip("192.0.2.1")));
        assert!(m
            .encode()
            .contains("trackgate_devices_refused_peer_total{protocol=\"gt06\"} 3"));
    }

    struct Known(Vec<&'static str>);
    impl KnownDevices for Known {
        fn is_registered(&self, id: &DeviceId) -> bool {
            self.0.contains(&id.canonical())
        }
    }

    #[test]
    fn registered_admits_only_what_the_registry_knows_and_nothing_without_one() {
        let (a, m) = admission(Allow::Registered, &[]);
        let id = DeviceId::new("0864717003283581").unwrap();
        assert!(!a.admits("gt06", &id, None), "no registry attached");
        let a = a.with_registry(Arc::new(Known(vec!["864717003283581"])));
        assert!(a.admits("gt06", &id, None));
        assert!(!a.admits("gt06", &DeviceId::new("2").unwrap(), None));
        assert!(m
            .encode()
            .contains("trackgate_devices_refused_total{protocol=\"gt06\"} 2"));
        let toml: Allow = serde_json::from_str("\"registered\"").unwrap();
        assert_eq!(toml, Allow::Registered);
        assert_eq!(serde_json::to_string(&toml).unwrap(), "\"registered\"");
    }

    #[test]
    fn allow_list_compares_canonical_ids() {
        let (a, _) = admission(Allow::List(vec!["012076463279".into()]), &[]);
        assert!(a.admits("jt808", &DeviceId::new("12076463279").unwrap(), None));
        assert!(!a.admits("jt808", &DeviceId::new("2").unwrap(), None));
    }
}
