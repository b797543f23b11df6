//! What happens to one decoded frame, the same for TCP, UDP and any later transport:
//! admission, durability, then the ACK.

use super::{IngestCtx, ProtoRuntime};
use crate::config::AckMode;
use crate::protocol::{DecodeError, Decoded};
use crate::session::{IdentifyOutcome, Session};
use crate::telemetry::ProtoLabel;
use bytes::Bytes;
use chrono::{DateTime, Utc};

/// What the transport must do after a frame.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reply {
    /// Bytes to write to the device (an ACK or a refusal).
    pub write: Option<Bytes>,
    /// Close the connection after writing.
    pub close: bool,
}

/// Counts a decode failure. The frame is dropped; the connection stays.
pub fn decode_failed(ctx: &IngestCtx, rt: &ProtoRuntime, peer: &str, e: &DecodeError) {
    let label = ProtoLabel {
        protocol: rt.name(),
    };
    let m = &ctx.metrics.ingest;
    match e {
        DecodeError::Checksum { .. } => m.checksum_failures.get_or_create(&label).inc(),
        DecodeError::NotIdentified { .. } => m.unidentified_frames.get_or_create(&label).inc(),
        _ => m.decode_errors.get_or_create(&label).inc(),
    };
    tracing::debug!(protocol = rt.name(), peer, error = %e, "frame dropped");
}

/// Runs admission, makes the records durable and returns the ACK to write.
pub async fn handle(
    ctx: &IngestCtx,
    rt: &ProtoRuntime,
    session: &mut Session,
    decoded: Decoded,
    peer: &str,
    now: DateTime<Utc>,
) -> Reply {
    let label = ProtoLabel {
        protocol: rt.name(),
    };
    if let Some(id) = &decoded.identity {
        match session.identify(id, now) {
            IdentifyOutcome::Refused => {
                return Reply {
                    write: decoded.ack.refused,
                    close: true,
                }
            }
            IdentifyOutcome::Admitted => {
                tracing::info!(protocol = rt.name(), device = %id, peer, "device identified");
            }
            IdentifyOutcome::Unchanged => {}
        }
    }
    session.seen(now);
    if decoded.records.is_empty() {
        return Reply {
            write: decoded.ack.accepted,
            close: false,
        };
    }
    // A frame whose records name another device than the session's would let one device
    // write as another; decoders never do that, but the gateway checks rather than trusts.
    if let Some(dev) = session.device() {
        if decoded.records.iter().any(|r| r.device() != dev) {
            tracing::warn!(protocol = rt.name(), device = %dev, peer, "records for another device dropped");
            ctx.metrics.ingest.decode_errors.get_or_create(&label).inc();
            return Reply::default();
        }
    } else {
        ctx.metrics
            .ingest
            .unidentified_frames
            .get_or_create(&label)
            .inc();
        return Reply::default();
    }
    let n = decoded.records.len() as u64;
    let mode: AckMode = rt.config.ack;
    match ctx.pipeline.submit(decoded.records, mode).await {
        Ok(()) => {
            ctx.metrics.ingest.records.get_or_create(&label).inc_by(n);
            Reply {
                write: decoded.ack.accepted,
                close: false,
            }
        }
        Err(e) => {
            ctx.metrics.ingest.acks_withheld.get_or_create(&label).inc();
            tracing::warn!(protocol = rt.name(), peer, error = %e, records = n, "ACK withheld: batch not durable");
            Reply::default()
        }
    }
}
