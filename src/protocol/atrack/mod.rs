//! ATrack AX7, AX9, AX11, AK7, AK11, AT5i … trackers: binary and text reports over TCP and
//! UDP (port 5044).
//!
//! Wire format (integers big-endian):
//! ```text
//! binary report  @P | CRC u16 | len u16 | seq u16 | unit id u64 | record…     server → FE 02 | unit id | seq
//! photo part     @R | CRC u16 | len u16 | seq u16 | unit id u64 | photo chunk  server → FE 02 | unit id | seq
//! keep-alive     FE 02 | unit id u64 | seq u16                                 server → the same 12 bytes
//! text report    @P,CRC,LEN,seq,unit id,record\r\n[record\r\n…]               no answer
//! answers        $INFO=…\r\n, $OK\r\n                                          no answer
//! ```
//! The binary CRC is CRC-16/ARC over `len..end`; `len` counts `seq..end`. A binary record is
//! `gps, rtc, send times (u32 Unix, or 7-byte dates) | lon, lat i32 ×1e-6 | course u16 |
//! report id | odometer u32 ×0.1 km | HDOP u16 ×0.1 | inputs | speed u16 km/h | outputs |
//! analog u16 | driver id\0 | temp1, temp2 i16 ×0.1 | message\0 | [custom data]`; custom data
//! follows a `%CI…` form string (or the configured `form`). Details: `protocol-docs/atrack.md`.

mod custom;
mod decode;
pub mod encode;
mod frame;
#[cfg(test)]
mod tests;
mod text;

use super::{
    Cut, DecodeCtx, DecodeError, Decoded, DecoderOptions, FromOptions, OptionsError, StreamDecoder,
    StreamProtocol, Transports,
};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "atrack";

/// The ATrack protocol (registry entry).
pub struct Atrack;

/// Per-connection (TCP) or per-peer (UDP) ATrack decoder.
pub type AtrackDecoder = StreamDecoder<Atrack>;

/// Options (`[protocols.atrack.options]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// `form = "%SA%MV%BV"`: the custom-data form of units configured not to send it in each
    /// record (`%CI` off). Unset (default): custom data is read only after a `%CI…` form
    /// string in the record.
    pub form: Option<String>,
}

impl FromOptions for Settings {
    fn from_options(protocol: &'static str, opts: &DecoderOptions) -> Result<Self, OptionsError> {
        opts.read(protocol, |o| {
            let form = o.parse("form", None, "a form such as %SA%MV%BV", |v| {
                v.starts_with('%').then(|| Some(v.to_string()))
            })?;
            Ok(Settings { form })
        })
    }
}

impl StreamProtocol for Atrack {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5044;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    type State = Settings;
    fn cut(d: &mut AtrackDecoder, buf: &[u8]) -> Cut {
        frame::cut(buf, d.max_frame)
    }
    fn decode(d: &mut AtrackDecoder, f: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        let c = decode::Ctx {
            ctx,
            checksum: d.checksum,
            settings: &d.state,
            device: d.device.as_ref(),
        };
        decode::decode(f, &c).inspect(|out| d.remember(out))
    }
}
