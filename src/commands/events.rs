//! A command's transitions as events: `command_sent`, `command_acknowledged`,
//! `command_failed`. They are appended to the durable log as alerts (state `info`), so they
//! reach every output the other events reach — InfluxDB `event`, MQTT
//! `trackgate/events/{type}/{device}`, webhooks (filterable by type), `/api/events` and the
//! stream — in the same order, with a deterministic id (`command-<id>-<type>`) so a replay
//! is deduplicated like any alert.

use super::CommandRow;
use crate::model::{Alert, AlertState, DeviceId};
use chrono::{DateTime, Utc};

/// Event type of a command written to its device.
pub const SENT: &str = "command_sent";
/// Event type of a command the device answered.
pub const ACKNOWLEDGED: &str = "command_acknowledged";
/// Event type of a command the device refused or that could not be encoded.
pub const FAILED: &str = "command_failed";

/// The event for `row` having become `kind` at `now`; `None` when the row's device id is not
/// a valid one (the API refuses those, so only a hand-edited queue has them).
pub fn alert(row: &CommandRow, kind: &'static str, now: DateTime<Utc>) -> Option<Alert> {
    let device = DeviceId::new(row.device.clone()).ok()?;
    let what = format!("command {} ({})", row.seq, row.kind);
    let message = match kind {
        SENT => format!("{what} sent to {}", row.device),
        ACKNOWLEDGED => format!(
            "{what} answered: {}",
            row.answer.as_deref().unwrap_or_default()
        ),
        _ => format!(
            "{what} failed: {}",
            row.error.as_deref().unwrap_or("unknown reason")
        ),
    };
    Some(Alert {
        id: format!("command-{}-{kind}", row.seq),
        kind: kind.to_string(),
        state: AlertState::Info,
        tier: None,
        time: now,
        device,
        shipment: None,
        stop: None,
        alarm: None,
        lat: None,
        lon: None,
        value: Some(row.seq as f64),
        message,
        customer: row.customer.clone(),
        geofence: None,
    })
}
