//! Device sessions: who is on a connection, and whether they may be.
//!
//! A connection starts `Unidentified`. The first frame whose [`Decoded::identity`] names a
//! device runs admission; an admitted device makes the session `Identified` and registers the
//! connection in live state (so the device shows online); a refused one gets the protocol's
//! refusal and the connection closes. A later frame naming a *different* device (JT/T 808
//! carries the id in every header) runs admission again and moves the session.
//!
//! [`Decoded::identity`]: crate::protocol::Decoded::identity

mod admission;

pub use admission::{Admission, Allow};

use crate::model::DeviceId;
use crate::state::LiveState;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Where a connection is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionState {
    /// Nothing has identified the device yet.
    Unidentified,
    /// The device identified itself and was admitted.
    Identified(DeviceId),
}

/// Outcome of a frame's identity claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentifyOutcome {
    /// Same device as before: nothing to do.
    Unchanged,
    /// Newly identified (or moved to another id): admitted.
    Admitted,
    /// Not allowed: send the refusal and close.
    Refused,
}

/// One connection's session.
pub struct Session {
    protocol: &'static str,
    state: SessionState,
    live: Arc<LiveState>,
    admission: Arc<Admission>,
}

impl Session {
    /// A new, unidentified session.
    pub fn new(protocol: &'static str, live: Arc<LiveState>, admission: Arc<Admission>) -> Self {
        Session {
            protocol,
            state: SessionState::Unidentified,
            live,
            admission,
        }
    }

    /// The admitted device, if any.
    pub fn device(&self) -> Option<&DeviceId> {
        match &self.state {
            SessionState::Identified(d) => Some(d),
            SessionState::Unidentified => None,
        }
    }

    /// Handles a frame's identity claim.
    pub fn identify(&mut self, id: &DeviceId, now: DateTime<Utc>) -> IdentifyOutcome {
        if self.device() == Some(id) {
            return IdentifyOutcome::Unchanged;
        }
        if !self.admission.admits(self.protocol, id) {
            return IdentifyOutcome::Refused;
        }
        if let SessionState::Identified(old) = &self.state {
            self.live.disconnected(old);
        }
        self.live.connected(id, self.protocol, now);
        self.state = SessionState::Identified(id.clone());
        IdentifyOutcome::Admitted
    }

    /// Records traffic from the identified device.
    pub fn seen(&self, now: DateTime<Utc>) {
        if let Some(d) = self.device() {
            self.live.touch(d, self.protocol, now);
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let SessionState::Identified(d) = &self.state {
            self.live.disconnected(d);
        }
    }
}
