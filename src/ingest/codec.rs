//! The `tokio_util` codec around a protocol's sans-IO framer.

use crate::protocol::{Decoder as ProtoDecoder, FrameError, FrameResult};
use crate::telemetry::{Metrics, ProtoLabel};
use bytes::{Bytes, BytesMut};
use std::sync::Arc;

/// Why a stream was given up.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("unrecoverable framing: {0}")]
    Frame(#[from] FrameError),
    #[error("{buffered} bytes buffered without a complete frame (limit {limit})")]
    Overflow { buffered: usize, limit: usize },
    #[error("max_bad_frames bad frames or garbage runs before identifying")]
    BadFrames,
}

/// Frames a byte stream with a protocol decoder's framer; writes raw ACK bytes.
pub struct FrameCodec {
    /// The protocol decoder (framer + decoder state for this connection).
    pub decoder: Box<dyn ProtoDecoder>,
    metrics: Arc<Metrics>,
    label: ProtoLabel,
    /// Safety net above the framer's own `max_frame`: a framer that keeps asking for more
    /// past this is treated as stuck and the connection closed.
    max_buffer: usize,
    /// Bad frames still tolerated (`max_bad_frames` minus those seen) while the connection
    /// has not identified; `None` once it has. Garbage the framer skips spends it here (a
    /// flood of it never yields a frame for the connection loop to count); frames that fail
    /// to decode spend it in the loop ([`FrameCodec::spend_bad`]).
    pub bad_budget: Option<u32>,
}

impl FrameCodec {
    /// Wraps `decoder`; `max_frame` is the protocol's configured frame cap.
    pub fn new(
        decoder: Box<dyn ProtoDecoder>,
        protocol: &'static str,
        max_frame: usize,
        metrics: Arc<Metrics>,
    ) -> Self {
        FrameCodec {
            decoder,
            metrics,
            label: ProtoLabel { protocol },
            max_buffer: max_frame.saturating_mul(2).saturating_add(64),
            bad_budget: None,
        }
    }

    /// Counts one bad frame against [`FrameCodec::bad_budget`]; false once it is spent.
    pub fn spend_bad(&mut self) -> bool {
        match self.bad_budget {
            None => true,
            Some(n) => {
                let left = n.saturating_sub(1);
                self.bad_budget = Some(left);
                left > 0
            }
        }
    }
}

impl tokio_util::codec::Decoder for FrameCodec {
    type Item = Bytes;
    type Error = StreamError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, StreamError> {
        loop {
            let before = buf.len();
            match self.decoder.frame(buf) {
                FrameResult::NeedMore => {
                    if buf.len() > self.max_buffer {
                        return Err(StreamError::Overflow {
                            buffered: buf.len(),
                            limit: self.max_buffer,
                        });
                    }
                    return Ok(None);
                }
                FrameResult::Frame(f) => return Ok(Some(f)),
                FrameResult::Skipped(n) => {
                    self.metrics
                        .ingest
                        .garbage_bytes
                        .get_or_create(&self.label)
                        .inc_by(n as u64);
                    if !self.spend_bad() {
                        return Err(StreamError::BadFrames);
                    }
                    if buf.len() >= before {
                        // A framer that skips nothing would loop forever.
                        return Err(StreamError::Frame(FrameError::Protocol(
                            "framer made no progress".into(),
                        )));
                    }
                }
                FrameResult::Fatal(e) => return Err(e.into()),
            }
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, StreamError> {
        match self.decode(buf)? {
            Some(f) => Ok(Some(f)),
            None => {
                if !buf.is_empty() {
                    // A truncated frame at hang-up: count it as garbage, not an error.
                    self.metrics
                        .ingest
                        .garbage_bytes
                        .get_or_create(&self.label)
                        .inc_by(buf.len() as u64);
                    buf.clear();
                }
                Ok(None)
            }
        }
    }
}

impl tokio_util::codec::Encoder<Bytes> for FrameCodec {
    type Error = StreamError;
    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), StreamError> {
        dst.extend_from_slice(&item);
        Ok(())
    }
}
