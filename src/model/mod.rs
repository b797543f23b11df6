//! Plain data shared by everything downstream of the protocol decoders.
//!
//! Units are converted exactly once, in the decoder that reads them off the wire: from here on
//! a speed is always km/h, a distance metres, a voltage volts and a time UTC.

mod audit;
pub mod device_id;
mod event;
mod position;
mod tracking;
mod view;

pub use audit::AuditEntry;
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
    /// A state-changing API request (the audit trail). Not a device's record.
    Audit(AuditEntry),
}

impl Record {
    /// The device the record belongs to (`None` for audit entries).
    pub fn device(&self) -> Option<&DeviceId> {
        match self {
            Record::Position(p) => Some(&p.device),
            Record::Event(e) => Some(&e.device),
            Record::Eta(e) => Some(&e.device),
            Record::Alert(a) => Some(&a.device),
            Record::Audit(_) => None,
        }
    }
}
