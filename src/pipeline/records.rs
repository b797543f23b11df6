//! How a [`Record`] is encoded in the log, for every backend.
//!
//! Records are stored as JSON (self-describing, so a record written by an older build still
//! reads after a field is added). serde writes the `record` tag of [`Record`] first, which
//! lets consumers skip kinds they do not use without decoding them ([`record_kind`]).

use crate::model::Record;
use bytes::Bytes;

/// A stored record that does not decode.
pub type DecodeError = serde_json::Error;

/// Encodes a record for the log.
pub fn encode_record(r: &Record) -> Bytes {
    // Serializing plain data with string keys cannot fail.
    Bytes::from(serde_json::to_vec(r).unwrap_or_default())
}

/// The kind of a stored record (`position`, `event`, `eta`, `alert`) read from its first
/// bytes without decoding it: a stored record starts with `{"record":"<kind>"`. `None` when
/// it does not (then decode it).
pub fn record_kind(b: &[u8]) -> Option<&str> {
    let rest = b.strip_prefix(br#"{"record":""#)?;
    let end = rest.iter().take(16).position(|&c| c == b'"')?;
    std::str::from_utf8(&rest[..end]).ok()
}

/// Decodes a record read back from the log.
pub fn decode_record(b: &[u8]) -> Result<Record, DecodeError> {
    serde_json::from_slice(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DeviceEvent, DeviceId, EventKind, Position};
    use chrono::{TimeZone, Utc};

    #[test]
    fn record_kind_is_read_from_the_stored_prefix() {
        let t = Utc.timestamp_opt(1_764_215_276, 0).unwrap();
        let dev = DeviceId::new("123456789012345").unwrap();
        let p = Record::Position(Position::new(dev.clone(), "gt06", t, t, 1.0, 2.0, true));
        let e = Record::Event(DeviceEvent::new(dev, "gt06", t, EventKind::Heartbeat));
        assert_eq!(record_kind(&encode_record(&p)), Some("position"));
        assert_eq!(record_kind(&encode_record(&e)), Some("event"));
        assert_eq!(decode_record(&encode_record(&p)).unwrap(), p);
        // Anything else is "unknown" (decoded in full), never a wrong kind.
        assert_eq!(record_kind(br#"{"lat":1,"record":"position"}"#), None);
        assert_eq!(record_kind(br#"{"record":"#), None);
        assert_eq!(record_kind(b""), None);
    }
}
