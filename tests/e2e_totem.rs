//! End to end over a real socket for Totem: an in-process gateway on port 0, frames of both
//! generations written by a client (split and coalesced), the exact answers read back
//! (`$$0014AA<serial><xor>`, `ACK OK`), and the stored position read from
//! `/api/devices/{id}`; a bad checksum is dropped, counted and not answered.

mod support;

use chrono::{DateTime, TimeZone, Utc};
use support::gateway;
use tokio::io::AsyncWriteExt;
use trackgate::protocol::{totem::encode, wire::KNOT_KMH, Fix};

fn stored(body: &serde_json::Value, f: &Fix, speed_tolerance: f64) -> bool {
    let t: Option<DateTime<Utc>> = body["time"].as_str().and_then(|t| t.parse().ok());
    let (Some(lat), Some(lon)) = (body["lat"].as_f64(), body["lon"].as_f64()) else {
        return false;
    };
    (lat - f.lat).abs() < 2e-6
        && (lon - f.lon).abs() < 2e-6
        && t == Some(f.time)
        && body["speed"]
            .as_f64()
            .is_some_and(|s| (s - f.speed_kmh).abs() <= speed_tolerance)
}

#[tokio::test]
async fn totem_both_generations_answered_and_stored() {
    let gw = gateway::start("").await;
    let mut s = gateway::connect(&gw, "totem").await;
    let id = "867965024919124";
    let f = Fix {
        time: Utc.with_ymd_and_hms(2026, 11, 27, 4, 0, 7).unwrap(),
        lat: 22.629302,
        lon: 114.05848,
        speed_kmh: 57.0,
        course: 309.0,
        odometer_m: 119_000.0,
        satellites: 9,
        valid: true,
        ..Fix::default()
    };
    // New generation, written in two pieces: answered with its serial and the XOR.
    let report = encode::status_report(id, 0xAA, &f, 0, 42);
    let (a, b) = report.as_bytes().split_at(30);
    s.write_all(a).await.unwrap();
    gateway::expect_silence(&mut s, 100).await;
    gateway::send_expect(&mut s, b, encode::ack("0042").as_bytes()).await;
    let body = gateway::wait_device(&gw, id, |b| stored(b, &f, 1e-9)).await;
    assert_eq!(body["protocol"], "totem");
    assert_eq!(body["valid"], true);
    assert_eq!(body["odometer"].as_f64(), Some(119_000.0));

    // Old generation (`$GPRMC`, knots) followed by CR LF: `ACK OK`.
    let later = Fix {
        time: f.time + chrono::Duration::seconds(30),
        speed_kmh: 20.0 * KNOT_KMH,
        ..f.clone()
    };
    let rmc = format!("{}\r\n", encode::rmc_report(id, &later, 43));
    gateway::send_expect(&mut s, rmc.as_bytes(), encode::ACK_OK.as_bytes()).await;
    gateway::wait_device(&gw, id, |b| stored(b, &later, 1e-6)).await;

    // A wrong XOR: dropped, counted, no answer; the next frame is still answered.
    let mut bad = encode::status_report(id, 0xAA, &f, 0, 44).into_bytes();
    let n = bad.len();
    bad[n - 1] = if bad[n - 1] == b'0' { b'1' } else { b'0' };
    s.write_all(&bad).await.unwrap();
    gateway::expect_silence(&mut s, 200).await;
    gateway::send_expect(
        &mut s,
        encode::status_report(id, 0xAA, &f, 0, 45).as_bytes(),
        encode::ack("0045").as_bytes(),
    )
    .await;
    gateway::wait_metric(
        &gw,
        "trackgate_checksum_failures_total{protocol=\"totem\"}",
        |v| v == 1.0,
    )
    .await;
    gw.shutdown().await;
}
