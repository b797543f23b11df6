//! OwnTracks phones (MQTT, also HTTP mode) and generic MQTT JSON devices (configured mapping).
//!
//! ```text
//! MQTT  topic owntracks/<user>/<device>     → device id "<user>.<device>"
//!       {"_type":"location","tst":<unix s>,"lat":..,"lon":..,"vel":<km/h>,"cog":..,"alt":..,
//!        "acc":..,"batt":<%>,"bs":..,"t":..,"conn":..,"tid":..}          → PUBACK once durable
//!       other _type (transition, lwt, waypoint, card, cmd, status ...)   → kept or ignored
//! HTTP  POST the same JSON; identity from X-Limit-U / X-Limit-D headers, else the JSON
//!       `topic`                                                         → 200 `[]`
//! MQTT  any topic matching a configured [`Mapping`]: JSON fields picked by path
//! ```
//! Device ids are built from topic levels, which may hold anything; [`sanitize`] replaces
//! the characters a [`DeviceId`] cannot hold. Details: `protocol-docs/owntracks.md`.

mod location;
pub mod mapping;
#[cfg(test)]
mod tests;

pub use mapping::{Mapping, MappingError};

use super::{
    Cut, DecodeCtx, DecodeError, Decoded, Decoder, DecoderOptions, FrameResult, HttpRequest,
    OptionsError, ProtocolSpec, Transports,
};
use crate::model::device_id::MAX_DEVICE_ID_LEN;
use crate::model::DeviceId;
use bytes::{Bytes, BytesMut};

/// Registry name, the `protocol` label of OwnTracks records.
pub const NAME: &str = "owntracks";
/// `protocol` label of records decoded through a configured [`Mapping`].
pub const MAPPED_NAME: &str = "mqtt";
/// Largest JSON payload decoded (OwnTracks messages are a few hundred bytes).
pub const MAX_PAYLOAD: usize = 64 * 1024;

/// The OwnTracks protocol (registry entry). MQTT ingest (`ingest/mqtt.rs`) uses its decoder;
/// its `listen` address serves the HTTP mode (Traccar's port 5144).
pub struct OwnTracks;

impl ProtocolSpec for OwnTracks {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5144;
    const TRANSPORTS: Transports = Transports::NONE;
    const HTTP: bool = true;
    type Decoder = OwnTracksDecoder;
    /// The registry's decoder knows no mappings (`ingest/mqtt.rs` builds one with
    /// [`OwnTracksDecoder::with_mappings`]); OwnTracks has no options.
    fn decoder(opts: &DecoderOptions) -> Result<OwnTracksDecoder, OptionsError> {
        opts.no_options(NAME)?;
        Ok(OwnTracksDecoder::default())
    }
}

/// Replaces what a [`DeviceId`] cannot hold (`/`, `+`, `#`, whitespace, control characters)
/// with `_`, and cuts to [`MAX_DEVICE_ID_LEN`] characters; an empty level becomes `_`.
pub fn sanitize(level: &str) -> String {
    let s: String = level
        .chars()
        .map(|c| {
            if matches!(c, '/' | '+' | '#') || c.is_whitespace() || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .take(MAX_DEVICE_ID_LEN)
        .collect();
    if s.is_empty() {
        "_".into()
    } else {
        s
    }
}

/// `<user>.<device>` from the two topic levels, sanitized and within the length cap.
pub fn device_id(user: &str, device: &str) -> Result<DeviceId, DecodeError> {
    let id: String = format!("{}.{}", sanitize(user), sanitize(device))
        .chars()
        .take(MAX_DEVICE_ID_LEN)
        .collect();
    Ok(DeviceId::new(id)?)
}

/// Decoder for OwnTracks messages and, when given, mapped MQTT devices.
#[derive(Default)]
pub struct OwnTracksDecoder {
    mappings: Vec<Mapping>,
    device: Option<DeviceId>,
}

impl OwnTracksDecoder {
    /// A decoder that tries `mappings` (in order) before the OwnTracks topic layout.
    pub fn with_mappings(mappings: Vec<Mapping>) -> Self {
        OwnTracksDecoder {
            mappings,
            device: None,
        }
    }
}

impl Decoder for OwnTracksDecoder {
    fn frame(&mut self, buf: &mut BytesMut) -> FrameResult {
        // Not a stream protocol; see the osmand decoder for why bytes are dropped here.
        Cut::skip_all(buf).apply(buf)
    }

    fn decode(&mut self, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        let _ = (frame, ctx);
        Err(DecodeError::UnsupportedTransport("tcp"))
    }

    fn decode_mqtt(
        &mut self,
        topic: &str,
        payload: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(DecodeError::Invalid(format!(
                "payload of {} bytes is over {MAX_PAYLOAD}",
                payload.len()
            )));
        }
        let mut out = if let Some(m) = self.mappings.iter().find(|m| m.matches(topic)) {
            m.decode(topic, payload, ctx)?
        } else {
            let levels: Vec<&str> = topic.split('/').collect();
            if levels.len() < 3 {
                return Err(DecodeError::Invalid(format!(
                    "topic {topic:?} is not <prefix>/<user>/<device>"
                )));
            }
            let id = device_id(levels[1], levels[2])?;
            location::decode(id, payload, ctx)?
        };
        // The MQTT ACK is the PUBACK, sent by `ingest/mqtt.rs` when the accepted ACK is
        // released (after the records are durable); it has no bytes of its own. Without an
        // accepted ACK the message would never be acknowledged, and the broker stops
        // delivering once its in-flight window (Mosquitto: 20) is full of them.
        out.ack.accepted = Some(Bytes::new());
        if let Some(id) = &out.identity {
            self.device = Some(id.clone());
        }
        Ok(out)
    }

    fn decode_http(&mut self, req: &HttpRequest, ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        let id = match (req.header("x-limit-u"), req.header("x-limit-d")) {
            (Some(u), Some(d)) => device_id(u, d)?,
            _ => {
                let topic = location::topic_field(&req.body).ok_or_else(|| {
                    DecodeError::Invalid(
                        "no identity: send X-Limit-U and X-Limit-D headers or a `topic`".into(),
                    )
                })?;
                let levels: Vec<&str> = topic.split('/').collect();
                if levels.len() < 3 {
                    return Err(DecodeError::Invalid(format!(
                        "topic {topic:?} is not <prefix>/<user>/<device>"
                    )));
                }
                device_id(levels[1], levels[2])?
            }
        };
        let mut out = location::decode(id, &req.body, ctx)?;
        out.ack.accepted = Some(Bytes::from_static(b"[]"));
        if let Some(id) = &out.identity {
            self.device = Some(id.clone());
        }
        Ok(out)
    }

    fn device(&self) -> Option<&DeviceId> {
        self.device.as_ref()
    }
}
