//! OsmAnd and Traccar Client phone apps: one HTTP request per fix (port 5055).
//!
//! ```text
//! GET|POST /?id=<uid>&lat=<deg>&lon=<deg>&timestamp=<s|ms|ISO-8601|yyyy-MM-dd HH:mm:ss>
//!            &speed=<knots>&bearing=<deg>&altitude=<m>&accuracy=<m>&batt=<%>...   → 200, empty
//! POST application/x-www-form-urlencoded  (the same keys in the body)             → 200, empty
//! POST application/json  {"device_id", "location": {timestamp, coords: {latitude, longitude,
//!            speed m/s, heading, altitude, accuracy}, battery: {level 0..1, is_charging},
//!            is_moving, odometer, event, activity, extras}}  — or an array of locations
//! missing id / lat without lon / bad number → 400 with the reason as text
//! ```
//! The query `speed` is knots as the Traccar Client sends it; the original OsmAnd app sends
//! m/s, so `[protocols.osmand.options] speed_unit = "knots" | "kmh" | "ms"` selects it. JSON
//! speeds are always m/s. The fix time is always the payload's (apps replay offline buffers);
//! only a request without any timestamp is stamped with the receive time.
//! Details: `protocol-docs/osmand.md`.

mod json;
mod query;
#[cfg(test)]
mod tests;
mod values;

use super::{
    Cut, DecodeCtx, DecodeError, Decoded, Decoder, DecoderOptions, FrameResult, HttpRequest,
    OptionsError, ProtocolSpec, Transports,
};
use crate::model::DeviceId;
use bytes::{Bytes, BytesMut};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "osmand";

/// Knots → km/h.
pub const KNOTS_TO_KMH: f64 = super::wire::KNOT_KMH;
/// m/s → km/h.
pub const MS_TO_KMH: f64 = 3.6;

/// The OsmAnd protocol (registry entry).
pub struct OsmAnd;

impl ProtocolSpec for OsmAnd {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5055;
    const TRANSPORTS: Transports = Transports::NONE;
    const HTTP: bool = true;
    type Decoder = OsmAndDecoder;
    fn decoder(opts: &DecoderOptions) -> Result<OsmAndDecoder, OptionsError> {
        OsmAndDecoder::new(opts)
    }
}

/// Unit of the query/form `speed` parameter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SpeedUnit {
    /// Traccar Client (the default, as Traccar reads it).
    #[default]
    Knots,
    Kmh,
    /// The OsmAnd app's own documentation.
    Ms,
}

impl SpeedUnit {
    /// Factor to km/h.
    pub fn to_kmh(self) -> f64 {
        match self {
            SpeedUnit::Knots => KNOTS_TO_KMH,
            SpeedUnit::Kmh => 1.0,
            SpeedUnit::Ms => MS_TO_KMH,
        }
    }
}

/// Protocol options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// `speed_unit`: see [`SpeedUnit`].
    pub speed_unit: SpeedUnit,
}

impl Settings {
    /// Parses the option map, rejecting unknown keys and values.
    pub fn from_options(opts: &DecoderOptions) -> Result<Self, OptionsError> {
        let expected = "\"knots\", \"kmh\" or \"ms\"";
        opts.read(NAME, |o| {
            Ok(Settings {
                speed_unit: o.parse("speed_unit", SpeedUnit::default(), expected, |v| match v {
                    "knots" => Some(SpeedUnit::Knots),
                    "kmh" => Some(SpeedUnit::Kmh),
                    "ms" => Some(SpeedUnit::Ms),
                    _ => None,
                })?,
            })
        })
    }
}

/// Decoder for OsmAnd requests; one per request, it keeps nothing between them but the id.
pub struct OsmAndDecoder {
    settings: Settings,
    device: Option<DeviceId>,
}

impl OsmAndDecoder {
    /// A decoder; fails on unknown or malformed options.
    pub fn new(opts: &DecoderOptions) -> Result<Self, OptionsError> {
        Ok(OsmAndDecoder {
            settings: Settings::from_options(opts)?,
            device: None,
        })
    }
}

fn is_json(req: &HttpRequest) -> bool {
    match req.content_type().as_deref() {
        Some("application/json") => true,
        Some(_) => false,
        None => matches!(
            req.body.iter().find(|b| !b.is_ascii_whitespace()),
            Some(b'{' | b'[')
        ),
    }
}

impl Decoder for OsmAndDecoder {
    fn frame(&mut self, buf: &mut BytesMut) -> FrameResult {
        // Not a stream protocol: the HTTP shell hands over whole requests. Anything reaching
        // here is dropped so a misconfigured stream listener makes progress.
        Cut::skip_all(buf).apply(buf)
    }

    fn decode(&mut self, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        let _ = (frame, ctx);
        Err(DecodeError::UnsupportedTransport("tcp"))
    }

    fn decode_http(&mut self, req: &HttpRequest, ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        let mut out = if !req.body.is_empty() && is_json(req) {
            json::decode(&req.body, ctx)?
        } else {
            let mut params = query::parse(req.query.as_bytes());
            let form = req.content_type().as_deref() == Some("application/x-www-form-urlencoded")
                || req.content_type().is_none();
            if !req.body.is_empty() && form {
                params.extend(query::parse(&req.body));
            }
            query::decode(&params, ctx, self.settings)?
        };
        out.ack.accepted = Some(Bytes::new());
        if let Some(id) = &out.identity {
            self.device = Some(id.clone());
        }
        Ok(out)
    }

    fn device(&self) -> Option<&DeviceId> {
        self.device.as_ref()
    }
}
