//! A shipment that goes late: a GT06 device waits at the depot long past the planned
//! departure (fix times in the past, so the 10-minute hold of the late rule passes in a
//! second of real time), then leaves; the `late` exception fires on the way.

use crate::support::gateway;
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use trackgate::protocol::gt06::encode::{self, Cell};
use trackgate::protocol::Fix;
use trackgate::server::Running;

pub const LAT: f64 = 52.0;
const CELL: Cell = Cell {
    mcc: 262,
    mnc: 1,
    lac: 1,
    cid: 1,
};

/// Longitude `east_m` metres east of 13°E on [`LAT`].
pub fn lon_at(east_m: f64) -> f64 {
    13.0 + east_m / (6_371_008.8_f64 * std::f64::consts::PI / 180.0 * LAT.to_radians().cos())
}

/// Whole seconds an hour ago: the shipment's t0.
pub fn t0() -> DateTime<Utc> {
    (Utc::now() - Duration::hours(1))
        .duration_trunc(Duration::seconds(1))
        .expect("trunc")
}

/// A shipment for `device`: depot at 0 m planned at t0, customer 3 km east planned 4 min
/// later.
pub fn shipment(id: &str, device: &str, t0: DateTime<Utc>) -> Value {
    json!({
        "id": id,
        "device": device,
        "route": {"type": "LineString", "coordinates": [[lon_at(0.0), LAT], [lon_at(3_000.0), LAT]]},
        "stops": [
            {"id": "S0", "name": "Depot", "lat": LAT, "lon": lon_at(0.0), "planned_arrival": t0.to_rfc3339()},
            {"id": "S1", "name": "Customer", "lat": LAT, "lon": lon_at(3_000.0),
             "planned_arrival": (t0 + Duration::seconds(240)).to_rfc3339()}
        ]
    })
}

pub async fn post_json(r: &Running, path: &str, body: &Value) -> (u16, Value) {
    post_json_as(r, path, body, None).await
}

/// [`post_json`] with a bearer token.
pub async fn post_json_as(
    r: &Running,
    path: &str,
    body: &Value,
    token: Option<&str>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("http://{}{path}", r.http_addr))
        .json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("post");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// `(seconds after t0, metres east)`: 28 minutes at the depot, then away at 36 km/h.
pub fn late_trip() -> Vec<(i64, f64)> {
    (0..=56)
        .map(|k| (k * 30, 0.0))
        .chain((1..=4).map(|k| (56 * 30 + k * 30, k as f64 * 300.0)))
        .collect()
}

/// Logs `imei` in over GT06 and sends a location per `(sec, east)`, checking every ACK.
pub async fn drive(r: &Running, imei: &str, t0: DateTime<Utc>, fixes: &[(i64, f64)]) {
    let mut s = gateway::connect(r, "gt06").await;
    let mut serial = 1u16;
    gateway::send_expect(
        &mut s,
        &encode::login(imei, serial).expect("imei"),
        &encode::ack(0x01, serial),
    )
    .await;
    for (sec, east) in fixes {
        serial += 1;
        let fix = Fix {
            time: t0 + Duration::seconds(*sec),
            satellites: 9,
            lat: LAT,
            lon: lon_at(*east),
            speed_kmh: if *east > 0.0 { 36.0 } else { 0.0 },
            course: 90.0,
            valid: true,
            ..Fix::default()
        };
        gateway::send_expect(
            &mut s,
            &encode::location_12(&fix, &CELL, serial),
            &encode::ack(0x12, serial),
        )
        .await;
    }
    s.shutdown().await.ok();
}
