//! Xexun TK102/TK103/TK201 and clones (Traccar's "xexun"): one text line per report, an NMEA
//! RMC sentence wrapped in Xexun fields, the IMEI always present.
//!
//! ```text
//! basic: G[PN]RMC,hhmmss.sss,A,ddmm.mmmm,N,dddmm.mmmm,E,<knots>,<course>,ddmmyy,…*hh,<F|L>,[<status>,]…imei:<imei>,…
//! full:  <yyMMddhhmmss serial>,<phone>,G[PN]RMC,…*hh,<F|L>,<status>, imei:<imei>,<sats>,<altitude>,<F|L>:<volts>V[/…],…
//! ```
//! The form is recognised from the line (text before `RMC` = full). `F`/`L`: GPS fix / last
//! known (signal). The status field carries events (`help me!`, `acc on`, `ACCStart`, …).
//! The RMC checksum is verified. Devices get no answer. See `protocol-docs/xexun.md`.

mod decode;
pub mod encode;
mod frame;
#[cfg(test)]
mod tests;

use super::{Cut, DecodeCtx, DecodeError, Decoded, StreamDecoder, StreamProtocol, Transports};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "xexun";

/// The Xexun protocol (registry entry).
pub struct Xexun;

/// Per-connection Xexun decoder; its `device` is the IMEI of the last report.
pub type XexunDecoder = StreamDecoder<Xexun>;

impl StreamProtocol for Xexun {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5006;
    const TRANSPORTS: Transports = Transports::TCP;
    /// No options, nothing kept beyond the device.
    type State = ();
    fn cut(d: &mut XexunDecoder, buf: &[u8]) -> Cut {
        frame::cut(buf, d.max_frame)
    }
    fn decode(d: &mut XexunDecoder, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        decode::decode(frame, ctx, d.checksum).inspect(|out| d.remember(out))
    }
}
