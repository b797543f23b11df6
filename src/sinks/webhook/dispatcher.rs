//! The dispatcher: POSTs due outbox rows, signed, and records each attempt.
//!
//! Rules: a row is sent only when it is first in line for its (subscription, order key), so
//! one shipment's events arrive in order (a dead-lettered row no longer blocks the line);
//! at most `max_in_flight_per_endpoint` requests per URL and `max_in_flight` overall; 2xx
//! delivers, 429/5xx/timeouts/connection errors retry with backoff within the budget, any
//! other status goes to the dead letters at once. Redirects are not followed (the signature
//! is for the configured URL). Everything it needs is in the store, so a restart resumes
//! every pending delivery; an attempt cut short by shutdown is repeated (receivers
//! de-duplicate by `X-Trackgate-Event-Id`).

use super::sign::signature;
use super::WebhookConfig;
use crate::outputs::metrics::{AttemptLabels, AttemptResult, OutputMetrics};
use crate::outputs::store::{Attempt, Due, Status, Store};
use crate::sinks::http::read_capped;
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
    client: reqwest::Client,
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
    pub fn new(
        store: Store,
        cfg: WebhookConfig,
        wake: Arc<Notify>,
        metrics: OutputMetrics,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("trackgate-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Dispatcher {
            store,
            cfg,
            client,
            wake,
            metrics,
        })
    }

    /// Runs until shutdown. Attempts still in flight then are dropped (their rows stay
    /// pending and are sent again after the restart).
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let global = Arc::new(Semaphore::new(this.cfg.max_in_flight));
        let mut per_url: HashMap<String, Arc<Semaphore>> = HashMap::new();
        let mut in_flight: HashSet<i64> = HashSet::new();
        let mut tasks: JoinSet<i64> = JoinSet::new();
        let mut last_count = Instant::now()
            .checked_sub(this.cfg.poll_interval)
            .unwrap_or_else(Instant::now);
        loop {
            let now = now_ms();
            let limit = this.cfg.max_in_flight + 256;
            match this.store.due(now, limit).await {
                Ok(due) => {
                    for d in due {
                        if in_flight.contains(&d.seq) {
                            continue;
                        }
                        let Ok(g) = global.clone().try_acquire_owned() else {
                            break;
                        };
                        let sem = per_url
                            .entry(d.url.clone())
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
            tracing::warn!(event_id = %d.event_id, url = %d.url, error = ?out.attempt.error,
                "webhook dead-lettered");
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
        let ts = at_ms.div_euclid(1000);
        let sig = signature(d.secret.as_bytes(), ts, d.body.as_bytes());
        let sent = self
            .client
            .post(&d.url)
            .timeout(self.cfg.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Trackgate-Event-Id", &d.event_id)
            .header("X-Trackgate-Timestamp", ts.to_string())
            .header("X-Trackgate-Signature", sig)
            .body(d.body.clone())
            .send()
            .await;
        let (code, error, retry) = match sent {
            Ok(mut resp) => {
                let code = resp.status().as_u16();
                let text = read_capped(&mut resp, self.cfg.max_response_bytes).await;
                if resp.status().is_success() {
                    (Some(code), None, false)
                } else {
                    let retry = code == 429 || resp.status().is_server_error();
                    (Some(code), Some(format!("HTTP {code}: {text}")), retry)
                }
            }
            Err(e) => {
                let what = if e.is_timeout() {
                    format!("timeout after {:?}", self.cfg.timeout)
                } else if e.is_connect() {
                    format!("connect: {e}")
                } else {
                    format!("request: {e}")
                };
                (None, Some(what), true)
            }
        };
        let duration_ms = started.elapsed().as_millis().min(i64::MAX as u128) as i64;
        let attempt = Attempt {
            at_ms,
            status: code,
            error,
            duration_ms,
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
