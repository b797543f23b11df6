//! The log on NATS JetStream: a [`DurableStage`] and a [`DurableLog`] over one stream, so a
//! gateway's ACK rests on the NATS cluster's replicas instead of one machine's disk.
//!
//! - **Writes**: every record is published to `<stream>.records.<partition>` (partition =
//!   CRC-32 of the device id modulo `partitions`, so one device's records share a subject)
//!   with a `Nats-Msg-Id` made from the record's bytes. `append` resolves only after
//!   JetStream acknowledged every publish of the batch — the device's ACK waits for the
//!   stream's replicas, word for word the local log's rule. A publish error, a timeout or a
//!   lost quorum refuses the batch (no ACK, the device resends), and a resend of the very
//!   same record inside the stream's duplicate window is dropped by JetStream.
//! - **Reads**: a [`Cursor`] is the stream sequence; readers are ordered consumers (no
//!   acks, recreated by the client on a sequence gap) started at the cursor. The stream's
//!   sequence is the same on every node, so an SSE `Last-Event-ID` stays valid anywhere.
//! - **Consumer positions** live in the stream `<stream>_positions`, one subject per log
//!   consumer keeping only its last message (a key-value bucket by hand: the client's KV
//!   bucket API does not understand nats-server 2.9's answers).
//!
//! Not done yet (see the README, issue "Scale-out"): partition ownership across nodes
//! (every node's consumers read the whole stream, so two gateways on one stream would both
//! write InfluxDB points — idempotent — and both run tracking), shared shipments, webhooks
//! and tokens, `trackgate cluster status`, and `replay` from JetStream.

mod reader;
pub mod status;

use super::backend::JetStreamConfig;
use super::log::{Cursor, DurableLog, LogError, LogReader};
use super::records::encode_record;
use super::{AckMode, DurableStage, Refused};
use crate::config::StorageConfig;
use crate::model::Record;
use async_nats::jetstream::stream::LastRawMessageErrorKind;
use async_nats::jetstream::{self, stream};
use bytes::Bytes;
use futures::future::BoxFuture;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the stream's first and last sequence are read back (lag gauges, `end()`).
const STATE_TICK: Duration = Duration::from_secs(1);
/// JetStream drops a second publish with the same message id inside this window.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

const PARTITION_CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// The JetStream log behind the log seam.
#[derive(Clone)]
pub struct JetStreamLog {
    inner: Arc<Inner>,
}

struct Inner {
    js: jetstream::Context,
    stream: String,
    partitions: u32,
    /// `<stream>_positions`: the committed position of each named consumer.
    positions: stream::Stream,
    committed: Mutex<HashMap<String, u64>>,
    /// The sequence after the last one known to be stored.
    end: AtomicU64,
    /// The first sequence still stored.
    oldest: AtomicU64,
    /// Counts the client's (re)connections: readers remake their consumer when it moves,
    /// instead of waiting for the consumer's heartbeat to time out.
    connections: tokio::sync::watch::Receiver<u64>,
}

fn backend<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> LogError + '_ {
    move |e| LogError::Backend(format!("jetstream: {what}: {e}"))
}

impl JetStreamLog {
    /// Connects, creates the stream and the position bucket when missing, and keeps the
    /// stream's bounds current until `shutdown`. Fails when no server answers.
    pub async fn open(
        cfg: &JetStreamConfig,
        storage: &StorageConfig,
        shutdown: CancellationToken,
    ) -> Result<Self, LogError> {
        let (connected, connections) = tokio::sync::watch::channel(0u64);
        let client = connect(cfg, connected).await?;
        let mut js = jetstream::new(client);
        js.set_timeout(Duration::from_millis(cfg.publish_timeout_ms));
        let stream = js
            .get_or_create_stream(stream::Config {
                name: cfg.stream.clone(),
                subjects: vec![format!("{}.records.>", cfg.stream)],
                num_replicas: cfg.replicas,
                storage: stream::StorageType::File,
                max_age: storage.retention,
                max_bytes: i64::try_from(storage.max_bytes).unwrap_or(i64::MAX),
                // Full: refuse new records (no ACK, devices keep them) rather than drop
                // records no consumer has read, as the local log does.
                discard: stream::DiscardPolicy::New,
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(backend("create stream"))?;
        let positions = js
            .get_or_create_stream(stream::Config {
                name: format!("{}_positions", cfg.stream),
                subjects: vec![format!("{}.positions.>", cfg.stream)],
                num_replicas: cfg.replicas,
                storage: stream::StorageType::File,
                max_messages_per_subject: 1,
                ..Default::default()
            })
            .await
            .map_err(backend("create position stream"))?;
        let inner = Arc::new(Inner {
            js,
            stream: cfg.stream.clone(),
            partitions: cfg.partitions,
            positions,
            committed: Mutex::new(HashMap::new()),
            end: AtomicU64::new(1),
            oldest: AtomicU64::new(1),
            connections,
        });
        let info = stream.get_info().await.map_err(backend("stream info"))?;
        inner.observe_bounds(&info.state);
        tokio::spawn(watch_bounds(inner.clone(), stream, shutdown));
        Ok(JetStreamLog { inner })
    }
}

async fn connect(
    cfg: &JetStreamConfig,
    connected: tokio::sync::watch::Sender<u64>,
) -> Result<async_nats::Client, LogError> {
    let connected = Arc::new(connected);
    let mut opts = async_nats::ConnectOptions::new()
        .name("trackgate")
        .connection_timeout(Duration::from_secs(5))
        .event_callback(move |event| {
            let connected = connected.clone();
            async move {
                match event {
                    async_nats::Event::Connected => {
                        connected.send_modify(|n| *n += 1);
                        tracing::info!("jetstream: connected");
                    }
                    async_nats::Event::Disconnected => {
                        tracing::warn!("jetstream: disconnected; reconnecting")
                    }
                    other => tracing::debug!(event = %other, "jetstream"),
                }
            }
        });
    if let (Some(u), Some(p)) = (&cfg.user, &cfg.password) {
        opts = opts.user_and_password(u.clone(), p.clone());
    }
    if let Some(t) = &cfg.token {
        opts = opts.token(t.clone());
    }
    if let Some(ca) = &cfg.tls_ca {
        opts = opts.add_root_certificates(ca.clone()).require_tls(true);
    }
    let addrs = cfg
        .servers
        .iter()
        .map(|s| s.parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend("servers"))?;
    opts.connect(addrs).await.map_err(backend("connect"))
}

/// Keeps `end` and `oldest` current (records other gateways publish, records deleted by
/// retention).
async fn watch_bounds(inner: Arc<Inner>, stream: stream::Stream, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(STATE_TICK);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        match stream.get_info().await {
            Ok(info) => inner.observe_bounds(&info.state),
            Err(e) => tracing::debug!(error = %e, "jetstream: stream info failed"),
        }
    }
}

impl Inner {
    fn observe_bounds(&self, s: &stream::State) {
        self.end
            .fetch_max(s.last_sequence.saturating_add(1), Ordering::Relaxed);
        // An empty new stream reports 0; its first record will be 1.
        self.oldest
            .store(s.first_sequence.max(1), Ordering::Relaxed);
    }

    fn subject(&self, r: &Record) -> String {
        let p = r.device().map_or(0, |d| {
            PARTITION_CRC.checksum(d.as_str().as_bytes()) % self.partitions
        });
        format!("{}.records.{p}", self.stream)
    }

    fn position_subject(&self, name: &str) -> String {
        format!("{}.positions.{}", self.stream, position_key(name))
    }

    /// The stored position of consumer `name`, if any.
    async fn read_position(&self, name: &str) -> Result<Option<u64>, LogError> {
        match self
            .positions
            .get_last_raw_message_by_subject(&self.position_subject(name))
            .await
        {
            Ok(m) => Ok(std::str::from_utf8(&m.payload)
                .ok()
                .and_then(|s| s.parse().ok())),
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(backend("read position")(e)),
        }
    }

    /// Stores a consumer's position. Retried for a few seconds: right after the stream is
    /// created, or while a cluster re-elects the leader of a killed node, the publish finds
    /// no one to answer it.
    async fn put_position(&self, name: &str, next: u64) -> Result<(), LogError> {
        let mut last = None;
        for delay_ms in [0, 250, 500, 1000, 2000] {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            let stored = async {
                self.js
                    .publish(self.position_subject(name), Bytes::from(next.to_string()))
                    .await
                    .map_err(backend("write position"))?
                    .await
                    .map_err(backend("write position"))
            };
            match stored.await {
                Ok(_) => {
                    self.remember(name, next);
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(LogError::Closed))
    }

    fn remember(&self, name: &str, next: u64) {
        self.committed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), next);
    }
}

/// Retries storing `next` for consumer `name` until it is stored or a newer position was.
async fn keep_committing(inner: Arc<Inner>, name: String, next: u64) {
    loop {
        let stored = inner
            .committed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&name)
            .copied();
        if stored.is_some_and(|s| s >= next) {
            return;
        }
        if inner.put_position(&name, next).await.is_ok() {
            tracing::info!(consumer = %name, next, "jetstream: consumer position stored after a retry");
            return;
        }
    }
}

/// A subject token for a consumer name (letters, digits, `-`, `_`, `=`).
fn position_key(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_=".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The de-duplication id of a stored record: a hash of its bytes (device, protocol, fix
/// time and every field), so a gateway that retries a publish cannot store it twice.
pub fn message_id(data: &[u8]) -> String {
    hex::encode(&Sha256::digest(data)[..16])
}

fn refused(e: impl std::fmt::Display) -> Refused {
    Refused::Storage(format!("jetstream: {e}"))
}

impl DurableStage for JetStreamLog {
    fn append(
        &self,
        records: Vec<Record>,
        mode: AckMode,
    ) -> BoxFuture<'static, Result<(), Refused>> {
        let inner = self.inner.clone();
        let msgs: Vec<(String, Bytes)> = records
            .iter()
            .map(|r| (inner.subject(r), encode_record(r)))
            .collect();
        Box::pin(async move {
            let mut acks = Vec::with_capacity(msgs.len());
            for (subject, data) in msgs {
                let id = message_id(&data);
                let publish = jetstream::message::PublishMessage::build()
                    .payload(data)
                    .message_id(id);
                acks.push(
                    inner
                        .js
                        .send_publish(subject, publish)
                        .await
                        .map_err(refused)?,
                );
            }
            let confirm = async move {
                for ack in acks {
                    let ack = ack.await.map_err(refused)?;
                    inner
                        .end
                        .fetch_max(ack.sequence.saturating_add(1), Ordering::Relaxed);
                }
                Ok(())
            };
            match mode {
                AckMode::Durable => confirm.await,
                AckMode::Received => {
                    tokio::spawn(async move {
                        if let Err(e) = confirm.await {
                            tracing::error!(error = %e, "jetstream publish failed after an early ACK");
                        }
                    });
                    Ok(())
                }
            }
        })
    }
}

impl DurableLog for JetStreamLog {
    fn reader(&self, from: Cursor) -> Box<dyn LogReader> {
        Box::new(reader::JsReader::new(self.inner.clone(), from))
    }

    fn end(&self) -> Cursor {
        Cursor::new(self.inner.end.load(Ordering::Relaxed))
    }

    fn oldest(&self) -> Cursor {
        Cursor::new(self.inner.oldest.load(Ordering::Relaxed))
    }

    fn register_consumer<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Cursor, LogError>> {
        Box::pin(async move {
            if let Some(c) = self.committed(name) {
                return Ok(c);
            }
            if let Some(next) = self.inner.read_position(name).await? {
                self.inner.remember(name, next);
                return Ok(Cursor::new(next));
            }
            let start = self.oldest();
            self.inner.put_position(name, start.value()).await?;
            Ok(start)
        })
    }

    fn commit<'a>(&'a self, name: &'a str, next: Cursor) -> BoxFuture<'a, Result<(), LogError>> {
        Box::pin(async move {
            let r = self.inner.put_position(name, next.value()).await;
            if r.is_err() {
                // The consumer moves on; its position must still reach the stream even if
                // no later batch comes to commit a newer one (an idle fleet after a node
                // loss), or a restart would redo everything since.
                tokio::spawn(keep_committing(
                    self.inner.clone(),
                    name.to_string(),
                    next.value(),
                ));
            }
            r
        })
    }

    fn unregister_consumer<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), LogError>> {
        Box::pin(async move {
            self.inner
                .positions
                .purge()
                .filter(self.inner.position_subject(name))
                .await
                .map_err(backend("delete position"))?;
            self.inner
                .committed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(name);
            Ok(())
        })
    }

    fn committed(&self, name: &str) -> Option<Cursor> {
        self.inner
            .committed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .copied()
            .map(Cursor::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_follow_the_bytes() {
        assert_eq!(message_id(b"a"), message_id(b"a"));
        assert_ne!(message_id(b"a"), message_id(b"b"));
        assert_eq!(message_id(b"a").len(), 32);
    }

    #[test]
    fn position_keys_are_single_subject_tokens() {
        assert_eq!(position_key("influx"), "influx");
        assert_eq!(position_key("sink:a b"), "sink_a_b");
    }
}
