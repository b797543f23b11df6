//! Plain data shared by everything downstream of the protocol decoders.
//!
//! Units are converted exactly once, in the decoder that reads them off the wire: from here on
//! a speed is always km/h, a distance metres, a voltage volts and a time UTC.

pub mod device_id;
mod event;
mod position;
mod tracking;
mod view;

pub use device_id::{DeviceId, InvalidDeviceId};
pub use event::{Alarm, DeviceEvent, EventKind};
pub use position::{IoValue, Position};
pub use tracking::{Alert, AlertState, EtaUpdate, StopStatus};
pub use view::PositionView;

use serde::{Deserialize, Serialize};

/// One durable unit of data produced by a decoder: what the write-ahead log stores and every
/// sink consumes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    /// A location fix (valid or not).
    Position(Position),
    /// Something the device reported that is not a fix: login, heartbeat, alarm, command reply.
    Event(DeviceEvent),
    /// An ETA publication from tracking (derived data, appended to the log by tracking).
    Eta(EtaUpdate),
    /// An alert from tracking: exception transition, stop event or device alarm.
    Alert(Alert),
}

impl Record {
    /// The device the record belongs to.
    pub fn device(&self) -> &DeviceId {
        match self {
            Record::Position(p) => &p.device,
            Record::Event(e) => &e.device,
            Record::Eta(e) => &e.device,
            Record::Alert(a) => &a.device,
        }
    }
}
