//! Webhooks end to end: a real gateway (in-process, port 0) delivering to a real axum
//! receiver (port 0) that verifies every signature independently.

mod support;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::gateway;
use support::records::{append, at, DEVICE};
use support::{count_reaches, eventually};
use trackgate::config::Config;
use trackgate::model::{Alarm, Alert, Record};
use trackgate::server::{self, Running};

const SECRET: &str = "s3cret-of-customer";

/// One request the receiver saw.
#[derive(Clone, Debug)]
struct Hit {
    hook: String,
    event_id: String,
    signature_ok: bool,
    answered: u16,
    body: Value,
}

/// Receiver behaviour, changed by the tests while it runs.
#[derive(Default)]
struct Recv {
    /// Answer 500 to this many more requests.
    fail: AtomicUsize,
    /// Never answer this many more requests.
    hang: AtomicUsize,
    /// Answer this status to every request (0: off).
    status: AtomicU16,
    hits: Mutex<Vec<Hit>>,
}

async fn hook(
    State(r): State<Arc<Recv>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let h = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let ts = h("x-trackgate-timestamp");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{ts}.{body}").as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let fresh = ts
        .parse::<i64>()
        .is_ok_and(|t| (Utc::now().timestamp() - t).abs() < 300);
    let signature_ok = fresh && h("x-trackgate-signature") == expected;
    let take = |a: &AtomicUsize| {
        a.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    };
    let answered = if !signature_ok {
        401
    } else if take(&r.hang) {
        std::future::pending::<()>().await;
        0
    } else if take(&r.fail) {
        500
    } else {
        match r.status.load(Ordering::SeqCst) {
            0 => 200,
            s => s,
        }
    };
    r.hits.lock().unwrap().push(Hit {
        hook: name,
        event_id: h("x-trackgate-event-id"),
        signature_ok,
        answered,
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
    });
    StatusCode::from_u16(answered).unwrap()
}

/// Starts the receiver; returns its base URL.
async fn receiver(r: Arc<Recv>) -> String {
    let app = Router::new()
        .route("/hook/{name}", post(hook))
        .with_state(r);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    format!("http://{addr}")
}

fn config(dir: Option<std::path::PathBuf>) -> Config {
    let mut cfg = gateway::test_config("");
    if let Some(d) = dir {
        cfg.storage.dir = d;
    }
    cfg.webhooks.initial_backoff = Duration::from_millis(50);
    cfg.webhooks.max_backoff = Duration::from_millis(200);
    cfg.webhooks.poll_interval = Duration::from_millis(100);
    cfg.webhooks.timeout = Duration::from_secs(5);
    // The receiver is on loopback, which the egress guard refuses unless opened.
    cfg.webhooks.allow_private = vec!["127.0.0.0/8".into()];
    cfg
}

/// A firing alert of [`DEVICE`] at 52.52° N 13.405° E, `secs` after `T0`.
fn alert(id: &str, kind: &str, shipment: Option<&str>, secs: i64) -> Record {
    Record::Alert(Alert {
        time: at(secs),
        shipment: shipment.map(Into::into),
        alarm: (kind == "alarm_sos").then_some(Alarm::Sos),
        lat: Some(52.52),
        lon: Some(13.405),
        message: format!("{kind} happened"),
        ..support::records::alert(id, kind)
    })
}

async fn http(r: &Running, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let c = reqwest::Client::new();
    let url = format!("http://{}{}", r.http_addr, path);
    let mut req = match method {
        "POST" => c.post(&url),
        "DELETE" => c.delete(&url),
        _ => c.get(&url),
    };
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("api request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn subscribe(r: &Running, url: &str, extra: Value) -> String {
    let mut body = json!({ "url": url, "secret": SECRET });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (status, v) = http(r, "POST", "/api/webhooks", Some(body)).await;
    assert_eq!(status, 201, "{v}");
    v["id"].as_str().expect("id").to_string()
}

/// Starts the receiver (behaviour set in `recv`), a gateway with `cfg`, and one subscription
/// to the receiver's `/hook/a` for every event; returns the gateway and the subscription id.
async fn hook_a(recv: &Arc<Recv>, cfg: Config) -> (Running, String) {
    let base = receiver(recv.clone()).await;
    let gw = server::start(cfg).await.expect("start");
    let id = subscribe(&gw, &format!("{base}/hook/a"), json!({})).await;
    (gw, id)
}

/// Polls a subscription's deliveries until `pred` holds (20 s limit).
async fn wait_deliveries(r: &Running, id: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let path = format!("/api/webhooks/{id}/deliveries");
    eventually(
        Duration::from_secs(20),
        &format!("deliveries of {id} to match"),
        async || {
            let (status, v) = http(r, "GET", &path, None).await;
            assert_eq!(status, 200, "{v}");
            let d = v["deliveries"].as_array().cloned().unwrap_or_default();
            if pred(&d) {
                Ok(d)
            } else {
                Err(format!("{v:#}"))
            }
        },
    )
    .await
}

fn all_status(d: &[Value], n: usize, status: &str) -> bool {
    d.len() == n && d.iter().all(|x| x["status"] == status)
}

#[tokio::test]
async fn retries_after_500s_deliver_each_event_once_in_shipment_order() {
    let recv = Arc::new(Recv::default());
    recv.fail.store(3, Ordering::SeqCst);
    let base = receiver(recv.clone()).await;
    let gw = server::start(config(None)).await.expect("start");
    let all = subscribe(&gw, &format!("{base}/hook/all"), json!({})).await;
    let late = subscribe(
        &gw,
        &format!("{base}/hook/late"),
        json!({ "events": ["late"] }),
    )
    .await;
    let other = subscribe(
        &gw,
        &format!("{base}/hook/other"),
        json!({ "device": "999999999999999" }),
    )
    .await;

    append(
        &gw,
        &[
            alert("e1", "late", Some("sh1"), 0),
            alert("e2", "arrived", Some("sh1"), 10),
        ],
    )
    .await;
    append(&gw, &[alert("e3", "alarm_sos", None, 20)]).await;

    let d = wait_deliveries(&gw, &all, |d| all_status(d, 3, "delivered")).await;
    wait_deliveries(&gw, &late, |d| all_status(d, 1, "delivered")).await;
    let (_, none) = http(
        &gw,
        "GET",
        &format!("/api/webhooks/{other}/deliveries"),
        None,
    )
    .await;
    assert_eq!(
        none["deliveries"],
        json!([]),
        "device filter excludes every event"
    );

    let hits = recv.hits.lock().unwrap().clone();
    assert!(hits.iter().all(|h| h.signature_ok), "{hits:?}");
    assert_eq!(hits.iter().filter(|h| h.answered == 500).count(), 3);
    for (hook, id, n) in [
        ("all", "e1", 1),
        ("all", "e2", 1),
        ("all", "e3", 1),
        ("late", "e1", 1),
        ("late", "e2", 0),
    ] {
        let ok = hits
            .iter()
            .filter(|h| h.hook == hook && h.event_id == id && h.answered == 200)
            .count();
        assert_eq!(ok, n, "{hook}/{id} delivered {ok} times: {hits:?}");
    }
    // Ordering per shipment: nothing of e2 is sent before e1 was delivered.
    let e1_done = hits
        .iter()
        .position(|h| h.hook == "all" && h.event_id == "e1" && h.answered == 200)
        .unwrap();
    let e2_first = hits
        .iter()
        .position(|h| h.hook == "all" && h.event_id == "e2")
        .unwrap();
    assert!(e2_first > e1_done, "{hits:?}");
    // The body is the documented payload.
    let e3 = hits
        .iter()
        .find(|h| h.event_id == "e3" && h.answered == 200)
        .unwrap();
    assert_eq!(
        e3.body,
        json!({"id": "e3", "type": "alarm_sos", "state": "firing", "tier": null,
               "time": "2025-11-27T03:48:16Z", "device": DEVICE, "shipment": null, "stop": null,
               "alarm": "sos", "position": {"lat": 52.52, "lon": 13.405}, "value": null,
               "message": "alarm_sos happened"})
    );
    // The delivery log has one attempt per request the receiver saw for that subscription.
    let attempts: u64 = d.iter().map(|x| x["attempts"].as_u64().unwrap()).sum();
    let seen = hits.iter().filter(|h| h.hook == "all").count() as u64;
    assert_eq!(attempts, seen);
    for x in &d {
        let hist = x["history"].as_array().unwrap();
        assert_eq!(hist.len() as u64, x["attempts"].as_u64().unwrap());
        assert_eq!(hist.last().unwrap()["status"], 200);
    }

    // The event history: filters and paging.
    let (s, v) = http(&gw, "GET", "/api/events", None).await;
    assert_eq!(s, 200);
    let ids: Vec<_> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(ids, [json!("e1"), json!("e2"), json!("e3")]);
    assert_eq!(v["next"], Value::Null);
    let (_, v) = http(&gw, "GET", "/api/events?type=late", None).await;
    assert_eq!(v["events"].as_array().unwrap().len(), 1);
    let (_, v) = http(&gw, "GET", "/api/events?shipment=sh1", None).await;
    assert_eq!(v["events"].as_array().unwrap().len(), 2);
    let (_, v) = http(&gw, "GET", "/api/events?since=2025-11-27T03:48:06Z", None).await;
    let ids: Vec<_> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(ids, [json!("e2"), json!("e3")]);
    let (_, p1) = http(
        &gw,
        "GET",
        &format!("/api/events?device={DEVICE}&limit=2"),
        None,
    )
    .await;
    assert_eq!(p1["events"].as_array().unwrap().len(), 2);
    let next = p1["next"].as_i64().expect("cursor");
    let (_, p2) = http(
        &gw,
        "GET",
        &format!("/api/events?limit=2&after={next}"),
        None,
    )
    .await;
    assert_eq!(p2["events"][0]["id"], "e3");
    assert_eq!(p2["events"].as_array().unwrap().len(), 1);
    let (s, _) = http(&gw, "GET", "/api/events?since=yesterday", None).await;
    assert_eq!(s, 400);

    // Subscription management.
    let (s, v) = http(&gw, "GET", "/api/webhooks", None).await;
    assert_eq!(s, 200);
    assert_eq!(v.as_array().unwrap().len(), 3);
    assert!(v[0].get("secret").is_none(), "secret never shown");
    assert!(
        v[0]["secret_fingerprint"]
            .as_str()
            .is_some_and(|f| f.starts_with("sha256:")),
        "{v}"
    );
    assert!(!v.to_string().contains(SECRET), "{v}");
    let (s, _) = http(&gw, "DELETE", &format!("/api/webhooks/{other}"), None).await;
    assert_eq!(s, 204);
    let (s, _) = http(&gw, "GET", &format!("/api/webhooks/{other}"), None).await;
    assert_eq!(s, 404);
    for (body, why) in [
        (json!({"url": "http://x/h", "secret": ""}), "secret must be"),
        (
            json!({"url": "http://x/h", "secret": "short"}),
            "secret must be",
        ),
        (
            json!({"url": "https://u:p@x.example/h", "secret": SECRET}),
            "user:pass@",
        ),
        (json!({"url": "gopher://x/h", "secret": SECRET}), "scheme"),
    ] {
        let (s, v) = http(&gw, "POST", "/api/webhooks", Some(body.clone())).await;
        assert_eq!(s, 400, "{body}: {v}");
        assert!(v["error"].as_str().unwrap().contains(why), "{body}: {v}");
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn other_4xx_is_dead_at_once_and_redrive_delivers() {
    let recv = Arc::new(Recv::default());
    recv.status.store(410, Ordering::SeqCst);
    let (gw, id) = hook_a(&recv, config(None)).await;
    append(&gw, &[alert("d1", "off_route", Some("sh9"), 0)]).await;
    let d = wait_deliveries(&gw, &id, |d| all_status(d, 1, "dead")).await;
    assert_eq!(d[0]["attempts"], 1);
    assert_eq!(d[0]["history"][0]["status"], 410);
    recv.status.store(0, Ordering::SeqCst);
    let (s, v) = http(
        &gw,
        "POST",
        &format!("/api/webhooks/{id}/redrive"),
        Some(json!({})),
    )
    .await;
    assert_eq!((s, v), (200, json!({ "requeued": 1 })));
    let d = wait_deliveries(&gw, &id, |d| all_status(d, 1, "delivered")).await;
    assert_eq!(d[0]["attempts"], 1, "redrive restarts the count");
    let hits = recv.hits.lock().unwrap().clone();
    let answers: Vec<u16> = hits.iter().map(|h| h.answered).collect();
    assert_eq!(answers, [410, 200]);
    gw.shutdown().await;
}

#[tokio::test]
async fn retry_budget_sends_to_dead_letters() {
    let recv = Arc::new(Recv::default());
    recv.status.store(503, Ordering::SeqCst);
    let mut cfg = config(None);
    cfg.webhooks.retry_budget = Duration::from_millis(400);
    let (gw, id) = hook_a(&recv, cfg).await;
    append(&gw, &[alert("b1", "late", Some("sh2"), 0)]).await;
    let d = wait_deliveries(&gw, &id, |d| all_status(d, 1, "dead")).await;
    let n = d[0]["attempts"].as_u64().unwrap();
    assert!(n >= 2, "retried before giving up: {d:?}");
    assert!(
        d[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("retry budget"),
        "{d:?}"
    );
    assert_eq!(recv.hits.lock().unwrap().len() as u64, n);
    gw.shutdown().await;
}

#[tokio::test]
async fn hanging_receiver_hits_the_timeout_then_delivers() {
    let recv = Arc::new(Recv::default());
    recv.hang.store(1, Ordering::SeqCst);
    let mut cfg = config(None);
    cfg.webhooks.timeout = Duration::from_millis(300);
    let (gw, id) = hook_a(&recv, cfg).await;
    append(&gw, &[alert("h1", "late", Some("sh3"), 0)]).await;
    let d = wait_deliveries(&gw, &id, |d| all_status(d, 1, "delivered")).await;
    let hist = d[0]["history"].as_array().unwrap();
    assert_eq!(hist.len(), 2);
    assert_eq!(hist[0]["status"], Value::Null);
    assert!(
        hist[0]["error"].as_str().unwrap().contains("timeout"),
        "{hist:?}"
    );
    assert!(hist[0]["duration_ms"].as_i64().unwrap() >= 300);
    assert_eq!(hist[1]["status"], 200);
    gw.shutdown().await;
}

#[tokio::test]
async fn restart_mid_retry_still_delivers_once() {
    let recv = Arc::new(Recv::default());
    recv.status.store(503, Ordering::SeqCst);
    let dir = gateway::temp_dir("wh-restart");
    let (gw, id) = hook_a(&recv, config(Some(dir.clone()))).await;
    append(&gw, &[alert("r1", "late", Some("sh4"), 0)]).await;
    wait_deliveries(&gw, &id, |d| {
        d.len() == 1 && d[0]["attempts"].as_u64() >= Some(2)
    })
    .await;
    gw.shutdown().await;
    recv.status.store(0, Ordering::SeqCst);

    let gw = server::start(config(Some(dir))).await.expect("restart");
    let d = wait_deliveries(&gw, &id, |d| all_status(d, 1, "delivered")).await;
    assert_eq!(d[0]["event_id"], "r1");
    let hits = recv.hits.lock().unwrap().clone();
    assert_eq!(
        hits.iter().filter(|h| h.answered == 200).count(),
        1,
        "{hits:?}"
    );
    assert_eq!(hits.last().unwrap().answered, 200);
    gw.shutdown().await;
}

#[tokio::test]
async fn burst_is_delivered_exactly_once_per_event() {
    const N: usize = 500;
    let recv = Arc::new(Recv::default());
    let (gw, id) = hook_a(&recv, config(None)).await;
    let recs: Vec<Record> = (0..N)
        .map(|i| {
            alert(
                &format!("n{i}"),
                "late",
                Some(&format!("sh{}", i % 50)),
                i as i64,
            )
        })
        .collect();
    let started = std::time::Instant::now();
    append(&gw, &recs).await;
    count_reaches(
        Duration::from_secs(60),
        "requests of the burst",
        N as u64,
        || recv.hits.lock().unwrap().len() as u64,
    )
    .await;
    let took = started.elapsed();
    wait_deliveries(&gw, &id, |d| {
        d.len() == 100 && d.iter().all(|x| x["status"] == "delivered")
    })
    .await;
    let hits = recv.hits.lock().unwrap().clone();
    let mut ids: Vec<&str> = hits.iter().map(|h| h.event_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), N, "every event exactly once");
    assert_eq!(hits.len(), N);
    // Per shipment, in log order.
    for s in 0..50 {
        let seq: Vec<usize> = hits
            .iter()
            .filter(|h| h.body["shipment"] == format!("sh{s}"))
            .map(|h| h.event_id[1..].parse().unwrap())
            .collect();
        assert!(seq.windows(2).all(|w| w[0] < w[1]), "sh{s}: {seq:?}");
    }
    eprintln!(
        "webhook burst: {N} events delivered in {took:?} ({:.0}/s)",
        N as f64 / took.as_secs_f64()
    );
    gw.shutdown().await;
}
