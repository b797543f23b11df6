//! Castel (Sinocastel) IDD-213, CC830, CC850, MPIP-620 … OBD trackers: binary frames over TCP
//! and UDP (port 5086).
//!
//! Wire format (integers little-endian unless noted):
//! ```text
//! SC / CC  @@ | len u16 | version u8 | id[20] ASCII | type u16 BE | content | CRC u16 | \r\n
//! MPIP     $$ | len u16 |              id[20] ASCII | type u16 BE | content | CRC u16 | \r\n
//! ```
//! `len` counts the whole frame; the CRC is CRC-16/X-25 over everything before it. Version 3
//! and 4 are the SC family (login 0x1001 → 0x9001 with the server time, heartbeat 0x1003 →
//! 0x9003, GPS 0x4001, alarm 0x4007, DTCs 0x4006 …), other versions the CC family (login
//! 0x4001 → 0x8001, heartbeat 0x4206 → 0x8206). A fix is 19 bytes (date, time, lat, lon
//! ×3.6e6, speed cm/s, course ×0.1°, flags). Details: `protocol-docs/castel.md`.

mod cc;
mod decode;
pub mod encode;
mod frame;
#[cfg(test)]
mod tests;

use super::{Cut, DecodeCtx, DecodeError, Decoded, StreamDecoder, StreamProtocol, Transports};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "castel";

/// The Castel protocol (registry entry).
pub struct Castel;

/// Per-connection Castel decoder; every frame names its device.
pub type CastelDecoder = StreamDecoder<Castel>;

impl StreamProtocol for Castel {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5086;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    type State = ();
    fn cut(d: &mut CastelDecoder, buf: &[u8]) -> Cut {
        frame::cut(buf, d.max_frame)
    }
    fn decode(d: &mut CastelDecoder, f: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        decode::decode(f, ctx, d.checksum).inspect(|out| d.remember(out))
    }
}
