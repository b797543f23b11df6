//! Fix times a device cannot be believed about, over real sockets: an OsmAnd fix dated 2100
//! (main let it freeze the vehicle and its shipment for good), a GT06 fix a day ahead, a
//! JT/T 808 fix a day ahead, a fix before 2000. Each is dropped (counted), answered the way
//! the protocol allows — HTTP 400, JT/T 808 result 1, GT06 its usual ACK (it has no
//! refusal) — and the next honest fix moves live state and the shipment on.

mod support;

use chrono::{DateTime, Duration, DurationRound, SecondsFormat, Utc};
use serde_json::{json, Value};
use support::eventually;
use support::gateway::*;
use support::wire::{
    gt06_ack, gt06_location, jt808_frame, jt808_general, jt808_location_body, Gt06Fix, GT06_IMEI,
};
use trackgate::server::Running;

fn osmand(r: &Running) -> String {
    format!(
        "http://{}",
        r.addr("osmand", "http").expect("osmand listener")
    )
}

fn secs(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Sends one OsmAnd fix of `id`; returns the status and body.
async fn osmand_fix(r: &Running, id: &str, t: &str, lat: f64, lon: f64) -> (u16, String) {
    let url = format!(
        "{}/?id={id}&lat={lat}&lon={lon}&timestamp={t}&speed=10",
        osmand(r)
    );
    let resp = reqwest::get(&url).await.expect("osmand request");
    (
        resp.status().as_u16(),
        resp.text().await.unwrap_or_default(),
    )
}

async fn shipment_view(r: &Running) -> Value {
    let (st, v) = get_json(r, "/api/shipments/sh-2100").await;
    assert_eq!(st, 200, "{v}");
    v
}

#[tokio::test]
async fn osmand_fix_dated_2100_freezes_neither_live_state_nor_the_shipment() {
    let r = start("").await;
    let t0 = (Utc::now() - Duration::minutes(30))
        .duration_trunc(Duration::seconds(1))
        .unwrap();
    let body = json!({
        "id": "sh-2100",
        "device": "phone2100",
        "route": {"type": "LineString", "coordinates": [[8.50, 47.40], [8.60, 47.40]]},
        "stops": [{"id": "S1", "name": "End", "lat": 47.40, "lon": 8.60,
                   "planned_arrival": (t0 + Duration::hours(1)).to_rfc3339()}]
    });
    let resp = reqwest::Client::new()
        .post(format!("http://{}/api/shipments", r.http_addr))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);

    // The attack: one fix dated 2100. Refused with a 400 naming the time, nothing stored.
    let (st, text) = osmand_fix(&r, "phone2100", "2100-01-01T00:00:00Z", 47.40, 8.51).await;
    assert_eq!(st, 400, "{text}");
    assert!(
        text.contains("2100-01-01T00:00:00") && text.contains("devices.max_future_secs"),
        "{text}"
    );
    let (st, text) = osmand_fix(&r, "phone2100", "1999-12-31T23:59:59Z", 47.40, 8.51).await;
    assert_eq!(st, 400, "{text}");
    assert!(text.contains("before 2000"), "{text}");

    // Honest fixes still move the vehicle and its shipment.
    for (k, lon) in [(0, 8.51), (60, 8.52)] {
        let t = secs(t0 + Duration::seconds(k));
        assert_eq!(osmand_fix(&r, "phone2100", &t, 47.40, lon).await.0, 200);
    }
    let last = secs(t0 + Duration::seconds(60));
    let d = wait_device(&r, "phone2100", |d| d["time"] == json!(last)).await;
    assert_eq!(d["lon"].as_f64(), Some(8.52));
    let v = eventually(
        std::time::Duration::from_secs(10),
        "shipment last_fix",
        async || {
            let v = shipment_view(&r).await;
            if v["last_fix"] == json!(last) {
                Ok(v)
            } else {
                Err(v)
            }
        },
    )
    .await;
    assert!(v["progress"].as_f64().unwrap_or(0.0) > 0.0, "{v}");
    let m = scrape(&r).await;
    for (reason, n) in [("future", 1), ("before_2000", 1)] {
        let series = format!(
            "trackgate_fixes_rejected_total{{protocol=\"osmand\",reason=\"{reason}\"}} {n}"
        );
        assert!(m.contains(&series), "{series} in {m}");
    }
    r.shutdown().await;
}

fn gt06_fix_at(t: DateTime<Utc>, lon: f64, serial: u16) -> Vec<u8> {
    let fix = Gt06Fix {
        time: t,
        satellites: 9,
        lat: 47.5,
        lon,
        speed: 30,
        course: 90,
    };
    gt06_location(&fix, serial)
}

#[tokio::test]
async fn gt06_fix_in_the_future_is_acked_as_usual_but_dropped() {
    let r = start("").await;
    let mut s = connect(&r, "gt06").await;
    gt06_login(&mut s).await;
    let now = Utc::now().duration_trunc(Duration::seconds(1)).unwrap();
    // GT06 has no refusal: the usual ACK (so the tracker does not resend it forever).
    send_expect(
        &mut s,
        &gt06_fix_at(now + Duration::days(1), 8.6, 2),
        &gt06_ack(0x12, 2),
    )
    .await;
    let honest = now - Duration::minutes(1);
    send_expect(&mut s, &gt06_fix_at(honest, 8.5, 3), &gt06_ack(0x12, 3)).await;
    let d = wait_device(&r, GT06_IMEI, |d| !d["lat"].is_null()).await;
    assert_eq!(
        d["time"],
        json!(secs(honest)),
        "the future fix never became current: {d}"
    );
    assert!((d["lon"].as_f64().unwrap() - 8.5).abs() < 1e-5, "{d}");
    let m = scrape(&r).await;
    assert!(
        m.contains("trackgate_fixes_rejected_total{protocol=\"gt06\",reason=\"future\"} 1"),
        "{m}"
    );
    r.shutdown().await;
}

#[tokio::test]
async fn jt808_fix_in_the_future_is_refused_with_result_1() {
    let r = start("").await;
    let phone = "013345678906";
    let mut s = connect(&r, "jt808").await;
    let code = jt808_register(&mut s, phone, 1, 0).await;
    jt808_auth(&mut s, phone, &code, 2, 1).await;
    let now = Utc::now().duration_trunc(Duration::seconds(1)).unwrap();
    let ahead = jt808_frame(
        0x0200,
        phone,
        3,
        &jt808_location_body(now + Duration::days(1), 22.5, 114.0),
    );
    send_expect(&mut s, &ahead, &jt808_general(phone, 2, 3, 0x0200, 1)).await;
    // The connection stays; the next honest fix is accepted and becomes current.
    let honest = now - Duration::minutes(1);
    let ok = jt808_frame(0x0200, phone, 4, &jt808_location_body(honest, 22.5, 114.0));
    send_expect(&mut s, &ok, &jt808_general(phone, 3, 4, 0x0200, 0)).await;
    let d = wait_device(&r, phone, |d| !d["lat"].is_null()).await;
    assert_eq!(d["time"], json!(secs(honest)));
    r.shutdown().await;
}

#[tokio::test]
async fn max_future_secs_is_the_tolerance() {
    let r = start("[devices]\nmax_future_secs = 7200\n").await;
    let mut s = connect(&r, "gt06").await;
    gt06_login(&mut s).await;
    let now = Utc::now().duration_trunc(Duration::seconds(1)).unwrap();
    // An hour ahead is within 2 h: stored and current.
    let ahead = now + Duration::hours(1);
    send_expect(&mut s, &gt06_fix_at(ahead, 8.5, 2), &gt06_ack(0x12, 2)).await;
    wait_device(&r, GT06_IMEI, |d| d["time"] == json!(secs(ahead))).await;
    r.shutdown().await;
}
