//! Admission: which device ids may connect (`devices.allow`).

use crate::model::{device_id::canonical_str, DeviceId};
use crate::telemetry::{Metrics, ProtoLabel};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Which devices may connect.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Allow {
    /// Any device that identifies itself is accepted (what most fleets expect).
    #[default]
    All,
    /// Only these ids (compared after stripping zero padding of all-digit ids).
    List(Vec<String>),
}

impl Serialize for Allow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Allow::All => s.serialize_str("all"),
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
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "devices.allow must be \"all\" or a list of device ids, got {w:?}"
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

/// Who may connect (`devices.allow`), and the log-once memory of who was refused.
///
/// Installers need to see a refused device's id to fix the allow list, but a device retries
/// every few seconds: each refused id is logged once (then only counted).
pub struct Admission {
    allowed: Option<HashSet<String>>,
    logged: Mutex<HashSet<DeviceId>>,
    metrics: Arc<Metrics>,
}

/// Most refused ids remembered for log-once; past it, refusals are logged again.
const MAX_REMEMBERED: usize = 100_000;

impl Admission {
    /// From the configured policy.
    pub fn new(allow: &Allow, metrics: Arc<Metrics>) -> Self {
        let allowed = match allow {
            Allow::All => None,
            Allow::List(l) => Some(l.iter().map(|s| canonical_str(s).to_string()).collect()),
        };
        Admission {
            allowed,
            logged: Mutex::new(HashSet::new()),
            metrics,
        }
    }

    /// True if `id` may connect; counts and (once) logs a refusal.
    pub fn admits(&self, protocol: &'static str, id: &DeviceId) -> bool {
        let ok = match &self.allowed {
            None => true,
            Some(set) => set.contains(id.canonical()),
        };
        if !ok {
            self.metrics
                .ingest
                .devices_refused
                .get_or_create(&ProtoLabel { protocol })
                .inc();
            let mut logged = self.logged.lock().unwrap_or_else(|e| e.into_inner());
            if logged.len() >= MAX_REMEMBERED {
                logged.clear();
            }
            if logged.insert(id.clone()) {
                tracing::warn!(protocol, device = %id, "device refused: not in devices.allow");
            }
        }
        ok
    }
}
