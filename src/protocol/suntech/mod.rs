//! Suntech ST200/ST300/ST340/ST4300/ST500/ST600/ST910/SA200 trackers, over TCP (port 5011).
//!
//! Wire format: `;`-separated ASCII reports ended by `\r`, in three generations:
//! ```text
//! ST300STT;<id>;<model>;<sw>;<YYYYMMDD>;<hh:mm:ss>;<cell>;<lat>;<lon>;<speed km/h>;<course>;<sats>;<fix>;<odometer m>;<power V>;<io>;…   legacy (SA200/ST2xx/ST3xx/ST5xx/ST6xx)
//! ST910;Location;<id>;<sw>;<date>;<time>;<lat>;<lon>;<speed>;<course>;<fix>;…                                                            personal (ST9xx)
//! STT;<id>;<mask hex>;<fields selected by mask>…                                                                                       universal (ST4300 and newer)
//! ```
//! plus the binary universal form (`81`/`82` + length u16 + 5-byte id + mask u24 + fields).
//! Report types: `STT` status, `ALT` alert, `EMG` emergency, `EVT` event, `UEX` with a
//! length-prefixed user data block (which may hold `\r\n`), `ALV` keep-alive, `RES`/`CMD`
//! command answers. Suntech devices expect no answer to any report (Traccar sends none).
//! Device-specific optional tails are switched on by options (see `protocol-docs/suntech.md`).

mod decode;
mod decode_bin;
pub mod encode;
mod frame;
#[cfg(test)]
mod tests;

use super::{
    Cut, DecodeCtx, DecodeError, Decoded, DecoderOptions, FromOptions, OptionReader, OptionsError,
    StreamDecoder, StreamProtocol, Transports,
};

pub use frame::cut_frame;

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "suntech";

/// The Suntech protocol (registry entry).
pub struct Suntech;

/// Per-connection Suntech decoder; its `state` is the report [`Layout`] set by the options,
/// its `device` the last id seen.
pub type SuntechDecoder = StreamDecoder<Suntech>;

/// Which optional trailing fields a legacy report carries; these are device settings the
/// frame does not announce, so they come from `[protocols.suntech.options]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Layout {
    /// ST910 reports with a cell id before the coordinates and an odometer after (`protocol_type = 1`).
    pub st910_extended: bool,
    /// Legacy reports append hour meter, backup battery and archive flag (`hbm`).
    pub hbm: bool,
    /// …followed by three analog inputs (`include_adc`, needs `hbm`).
    pub adc: bool,
    /// …followed by engine RPM (`include_rpm`, needs `hbm`).
    pub rpm: bool,
    /// …and three 1-Wire temperatures after the driver id (`include_temp`, needs `hbm`).
    pub temp: bool,
}

impl StreamProtocol for Suntech {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5011;
    const TRANSPORTS: Transports = Transports::TCP;
    type State = Layout;

    fn cut(d: &mut SuntechDecoder, buf: &[u8]) -> Cut {
        cut_frame(buf, d.max_frame)
    }
    fn decode(
        d: &mut SuntechDecoder,
        frame: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError> {
        decode::decode_frame(frame, ctx, &d.state).inspect(|out| d.remember(out))
    }
}

impl FromOptions for Layout {
    /// Options: `protocol_type` (0|1), `hbm`, `include_adc`, `include_rpm`, `include_temp`
    /// (true|false, all default false); other keys are rejected.
    fn from_options(protocol: &'static str, opts: &DecoderOptions) -> Result<Self, OptionsError> {
        // Traccar's settings are 0/1 for these; true/false is accepted too.
        let flag = |o: &mut OptionReader, key| {
            o.parse(key, false, "true or false (or 1 or 0)", |v| match v {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            })
        };
        opts.read(protocol, |o| {
            Ok(Layout {
                st910_extended: flag(o, "protocol_type")?,
                hbm: flag(o, "hbm")?,
                adc: flag(o, "include_adc")?,
                rpm: flag(o, "include_rpm")?,
                temp: flag(o, "include_temp")?,
            })
        })
    }
}
