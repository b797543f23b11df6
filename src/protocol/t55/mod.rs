//! T55 family (Traccar's "t55"): trackers and phone apps that send plain NMEA sentences
//! over TCP or UDP, each line ended by CR LF, naming themselves in an id line or a prefix.
//!
//! ```text
//! $PGID,<id>*cs | $PSIWMDID,<id>*cs | $DEVID,<id>*cs | $IMEI=<id> | IMEI <id> | <hex id>
//!                                         id lines (identity, no answer)
//! $GPFID,<id>                             id line after a fix (releases the held fix)
//! $GPRMC/$GNRMC,hhmmss,A,ddmm.mm,N,dddmm.mm,E,<kn>,<course>,ddmmyy,…*cs[,sats,imei,ign,fuel,bat,io…]
//! $GPGGA/$GNGGA, $GPGLL/$GNGLL, $GPRMA    fixes (GGA/GLL: time of day only)
//! $PUBX,00,…  (u-blox, km/h)   $TRCCR,…  (decimal degrees)   QZE,<imei>,… (km/h)
//! $GPTXT,NET,<id>,<operator>,<rssi>,<mcc> <mnc>*cs   network report (event)
//! <id>$<sentence> | <id>,$<sentence> | <n>/<id>/$<sentence>   prefixed sentences
//! ```
//! The NMEA checksum (`*hh`, XOR of the bytes between `$` and `*`) is verified when present.
//! No answer is sent, except `OK1\r\n` to RMC sentences over TCP with the option `ack` (as
//! Traccar's `t55.ack`). See `protocol-docs/t55.md`.

mod decode;
pub mod encode;
mod frame;
mod nmea;
#[cfg(test)]
mod tests;

use super::{
    Cut, DecodeCtx, DecodeError, Decoded, DecoderOptions, FromOptions, OptionsError, StreamDecoder,
    StreamProtocol, Transports,
};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "t55";

/// The T55 protocol (registry entry).
pub struct T55;

/// Per-connection (or per-UDP-peer) T55 decoder.
pub type T55Decoder = StreamDecoder<T55>;

/// Options, and an RMC fix held until a `$GPFID` id line names its device (Axon phones send
/// the fix first).
#[derive(Clone, Debug, Default)]
pub struct T55State {
    /// Answer RMC sentences with `OK1\r\n` (option `ack`, default `false`).
    pub ack: bool,
    pub(crate) held: Option<nmea::NmeaFix>,
}

impl FromOptions for T55State {
    fn from_options(protocol: &'static str, opts: &DecoderOptions) -> Result<Self, OptionsError> {
        let ack = opts.read(protocol, |r| r.flag("ack", false))?;
        Ok(T55State { ack, held: None })
    }
}

impl StreamProtocol for T55 {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5005;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    type State = T55State;
    fn cut(d: &mut T55Decoder, buf: &[u8]) -> Cut {
        frame::cut(buf, d.max_frame)
    }
    fn decode(d: &mut T55Decoder, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        decode::decode(d, frame, ctx, false)
    }
    fn decode_datagram(
        d: &mut T55Decoder,
        datagram: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError> {
        decode::decode(d, datagram, ctx, true)
    }
}
