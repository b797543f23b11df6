//! Megastek trackers (MT90, MT100, GVT900, GVT500 and the MGV-firmware personal trackers;
//! Traccar's "megastek"): text reports in three layouts, none answered.
//!
//! ```text
//! [<LLLL>]$MGV002,<imei>,<name>,<R|S>,ddmmyy,hhmmss,<A|V>,ddmm.mmmm,N,dddmm.mmmm,E,…,<sat>,…,<hdop>,
//!     <knots>,<course>,<altitude>,<km>,<mcc>,<mnc>,<lac>,<cid>,<rssi>,<inputs>,
//!     <outputs>,<adc1>,<adc2>,<adc3>,<temp1>,<temp2>,<rfid>,<charge><belt>,<battery %>,<alert>[,…];!
//! STX,<id>,$GPRMC,…*hh,<F|L>,<alarm>,imei:<imei>,<sat>[/<visible>],<altitude>,Battery=<n>%,[,]
//!     <charger>,<mcc>,<mnc>,<lac>,<cid>;<sum>              (LOGSTX, = the same, from the log)
//! STX<id padded to 16><2 bytes>$GPRMC,…*hh,<mcc>,<mnc>,<lac>,<cid>,<rssi>,<battery %>,<flags>,
//!     <inputs>,[<outputs>,]<adc1>,[<adc2>,<adc3>,]<alarm>;<xor>
//! ```
//! A report ends at CR LF or at `!`; `$MGV` reports may instead start with their length in
//! four digits. The `STX` checksums and the `$MGV` length are verified. See
//! `protocol-docs/megastek.md`.

mod decode;
pub mod encode;
mod frame;
#[cfg(test)]
mod tests;

use super::{Cut, DecodeCtx, DecodeError, Decoded, StreamDecoder, StreamProtocol, Transports};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "megastek";

/// The Megastek protocol (registry entry).
pub struct Megastek;

/// Per-connection Megastek decoder; its `device` is the id of the last report.
pub type MegastekDecoder = StreamDecoder<Megastek>;

impl StreamProtocol for Megastek {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5024;
    const TRANSPORTS: Transports = Transports::TCP;
    /// No options, nothing kept beyond the device.
    type State = ();
    fn cut(d: &mut MegastekDecoder, buf: &[u8]) -> Cut {
        frame::cut(buf, d.max_frame)
    }
    fn decode(
        d: &mut MegastekDecoder,
        frame: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError> {
        decode::decode(frame, ctx, d.checksum).inspect(|out| d.remember(out))
    }
}
