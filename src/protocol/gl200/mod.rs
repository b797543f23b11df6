//! Queclink @Track ASCII protocol (GL200/GL300/GL500, GV55/GV65/GV200/GV300/GV350/GV500/GV600,
//! GMT100, CV100/CV200 and the other `+RESP:GT...` speakers), over TCP and UDP (port 5004).
//!
//! Wire format (ASCII, comma-separated, one report per `$`):
//! ```text
//! +RESP:GTFRI,<ver>,<imei>,<name>,…,<hdop>,<speed km/h>,<course>,<alt m>,<LON>,<LAT>,<YYYYMMDDhhmmss UTC>,<mcc>,<mnc>,<lac>,<cid>,…,<send time>,<count>$
//! +BUFF:GTFRI,…$                    the same report replayed from the device's buffer (backlog)
//! +ACK:GTHBD,<ver>,<imei>,<name>,<send time>,<count>$   heartbeat → +SACK:GTHBD,<ver>,<count>$
//! ```
//! Longitude comes before latitude. Each report type (GTFRI, GTSOS, GTIGN …) has its own
//! layout and the layouts drift per model and firmware, but every GNSS fix is the same run of
//! seven fields `hdop,speed,course,altitude,lon,lat,time`; the decoder finds those runs rather
//! than keeping one offset table per model (see `decode.rs`). The binary @Track variant
//! (`+RSP`/`+EVT`/`+HBD`… with length fields) is not decoded: the framer skips it as garbage.
//! Details: `protocol-docs/gl200.md`.

mod decode;
pub mod encode;
mod frame;
#[cfg(test)]
mod tests;

use super::{
    DecodeCtx, DecodeError, Decoded, Decoder, DecoderOptions, FrameResult, OptionsError, Protocol,
    Transports,
};
use crate::model::DeviceId;
use bytes::BytesMut;

pub use frame::{cut_frame, Cut};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "gl200";

/// The Queclink @Track protocol (registry entry).
pub struct Gl200;

impl Protocol for Gl200 {
    fn name(&self) -> &'static str {
        NAME
    }
    fn default_port(&self) -> u16 {
        5004
    }
    fn transports(&self) -> Transports {
        Transports {
            tcp: true,
            udp: true,
        }
    }
    fn new_decoder(&self, opts: &DecoderOptions) -> Result<Box<dyn Decoder>, OptionsError> {
        Ok(Box::new(Gl200Decoder::new(opts)?))
    }
}

/// Per-connection Queclink state: the framer's limit, the SACK mode and the last IMEI seen.
#[derive(Debug, Clone)]
pub struct Gl200Decoder {
    device: Option<DeviceId>,
    max_frame: usize,
    /// Answer every report with `+SACK:<count>$` (devices configured with AT+GTQSS/GTSRI
    /// "SACK enable" buffer and resend reports that are not acknowledged).
    ack_reports: bool,
}

impl Gl200Decoder {
    /// A decoder for one connection or UDP peer. One option: `ack_reports` (`"true"` /
    /// `"false"`, default false); any other key is rejected.
    pub fn new(opts: &DecoderOptions) -> Result<Self, OptionsError> {
        let mut ack_reports = false;
        for (k, v) in &opts.options {
            match k.as_str() {
                "ack_reports" => {
                    ack_reports = v.parse().map_err(|_| OptionsError {
                        protocol: NAME,
                        key: k.clone(),
                        reason: format!("expected true or false, got {v:?}"),
                    })?
                }
                _ => return Err(OptionsError::unknown(NAME, k)),
            }
        }
        Ok(Gl200Decoder {
            device: None,
            max_frame: opts.max_frame,
            ack_reports,
        })
    }
}

impl Decoder for Gl200Decoder {
    fn frame(&mut self, buf: &mut BytesMut) -> FrameResult {
        frame::next_frame(buf, self.max_frame)
    }

    fn decode(&mut self, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        let d = decode::decode_frame(frame, ctx, self.ack_reports)?;
        if d.identity.is_some() {
            self.device.clone_from(&d.identity);
        }
        Ok(d)
    }

    fn device(&self) -> Option<&DeviceId> {
        self.device.as_ref()
    }
}
