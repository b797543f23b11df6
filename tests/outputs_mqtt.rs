//! MQTT publishing end to end: a private Mosquitto, the gateway in-process, and a subscriber
//! in the test reading retained and live messages; the broker restarts mid-test.

mod support;

use std::time::Duration;
use support::gateway;
use support::mqtt::{subscribe, Msg};
use support::records::{alert, append, at, eta, position, DEVICE};
use support::services;
use tokio::sync::mpsc;
use trackgate::model::{Alert, AlertState, Record};
use trackgate::mqtt::MqttConfig;
use trackgate::server;

/// A fix of [`DEVICE`] at `secs` on the 13.4° E meridian.
fn fix(secs: i64, lat: f64) -> Record {
    Record::Position(position(DEVICE, secs, lat, 13.4))
}

/// An ETA of shipment sh1 at `stop` from the fix at 60 s.
fn eta_at(stop: &str) -> Record {
    Record::Eta(eta("sh1", stop, 60))
}

/// An SOS alert as tracking raises it for an alarm: informational, at 40 s.
fn sos(id: &str) -> Record {
    Record::Alert(Alert {
        state: AlertState::Info,
        time: at(40),
        message: "SOS".into(),
        ..alert(id, "alarm_sos")
    })
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
        let done = m.topic == topic;
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
    let mut cfg = gateway::test_config("");
    cfg.mqtt = Some(MqttConfig {
        url: broker.url.clone(),
        client_id: format!("tg-test-{}", std::process::id()),
        ..MqttConfig::default()
    });
    let gw = server::start(cfg).await.expect("start");
    let pos_topic = format!("trackgate/devices/{DEVICE}/position");
    let eta_topic = "trackgate/shipments/sh1/eta";
    let ev_topic = format!("trackgate/events/alarm_sos/{DEVICE}");

    let (_live, mut live) = subscribe(port, "live", "trackgate/#").await;
    append(&gw, &[fix(100, 1.0)]).await;
    let got = until_topic(&mut live, &pos_topic).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].payload["lat"], 1.0);
    assert_eq!(got[0].payload["time"], "2025-11-27T03:49:36Z");

    // A backlog fix (older than the one published) in the same batch as an ETA and an alert:
    // the ETA and the event are published, the old position is not.
    append(&gw, &[fix(50, 2.0), eta_at("s1"), eta_at("s2"), sos("x1")]).await;
    let got = until_topic(&mut live, eta_topic).await;
    let topics: Vec<&str> = got.iter().map(|m| m.topic.as_str()).collect();
    assert_eq!(topics, [ev_topic.as_str(), eta_topic], "{got:?}");
    assert!(
        !got[0].retained && !got[1].retained,
        "live deliveries are not flagged retained"
    );
    assert_eq!(got[0].payload["id"], "x1");
    assert_eq!(got[1].payload["stops"].as_array().unwrap().len(), 2);

    // A new subscriber gets the retained current position and ETA.
    let (_late, mut late) = subscribe(port, "late", "trackgate/#").await;
    let mut retained = until_topic(&mut late, &pos_topic).await;
    if !retained.iter().any(|m| m.topic == eta_topic) {
        retained.extend(until_topic(&mut late, eta_topic).await);
    }
    let pos = retained.iter().find(|m| m.topic == pos_topic).unwrap();
    assert!(pos.retained, "retained flag");
    assert_eq!(pos.payload["lat"], 1.0, "the newest fix stays current");
    let eta_msg = retained.iter().find(|m| m.topic == eta_topic).unwrap();
    assert!(eta_msg.retained);
    assert_eq!(eta_msg.payload["shipment"], "sh1");
    assert!(
        retained.iter().all(|m| m.topic != ev_topic),
        "events are not retained"
    );

    // Broker restart (no persistence: retained messages are gone). A fix appended while it
    // is down is published once it is back.
    drop(broker);
    append(&gw, &[fix(200, 3.0)]).await;
    let broker = services::mosquitto_on(port);
    let (_after, mut after) = subscribe(broker.port, "after", "trackgate/#").await;
    let got = until_topic(&mut after, &pos_topic).await;
    assert_eq!(got.last().unwrap().payload["lat"], 3.0);

    let metrics = gw.metrics.encode();
    assert!(
        metrics.contains("trackgate_mqtt_stale_positions_skipped_total 1"),
        "{metrics}"
    );
    gw.shutdown().await;
}
