//! The device registry: what ops teams know about a tracker beyond its id (name, plate,
//! vehicle type, group, customer, SIM phone, notes, speed limit) and the device groups.
//!
//! Why a table and not the log: like API tokens and JT/T 808 codes, this is a small keyed
//! set that people edit and that must outlive `storage.retention`. It lives in
//! `<storage.dir>/registry.sqlite3` ([`store`]) and is held whole in memory, so admission
//! (`devices.allow = "registered"`) and every device view read it without touching the disk.
//!
//! Writers: the API (`/api/devices`, `/api/groups`) and `trackgate devices import` (another
//! process, possibly while `serve` runs). Every write checks `PRAGMA data_version` first and
//! reloads the memory copy when another process committed, and [`watch`] does the same once
//! a second, so an import takes effect in a running server without a restart.
//!
//! The rules (field bounds, one-level groups, a device's group exists, a group in use is not
//! deleted) are in [`model`] and checked here against the stored set; CSV import/export is
//! [`csv`].

pub mod csv;
pub mod model;
pub mod store;

pub use model::{Device, DeviceFields, DevicePatch, Driver, Group, Invalid};

use crate::model::device_id::canonical_str;
use crate::model::DeviceId;
use rusqlite::Connection;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("no {what} {id:?}")]
    NotFound { what: &'static str, id: String },
    #[error("group {id:?} is in use by {devices} device(s) and {groups} subgroup(s)")]
    InUse {
        id: String,
        devices: usize,
        groups: usize,
    },
    #[error("device registry {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("key: {key:?} is already driver {driver:?}'s")]
    KeyTaken { key: String, driver: String },
    #[error("line {line}: {source}")]
    Line { line: usize, source: Invalid },
    #[error("device registry: {0}")]
    Task(String),
}

/// What an import did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    pub created: usize,
    pub replaced: usize,
    pub unchanged: usize,
}

/// What a write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    Created,
    Replaced,
}

/// The memory copy of the file.
#[derive(Default)]
struct Index {
    /// By registered id, so listing is in id order.
    devices: BTreeMap<String, Device>,
    /// Canonical id → registered id (`012076463279` and `12076463279` are one device).
    canonical: HashMap<String, String>,
    groups: BTreeMap<String, Group>,
    drivers: BTreeMap<String, Driver>,
    /// Driver key ([`model::key_form`]) → driver id.
    driver_keys: HashMap<String, String>,
}

impl Index {
    fn from_rows(devices: Vec<Device>, groups: Vec<Group>, drivers: Vec<Driver>) -> Index {
        let mut ix = Index::default();
        for d in devices {
            ix.insert(d);
        }
        ix.groups = groups.into_iter().map(|g| (g.id.clone(), g)).collect();
        for d in drivers {
            ix.insert_driver(d);
        }
        ix
    }

    fn insert_driver(&mut self, d: Driver) {
        self.remove_driver(&d.id);
        self.driver_keys
            .insert(model::key_form(&d.key), d.id.clone());
        self.drivers.insert(d.id.clone(), d);
    }

    fn remove_driver(&mut self, id: &str) {
        if let Some(old) = self.drivers.remove(id) {
            self.driver_keys.remove(&model::key_form(&old.key));
        }
    }

    fn get(&self, id: &str) -> Option<&Device> {
        self.canonical
            .get(canonical_str(id))
            .and_then(|k| self.devices.get(k))
    }

    fn insert(&mut self, d: Device) {
        let c = canonical_str(&d.id).to_string();
        if let Some(old) = self.canonical.insert(c, d.id.clone()) {
            self.devices.remove(&old);
        }
        self.devices.insert(d.id.clone(), d);
    }

    fn remove(&mut self, id: &str) -> bool {
        match self.canonical.remove(canonical_str(id)) {
            Some(k) => self.devices.remove(&k).is_some(),
            None => false,
        }
    }

    fn group_exists(&self, id: &str) -> bool {
        self.groups.contains_key(id)
    }

    /// Devices and subgroups naming group `id`.
    fn group_users(&self, id: &str) -> (usize, usize) {
        let devices = self
            .devices
            .values()
            .filter(|d| d.group.as_deref() == Some(id))
            .count();
        let groups = self
            .groups
            .values()
            .filter(|g| g.parent.as_deref() == Some(id))
            .count();
        (devices, groups)
    }

    fn check_group_of(&self, d: &Device) -> Result<(), Invalid> {
        d.check_group(|g| self.group_exists(g))
    }
}

impl crate::session::KnownDevices for Registry {
    fn is_registered(&self, id: &DeviceId) -> bool {
        self.contains(id)
    }
}

/// Filters of the device list (`GET /api/devices?group=&customer=&q=`).
#[derive(Clone, Debug, Default)]
pub struct DeviceQuery {
    /// The group or, for a top-level group, any of its subgroups.
    pub group: Option<String>,
    pub customer: Option<String>,
    /// Lower-case text searched in name, plate and id.
    pub q: Option<String>,
}

impl DeviceQuery {
    /// True when no filter is set.
    pub fn is_empty(&self) -> bool {
        self.group.is_none() && self.customer.is_none() && self.q.is_none()
    }
}

/// The registry: the file and its memory copy. Cheap to share (`Arc`).
pub struct Registry {
    path: PathBuf,
    conn: Mutex<Connection>,
    index: RwLock<Index>,
    version: Mutex<i64>,
    /// `devices.max_registered_per_customer`, checked by the API for customers' tokens.
    customer_quota: std::sync::atomic::AtomicUsize,
}

impl Registry {
    /// Opens (creating) `<dir>/registry.sqlite3` and loads it.
    pub fn open(dir: &Path) -> Result<Registry, RegistryError> {
        let path = dir.join(store::FILE_NAME);
        let err = |source| RegistryError::Sqlite {
            path: path.clone(),
            source,
        };
        let conn = store::open(&path).map_err(err)?;
        let (devices, groups) = store::load(&conn).map_err(err)?;
        let drivers = store::load_drivers(&conn).map_err(err)?;
        let version = store::data_version(&conn).map_err(err)?;
        Ok(Registry {
            path: path.clone(),
            conn: Mutex::new(conn),
            index: RwLock::new(Index::from_rows(devices, groups, drivers)),
            version: Mutex::new(version),
            customer_quota: std::sync::atomic::AtomicUsize::new(usize::MAX),
        })
    }

    fn sqlite(&self, source: rusqlite::Error) -> RegistryError {
        RegistryError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_index(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reloads the memory copy if another process committed since we last looked; whether
    /// it did. Callers hold the connection.
    fn refresh_locked(&self, c: &Connection) -> Result<bool, RegistryError> {
        let v = store::data_version(c).map_err(|e| self.sqlite(e))?;
        let mut seen = self.version.lock().unwrap_or_else(|e| e.into_inner());
        if *seen == v {
            return Ok(false);
        }
        let (devices, groups) = store::load(c).map_err(|e| self.sqlite(e))?;
        let drivers = store::load_drivers(c).map_err(|e| self.sqlite(e))?;
        *self.write_index() = Index::from_rows(devices, groups, drivers);
        *seen = v;
        Ok(true)
    }

    /// Picks up another process's changes now (see [`watch`]); whether there were any.
    pub fn refresh(&self) -> Result<bool, RegistryError> {
        let c = self.lock();
        self.refresh_locked(&c)
    }

    /// Runs `f` in one transaction over a fresh memory copy; `f` returns what to apply to
    /// the memory copy once the transaction committed.
    fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>, &Index) -> Result<(T, Vec<Change>), RegistryError>,
    ) -> Result<T, RegistryError> {
        let mut c = self.lock();
        self.refresh_locked(&c)?;
        let tx = c.transaction().map_err(|e| self.sqlite(e))?;
        let (out, changes) = {
            let ix = self.read();
            f(&tx, &ix)?
        };
        tx.commit().map_err(|e| self.sqlite(e))?;
        let mut ix = self.write_index();
        for ch in changes {
            match ch {
                Change::Device(d) => ix.insert(d),
                Change::DeviceGone(id) => {
                    ix.remove(&id);
                }
                Change::Group(g) => {
                    ix.groups.insert(g.id.clone(), g);
                }
                Change::GroupGone(id) => {
                    ix.groups.remove(&id);
                }
                Change::Driver(d) => ix.insert_driver(d),
                Change::DriverGone(id) => ix.remove_driver(&id),
            }
        }
        Ok(out)
    }

    /// Creates or replaces a device (its group must exist).
    pub fn put_device(&self, d: Device) -> Result<Written, RegistryError> {
        self.write(|tx, ix| {
            ix.check_group_of(&d)?;
            let w = match ix.get(&d.id) {
                Some(_) => Written::Replaced,
                None => Written::Created,
            };
            store::put_device(tx, canonical_str(&d.id), &d, now_ms())
                .map_err(|e| self.sqlite(e))?;
            Ok((w, vec![Change::Device(d)]))
        })
    }

    /// Applies `patch` to a registered device; the device as stored.
    pub fn patch_device(&self, id: &str, patch: DevicePatch) -> Result<Device, RegistryError> {
        self.write(|tx, ix| {
            let old = ix.get(id).ok_or_else(|| RegistryError::NotFound {
                what: "registered device",
                id: id.to_string(),
            })?;
            let d = old.patched(patch)?;
            ix.check_group_of(&d)?;
            store::put_device(tx, canonical_str(&d.id), &d, now_ms())
                .map_err(|e| self.sqlite(e))?;
            Ok((d.clone(), vec![Change::Device(d)]))
        })
    }

    /// Forgets a device; whether it was registered.
    pub fn delete_device(&self, id: &str) -> Result<bool, RegistryError> {
        self.write(|tx, _| {
            let gone = store::delete_device(tx, canonical_str(id)).map_err(|e| self.sqlite(e))?;
            Ok((gone, vec![Change::DeviceGone(id.to_string())]))
        })
    }

    /// Creates or replaces many devices in one transaction: all or nothing. Each comes with
    /// the line it was read from, named in the error of a device whose group is missing.
    /// Importing the same rows again changes nothing (all `unchanged`).
    pub fn import(&self, rows: Vec<(usize, Device)>) -> Result<Imported, RegistryError> {
        self.write(|tx, ix| {
            let mut n = Imported::default();
            let mut changes = Vec::with_capacity(rows.len());
            for (line, d) in rows {
                ix.check_group_of(&d)
                    .map_err(|source| RegistryError::Line { line, source })?;
                match ix.get(&d.id) {
                    Some(old) if *old == d => {
                        n.unchanged += 1;
                        continue;
                    }
                    Some(_) => n.replaced += 1,
                    None => n.created += 1,
                }
                store::put_device(tx, canonical_str(&d.id), &d, now_ms())
                    .map_err(|e| self.sqlite(e))?;
                changes.push(Change::Device(d));
            }
            Ok((n, changes))
        })
    }

    /// Creates or replaces a group (one-level nesting checked against the stored groups).
    pub fn put_group(&self, g: Group) -> Result<Written, RegistryError> {
        self.write(|tx, ix| {
            g.check_nesting(
                |p| ix.groups.get(p).map(|pg| pg.parent.clone()),
                |id| ix.groups.values().any(|x| x.parent.as_deref() == Some(id)),
            )?;
            let w = if ix.group_exists(&g.id) {
                Written::Replaced
            } else {
                Written::Created
            };
            store::put_group(tx, &g).map_err(|e| self.sqlite(e))?;
            Ok((w, vec![Change::Group(g)]))
        })
    }

    /// Deletes a group no device and no subgroup names.
    pub fn delete_group(&self, id: &str) -> Result<(), RegistryError> {
        self.write(|tx, ix| {
            if !ix.group_exists(id) {
                return Err(RegistryError::NotFound {
                    what: "group",
                    id: id.to_string(),
                });
            }
            let (devices, groups) = ix.group_users(id);
            if devices + groups > 0 {
                return Err(RegistryError::InUse {
                    id: id.to_string(),
                    devices,
                    groups,
                });
            }
            store::delete_group(tx, id).map_err(|e| self.sqlite(e))?;
            Ok(((), vec![Change::GroupGone(id.to_string())]))
        })
    }

    /// A registered device by id or its canonical form.
    pub fn device(&self, id: &str) -> Option<Device> {
        self.read().get(id).cloned()
    }

    /// Whether `id` is registered (admission with `devices.allow = "registered"`).
    pub fn contains(&self, id: &DeviceId) -> bool {
        self.read().canonical.contains_key(id.canonical())
    }

    /// The name of a device, where one is set.
    pub fn name_of(&self, id: &str) -> Option<String> {
        self.read().get(id).and_then(|d| d.name.clone())
    }

    /// Registered devices matching `q` (and `keep`), in id order.
    pub fn devices(&self, q: &DeviceQuery, keep: impl Fn(&Device) -> bool) -> Vec<Device> {
        let ix = self.read();
        ix.devices
            .values()
            .filter(|d| matches(&ix, d, q) && keep(d))
            .cloned()
            .collect()
    }

    /// Up to `limit` registered devices with an id after `after`, in id order (the
    /// unfiltered device list merges these with live devices).
    pub fn page(&self, after: Option<&str>, limit: usize) -> Vec<Device> {
        use std::ops::Bound;
        let ix = self.read();
        let start = after.map_or(Bound::Unbounded, |a| Bound::Excluded(a.to_string()));
        ix.devices
            .range::<String, _>((start, Bound::Unbounded))
            .take(limit)
            .map(|(_, d)| d.clone())
            .collect()
    }

    /// Every group, in id order.
    pub fn groups(&self) -> Vec<Group> {
        self.read().groups.values().cloned().collect()
    }

    /// One group.
    pub fn group(&self, id: &str) -> Option<Group> {
        self.read().groups.get(id).cloned()
    }

    /// Creates or replaces a driver; its key may belong to no other driver.
    pub fn put_driver(&self, d: Driver) -> Result<Written, RegistryError> {
        self.write(|tx, ix| {
            if let Some(other) = ix.driver_keys.get(&model::key_form(&d.key)) {
                if *other != d.id {
                    return Err(RegistryError::KeyTaken {
                        key: d.key.clone(),
                        driver: other.clone(),
                    });
                }
            }
            let w = if ix.drivers.contains_key(&d.id) {
                Written::Replaced
            } else {
                Written::Created
            };
            store::put_driver(tx, &d).map_err(|e| self.sqlite(e))?;
            Ok((w, vec![Change::Driver(d)]))
        })
    }

    /// Deletes a driver.
    pub fn delete_driver(&self, id: &str) -> Result<(), RegistryError> {
        self.write(|tx, _| {
            if !store::delete_driver(tx, id).map_err(|e| self.sqlite(e))? {
                return Err(RegistryError::NotFound {
                    what: "driver",
                    id: id.to_string(),
                });
            }
            Ok(((), vec![Change::DriverGone(id.to_string())]))
        })
    }

    /// Every driver, in id order.
    pub fn drivers(&self) -> Vec<Driver> {
        self.read().drivers.values().cloned().collect()
    }

    /// One driver.
    pub fn driver(&self, id: &str) -> Option<Driver> {
        self.read().drivers.get(id).cloned()
    }

    /// The driver whose key a tracker reported (case ignored).
    pub fn driver_by_key(&self, key: &str) -> Option<Driver> {
        let ix = self.read();
        ix.driver_keys
            .get(&model::key_form(key))
            .and_then(|id| ix.drivers.get(id))
            .cloned()
    }

    /// Sets how many devices one customer's token may register.
    pub fn set_customer_quota(&self, n: usize) {
        self.customer_quota
            .store(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many devices one customer's token may register.
    pub fn customer_quota(&self) -> usize {
        self.customer_quota
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Devices registered to `customer`.
    pub fn count_of(&self, customer: &str) -> usize {
        self.read()
            .devices
            .values()
            .filter(|d| d.customer.as_deref() == Some(customer))
            .count()
    }

    /// Number of registered devices.
    pub fn len(&self) -> usize {
        self.read().devices.len()
    }

    /// True when no device is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether `d` passes the query's filters.
fn matches(ix: &Index, d: &Device, q: &DeviceQuery) -> bool {
    if let Some(c) = &q.customer {
        if d.customer.as_ref() != Some(c) {
            return false;
        }
    }
    if let Some(g) = &q.group {
        let in_group = d.group.as_ref().is_some_and(|dg| {
            dg == g
                || ix
                    .groups
                    .get(dg)
                    .is_some_and(|x| x.parent.as_ref() == Some(g))
        });
        if !in_group {
            return false;
        }
    }
    q.q.as_deref().is_none_or(|needle| d.matches(needle))
}

/// A change to apply to the memory copy after a commit.
enum Change {
    Device(Device),
    DeviceGone(String),
    Group(Group),
    GroupGone(String),
    Driver(Driver),
    DriverGone(String),
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// How often a running server looks for another process's changes.
pub const WATCH_EVERY: Duration = Duration::from_secs(1);

/// Picks up changes another process made (`trackgate devices import`) every `every`, until
/// `stop`.
pub async fn watch(reg: Arc<Registry>, every: Duration, stop: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let r = reg.clone();
        match tokio::task::spawn_blocking(move || r.refresh()).await {
            Ok(Ok(true)) => tracing::info!(
                devices = reg.len(),
                "device registry reloaded (changed by another process)"
            ),
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "device registry: cannot check for changes"),
            Err(e) => tracing::warn!(error = %e, "device registry: check task failed"),
        }
    }
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
