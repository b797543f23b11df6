//! Slow or dead outputs never slow ingestion: with every webhook request hanging and the
//! MQTT broker unreachable, a tracker still gets its ACKs at once, the per-endpoint limit
//! holds, and the lag of the stuck consumers shows in `/metrics`.

mod support;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::count_reaches;
use support::gateway::*;
use support::records::{alert, append, at, dev};
use support::wire::GT06_IMEI;
use trackgate::model::{Alert, Record};
use trackgate::mqtt::MqttConfig;

/// Counts requests and never answers.
async fn hang(State(n): State<Arc<AtomicUsize>>) -> StatusCode {
    n.fetch_add(1, Ordering::SeqCst);
    std::future::pending::<()>().await;
    StatusCode::OK
}

fn late(i: usize) -> Record {
    Record::Alert(Alert {
        time: at(i as i64),
        device: dev(GT06_IMEI),
        // Distinct shipments: no ordering constraint, only the endpoint limit applies.
        shipment: Some(format!("sh{i}")),
        ..alert(&format!("iso-{i}"), "late")
    })
}

#[tokio::test]
async fn hanging_webhook_and_dead_broker_do_not_slow_ingestion() {
    let hits = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route("/h", post(hang))
        .with_state(hits.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/h", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });

    let mut cfg = test_config("");
    cfg.webhooks.timeout = Duration::from_secs(60);
    cfg.webhooks.max_in_flight_per_endpoint = 2;
    // The receiver is on loopback, which the egress guard refuses unless opened.
    cfg.webhooks.allow_private = vec!["127.0.0.0/8".into()];
    // Nothing listens there: the publisher keeps reconnecting.
    cfg.mqtt = Some(MqttConfig {
        url: format!("mqtt://127.0.0.1:{}", support::services::free_port()),
        ..MqttConfig::default()
    });
    let gw = trackgate::server::start(cfg).await.expect("start");
    let (s, v) = {
        let resp = reqwest::Client::new()
            .post(format!("http://{}/api/webhooks", gw.http_addr))
            .json(&serde_json::json!({ "url": url, "secret": "isolation-test-secret" }))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    };
    assert_eq!(s, 201, "{v}");
    let alerts: Vec<Record> = (0..6).map(late).collect();
    append(&gw, &alerts).await;
    count_reaches(
        Duration::from_secs(10),
        "calls of the receiver by the dispatcher",
        2,
        || hits.load(Ordering::SeqCst) as u64,
    )
    .await;

    // Ingestion: login and a location, each ACKed only after its records are durable.
    let started = Instant::now();
    let mut s = connect(&gw, "gt06").await;
    gt06_login(&mut s).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(1),
        "login ACK took {elapsed:?}"
    );

    // Lag of the stuck MQTT publisher shows up (sampled every second).
    wait_metric(
        &gw,
        "trackgate_wal_consumer_lag_records{consumer=\"mqtt\"}",
        |n| n >= 6.0,
    )
    .await;
    // The per-endpoint limit held the whole time: still exactly two requests in flight.
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    gw.shutdown().await;
}
