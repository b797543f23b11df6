//! End to end over a real socket for Laipac: an in-process gateway on port 0, sentences
//! written by a client, the exact answers read back (`$ECHK` echo, `$EAVACK`, `$AVCFG`), and
//! the stored position read from `/api/devices/{id}`.

mod support;

use chrono::{DateTime, TimeZone, Utc};
use support::gateway;
use tokio::io::AsyncWriteExt;
use trackgate::protocol::{laipac::encode, wire::KNOT_KMH, Fix};

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
            .is_some_and(|s| (s - f.speed_kmh).abs() < 1e-9)
        && body["course"].as_f64() == Some(f.course)
}

#[tokio::test]
async fn laipac_echo_acks_alarm_answer_and_bad_checksum() {
    let gw = gateway::start("").await;
    let mut s = gateway::connect(&gw, "laipac").await;
    let id = "358174067149865";
    let echk = format!(
        "$ECHK,{id},0*{:02X}\r\n",
        trackgate::protocol::wire::xor(format!("ECHK,{id},0").as_bytes())
    );
    gateway::send_expect(&mut s, echk.as_bytes(), echk.as_bytes()).await;

    let f = Fix {
        time: Utc.with_ymd_and_hms(2026, 11, 27, 4, 0, 7).unwrap(),
        lat: 50.835427,
        lon: 4.334150,
        // 12 knots on the wire.
        speed_kmh: 12.0 * KNOT_KMH,
        course: 309.27,
        odometer_m: 119_000.0,
        ..Fix::default()
    };
    // Lower-case status: the device wants `$EAVACK,<event>,<its checksum>`.
    let avrmc = encode::avrmc(id, &f, 'r', '0', 3.455);
    let cs = &avrmc[avrmc.len() - 4..avrmc.len() - 2];
    gateway::send_expect(&mut s, avrmc.as_bytes(), encode::eavack("0", cs).as_bytes()).await;
    let body = gateway::wait_device(&gw, id, |b| stored(b, &f)).await;
    assert_eq!(body["protocol"], "laipac");
    assert_eq!(body["valid"], true);
    assert_eq!(body["odometer"].as_f64(), Some(119_000.0));

    // SOS (event 3), upper-case status: only the alarm answer, factory password.
    let sos = Fix {
        time: f.time + chrono::Duration::seconds(20),
        ..f.clone()
    };
    gateway::send_expect(
        &mut s,
        encode::avrmc(id, &sos, 'A', '3', 3.455).as_bytes(),
        b"$AVCFG,00000000,d*31\r\n",
    )
    .await;
    gateway::wait_device(&gw, id, |b| stored(b, &sos)).await;

    // A wrong checksum: dropped, counted, no answer; the next echo still comes back.
    let mut bad = encode::avrmc(id, &f, 'a', '0', 3.455).into_bytes();
    let n = bad.len();
    bad[n - 3] = if bad[n - 3] == b'0' { b'1' } else { b'0' };
    s.write_all(&bad).await.unwrap();
    gateway::expect_silence(&mut s, 200).await;
    gateway::send_expect(&mut s, echk.as_bytes(), echk.as_bytes()).await;
    gateway::wait_metric(
        &gw,
        "trackgate_checksum_failures_total{protocol=\"laipac\"}",
        |v| v == 1.0,
    )
    .await;
    gw.shutdown().await;
}
