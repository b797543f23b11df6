//! The dispatcher: POSTs due outbox rows, signed, and records each attempt.
//!
//! Rules: a row is sent only when it is first in line for its (subscription, order key), so
//! one shipment's events arrive in order (a dead-lettered row no longer blocks the line);
//! at most `max_in_flight_per_endpoint` requests per endpoint (`scheme://host:port`, so a
//! customer's many paths on one receiver share its slots) and `max_in_flight` overall, and
//! each scan of the outbox takes at most that many rows per endpoint, round-robin, so a dead
//! receiver with a deep backlog cannot crowd the others out; 2xx delivers,
//! 429/5xx/timeouts/connection and TLS errors retry with backoff within the budget; any other
//! status, and a target the egress guard refuses, goes to the dead letters at once (no
//! request is sent to a refused target). Redirects are not followed (the signature is for
//! the configured URL). Everything it needs is in the store, so a restart resumes every
//! pending delivery; an attempt cut short by shutdown is repeated (receivers de-duplicate by
//! `X-Trackgate-Event-Id`).

use super::attempt::{Sender, SetupError};
use super::WebhookConfig;
use crate::outputs::metrics::{AttemptLabels, AttemptResult, OutputMetrics};
use crate::outputs::store::{Attempt, Due, Status, Store, SubscriptionRules};
use crate::secret::redact_url;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The delivery loop and what it shares with its attempt tasks.
pub struct Dispatcher {
    store: Store,
    cfg: WebhookConfig,
    sender: Sender,
    wake: Arc<Notify>,
    metrics: OutputMetrics,
}

/// What one attempt concluded.
struct Outcome {
    attempt: Attempt,
    status: Status,
    next_ms: Option<i64>,
}

impl Dispatcher {
    /// A dispatcher over `store`; `wake` is notified by the consumer and the API (redrive).
    /// Hands its egress guard and the per-customer cap to the store's subscription rules, so
    /// the API vets new subscriptions with the same guard.
    pub fn new(
        store: Store,
        cfg: WebhookConfig,
        wake: Arc<Notify>,
        metrics: OutputMetrics,
    ) -> Result<Self, SetupError> {
        let sender = Sender::new(&cfg)?;
        store.set_subscription_rules(SubscriptionRules {
            policy: sender.policy(),
            max_per_customer: cfg.max_webhooks_per_customer,
        });
        Ok(Dispatcher {
            store,
            cfg,
            sender,
            wake,
            metrics,
        })
    }

    /// Runs until shutdown. Attempts still in flight then are dropped (their rows stay
    /// pending and are sent again after the restart).
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let global = Arc::new(Semaphore::new(this.cfg.max_in_flight));
        let mut per_endpoint_slots: HashMap<String, Arc<Semaphore>> = HashMap::new();
        let mut in_flight: HashSet<i64> = HashSet::new();
        let mut tasks: JoinSet<i64> = JoinSet::new();
        let mut last_count = Instant::now()
            .checked_sub(this.cfg.poll_interval)
            .unwrap_or_else(Instant::now);
        loop {
            let now = now_ms();
            let limit = this.cfg.max_in_flight + 256;
            let per_endpoint = this.cfg.max_in_flight_per_endpoint;
            match this.store.due(now, limit, per_endpoint).await {
                Ok(due) => {
                    for d in due {
                        if in_flight.contains(&d.seq) {
                            continue;
                        }
                        let Ok(g) = global.clone().try_acquire_owned() else {
                            break;
                        };
                        let sem = per_endpoint_slots
                            .entry(d.endpoint.clone())
                            .or_insert_with(|| {
                                Arc::new(Semaphore::new(this.cfg.max_in_flight_per_endpoint))
                            })
                            .clone();
                        let Ok(p) = sem.try_acquire_owned() else {
                            continue;
                        };
                        in_flight.insert(d.seq);
                        let t = this.clone();
                        tasks.spawn(async move { t.deliver(d, (g, p)).await });
                    }
                }
                Err(e) => tracing::error!(error = %e, "webhooks: outbox scan failed"),
            }
            // Counting is a scan: sampled at most once per poll interval.
            if last_count.elapsed() >= this.cfg.poll_interval {
                last_count = Instant::now();
                if let Ok((pending, _, _)) = this.store.outbox_counts().await {
                    this.metrics
                        .pending
                        .set(pending.min(i64::MAX as u64) as i64);
                }
            }
            // Sleep until woken, an attempt ends, the next retry is due, or the poll interval.
            let mut nap = this.cfg.poll_interval;
            if let Ok(Some(next)) = this.store.next_due_ms(now).await {
                let until = Duration::from_millis(next.saturating_sub(now_ms()).max(0) as u64);
                nap = nap.min(until.max(Duration::from_millis(5)));
            }
            tokio::select! {
                _ = shutdown.cancelled() => {
                    tasks.abort_all();
                    return;
                }
                _ = this.wake.notified() => {}
                Some(r) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Ok(seq) = r { in_flight.remove(&seq); }
                    while let Some(r) = tasks.try_join_next() {
                        if let Ok(seq) = r { in_flight.remove(&seq); }
                    }
                }
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }

    /// One attempt for one row; returns the row's seq when its new state is stored.
    async fn deliver(
        self: Arc<Self>,
        d: Due,
        _permits: (OwnedSemaphorePermit, OwnedSemaphorePermit),
    ) -> i64 {
        let out = self.attempt(&d).await;
        let label = match out.status {
            Status::Delivered => AttemptResult::Delivered,
            Status::Pending => AttemptResult::Retry,
            Status::Dead => AttemptResult::Dead,
        };
        self.metrics
            .attempts
            .get_or_create(&AttemptLabels { result: label })
            .inc();
        if out.status == Status::Dead {
            tracing::warn!(event_id = %d.event_id, url = %redact_url(&d.url),
                error = ?out.attempt.error, "webhook dead-lettered");
        }
        // The row state must reach the store, or the attempt would be repeated (harmless but
        // noisy); retry briefly on store errors.
        let mut delay = Duration::from_millis(50);
        for _ in 0..8 {
            match self
                .store
                .record_attempt(d.seq, out.attempt.clone(), out.status, out.next_ms)
                .await
            {
                Ok(()) => break,
                Err(e) => {
                    tracing::error!(error = %e, seq = d.seq, "webhooks: cannot record attempt");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
            }
        }
        d.seq
    }

    async fn attempt(&self, d: &Due) -> Outcome {
        let at_ms = now_ms();
        let started = Instant::now();
        let sent = self.sender.send(d, at_ms.div_euclid(1000)).await;
        let (code, error, retry) = (sent.status, sent.error, sent.retry);
        let duration_ms = started.elapsed().as_millis().min(i64::MAX as u128) as i64;
        let attempt = Attempt {
            at_ms,
            status: code,
            error,
            duration_ms,
            response_bytes: sent.response_bytes,
            response: sent.response,
        };
        if attempt.error.is_none() {
            return Outcome {
                attempt,
                status: Status::Delivered,
                next_ms: None,
            };
        }
        if !retry {
            return Outcome {
                attempt,
                status: Status::Dead,
                next_ms: None,
            };
        }
        let delay = self.cfg.backoff().delay(d.attempts + 1);
        let next = now_ms().saturating_add(delay.as_millis().min(i64::MAX as u128) as i64);
        let budget_end = d
            .created_ms
            .saturating_add(self.cfg.retry_budget.as_millis().min(i64::MAX as u128) as i64);
        if next > budget_end {
            let mut attempt = attempt;
            attempt.error = attempt
                .error
                .map(|e| format!("{e}; retry budget of {:?} exhausted", self.cfg.retry_budget));
            return Outcome {
                attempt,
                status: Status::Dead,
                next_ms: None,
            };
        }
        Outcome {
            attempt,
            status: Status::Pending,
            next_ms: Some(next),
        }
    }
}

/// Wall clock, unix ms.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
