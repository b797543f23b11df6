//! The per-connection side of commands: after each accepted frame from an identified
//! device, record the device's answer if the frame is one, then write the device's queued
//! commands to its connection. The connection loop calls [`Courier::after_frame`] and
//! closes the connection when it fails (the socket would not take the bytes).

use super::{events, request};
use super::{CommandRow, Commands};
use crate::model::DeviceId;
use crate::protocol::command::{CommandCodec, Link};
use crate::protocol::Protocol;
use bytes::Bytes;
use futures::{Sink, SinkExt};

/// How long writing one command may take before the connection counts as stuck (the same
/// bound the connection puts on an ACK).
pub const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The connection could not take a command's bytes.
#[derive(Debug, thiserror::Error)]
#[error("command {seq} not written: {reason}")]
pub struct WriteFailed {
    pub seq: i64,
    pub reason: String,
}

/// Delivers commands on one connection of a protocol that has a command codec.
pub struct Courier {
    commands: Commands,
    codec: &'static dyn CommandCodec,
    protocol: &'static str,
}

impl Courier {
    /// A courier for a connection of `protocol`; `None` when there is no queue or the
    /// protocol has no commands.
    pub fn new(commands: Option<&Commands>, protocol: &'static dyn Protocol) -> Option<Courier> {
        Some(Courier {
            commands: commands?.clone(),
            codec: protocol.commands()?,
            protocol: protocol.name(),
        })
    }

    /// A courier for a UDP peer of `protocol`: only for codecs whose commands work as
    /// datagrams ([`CommandCodec::udp`]); a command then goes out after the device's next
    /// datagram.
    pub fn for_udp(
        commands: Option<&Commands>,
        protocol: &'static dyn Protocol,
    ) -> Option<Courier> {
        Self::new(commands, protocol).filter(|c| c.codec.udp())
    }

    /// Runs after `frame` from `device` was accepted and its ACK written to `out`.
    pub async fn after_frame<W>(
        &self,
        device: &DeviceId,
        frame: &[u8],
        out: &mut W,
    ) -> Result<(), WriteFailed>
    where
        W: Sink<Bytes> + Unpin,
        W::Error: std::fmt::Display,
    {
        if let Some(reply) = self.codec.reply(frame) {
            self.answered(device, reply).await;
        }
        let Some(generation) = self.commands.waiting(device.as_str()) else {
            return Ok(());
        };
        let now = chrono::Utc::now().timestamp_millis();
        let due = match self.commands.store.due(device.to_string(), now).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(protocol = self.protocol, device = %device, error = %e, "command queue unreadable; delivery retried with the next frame");
                return Ok(());
            }
        };
        for row in due.iter().filter(|r| r.protocol == self.protocol) {
            self.deliver(device, row, frame, out).await?;
        }
        // Rows of another protocol (the device came back speaking another one) stay queued
        // for a connection of theirs.
        if due.iter().all(|r| r.protocol == self.protocol) {
            self.commands.settle(device.as_str(), generation);
        }
        Ok(())
    }

    async fn answered(&self, device: &DeviceId, reply: crate::protocol::command::Reply) {
        let now = chrono::Utc::now().timestamp_millis();
        match self
            .commands
            .store
            .answer(device.to_string(), reply, now)
            .await
        {
            Ok(Some(row)) => {
                tracing::info!(protocol = self.protocol, device = %device, command = row.seq, status = row.status.as_str(), answer = row.answer.as_deref().unwrap_or(""), "command answered");
                let kind = if row.status == super::Status::Acknowledged {
                    events::ACKNOWLEDGED
                } else {
                    events::FAILED
                };
                self.commands.emit(&row, kind).await;
            }
            Ok(None) => {
                tracing::debug!(protocol = self.protocol, device = %device, "answer with no command waiting for it");
            }
            Err(e) => {
                tracing::warn!(protocol = self.protocol, device = %device, error = %e, "command answer not stored");
            }
        }
    }

    async fn deliver<W>(
        &self,
        device: &DeviceId,
        row: &CommandRow,
        frame: &[u8],
        out: &mut W,
    ) -> Result<(), WriteFailed>
    where
        W: Sink<Bytes> + Unpin,
        W::Error: std::fmt::Display,
    {
        let params: serde_json::Value =
            serde_json::from_str(&row.params).unwrap_or(serde_json::Value::Null);
        let link = Link {
            device: device.as_str(),
            frame,
            number: row.seq as u32,
            now: chrono::Utc::now(),
        };
        let encoded = request::command(&row.kind, &params)
            .map_err(|e| e.to_string())
            .and_then(|cmd| self.codec.encode(&cmd, &link).map_err(|e| e.to_string()));
        let now = || chrono::Utc::now().timestamp_millis();
        let enc = match encoded {
            Ok(enc) => enc,
            Err(reason) => {
                tracing::warn!(protocol = self.protocol, device = %device, command = row.seq, error = %reason, "command failed: not encodable");
                if let Err(e) = self
                    .commands
                    .store
                    .mark_failed(row.seq, reason.clone(), now())
                    .await
                {
                    tracing::warn!(command = row.seq, error = %e, "command failure not stored");
                    return Ok(());
                }
                let failed = CommandRow {
                    status: super::Status::Failed,
                    error: Some(reason),
                    ..row.clone()
                };
                self.commands.emit(&failed, events::FAILED).await;
                return Ok(());
            }
        };
        let failed = |reason: String| WriteFailed {
            seq: row.seq,
            reason,
        };
        match tokio::time::timeout(WRITE_TIMEOUT, out.send(enc.bytes)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(failed(e.to_string())),
            Err(_) => return Err(failed("write timed out".into())),
        }
        match self.commands.store.mark_sent(row.seq, enc.tag, now()).await {
            Ok(true) => {
                tracing::info!(protocol = self.protocol, device = %device, command = row.seq, kind = %row.kind, "command sent");
                self.commands.emit(row, events::SENT).await;
            }
            Ok(false) => {
                tracing::warn!(protocol = self.protocol, device = %device, command = row.seq, "command written but was cancelled meanwhile");
            }
            Err(e) => {
                tracing::warn!(command = row.seq, error = %e, "command sent but not marked: it may be sent again");
            }
        }
        Ok(())
    }
}
