//! Records for tests that feed the log directly (outputs, the stream, the InfluxDB sink):
//! one builder per record type with fixed, documented defaults; a test changes only the
//! fields it is about, with struct update syntax (`Alert { tier: Some(15), ..alert("a", "late") }`).

use chrono::{DateTime, TimeZone, Utc};
use trackgate::model::{Alert, AlertState, DeviceId, EtaUpdate, Position, Record, StopStatus};
use trackgate::server::Running;

/// The device records are about unless a test says otherwise.
pub const DEVICE: &str = "123456789012345";
/// 2025-11-27 03:47:56 UTC: the time every record's `secs` counts from.
pub const T0: i64 = 1_764_215_276;

/// [`T0`] + `secs`.
pub fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(T0 + secs, 0)
        .single()
        .expect("valid time")
}

/// A device id (panics on an invalid one: test data).
pub fn dev(id: &str) -> DeviceId {
    DeviceId::new(id).expect("valid device id")
}

/// A valid GT06 fix of `device` at `at(secs)` (received at the same time), every optional
/// field empty.
pub fn position(device: &str, secs: i64, lat: f64, lon: f64) -> Position {
    Position::new(dev(device), "gt06", at(secs), at(secs), lat, lon, true)
}

/// A firing alert of [`DEVICE`] at `at(0)` whose message is its kind; no tier, shipment,
/// stop, alarm, position or value.
pub fn alert(id: &str, kind: &str) -> Alert {
    Alert {
        id: id.into(),
        kind: kind.into(),
        state: AlertState::Firing,
        tier: None,
        time: at(0),
        device: dev(DEVICE),
        shipment: None,
        stop: None,
        alarm: None,
        lat: None,
        lon: None,
        value: None,
        message: kind.into(),
        customer: None,
        geofence: None,
    }
}

/// A late ETA of [`DEVICE`] for `shipment`/`stop` from the fix at `at(fix_secs)`: planned at
/// 600 s, expected at 900 s (band 800–1000 s), 5 km and 40 % along, 2 m off the route.
pub fn eta(shipment: &str, stop: &str, fix_secs: i64) -> EtaUpdate {
    EtaUpdate {
        shipment: shipment.into(),
        stop: stop.into(),
        device: dev(DEVICE),
        fix_time: at(fix_secs),
        eta: at(900),
        eta_p10: at(800),
        eta_p90: at(1000),
        planned: at(600),
        deviation_s: 300,
        remaining_m: 5000.0,
        progress: 0.4,
        off_route_m: 2.0,
        status: StopStatus::Late,
    }
}

/// Appends `recs` to the gateway's log as one batch.
pub async fn append(r: &Running, recs: &[Record]) {
    r.append(recs.to_vec()).await.expect("append to the log");
}
