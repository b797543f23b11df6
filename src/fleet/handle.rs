//! The running fleet service: geofence index, detector and store behind locks, and the
//! pipeline its events go into. Shared by the log consumer and the API.

use super::config::EventsConfig;
use super::detect::Detector;
use super::geofence::{Geofence, GeofenceError};
use super::index::Index;
use super::metrics::{FleetMetrics, TypeLabel};
use super::store::{Store, StoreError};
use crate::model::Record;
use crate::pipeline::{AckMode, Pipeline};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Why a geofence request failed (the API maps each to a status).
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Invalid(#[from] GeofenceError),
    #[error("geofence {0:?} already exists")]
    Duplicate(String),
    #[error("no geofence {0:?}")]
    NotFound(String),
    #[error("{0}")]
    Quota(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether a `PUT` created or replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Put {
    Created,
    Replaced,
}

/// Fleet service handle.
pub struct FleetHandle {
    index: RwLock<Index>,
    detector: Mutex<Detector>,
    store: Mutex<Store>,
    pipeline: Pipeline,
    shutdown: CancellationToken,
    /// Events by type, geofences held.
    pub metrics: FleetMetrics,
}

impl FleetHandle {
    /// Opens the store under `dir` and restores geofences and device states.
    pub fn open(
        cfg: EventsConfig,
        dir: &Path,
        pipeline: Pipeline,
        shutdown: CancellationToken,
    ) -> Result<Arc<Self>, StoreError> {
        Self::open_with_limits(cfg, dir, pipeline, shutdown, None)
    }

    /// [`FleetHandle::open`] with each device's own speed limit (the registry's).
    pub fn open_with_limits(
        cfg: EventsConfig,
        dir: &Path,
        pipeline: Pipeline,
        shutdown: CancellationToken,
        device_limit: Option<super::detect::DeviceLimit>,
    ) -> Result<Arc<Self>, StoreError> {
        let store = Store::open(dir)?;
        let index = Index::of(store.geofences()?);
        let mut detector = Detector::new(cfg, store.device_states()?);
        detector.device_limit = device_limit;
        detector.quiet_before = Some(store.created()?);
        let metrics = FleetMetrics::default();
        metrics.geofences.set(index.len() as i64);
        Ok(Arc::new(FleetHandle {
            index: RwLock::new(index),
            detector: Mutex::new(detector),
            store: Mutex::new(store),
            pipeline,
            shutdown,
            metrics,
        }))
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn detector(&self) -> MutexGuard<'_, Detector> {
        self.detector.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the index (poisoning ignored: every change is one complete step).
    pub fn index(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn index_mut(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|p| p.into_inner())
    }

    /// One geofence.
    pub fn get(&self, id: &str) -> Option<Geofence> {
        self.index().get(id).map(|f| f.spec.clone())
    }

    /// Up to `limit` geofences `keep` accepts with an id after `after`, by id, and whether
    /// more follow.
    pub fn page(
        &self,
        after: Option<&str>,
        limit: usize,
        keep: impl Fn(&Geofence) -> bool,
    ) -> (Vec<Geofence>, bool) {
        let index = self.index();
        let mut page: Vec<Geofence> = index
            .after(after)
            .map(|f| &f.spec)
            .filter(|g| keep(g))
            .take(limit.saturating_add(1))
            .cloned()
            .collect();
        let more = page.len() > limit;
        page.truncate(limit);
        (page, more)
    }

    /// Creates a geofence (its id must be new).
    pub fn create(&self, g: Geofence) -> Result<Geofence, RequestError> {
        self.put_inner(g, false).map(|(g, _)| g)
    }

    /// Creates or replaces a geofence.
    pub fn put(&self, g: Geofence) -> Result<(Geofence, Put), RequestError> {
        self.put_inner(g, true)
    }

    fn put_inner(&self, g: Geofence, replace: bool) -> Result<(Geofence, Put), RequestError> {
        g.validate()?;
        let max = self.detector().cfg.max_geofences;
        // The store and then the index, under the index's write lock: a fix sees the old
        // geofence or the new one, never half of a change.
        let mut index = self.index_mut();
        let exists = index.get(&g.id).is_some();
        if exists && !replace {
            return Err(RequestError::Duplicate(g.id));
        }
        if !exists && index.len() >= max {
            return Err(RequestError::Quota(format!(
                "{max} geofences exist (events.max_geofences)"
            )));
        }
        self.store().put(&g)?;
        index.upsert(g.clone());
        self.metrics.geofences.set(index.len() as i64);
        Ok((g, if exists { Put::Replaced } else { Put::Created }))
    }

    /// Deletes a geofence. Devices inside it get no exit event (it no longer exists).
    pub fn delete(&self, id: &str) -> Result<(), RequestError> {
        let mut index = self.index_mut();
        if index.get(id).is_none() {
            return Err(RequestError::NotFound(id.into()));
        }
        self.store().delete(id)?;
        index.remove(id);
        self.metrics.geofences.set(index.len() as i64);
        Ok(())
    }

    /// Runs a batch of durable records through the detector, appends the events durably and
    /// saves the device states. `Err` only on shutdown (the batch stays uncommitted).
    pub async fn process(&self, records: &[Record]) -> Result<(), ()> {
        let out: Vec<Record> = {
            let index = self.index();
            let mut d = self.detector();
            records
                .iter()
                .filter_map(|r| match r {
                    Record::Position(p) => Some(p),
                    _ => None,
                })
                .flat_map(|p| d.process(p, &index))
                .map(Record::Alert)
                .collect()
        };
        for r in &out {
            if let Record::Alert(a) = r {
                let label = TypeLabel {
                    r#type: a.kind.clone(),
                };
                self.metrics.events.get_or_create(&label).inc();
            }
        }
        let mut backoff = Duration::from_millis(100);
        if !out.is_empty() {
            while let Err(e) = self.pipeline.submit(out.clone(), AckMode::Durable).await {
                tracing::warn!(error = %e, records = out.len(), "fleet events refused; retrying");
                self.pause(&mut backoff).await?;
            }
        }
        loop {
            let (dirty, rows) = {
                let mut d = self.detector();
                (d.take_dirty(), d.take_rows())
            };
            if dirty.is_empty() && rows.is_empty() {
                return Ok(());
            }
            let saved = self.store().save(&dirty, &rows);
            match saved {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::error!(error = %e, "fleet device state not saved; retrying");
                    {
                        let mut d = self.detector();
                        d.mark_dirty(dirty.into_iter().map(|(d, _)| d));
                        d.put_back_rows(rows);
                    }
                    self.pause(&mut backoff).await?;
                }
            }
        }
    }

    /// Runs a report query on the store.
    pub fn report<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        f(self.store().conn())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::geofence::{Area, Circle};
    use crate::fleet::shape::M_PER_DEG;
    use crate::model::{DeviceId, Position};
    use crate::pipeline::{DurableStage, Refused};
    use chrono::{TimeZone, Utc};
    use futures::future::BoxFuture;

    /// A durable stage that keeps what it is given (the fleet's events).
    #[derive(Default)]
    struct Keep(Mutex<Vec<Record>>);

    impl DurableStage for Keep {
        fn append(&self, r: Vec<Record>, _: AckMode) -> BoxFuture<'static, Result<(), Refused>> {
            self.0.lock().unwrap().extend(r);
            Box::pin(async { Ok(()) })
        }
    }

    /// Fixes received after the store was made (2030): earlier ones only warm the state up.
    const T0: i64 = 1_900_000_000;

    fn fix(s: i64, north_m: f64) -> Record {
        let t = Utc.timestamp_opt(T0 + s, 0).unwrap();
        let dev = DeviceId::new("356307042441013").unwrap();
        Record::Position(Position::new(
            dev,
            "test",
            t,
            t,
            52.0 + north_m / M_PER_DEG,
            13.0,
            true,
        ))
    }

    fn kinds(keep: &Keep) -> Vec<String> {
        keep.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|r| match r {
                Record::Alert(a) => Some(format!("{}@{}", a.kind, a.time.timestamp() - T0)),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn geofences_and_device_state_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let keep = Arc::new(Keep::default());
        let open = || {
            FleetHandle::open(
                EventsConfig::default(),
                dir.path(),
                Pipeline::new(keep.clone()),
                CancellationToken::new(),
            )
            .unwrap()
        };
        let h = open();
        let yard = Geofence {
            id: "yard".into(),
            name: "Yard".into(),
            area: Area::Circle(Circle {
                lat: 52.0,
                lon: 13.0,
                radius_m: 200.0,
            }),
            devices: vec![],
            customer: None,
            speed_limit_kmh: None,
        };
        h.create(yard.clone()).unwrap();
        assert!(matches!(
            h.create(yard.clone()),
            Err(RequestError::Duplicate(_))
        ));
        h.process(&[fix(0, 1_000.0), fix(10, 0.0), fix(20, 0.0)])
            .await
            .unwrap();
        assert_eq!(kinds(&keep), ["geofence_enter@20"]);
        drop(h);

        // After a restart the geofence is back and the device is known to be inside: more
        // fixes inside give nothing, the fixes already seen (a replay) give nothing, and
        // leaving gives the exit.
        let h = open();
        assert_eq!(h.get("yard"), Some(yard.clone()));
        h.process(&[fix(10, 0.0), fix(20, 0.0), fix(30, 0.0)])
            .await
            .unwrap();
        assert_eq!(kinds(&keep), ["geofence_enter@20"]);
        h.process(&[fix(40, 1_000.0), fix(50, 1_000.0)])
            .await
            .unwrap();
        assert_eq!(kinds(&keep), ["geofence_enter@20", "geofence_exit@50"]);
        let (_, how) = h.put(yard.clone()).unwrap();
        assert_eq!(how, Put::Replaced);
        h.delete("yard").unwrap();
        assert!(matches!(h.delete("yard"), Err(RequestError::NotFound(_))));
        drop(h);
        assert!(open().get("yard").is_none());
    }

    #[tokio::test]
    async fn fixes_received_before_the_store_existed_warm_the_state_without_events() {
        let dir = tempfile::tempdir().unwrap();
        let keep = Arc::new(Keep::default());
        let h = FleetHandle::open(
            EventsConfig::default(),
            dir.path(),
            Pipeline::new(keep.clone()),
            CancellationToken::new(),
        )
        .unwrap();
        h.create(Geofence {
            id: "yard".into(),
            name: "Yard".into(),
            area: Area::Circle(Circle {
                lat: 52.0,
                lon: 13.0,
                radius_m: 200.0,
            }),
            devices: vec![],
            customer: None,
            speed_limit_kmh: None,
        })
        .unwrap();
        let dev = DeviceId::new("1").unwrap();
        let at = |t: i64, lat: f64| {
            let t = Utc.timestamp_opt(t, 0).unwrap();
            Record::Position(Position::new(dev.clone(), "test", t, t, lat, 13.0, true))
        };
        // Received in 2020 (a retained log read on the first start): inside, silently.
        let old = 1_600_000_000;
        h.process(&[at(old, 52.1), at(old + 10, 52.0), at(old + 20, 52.0)])
            .await
            .unwrap();
        assert!(keep.0.lock().unwrap().is_empty());
        // New fixes leaving: the exit is told (the device was known to be inside).
        let now = Utc::now().timestamp() + 60;
        h.process(&[at(now, 52.1), at(now + 10, 52.1)])
            .await
            .unwrap();
        let kinds: Vec<String> = keep
            .0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|r| match r {
                Record::Alert(a) => Some(a.kind.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(kinds, ["geofence_exit"]);
    }
}
