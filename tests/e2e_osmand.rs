//! OsmAnd end to end with a real HTTP client: 200 after the fix is durable, then the API shows
//! it; 400 with a clear text for bad requests; 403 for a device that is not allowed; 413 for
//! an oversized body.

mod support;

use support::eventually;
use support::gateway::*;
use trackgate::server::Running;

fn base(r: &Running) -> String {
    format!(
        "http://{}",
        r.addr("osmand", "http").expect("osmand http listener")
    )
}

#[tokio::test]
async fn query_get_then_api_shows_the_fix() {
    let r = start("").await;
    let url = format!(
        "{}/?id=phone42&lat=48.137154&lon=11.576124&timestamp=2026-11-27T05:30:00Z&speed=10&bearing=45&altitude=520&batt=66",
        base(&r)
    );
    let resp = reqwest::get(&url).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap(), "");
    let v = wait_device(&r, "phone42", |v| v["lat"].as_f64().is_some()).await;
    assert_eq!(v["protocol"], "osmand");
    assert_eq!(v["time"], "2026-11-27T05:30:00Z");
    assert_eq!(v["lat"].as_f64().unwrap(), 48.137154);
    assert_eq!(v["lon"].as_f64().unwrap(), 11.576124);
    assert!(
        (v["speed"].as_f64().unwrap() - 18.52).abs() < 1e-9,
        "10 knots"
    );
    assert_eq!(v["course"].as_f64().unwrap(), 45.0);
    assert_eq!(v["altitude"].as_f64().unwrap(), 520.0);
    r.shutdown().await;
}

#[tokio::test]
async fn json_post_and_form_post() {
    let r = start("").await;
    let c = reqwest::Client::new();
    let body = r#"{"device_id":"tc9","location":{"timestamp":"2026-11-27T06:00:00.000Z","coords":{"latitude":-33.8688,"longitude":151.2093,"speed":5,"heading":180,"altitude":12,"accuracy":4},"battery":{"level":0.5,"is_charging":true}}}"#;
    let resp = c
        .post(base(&r))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let v = wait_device(&r, "tc9", |v| v["lat"].as_f64().is_some()).await;
    assert_eq!(v["time"], "2026-11-27T06:00:00Z");
    assert_eq!(
        (v["lat"].as_f64().unwrap(), v["lon"].as_f64().unwrap()),
        (-33.8688, 151.2093)
    );
    assert_eq!(v["speed"].as_f64().unwrap(), 18.0, "5 m/s");
    let resp = c
        .post(base(&r))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("deviceid=form1&lat=1.5&lon=2.5&timestamp=1795757400")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let v = wait_device(&r, "form1", |v| v["lat"].as_f64().is_some()).await;
    assert_eq!(v["time"], "2026-11-27T05:30:00Z");
    r.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_400_with_the_reason() {
    let r = start("").await;
    for (q, msg) in [
        ("/?lat=1&lon=2", "missing device id (`id` or `deviceid`)"),
        ("/?id=7&lat=abc&lon=2", "lat = \"abc\" is not a number"),
        (
            "/?id=7&lat=1&lon=2&timestamp=soon",
            "timestamp \"soon\" is not Unix s/ms or ISO-8601",
        ),
    ] {
        let resp = reqwest::get(format!("{}{q}", base(&r))).await.unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{q}");
        assert_eq!(resp.text().await.unwrap(), msg);
    }
    let (status, _) = get_json(&r, "/api/devices/7").await;
    assert_eq!(status, 404, "nothing stored for rejected requests");
    let big = "x".repeat(5000);
    let resp = reqwest::Client::new()
        .post(base(&r))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    r.shutdown().await;
}

#[tokio::test]
async fn device_not_allowed_gets_403() {
    let r = start("[devices]\nallow = [\"ok1\"]\n").await;
    let resp = reqwest::get(format!("{}/?id=nope&lat=1&lon=2", base(&r)))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let resp = reqwest::get(format!("{}/?id=ok1&lat=1&lon=2", base(&r)))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    r.shutdown().await;
}

#[tokio::test]
async fn owntracks_http_mode_replies_empty_array() {
    let r = start("").await;
    let url = format!("http://{}/pub", r.addr("owntracks", "http").unwrap());
    let resp = reqwest::Client::new()
        .post(url)
        .header("x-limit-u", "jane")
        .header("x-limit-d", "phone")
        .header("content-type", "application/json")
        .body(r#"{"_type":"location","tst":1795757400,"lat":51.5,"lon":-0.12,"vel":20}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap(), "[]");
    let v = wait_device(&r, "jane.phone", |v| v["lat"].as_f64().is_some()).await;
    assert_eq!(
        (v["lat"].as_f64().unwrap(), v["lon"].as_f64().unwrap()),
        (51.5, -0.12)
    );
    assert_eq!(v["speed"].as_f64().unwrap(), 20.0);
    r.shutdown().await;
}

/// The 200 is the durability promise: with a tiny write-ahead log that fills up (an InfluxDB
/// sink pointed at a closed port never consumes, so nothing may be deleted), requests get 200
/// while their fix is stored and 503 once it cannot be — and a 503'd fix never shows up.
#[tokio::test]
async fn full_log_answers_503_and_stores_nothing() {
    let mut cfg = test_config("");
    cfg.storage.segment_bytes = 4096;
    cfg.storage.max_bytes = 8192;
    cfg.influx = trackgate::config::Config::from_toml("[influx]\nurl = \"http://127.0.0.1:9\"\n")
        .unwrap()
        .influx;
    let r = trackgate::server::start(cfg).await.unwrap();
    let mut refused = None;
    for i in 0..500 {
        let url = format!(
            "{}/?id=fill{i}&lat=10.5&lon=20.5&timestamp=1795757400&attr=padding-padding-padding",
            base(&r)
        );
        let resp = reqwest::get(&url).await.unwrap();
        match resp.status().as_u16() {
            200 => {}
            503 => {
                assert!(resp.text().await.unwrap().starts_with("not stored"));
                refused = Some(i);
                break;
            }
            s => panic!("unexpected status {s}"),
        }
    }
    let k = refused.expect("the 8 KiB log filled up within 500 requests");
    assert!(k > 0, "the first fix fits");
    let v = wait_device(&r, &format!("fill{}", k - 1), |v| {
        v["lat"].as_f64().is_some()
    })
    .await;
    assert_eq!(v["lat"].as_f64().unwrap(), 10.5);
    let (_, v) = get_json(&r, &format!("/api/devices/fill{k}")).await;
    assert!(v["lat"].is_null(), "refused fix must not be stored: {v}");
    r.shutdown().await;
}

/// `max_connections` caps requests in flight: one request stalled mid-body holds the only
/// permit, so the next one gets 503 at once; after it completes, requests pass again.
/// `max_connections` caps an HTTP device listener's connections at accept (the in-flight
/// request cap behind it, reachable with HTTP/2, is in tests/security_http.rs).
#[tokio::test]
async fn connections_are_capped() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let r = start("[protocols.osmand]\nmax_connections = 1\n").await;
    let addr = r.addr("osmand", "http").unwrap();
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = "id=slow1&lat=1&lon=2";
    slow.write_all(
        format!(
            "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n{}",
            body.len(),
            &body[..5]
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    // The stalled request holds the one connection: a second one is closed at accept.
    let e = reqwest::get(format!("{}/?id=fast&lat=1&lon=2", base(&r)))
        .await
        .expect_err("refused at the cap");
    assert!(e.is_request(), "{e}");
    wait_metric(
        &r,
        "trackgate_http_connections_refused_total{listener=\"osmand\"}",
        |v| v >= 1.0,
    )
    .await;
    slow.write_all(&body.as_bytes()[5..]).await.unwrap();
    let mut head = [0u8; 12];
    slow.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    drop(slow);
    eventually(
        std::time::Duration::from_secs(5),
        "a new connection once the slot is free",
        async || match reqwest::get(format!("{}/?id=fast2&lat=1&lon=2", base(&r))).await {
            Ok(resp) if resp.status() == 200 => Ok(()),
            Ok(resp) => Err(resp.status().to_string()),
            Err(e) => Err(e.to_string()),
        },
    )
    .await;
    r.shutdown().await;
}
