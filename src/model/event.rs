use super::{DeviceId, IoValue};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Alarm kinds a device can raise, normalized across protocols.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alarm {
    /// SOS / panic button.
    Sos,
    Overspeed,
    /// External power cut / main power off.
    PowerCut,
    /// External power low.
    LowPower,
    /// Internal battery low.
    LowBattery,
    PowerOn,
    PowerOff,
    Vibration,
    Movement,
    /// Device removed / case opened / tamper switch.
    Tamper,
    GeofenceEnter,
    GeofenceExit,
    Collision,
    Rollover,
    Fatigue,
    /// GSM / GNSS jamming detected.
    Jamming,
    /// GNSS antenna or module fault.
    GnssFault,
    Door,
    Tow,
    Idle,
    HarshAcceleration,
    HarshBraking,
    HarshCornering,
    FallDown,
    /// Any alarm the protocol flags without a more specific kind.
    General,
}

/// What a [`DeviceEvent`] reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The device identified itself (login frame, IMEI handshake, JT/T 808 auth).
    Login,
    /// Keep-alive / status report without a fix.
    Heartbeat,
    /// The device said it is going away (JT/T 808 0x0003).
    Logout,
    /// An alarm reported without a usable fix.
    Alarm { alarm: Alarm },
    /// The device's answer to a server command (Teltonika codec 12/13, GT06 0x15/0x21 ...).
    CommandResult { text: String },
    /// Any other report worth keeping (information transfer, LBS-only cell data ...).
    Info { name: String },
}

/// Something a device reported that is not a location fix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceEvent {
    pub device: DeviceId,
    pub protocol: Cow<'static, str>,
    /// Device time when the frame carries one, else the time it was received.
    pub time: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: EventKind,
    /// Extra values (battery level, GSM signal, cell ids ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, IoValue>,
}

impl DeviceEvent {
    /// An event with no attributes.
    pub fn new(
        device: DeviceId,
        protocol: &'static str,
        time: DateTime<Utc>,
        kind: EventKind,
    ) -> Self {
        DeviceEvent {
            device,
            protocol: Cow::Borrowed(protocol),
            time,
            kind,
            attributes: BTreeMap::new(),
        }
    }
}
