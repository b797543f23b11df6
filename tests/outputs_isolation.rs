//! Slow or dead outputs never slow ingestion: with every webhook request hanging and the
//! MQTT broker unreachable, a tracker still gets its ACKs at once, the per-endpoint limit
//! holds, and the lag of the stuck consumers shows in `/metrics`.

mod common;
mod support;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use chrono::{TimeZone, Utc};
use common::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trackgate::model::{Alert, AlertState, DeviceId, Record};
use trackgate::mqtt::MqttConfig;

/// Counts requests and never answers.
async fn hang(State(n): State<Arc<AtomicUsize>>) -> StatusCode {
    n.fetch_add(1, Ordering::SeqCst);
    std::future::pending::<()>().await;
    StatusCode::OK
}

fn alert(i: usize) -> Record {
    Record::Alert(Alert {
        id: format!("iso-{i}"),
        kind: "late".into(),
        state: AlertState::Firing,
        tier: None,
        time: Utc.timestamp_opt(1_764_215_276 + i as i64, 0).unwrap(),
        device: DeviceId::new("864717003283581").unwrap(),
        // Distinct shipments: no ordering constraint, only the endpoint limit applies.
        shipment: Some(format!("sh{i}")),
        stop: None,
        alarm: None,
        lat: None,
        lon: None,
        value: None,
        message: "late".into(),
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
    // Nothing listens there: the publisher keeps reconnecting.
    cfg.mqtt = Some(MqttConfig {
        url: format!("mqtt://127.0.0.1:{}", support::services::free_port()),
        ..MqttConfig::default()
    });
    let gw = trackgate::server::start(cfg).await.expect("start");
    let (s, v) = {
        let resp = reqwest::Client::new()
            .post(format!("http://{}/api/webhooks", gw.http_addr))
            .json(&serde_json::json!({ "url": url, "secret": "k" }))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    };
    assert_eq!(s, 201, "{v}");
    gw.append((0..6).map(alert).collect()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while hits.load(Ordering::SeqCst) < 2 {
        assert!(
            Instant::now() < deadline,
            "the dispatcher never called the receiver"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Ingestion: login and a location, each ACKed only after its records are durable.
    let started = Instant::now();
    let mut s = connect(&gw, "gt06").await;
    send_expect(
        &mut s,
        &hex::decode("78780d01086471700328358100093f040d0a").unwrap(),
        &hex::decode("78780501000955940d0a").unwrap(),
    )
    .await;
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(1),
        "login ACK took {elapsed:?}"
    );

    // Lag of the stuck MQTT publisher shows up (sampled every second).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = gw.metrics.encode();
        let lag = m
            .lines()
            .find(|l| l.starts_with("trackgate_wal_consumer_lag_records{consumer=\"mqtt\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<u64>().ok());
        if lag.is_some_and(|n| n >= 6) {
            break;
        }
        assert!(Instant::now() < deadline, "no mqtt lag metric: {m}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The per-endpoint limit held the whole time: still exactly two requests in flight.
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    gw.shutdown().await;
}
