//! Device sessions: who is on a connection, whether they may be, and what they proved.
//!
//! A connection starts unidentified. A frame whose [`Decoded::identity`] names a device
//! *claims* that id for the connection:
//! - admission first: `devices.allow` and the id's `[[devices.keys]]` source ranges
//!   ([`Admission`]); refused → the protocol's refusal, and the connection closes;
//! - one id per connection: a frame naming a second id is refused (the connection and its
//!   first device stay) unless the protocol's `multi_terminal` is set (gateways that multiplex
//!   terminals over one socket);
//! - a protocol with device credentials (JT/T 808, [`Decoder::requires_credential`]) proves
//!   the id with its code first ([`DeviceCodes`]): a registration is answered with the code,
//!   an authentication checked against it, anything else before a good authentication
//!   refused;
//! - then the connection takes the id ([`Presence`]): a second connection for an id already
//!   online replaces or is refused per `devices.takeover`; the device shows online in live
//!   state.
//!
//! Fix times are checked per frame by [`FixTimes`]. HTTP requests and MQTT messages get a
//! one-frame session without a link: admission and fix times apply, takeover does not.
//!
//! [`Decoded::identity`]: crate::protocol::Decoded::identity
//! [`Decoder::requires_credential`]: crate::protocol::Decoder::requires_credential

mod admission;
mod codes;
mod fix_time;
mod log_once;
mod presence;

pub use admission::{Admission, Allow, DeviceKey, KnownDevices};
pub use codes::{CodesError, DeviceCodes, Registered};
pub use fix_time::{BadTime, Dropped, FixTimes};
pub use presence::{Claimed, Link, Presence, Takeover};

use crate::model::DeviceId;
use crate::protocol::{Credential, RegisterAnswer};
use crate::state::LiveState;
use crate::telemetry::{Metrics, ProtoLabel, ProtoReasonLabel, TakeoverLabel};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What every session of the process shares: the device policies and the stores they read.
pub struct Gate {
    /// Live device state (online, connections, takeovers).
    pub live: Arc<LiveState>,
    /// `devices.allow` and `[[devices.keys]]`.
    pub admission: Admission,
    /// Which connection holds which id (`devices.takeover`).
    pub presence: Presence,
    /// Issued authentication codes.
    pub codes: DeviceCodes,
    /// `devices.max_future_secs`.
    pub fix_times: FixTimes,
    metrics: Arc<Metrics>,
}

impl Gate {
    /// Assembles the shared parts.
    pub fn new(
        live: Arc<LiveState>,
        admission: Admission,
        presence: Presence,
        codes: DeviceCodes,
        fix_times: FixTimes,
        metrics: Arc<Metrics>,
    ) -> Self {
        Gate {
            live,
            admission,
            presence,
            codes,
            fix_times,
            metrics,
        }
    }

    fn auth_failure(&self, protocol: &'static str, reason: &'static str) {
        self.metrics
            .ingest
            .auth_failures
            .get_or_create(&ProtoReasonLabel { protocol, reason })
            .inc();
    }
}

/// What a frame's identity (and credential) claim leads to.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The connection's device as before: go on with the frame.
    Unchanged,
    /// Newly identified on this connection: go on with the frame.
    Admitted,
    /// A registration, answered with these bytes (the code); nothing else to do.
    Registered(Option<Bytes>),
    /// A registration refused because the terminal's code has authenticated before: answer,
    /// keep the connection (the terminal authenticates with the code it holds).
    RegistrationRefused(Option<Bytes>),
    /// This frame is refused (a second device id); the connection and its device stay.
    Reject,
    /// Refused: answer the frame's refusal and close the connection.
    Refuse,
}

/// One id claimed on this connection.
struct Claim {
    id: DeviceId,
    /// Admitted, authenticated where required, and holding the id (online).
    proven: bool,
}

/// One connection's (or one message's) session.
pub struct Session {
    protocol: &'static str,
    gate: Arc<Gate>,
    /// The connection, for takeover; `None` for HTTP requests and MQTT messages.
    link: Option<Link>,
    peer_ip: Option<IpAddr>,
    /// `multi_terminal`: more than one id may be claimed.
    multi: bool,
    claims: Vec<Claim>,
    /// The proven claim the last identifying frame named.
    current: Option<usize>,
}

impl Session {
    /// The session of a TCP connection or UDP peer from `peer`, closed through `close` when
    /// another connection takes its device over.
    pub fn connection(
        protocol: &'static str,
        gate: Arc<Gate>,
        peer: SocketAddr,
        close: CancellationToken,
        multi_terminal: bool,
    ) -> Self {
        let link = gate.presence.link(peer, close);
        Session {
            protocol,
            gate,
            link: Some(link),
            peer_ip: Some(peer.ip()),
            multi: multi_terminal,
            claims: Vec::new(),
            current: None,
        }
    }

    /// The session of one HTTP request or MQTT message (`peer`: the source address when
    /// known).
    pub fn message(protocol: &'static str, gate: Arc<Gate>, peer: Option<IpAddr>) -> Self {
        Session {
            protocol,
            gate,
            link: None,
            peer_ip: peer,
            multi: false,
            claims: Vec::new(),
            current: None,
        }
    }

    /// The device the last identifying frame named, once proven.
    pub fn device(&self) -> Option<&DeviceId> {
        self.current.map(|i| &self.claims[i].id)
    }

    /// What every frame shares: the gate.
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// Handles a frame's claim to be `id`, with the `credential` it carried; `required`: the
    /// protocol wants a credential before anything else (see the module doc).
    pub async fn claim(
        &mut self,
        id: &DeviceId,
        credential: Option<Credential>,
        required: bool,
        now: DateTime<Utc>,
    ) -> Result<Verdict, CodesError> {
        let idx = match self.claims.iter().position(|c| &c.id == id) {
            Some(i) => i,
            None => {
                if !self.claims.is_empty() && !self.multi {
                    return Ok(self.second_id(id));
                }
                if !self.gate.admission.admits(self.protocol, id, self.peer_ip) {
                    return Ok(Verdict::Refuse);
                }
                self.claims.push(Claim {
                    id: id.clone(),
                    proven: false,
                });
                self.claims.len() - 1
            }
        };
        match credential {
            Some(Credential::Register { reply }) => self.register(id, reply).await,
            Some(Credential::Authenticate { code }) => {
                if !self.gate.codes.authenticate(id, &code).await? {
                    self.gate.auth_failure(self.protocol, "wrong_code");
                    tracing::warn!(protocol = self.protocol, device = %id, peer = ?self.peer_ip, "authentication refused: not the code issued to this terminal");
                    return Ok(Verdict::Refuse);
                }
                Ok(self.prove(idx, now))
            }
            None if self.claims[idx].proven => {
                self.current = Some(idx);
                Ok(Verdict::Unchanged)
            }
            None if required => {
                self.gate.auth_failure(self.protocol, "not_authenticated");
                tracing::debug!(protocol = self.protocol, device = %id, "frame refused: the terminal has not authenticated");
                Ok(Verdict::Refuse)
            }
            None => Ok(self.prove(idx, now)),
        }
    }

    fn second_id(&self, id: &DeviceId) -> Verdict {
        self.gate
            .metrics
            .ingest
            .second_terminals
            .get_or_create(&ProtoLabel {
                protocol: self.protocol,
            })
            .inc();
        tracing::warn!(
            protocol = self.protocol,
            device = %id,
            first = %self.claims[0].id,
            peer = ?self.peer_ip,
            "frame refused: a second device id on one connection (multi_terminal is off)"
        );
        Verdict::Reject
    }

    async fn register(
        &mut self,
        id: &DeviceId,
        reply: Box<dyn FnOnce(RegisterAnswer<'_>) -> Option<Bytes> + Send>,
    ) -> Result<Verdict, CodesError> {
        match self.gate.codes.register(self.protocol, id).await? {
            Registered::Issued(code) => {
                tracing::info!(protocol = self.protocol, device = %id, "terminal registered: code issued");
                Ok(Verdict::Registered(reply(RegisterAnswer::Issued(
                    code.as_bytes(),
                ))))
            }
            Registered::Taken => {
                self.gate.auth_failure(self.protocol, "already_registered");
                tracing::warn!(protocol = self.protocol, device = %id, peer = ?self.peer_ip, "registration refused: this terminal registered and authenticated before");
                Ok(Verdict::RegistrationRefused(reply(
                    RegisterAnswer::AlreadyRegistered,
                )))
            }
        }
    }

    /// Claim `idx` is admitted and authenticated: the connection takes the id.
    fn prove(&mut self, idx: usize, now: DateTime<Utc>) -> Verdict {
        if self.claims[idx].proven {
            self.current = Some(idx);
            return Verdict::Unchanged;
        }
        let id = self.claims[idx].id.clone();
        if let Some(link) = &self.link {
            let policy = self.gate.presence.policy();
            let other = match self.gate.presence.claim(&id, link) {
                Claimed::Free => None,
                Claimed::Replaced(p) | Claimed::Held(p) => Some(p),
            };
            if let Some(previous) = other {
                self.gate
                    .metrics
                    .ingest
                    .takeovers
                    .get_or_create(&TakeoverLabel {
                        protocol: self.protocol,
                        policy: policy.as_str(),
                    })
                    .inc();
                self.gate.live.took_over(&id, self.protocol, now);
                tracing::warn!(
                    protocol = self.protocol,
                    device = %id,
                    peer = %link.peer,
                    previous_peer = %previous,
                    policy = policy.as_str(),
                    "device takeover: a second connection claims an online device id"
                );
                if policy == Takeover::Reject {
                    return Verdict::Refuse;
                }
            }
        }
        self.gate.live.connected(&id, self.protocol, now);
        self.claims[idx].proven = true;
        self.current = Some(idx);
        Verdict::Admitted
    }

    /// Records traffic from the identified device.
    pub fn seen(&self, now: DateTime<Utc>) {
        if let Some(d) = self.device() {
            self.gate.live.touch(d, self.protocol, now);
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        for c in self.claims.iter().filter(|c| c.proven) {
            self.gate.live.disconnected(&c.id);
            if let Some(link) = &self.link {
                self.gate.presence.release(&c.id, link);
            }
        }
    }
}

#[cfg(test)]
mod tests;
