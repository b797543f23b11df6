//! End to end over a real socket for GT02: an in-process gateway on port 0, a heartbeat
//! answered with exactly `54 68 1A 0D 0A`, a data frame (split in two) stored and read back
//! from `/api/devices/{id}`, and a frame whose size lies dropped without an answer.

mod support;

use chrono::{DateTime, TimeZone, Utc};
use support::gateway;
use tokio::io::AsyncWriteExt;
use trackgate::protocol::{gt02::encode, Fix};

#[tokio::test]
async fn gt02_heartbeat_answered_and_data_stored() {
    let gw = gateway::start("").await;
    let mut s = gateway::connect(&gw, "gt02").await;
    let id = "358899058314017";
    let heartbeat = encode::frame(id, 5, 4, 7, 0x1A, &[0, 0]);
    gateway::send_expect(&mut s, &heartbeat, &encode::HEARTBEAT_ACK).await;

    let f = Fix {
        time: Utc.with_ymd_and_hms(2026, 11, 27, 4, 0, 7).unwrap(),
        lat: -22.546097,
        lon: 114.032995,
        speed_kmh: 57.0,
        course: 309.0,
        valid: true,
        ..Fix::default()
    };
    let data = encode::data(id, &f, 8);
    let (a, b) = data.split_at(11);
    s.write_all(a).await.unwrap();
    s.write_all(b).await.unwrap();
    let body = gateway::wait_device(&gw, id, |b| {
        let t: Option<DateTime<Utc>> = b["time"].as_str().and_then(|t| t.parse().ok());
        t == Some(f.time)
    })
    .await;
    assert_eq!(body["protocol"], "gt02");
    assert!((body["lat"].as_f64().unwrap() - f.lat).abs() < 1e-6);
    assert!((body["lon"].as_f64().unwrap() - f.lon).abs() < 1e-6);
    assert_eq!(body["speed"].as_f64(), Some(57.0));
    assert_eq!(body["course"].as_f64(), Some(309.0));
    gateway::expect_silence(&mut s, 200).await;

    // A heartbeat whose CR LF is missing (its size still cuts it): malformed, no answer;
    // the next heartbeat is answered.
    let mut bad = heartbeat.clone();
    let n = bad.len();
    bad[n - 1] = 0;
    s.write_all(&bad).await.unwrap();
    gateway::expect_silence(&mut s, 200).await;
    gateway::send_expect(&mut s, &heartbeat, &encode::HEARTBEAT_ACK).await;
    gw.shutdown().await;
}
