use crate::config::Allow;
use crate::model::{device_id::canonical_str, DeviceId};
use crate::telemetry::{Metrics, ProtoLabel};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

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
