//! Laipac S911 / LoLa trackers (Traccar's "laipac"): NMEA-style sentences over TCP, each
//! ended by CR LF and carrying an NMEA `*hh` checksum (verified).
//!
//! ```text
//! $AVRMC,<id>,hhmmss,<status>,ddmm.mmmm,N,dddmm.mmmm,W,<knots>,<course>,ddmmyy,<event>,
//!     <battery mV|V>,<mileage km>,<gps>,<adc1 mV>,<adc2 mV>[,<lac><cid hex>,<mcc><mnc>][,…]*hh
//!        status A/R/P valid, V invalid; lower case = "acknowledge me" → $EAVACK,<event>,<hh>*cs
//!        event 3/S/T/X/4/Y/Z → also $AVCFG,<password>,<d|t|x|y|z>*cs (clears the alarm)
//! $ECHK,<id>,<n>*hh                      keep-alive → echoed back
//! $AVSYS,<id>,…*hh                       system info (identity only)
//! $EAVSYS,<id>,<iccid>,<phone>,<owner>,<firmware>*hh   SIM info (event)
//! ```
//! See `protocol-docs/laipac.md`.

mod decode;
pub mod encode;
mod frame;
#[cfg(test)]
mod tests;

use super::{
    Cut, DecodeCtx, DecodeError, Decoded, DecoderOptions, FromOptions, OptionsError, StreamDecoder,
    StreamProtocol, Transports,
};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "laipac";

/// The Laipac protocol (registry entry).
pub struct Laipac;

/// Per-connection Laipac decoder.
pub type LaipacDecoder = StreamDecoder<Laipac>;

/// Options: the device password the `$AVCFG` alarm answers carry.
#[derive(Clone, Debug)]
pub struct LaipacState {
    /// Option `password` (default `00000000`, the factory password).
    pub password: String,
}

impl FromOptions for LaipacState {
    fn from_options(protocol: &'static str, opts: &DecoderOptions) -> Result<Self, OptionsError> {
        let password = opts.read(protocol, |r| {
            r.parse(
                "password",
                encode::DEFAULT_PASSWORD.to_string(),
                "1 to 16 letters or digits",
                |v| {
                    (!v.is_empty() && v.len() <= 16 && v.bytes().all(|b| b.is_ascii_alphanumeric()))
                        .then(|| v.to_string())
                },
            )
        })?;
        Ok(LaipacState { password })
    }
}

impl StreamProtocol for Laipac {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5048;
    const TRANSPORTS: Transports = Transports::TCP;
    type State = LaipacState;
    fn cut(d: &mut LaipacDecoder, buf: &[u8]) -> Cut {
        frame::cut(buf, d.max_frame)
    }
    fn decode(
        d: &mut LaipacDecoder,
        frame: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError> {
        decode::decode(d, frame, ctx)
    }
}
