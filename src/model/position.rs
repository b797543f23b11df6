use super::{Alarm, DeviceId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// A value of a device-specific attribute that has no field of its own in [`Position`]
/// (Teltonika IO elements, JT/T 808 additional items, GT06 status bytes ...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IoValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Text, or raw bytes rendered as lowercase hex.
    Text(String),
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
