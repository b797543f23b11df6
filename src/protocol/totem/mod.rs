//! Totem Tech trackers (AT03, AT05, AT07, AT09, OBD dongles; Traccar's "totem"): ASCII frames
//! that start with `$$` and declare their own length, in two generations.
//!
//! ```text
//! old (2 hex length, CRC-16/MODBUS as 4 hex):
//!   $$<LL><imei>|<alarm 2>$GPRMC,…*hh|<pdop>|<hdop>|<vdop>|<io bits>|<time>|<c><bat><power>|[<adc>|]<…lac cid>|<temp>|<km>|<serial>|…<crc>
//!   $$<LL><imei>|<alarm 2><ddmmyyhhmmss>|A|ddmm.mmmm|N|dddmm.mmmm|E|<knots>|<course>|<hdop>|<io bits>|<c><bat><power>|<adc>|<lac cid>|<temp>|<km>|<serial>|<crc>
//!   $$<LL><imei>|<alarm 2><ddmmyyhhmmss><io><c><bat><pow><adc1><adc2><t1><t2><lac><cid>A<sat><course><speed><pdop><km>ddmm.mmmmNdddmm.mmmmE<serial><crc>
//! new (4 decimal digits length, XOR as 2 hex):
//!   $$<LLLL><type><imei>|<status 8 hex><yymmddhhmmss><bat><power><adc1>[…]<lac><cid>[<mnc><mcc>]<sat><rssi><course><km/h><hdop><km>ddmm.mmmmNdddmm.mmmmE[<temp>]<serial><xor>
//!   $$<LLLL>E2<imei>|<yymmddhhmmss>,<lon>,<lat>,<rfid>|<xor>         (driver card)
//!   $$<LLLL>E5<imei>|<yymmddhhmmss>,<lon>,<lat>,<obd…>,|<xor>        (OBD)
//! ```
//! Old frames are answered `ACK OK\r\n`, new ones `$$0014AA<serial><xor>`. The length and the
//! checksum are verified. See `protocol-docs/totem.md`.

mod decode;
pub mod encode;
mod frame;
mod layout;
#[cfg(test)]
mod tests;

use super::{Cut, DecodeCtx, DecodeError, Decoded, StreamDecoder, StreamProtocol, Transports};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "totem";

/// The Totem protocol (registry entry).
pub struct Totem;

/// Per-connection Totem decoder; its `device` is the IMEI of the last frame.
pub type TotemDecoder = StreamDecoder<Totem>;

impl StreamProtocol for Totem {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5007;
    const TRANSPORTS: Transports = Transports::TCP;
    /// No options, nothing kept beyond the device.
    type State = ();
    fn cut(d: &mut TotemDecoder, buf: &[u8]) -> Cut {
        frame::cut(buf, d.max_frame)
    }
    fn decode(d: &mut TotemDecoder, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        decode::decode(frame, ctx, d.checksum).inspect(|out| d.remember(out))
    }
}
