//! End to end: a shipment created over the API, a GT06 device driving it over TCP, the ETA
//! points and stop/alarm events read back from a private InfluxDB with InfluxQL, and the
//! shipment's state from `GET /api/shipments/{id}`.
//!
//! Needs `influxd` on PATH: `.ci/services.sh install`.

mod support;

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{json, Value};
use support::influxql::Influxql;
use support::{eventually, gateway, services};
use tokio::io::AsyncWriteExt;
use trackgate::protocol::gt06::encode::{self, Cell, Status};
use trackgate::protocol::Fix;

const IMEI: &str = "356307042441099";
const LAT: f64 = 52.0;

fn lon_at(east_m: f64) -> f64 {
    13.0 + east_m / (6_371_008.8_f64 * std::f64::consts::PI / 180.0 * LAT.to_radians().cos())
}

async fn post(r: &trackgate::server::Running, body: &Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("http://{}/api/shipments", r.http_addr))
        .json(body)
        .send()
        .await
        .expect("post");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn shipment(t0: DateTime<Utc>) -> Value {
    json!({
        "id": "sh-e2e",
        "device": IMEI,
        "route": {"type": "LineString", "coordinates": [[lon_at(0.0), LAT], [lon_at(2_000.0), LAT]]},
        "stops": [
            {"id": "S0", "name": "Depot", "lat": LAT, "lon": lon_at(0.0), "planned_arrival": t0.to_rfc3339()},
            {"id": "S1", "name": "Customer", "lat": LAT, "lon": lon_at(2_000.0),
             "planned_arrival": (t0 + Duration::seconds(400)).to_rfc3339()}
        ]
    })
}

/// The cell every fix reports.
const CELL: Cell = Cell {
    mcc: 262,
    mnc: 1,
    lac: 1,
    cid: 1,
};

/// A valid fix `sec` seconds after `t0`, `east` metres east of the depot, at 36 km/h due east.
fn fix_at(t0: DateTime<Utc>, sec: i64, east: f64) -> Fix {
    Fix {
        time: t0 + Duration::seconds(sec),
        satellites: 9,
        lat: LAT,
        lon: lon_at(east),
        speed_kmh: 36.0,
        course: 90.0,
        valid: true,
        ..Fix::default()
    }
}

/// Sends GT06 location frames for `(seconds after t0, metres east)` and checks each ACK.
async fn drive(
    r: &trackgate::server::Running,
    t0: DateTime<Utc>,
    fixes: &[(i64, f64)],
    serial: &mut u16,
) {
    let mut s = gateway::connect(r, "gt06").await;
    *serial += 1;
    gateway::send_expect(
        &mut s,
        &encode::login(IMEI, *serial).expect("imei"),
        &encode::ack(0x01, *serial),
    )
    .await;
    for (sec, east) in fixes {
        *serial += 1;
        gateway::send_expect(
            &mut s,
            &encode::location_12(&fix_at(t0, *sec, *east), &CELL, *serial),
            &encode::ack(0x12, *serial),
        )
        .await;
    }
    s.shutdown().await.ok();
}

/// Polls the shipment (which must exist: 200) until `pred` holds (10 s limit).
async fn wait_view(r: &trackgate::server::Running, pred: impl Fn(&Value) -> bool) -> Value {
    eventually(
        std::time::Duration::from_secs(10),
        "shipment sh-e2e to match",
        async || {
            let (st, v) = gateway::get_json(r, "/api/shipments/sh-e2e").await;
            assert_eq!(st, 200, "{v}");
            if pred(&v) {
                Ok(v)
            } else {
                Err(v)
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_the_shipment_where_it_was() {
    let cfg = gateway::test_config("");
    let dir = cfg.storage.dir.clone();
    let r = trackgate::server::start(cfg).await.expect("server starts");
    let t0 = (Utc::now() - Duration::hours(1))
        .duration_trunc(Duration::seconds(1))
        .expect("trunc");
    assert_eq!(post(&r, &shipment(t0)).await.0, 201);
    let mut serial = 0;
    // Depot 3 min, then to 900 m.
    let first: Vec<(i64, f64)> = (0..=6)
        .map(|k| (k * 30, 0.0))
        .chain((1..=3).map(|k| (180 + k * 30, k as f64 * 300.0)))
        .collect();
    drive(&r, t0, &first, &mut serial).await;
    let before = wait_view(&r, |v| {
        v["last_fix"]
            == json!(
                (t0 + Duration::seconds(270)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
    })
    .await;
    // Left the depot at 210 s, but not 3 min ago yet: still "arrived" there.
    assert_eq!(before["stops"][0]["status"], "arrived");
    assert_eq!(
        before["progress"].as_f64().map(|p| (p * 2_000.0).round()),
        Some(900.0)
    );
    r.shutdown().await;

    let mut cfg = gateway::test_config("");
    cfg.storage.dir = dir;
    let r = trackgate::server::start(cfg).await.expect("restart");
    let (st, after) = gateway::get_json(&r, "/api/shipments/sh-e2e").await;
    assert_eq!(st, 200);
    for k in ["status", "progress", "last_fix", "motion"] {
        assert_eq!(after[k], before[k], "{k}");
    }
    assert_eq!(after["stops"][0], before["stops"][0]);
    // The rest of the trip after the restart completes it, with the arrival where it happened.
    let rest: Vec<(i64, f64)> = (4..=7)
        .map(|k| (180 + k * 30, f64::min(k as f64 * 300.0, 2_000.0)))
        .chain((1..=6).map(|k| (390 + k * 30, 2_000.0)))
        .collect();
    drive(&r, t0, &rest, &mut serial).await;
    let done = wait_view(&r, |v| v["status"] == "completed").await;
    assert_eq!(
        done["stops"][1]["arrived_at"],
        json!((t0 + Duration::seconds(390)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    );
    // The departure straddled the restart: outside since 210 s, announced at 390 s.
    assert_eq!(
        done["stops"][0]["departed_at"],
        json!((t0 + Duration::seconds(210)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    );
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_drives_a_shipment_and_etas_and_events_reach_influxdb() {
    let influx = services::influxd(0);
    let mut cfg = gateway::test_config("");
    let mut icfg = trackgate::sinks::influx::InfluxConfig::new(&influx.url);
    icfg.flush_interval_ms = 50;
    cfg.influx = Some(icfg);
    let r = trackgate::server::start(cfg).await.expect("server starts");

    // Fix times an hour ago, whole seconds (GT06 resolution).
    let t0 = (Utc::now() - Duration::hours(1))
        .duration_trunc(Duration::seconds(1))
        .expect("trunc");

    // Validation names the field; duplicates conflict; unknown ids are 404.
    let mut bad = shipment(t0);
    bad["route"]["coordinates"] = json!([[13.0, 52.0]]);
    let (st, body) = post(&r, &bad).await;
    assert_eq!(st, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("route.coordinates:"),
        "{body}"
    );
    let mut unsorted = shipment(t0);
    unsorted["stops"][1]["planned_arrival"] = json!((t0 - Duration::seconds(1)).to_rfc3339());
    let (st, body) = post(&r, &unsorted).await;
    assert_eq!(
        (
            st,
            body["error"]
                .as_str()
                .map(|s| s.starts_with("stops[1].planned_arrival:"))
        ),
        (400, Some(true)),
        "{body}"
    );
    let (st, body) = post(&r, &shipment(t0)).await;
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["status"], "active");
    assert_eq!(
        body["stops"][1]["planned_arrival"],
        json!((t0 + Duration::seconds(400)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    );
    assert_eq!(post(&r, &shipment(t0)).await.0, 409);
    assert_eq!(gateway::get_json(&r, "/api/shipments/nope").await.0, 404);

    // The device: login, 3 min at the depot, 2 km east at 10 m/s, 3 min at the customer.
    let mut s = gateway::connect(&r, "gt06").await;
    let mut serial = 1u16;
    gateway::send_expect(
        &mut s,
        &encode::login(IMEI, serial).expect("imei"),
        &encode::ack(0x01, serial),
    )
    .await;
    let mut fixes: Vec<(i64, f64)> = (0..=6).map(|k| (k * 30, 0.0)).collect();
    let mut east = 0.0;
    let mut sec = 180;
    while east < 2_000.0 {
        sec += 30;
        east = f64::min(east + 300.0, 2_000.0);
        fixes.push((sec, east));
    }
    let arrival = sec; // 2 000 m is the first fix within 150 m of S1 (1 800 m is 200 m away)
    for _ in 0..6 {
        sec += 30;
        fixes.push((sec, 2_000.0));
    }
    for (k, (sec, east)) in fixes.iter().enumerate() {
        serial += 1;
        let fix = fix_at(t0, *sec, *east);
        if k == 3 {
            // An SOS at the depot, reported with a fix.
            let st = Status {
                info: 0x04,
                level: 4,
                gsm: 4,
                alarm: 0x01,
                language: 0x02,
            };
            let frame = encode::alarm_16(0x16, &fix, &CELL, &st, serial);
            gateway::send_expect(&mut s, &frame, &encode::ack(0x16, serial)).await;
        } else {
            gateway::send_expect(
                &mut s,
                &encode::location_12(&fix, &CELL, serial),
                &encode::ack(0x12, serial),
            )
            .await;
        }
    }
    s.shutdown().await.ok();

    // The shipment completes on the API, with the arrival at the fix that entered the radius.
    let view = wait_view(&r, |v| v["status"] == "completed").await;
    let arrived_at = t0 + Duration::seconds(arrival);
    assert_eq!(view["progress"], json!(1.0));
    assert_eq!(view["stops"][1]["status"], "arrived");
    assert_eq!(
        view["stops"][1]["arrived_at"],
        json!(arrived_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    );
    assert_eq!(view["stops"][1]["deviation_s"], json!(arrival - 400));
    assert_eq!(view["stops"][0]["status"], "departed");
    let (_, list) = gateway::get_json(&r, "/api/shipments").await;
    assert_eq!(list.as_array().map(|a| a.len()), Some(1));

    // InfluxDB: ETA points for S1 during the drive and the final "arrived" one.
    let db = Influxql::new(&influx.url, "trackgate").epoch("s");
    let wait_rows =
        |q: &'static str, n: usize| db.wait_rows(q, n, std::time::Duration::from_secs(10));
    let etas = wait_rows(
        "SELECT * FROM eta WHERE shipment = 'sh-e2e' AND stop = 'S1'",
        2,
    )
    .await;
    let last = etas.iter().find(|p| p["status"] == "arrived").cloned();
    let last = match last {
        Some(p) => p,
        None => wait_rows(
            "SELECT * FROM eta WHERE shipment = 'sh-e2e' AND status = 'arrived' AND stop = 'S1'",
            1,
        )
        .await
        .remove(0),
    };
    assert_eq!(last["eta"], json!(arrived_at.timestamp()));
    assert_eq!(
        last["planned"],
        json!((t0 + Duration::seconds(400)).timestamp())
    );
    assert_eq!(last["deviation"], json!(arrival - 400));
    assert_eq!(last["device"], json!(IMEI));
    let driving: Vec<_> = etas.iter().filter(|p| p["status"] == "on_time").collect();
    assert!(!driving.is_empty(), "{etas:?}");
    for p in &driving {
        assert!(p["remaining"].as_f64().unwrap_or(-1.0) <= 2_000.5);
    }
    // Events: arrivals, departure, completion, the SOS.
    let arrived = wait_rows("SELECT * FROM event WHERE \"type\" = 'arrived'", 2).await;
    let times: Vec<i64> = arrived.iter().filter_map(|p| p["time"].as_i64()).collect();
    assert_eq!(times, vec![t0.timestamp(), arrived_at.timestamp()]);
    wait_rows(
        "SELECT * FROM event WHERE \"type\" = 'completed' AND shipment = 'sh-e2e'",
        1,
    )
    .await;
    let sos = wait_rows("SELECT * FROM event WHERE \"type\" = 'alarm_sos'", 1).await;
    assert_eq!(
        sos[0]["time"],
        json!((t0 + Duration::seconds(90)).timestamp())
    );
    assert_eq!(sos[0]["device"], json!(IMEI));

    // Cancelling a completed shipment is a conflict.
    let del = reqwest::Client::new()
        .delete(format!("http://{}/api/shipments/sh-e2e", r.http_addr))
        .send()
        .await
        .expect("delete");
    assert_eq!(del.status().as_u16(), 409);
    r.shutdown().await;
}
