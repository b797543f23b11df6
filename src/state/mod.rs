//! Live state: the latest position of every device, its connection and last-seen time.
//!
//! Fed by the pipeline (durable positions, in log order) and by sessions (connect,
//! disconnect, every frame). The current position only moves forward in fix time: a backlog
//! upload is stored downstream but never makes a vehicle jump back on the map.

use crate::model::{device_id::canonical_str, DeviceId, Position, Record};
use crate::pipeline::Consumer;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::HashMap;
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
}

/// The JSON shape of `GET /api/devices/{id}` (the external contract).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DeviceView {
    pub id: String,
    pub protocol: String,
    /// Fix time of the current position (RFC 3339 UTC), null before the first fix.
    pub time: Option<DateTime<Utc>>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// km/h
    pub speed: Option<f64>,
    pub course: Option<f64>,
    /// metres
    pub altitude: Option<f64>,
    pub valid: Option<bool>,
    pub online: bool,
    pub last_seen: DateTime<Utc>,
}

#[derive(Default)]
struct Inner {
    devices: HashMap<DeviceId, DeviceState>,
    /// Canonical id (zero padding stripped) → id, so `/api/devices/12076463279` finds the
    /// JT/T 808 terminal `012076463279`.
    canonical: HashMap<String, DeviceId>,
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

    /// Every device, sorted by id.
    pub fn list(&self, now: DateTime<Utc>) -> Vec<DeviceView> {
        let g = self.read();
        let mut v: Vec<_> = g.devices.values().map(|d| self.to_view(d, now)).collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
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
        let p = d.position.as_ref();
        DeviceView {
            id: d.id.to_string(),
            protocol: d.protocol.to_string(),
            time: p.map(|p| p.fix_time),
            lat: p.map(|p| p.lat),
            lon: p.map(|p| p.lon),
            speed: p.map(|p| p.speed_kmh),
            course: p.map(|p| p.course),
            altitude: p.map(|p| p.altitude_m),
            valid: p.map(|p| p.valid),
            online: d.connections > 0 || recent,
            last_seen: d.last_seen,
        }
    }
}

impl Consumer for LiveState {
    fn apply(&self, records: &[Record]) {
        for r in records {
            if let Record::Position(p) = r {
                self.apply_position(p);
            }
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
