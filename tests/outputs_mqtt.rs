//! MQTT publishing end to end: a private Mosquitto, the gateway in-process, and a subscriber
//! in the test reading retained and live messages; the broker restarts mid-test.

mod common;
mod support;

use chrono::{TimeZone, Utc};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use std::time::Duration;
use support::services;
use tokio::sync::mpsc;
use trackgate::model::{Alert, AlertState, DeviceId, EtaUpdate, Position, Record, StopStatus};
use trackgate::mqtt::MqttConfig;
use trackgate::server::{self, Running};

const DEVICE: &str = "123456789012345";

fn t(secs: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_764_215_276 + secs, 0).unwrap()
}

fn position(secs: i64, lat: f64) -> Record {
    Record::Position(Position::new(
        DeviceId::new(DEVICE).unwrap(),
        "gt06",
        t(secs),
        t(secs),
        lat,
        13.4,
        true,
    ))
}

fn eta(stop: &str, fix: i64) -> Record {
    Record::Eta(EtaUpdate {
        shipment: "sh1".into(),
        stop: stop.into(),
        device: DeviceId::new(DEVICE).unwrap(),
        fix_time: t(fix),
        eta: t(900),
        eta_p10: t(800),
        eta_p90: t(1000),
        planned: t(600),
        deviation_s: 300,
        remaining_m: 5000.0,
        progress: 0.4,
        off_route_m: 2.0,
        status: StopStatus::Late,
    })
}

fn alert(id: &str) -> Record {
    Record::Alert(Alert {
        id: id.into(),
        kind: "alarm_sos".into(),
        state: AlertState::Info,
        tier: None,
        time: t(40),
        device: DeviceId::new(DEVICE).unwrap(),
        shipment: None,
        stop: None,
        alarm: None,
        lat: None,
        lon: None,
        value: None,
        message: "SOS".into(),
    })
}

async fn append(r: &Running, recs: &[Record]) {
    r.append(recs.to_vec()).await.expect("append");
}

/// A received message: topic, retained flag, JSON payload.
type Msg = (String, bool, Value);

/// Subscribes to `trackgate/#` and forwards every message; returns once SUBACK arrived.
async fn subscriber(port: u16, name: &str) -> (AsyncClient, mpsc::UnboundedReceiver<Msg>) {
    let mut opts = MqttOptions::new(format!("{name}-{}", std::process::id()), "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(5));
    let (client, mut el) = AsyncClient::new(opts, 64);
    client
        .subscribe("trackgate/#", QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    let (tx, rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut ready = Some(ready_tx);
        while let Ok(ev) = el.poll().await {
            match ev {
                Event::Incoming(Packet::SubAck(_)) => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                }
                Event::Incoming(Packet::Publish(p)) => {
                    let v = serde_json::from_slice(&p.payload).unwrap_or(Value::Null);
                    if tx.send((p.topic.clone(), p.retain, v)).is_err() {
                        return;
                    }
                }
                _ => {}
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), ready_rx)
        .await
        .expect("SUBACK within 10 s")
        .expect("subscriber alive");
    (client, rx)
}

/// Receives until a message on `topic` arrives (15 s limit); returns everything read.
async fn until_topic(rx: &mut mpsc::UnboundedReceiver<Msg>, topic: &str) -> Vec<Msg> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let m = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no message on {topic}; got {seen:?}"))
            .expect("subscriber alive");
        let done = m.0 == topic;
        seen.push(m);
        if done {
            return seen;
        }
    }
}

#[tokio::test]
async fn publishes_retained_current_positions_etas_and_events_and_survives_broker_restart() {
    let broker = services::mosquitto();
    let port = broker.port;
    let mut cfg = common::test_config("");
    cfg.mqtt = Some(MqttConfig {
        url: broker.url.clone(),
        client_id: format!("tg-test-{}", std::process::id()),
        ..MqttConfig::default()
    });
    let gw = server::start(cfg).await.expect("start");
    let pos_topic = format!("trackgate/devices/{DEVICE}/position");
    let eta_topic = "trackgate/shipments/sh1/eta";
    let ev_topic = format!("trackgate/events/alarm_sos/{DEVICE}");

    let (_live, mut live) = subscriber(port, "live").await;
    append(&gw, &[position(100, 1.0)]).await;
    let got = until_topic(&mut live, &pos_topic).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].2["lat"], 1.0);
    assert_eq!(got[0].2["time"], "2025-11-27T03:49:36Z");

    // A backlog fix (older than the one published) in the same batch as an ETA and an alert:
    // the ETA and the event are published, the old position is not.
    append(
        &gw,
        &[position(50, 2.0), eta("s1", 60), eta("s2", 60), alert("x1")],
    )
    .await;
    let got = until_topic(&mut live, eta_topic).await;
    let topics: Vec<&str> = got.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(topics, [ev_topic.as_str(), eta_topic], "{got:?}");
    assert!(
        !got[0].1 && !got[1].1,
        "live deliveries are not flagged retained"
    );
    assert_eq!(got[0].2["id"], "x1");
    assert_eq!(got[1].2["stops"].as_array().unwrap().len(), 2);

    // A new subscriber gets the retained current position and ETA.
    let (_late, mut late) = subscriber(port, "late").await;
    let mut retained = until_topic(&mut late, &pos_topic).await;
    if !retained.iter().any(|m| m.0 == eta_topic) {
        retained.extend(until_topic(&mut late, eta_topic).await);
    }
    let pos = retained.iter().find(|m| m.0 == pos_topic).unwrap();
    assert!(pos.1, "retained flag");
    assert_eq!(pos.2["lat"], 1.0, "the newest fix stays current");
    let eta_msg = retained.iter().find(|m| m.0 == eta_topic).unwrap();
    assert!(eta_msg.1);
    assert_eq!(eta_msg.2["shipment"], "sh1");
    assert!(
        retained.iter().all(|m| m.0 != ev_topic),
        "events are not retained"
    );

    // Broker restart (no persistence: retained messages are gone). A fix appended while it
    // is down is published once it is back.
    drop(broker);
    append(&gw, &[position(200, 3.0)]).await;
    let broker = services::mosquitto_on(port);
    let (_after, mut after) = subscriber(broker.port, "after").await;
    let got = until_topic(&mut after, &pos_topic).await;
    assert_eq!(got.last().unwrap().2["lat"], 3.0);

    let metrics = gw.metrics.encode();
    assert!(
        metrics.contains("trackgate_mqtt_stale_positions_skipped_total 1"),
        "{metrics}"
    );
    gw.shutdown().await;
}
