//! End to end over a real socket for Megastek: an in-process gateway on port 0, reports of
//! both framings written by a client (length-prefixed `$MGV`, an `STX,` line split in two),
//! no answer expected, the stored positions read from `/api/devices/{id}`; a bad `STX`
//! checksum is dropped and counted.

mod support;

use chrono::{DateTime, TimeZone, Utc};
use support::gateway;
use tokio::io::AsyncWriteExt;
use trackgate::protocol::{megastek::encode, wire::KNOT_KMH, Fix};

fn stored(body: &serde_json::Value, f: &Fix) -> bool {
    let t: Option<DateTime<Utc>> = body["time"].as_str().and_then(|t| t.parse().ok());
    let (Some(lat), Some(lon)) = (body["lat"].as_f64(), body["lon"].as_f64()) else {
        return false;
    };
    (lat - f.lat).abs() < 2e-6
        && (lon - f.lon).abs() < 2e-6
        && t == Some(f.time)
        && body["speed"]
            .as_f64()
            .is_some_and(|s| (s - f.speed_kmh).abs() < 1e-6)
}

#[tokio::test]
async fn megastek_reports_stored_without_answers() {
    let gw = gateway::start("").await;
    let mut s = gateway::connect(&gw, "megastek").await;
    let id = "860719020193193";
    let f = Fix {
        time: Utc.with_ymd_and_hms(2026, 11, 27, 4, 0, 7).unwrap(),
        lat: 22.636745,
        lon: 114.032995,
        speed_kmh: 20.0 * KNOT_KMH,
        course: 356.0,
        altitude_m: 137.9,
        odometer_m: 1500.0,
        satellites: 7,
        valid: true,
        ..Fix::default()
    };
    s.write_all(format!("{}\r\n", encode::mgv(id, &f, false, 100, "Timer")).as_bytes())
        .await
        .unwrap();
    let body = gateway::wait_device(&gw, id, |b| stored(b, &f)).await;
    assert_eq!(body["protocol"], "megastek");
    assert_eq!(body["valid"], true);
    assert_eq!(body["odometer"].as_f64(), Some(1500.0));
    gateway::expect_silence(&mut s, 200).await;

    let later = Fix {
        time: f.time + chrono::Duration::seconds(30),
        ..f.clone()
    };
    let stx = encode::stx(id, &later, "Nil-Alarms", 80);
    let (a, b) = stx.as_bytes().split_at(40);
    s.write_all(a).await.unwrap();
    s.write_all(b).await.unwrap();
    gateway::wait_device(&gw, id, |b| stored(b, &later)).await;

    // A wrong sum: dropped, counted, silence; the connection keeps working.
    let mut bad = encode::stx(id, &later, "Nil-Alarms", 81).into_bytes();
    let n = bad.len();
    bad[n - 3] = if bad[n - 3] == b'0' { b'1' } else { b'0' };
    s.write_all(&bad).await.unwrap();
    gateway::wait_metric(
        &gw,
        "trackgate_checksum_failures_total{protocol=\"megastek\"}",
        |v| v == 1.0,
    )
    .await;
    let last = Fix {
        time: later.time + chrono::Duration::seconds(30),
        ..f.clone()
    };
    s.write_all(format!("{}\r\n", encode::mgv(id, &last, false, 99, "Timer")).as_bytes())
        .await
        .unwrap();
    gateway::wait_device(&gw, id, |b| stored(b, &last)).await;
    gateway::expect_silence(&mut s, 200).await;
    gw.shutdown().await;
}
