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
    DecodeCtx, DecodeError, Decoded, Decoder, DecoderOptions, FrameResult, OptionsError, Protocol,
    Transports,
};
use crate::model::DeviceId;
use bytes::BytesMut;

pub use frame::{cut_frame, Cut};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "suntech";

/// The Suntech protocol (registry entry).
pub struct Suntech;

impl Protocol for Suntech {
    fn name(&self) -> &'static str {
        NAME
    }
    fn default_port(&self) -> u16 {
        5011
    }
    fn transports(&self) -> Transports {
        Transports {
            tcp: true,
            udp: false,
        }
    }
    fn new_decoder(&self, opts: &DecoderOptions) -> Result<Box<dyn Decoder>, OptionsError> {
        Ok(Box::new(SuntechDecoder::new(opts)?))
    }
}

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

/// Per-connection Suntech state: limits, layout options and the last id seen.
#[derive(Debug, Clone)]
pub struct SuntechDecoder {
    device: Option<DeviceId>,
    max_frame: usize,
    layout: Layout,
}

fn flag(key: &str, v: &str) -> Result<bool, OptionsError> {
    match v {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(OptionsError {
            protocol: NAME,
            key: key.to_string(),
            reason: format!("expected true or false, got {v:?}"),
        }),
    }
}

impl SuntechDecoder {
    /// A decoder for one connection. Options: `protocol_type` (0|1), `hbm`, `include_adc`,
    /// `include_rpm`, `include_temp` (true|false, all default false); other keys are rejected.
    pub fn new(opts: &DecoderOptions) -> Result<Self, OptionsError> {
        let mut layout = Layout::default();
        for (k, v) in &opts.options {
            match k.as_str() {
                "protocol_type" => layout.st910_extended = flag(k, v)?,
                "hbm" => layout.hbm = flag(k, v)?,
                "include_adc" => layout.adc = flag(k, v)?,
                "include_rpm" => layout.rpm = flag(k, v)?,
                "include_temp" => layout.temp = flag(k, v)?,
                _ => return Err(OptionsError::unknown(NAME, k)),
            }
        }
        Ok(SuntechDecoder {
            device: None,
            max_frame: opts.max_frame,
            layout,
        })
    }
}

impl Decoder for SuntechDecoder {
    fn frame(&mut self, buf: &mut BytesMut) -> FrameResult {
        frame::next_frame(buf, self.max_frame)
    }

    fn decode(&mut self, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        let d = decode::decode_frame(frame, ctx, &self.layout)?;
        if d.identity.is_some() {
            self.device.clone_from(&d.identity);
        }
        Ok(d)
    }

    fn device(&self) -> Option<&DeviceId> {
        self.device.as_ref()
    }
}
