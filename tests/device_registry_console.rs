//! The ops console shows the device registry: a registered device's name and plate in the
//! device list and the map's device panel, and the list's search finds it by them (real
//! headless Chromium over WebDriver, as `tests/console_browser.rs`).

mod console_support;
mod support;

use console_support::browser::Browser;
use serde_json::json;
use std::time::Duration;
use support::gateway;
use support::wire::{gt06_location, Gt06Fix, GT06_IMEI};

const PAGE: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_lists_names_and_plates_and_searches_them() {
    let r = gateway::start("").await;
    let base = format!("http://{}", r.http_addr);
    // One named GT06 tracker reporting, one registered vehicle never seen.
    let client = reqwest::Client::new();
    for (id, body) in [
        (GT06_IMEI, json!({"name": "Blue Truck", "plate": "M-TG 42"})),
        ("777", json!({"name": "Spare Van"})),
    ] {
        let st = client
            .put(format!("{base}/api/devices/{id}"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(st, 201);
    }
    let mut s = gateway::connect(&r, "gt06").await;
    gateway::gt06_login(&mut s).await;
    let fix = Gt06Fix {
        time: chrono::Utc::now() - chrono::Duration::seconds(3),
        satellites: 9,
        lat: 48.137,
        lon: 11.575,
        speed: 0,
        course: 0,
    };
    gateway::send_expect(
        &mut s,
        &gt06_location(&fix, 2),
        &support::wire::gt06_ack(0x12, 2),
    )
    .await;
    gateway::wait_device(&r, GT06_IMEI, |d| !d["lat"].is_null()).await;

    let b = Browser::start().await;
    b.goto(&format!("{base}/#/devices")).await;
    b.wait_js(PAGE, "both devices listed", "return document.body.dataset.loaded === 'true' && document.querySelectorAll('#dev-rows tr').length === 2;").await;
    let row = b
        .text(&format!("#dev-rows tr[data-id=\"{GT06_IMEI}\"]"))
        .await
        .unwrap_or_default();
    assert!(
        row.contains("Blue Truck · M-TG 42") && row.contains("gt06"),
        "{row}"
    );
    let spare = b
        .text("#dev-rows tr[data-id=\"777\"]")
        .await
        .unwrap_or_default();
    assert!(
        spare.contains("Spare Van") && spare.contains("Offline"),
        "{spare}"
    );

    // Search by plate, then by name.
    b.type_into("#dev-search", "m-tg").await;
    b.wait_js(PAGE, "search by plate", &format!("const r = document.querySelectorAll('#dev-rows tr'); return r.length === 1 && r[0].dataset.id === '{GT06_IMEI}';")).await;
    b.js("const e = document.getElementById('dev-search'); e.value = 'spare'; e.dispatchEvent(new Event('input'));", vec![]).await;
    b.wait_js(PAGE, "search by name", "const r = document.querySelectorAll('#dev-rows tr'); return r.length === 1 && r[0].dataset.id === '777';").await;

    // The map's device panel names the vehicle.
    b.goto(&format!("{base}/#/map/{GT06_IMEI}")).await;
    let head = b
        .wait_js(
            PAGE,
            "device panel",
            "const e = document.querySelector('#device-panel h3'); return e && e.textContent;",
        )
        .await;
    assert_eq!(
        head.as_str(),
        Some(&*format!("Device {GT06_IMEI} · Blue Truck")),
        "{head}"
    );
    b.screenshot("registry-devices").await;
    b.close().await;
    r.shutdown().await;
}
