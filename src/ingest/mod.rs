//! Sockets: one TCP listener per protocol (plus UDP where the protocol has a UDP variant).
//!
//! Each connection is one task owning a `Framed` stream with the protocol's framer, a
//! protocol decoder and a [`Session`]. Every device-controlled quantity has a ceiling: frame
//! length (`max_frame`), buffered bytes, idle time (`idle_timeout_secs`), time to identify
//! (`identify_timeout_secs`) and bad frames before it (`max_bad_frames`), connections
//! (`max_connections`, and per source address `max_connections_per_ip` and
//! `new_connections_per_ip_per_sec`, see [`limits`]) and time to write an ACK to a client
//! that does not read.
//!
//! [`Session`]: crate::session::Session

pub mod codec;
pub mod conn;
pub mod frame_handler;
pub mod http;
pub mod limits;
pub mod mqtt;
pub mod tcp;
pub mod udp;

use crate::config::ProtocolConfig;
use crate::pipeline::Pipeline;
use crate::protocol::{DecoderOptions, Protocol};
use crate::session::{Gate, Session};
use crate::state::LiveState;
use crate::telemetry::Metrics;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long writing one ACK may take before the client counts as stuck and is dropped.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// What every connection task shares.
pub struct IngestCtx {
    pub pipeline: Pipeline,
    pub live: Arc<LiveState>,
    /// Admission, device codes, takeover and fix-time policy every session applies.
    pub gate: Arc<Gate>,
    pub metrics: Arc<Metrics>,
    pub shutdown: CancellationToken,
    /// The downlink command queue; `None`: no commands are delivered.
    pub commands: Option<crate::commands::Commands>,
}

impl IngestCtx {
    /// The session of a TCP connection or UDP peer from `peer` serving `rt`, and the token
    /// that closes it: cancelled at shutdown, or when another connection takes its device
    /// over (`devices.takeover`).
    pub fn connection_session(
        &self,
        rt: &ProtoRuntime,
        peer: SocketAddr,
    ) -> (Session, CancellationToken) {
        let close = self.shutdown.child_token();
        let session = Session::connection(
            rt.name(),
            self.gate.clone(),
            peer,
            close.clone(),
            rt.config.multi_terminal,
        );
        (session, close)
    }
}

/// One protocol as served: the protocol and its effective settings.
#[derive(Clone)]
pub struct ProtoRuntime {
    pub protocol: &'static dyn Protocol,
    pub config: ProtocolConfig,
    pub decoder_options: DecoderOptions,
}

impl ProtoRuntime {
    /// The protocol's name.
    pub fn name(&self) -> &'static str {
        self.protocol.name()
    }
}
