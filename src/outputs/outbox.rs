//! Webhook subscriptions, the delivery outbox and its attempt log (tables in
//! [`super::store`]'s schema).
//!
//! A subscription made with a customer token carries that customer and receives only that
//! customer's events. Its signing secret is stored as given (the HMAC needs it) and never
//! leaves the server: the API shows a fingerprint. During a rotation the previous secret is
//! kept until a deadline and both signatures are sent.
//!
//! Fairness: [`Store::due`] returns at most `per_endpoint` rows per endpoint
//! (`scheme://host:port`), interleaved across endpoints, so a receiver with a deep backlog
//! cannot fill the scan and starve every other endpoint of in-flight slots.

use super::store::{NewEvent, Store, StoreError};
use crate::egress::Policy;
use crate::secret::Secret;
use rusqlite::{params, Connection};
use serde::Serialize;
use std::sync::Arc;

/// Bytes of a failed response kept for the delivery log (shown to admin tokens only).
pub const RESPONSE_EXCERPT_BYTES: usize = 200;

/// What a new subscription must pass: the egress guard its URL is vetted with and the
/// per-customer cap. The webhook dispatcher sets them when it starts, so the API refuses at
/// creation exactly what the dispatcher would refuse at delivery; until then the defaults
/// hold (nothing inward allowed, 20 per customer).
#[derive(Clone, Debug)]
pub struct SubscriptionRules {
    pub policy: Arc<Policy>,
    pub max_per_customer: usize,
}

impl Default for SubscriptionRules {
    fn default() -> Self {
        SubscriptionRules {
            policy: Arc::new(Policy::default()),
            max_per_customer: 20,
        }
    }
}

/// A customer's subscription.
#[derive(Clone, Debug, PartialEq)]
pub struct Subscription {
    pub id: String,
    pub url: String,
    /// Signs every delivery; never shown by the API.
    pub secret: Secret,
    /// The secret being rotated out, still used to sign until `previous_until_ms`.
    pub previous_secret: Option<Secret>,
    /// End of the rotation window, unix ms.
    pub previous_until_ms: Option<i64>,
    /// Event types to send; `None`: every type.
    pub events: Option<Vec<String>>,
    pub device: Option<String>,
    pub shipment: Option<String>,
    /// Set when created with a customer token: only that customer's events are sent.
    pub customer: Option<String>,
    /// Creation time, unix ms.
    pub created_ms: i64,
}

impl Subscription {
    /// Whether the event goes to this subscription (no filter: all; a customer's
    /// subscription only gets that customer's events).
    pub fn matches(&self, e: &NewEvent) -> bool {
        self.events.as_ref().is_none_or(|t| t.contains(&e.kind))
            && self.device.as_deref().is_none_or(|d| d == e.device)
            && self
                .shipment
                .as_deref()
                .is_none_or(|s| Some(s) == e.shipment.as_deref())
            && self
                .customer
                .as_deref()
                .is_none_or(|c| Some(c) == e.customer.as_deref())
    }

    /// The previous secret while its rotation window is open at `now_ms`.
    pub fn previous_at(&self, now_ms: i64) -> Option<&Secret> {
        match (&self.previous_secret, self.previous_until_ms) {
            (Some(s), Some(until)) if now_ms < until => Some(s),
            _ => None,
        }
    }
}

/// The unit of the per-endpoint in-flight limit: `scheme://host:port` of a URL, so paths of
/// one receiver share its slots.
pub fn endpoint(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => url.to_string(),
    }
}

/// Delivery state of an outbox row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Delivered,
    Dead,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Delivered => "delivered",
            Status::Dead => "dead",
        }
    }
    fn parse(s: &str) -> Status {
        match s {
            "delivered" => Status::Delivered,
            "dead" => Status::Dead,
            _ => Status::Pending,
        }
    }
}

/// An outbox row due for an attempt, with what the attempt needs.
#[derive(Clone, Debug)]
pub struct Due {
    pub seq: i64,
    pub event_id: String,
    pub attempts: u32,
    pub created_ms: i64,
    pub url: String,
    /// See [`endpoint`].
    pub endpoint: String,
    /// The current secret, then the previous one while its rotation window is open.
    pub secrets: Vec<Secret>,
    pub body: String,
}

/// One attempt, as listed by `GET /api/webhooks/{id}/deliveries`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attempt {
    /// Start of the attempt, unix ms.
    pub at_ms: i64,
    /// HTTP status, when the receiver answered.
    pub status: Option<u16>,
    /// Why it failed: `HTTP 503`, a transport or TLS error, a refused target.
    pub error: Option<String>,
    pub duration_ms: i64,
    /// Length of the receiver's answer (`Content-Length`, else the bytes read, which stop at
    /// `webhooks.max_response_bytes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_bytes: Option<u64>,
    /// The first [`RESPONSE_EXCERPT_BYTES`] of a failed answer; the API shows it to admin
    /// tokens only (a receiver's error page can describe its internals).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
}

/// One event's delivery to one subscription.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Delivery {
    pub event_id: String,
    pub status: Status,
    pub attempts: u32,
    /// Queued at, unix ms (the retry budget counts from here).
    pub created_ms: i64,
    /// Next attempt, unix ms (pending only).
    pub next_attempt_ms: Option<i64>,
    /// Delivered or dead-lettered at, unix ms.
    pub done_ms: Option<i64>,
    pub last_error: Option<String>,
    pub history: Vec<Attempt>,
}

impl Delivery {
    /// Drops the response excerpts (for callers without the admin scope). Errors recorded by
    /// versions that kept the body in the message (`HTTP 500: <body>`) are cut too.
    pub fn hide_responses(&mut self) {
        fn cut(e: &mut Option<String>) {
            if let Some(s) = e {
                if s.starts_with("HTTP ") {
                    if let Some(i) = s.find(": ") {
                        s.truncate(i);
                    }
                }
            }
        }
        cut(&mut self.last_error);
        for a in &mut self.history {
            a.response = None;
            cut(&mut a.error);
        }
    }
}

impl Store {
    /// The rules new subscriptions must pass.
    pub fn subscription_rules(&self) -> SubscriptionRules {
        self.rules.read().map(|r| r.clone()).unwrap_or_default()
    }

    /// Sets the rules (the dispatcher, at start).
    pub fn set_subscription_rules(&self, rules: SubscriptionRules) {
        if let Ok(mut r) = self.rules.write() {
            *r = rules;
        }
    }

    /// Stores a new subscription unless its customer (`None` counting as one more customer)
    /// already has `max_per_customer`; counted and inserted in one transaction. Returns
    /// whether it was stored.
    pub async fn add_subscription(
        &self,
        s: Subscription,
        max_per_customer: usize,
    ) -> Result<bool, StoreError> {
        self.run(move |c| {
            let tx = c.transaction()?;
            let n: i64 = tx.query_row(
                "SELECT COUNT(*) FROM subscriptions WHERE customer IS ?1",
                [&s.customer],
                |r| r.get(0),
            )?;
            if n >= max_per_customer as i64 {
                return Ok(false);
            }
            let events = s
                .events
                .as_ref()
                .map(|e| serde_json::to_string(e).unwrap_or_default());
            tx.execute(
                "INSERT INTO subscriptions (id, url, secret, events, device, shipment, created_ms,
                                            customer, endpoint, secret_prev, secret_prev_until_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    s.id,
                    s.url,
                    s.secret.expose(),
                    events,
                    s.device,
                    s.shipment,
                    s.created_ms,
                    s.customer,
                    endpoint(&s.url),
                    s.previous_secret.as_ref().map(|p| p.expose().to_string()),
                    s.previous_until_ms,
                ],
            )?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    /// Every subscription, oldest first.
    pub async fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        self.run(|c| load_subscriptions(c)).await
    }

    /// One subscription.
    pub async fn subscription(&self, id: String) -> Result<Option<Subscription>, StoreError> {
        Ok(self.subscriptions().await?.into_iter().find(|s| s.id == id))
    }

    /// Replaces a subscription's secret. With `keep_previous_until_ms`, the current secret
    /// becomes the previous one and keeps signing until then; without, it is dropped at once.
    /// Returns the updated subscription (`None`: no such id).
    pub async fn rotate_secret(
        &self,
        id: String,
        new: Secret,
        keep_previous_until_ms: Option<i64>,
    ) -> Result<Option<Subscription>, StoreError> {
        let found = self
            .run(move |c| {
                let n = c.execute(
                    "UPDATE subscriptions SET
                       secret_prev = CASE WHEN ?3 IS NULL THEN NULL ELSE secret END,
                       secret_prev_until_ms = ?3,
                       secret = ?2
                     WHERE id = ?1",
                    params![id, new.expose(), keep_previous_until_ms],
                )?;
                Ok((n > 0).then_some(id))
            })
            .await?;
        match found {
            Some(id) => self.subscription(id).await,
            None => Ok(None),
        }
    }

    /// Deletes a subscription with its outbox and attempt log; false if it did not exist.
    pub async fn delete_subscription(&self, id: String) -> Result<bool, StoreError> {
        self.run(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "DELETE FROM attempts WHERE outbox_seq IN (SELECT seq FROM outbox WHERE sub_id = ?1)",
                [&id],
            )?;
            tx.execute("DELETE FROM outbox WHERE sub_id = ?1", [&id])?;
            let n = tx.execute("DELETE FROM subscriptions WHERE id = ?1", [&id])?;
            tx.commit()?;
            Ok(n > 0)
        })
        .await
    }

    /// Pending rows due at `now_ms` that are first in line for their (subscription, order
    /// key); at most `per_endpoint` per endpoint and `limit` in all, round-robin over the
    /// endpoints (every endpoint's oldest row, then every endpoint's second, ...).
    pub async fn due(
        &self,
        now_ms: i64,
        limit: usize,
        per_endpoint: usize,
    ) -> Result<Vec<Due>, StoreError> {
        self.run(move |c| {
            let mut st = c.prepare_cached(
                "SELECT seq, event_id, attempts, created_ms, url, endpoint, secret, secret_prev,
                        secret_prev_until_ms, body
                 FROM (
                   SELECT o.seq, o.event_id, o.attempts, o.created_ms, s.url,
                          COALESCE(s.endpoint, s.url) AS endpoint, s.secret, s.secret_prev,
                          s.secret_prev_until_ms, e.body,
                          ROW_NUMBER() OVER (PARTITION BY COALESCE(s.endpoint, s.url)
                                             ORDER BY o.seq) AS rn
                   FROM outbox o
                   JOIN subscriptions s ON s.id = o.sub_id
                   JOIN events e ON e.id = o.event_id
                   WHERE o.status = 'pending' AND o.next_ms <= ?1
                     AND NOT EXISTS (SELECT 1 FROM outbox p
                                     WHERE p.sub_id = o.sub_id AND p.order_key = o.order_key
                                       AND p.status = 'pending' AND p.seq < o.seq))
                 WHERE rn <= ?3
                 ORDER BY rn, seq LIMIT ?2",
            )?;
            let rows = st
                .query_map(params![now_ms, limit as i64, per_endpoint as i64], |r| {
                    let mut secrets = vec![Secret::new(r.get::<_, String>(6)?)];
                    let prev: Option<String> = r.get(7)?;
                    let until: Option<i64> = r.get(8)?;
                    if let (Some(p), Some(u)) = (prev, until) {
                        if now_ms < u {
                            secrets.push(Secret::new(p));
                        }
                    }
                    Ok(Due {
                        seq: r.get(0)?,
                        event_id: r.get(1)?,
                        attempts: r.get(2)?,
                        created_ms: r.get(3)?,
                        url: r.get(4)?,
                        endpoint: r.get(5)?,
                        secrets,
                        body: r.get(9)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Earliest `next_ms` after `now_ms` of any pending row: when a waiting retry becomes
    /// due. (Rows already due but not sent are in flight or wait for a slot or for their
    /// predecessor, and an attempt ending wakes the dispatcher for those.)
    pub async fn next_due_ms(&self, now_ms: i64) -> Result<Option<i64>, StoreError> {
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT MIN(next_ms) FROM outbox WHERE status = 'pending' AND next_ms > ?1",
                [now_ms],
                |r| r.get::<_, Option<i64>>(0),
            )?)
        })
        .await
    }

    /// Records an attempt and the row's new state (`next_ms` for a retry).
    pub async fn record_attempt(
        &self,
        seq: i64,
        attempt: Attempt,
        status: Status,
        next_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        self.run(move |c| {
            // An attempt's outcome lost to a power cut only means the event is sent again
            // (receivers de-duplicate by event id), so it skips the fsync that the
            // outbox rows themselves get (`synchronous = FULL` is restored below).
            c.pragma_update(None, "synchronous", "NORMAL")?;
            let r = record(c, seq, attempt, status, next_ms);
            c.pragma_update(None, "synchronous", "FULL")?;
            r
        })
        .await
    }

    /// Deliveries of a subscription with their attempts, newest first, at most `limit`.
    pub async fn deliveries(&self, sub: String, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        self.run(move |c| {
            let mut st = c.prepare_cached(
                "SELECT seq, event_id, status, attempts, created_ms, next_ms, done_ms, last_error
                 FROM outbox WHERE sub_id = ?1 ORDER BY seq DESC LIMIT ?2",
            )?;
            let mut att = c.prepare_cached(
                "SELECT at_ms, status, error, duration_ms, response_bytes, response
                 FROM attempts WHERE outbox_seq = ?1 ORDER BY rowid",
            )?;
            let rows: Vec<(i64, Delivery)> = st
                .query_map(params![sub, limit as i64], |r| {
                    let status = Status::parse(&r.get::<_, String>(2)?);
                    Ok((
                        r.get(0)?,
                        Delivery {
                            event_id: r.get(1)?,
                            status,
                            attempts: r.get(3)?,
                            created_ms: r.get(4)?,
                            next_attempt_ms: (status == Status::Pending).then_some(r.get(5)?),
                            done_ms: r.get(6)?,
                            last_error: r.get(7)?,
                            history: Vec::new(),
                        },
                    ))
                })?
                .collect::<Result<_, _>>()?;
            let mut out = Vec::with_capacity(rows.len());
            for (seq, mut d) in rows {
                d.history = att
                    .query_map([seq], |r| {
                        Ok(Attempt {
                            at_ms: r.get(0)?,
                            status: r.get(1)?,
                            error: r.get(2)?,
                            duration_ms: r.get(3)?,
                            response_bytes: r.get::<_, Option<i64>>(4)?.map(|n| n.max(0) as u64),
                            response: r.get(5)?,
                        })
                    })?
                    .collect::<Result<_, _>>()?;
                out.push(d);
            }
            Ok(out)
        })
        .await
    }

    /// Re-queues a subscription's dead letters with a fresh retry budget; returns how many.
    pub async fn redrive(&self, sub: String, now_ms: i64) -> Result<usize, StoreError> {
        self.run(move |c| {
            Ok(c.execute(
                "UPDATE outbox SET status = 'pending', attempts = 0, created_ms = ?2, next_ms = ?2,
                        done_ms = NULL WHERE sub_id = ?1 AND status = 'dead'",
                params![sub, now_ms],
            )?)
        })
        .await
    }

    /// Count of rows per status (for metrics and tests).
    pub async fn outbox_counts(&self) -> Result<(u64, u64, u64), StoreError> {
        self.run(|c| {
            let n = |s: &str| -> Result<u64, rusqlite::Error> {
                let v: i64 =
                    c.query_row("SELECT COUNT(*) FROM outbox WHERE status = ?1", [s], |r| {
                        r.get(0)
                    })?;
                Ok(v.max(0) as u64)
            };
            Ok((n("pending")?, n("delivered")?, n("dead")?))
        })
        .await
    }
}

/// The body of [`Store::record_attempt`]: the attempt row and the outbox row's new state.
fn record(
    c: &mut Connection,
    seq: i64,
    attempt: Attempt,
    status: Status,
    next_ms: Option<i64>,
) -> Result<(), StoreError> {
    let tx = c.transaction()?;
    tx.execute(
        "INSERT INTO attempts (outbox_seq, at_ms, status, error, duration_ms, response_bytes, response)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            seq,
            attempt.at_ms,
            attempt.status,
            attempt.error,
            attempt.duration_ms,
            attempt.response_bytes.map(|n| n.min(i64::MAX as u64) as i64),
            attempt.response,
        ],
    )?;
    let done = (status != Status::Pending).then_some(attempt.at_ms + attempt.duration_ms);
    tx.execute(
        "UPDATE outbox SET status = ?2, attempts = attempts + 1, next_ms = COALESCE(?3, next_ms),
                done_ms = ?4, last_error = ?5 WHERE seq = ?1",
        params![seq, status.as_str(), next_ms, done, attempt.error],
    )?;
    tx.commit()?;
    Ok(())
}

/// Every subscription, oldest first.
pub(super) fn load_subscriptions(c: &Connection) -> Result<Vec<Subscription>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT id, url, secret, events, device, shipment, created_ms, customer, secret_prev,
                secret_prev_until_ms
         FROM subscriptions ORDER BY created_ms, id",
    )?;
    let rows = st
        .query_map([], |r| {
            let events: Option<String> = r.get(3)?;
            Ok(Subscription {
                id: r.get(0)?,
                url: r.get(1)?,
                secret: Secret::new(r.get::<_, String>(2)?),
                events: events.and_then(|e| serde_json::from_str(&e).ok()),
                device: r.get(4)?,
                shipment: r.get(5)?,
                created_ms: r.get(6)?,
                customer: r.get(7)?,
                previous_secret: r.get::<_, Option<String>>(8)?.map(Secret::new),
                previous_until_ms: r.get(9)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
