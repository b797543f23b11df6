//! Prometheus counters of the command queue: `trackgate_commands_total{protocol, status}`
//! counts each transition (`queued`, `sent`, `acknowledged`, `failed`, `cancelled`), so a
//! dashboard shows commands waiting (queued − sent − cancelled) and devices refusing them.
//! Expiry is applied lazily when the queue is read and is not counted here.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// Label set of `trackgate_commands_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CommandLabels {
    /// The device's protocol.
    pub protocol: String,
    /// The status the command moved to.
    pub status: &'static str,
}

/// Shared counters (cheap to clone).
#[derive(Clone, Debug, Default)]
pub struct CommandMetrics {
    /// Transitions by protocol and new status.
    pub transitions: Family<CommandLabels, Counter>,
}

impl CommandMetrics {
    /// Registers everything under `r` (use a `trackgate` sub-registry).
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "commands",
            "Downlink command transitions by protocol and new status",
            self.transitions.clone(),
        );
    }

    /// Counts one command of `protocol` moving to `status`.
    pub fn count(&self, protocol: &str, status: &'static str) {
        self.transitions
            .get_or_create(&CommandLabels {
                protocol: protocol.to_string(),
                status,
            })
            .inc();
    }
}
