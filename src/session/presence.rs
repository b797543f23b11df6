//! Who holds each device: the one connection (TCP stream or UDP peer) that speaks for an id,
//! and what happens when a second one claims it (`devices.takeover`).
//!
//! Two connections speaking for one vehicle are either a tracker that reconnected before its
//! old socket timed out (common: a cell handover leaves the old TCP connection half-open for
//! minutes) or someone else using its IMEI. `replace` (the default) serves the first case:
//! the newcomer wins and the old connection is closed at once; `reject` refuses the newcomer
//! while the holder is connected (for fleets where a device's IMEI must not move). Either
//! way the takeover is counted, logged with both peer addresses and shown on the device.
//!
//! HTTP requests and MQTT messages are not connections: they never hold a device and never
//! take one over.

use crate::model::DeviceId;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// `devices.takeover`: what a second connection claiming an online device id gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Takeover {
    /// The newcomer wins; the old connection is closed. The default: real trackers reconnect
    /// before the old socket times out.
    #[default]
    Replace,
    /// The newcomer is refused while the holder is connected.
    Reject,
}

impl Takeover {
    /// The config word, also the `policy` label of `trackgate_device_takeovers_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            Takeover::Replace => "replace",
            Takeover::Reject => "reject",
        }
    }
}

/// One connection as the presence table knows it.
#[derive(Clone, Debug)]
pub struct Link {
    /// Unique per connection for the life of the process.
    pub id: u64,
    /// The remote address, for logs.
    pub peer: SocketAddr,
    /// Cancelled to close the connection (its task selects on it).
    pub close: CancellationToken,
}

/// What a claim found.
#[derive(Debug, PartialEq, Eq)]
pub enum Claimed {
    /// Nobody else held the id (or this connection already did).
    Free,
    /// Another connection held it and was told to close (`replace`); its peer.
    Replaced(SocketAddr),
    /// Another connection holds it and keeps it (`reject`); its peer.
    Held(SocketAddr),
}

/// The holder of every device id held by a connection.
pub struct Presence {
    policy: Takeover,
    holders: Mutex<HashMap<DeviceId, Link>>,
    next: AtomicU64,
}

impl Presence {
    /// An empty table applying `policy`.
    pub fn new(policy: Takeover) -> Self {
        Presence {
            policy,
            holders: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
        }
    }

    /// The configured policy.
    pub fn policy(&self) -> Takeover {
        self.policy
    }

    /// A link for a new connection from `peer`, closed through `close`.
    pub fn link(&self, peer: SocketAddr, close: CancellationToken) -> Link {
        Link {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            peer,
            close,
        }
    }

    /// `link` claims `id`. Under `replace` a previous holder is cancelled and replaced; under
    /// `reject` it stays and the claim fails.
    pub fn claim(&self, id: &DeviceId, link: &Link) -> Claimed {
        let mut h = self.holders.lock().unwrap_or_else(|e| e.into_inner());
        match h.get(id) {
            Some(old) if old.id != link.id => match self.policy {
                Takeover::Reject => Claimed::Held(old.peer),
                Takeover::Replace => {
                    old.close.cancel();
                    let peer = old.peer;
                    h.insert(id.clone(), link.clone());
                    Claimed::Replaced(peer)
                }
            },
            Some(_) => Claimed::Free,
            None => {
                h.insert(id.clone(), link.clone());
                Claimed::Free
            }
        }
    }

    /// `link` lets go of `id` (its connection ended); a no-op when someone took it over.
    pub fn release(&self, id: &DeviceId, link: &Link) {
        let mut h = self.holders.lock().unwrap_or_else(|e| e.into_inner());
        if h.get(id).is_some_and(|l| l.id == link.id) {
            h.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(policy: Takeover) -> (Presence, Link, Link, DeviceId) {
        let p = Presence::new(policy);
        let a = p.link("10.0.0.1:1000".parse().unwrap(), CancellationToken::new());
        let b = p.link("10.0.0.2:2000".parse().unwrap(), CancellationToken::new());
        (p, a, b, DeviceId::new("864717003283581").unwrap())
    }

    #[test]
    fn replace_cancels_the_old_holder_and_its_late_release_is_ignored() {
        let (p, a, b, id) = setup(Takeover::Replace);
        assert_eq!(p.claim(&id, &a), Claimed::Free);
        assert_eq!(p.claim(&id, &a), Claimed::Free, "same connection again");
        assert_eq!(p.claim(&id, &b), Claimed::Replaced(a.peer));
        assert!(a.close.is_cancelled() && !b.close.is_cancelled());
        p.release(&id, &a);
        let c = p.link("10.0.0.3:3000".parse().unwrap(), CancellationToken::new());
        assert_eq!(
            p.claim(&id, &c),
            Claimed::Replaced(b.peer),
            "b still held it"
        );
    }

    #[test]
    fn reject_keeps_the_holder_until_it_lets_go() {
        let (p, a, b, id) = setup(Takeover::Reject);
        assert_eq!(p.claim(&id, &a), Claimed::Free);
        assert_eq!(p.claim(&id, &b), Claimed::Held(a.peer));
        assert!(!a.close.is_cancelled());
        p.release(&id, &a);
        assert_eq!(p.claim(&id, &b), Claimed::Free);
    }
}
