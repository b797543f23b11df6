//! Live state: the latest position of every device, its connection and last-seen time.
//!
//! Fed by the pipeline (durable positions, in log order) and by sessions (connect,
//! disconnect, every frame). The current position only moves forward in fix time: a backlog
//! upload is stored downstream but never makes a vehicle jump back on the map.

use crate::model::{device_id::canonical_str, DeviceId, Position, PositionView, Record};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;
use std::time::Duration;

/// What the gateway knows about one device now.
#[derive(Clone, Debug)]
pub struct DeviceState {
    pub id: DeviceId,
    pub protocol: Cow<'static, str>,
    /// Latest position by fix time.
    pub position: Option<Position>,
    /// Last time anything was received from the device.
    pub last_seen: DateTime<Utc>,
    /// Open connections identified as this device.
    pub connections: u32,
    /// Times a second connection claimed the device while it was online (replaced or
    /// refused, per `devices.takeover`).
    pub takeovers: u64,
}

/// `GET /api/devices/{id}` (the external contract): the device's latest fix in the one
/// position shape ([`PositionView`]: `id, protocol, time, lat, lon, speed, course,
/// altitude, valid, …`) plus `online` and `last_seen`. Before the first fix the contract's
/// fix fields are `null`.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceView {
    pub id: String,
    pub protocol: String,
    /// The current position, if any.
    pub position: Option<Position>,
    pub online: bool,
    pub last_seen: DateTime<Utc>,
    /// Open connections identified as this device.
    pub connections: u32,
    /// Takeovers since the device became known (see [`DeviceState::takeovers`]).
    pub takeovers: u64,
}

impl Serialize for DeviceView {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        /// The contract's fix fields, all `null`, before the first fix.
        #[derive(Serialize)]
        struct NoFix<'a> {
            id: &'a str,
            protocol: &'a str,
            time: Option<()>,
            lat: Option<()>,
            lon: Option<()>,
            speed: Option<()>,
            course: Option<()>,
            altitude: Option<()>,
            valid: Option<()>,
        }
        #[derive(Serialize)]
        #[serde(untagged)]
        enum Fix<'a> {
            Known(PositionView<'a>),
            Unknown(NoFix<'a>),
        }
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(flatten)]
            fix: Fix<'a>,
            online: bool,
            last_seen: DateTime<Utc>,
            connections: u32,
            takeovers: u64,
        }
        let fix = match &self.position {
            // The device's protocol is the registry entry it is served under (`owntracks` for
            // every MQTT device), which a record may name more precisely (`mqtt`).
            Some(p) => Fix::Known(PositionView {
                id: &self.id,
                protocol: &self.protocol,
                ..p.view()
            }),
            None => Fix::Unknown(NoFix {
                id: &self.id,
                protocol: &self.protocol,
                time: None,
                lat: None,
                lon: None,
                speed: None,
                course: None,
                altitude: None,
                valid: None,
            }),
        };
        Out {
            fix,
            online: self.online,
            last_seen: self.last_seen,
            connections: self.connections,
            takeovers: self.takeovers,
        }
        .serialize(s)
    }
}

#[derive(Default)]
struct Inner {
    devices: HashMap<DeviceId, DeviceState>,
    /// Canonical id (zero padding stripped) → id, so `/api/devices/12076463279` finds the
    /// JT/T 808 terminal `012076463279`.
    canonical: HashMap<String, DeviceId>,
    /// Every id in order: the paging index of `/api/devices` (the hot path keeps the hash
    /// map; a page is a range of this set).
    order: BTreeSet<DeviceId>,
}

/// Latest state of every device seen since start.
pub struct LiveState {
    inner: RwLock<Inner>,
    offline_after: Duration,
}

impl LiveState {
    /// Empty state; a device with no connection and no traffic for `offline_after` is offline.
    pub fn new(offline_after: Duration) -> Self {
        LiveState {
            inner: RwLock::new(Inner::default()),
            offline_after,
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn entry<'a>(
        inner: &'a mut Inner,
        id: &DeviceId,
        protocol: Cow<'static, str>,
        now: DateTime<Utc>,
    ) -> &'a mut DeviceState {
        if !inner.devices.contains_key(id) {
            inner
                .canonical
                .insert(id.canonical().to_string(), id.clone());
            inner.order.insert(id.clone());
        }
        inner
            .devices
            .entry(id.clone())
            .or_insert_with(|| DeviceState {
                id: id.clone(),
                protocol,
                position: None,
                last_seen: now,
                connections: 0,
                takeovers: 0,
            })
    }

    /// Something was received from `id` at `now`.
    pub fn touch(&self, id: &DeviceId, protocol: &'static str, now: DateTime<Utc>) {
        let mut g = self.write();
        let d = Self::entry(&mut g, id, Cow::Borrowed(protocol), now);
        if now > d.last_seen {
            d.last_seen = now;
        }
        d.protocol = Cow::Borrowed(protocol);
    }

    /// A connection identified as `id`.
    pub fn connected(&self, id: &DeviceId, protocol: &'static str, now: DateTime<Utc>) {
        let mut g = self.write();
        let d = Self::entry(&mut g, id, Cow::Borrowed(protocol), now);
        d.connections += 1;
        if now > d.last_seen {
            d.last_seen = now;
        }
    }

    /// A second connection claimed `id` while it was online (see `session::presence`).
    pub fn took_over(&self, id: &DeviceId, protocol: &'static str, now: DateTime<Utc>) {
        let mut g = self.write();
        Self::entry(&mut g, id, Cow::Borrowed(protocol), now).takeovers += 1;
    }

    /// A connection identified as `id` closed.
    pub fn disconnected(&self, id: &DeviceId) {
        let mut g = self.write();
        if let Some(d) = g.devices.get_mut(id) {
            d.connections = d.connections.saturating_sub(1);
        }
    }

    /// Applies one durable position: becomes current only if not older than the current fix,
    /// and not an invalid fix at 0,0 (a receiver with no fix yet).
    pub fn apply_position(&self, p: &Position) {
        let mut g = self.write();
        let d = Self::entry(&mut g, &p.device, p.protocol.clone(), p.received);
        if p.received > d.last_seen {
            d.last_seen = p.received;
        }
        if !p.valid && p.lat == 0.0 && p.lon == 0.0 {
            return;
        }
        let newer = d
            .position
            .as_ref()
            .is_none_or(|cur| p.fix_time >= cur.fix_time);
        if newer {
            d.position = Some(p.clone());
        }
    }

    /// A device's state, by exact id or by its canonical (zero-padding-free) form.
    pub fn get(&self, id: &str) -> Option<DeviceState> {
        let g = self.read();
        if let Ok(did) = DeviceId::new(id) {
            if let Some(d) = g.devices.get(&did) {
                return Some(d.clone());
            }
        }
        let key = g.canonical.get(canonical_str(id))?;
        g.devices.get(key).cloned()
    }

    /// The API view of a device at `now`.
    pub fn view(&self, id: &str, now: DateTime<Utc>) -> Option<DeviceView> {
        self.get(id).map(|d| self.to_view(&d, now))
    }

    /// Up to `limit` devices after id `after` (exclusive), sorted by id, and whether more
    /// follow (the paging of `/api/devices`).
    pub fn page(
        &self,
        now: DateTime<Utc>,
        after: Option<&str>,
        limit: usize,
    ) -> (Vec<DeviceView>, bool) {
        use std::ops::Bound;
        let g = self.read();
        let start = match after.map(DeviceId::new) {
            Some(Ok(id)) => Bound::Excluded(id),
            // Not a valid id: compare as text (every id sorts by its text).
            Some(Err(_)) | None => Bound::Unbounded,
        };
        let after_text = after.unwrap_or("");
        let mut it = g
            .order
            .range((start, Bound::Unbounded))
            .filter(|id| id.as_str() > after_text)
            .filter_map(|id| g.devices.get(id));
        let out: Vec<DeviceView> = it
            .by_ref()
            .take(limit)
            .map(|d| self.to_view(d, now))
            .collect();
        let more = it.next().is_some();
        (out, more)
    }

    /// Every device, sorted by id.
    pub fn list(&self, now: DateTime<Utc>) -> Vec<DeviceView> {
        self.page(now, None, usize::MAX).0
    }

    /// Forgets devices with no open connection and nothing received for `forget_after`
    /// (their history stays in the log and InfluxDB); returns how many.
    pub fn evict(&self, now: DateTime<Utc>, forget_after: Duration) -> usize {
        let mut g = self.write();
        let stale: Vec<DeviceId> = g
            .devices
            .values()
            .filter(|d| {
                d.connections == 0
                    && (now - d.last_seen)
                        .to_std()
                        .is_ok_and(|age| age > forget_after)
            })
            .map(|d| d.id.clone())
            .collect();
        for id in &stale {
            g.devices.remove(id);
            g.order.remove(id);
            if g.canonical.get(id.canonical()) == Some(id) {
                g.canonical.remove(id.canonical());
            }
        }
        stale.len()
    }

    /// Forgets one device now (`DELETE /api/devices/{id}`), by exact or canonical id;
    /// whether it was known. A device still connected comes back with its next frame.
    pub fn forget(&self, id: &str) -> bool {
        let mut g = self.write();
        let key = match DeviceId::new(id).ok().filter(|d| g.devices.contains_key(d)) {
            Some(d) => d,
            None => match g.canonical.get(canonical_str(id)) {
                Some(d) => d.clone(),
                None => return false,
            },
        };
        g.devices.remove(&key);
        g.order.remove(&key);
        if g.canonical.get(key.canonical()) == Some(&key) {
            g.canonical.remove(key.canonical());
        }
        true
    }

    /// Ids of the devices for which `keep` holds, sorted (a search of `/api/devices`).
    pub fn ids_where(&self, keep: impl Fn(&str) -> bool) -> Vec<String> {
        self.read()
            .order
            .iter()
            .filter(|id| keep(id.as_str()))
            .map(|id| id.as_str().to_string())
            .collect()
    }

    /// Number of devices known.
    pub fn len(&self) -> usize {
        self.read().devices.len()
    }

    /// True when no device is known yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn to_view(&self, d: &DeviceState, now: DateTime<Utc>) -> DeviceView {
        let recent = (now - d.last_seen)
            .to_std()
            .map(|age| age <= self.offline_after)
            .unwrap_or(true);
        DeviceView {
            id: d.id.to_string(),
            protocol: d.protocol.to_string(),
            position: d.position.clone(),
            online: d.connections > 0 || recent,
            last_seen: d.last_seen,
            connections: d.connections,
            takeovers: d.takeovers,
        }
    }
}

impl LiveState {
    /// Applies a batch of durable records in log order (positions; the rest is not live
    /// state).
    pub fn apply(&self, records: &[Record]) {
        for r in records {
            if let Record::Position(p) = r {
                self.apply_position(p);
            }
        }
    }
}

/// How often live state is swept for devices to forget.
const EVICT_EVERY: Duration = Duration::from_secs(3600);

/// Forgets stale devices every hour (and at start) until shutdown.
pub async fn run_eviction(
    live: std::sync::Arc<LiveState>,
    forget_after: Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        let n = live.evict(Utc::now(), forget_after);
        if n > 0 {
            tracing::info!(
                devices = n,
                ?forget_after,
                "live state forgot devices not seen"
            );
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(EVICT_EVERY.min(forget_after)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn pos(id: &str, secs: i64, lat: f64) -> Position {
        let t = Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap();
        Position::new(DeviceId::new(id).unwrap(), "gt06", t, t, lat, 10.0, true)
    }

    #[test]
    fn backlog_never_moves_current_backwards() {
        let s = LiveState::new(Duration::from_secs(600));
        s.apply_position(&pos("1", 100, 50.0));
        s.apply_position(&pos("1", 50, 40.0));
        assert_eq!(s.get("1").unwrap().position.unwrap().lat, 50.0);
        s.apply_position(&pos("1", 150, 51.0));
        assert_eq!(s.get("1").unwrap().position.unwrap().lat, 51.0);
    }

    #[test]
    fn lookup_by_canonical_id() {
        let s = LiveState::new(Duration::from_secs(600));
        s.apply_position(&pos("012076463279", 1, 1.0));
        assert!(s.get("12076463279").is_some());
        assert!(s.get("012076463279").is_some());
        assert!(s.get("999").is_none());
    }

    #[test]
    fn pages_follow_id_order_and_say_whether_more_follow() {
        let s = LiveState::new(Duration::from_secs(600));
        for id in ["5", "1", "3", "2", "4"] {
            s.apply_position(&pos(id, 1, 1.0));
        }
        let now = Utc::now();
        let ids = |v: &[DeviceView]| v.iter().map(|d| d.id.clone()).collect::<Vec<_>>();
        let (p1, more) = s.page(now, None, 2);
        assert_eq!((ids(&p1), more), (vec!["1".to_string(), "2".into()], true));
        let (p2, more) = s.page(now, Some("2"), 2);
        assert_eq!((ids(&p2), more), (vec!["3".to_string(), "4".into()], true));
        let (p3, more) = s.page(now, Some("4"), 2);
        assert_eq!((ids(&p3), more), (vec!["5".to_string()], false));
        assert!(s.page(now, Some("5"), 2).0.is_empty());
        assert_eq!(s.list(now).len(), 5);
    }

    #[test]
    fn eviction_forgets_only_disconnected_devices_past_the_threshold() {
        let s = LiveState::new(Duration::from_secs(60));
        let old = pos("012076463279", 0, 1.0);
        let fresh = pos("2", 3000, 1.0);
        let held = pos("3", 0, 1.0);
        for p in [&old, &fresh, &held] {
            s.apply_position(p);
        }
        s.connected(&held.device, "gt06", held.received);
        let now = old.received + chrono::Duration::seconds(3600);
        assert_eq!(s.evict(now, Duration::from_secs(1800)), 1);
        assert!(s.get("012076463279").is_none());
        assert!(
            s.get("12076463279").is_none(),
            "canonical index cleaned too"
        );
        assert!(s.get("2").is_some() && s.get("3").is_some());
        assert_eq!(s.list(now).len(), 2);
    }

    #[test]
    fn forget_drops_one_device_by_either_id_form() {
        let s = LiveState::new(Duration::from_secs(60));
        s.apply_position(&pos("012076463279", 0, 1.0));
        s.apply_position(&pos("2", 0, 1.0));
        assert!(s.forget("12076463279"));
        assert!(!s.forget("12076463279"), "already gone");
        assert!(s.get("012076463279").is_none());
        assert_eq!(s.ids_where(|_| true), ["2"]);
        assert!(s.forget("2") && s.is_empty());
    }

    #[test]
    fn device_view_serializes_the_one_position_shape_or_nulls() {
        let s = LiveState::new(Duration::from_secs(60));
        let p = pos("7", 0, 1.5);
        s.connected(&p.device, "gt06", p.received);
        let v = serde_json::to_value(s.view("7", p.received).unwrap()).unwrap();
        assert_eq!(v["lat"], serde_json::Value::Null);
        assert_eq!(v["time"], serde_json::Value::Null);
        assert_eq!(v["online"], true);
        s.apply_position(&p);
        let v = serde_json::to_value(s.view("7", p.received).unwrap()).unwrap();
        assert_eq!(v["id"], "7");
        assert_eq!(v["lat"], 1.5);
        assert_eq!(v["speed"], 0.0);
        assert_eq!(v["time"], "2023-11-14T22:13:20Z");
        assert_eq!(v["connections"], 1);
        assert_eq!(v["takeovers"], 0);
        s.took_over(&p.device, "gt06", p.received);
        let v = serde_json::to_value(s.view("7", p.received).unwrap()).unwrap();
        assert_eq!(v["takeovers"], 1);
    }

    #[test]
    fn online_follows_connections_and_last_seen() {
        let s = LiveState::new(Duration::from_secs(60));
        let p = pos("7", 0, 1.0);
        s.apply_position(&p);
        let later = p.received + chrono::Duration::seconds(120);
        assert!(!s.view("7", later).unwrap().online);
        s.connected(&p.device, "gt06", p.received);
        assert!(s.view("7", later).unwrap().online);
        s.disconnected(&p.device);
        assert!(!s.view("7", later).unwrap().online);
    }
}
