//! MQTT from the test's side of a private Mosquitto: publish with the broker's own client
//! (`mosquitto_pub`), subscribe with rumqttc and hand every message to the test.

use super::gateway::get_json;
use super::poll::eventually;
use super::services::require;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;
use tokio::sync::mpsc;
use trackgate::server::Running;

/// Runs `mosquitto_pub -h 127.0.0.1 -p <port> <args>` and asserts it succeeded.
pub fn mosquitto_pub(port: u16, args: &[&str]) {
    let st = Command::new(require("mosquitto_pub"))
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .status()
        .expect("run mosquitto_pub");
    assert!(st.success(), "mosquitto_pub {args:?}: {st}");
}

/// Publishes `payload` on `topic` with QoS 1.
pub fn publish(port: u16, topic: &str, payload: &str) {
    mosquitto_pub(port, &["-q", "1", "-t", topic, "-m", payload]);
}

/// Publishes a location until device `id` shows it in the API (15 s limit), again every
/// 300 ms: the gateway subscribes asynchronously after it starts, and a message published
/// before the subscription exists is not queued for it.
pub async fn publish_until_seen(
    r: &Running,
    port: u16,
    topic: &str,
    payload: &str,
    id: &str,
) -> Value {
    let path = format!("/api/devices/{id}");
    let mut last_publish: Option<tokio::time::Instant> = None;
    eventually(
        Duration::from_secs(15),
        &format!("{id} to appear after publishing on {topic}"),
        async || {
            if last_publish.is_none_or(|t| t.elapsed() >= Duration::from_millis(300)) {
                publish(port, topic, payload);
                last_publish = Some(tokio::time::Instant::now());
            }
            let (status, v) = get_json(r, &path).await;
            if status == 200 && v["lat"].as_f64().is_some() {
                Ok(v)
            } else {
                Err(format!("{status} {v}"))
            }
        },
    )
    .await
}

/// A received message.
#[derive(Clone, Debug)]
pub struct Msg {
    /// The topic it came on.
    pub topic: String,
    /// The retain flag as delivered (set only for a retained message sent on subscribe).
    pub retained: bool,
    /// The JSON payload (`Null` when it is not JSON).
    pub payload: Value,
}

/// Subscribes `filter` at QoS 1 as client `<name>-<pid>` and forwards every message;
/// returns once the broker's SUBACK arrived (10 s limit), so nothing published later is
/// missed. Keep the client: dropping it ends the subscription.
pub async fn subscribe(
    port: u16,
    name: &str,
    filter: &str,
) -> (AsyncClient, mpsc::UnboundedReceiver<Msg>) {
    let mut opts = MqttOptions::new(format!("{name}-{}", std::process::id()), "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(5));
    let (client, mut el) = AsyncClient::new(opts, 64);
    client
        .subscribe(filter, QoS::AtLeastOnce)
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
                    let msg = Msg {
                        topic: p.topic.clone(),
                        retained: p.retain,
                        payload: serde_json::from_slice(&p.payload).unwrap_or(Value::Null),
                    };
                    if tx.send(msg).is_err() {
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
