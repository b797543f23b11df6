//! End to end over a real socket for Xexun: an in-process gateway on port 0, reports written
//! by a client (one with the CR LF some firmwares put inside a report), no answer expected,
//! and the stored positions read from `/api/devices/{id}`.

mod support;

use chrono::{DateTime, TimeZone, Utc};
use support::gateway;
use tokio::io::AsyncWriteExt;
use trackgate::protocol::{wire::KNOT_KMH, xexun::encode, Fix};

#[tokio::test]
async fn xexun_full_and_basic_reports_stored_without_answers() {
    let gw = gateway::start("").await;
    let mut s = gateway::connect(&gw, "xexun").await;
    let imei = "864504031916915";
    let f = Fix {
        time: Utc.with_ymd_and_hms(2026, 11, 27, 4, 0, 7).unwrap(),
        lat: 53.391133,
        lon: -2.873670,
        speed_kmh: 21.0 * KNOT_KMH,
        course: 129.7,
        altitude_m: 41.1,
        satellites: 10,
        valid: true,
        ..Fix::default()
    };
    s.write_all(encode::full(imei, &f, "ACCStart", 4.28).as_bytes())
        .await
        .unwrap();
    let body = gateway::wait_device(&gw, imei, |b| {
        let t: Option<DateTime<Utc>> = b["time"].as_str().and_then(|t| t.parse().ok());
        t == Some(f.time)
            && b["lat"].as_f64().is_some_and(|l| (l - f.lat).abs() < 2e-6)
            && b["lon"].as_f64().is_some_and(|l| (l - f.lon).abs() < 2e-6)
    })
    .await;
    assert_eq!(body["protocol"], "xexun");
    assert!((body["speed"].as_f64().unwrap() - 21.0 * KNOT_KMH).abs() < 1e-9);
    assert_eq!(body["course"].as_f64(), Some(129.7));
    assert_eq!(body["altitude"].as_f64(), Some(41.1));
    assert_eq!(body["satellites"], 10);
    assert_eq!(body["ignition"], true);

    // Basic form with CR LF inside the report (after the checksum), then its own LF; another
    // device, so another connection (a connection speaks for one device).
    let mut s2 = gateway::connect(&gw, "xexun").await;
    let basic = b"GPRMC,150120.000,A,3346.4463,S,15057.3083,E,0.0,117.4,010911,,,A*76\r\n,F,imei:351525010943661,\r\n";
    s2.write_all(basic).await.unwrap();
    let body = gateway::wait_device(&gw, "351525010943661", |b| b["lat"].is_number()).await;
    assert!((body["lat"].as_f64().unwrap() - -(33.0 + 46.4463 / 60.0)).abs() < 1e-9);
    assert_eq!(body["time"], "2011-09-01T15:01:20Z");
    gateway::expect_silence(&mut s2, 200).await;
    gw.shutdown().await;
}
