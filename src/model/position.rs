use super::{Alarm, DeviceId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// A value of a device-specific attribute that has no field of its own in [`Position`]
/// (Teltonika IO elements, JT/T 808 additional items, GT06 status bytes ...).
///
/// Stored as the bare JSON value (`true`, `42`, `12.5`, `"abc"`). Deserialized by a visitor
/// rather than `#[serde(untagged)]`: untagged tries each variant in turn and formats an error
/// message for every miss, which made reading a Teltonika record back from the log spend a
/// tenth of its time building error strings.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum IoValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Text, or raw bytes rendered as lowercase hex.
    Text(String),
}

impl<'de> Deserialize<'de> for IoValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = IoValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a boolean, number or string")
            }
            fn visit_bool<E>(self, v: bool) -> Result<IoValue, E> {
                Ok(IoValue::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<IoValue, E> {
                Ok(IoValue::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<IoValue, E> {
                // Past i64 the untagged form fell through to Float; keep reading it the same.
                Ok(i64::try_from(v).map_or(IoValue::Float(v as f64), IoValue::Int))
            }
            fn visit_f64<E>(self, v: f64) -> Result<IoValue, E> {
                Ok(IoValue::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<IoValue, E> {
                Ok(IoValue::Text(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<IoValue, E> {
                Ok(IoValue::Text(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// One normalized location fix.
///
/// Every decoder produces this shape with the same units, so nothing downstream knows which
/// protocol a fix came from except through the `protocol` label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// Who sent it.
    pub device: DeviceId,
    /// Registry name of the protocol that decoded it (`gt06`, `teltonika`, ...).
    pub protocol: Cow<'static, str>,
    /// When the fix was taken, UTC (device clock, converted from the device's time zone).
    pub fix_time: DateTime<Utc>,
    /// When the gateway received the frame (the decoder's `now`).
    pub received: DateTime<Utc>,
    /// Latitude, degrees WGS-84, south negative.
    pub lat: f64,
    /// Longitude, degrees WGS-84, west negative.
    pub lon: f64,
    /// Ground speed, km/h.
    pub speed_kmh: f64,
    /// Course over ground, degrees clockwise from north.
    pub course: f64,
    /// Altitude, metres (0 when the protocol does not report it).
    pub altitude_m: f64,
    /// Satellites used (0 when unknown).
    pub satellites: u8,
    /// The device says the fix is valid (GNSS fixed).
    pub valid: bool,
    /// Ignition / ACC state, when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignition: Option<bool>,
    /// Total odometer, metres, when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub odometer_m: Option<f64>,
    /// Internal battery voltage, volts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery_v: Option<f64>,
    /// External (vehicle) power voltage, volts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_v: Option<f64>,
    /// Horizontal accuracy, metres (phones), or HDOP-derived estimate, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
    /// Alarms the device raised with this fix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<Alarm>,
    /// True when the device marked the fix as a backlog / blind-area re-upload: it is stored
    /// but never moves the live position backwards.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub historical: bool,
    /// Protocol-specific attributes, keyed by a stable name (`io_239`, `rssi`, `fuel_l` ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub io: BTreeMap<String, IoValue>,
}

impl Position {
    /// A fix with the required fields set and every optional one empty.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        device: DeviceId,
        protocol: &'static str,
        fix_time: DateTime<Utc>,
        received: DateTime<Utc>,
        lat: f64,
        lon: f64,
        valid: bool,
    ) -> Self {
        Position {
            device,
            protocol: Cow::Borrowed(protocol),
            fix_time,
            received,
            lat,
            lon,
            speed_kmh: 0.0,
            course: 0.0,
            altitude_m: 0.0,
            satellites: 0,
            valid,
            ignition: None,
            odometer_m: None,
            battery_v: None,
            power_v: None,
            accuracy_m: None,
            alarms: Vec::new(),
            historical: false,
            io: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod io_value_tests {
    use super::IoValue;

    #[test]
    fn reads_back_what_it_writes_and_what_untagged_read() {
        for (v, json) in [
            (IoValue::Bool(true), "true"),
            (IoValue::Int(-71), "-71"),
            (IoValue::Int(i64::MAX), "9223372036854775807"),
            (IoValue::Float(12.61), "12.61"),
            (IoValue::Float(1.0), "1.0"),
            (
                IoValue::Text("8931440400012345678".into()),
                "\"8931440400012345678\"",
            ),
        ] {
            assert_eq!(serde_json::to_string(&v).unwrap(), json);
            assert_eq!(serde_json::from_str::<IoValue>(json).unwrap(), v, "{json}");
        }
        // Beyond i64 the untagged form read a Float; so does this one.
        assert_eq!(
            serde_json::from_str::<IoValue>("18446744073709551615").unwrap(),
            IoValue::Float(u64::MAX as f64)
        );
        assert!(serde_json::from_str::<IoValue>("null").is_err());
        assert!(serde_json::from_str::<IoValue>("[1]").is_err());
    }
}
