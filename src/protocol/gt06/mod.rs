//! Concox / Jimi GT06 family (GT06, GT06N, GT06E, CRX1/CRX3, GK310, JM-VL03 and many clones).
//!
//! Wire format (all integers big-endian):
//! ```text
//! 78 78 | LEN(1) | PROTO(1) | CONTENT | SERIAL(2) | CRC(2) | 0D 0A    standard frame
//! 79 79 | LEN(2) | PROTO(1) | CONTENT | SERIAL(2) | CRC(2) | 0D 0A    extended frame
//! ```
//! `LEN` counts PROTO through CRC; the CRC is CRC-16/X-25 over LEN..SERIAL. Many firmwares
//! write a wrong `LEN` (0 for Wi-Fi frames, or a cell count), so the framer trusts `LEN` only
//! when `0D 0A` sits where it points, and otherwise cuts at the first `0D 0A` (as Traccar
//! does). The decoder therefore never trusts `LEN` for bounds: the content is whatever lies
//! between PROTO and SERIAL in the frame actually cut.
//!
//! Identity comes only from the login frame (0x01: 8-byte BCD terminal id, leading digit
//! dropped → 15-digit IMEI). Every other frame needs a logged-in connection. Protocol numbers
//! are reused by different models with different layouts; the variants are told apart by
//! (header, PROTO, LEN) exactly like Traccar's `decodeVariant`, see `decode::Variant`.
//! Per-message layouts, ACKs and units are in `protocol-docs/gt06.md`; downlink commands
//! (0x80, answered by 0x15/0x21) in `command.rs`.

pub mod command;
mod decode;
mod decode_ext;
mod decode_gps;
mod decode_lbs;
pub mod encode;
mod frame;
#[cfg(test)]
mod tests;

use super::{Cut, DecodeCtx, DecodeError, Decoded, StreamDecoder, StreamProtocol, Transports};

pub use frame::cut_frame;

/// CRC-16/X-25 with a slice-by-16 table: the same checksum as `wire::crc16_x25` (test
/// `fast_crc_matches_the_shared_x25`), processing 16 bytes per step instead of one on the
/// hot path where every frame is checked (8 KiB table, built at compile time; a `static`,
/// not a `const`, so the table is not copied onto the stack at every call).
static X25_FAST: crc::Crc<u16, crc::Table<16>> =
    crc::Crc::<u16, crc::Table<16>>::new(&crc::CRC_16_IBM_SDLC);

/// CRC-16/X-25 of `data` (LEN..SERIAL of a frame).
#[inline]
pub(crate) fn crc16(data: &[u8]) -> u16 {
    X25_FAST.checksum(data)
}

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "gt06";

/// The gt06 protocol (registry entry).
pub struct Gt06;

/// Per-connection GT06 decoder; its `device` is the IMEI learnt from the login frame.
pub type Gt06Decoder = StreamDecoder<Gt06>;

impl StreamProtocol for Gt06 {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5023;
    const TRANSPORTS: Transports = Transports::TCP;
    /// No options, nothing kept beyond the device.
    type State = ();
    #[inline]
    fn cut(d: &mut Gt06Decoder, buf: &[u8]) -> Cut {
        cut_frame(buf, d.max_frame)
    }
    #[inline]
    fn decode(d: &mut Gt06Decoder, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        decode::decode_frame(d, frame, ctx)
    }
    fn commands() -> Option<&'static dyn super::command::CommandCodec> {
        Some(&command::CODEC)
    }
}
