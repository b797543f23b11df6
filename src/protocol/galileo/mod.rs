//! Galileosky trackers (GalileoSky v5, 7.x, Base Block, Boxfinder ...): tag-based binary
//! packets over TCP (port 5034).
//!
//! Wire format (integers little-endian unless noted):
//! ```text
//! main packet   device → 01 | len u16 (bit 15: archive) | tags… | CRC u16   server → 02 | CRC
//! photo part    device → 07 | len u16 | part u8 | JPEG bytes… | CRC u16      server → 07 | CRC
//! compressed    device → 08 | len u16 | {minimal data set, tag list, values}… | CRC   (not decoded)
//! Iridium SBD   gateway → 01 | len u16 BE | IE… (MO header, location, payload = tags)  no answer
//! ```
//! `len` counts the body; the CRC is CRC-16/MODBUS over header, length and body, and the
//! confirmation echoes it. A tag is `id u8 | value` whose length the id fixes (see `tags`;
//! `E1` and `EA` carry a length byte). A packet holds records one after the other: a tag id
//! seen again starts the next record. IMEI `03` (15 ASCII digits) comes in the head packet
//! and usually in front of each data packet; `20` time (Unix s), `30` coordinates
//! (sats/validity nibbles, lat, lon i32 ×1e-6), `33` speed u16 ×0.1 km/h + course u16 ×0.1°,
//! `34` altitude i16 m. Details: `protocol-docs/galileo.md`.

mod decode;
pub mod encode;
mod frame;
mod tags;
#[cfg(test)]
mod tests;

use super::{Cut, DecodeCtx, DecodeError, Decoded, StreamDecoder, StreamProtocol, Transports};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "galileo";

/// The Galileosky protocol (registry entry).
pub struct Galileo;

/// Per-connection Galileosky decoder; its `device` is the IMEI of the last packet that had
/// one (data packets without the IMEI tag belong to it).
pub type GalileoDecoder = StreamDecoder<Galileo>;

impl StreamProtocol for Galileo {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5034;
    const TRANSPORTS: Transports = Transports::TCP;
    /// No options, nothing kept beyond the device.
    type State = ();
    fn cut(d: &mut GalileoDecoder, buf: &[u8]) -> Cut {
        frame::cut(buf, d.max_frame)
    }
    fn decode(
        d: &mut GalileoDecoder,
        frame: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError> {
        decode::decode(frame, ctx, d.checksum, d.device.as_ref()).inspect(|out| d.remember(out))
    }
}
