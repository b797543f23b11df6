//! What happens to one decoded frame, the same for every transport: the session's claim
//! (admission, credentials, takeover), the fix-time check, durability, and an explicit
//! [`Outcome`] that each transport (TCP, UDP, HTTP, MQTT) maps to its own answer — an ACK
//! written or withheld, a connection closed, an HTTP status, a PUBACK.

use super::{IngestCtx, ProtoRuntime};
use crate::pipeline::Refused;
use crate::protocol::{DecodeError, Decoded, Decoder};
use crate::session::{Session, Verdict};
use crate::telemetry::ProtoLabel;
use bytes::Bytes;
use chrono::{DateTime, Utc};

/// What became of one frame.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// The frame's records are durable (or it had none): answer with `ack` when the protocol
    /// has one.
    Accepted { ack: Option<Bytes> },
    /// The device is not admitted (allow list, source range, credential, takeover): answer
    /// with the protocol's `refusal` (if any) and end the session.
    Refused { refusal: Option<Bytes> },
    /// This frame is refused but the session goes on (a second device id on a connection, a
    /// registration of a terminal that must use its code): answer with `refusal`, if any.
    Rejected { refusal: Option<Bytes> },
    /// Every position the frame carried had an unbelievable fix time (future, before 2000)
    /// and was dropped: answer with the protocol's `refusal` where it has one, else with the
    /// usual `ack` (the device must not resend it forever); `reason` for HTTP.
    BadFixTime {
        ack: Option<Bytes>,
        refusal: Option<Bytes>,
        reason: String,
    },
    /// The frame carried records before anything identified the device: dropped, counted.
    NotIdentified,
    /// The frame's records name another device than the session's: dropped, counted.
    ForeignDevice,
    /// The frame did not decode (bad checksum, malformed): dropped, counted.
    BadFrame(DecodeError),
    /// The log is full: not stored, no ACK, so the device keeps the data and resends it.
    LogFull,
    /// Not stored for another reason (shutdown, storage error): no ACK.
    NotDurable(Refused),
}

impl Outcome {
    /// The bytes to write to a stream or datagram device, if any.
    pub fn reply(&self) -> Option<&Bytes> {
        match self {
            Outcome::Accepted { ack } => ack.as_ref(),
            Outcome::Refused { refusal } | Outcome::Rejected { refusal } => refusal.as_ref(),
            Outcome::BadFixTime { ack, refusal, .. } => refusal.as_ref().or(ack.as_ref()),
            _ => None,
        }
    }

    /// The session ends after this frame (a refused device).
    pub fn closes(&self) -> bool {
        matches!(self, Outcome::Refused { .. })
    }

    /// What `max_bad_frames` counts before a connection identified: a frame that did not
    /// decode, or data from nobody.
    pub fn is_bad(&self) -> bool {
        matches!(self, Outcome::BadFrame(_) | Outcome::NotIdentified)
    }
}

/// Counts a decode failure. The frame is dropped; the connection stays.
fn decode_failed(ctx: &IngestCtx, rt: &ProtoRuntime, peer: &str, e: &DecodeError) {
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

/// Takes one decode result through admission and durability. `decoder` is the one that
/// decoded it: the credential the frame carried is taken from it.
pub async fn handle(
    ctx: &IngestCtx,
    rt: &ProtoRuntime,
    session: &mut Session,
    decoder: &mut dyn Decoder,
    decoded: Result<Decoded, DecodeError>,
    peer: &str,
    now: DateTime<Utc>,
) -> Outcome {
    let mut decoded = match decoded {
        Ok(d) => d,
        Err(e) => {
            decode_failed(ctx, rt, peer, &e);
            return Outcome::BadFrame(e);
        }
    };
    let label = ProtoLabel {
        protocol: rt.name(),
    };
    let credential = decoder.take_credential();
    if let Some(id) = &decoded.identity {
        let required = decoder.requires_credential();
        match session.claim(id, credential, required, now).await {
            Err(e) => {
                tracing::warn!(protocol = rt.name(), device = %id, peer, error = %e, "no answer: device code store failed");
                return Outcome::NotDurable(Refused::Storage(e.to_string()));
            }
            Ok(Verdict::Refuse) => {
                return Outcome::Refused {
                    refusal: decoded.ack.refused,
                }
            }
            Ok(Verdict::Reject) => {
                return Outcome::Rejected {
                    refusal: decoded.ack.refused,
                }
            }
            Ok(Verdict::Registered(ack)) => return Outcome::Accepted { ack },
            Ok(Verdict::RegistrationRefused(refusal)) => return Outcome::Rejected { refusal },
            Ok(Verdict::Admitted) => {
                tracing::info!(protocol = rt.name(), device = %id, peer, "device identified");
            }
            Ok(Verdict::Unchanged) => {}
        }
    }
    session.seen(now);
    if decoded.records.is_empty() {
        return Outcome::Accepted {
            ack: decoded.ack.accepted,
        };
    }
    // A frame whose records name another device than the session's would let one device
    // write as another; decoders never do that, but the gateway checks rather than trusts.
    let Some(dev) = session.device() else {
        ctx.metrics
            .ingest
            .unidentified_frames
            .get_or_create(&label)
            .inc();
        return Outcome::NotIdentified;
    };
    if decoded.records.iter().any(|r| r.device() != Some(dev)) {
        tracing::warn!(protocol = rt.name(), device = %dev, peer, "records for another device dropped");
        ctx.metrics.ingest.decode_errors.get_or_create(&label).inc();
        return Outcome::ForeignDevice;
    }
    let dropped = session
        .gate()
        .fix_times
        .filter(rt.name(), &mut decoded.records, now);
    if let (true, Some(d)) = (decoded.records.is_empty(), dropped) {
        return Outcome::BadFixTime {
            ack: decoded.ack.accepted,
            refusal: decoded.ack.refused,
            reason: d.first,
        };
    }
    let n = decoded.records.len() as u64;
    match ctx.pipeline.submit(decoded.records, rt.config.ack).await {
        Ok(()) => {
            ctx.metrics.ingest.records.get_or_create(&label).inc_by(n);
            Outcome::Accepted {
                ack: decoded.ack.accepted,
            }
        }
        Err(e) => {
            ctx.metrics.ingest.acks_withheld.get_or_create(&label).inc();
            tracing::warn!(protocol = rt.name(), peer, error = %e, records = n, "ACK withheld: batch not durable");
            match e {
                Refused::Full => Outcome::LogFull,
                other => Outcome::NotDurable(other),
            }
        }
    }
}
