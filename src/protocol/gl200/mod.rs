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
    Cut, DecodeCtx, DecodeError, Decoded, DecoderOptions, FromOptions, OptionsError, StreamDecoder,
    StreamProtocol, Transports,
};

pub use frame::cut_frame;

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "gl200";

/// The Queclink @Track protocol (registry entry).
pub struct Gl200;

/// Per-connection (or per-UDP-peer) Queclink decoder; its `device` is the last IMEI seen.
pub type Gl200Decoder = StreamDecoder<Gl200>;

/// Per-connection Queclink state: the SACK mode.
#[derive(Debug, Clone)]
pub struct Gl200State {
    /// Answer every report with `+SACK:<count>$` (devices configured with AT+GTQSS/GTSRI
    /// "SACK enable" buffer and resend reports that are not acknowledged).
    ack_reports: bool,
}

impl StreamProtocol for Gl200 {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5004;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    type State = Gl200State;

    fn cut(d: &mut Gl200Decoder, buf: &[u8]) -> Cut {
        cut_frame(buf, d.max_frame)
    }
    fn decode(d: &mut Gl200Decoder, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        decode::decode_frame(frame, ctx, d.state.ack_reports).inspect(|out| d.remember(out))
    }
}

impl FromOptions for Gl200State {
    /// One option: `ack_reports` (`"true"` / `"false"`, default false); any other key is
    /// rejected.
    fn from_options(protocol: &'static str, opts: &DecoderOptions) -> Result<Self, OptionsError> {
        opts.read(protocol, |o| {
            Ok(Gl200State {
                ack_reports: o.flag("ack_reports", false)?,
            })
        })
    }
}
