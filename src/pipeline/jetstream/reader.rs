//! A log reader over a JetStream ordered consumer.
//!
//! The consumer is created on the first read (creating it is a request to the server, and
//! [`super::DurableLog::reader`] is not async), starting at the reader's cursor; a cursor
//! older than the stream's first stored sequence continues there and reports a [`Gap`].
//! After a read error the consumer is dropped and made again at the reader's position on
//! the next call, so the caller may simply retry.

use super::super::log::{Cursor, Gap, LogEntry, LogError, LogReader};
use super::{backend, Inner};
use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Longest wait of one pull request (see `messages`).
const PULL_EXPIRES: std::time::Duration = std::time::Duration::from_secs(4);

pub(super) struct JsReader {
    inner: Arc<Inner>,
    /// The sequence of the next record to return.
    next: u64,
    messages: Option<pull::Ordered>,
    gap: Option<Gap>,
    connections: tokio::sync::watch::Receiver<u64>,
}

impl JsReader {
    pub(super) fn new(inner: Arc<Inner>, from: Cursor) -> Self {
        let connections = inner.connections.clone();
        JsReader {
            connections,
            inner,
            // Sequences start at 1; the local log's first cursor is 0.
            next: from.value().max(1),
            messages: None,
            gap: None,
        }
    }

    async fn messages(&mut self) -> Result<&mut pull::Ordered, LogError> {
        if self.messages.is_none() {
            self.connections.borrow_and_update();
            // Each step is a request with the context's timeout, but a cluster that lost a
            // node can leave one unanswered for good: bound the whole creation.
            let created = tokio::time::timeout(2 * PULL_EXPIRES, self.create()).await;
            let messages = created
                .map_err(|_| LogError::Backend("jetstream: create reader: no answer".into()))??;
            self.messages = Some(messages);
        }
        Ok(self.messages.as_mut().expect("set above"))
    }

    async fn create(&mut self) -> Result<pull::Ordered, LogError> {
        let stream = self
            .inner
            .js
            .get_stream(&self.inner.stream)
            .await
            .map_err(backend("open stream"))?;
        let info = stream.get_info().await.map_err(backend("stream info"))?;
        let first = info.state.first_sequence;
        if first > self.next {
            self.gap = Some(Gap {
                requested: Cursor::new(self.next),
                resumed_at: Cursor::new(first),
            });
            self.next = first;
        }
        let consumer = stream
            .create_consumer(pull::OrderedConfig {
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: self.next,
                },
                // Pull requests expire after this, with idle heartbeats at half of it:
                // a consumer lost with a killed NATS node is noticed (two missed
                // heartbeats) and remade within seconds, not the client's default 30 s.
                max_expires: PULL_EXPIRES,
                ..Default::default()
            })
            .await
            .map_err(backend("create reader"))?;
        consumer.messages().await.map_err(backend("read"))
    }

    /// Turns a delivered message into an entry and moves past it.
    fn take(&mut self, m: async_nats::jetstream::Message) -> Result<LogEntry, LogError> {
        let info = m.info().map_err(backend("message info"))?;
        let seq = info.stream_sequence;
        let received_ms = info.published.timestamp_millis().max(0) as u64;
        self.next = seq.saturating_add(1);
        self.inner.end.fetch_max(self.next, Ordering::Relaxed);
        Ok(LogEntry {
            cursor: Cursor::new(seq),
            received_ms,
            data: m.message.payload.clone(),
        })
    }

    /// Up to `max` entries, waiting for the first one when `wait`.
    async fn batch(&mut self, max: usize, wait: bool) -> Result<Vec<LogEntry>, LogError> {
        let r = self.read(max, wait).await;
        if r.is_err() {
            // Made again at `next` by the next call.
            self.messages = None;
        }
        r
    }

    async fn read(&mut self, max: usize, wait: bool) -> Result<Vec<LogEntry>, LogError> {
        let mut out = Vec::new();
        if wait {
            self.messages().await?;
            let (Some(messages), connections) = (self.messages.as_mut(), &mut self.connections)
            else {
                return Err(LogError::Closed);
            };
            let (end, next) = (&self.inner.end, self.next);
            // Records we should have by now and none came: the consumer is stuck (e.g. its
            // node was killed and the client's own remake keeps failing). Remade by the
            // caller's retry at `next`.
            let stalled = async {
                let mut tick = tokio::time::interval_at(
                    tokio::time::Instant::now() + PULL_EXPIRES,
                    PULL_EXPIRES,
                );
                loop {
                    tick.tick().await;
                    if end.load(Ordering::Relaxed) > next {
                        return;
                    }
                }
            };
            let first = tokio::select! {
                m = messages.next() => m,
                _ = stalled => {
                    return Err(LogError::Backend(
                        "jetstream: reader stalled with records waiting; reader restarts".into(),
                    ))
                }
                // The connection was remade since the consumer was: it may be gone with
                // the server that held it. Cancel-safe: nothing was taken.
                _ = connections.changed() => {
                    return Err(LogError::Backend("jetstream: reconnected; reader restarts".into()))
                }
            };
            match first {
                Some(Ok(m)) => out.push(self.take(m)?),
                Some(Err(e)) => return Err(backend("read")(e)),
                None => return Err(LogError::Closed),
            }
        }
        while out.len() < max.max(1) {
            let ready = self.messages().await?.next().now_or_never();
            match ready {
                Some(Some(Ok(m))) => out.push(self.take(m)?),
                Some(Some(Err(e))) if out.is_empty() => return Err(backend("read")(e)),
                // Hand over what was read; the next call meets the error again.
                Some(Some(Err(_))) | Some(None) | None => break,
            }
        }
        Ok(out)
    }
}

impl LogReader for JsReader {
    fn position(&self) -> Cursor {
        Cursor::new(self.next)
    }

    fn next_batch(&mut self, max: usize) -> BoxFuture<'_, Result<Vec<LogEntry>, LogError>> {
        Box::pin(self.batch(max, true))
    }

    fn try_next_batch(&mut self, max: usize) -> BoxFuture<'_, Result<Vec<LogEntry>, LogError>> {
        Box::pin(self.batch(max, false))
    }

    fn take_gap(&mut self) -> Option<Gap> {
        self.gap.take()
    }
}
