//! The ops console in a real headless Chromium with access control on: a customer's token
//! sees only its customer's part of the gateway, and the page offers only what the token
//! may do.
//!
//! One gateway, three tokens: `ops` (read, write), `acme` (read only, customer acme),
//! `globex` (read, write, customer globex). GT06 trucks of both customers drive late trips
//! over TCP while the page is open with acme's token (pasted in the page's *Token* dialog),
//! and an idle vehicle reports over OsmAnd HTTP. In the DOM — shipments table, fleet map and
//! device panel, devices list, exceptions feed — and in the page's state, nothing of globex
//! nor the idle vehicle shows, at load or later from the live stream; acme's read-only
//! token gets no *Acknowledge* and no *Create link*. The same page with the ops token then
//! shows both customers and the write actions, which proves the data was there to leak.
//!
//! Needs `chromium` and `chromedriver`: `.ci/services.sh install`. Screenshots go to
//! `target/console-screenshots/tenant-*.png`.

mod console_support;
mod support;

use chrono::{SecondsFormat, Utc};
use console_support::browser::Browser;
use console_support::late;
use serde_json::json;
use std::time::Duration;
use support::gateway;
use trackgate::api::auth::config::TokenConfig;
use trackgate::api::auth::tokens::sha256_hex;
use trackgate::api::auth::Scope;
use trackgate::server::Running;

/// Everything the page waits for on a loaded 2-core machine.
const PAGE: Duration = Duration::from_secs(15);

const ACME_TRUCK: &str = "356307042441107";
const GLOBEX_TRUCK: &str = "356307042441115";
/// On no shipment: no customer's to see.
const IDLE_VAN: &str = "860000000000042";

/// What acme's page must never contain.
const NOT_ACME: [&str; 4] = [GLOBEX_TRUCK, IDLE_VAN, "sh-globex", "globex"];

fn token(name: &str, scopes: Vec<Scope>, customer: Option<&str>) -> TokenConfig {
    TokenConfig {
        name: name.into(),
        token_sha256: Some(sha256_hex(&secret(name)).into()),
        scopes,
        customer: customer.map(String::from),
        ..TokenConfig::default()
    }
}

fn secret(name: &str) -> String {
    format!("secret-{name}")
}

/// One OsmAnd fix of the idle van, now.
async fn idle_fix(r: &Running, lat: f64) {
    let t = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let url = format!(
        "http://{}/?id={IDLE_VAN}&lat={lat}&lon=13.4&timestamp={t}&speed=0",
        r.addr("osmand", "http").expect("osmand listener")
    );
    let st = reqwest::get(&url).await.expect("osmand").status();
    assert_eq!(st, 200, "idle van's fix");
}

/// Pastes `name`'s token into the page's token dialog (opening it unless the page already
/// did, after a 401) and waits for the reloaded page to be live as that token.
async fn use_token(b: &Browser, name: &str, expect_who: &str) {
    let open = b
        .js("return document.getElementById('login').open;", vec![])
        .await;
    if open != json!(true) {
        b.click("#login-btn").await;
    }
    b.type_into("#token-input", &secret(name)).await;
    b.click("#login button[value=\"save\"]").await;
    let who = b
        .wait_js(
            PAGE,
            &format!("page live as {name}"),
            &format!(
                "const w = document.getElementById('who'); return document.body.dataset.loaded === 'true' && document.getElementById('live').dataset.state === 'live' && w.textContent.startsWith('{name}') && w.textContent;"
            ),
        )
        .await;
    assert_eq!(who, json!(expect_who));
    let kept = b
        .js("return sessionStorage.getItem('trackgate.token');", vec![])
        .await;
    assert_eq!(kept, json!(secret(name)), "the token is kept for the tab");
}

/// `data-id` of every element matching `css`.
async fn ids(b: &Browser, css: &str) -> Vec<String> {
    let v = b
        .js(
            "return [...document.querySelectorAll(arguments[0])].map((e) => e.dataset.id);",
            vec![json!(css)],
        )
        .await;
    serde_json::from_value(v).expect("ids")
}

/// Which of `words` the page shows (any view's DOM) or holds (its store, the map layer).
async fn shown(b: &Browser, words: &[&str]) -> Vec<String> {
    let v = b
        .js(
            "const s = trackgate.store;
             const state = JSON.stringify([[...s.devices.values()], [...s.shipments.values()],
               [...s.exceptions.values()], [...trackgate.views.map.map.byId.keys()]]);
             const page = document.body.textContent;
             return arguments[0].flatMap((w) => [page.includes(w) ? 'page: ' + w : null,
               state.includes(w) ? 'state: ' + w : null]).filter(Boolean);",
            vec![json!(words)],
        )
        .await;
    serde_json::from_value(v).expect("list")
}

/// Opens `hash` and waits for it to be the rendered view.
async fn view(b: &Browser, hash: &str, ready: &str) {
    b.js("location.hash = arguments[0];", vec![json!(hash)])
        .await;
    b.wait_js(PAGE, hash, &format!("return {ready};")).await;
}

/// The devices list and the shipments table hold acme's truck and shipment only, and the
/// page shows or holds nothing of anyone else's.
async fn only_acme_listed(b: &Browser) {
    view(b, "#/devices", "!!document.querySelector('#dev-rows tr')").await;
    assert_eq!(ids(b, "#dev-rows tr").await, [ACME_TRUCK]);
    view(
        b,
        "#/shipments",
        "!!document.querySelector('#ship-rows tr')",
    )
    .await;
    assert_eq!(ids(b, "#ship-rows tr").await, ["sh-acme"]);
    assert_eq!(shown(b, &NOT_ACME).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_token_sees_only_its_rows_and_a_read_only_token_no_write_actions() {
    let mut cfg = gateway::test_config("");
    cfg.api.tokens = vec![
        token("ops", vec![Scope::Read, Scope::Write], None),
        token("acme", vec![Scope::Read], Some("acme")),
        token("globex", vec![Scope::Read, Scope::Write], Some("globex")),
    ];
    let r = trackgate::server::start(cfg).await.expect("server starts");
    let base = format!("http://{}", r.http_addr);
    idle_fix(&r, 52.52).await;
    let t0 = late::t0();
    let mut acme = late::shipment("sh-acme", ACME_TRUCK, t0);
    acme["customer"] = json!("acme");
    let (st, v) = late::post_json_as(&r, "/api/shipments", &acme, Some(&secret("ops"))).await;
    assert_eq!(st, 201, "{v}");
    let globex = late::shipment("sh-globex", GLOBEX_TRUCK, t0);
    let (st, v) = late::post_json_as(&r, "/api/shipments", &globex, Some(&secret("globex"))).await;
    assert_eq!((st, &v["customer"]), (201, &json!("globex")), "{v}");

    // Without a token the page asks for one; acme's is pasted there.
    let b = Browser::start().await;
    b.goto(&format!("{base}/#/shipments")).await;
    b.wait_js(
        PAGE,
        "the token dialog",
        "return document.getElementById('login').open;",
    )
    .await;
    use_token(&b, "acme", "acme · customer acme · read-only").await;

    // Both trucks go late while the page watches, globex's first: once acme's exception is
    // in the page, anything of globex's the stream carried would be there too.
    late::drive(&r, GLOBEX_TRUCK, t0, &late::late_trip()).await;
    late::drive(&r, ACME_TRUCK, t0, &late::late_trip()).await;
    b.wait_js(PAGE, "acme's row turns late", "return document.querySelector('#ship-rows tr[data-id=\"sh-acme\"]')?.dataset.status === 'late';").await;
    b.wait_js(
        PAGE,
        "acme's late exception",
        "return [...trackgate.store.exceptions.values()].some((e) => e.type === 'late' && e.open);",
    )
    .await;
    assert_eq!(ids(&b, "#ship-rows tr").await, ["sh-acme"]);
    b.screenshot("tenant-acme-shipments").await;

    // Fleet map and device panel: acme's truck only.
    view(&b, "#/map", "trackgate.views.map.map.byId.size > 0").await;
    let on_map = b
        .js("return [...trackgate.views.map.map.byId.keys()];", vec![])
        .await;
    assert_eq!(on_map, json!([ACME_TRUCK]));
    view(
        &b,
        &format!("#/map/{ACME_TRUCK}"),
        "!document.getElementById('device-panel').hidden",
    )
    .await;
    let panel = b.text("#device-panel").await.unwrap_or_default();
    assert!(
        panel.contains(ACME_TRUCK) && panel.contains("sh-acme"),
        "{panel}"
    );
    b.screenshot("tenant-acme-map").await;

    only_acme_listed(&b).await;

    // Exceptions feed, all of them: acme's, and no Acknowledge for a read-only token.
    view(
        &b,
        "#/exceptions",
        "!!document.querySelector('#exc-list li')",
    )
    .await;
    b.js(
        "const m = document.getElementById('exc-mode'); m.value = 'all'; m.dispatchEvent(new Event('input'));",
        vec![],
    )
    .await;
    let feed = b
        .js(
            "return [...document.querySelectorAll('#exc-list li')].map((li) => li.textContent);",
            vec![],
        )
        .await;
    let feed: Vec<String> = serde_json::from_value(feed).expect("feed");
    assert!(!feed.is_empty());
    assert!(feed.iter().all(|t| t.contains(ACME_TRUCK)), "{feed:?}");
    assert!(feed.iter().any(|t| t.contains("sh-acme")), "{feed:?}");
    let ack_buttons = b
        .js(
            "return document.querySelectorAll('.ack-btn').length;",
            vec![],
        )
        .await;
    assert_eq!(
        ack_buttons,
        json!(0),
        "read-only: nothing to acknowledge with"
    );
    b.screenshot("tenant-acme-exceptions").await;

    // The shipment view offers no link-making to a read-only token.
    view(
        &b,
        "#/shipments/sh-acme",
        "!!document.querySelector('#share-readonly')",
    )
    .await;
    assert_eq!(
        b.js("return !!document.getElementById('share-create');", vec![])
            .await,
        json!(false)
    );
    assert_eq!(shown(&b, &NOT_ACME).await, Vec::<String>::new());

    // Later: globex's truck and the idle van report again, then acme's truck; once acme's
    // fix is on the page, the others would have arrived before it.
    late::drive(&r, GLOBEX_TRUCK, t0, &[(1830, 1_500.0)]).await;
    idle_fix(&r, 52.53).await;
    late::drive(&r, ACME_TRUCK, t0, &[(1830, 1_500.0)]).await;
    b.wait_js(
        PAGE,
        "acme's later fix",
        &format!(
            "return trackgate.store.devices.get('{ACME_TRUCK}')?.lon > {};",
            late::lon_at(1_400.0)
        ),
    )
    .await;
    only_acme_listed(&b).await;

    // The ops token on the same page: both customers, the idle van, and the write actions.
    use_token(&b, "ops", "ops").await;
    view(
        &b,
        "#/shipments",
        "document.querySelectorAll('#ship-rows tr').length === 2",
    )
    .await;
    let mut rows = ids(&b, "#ship-rows tr").await;
    rows.sort();
    assert_eq!(rows, ["sh-acme", "sh-globex"]);
    view(
        &b,
        "#/devices",
        "document.querySelectorAll('#dev-rows tr').length === 3",
    )
    .await;
    view(
        &b,
        "#/exceptions",
        "!!document.querySelector('#exc-list li .ack-btn')",
    )
    .await;
    let feed = b.text("#exc-list").await.unwrap_or_default();
    assert!(
        feed.contains(GLOBEX_TRUCK) && feed.contains(ACME_TRUCK),
        "{feed}"
    );
    b.screenshot("tenant-ops-exceptions").await;
    view(
        &b,
        "#/shipments/sh-globex",
        "!!document.querySelector('#share-create')",
    )
    .await;
    let found = shown(&b, &NOT_ACME).await;
    assert!(found.contains(&"state: globex".to_string()), "{found:?}");
    b.close().await;
    r.shutdown().await;
}
