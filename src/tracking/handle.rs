//! The running tracking service: the engine behind a lock, its SQLite store and the pipeline
//! it appends its outputs to. Shared by the log consumer, the timer and the API.

use super::config::TrackingConfig;
use super::engine::{Engine, EngineError};
use super::shipment::{ShipmentSpec, SpecError};
use super::store::{Store, StoreError};
use super::tracker::ShipmentStatus;
use super::view::ShipmentView;
use crate::model::Record;
use crate::pipeline::AckMode;
use crate::pipeline::{Pipeline, Refused};
use chrono::{DateTime, Utc};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Why a shipment request failed (the API maps each to a status).
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Invalid(#[from] SpecError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not append the cancellation alerts: {0}")]
    Pipeline(#[from] Refused),
    /// A per-customer quota is used up (409).
    #[error("{0}")]
    Quota(String),
}

/// Why tracking could not start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Tracking service handle.
pub struct TrackingHandle {
    engine: Mutex<Engine>,
    store: Mutex<Store>,
    pipeline: Pipeline,
    shutdown: CancellationToken,
}

impl TrackingHandle {
    /// Opens the store under `dir` and restores every shipment and the learned data.
    pub fn open(
        cfg: TrackingConfig,
        dir: &Path,
        pipeline: Pipeline,
        shutdown: CancellationToken,
    ) -> Result<Arc<Self>, StoreError> {
        let store = Store::open(dir)?;
        let loaded = store.load()?;
        let mut engine = Engine::new(cfg);
        let now = Utc::now();
        for (spec, mut state) in loaded.shipments {
            let created = state.created;
            // Finished before the finish time was kept: keep it `keep_finished` from now.
            if state.status != ShipmentStatus::Active && state.finished.is_none() {
                state.finished = Some(now);
            }
            // Ids are the table's primary key, so a duplicate cannot occur here.
            let _ = engine.insert(spec, Some(state), created);
        }
        if let Some(l) = loaded.learned {
            engine.learned = l;
        }
        let _ = engine.take_dirty();
        Ok(Arc::new(TrackingHandle {
            engine: Mutex::new(engine),
            store: Mutex::new(store),
            pipeline,
            shutdown,
        }))
    }

    /// Locks the engine; a panic elsewhere while holding it leaves data that is still
    /// consistent per record, so poisoning is ignored.
    pub fn engine(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn persist(&self) -> Result<(), StoreError> {
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        let mut engine = self.engine();
        let (dirty, learned) = engine.take_dirty();
        let removed = engine.take_removed();
        if dirty.is_empty() && !learned && removed.is_empty() {
            return Ok(());
        }
        let trackers: Vec<&super::tracker::Tracker> =
            dirty.iter().filter_map(|id| engine.get(id)).collect();
        let r = store.save(&trackers, learned.then_some(&engine.learned), &removed);
        if r.is_err() {
            // Keep them dirty so the retry saves them.
            engine.mark_dirty(dirty, learned);
            engine.mark_removed(removed);
        }
        r
    }

    /// Creates a shipment: validated against the quotas, stored, then followed.
    pub fn create(
        &self,
        spec: ShipmentSpec,
        now: DateTime<Utc>,
    ) -> Result<ShipmentView, RequestError> {
        let id = spec.id.clone();
        {
            let mut e = self.engine();
            let cfg = e.config();
            spec.validate_within(cfg.max_stops, cfg.max_route_points)?;
            let max = cfg.max_shipments_per_customer;
            if let Some(c) = &spec.customer {
                if e.get(&id).is_none() && e.count_of(c) >= max {
                    return Err(RequestError::Quota(format!(
                        "customer {c:?} has {max} shipments (tracking.max_shipments_per_customer); \
                         finished ones leave after tracking.keep_finished"
                    )));
                }
            }
            e.insert(spec, None, now)?;
        }
        self.persist()?;
        self.view(&id)
            .ok_or(RequestError::Engine(EngineError::NotFound(id)))
    }

    /// Cancels a shipment; its closing alerts are durable before this returns.
    pub async fn cancel(&self, id: &str, now: DateTime<Utc>) -> Result<ShipmentView, RequestError> {
        let out = self.engine().cancel(id, now)?;
        self.pipeline.submit(out, AckMode::Durable).await?;
        self.persist()?;
        self.view(id)
            .ok_or_else(|| RequestError::Engine(EngineError::NotFound(id.into())))
    }

    /// One shipment as the API shows it.
    pub fn view(&self, id: &str) -> Option<ShipmentView> {
        self.engine().get(id).map(ShipmentView::of)
    }

    /// Every shipment.
    pub fn list(&self) -> Vec<ShipmentView> {
        self.engine().all().map(ShipmentView::of).collect()
    }

    /// Runs a batch of durable records through the engine, appends the outputs durably and
    /// saves the state. `Err` only on shutdown (the batch then stays uncommitted).
    pub async fn process(&self, records: &[Record]) -> Result<(), ()> {
        let out: Vec<Record> = {
            let mut e = self.engine();
            records.iter().flat_map(|r| e.process(r)).collect()
        };
        self.finish(out).await
    }

    /// Advances the clock-driven rules to `now` (the timer calls this with the wall clock;
    /// tests with any clock).
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<(), ()> {
        let out = self.engine().tick(now);
        self.finish(out).await
    }

    /// Appends `out` durably, then saves; retries with backoff until it works or shutdown.
    async fn finish(&self, out: Vec<Record>) -> Result<(), ()> {
        let mut backoff = Duration::from_millis(100);
        if !out.is_empty() {
            loop {
                match self.pipeline.submit(out.clone(), AckMode::Durable).await {
                    Ok(()) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, records = out.len(), "tracking outputs refused; retrying");
                        self.pause(&mut backoff).await?;
                    }
                }
            }
        }
        loop {
            match self.persist() {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::error!(error = %e, "tracking state not saved; retrying");
                    self.pause(&mut backoff).await?;
                }
            }
        }
    }

    async fn pause(&self, backoff: &mut Duration) -> Result<(), ()> {
        tokio::select! {
            _ = tokio::time::sleep(*backoff) => {}
            _ = self.shutdown.cancelled() => return Err(()),
        }
        *backoff = (*backoff * 2).min(Duration::from_secs(5));
        Ok(())
    }
}
