//! Tenant isolation as a customer would try to break it: two customers' tokens (`acme`,
//! `globex`) and an ops token on one gateway, real devices reporting over OsmAnd HTTP. A
//! customer sees, lists, streams, acknowledges and links only its own shipments, their
//! events and the vehicles on them; everything else answers 404 (never 403: that would
//! confirm it exists). Also the shipment quotas and `tracking.keep_finished`.

mod support;

use chrono::{SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use support::gateway::test_config;
use support::poll::eventually;
use trackgate::api::auth::config::TokenConfig;
use trackgate::api::auth::tokens::sha256_hex;
use trackgate::api::auth::Scope;
use trackgate::server::{self, Running};

const ACME_DEV: &str = "860000000000001";
const GLOBEX_DEV: &str = "860000000000002";
const IDLE_DEV: &str = "860000000000003";

fn token(name: &str, customer: Option<&str>) -> TokenConfig {
    TokenConfig {
        name: name.into(),
        token_sha256: Some(sha256_hex(&format!("secret-{name}")).into()),
        scopes: vec![Scope::Read, Scope::Write],
        customer: customer.map(String::from),
        ..TokenConfig::default()
    }
}

async fn gateway(max_per_customer: usize) -> Running {
    let mut cfg = test_config("");
    cfg.api.tokens = vec![
        token("ops", None),
        token("acme", Some("acme")),
        token("globex", Some("globex")),
    ];
    cfg.tracking.max_shipments_per_customer = max_per_customer;
    server::start(cfg).await.expect("start")
}

async fn call(
    r: &Running,
    m: Method,
    path: &str,
    who: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .request(m, format!("http://{}{path}", r.http_addr))
        .bearer_auth(format!("secret-{who}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let st = resp.status();
    (st, resp.json().await.unwrap_or(Value::Null))
}

async fn get(r: &Running, path: &str, who: &str) -> (StatusCode, Value) {
    call(r, Method::GET, path, who, None).await
}

/// One OsmAnd fix (now), with an optional alarm.
async fn fix(r: &Running, id: &str, lat: f64, alarm: Option<&str>) {
    let t = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut url = format!(
        "http://{}/?id={id}&lat={lat}&lon=13.4&timestamp={t}&speed=30",
        r.addr("osmand", "http").expect("osmand")
    );
    if let Some(a) = alarm {
        url.push_str(&format!("&alarm={a}"));
    }
    let st = reqwest::get(&url).await.expect("osmand").status();
    assert_eq!(st, 200, "fix of {id}");
}

fn shipment(id: &str, device: &str, customer: Option<&str>) -> Value {
    let planned = (Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let mut v = json!({
        "id": id, "device": device,
        "route": {"type": "LineString", "coordinates": [[13.4, 52.5], [13.5, 52.5]]},
        "stops": [{"id": "s1", "lat": 52.5, "lon": 13.5, "planned_arrival": planned}]
    });
    if let Some(c) = customer {
        v["customer"] = json!(c);
    }
    v
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|x| x[key].as_str().unwrap_or_default().to_string())
        .collect()
}

/// acme and globex each with a shipment on their own vehicle, plus an idle vehicle.
async fn two_customers(r: &Running) {
    for d in [ACME_DEV, GLOBEX_DEV, IDLE_DEV] {
        fix(r, d, 52.5, None).await;
    }
    let (st, v) = call(
        r,
        Method::POST,
        "/api/shipments",
        "acme",
        Some(shipment("sh-acme", ACME_DEV, None)),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["customer"], "acme",
        "a customer token's shipment is its customer's"
    );
    let (st, v) = call(
        r,
        Method::POST,
        "/api/shipments",
        "ops",
        Some(shipment("sh-globex", GLOBEX_DEV, Some("globex"))),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
}

#[tokio::test]
async fn a_customer_sees_only_its_shipments_and_vehicles() {
    let r = gateway(100).await;
    two_customers(&r).await;

    let (_, v) = get(&r, "/api/shipments", "acme").await;
    assert_eq!(ids(&v, "id"), ["sh-acme"]);
    let (_, v) = get(&r, "/api/shipments", "globex").await;
    assert_eq!(ids(&v, "id"), ["sh-globex"]);
    let (_, v) = get(&r, "/api/shipments", "ops").await;
    assert_eq!(ids(&v, "id"), ["sh-acme", "sh-globex"]);

    // Another customer's shipment does not exist for acme, whatever the route.
    for (m, path) in [
        (Method::GET, "/api/shipments/sh-globex"),
        (Method::DELETE, "/api/shipments/sh-globex"),
        (Method::GET, "/api/shipments/sh-globex/history"),
        (Method::POST, "/api/shipments/sh-globex/share"),
        (Method::GET, "/api/shipments/sh-globex/shares"),
    ] {
        let (st, v) = call(&r, m.clone(), path, "acme", None).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{m} {path}: {v}");
    }
    let (_, v) = get(&r, "/api/shipments/sh-globex", "ops").await;
    assert_eq!(v["status"], "active", "acme's DELETE cancelled nothing");

    // Vehicles: only the one on acme's active shipment.
    let (_, v) = get(&r, "/api/devices", "acme").await;
    assert_eq!(ids(&v, "id"), [ACME_DEV]);
    for d in [GLOBEX_DEV, IDLE_DEV] {
        let (st, _) = get(&r, &format!("/api/devices/{d}"), "acme").await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{d}");
    }
    let (_, v) = get(&r, "/api/devices", "ops").await;
    assert_eq!(v.as_array().unwrap().len(), 3);

    // A customer cannot make shipments for another, nor put one on another's vehicle.
    let (st, v) = call(
        &r,
        Method::POST,
        "/api/shipments",
        "acme",
        Some(shipment("sh-x", IDLE_DEV, Some("globex"))),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let (st, v) = call(
        &r,
        Method::POST,
        "/api/shipments",
        "acme",
        Some(shipment("sh-y", GLOBEX_DEV, None)),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");

    // A link acme made cannot be revoked by globex.
    let (st, link) = call(
        &r,
        Method::POST,
        "/api/shipments/sh-acme/share",
        "acme",
        None,
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{link}");
    let path = format!("/api/shares/{}", link["id"].as_str().unwrap());
    let (st, _) = call(&r, Method::DELETE, &path, "globex", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = call(&r, Method::DELETE, &path, "acme", None).await;
    assert_eq!(st, StatusCode::OK);

    // Once acme's shipment ends, its vehicle is no longer acme's to see.
    let (st, _) = call(&r, Method::DELETE, "/api/shipments/sh-acme", "acme", None).await;
    assert_eq!(st, StatusCode::OK);
    let (_, v) = get(&r, "/api/devices", "acme").await;
    assert_eq!(ids(&v, "id"), Vec::<String>::new());
    r.shutdown().await;
}

#[tokio::test]
async fn events_exceptions_and_acks_stay_with_their_customer() {
    let r = gateway(100).await;
    two_customers(&r).await;
    // A device alarm belongs to the customer of the shipment its vehicle is on.
    fix(&r, GLOBEX_DEV, 52.5, Some("sos")).await;
    fix(&r, ACME_DEV, 52.5, Some("sos")).await;
    let alarms = |v: &Value| -> Vec<(String, String)> {
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "alarm_sos")
            .map(|e| {
                (
                    e["device"].as_str().unwrap().into(),
                    e["customer"].as_str().unwrap_or("-").into(),
                )
            })
            .collect()
    };
    let all = eventually(
        Duration::from_secs(10),
        "both alarms in the history",
        async || {
            let (_, v) = get(&r, "/api/events", "ops").await;
            (alarms(&v).len() == 2).then_some(v)
        },
    )
    .await;
    let mut got = alarms(&all);
    got.sort();
    assert_eq!(
        got,
        [
            (ACME_DEV.to_string(), "acme".to_string()),
            (GLOBEX_DEV.to_string(), "globex".to_string())
        ]
    );
    let (_, v) = get(&r, "/api/events", "acme").await;
    assert_eq!(alarms(&v), [(ACME_DEV.to_string(), "acme".to_string())]);
    // Filters cannot widen the view.
    let (_, v) = get(&r, &format!("/api/events?device={GLOBEX_DEV}"), "acme").await;
    assert_eq!(v["events"].as_array().unwrap().len(), 0, "{v}");

    let (_, v) = get(&r, "/api/exceptions", "acme").await;
    let mine: Vec<&Value> = v["exceptions"].as_array().unwrap().iter().collect();
    assert!(mine.iter().all(|e| e["customer"] == "acme"), "{v}");
    assert_eq!(v["open"], 1, "{v}");
    let globex_sos = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "alarm_sos" && e["device"] == GLOBEX_DEV)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ack = format!("/api/exceptions/{}/ack", urlencoding(&globex_sos));
    let (st, _) = call(
        &r,
        Method::POST,
        &ack,
        "acme",
        Some(json!({"note": "mine now"})),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "acme acknowledges globex's alarm"
    );
    let (st, v) = call(
        &r,
        Method::POST,
        &ack,
        "globex",
        Some(json!({"note": "on it"})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    r.shutdown().await;
}

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn the_live_stream_carries_only_the_customers_part() {
    let r = gateway(100).await;
    two_customers(&r).await;
    let resp = reqwest::Client::new()
        .get(format!(
            "http://{}/api/stream?access_token=secret-acme",
            r.http_addr
        ))
        .send()
        .await
        .expect("stream");
    assert_eq!(resp.status(), 200);
    let mut resp = resp;
    // globex's and the idle vehicle's fixes come first in the log, acme's last: once acme's
    // arrives, anything not acme's would already have been sent.
    fix(&r, GLOBEX_DEV, 52.51, Some("sos")).await;
    fix(&r, IDLE_DEV, 52.51, None).await;
    fix(&r, ACME_DEV, 52.51, None).await;
    let mut text = String::new();
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = resp.chunk().await.expect("chunk") {
            text.push_str(&String::from_utf8_lossy(&chunk));
            if text.contains(ACME_DEV) && text.contains("event: position") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(seen, Ok(true), "acme's position arrives: {text}");
    assert!(
        !text.contains(GLOBEX_DEV),
        "globex's vehicle leaked: {text}"
    );
    assert!(!text.contains(IDLE_DEV), "an idle vehicle leaked: {text}");
    assert!(
        !text.contains("sh-globex"),
        "globex's shipment leaked: {text}"
    );
    r.shutdown().await;
}

#[tokio::test]
async fn quotas_answer_with_a_clear_4xx() {
    let r = gateway(2).await;
    fix(&r, ACME_DEV, 52.5, None).await;
    let mut many = shipment("sh-stops", ACME_DEV, None);
    let planned = many["stops"][0]["planned_arrival"].clone();
    many["stops"] = (0..201)
        .map(|i| json!({"id": format!("s{i}"), "lat": 52.5, "lon": 13.5, "planned_arrival": planned}))
        .collect();
    let (st, v) = call(&r, Method::POST, "/api/shipments", "acme", Some(many)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("stops: has 201 stops, more than 200"),
        "{v}"
    );
    let mut long = shipment("sh-route", ACME_DEV, None);
    long["route"]["coordinates"] = (0..10_001)
        .map(|i| json!([13.4 + i as f64 * 1e-5, 52.5]))
        .collect();
    let (st, v) = call(&r, Method::POST, "/api/shipments", "acme", Some(long)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("route.coordinates"),
        "{v}"
    );
    let mut named = shipment("sh-name", ACME_DEV, None);
    named["stops"][0]["name"] = json!("n".repeat(257));
    let (st, v) = call(&r, Method::POST, "/api/shipments", "acme", Some(named)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let (st, _) = call(
        &r,
        Method::POST,
        "/api/shipments",
        "acme",
        Some(shipment(&"i".repeat(129), ACME_DEV, None)),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    for id in ["q1", "q2"] {
        let (st, v) = call(
            &r,
            Method::POST,
            "/api/shipments",
            "acme",
            Some(shipment(id, ACME_DEV, None)),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    let (st, v) = call(
        &r,
        Method::POST,
        "/api/shipments",
        "acme",
        Some(shipment("q3", ACME_DEV, None)),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("max_shipments_per_customer"),
        "{v}"
    );
    // Another customer has its own quota.
    let (st, _) = call(
        &r,
        Method::POST,
        "/api/shipments",
        "globex",
        Some(shipment("g1", ACME_DEV, None)),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "acme's vehicle is on acme's shipment"
    );
    fix(&r, GLOBEX_DEV, 52.5, None).await;
    let (st, v) = call(
        &r,
        Method::POST,
        "/api/shipments",
        "globex",
        Some(shipment("g1", GLOBEX_DEV, None)),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    // Paging: one at a time, with the next page named.
    let resp = reqwest::Client::new()
        .get(format!("http://{}/api/shipments?limit=1", r.http_addr))
        .bearer_auth("secret-ops")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-next-after"], "g1");
    let page: Value = resp.json().await.unwrap();
    assert_eq!(ids(&page, "id"), ["g1"]);
    let (_, v) = get(&r, "/api/shipments?limit=1&after=g1", "ops").await;
    assert_eq!(ids(&v, "id"), ["q1"]);
    r.shutdown().await;
}
