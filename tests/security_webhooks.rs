//! Webhooks as an attacker would use them, against a real gateway (in-process, port 0) and a
//! real receiver on loopback: targets that lead inward in every spelling, a name that turns
//! inward after creation (DNS rebinding), tenants reading or hooking into each other, a
//! receiver's error page read back through the delivery log, one dead receiver starving the
//! others, and secret rotation as a receiver sees it.

mod support;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::eventually;
use support::gateway::{temp_dir, test_config};
use support::records::{alert, append, at};
use trackgate::api::auth::config::TokenConfig;
use trackgate::api::auth::tokens::sha256_hex;
use trackgate::api::auth::Scope;
use trackgate::config::Config;
use trackgate::model::{Alert, Record};
use trackgate::server::{self, Running};

/// A body longer than the 200 bytes an admin may read back.
fn error_page() -> String {
    format!(
        "internal error: database at 10.0.0.5 refused; {}",
        "x".repeat(300)
    )
}

/// One request the receiver saw.
#[derive(Clone, Debug)]
struct Hit {
    path: String,
    timestamp: String,
    signature: String,
    body: String,
}

type Hits = Arc<Mutex<Vec<Hit>>>;

/// `/ok/*` answers 200, `/fail/*` 410 with [`error_page`], `/hang/*` never.
async fn receive(
    State(hits): State<Hits>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    let h = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    hits.lock().unwrap().push(Hit {
        path: path.clone(),
        timestamp: h("x-trackgate-timestamp"),
        signature: h("x-trackgate-signature"),
        body,
    });
    if path.starts_with("hang") {
        std::future::pending::<()>().await;
    }
    if path.starts_with("fail") {
        return (StatusCode::GONE, error_page());
    }
    (StatusCode::OK, "ok".into())
}

/// Starts the receiver on 127.0.0.1; returns its port and what it saw.
async fn receiver() -> (u16, Hits) {
    let hits = Hits::default();
    let app = Router::new()
        .route("/{*path}", post(receive))
        .with_state(hits.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (port, hits)
}

/// Tokens: `admin`, `ops` (write), `acme` and `globex` (write, tenant-scoped); each token's
/// secret is `token-<name>`.
fn config(dir: Option<std::path::PathBuf>) -> Config {
    let mut cfg = test_config("");
    if let Some(d) = dir {
        cfg.storage.dir = d;
    }
    let token = |name: &str, scope: Scope, customer: Option<&str>| TokenConfig {
        name: name.into(),
        token_sha256: Some(sha256_hex(&format!("token-{name}")).into()),
        scopes: vec![scope],
        customer: customer.map(Into::into),
        ..TokenConfig::default()
    };
    cfg.api.tokens = vec![
        token("admin", Scope::Admin, None),
        token("ops", Scope::Write, None),
        token("acme", Scope::Write, Some("acme")),
        token("globex", Scope::Write, Some("globex")),
    ];
    cfg.webhooks.initial_backoff = Duration::from_millis(50);
    cfg.webhooks.max_backoff = Duration::from_millis(200);
    cfg.webhooks.poll_interval = Duration::from_millis(100);
    cfg
}

async fn call(
    r: &Running,
    who: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let c = reqwest::Client::new();
    let url = format!("http://{}{}", r.http_addr, path);
    let mut req = match method {
        "POST" => c.post(&url),
        "DELETE" => c.delete(&url),
        _ => c.get(&url),
    }
    .bearer_auth(format!("token-{who}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("api request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

const SECRET: &str = "receiver-shared-secret";

/// Creates a webhook as `who`; returns its id.
async fn hook(r: &Running, who: &str, url: &str, extra: Value) -> String {
    let mut body = json!({ "url": url, "secret": SECRET });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (s, v) = call(r, who, "POST", "/api/webhooks", Some(body)).await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_str().expect("id").to_string()
}

/// Polls a webhook's deliveries (as `who`) until `pred` holds (20 s limit).
async fn deliveries(
    r: &Running,
    who: &str,
    id: &str,
    pred: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let path = format!("/api/webhooks/{id}/deliveries");
    eventually(
        Duration::from_secs(20),
        &format!("deliveries of {id}"),
        async || {
            let (s, v) = call(r, who, "GET", &path, None).await;
            let d = v["deliveries"].as_array().cloned().unwrap_or_default();
            if s == 200 && pred(&d) {
                Ok(d)
            } else {
                Err(format!("{s} {v:#}"))
            }
        },
    )
    .await
}

/// A firing alert of customer `customer` (`None`: no customer), on its own shipment.
fn event(id: &str, kind: &str, customer: Option<&str>) -> Record {
    Record::Alert(Alert {
        shipment: Some(format!("sh-{id}")),
        customer: customer.map(Into::into),
        ..alert(id, kind)
    })
}

fn hmac(secret: &str, ts: &str, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{ts}.{body}").as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn every_inward_target_is_refused_at_creation_naming_the_reason() {
    let mut cfg = config(None);
    cfg.webhooks.dns_overrides = [
        ("receiver.test", "127.0.0.1"),
        ("metadata.test", "169.254.169.254"),
        ("mapped.test", "::ffff:10.0.0.7"),
        ("public.test", "93.184.215.14"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), vec![v.parse().unwrap()]))
    .collect();
    let gw = server::start(cfg).await.expect("start");
    for (url, reason) in [
        ("http://127.0.0.1/h", "127.0.0.1 is loopback"),
        ("http://2130706433/h", "127.0.0.1 is loopback"),
        ("http://0x7f000001/h", "127.0.0.1 is loopback"),
        ("http://0x7f.1/h", "127.0.0.1 is loopback"),
        ("http://0177.0.0.1/h", "127.0.0.1 is loopback"),
        ("http://017700000001/h", "127.0.0.1 is loopback"),
        ("http://127.1/h", "127.0.0.1 is loopback"),
        ("http://[::1]/h", "::1 is loopback"),
        ("http://localhost:8080/h", "is loopback"),
        ("http://receiver.test/h", "127.0.0.1 is loopback"),
        ("http://10.1.2.3/h", "private (RFC 1918)"),
        ("http://172.16.0.1/h", "private (RFC 1918)"),
        ("http://192.168.0.1/h", "private (RFC 1918)"),
        ("http://100.64.0.1/h", "CGNAT"),
        ("http://169.254.169.254/latest/meta-data", "cloud metadata"),
        ("http://metadata.test/latest", "cloud metadata"),
        (
            "http://[::ffff:169.254.169.254]/",
            "IPv4-mapped form of 169.254.169.254",
        ),
        ("http://[::ffff:7f00:1]/", "IPv4-mapped form of 127.0.0.1"),
        ("http://[::127.0.0.1]/", "IPv4-compatible form of 127.0.0.1"),
        (
            "http://[2002:a9fe:a9fe::1]/",
            "6to4 form of 169.254.169.254",
        ),
        ("http://[64:ff9b::a00:1]/", "NAT64 form of 10.0.0.1"),
        ("http://mapped.test/", "IPv4-mapped form of 10.0.0.7"),
        ("http://0.0.0.0/h", "unspecified"),
        ("http://[::]/h", "unspecified"),
        ("http://224.0.0.1/h", "multicast"),
        ("http://[ff02::1]/h", "multicast"),
        ("http://255.255.255.255/h", "broadcast"),
        ("http://[fd00::1]/h", "unique local"),
        ("http://[fe80::1]/h", "link-local"),
        ("http://169.254.1.1/h", "link-local"),
        ("https://user:pass@public.test/h", "user:pass@"),
    ] {
        let (s, v) = call(
            &gw,
            "ops",
            "POST",
            "/api/webhooks",
            Some(json!({ "url": url, "secret": SECRET })),
        )
        .await;
        let msg = v["error"].as_str().unwrap_or_default();
        assert_eq!(s, 400, "{url}: {v}");
        assert!(msg.contains(reason), "{url}: {msg}");
        assert!(!msg.contains("pass@public"), "credentials echoed: {msg}");
    }
    // The same guard lets public targets through (control).
    hook(&gw, "ops", "https://public.test/h", json!({})).await;
    hook(&gw, "ops", "http://93.184.215.14:8080/h", json!({})).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn a_name_that_turns_inward_after_creation_fails_delivery_without_a_request() {
    let (port, hits) = receiver().await;
    let dir = temp_dir("wh-rebind");
    let pin = |ip: &str| {
        [("receiver.test".to_string(), vec![ip.parse().unwrap()])]
            .into_iter()
            .collect()
    };
    // At creation the name resolves to a public address.
    let mut cfg = config(Some(dir.clone()));
    cfg.webhooks.dns_overrides = pin("93.184.215.14");
    let gw = server::start(cfg).await.expect("start");
    let id = hook(
        &gw,
        "ops",
        &format!("http://receiver.test:{port}/ok/a"),
        json!({}),
    )
    .await;
    gw.shutdown().await;

    // Later it resolves to loopback: the delivery is refused before any connection.
    let mut cfg = config(Some(dir.clone()));
    cfg.webhooks.dns_overrides = pin("127.0.0.1");
    let gw = server::start(cfg).await.expect("restart");
    append(&gw, &[event("r1", "late", None)]).await;
    let d = deliveries(&gw, "ops", &id, |d| {
        d.len() == 1 && d[0]["status"] == "dead"
    })
    .await;
    let err = d[0]["history"][0]["error"].as_str().unwrap_or_default();
    assert!(
        err.starts_with("refused: ") && err.contains("127.0.0.1 is loopback"),
        "{d:?}"
    );
    assert_eq!(d[0]["attempts"], 1, "a refusal is not retried: {d:?}");
    assert!(
        hits.lock().unwrap().is_empty(),
        "no request reached the receiver"
    );
    gw.shutdown().await;

    // Control: with loopback opened, the same pinned name is delivered to, so the refusal
    // above was the guard and not a dead receiver.
    let mut cfg = config(Some(dir));
    cfg.webhooks.dns_overrides = pin("127.0.0.1");
    cfg.webhooks.allow_private = vec!["127.0.0.0/8".into()];
    let gw = server::start(cfg).await.expect("restart");
    let (s, v) = call(
        &gw,
        "ops",
        "POST",
        &format!("/api/webhooks/{id}/redrive"),
        Some(json!({})),
    )
    .await;
    assert_eq!((s, v), (200, json!({ "requeued": 1 })));
    deliveries(&gw, "ops", &id, |d| {
        d.len() == 1 && d[0]["status"] == "delivered"
    })
    .await;
    assert_eq!(hits.lock().unwrap().len(), 1);
    gw.shutdown().await;
}

#[tokio::test]
async fn tenants_see_only_their_webhooks_and_events_and_only_admins_read_error_pages() {
    let (port, hits) = receiver().await;
    let mut cfg = config(None);
    cfg.webhooks.allow_private = vec!["127.0.0.1".into()];
    cfg.webhooks.max_webhooks_per_customer = 2;
    let gw = server::start(cfg).await.expect("start");
    let base = format!("http://127.0.0.1:{port}");
    let acme = hook(&gw, "acme", &format!("{base}/fail/acme"), json!({})).await;
    let globex = hook(&gw, "globex", &format!("{base}/ok/globex"), json!({})).await;
    let ops = hook(&gw, "ops", &format!("{base}/ok/ops"), json!({})).await;

    // Listing and every per-webhook route: another customer's webhook does not exist.
    let (_, list) = call(&gw, "acme", "GET", "/api/webhooks", None).await;
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["id"].as_str())
        .collect();
    assert_eq!(ids, [acme.as_str()]);
    assert_eq!(list[0]["customer"], "acme");
    let (_, all) = call(&gw, "ops", "GET", "/api/webhooks", None).await;
    assert_eq!(
        all.as_array().unwrap().len(),
        3,
        "untenanted tokens see all"
    );
    for (method, path) in [
        ("GET", format!("/api/webhooks/{globex}")),
        ("GET", format!("/api/webhooks/{globex}/deliveries")),
        ("POST", format!("/api/webhooks/{globex}/redrive")),
        ("POST", format!("/api/webhooks/{globex}/secret")),
        ("DELETE", format!("/api/webhooks/{globex}")),
        ("GET", format!("/api/webhooks/{ops}")),
    ] {
        let (s, v) = call(&gw, "acme", method, &path, Some(json!({}))).await;
        assert_eq!(s, 404, "{method} {path}: {v}");
    }
    let (s, _) = call(&gw, "ops", "GET", &format!("/api/webhooks/{globex}"), None).await;
    assert_eq!(s, 200, "still there");

    // Per-customer cap.
    hook(&gw, "acme", &format!("{base}/ok/acme2"), json!({})).await;
    let (s, v) = call(
        &gw,
        "acme",
        "POST",
        "/api/webhooks",
        Some(json!({ "url": format!("{base}/ok/acme3"), "secret": SECRET })),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("max_webhooks_per_customer"),
        "{v}"
    );

    // Events reach only their customer's webhooks (and the untenanted one).
    append(
        &gw,
        &[
            event("a1", "late", Some("acme")),
            event("g1", "late", Some("globex")),
            event("n1", "late", None),
        ],
    )
    .await;
    deliveries(&gw, "ops", &ops, |d| {
        d.len() == 3 && d.iter().all(|x| x["status"] == "delivered")
    })
    .await;
    deliveries(&gw, "globex", &globex, |d| {
        d.len() == 1 && d[0]["event_id"] == "g1" && d[0]["status"] == "delivered"
    })
    .await;
    let d = deliveries(&gw, "acme", &acme, |d| {
        d.len() == 1 && d[0]["status"] == "dead"
    })
    .await;
    assert_eq!(d[0]["event_id"], "a1");
    // What each receiver path got, by event id: no customer's event reached another's hook.
    let got = |path: &str| -> Vec<String> {
        hits.lock()
            .unwrap()
            .iter()
            .filter(|h| h.path == path)
            .filter_map(|h| serde_json::from_str::<Value>(&h.body).ok())
            .filter_map(|b| b["id"].as_str().map(String::from))
            .collect()
    };
    assert_eq!(got("fail/acme"), ["a1"]);
    assert_eq!(got("ok/globex"), ["g1"]);

    // The customer sees the status and the length of the receiver's error page ...
    let attempt = &d[0]["history"][0];
    assert_eq!(attempt["status"], 410);
    assert_eq!(attempt["error"], "HTTP 410");
    assert_eq!(attempt["response_bytes"], error_page().len());
    assert!(attempt.get("response").is_none(), "{attempt}");
    assert!(!json!(d).to_string().contains("10.0.0.5"), "{d:?}");
    // ... an admin its first 200 bytes.
    let d = deliveries(&gw, "admin", &acme, |d| d.len() == 1).await;
    let shown = d[0]["history"][0]["response"].as_str().unwrap();
    assert_eq!(shown, &error_page()[..200]);
    gw.shutdown().await;
}

#[tokio::test]
async fn rotation_signs_with_both_secrets_during_the_window_then_only_the_new_one() {
    let (port, hits) = receiver().await;
    let mut cfg = config(None);
    cfg.webhooks.allow_private = vec!["127.0.0.0/8".into()];
    let gw = server::start(cfg).await.expect("start");
    // No secret given: the server generates one and shows it this once.
    let (s, created) = call(
        &gw,
        "ops",
        "POST",
        "/api/webhooks",
        Some(json!({ "url": format!("http://127.0.0.1:{port}/ok/rot") })),
    )
    .await;
    assert_eq!(s, 201, "{created}");
    let first = created["secret"]
        .as_str()
        .expect("generated secret")
        .to_string();
    assert!(
        first.starts_with("whsec_") && first.len() == 6 + 64,
        "{first}"
    );
    let id = created["id"].as_str().unwrap().to_string();
    let (_, shown) = call(&gw, "ops", "GET", &format!("/api/webhooks/{id}"), None).await;
    assert!(
        shown.get("secret").is_none() && !shown.to_string().contains(&first),
        "{shown}"
    );
    assert_eq!(shown["secret_fingerprint"], created["secret_fingerprint"]);

    let next = "the-next-secret-0123456789";
    let (s, rotated) = call(
        &gw,
        "ops",
        "POST",
        &format!("/api/webhooks/{id}/secret"),
        Some(json!({ "secret": next, "previous_valid_for": "1h" })),
    )
    .await;
    assert_eq!(s, 200, "{rotated}");
    assert!(
        rotated.get("secret").is_none(),
        "a given secret is not echoed: {rotated}"
    );
    assert_eq!(
        rotated["previous_secret_fingerprint"],
        created["secret_fingerprint"]
    );
    append(&gw, &[event("s1", "late", None)]).await;
    deliveries(&gw, "ops", &id, |d| {
        d.len() == 1 && d[0]["status"] == "delivered"
    })
    .await;
    let h = hits.lock().unwrap()[0].clone();
    assert_eq!(
        h.signature,
        format!(
            "{},{}",
            hmac(next, &h.timestamp, &h.body),
            hmac(&first, &h.timestamp, &h.body)
        )
    );

    // Window closed at once: only the new secret signs.
    let (s, _) = call(
        &gw,
        "ops",
        "POST",
        &format!("/api/webhooks/{id}/secret"),
        Some(json!({ "secret": "the-final-secret-0123456789", "previous_valid_for": "0s" })),
    )
    .await;
    assert_eq!(s, 200);
    append(
        &gw,
        &[Record::Alert(Alert {
            time: at(60),
            ..alert("s2", "late")
        })],
    )
    .await;
    deliveries(&gw, "ops", &id, |d| {
        d.len() == 2 && d.iter().all(|x| x["status"] == "delivered")
    })
    .await;
    let h = hits.lock().unwrap()[1].clone();
    assert_eq!(
        h.signature,
        hmac("the-final-secret-0123456789", &h.timestamp, &h.body)
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn a_dead_receiver_with_a_deep_backlog_does_not_starve_another() {
    let (port, hits) = receiver().await;
    let mut cfg = config(None);
    cfg.webhooks.allow_private = vec!["127.0.0.0/8".into()];
    cfg.webhooks.timeout = Duration::from_secs(120);
    cfg.webhooks.max_in_flight = 2;
    cfg.webhooks.max_in_flight_per_endpoint = 1;
    let gw = server::start(cfg).await.expect("start");
    // The hanging receiver is another endpoint (localhost resolves to the same socket).
    hook(
        &gw,
        "ops",
        &format!("http://127.0.0.1:{port}/hang/a"),
        json!({ "events": ["late"] }),
    )
    .await;
    let live = hook(
        &gw,
        "ops",
        &format!("http://localhost:{port}/ok/b"),
        json!({ "events": ["arrived"] }),
    )
    .await;
    // More first-in-line rows for the dead endpoint than one outbox scan reads
    // (max_in_flight + 256), all older than the live endpoint's one event.
    let backlog: Vec<Record> = (0..300)
        .map(|i| event(&format!("d{i}"), "late", None))
        .collect();
    append(&gw, &backlog).await;
    append(&gw, &[event("live1", "arrived", None)]).await;
    let d = deliveries(&gw, "ops", &live, |d| {
        d.len() == 1 && d[0]["status"] == "delivered"
    })
    .await;
    assert_eq!(d[0]["event_id"], "live1");
    let hung = hits
        .lock()
        .unwrap()
        .iter()
        .filter(|h| h.path.starts_with("hang"))
        .count();
    assert_eq!(hung, 1, "one slot for the dead endpoint");
    gw.shutdown().await;
}
