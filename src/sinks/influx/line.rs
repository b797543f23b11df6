//! Records → InfluxDB line protocol, per the contract table in `design.md`.
//!
//! Lines are built with InfluxData's [`LineProtocolBuilder`], which escapes `,` `=` and space in
//! tags and field keys and `"` `\` in string fields. It does not guard against everything an
//! InfluxDB 1.x / 2.x server misreads, so this module checks the input first:
//!
//! * **Line breaks** (`\n`, `\r`) are never written. The builder would emit them raw; a line
//!   break in a tag ends the line mid-point, and although InfluxDB 1.6 accepts one inside a
//!   quoted string field, VictoriaMetrics and any line-splitting tool do not. A tag with a line
//!   break rejects the whole line; a string field with one is left out (and counted).
//! * **Backslashes in identifiers** (tag keys, tag values, field keys) are rejected: the builder
//!   writes `\\`, which InfluxDB 3 reads back as `\` but InfluxDB 1.x/2.x stores as `\\`
//!   (measured on 1.6.7), so no encoding round-trips on both. Backslashes in *string field
//!   values* are fine (every version unescapes `\\`).
//! * **Non-finite floats** (NaN, ±inf) are left out: the builder would print `NaN` / `inf`,
//!   which no server parses, and that would fail the whole request.
//! * **Empty tag values** are not allowed by the protocol: an optional tag is omitted, a
//!   required one rejects the line.
//!
//! Timestamps are written in **nanoseconds** (`precision=ns`), so a point's time is exactly the
//! record's time and replays overwrite the same point. Times outside InfluxDB's range
//! (1677-09-21 .. 2262-04-11) reject the line.

use crate::model::{Alarm, Alert, DeviceEvent, EtaUpdate, EventKind, IoValue, Position, Record};
use chrono::{DateTime, Utc};
use influxdb_line_protocol::builder::{AfterField, AfterMeasurement};
use influxdb_line_protocol::LineProtocolBuilder;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Longest tag value or key accepted, in bytes. Device ids are ≤ 64 characters; shipment and
/// stop ids come from the API. InfluxDB indexes every tag value, so a device or client must
/// not be able to make huge series keys (InfluxDB 1.x caps a whole series key at 64 KiB).
pub const MAX_IDENT_BYTES: usize = 256;

/// Longest string field value written, in bytes: InfluxDB's documented string field limit
/// (64 KiB). Longer values are left out rather than truncated, so what is stored is exact.
pub const MAX_STRING_FIELD_BYTES: usize = 64 * 1024;

/// Field keys of `position` that IO keys must never shadow; IO keys are written as `io_<key>`
/// (keys already starting with `io_` are kept), so they cannot collide with these.
const IO_PREFIX: &str = "io_";

/// Why a whole line was not written. Each one is logged and counted as a bad line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LineError {
    /// A tag value or key cannot be written losslessly (see the module doc).
    #[error("{measurement} tag {tag} = {value:?}: {reason}")]
    BadTag {
        measurement: &'static str,
        tag: &'static str,
        value: String,
        reason: IdentProblem,
    },
    /// The timestamp does not fit InfluxDB's signed 64-bit nanoseconds.
    #[error("{measurement} time {time} is outside InfluxDB's range (1677..2262)")]
    TimeOutOfRange {
        measurement: &'static str,
        time: DateTime<Utc>,
    },
    /// A fix whose latitude or longitude is not a finite number is not a position.
    #[error("position of {device}: lat/lon not finite ({lat}, {lon})")]
    NonFiniteCoordinates { device: String, lat: f64, lon: f64 },
    /// Every field was left out, and a line needs at least one.
    #[error("{measurement} point of {device}: no writable field left")]
    NoFields {
        measurement: &'static str,
        device: String,
    },
}

/// What is wrong with an identifier (tag key/value or field key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdentProblem {
    /// Empty tag values and keys are not valid line protocol.
    #[error("empty")]
    Empty,
    /// Longer than [`MAX_IDENT_BYTES`].
    #[error("longer than {MAX_IDENT_BYTES} bytes")]
    TooLong,
    /// Contains a line break or other control character.
    #[error("contains a control character")]
    Control,
    /// Contains `\`, read differently by InfluxDB 1.x/2.x and 3.x.
    #[error("contains a backslash")]
    Backslash,
}

fn check_ident(s: &str) -> Result<(), IdentProblem> {
    if s.is_empty() {
        return Err(IdentProblem::Empty);
    }
    if s.len() > MAX_IDENT_BYTES {
        return Err(IdentProblem::TooLong);
    }
    for c in s.chars() {
        if c == '\\' {
            return Err(IdentProblem::Backslash);
        }
        if c.is_control() {
            return Err(IdentProblem::Control);
        }
    }
    Ok(())
}

/// Why one string field value is left out, or `None` when it can be written.
fn string_field_problem(s: &str) -> Option<&'static str> {
    if s.len() > MAX_STRING_FIELD_BYTES {
        Some("longer than 64 KiB")
    } else if s.contains(['\n', '\r']) {
        Some("contains a line break")
    } else {
        None
    }
}

/// A line under construction: tracks whether a field has been written yet, because the
/// builder's typestate distinguishes the first field from the following ones.
enum Fields<'b> {
    None(LineProtocolBuilder<&'b mut Vec<u8>, AfterMeasurement>),
    Some(LineProtocolBuilder<&'b mut Vec<u8>, AfterField>),
}

impl<'b> Fields<'b> {
    fn float(self, key: &str, v: f64, dropped: &mut usize) -> Self {
        if !v.is_finite() {
            *dropped += 1;
            tracing::warn!(field = key, value = v, "influx: non-finite float left out");
            return self;
        }
        self.put(key, v)
    }

    fn string(self, key: &str, v: &str, dropped: &mut usize) -> Self {
        if let Some(reason) = string_field_problem(v) {
            *dropped += 1;
            tracing::warn!(field = key, reason, "influx: string field left out");
            return self;
        }
        self.put(key, v)
    }

    fn put<F: influxdb_line_protocol::builder::FieldValue>(self, key: &str, v: F) -> Self {
        match self {
            Fields::None(b) => Fields::Some(b.field(key, v)),
            Fields::Some(b) => Fields::Some(b.field(key, v)),
        }
    }

    fn io(mut self, attrs: &BTreeMap<String, IoValue>, dropped: &mut usize) -> Self {
        // One buffer for the prefixed keys of the whole record (no allocation per field).
        let mut prefixed = String::new();
        for (key, value) in attrs {
            let key: &str = if key.starts_with(IO_PREFIX) {
                key
            } else {
                prefixed.clear();
                prefixed.push_str(IO_PREFIX);
                prefixed.push_str(key);
                &prefixed
            };
            if let Err(problem) = check_ident(key) {
                *dropped += 1;
                tracing::warn!(field = %key, %problem, "influx: IO key left out");
                continue;
            }
            self = match value {
                IoValue::Bool(b) => self.put(key, *b),
                IoValue::Int(i) => self.put(key, *i),
                IoValue::Float(f) => self.float(key, *f, dropped),
                IoValue::Text(t) => self.string(key, t, dropped),
            };
        }
        self
    }

    /// Ends the line; `false` when no field was written (the caller rolls the line back).
    fn finish(self, ts: i64) -> bool {
        match self {
            Fields::None(_) => false,
            Fields::Some(b) => {
                b.timestamp(ts).close_line();
                true
            }
        }
    }
}

fn nanos(measurement: &'static str, t: DateTime<Utc>) -> Result<i64, LineError> {
    t.timestamp_nanos_opt().ok_or(LineError::TimeOutOfRange {
        measurement,
        time: t,
    })
}

fn tag_ok(measurement: &'static str, tag: &'static str, value: &str) -> Result<(), LineError> {
    check_ident(value).map_err(|reason| LineError::BadTag {
        measurement,
        tag,
        value: value.chars().take(80).collect(),
        reason,
    })
}

/// The `type` tag of an alarm event: `alarm_` + the alarm's snake_case name.
///
/// One series per alarm kind (not `type=alarm` for all) so two different alarms raised with the
/// same fix are two points, not one overwriting the other (points are keyed by tags + time).
pub fn alarm_type(alarm: Alarm) -> String {
    format!("alarm_{}", alarm_name(alarm))
}

/// The snake_case name of an alarm, as serde writes it (`sos`, `power_cut` ...).
pub fn alarm_name(alarm: Alarm) -> String {
    match serde_json::to_value(alarm) {
        Ok(serde_json::Value::String(s)) => s,
        // Alarm is a fieldless enum; serde always yields a string. Keep a readable fallback
        // rather than a panic should that ever change.
        _ => format!("{alarm:?}").to_lowercase(),
    }
}

/// Encoded lines plus where each one ends, so a rejected batch can be split line by line.
///
/// Lines never contain a raw line break (see the module doc), so `ends` and the `\n`
/// separators agree; keeping offsets just avoids rescanning.
#[derive(Debug, Default, Clone)]
pub struct LineBatch {
    buf: Vec<u8>,
    ends: Vec<usize>,
    bad_lines: usize,
    dropped_fields: usize,
}

impl LineBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty batch with room for about `records` records, so encoding a log segment does
    /// not regrow (and copy) the buffer a dozen times. 320 bytes is a typical position line
    /// with a handful of IO fields.
    pub fn with_capacity(records: usize) -> Self {
        LineBatch {
            buf: Vec::with_capacity(records.saturating_mul(320)),
            ends: Vec::with_capacity(records),
            ..Self::default()
        }
    }

    /// Number of lines encoded.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when no line was encoded.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Lines rejected while encoding (each logged).
    pub fn bad_lines(&self) -> usize {
        self.bad_lines
    }

    /// Fields left out of otherwise written lines (each logged).
    pub fn dropped_fields(&self) -> usize {
        self.dropped_fields
    }

    /// The whole body: every line, each ending in `\n`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Bytes of lines `range` (contiguous), for writing a chunk or half of the batch.
    pub fn lines(&self, range: std::ops::Range<usize>) -> &[u8] {
        let start = match range.start {
            0 => 0,
            i => self.ends.get(i - 1).copied().unwrap_or(self.buf.len()),
        };
        let end = match range.end {
            0 => 0,
            i => self.ends.get(i - 1).copied().unwrap_or(self.buf.len()),
        };
        self.buf.get(start..end.max(start)).unwrap_or(&[])
    }

    /// Encodes one record: a position (plus one `event` per alarm it carries) or an event.
    /// Bad lines are counted and logged, never returned: one bad record must not hold up the
    /// records around it.
    pub fn push_record(&mut self, record: &Record) {
        match record {
            Record::Position(p) => {
                let r = self.push_position(p);
                self.note(r);
                for alarm in &p.alarms {
                    let r = self.push_event_parts(EventParts {
                        device: p.device.as_str(),
                        geofence: None,
                        kind: &alarm_type(*alarm),
                        shipment: None,
                        message: &alarm_name(*alarm),
                        lat: Some(p.lat),
                        lon: Some(p.lon),
                        value: None,
                        time: p.fix_time,
                        attributes: None,
                    });
                    self.note(r);
                }
            }
            Record::Event(e) => {
                let r = self.push_device_event(e);
                self.note(r);
            }
            Record::Eta(e) => {
                let r = self.push_eta(e);
                self.note(r);
            }
            Record::Alert(a) => {
                let r = self.push_alert(a);
                self.note(r);
            }
            // The audit trail is not a time series of the fleet.
            Record::Audit(_) => {}
        }
    }

    fn note(&mut self, r: Result<(), LineError>) {
        if let Err(e) = r {
            self.bad_lines += 1;
            tracing::warn!(error = %e, "influx: line rejected before sending");
        }
    }

    /// Closes a line started at `start` or rolls it back when it has no field.
    fn commit(&mut self, start: usize, written: bool) -> bool {
        if written {
            self.ends.push(self.buf.len());
        } else {
            self.buf.truncate(start);
        }
        written
    }

    /// Encodes one `position` line.
    pub fn push_position(&mut self, p: &Position) -> Result<(), LineError> {
        const M: &str = "position";
        tag_ok(M, "device", p.device.as_str())?;
        tag_ok(M, "protocol", &p.protocol)?;
        let ts = nanos(M, p.fix_time)?;
        if !p.lat.is_finite() || !p.lon.is_finite() {
            return Err(LineError::NonFiniteCoordinates {
                device: p.device.to_string(),
                lat: p.lat,
                lon: p.lon,
            });
        }
        let start = self.buf.len();
        let mut dropped = 0;
        let b = LineProtocolBuilder::new_with(&mut self.buf)
            .measurement(M)
            .tag("device", p.device.as_str())
            .tag("protocol", &p.protocol);
        let mut f = Fields::None(b)
            .put("lat", p.lat)
            .put("lon", p.lon)
            .float("speed", p.speed_kmh, &mut dropped)
            .float("course", p.course, &mut dropped)
            .float("altitude", p.altitude_m, &mut dropped)
            .put("satellites", i64::from(p.satellites))
            .put("valid", p.valid);
        if let Some(ign) = p.ignition {
            f = f.put("ignition", ign);
        }
        if let Some(v) = p.odometer_m {
            f = f.float("odometer", v, &mut dropped);
        }
        if let Some(v) = p.battery_v {
            f = f.float("battery", v, &mut dropped);
        }
        if let Some(v) = p.power_v {
            f = f.float("power", v, &mut dropped);
        }
        let f = f.io(&p.io, &mut dropped);
        let written = f.finish(ts);
        self.dropped_fields += dropped;
        self.commit(start, written);
        Ok(())
    }

    /// Encodes one `eta` line: tracking's estimate for one stop, at the time of the fix that
    /// produced it.
    pub fn push_eta(&mut self, e: &EtaUpdate) -> Result<(), LineError> {
        const M: &str = "eta";
        tag_ok(M, "shipment", &e.shipment)?;
        tag_ok(M, "stop", &e.stop)?;
        tag_ok(M, "device", e.device.as_str())?;
        let ts = nanos(M, e.fix_time)?;
        let start = self.buf.len();
        let mut dropped = 0;
        let b = LineProtocolBuilder::new_with(&mut self.buf)
            .measurement(M)
            .tag("device", e.device.as_str())
            .tag("shipment", &e.shipment)
            .tag("stop", &e.stop);
        let written = Fields::None(b)
            .put("eta", e.eta.timestamp())
            .put("planned", e.planned.timestamp())
            .put("deviation", e.deviation_s)
            .float("remaining", e.remaining_m, &mut dropped)
            .float("progress", e.progress, &mut dropped)
            .float("off_route", e.off_route_m, &mut dropped)
            .string("status", e.status.as_str(), &mut dropped)
            .finish(ts);
        self.dropped_fields += dropped;
        self.commit(start, written);
        Ok(())
    }

    /// Encodes one `event` line for a tracking alert (exception, stop event, device alarm).
    pub fn push_alert(&mut self, a: &Alert) -> Result<(), LineError> {
        self.push_event_parts(EventParts {
            device: a.device.as_str(),
            geofence: a.geofence.as_deref(),
            kind: &a.kind,
            shipment: a.shipment.as_deref(),
            message: &a.message,
            lat: a.lat,
            lon: a.lon,
            value: a.value,
            time: a.time,
            attributes: None,
        })
    }

    /// Encodes one `event` line for a device event. `type` is the snake_case name of the
    /// event kind (`login`, `heartbeat`, `logout`, `command_result`, `info`), or
    /// `alarm_<kind>` for alarms; `message` is the alarm kind, the command reply text or the
    /// info name (empty for login / heartbeat / logout). Event attributes become `io_*` fields
    /// exactly as a position's IO does.
    pub fn push_device_event(&mut self, e: &DeviceEvent) -> Result<(), LineError> {
        let (kind, message): (Cow<'_, str>, Cow<'_, str>) = match &e.kind {
            EventKind::Login => ("login".into(), "".into()),
            EventKind::Heartbeat => ("heartbeat".into(), "".into()),
            EventKind::Logout => ("logout".into(), "".into()),
            EventKind::Alarm { alarm } => (alarm_type(*alarm).into(), alarm_name(*alarm).into()),
            EventKind::CommandResult { text } => ("command_result".into(), text.as_str().into()),
            EventKind::Info { name } => ("info".into(), name.as_str().into()),
        };
        self.push_event_parts(EventParts {
            device: e.device.as_str(),
            geofence: None,
            kind: &kind,
            shipment: None,
            message: &message,
            lat: None,
            lon: None,
            value: None,
            time: e.time,
            attributes: Some(&e.attributes),
        })
    }

    fn push_event_parts(&mut self, e: EventParts<'_>) -> Result<(), LineError> {
        const M: &str = "event";
        tag_ok(M, "device", e.device)?;
        tag_ok(M, "type", e.kind)?;
        if let Some(s) = e.shipment {
            tag_ok(M, "shipment", s)?;
        }
        if let Some(g) = e.geofence {
            tag_ok(M, "geofence", g)?;
        }
        let ts = nanos(M, e.time)?;
        let start = self.buf.len();
        let mut dropped = 0;
        let mut b = LineProtocolBuilder::new_with(&mut self.buf)
            .measurement(M)
            .tag("device", e.device);
        // Tags in key order (device, geofence, shipment, type), as InfluxDB sorts them.
        if let Some(g) = e.geofence {
            b = b.tag("geofence", g);
        }
        if let Some(s) = e.shipment {
            b = b.tag("shipment", s);
        }
        let b = b.tag("type", e.kind);
        let mut f = Fields::None(b).string("message", e.message, &mut dropped);
        if let Some(v) = e.lat {
            f = f.float("lat", v, &mut dropped);
        }
        if let Some(v) = e.lon {
            f = f.float("lon", v, &mut dropped);
        }
        if let Some(v) = e.value {
            f = f.float("value", v, &mut dropped);
        }
        if let Some(attrs) = e.attributes {
            f = f.io(attrs, &mut dropped);
        }
        let written = f.finish(ts);
        self.dropped_fields += dropped;
        if self.commit(start, written) {
            Ok(())
        } else {
            Err(LineError::NoFields {
                measurement: M,
                device: e.device.to_string(),
            })
        }
    }
}

/// Borrowed view shared by device events, position alarms and tracking events.
struct EventParts<'a> {
    device: &'a str,
    /// The geofence of a fleet event (tag `geofence`).
    geofence: Option<&'a str>,
    kind: &'a str,
    shipment: Option<&'a str>,
    message: &'a str,
    lat: Option<f64>,
    lon: Option<f64>,
    value: Option<f64>,
    time: DateTime<Utc>,
    attributes: Option<&'a BTreeMap<String, IoValue>>,
}

#[cfg(test)]
#[path = "line_tests.rs"]
mod tests;
