//! The ops console in a real headless Chromium (WebDriver): real GT06 and Teltonika devices
//! over TCP, a shipment that goes late, and what a person would see in the page's DOM —
//! the device on the map and in the list within 2 s of its ACK, the shipment row with its
//! ETA turning `late`, the exception in the feed and gone from "open" once acknowledged,
//! and a customer link that shows only its shipment and 404s once revoked.
//!
//! Needs `chromium` and `chromedriver`: `.ci/services.sh install`. Screenshots of every
//! view go to `target/console-screenshots/`.

mod console_support;
mod support;

use console_support::browser::Browser;
use console_support::late;
use serde_json::json;
use std::time::{Duration, Instant};
use support::{gateway, wire};
use trackgate::protocol::teltonika::{encode as tel, Codec};

/// "Within 2 s of its ACK" (the bound for a device to show).
const SHOW_WITHIN: Duration = Duration::from_secs(2);
/// Everything else the page waits for on a loaded 2-core machine.
const PAGE: Duration = Duration::from_secs(15);

const TEL_IMEI: &str = "352093081452251";
/// The truck of the late shipment.
const TRUCK: &str = "356307042441099";

async fn teltonika_fix(r: &trackgate::server::Running) {
    let mut s = gateway::connect(r, "teltonika").await;
    gateway::send_expect(
        &mut s,
        &tel::handshake(TEL_IMEI).expect("imei"),
        &tel::handshake_ack(true),
    )
    .await;
    let rec = tel::AvlRecord {
        timestamp_ms: chrono::Utc::now().timestamp_millis() as u64 - 5_000,
        priority: 0,
        lon_e7: 134_050_000,
        lat_e7: 525_200_000,
        altitude_m: 40,
        angle: 180,
        satellites: 11,
        speed_kmh: 54,
        event_io: 0,
        generation_type: 0,
        io: vec![],
    };
    let packet = tel::tcp_packet(Codec::C8, &[rec]).expect("packet");
    gateway::send_expect(&mut s, &packet, &tel::records_ack(1)).await;
}

async fn gt06_fix(r: &trackgate::server::Running, lat: f64) {
    let mut s = gateway::connect(r, "gt06").await;
    gateway::gt06_login(&mut s).await;
    let fix = wire::Gt06Fix {
        time: chrono::Utc::now() - chrono::Duration::seconds(3),
        satellites: 9,
        lat,
        lon: 11.575,
        speed: 0,
        course: 0,
    };
    gateway::send_expect(
        &mut s,
        &wire::gt06_location(&fix, 2),
        &wire::gt06_ack(0x12, 2),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_console_shows_devices_shipments_exceptions_and_customer_links() {
    let cfg = gateway::test_config("");
    let dir = cfg.storage.dir.clone();
    let r = trackgate::server::start(cfg).await.expect("server starts");
    let base = format!("http://{}", r.http_addr);
    let b = Browser::start().await;
    b.goto(&format!("{base}/#/map")).await;
    b.wait_js(PAGE, "page loaded and live", "return document.body.dataset.loaded === 'true' && document.getElementById('live').dataset.state === 'live';").await;

    // A GT06 device: on the map layer within 2 s of its ACK, and a click there opens its panel.
    gt06_fix(&r, 48.137).await;
    let acked = Instant::now();
    let at = b
        .wait_js(
            SHOW_WITHIN + Duration::from_secs(1),
            "GT06 device on the map",
            &format!(
                "return trackgate.views.map.map.screenOf('{}');",
                wire::GT06_IMEI
            ),
        )
        .await;
    assert!(
        acked.elapsed() <= SHOW_WITHIN,
        "map showed the device {:?} after its ACK",
        acked.elapsed()
    );
    let (x, y) = (at["x"].as_f64().unwrap(), at["y"].as_f64().unwrap());
    assert_eq!(at["cluster"], false, "a lone device is drawn as itself");
    b.click_at("#fleet-map canvas", x, y).await;
    b.wait_js(
        PAGE,
        "device panel",
        &format!(
            "return document.getElementById('panel-device')?.textContent === '{}';",
            wire::GT06_IMEI
        ),
    )
    .await;
    assert_eq!(b.text("#device-panel dd").await.as_deref(), Some("gt06"));
    b.screenshot("fleet-map").await;

    // A Teltonika device: in the device list within 2 s of its ACK.
    b.goto(&format!("{base}/#/devices")).await;
    b.wait_js(PAGE, "devices view", "return document.body.dataset.loaded === 'true' && document.getElementById('live').dataset.state === 'live' && !!document.querySelector('#dev-rows tr');").await;
    teltonika_fix(&r).await;
    let acked = Instant::now();
    b.wait_js(
        SHOW_WITHIN + Duration::from_secs(1),
        "Teltonika device in the list",
        &format!("return !!document.querySelector('#dev-rows tr[data-id=\"{TEL_IMEI}\"]');"),
    )
    .await;
    assert!(
        acked.elapsed() <= SHOW_WITHIN,
        "list showed the device {:?} after its ACK",
        acked.elapsed()
    );
    let row = b
        .text(&format!("#dev-rows tr[data-id=\"{TEL_IMEI}\"]"))
        .await
        .unwrap_or_default();
    assert!(
        row.contains("teltonika") && row.contains("Online") && row.contains("54 km/h"),
        "{row}"
    );
    b.screenshot("devices").await;

    // A shipment that goes late.
    let t0 = late::t0();
    let (st, body) =
        late::post_json(&r, "/api/shipments", &late::shipment("sh-late", TRUCK, t0)).await;
    assert_eq!(st, 201, "{body}");
    b.goto(&format!("{base}/#/shipments")).await;
    // A new shipment shows with its first ETA (the stream carries no creations).
    late::drive(&r, TRUCK, t0, &late::late_trip()).await;
    b.wait_js(
        PAGE,
        "row with an ETA",
        "return !!document.querySelector('#ship-rows tr[data-id=\"sh-late\"] td.eta time');",
    )
    .await;
    b.wait_js(PAGE, "row turns late", "return document.querySelector('#ship-rows tr[data-id=\"sh-late\"]')?.dataset.status === 'late';").await;
    let (_, v) = gateway::get_json(&r, "/api/exceptions?type=late").await;
    assert_eq!(v["open"], 1, "the late alert fired: {v}");
    let row = b
        .text("#ship-rows tr[data-id=\"sh-late\"]")
        .await
        .unwrap_or_default();
    assert!(row.contains("Late") && row.contains("Customer"), "{row}");
    b.screenshot("shipments").await;

    // The exception in the feed, acknowledged from the page: gone from "open", audited.
    b.goto(&format!("{base}/#/exceptions")).await;
    let title = b
        .wait_js(
            PAGE,
            "late exception in the feed",
            "return document.querySelector('#exc-list li[data-type=\"late\"]') && document.title;",
        )
        .await;
    assert_eq!(title, json!("(1) trackgate console"));
    b.screenshot("exceptions").await;
    b.click("#exc-list li[data-type=\"late\"] .ack-btn").await;
    b.type_into(
        "#exc-list li[data-type=\"late\"] textarea",
        "Driver called: loading delayed",
    )
    .await;
    b.click("#exc-list li[data-type=\"late\"] button[type=\"submit\"]")
        .await;
    b.wait_js(PAGE, "gone from open", "return !document.querySelector('#exc-list li[data-type=\"late\"]') && document.title === 'trackgate console';").await;
    let (_, v) = gateway::get_json(&r, "/api/exceptions?status=all&type=late").await;
    let ack = &v["exceptions"][0]["ack"];
    assert_eq!(
        (ack["by"].as_str(), ack["note"].as_str()),
        (Some("anonymous"), Some("Driver called: loading delayed")),
        "{v}"
    );
    assert_eq!(v["open"], 0);

    // The shipment view: stops planned vs ETA vs actual, the trail, the ETA chart.
    b.goto(&format!("{base}/#/shipments/sh-late")).await;
    b.wait_js(
        PAGE,
        "ETA chart",
        "return !!document.querySelector('#eta-chart polyline.chart-eta');",
    )
    .await;
    let stops = b.text("#stops-table tbody").await.unwrap_or_default();
    assert!(
        stops.contains("Depot") && stops.contains("Arrived") && stops.contains("Late"),
        "{stops}"
    );
    let trail = b
        .js(
            "return trackgate.views.shipment.history.trail.length;",
            vec![],
        )
        .await;
    assert!(trail.as_u64().unwrap_or(0) >= 5, "trail points: {trail}");
    b.screenshot("shipment").await;
    b.js(
        "document.getElementById('eta-chart').scrollIntoView();",
        vec![],
    )
    .await;
    b.screenshot("shipment-chart").await;
    // The whole view at once (the README's picture).
    b.client.set_window_size(1400, 1180).await.expect("resize");
    b.js("window.scrollTo(0, 0);", vec![]).await;
    b.screenshot("shipment-full").await;
    b.client.set_window_size(1400, 900).await.expect("resize");

    // A customer link: only this shipment, and 404 once revoked.
    b.click("#share-create").await;
    let url = b
        .wait_js(
            PAGE,
            "share link",
            "return document.getElementById('share-url')?.value;",
        )
        .await;
    let url = url.as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("{base}/track/")), "{url}");
    b.goto(&url).await;
    b.wait_js(PAGE, "tracking page", "return document.getElementById('track-id')?.textContent === 'sh-late' && !!document.querySelector('#track-stops tbody tr');").await;
    let page = b.text("body").await.unwrap_or_default();
    assert!(
        !page.contains(TRUCK) && !page.contains(wire::GT06_IMEI),
        "no device ids on the customer page"
    );
    assert!(
        page.contains("Customer") && page.contains("Depot"),
        "{page}"
    );
    b.screenshot("tracking-page").await;
    b.goto(&format!("{base}/#/shipments/sh-late")).await;
    b.wait_js(
        PAGE,
        "the link listed",
        "return !!document.querySelector('#share-list .revoke');",
    )
    .await;
    b.click("#share-list .revoke").await;
    b.wait_js(PAGE, "revoked", "return document.querySelector('#share-list li')?.textContent.includes('revoked by anonymous');").await;
    let status = reqwest::get(&url).await.expect("get").status().as_u16();
    assert_eq!(status, 404);
    let data = reqwest::get(format!("{url}/data"))
        .await
        .expect("get")
        .status()
        .as_u16();
    assert_eq!(data, 404);

    // The gateway restarts: the page says "reconnecting", the browser reconnects with
    // Last-Event-ID by itself, and what happens after that shows without a reload.
    b.goto(&format!("{base}/#/devices")).await;
    b.wait_js(PAGE, "live", "return document.getElementById('live').dataset.state === 'live' && !!document.querySelector('#dev-rows tr');").await;
    b.js("window.notReloaded = true;", vec![]).await;
    let addr = r.http_addr;
    r.shutdown().await;
    b.wait_js(
        PAGE,
        "reconnecting shown",
        "return document.getElementById('live').dataset.state === 'reconnecting';",
    )
    .await;
    let mut cfg = gateway::test_config("");
    cfg.storage.dir = dir;
    cfg.http.listen = addr;
    let r = trackgate::server::start(cfg)
        .await
        .expect("server restarts");
    b.wait_js(
        PAGE,
        "live again",
        "return document.getElementById('live').dataset.state === 'live';",
    )
    .await;
    gt06_fix(&r, 48.2).await;
    b.wait_js(
        PAGE,
        "a fix after the restart",
        &format!(
            "return window.notReloaded && trackgate.store.devices.get('{}')?.lat === 48.2;",
            wire::GT06_IMEI
        ),
    )
    .await;
    b.close().await;
    r.shutdown().await;
}
