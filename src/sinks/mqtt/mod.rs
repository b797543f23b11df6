//! MQTT publisher: the `mqtt` log consumer publishes live data, QoS 1.
//!
//! Topics (`{p}` = `mqtt.topic_prefix`, default `trackgate`):
//! - `{p}/devices/{id}/position` — retained, the newest fix per device by fix time. A
//!   position not newer than the last one published for its device (backlog, replay after
//!   an outage) is skipped, so the retained message always is the current position. The last
//!   published fix time per device is kept in the embedded store so this holds across
//!   restarts.
//! - `{p}/shipments/{id}/eta` — retained, the latest ETA of every stop of the shipment
//!   (same newer-than rule, by the fix time that produced the estimate).
//! - `{p}/events/{type}/{device}` — not retained, one message per alert (webhook payload).
//!
//! What "published" means: rumqttc's `publish()` only queues a message, and a PUBACK cannot
//! be tied to the publish that caused it (rumqtt#349). So the consumer hands a batch over and
//! waits until the event loop has reported as many PUBACKs *in the same connection* as it
//! handed over messages; only then is the log offset committed. If the connection drops
//! first (rumqttc then discards its unacknowledged publishes on a clean session), the whole
//! batch is published again after the reconnect. Result: at-least-once per message while
//! the broker acknowledges QoS 1 (duplicates possible after a reconnect, never a gap), and
//! nothing is committed that the broker did not acknowledge in count. A PUBACK only means
//! the broker took the message, not that any subscriber got it.

pub mod driver;

use crate::backoff::Backoff;
use crate::model::{EtaUpdate, Position, Record};
use crate::mqtt::MqttConfig;
use crate::outputs::json::alert_json;
use crate::outputs::{OutputMetrics, Store};
use crate::pipeline::runner::{LogConsumer, Stopped};
use driver::LinkState;
use futures::future::BoxFuture;
use rumqttc::{AsyncClient, QoS};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Name of the publisher's offset in the log.
pub const CONSUMER_NAME: &str = "mqtt";

/// How long a handed-over batch may wait for its PUBACKs on a live connection before it is
/// published again (a broker that takes messages but never acknowledges them).
const ACK_TIMEOUT: Duration = Duration::from_secs(30);

/// Pause between reconnect attempts: 100 ms doubling to 10 s, so a broker restart is picked
/// up quickly and a long outage costs one attempt per 10 s.
const RECONNECT: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));

/// Why the publisher could not start.
#[derive(Debug, thiserror::Error)]
pub enum MqttSetupError {
    #[error(transparent)]
    Url(#[from] crate::mqtt::MqttUrlError),
    #[error("mqtt publisher store: {0}")]
    Store(#[from] crate::outputs::store::StoreError),
}

/// A topic level from free text: MQTT wildcards and separators would change the topic's
/// meaning, so `/`, `+`, `#` (and NUL) become `_`.
pub fn topic_level(s: &str) -> String {
    s.chars()
        .map(|c| {
            if matches!(c, '/' | '+' | '#' | '\0') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// One message to publish.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub topic: String,
    pub retain: bool,
    pub payload: String,
}

/// What was last published (fix times, unix ms, by `device:<id>` / `shipment:<id>`) and the
/// latest ETA per stop of each shipment.
#[derive(Default)]
struct Published {
    last: HashMap<String, i64>,
    etas: EtaMap,
}

/// Latest ETA per stop, per shipment.
type EtaMap = HashMap<String, BTreeMap<String, EtaUpdate>>;

/// Turns a batch into messages given what was published before; returns the messages and
/// the state to keep once they are acknowledged.
fn plan(
    prefix: &str,
    records: &[Record],
    before: &Published,
    skipped: &mut u64,
) -> (Vec<Message>, HashMap<String, i64>, EtaMap) {
    let mut out = Vec::new();
    let mut last: HashMap<String, i64> = HashMap::new();
    let mut newest_pos: BTreeMap<String, &Position> = BTreeMap::new();
    let mut etas: EtaMap = HashMap::new();
    let newer = |key: &str, ms: i64, last: &HashMap<String, i64>| {
        let prev = last.get(key).or_else(|| before.last.get(key));
        prev.is_none_or(|&p| ms > p)
    };
    for r in records {
        match r {
            Record::Position(p) => {
                let key = format!("device:{}", p.device.as_str());
                let ms = p.fix_time.timestamp_millis();
                if newer(&key, ms, &last) {
                    last.insert(key.clone(), ms);
                    newest_pos.insert(key, p);
                } else {
                    *skipped += 1;
                }
            }
            Record::Eta(e) => {
                let key = format!("shipment:{}", e.shipment);
                let ms = e.fix_time.timestamp_millis();
                let prev = last.get(&key).or_else(|| before.last.get(&key)).copied();
                if prev.is_none_or(|p| ms >= p) {
                    last.insert(key, ms);
                    let stops = etas.entry(e.shipment.clone()).or_insert_with(|| {
                        before.etas.get(&e.shipment).cloned().unwrap_or_default()
                    });
                    stops.insert(e.stop.clone(), e.clone());
                } else {
                    *skipped += 1;
                }
            }
            Record::Alert(a) => out.push(Message {
                topic: format!(
                    "{prefix}/events/{}/{}",
                    topic_level(&a.kind),
                    topic_level(a.device.as_str())
                ),
                retain: false,
                payload: alert_json(a).to_string(),
            }),
            Record::Event(_) | Record::Audit(_) => {}
        }
    }
    for p in newest_pos.values() {
        out.push(Message {
            topic: format!(
                "{prefix}/devices/{}/position",
                topic_level(p.device.as_str())
            ),
            retain: true,
            payload: serde_json::to_string(&p.view()).unwrap_or_default(),
        });
    }
    let mut shipments: Vec<_> = etas.iter().collect();
    shipments.sort_by(|a, b| a.0.cmp(b.0));
    for (id, stops) in shipments {
        let mut list: Vec<&EtaUpdate> = stops.values().collect();
        list.sort_by(|a, b| a.planned.cmp(&b.planned).then(a.stop.cmp(&b.stop)));
        let latest = list.iter().map(|e| e.fix_time).max();
        out.push(Message {
            topic: format!("{prefix}/shipments/{}/eta", topic_level(id)),
            retain: true,
            payload: json!({
                "shipment": id,
                "device": list.first().map(|e| e.device.as_str()),
                "fix_time": latest.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                "stops": list,
            })
            .to_string(),
        });
    }
    (out, last, etas)
}

/// The publisher: a log consumer holding an rumqttc client whose event loop runs in a task.
pub struct MqttPublisher {
    client: AsyncClient,
    link: watch::Receiver<LinkState>,
    prefix: String,
    published: Mutex<Published>,
    store: Store,
    metrics: OutputMetrics,
    shutdown: CancellationToken,
}

impl MqttPublisher {
    /// Connects (in the background: a broker that is down only delays publishing) and loads
    /// the last published fix times from `store`.
    pub async fn start(
        cfg: &MqttConfig,
        store: Store,
        metrics: OutputMetrics,
        tracker: &TaskTracker,
        shutdown: CancellationToken,
    ) -> Result<MqttPublisher, MqttSetupError> {
        let opts = cfg.options("out")?;
        let (client, eventloop) = AsyncClient::new(opts, 1024);
        let (tx, link) = watch::channel(LinkState::default());
        tracker.spawn(driver::drive(
            eventloop,
            tx,
            RECONNECT,
            metrics.mqtt_acked.clone(),
            shutdown.clone(),
        ));
        let last = store.mqtt_last().await?;
        Ok(MqttPublisher {
            client,
            link,
            prefix: cfg.topic_prefix.trim_end_matches('/').to_string(),
            published: Mutex::new(Published {
                last,
                etas: HashMap::new(),
            }),
            store,
            metrics,
            shutdown,
        })
    }

    /// Publishes `msgs` until the broker acknowledged as many in one connection.
    async fn publish_acked(&self, msgs: &[Message]) -> Result<(), Stopped> {
        let mut link = self.link.clone();
        'attempt: loop {
            // Wait for a connection.
            let start = loop {
                let s = *link.borrow_and_update();
                if s.connected {
                    break s;
                }
                tokio::select! {
                    _ = self.shutdown.cancelled() => return Err(Stopped),
                    r = link.changed() => if r.is_err() { return Err(Stopped) },
                }
            };
            for m in msgs {
                let s = *link.borrow();
                if !s.connected || s.epoch != start.epoch {
                    continue 'attempt;
                }
                let sent = tokio::select! {
                    _ = self.shutdown.cancelled() => return Err(Stopped),
                    r = self.client.publish(m.topic.clone(), QoS::AtLeastOnce, m.retain, m.payload.clone()) => r,
                };
                if sent.is_err() {
                    // The event loop is gone (shutdown).
                    return Err(Stopped);
                }
                self.metrics.mqtt_published.inc();
            }
            let target = start.acked + msgs.len() as u64;
            let deadline = tokio::time::sleep(ACK_TIMEOUT);
            tokio::pin!(deadline);
            loop {
                let s = *link.borrow_and_update();
                if s.epoch != start.epoch || !s.connected {
                    tracing::info!(
                        messages = msgs.len(),
                        "mqtt connection lost before all PUBACKs; publishing the batch again"
                    );
                    continue 'attempt;
                }
                if s.acked >= target {
                    return Ok(());
                }
                tokio::select! {
                    _ = self.shutdown.cancelled() => return Err(Stopped),
                    r = link.changed() => if r.is_err() { return Err(Stopped) },
                    _ = &mut deadline => {
                        tracing::warn!(messages = msgs.len(), "mqtt PUBACKs missing after {ACK_TIMEOUT:?}; publishing the batch again");
                        continue 'attempt;
                    }
                }
            }
        }
    }
}

impl LogConsumer for MqttPublisher {
    fn name(&self) -> Option<&str> {
        Some(CONSUMER_NAME)
    }

    /// Device events are not published (alarms reach MQTT as tracking's alerts).
    fn wants(&self, kind: &str) -> bool {
        kind != "event"
    }

    fn max_batch(&self) -> usize {
        500
    }

    fn process<'a>(&'a self, records: &'a [Record]) -> BoxFuture<'a, Result<(), Stopped>> {
        Box::pin(async move {
            let mut skipped = 0;
            let (msgs, last, etas) = {
                let Ok(p) = self.published.lock() else {
                    return Err(Stopped);
                };
                plan(&self.prefix, records, &p, &mut skipped)
            };
            self.metrics.mqtt_stale_skipped.inc_by(skipped);
            if msgs.is_empty() {
                return Ok(());
            }
            self.publish_acked(&msgs).await?;
            if let Ok(mut p) = self.published.lock() {
                p.last.extend(last.iter().map(|(k, v)| (k.clone(), *v)));
                p.etas.extend(etas);
            }
            if !last.is_empty() {
                // Losing this only risks re-publishing an older retained position after a
                // crash, so a store error is logged, not retried.
                if let Err(e) = self.store.set_mqtt_last(last.into_iter().collect()).await {
                    tracing::warn!(error = %e, "mqtt: cannot persist last published fix times");
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests;
