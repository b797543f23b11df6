//! `device_online` / `device_offline`: a device goes offline when it has no open connection
//! and sent nothing for `[devices] offline_after_secs`, and online again with its next
//! traffic. Unlike the other fleet events this needs a clock, not fixes (silence produces no
//! record), so a watcher compares live state with what it saw last, every few seconds, and
//! appends the transitions to the log like any alert.
//!
//! The first look after start only takes note (a restart must not announce every device
//! anew); ids are made from the device and the transition's time (the last traffic for
//! online, last traffic + `offline_after` for offline), so the same transition seen twice is
//! the same event and the outputs drop the copy.

use crate::model::{Alert, AlertState, DeviceId, Record};
use crate::pipeline::{AckMode, Pipeline};
use crate::state::{DeviceView, LiveState};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often live state is compared.
pub const PRESENCE_TICK: Duration = Duration::from_secs(5);

/// What the watcher saw last, per device: online or not, and the last traffic.
#[derive(Default)]
pub struct Presence {
    seen: Option<HashMap<String, (bool, DateTime<Utc>)>>,
}

impl Presence {
    /// The transitions since the last look (none on the first). A device that was offline
    /// and sent something since counts as having come online, even when it is offline
    /// again by now (a short visit between two looks gives both events). Devices no longer
    /// in live state (forgotten) are dropped silently.
    pub fn step(&mut self, views: &[DeviceView], offline_after: Duration) -> Vec<Alert> {
        let now = views
            .iter()
            .map(|v| (v.id.clone(), (v.online, v.last_seen)))
            .collect();
        let Some(before) = self.seen.replace(now) else {
            return Vec::new();
        };
        let after = chrono::Duration::from_std(offline_after).unwrap_or_default();
        let mut out = Vec::new();
        for v in views {
            let Ok(device) = DeviceId::new(&v.id) else {
                continue;
            };
            let (was_online, last) = before
                .get(&v.id)
                .copied()
                .unwrap_or((false, DateTime::<Utc>::MIN_UTC));
            let came = !was_online && (v.online || v.last_seen > last);
            if came {
                out.push(alert(device.clone(), "device_online", v.last_seen, v));
            }
            if (was_online || came) && !v.online {
                out.push(alert(device, "device_offline", v.last_seen + after, v));
            }
        }
        out
    }
}

fn alert(device: DeviceId, kind: &'static str, time: DateTime<Utc>, v: &DeviceView) -> Alert {
    let (lat, lon) = v
        .position
        .as_ref()
        .map_or((None, None), |p| (Some(p.lat), Some(p.lon)));
    let word = if kind == "device_online" {
        "online"
    } else {
        "offline"
    };
    Alert {
        id: format!("{device}/fleet/{kind}/info/-/{}", time.timestamp_millis()),
        kind: kind.into(),
        state: AlertState::Info,
        tier: None,
        time,
        device: device.clone(),
        shipment: None,
        stop: None,
        alarm: None,
        lat,
        lon,
        value: None,
        message: format!("device {device} is {word} ({})", v.protocol),
        customer: None,
        geofence: None,
    }
}

/// Compares live state every [`PRESENCE_TICK`] and appends the transitions until shutdown.
pub async fn watch(
    live: Arc<LiveState>,
    offline_after: Duration,
    pipeline: Pipeline,
    shutdown: CancellationToken,
) {
    let mut presence = Presence::default();
    let mut tick = tokio::time::interval(PRESENCE_TICK);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let events = presence.step(&live.list(Utc::now()), offline_after);
        if events.is_empty() {
            continue;
        }
        let records = events.into_iter().map(Record::Alert).collect();
        if let Err(e) = pipeline.submit(records, AckMode::Durable).await {
            tracing::warn!(error = %e, "device online/offline events not stored");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn view(id: &str, online: bool, last_seen_s: i64) -> DeviceView {
        DeviceView {
            id: id.into(),
            protocol: "gt06".into(),
            position: None,
            online,
            last_seen: Utc.timestamp_opt(1_800_000_000 + last_seen_s, 0).unwrap(),
            connections: 0,
            takeovers: 0,
        }
    }

    #[test]
    fn the_first_look_is_quiet_then_transitions_are_events_once() {
        let mut p = Presence::default();
        let ten = Duration::from_secs(600);
        assert!(p
            .step(&[view("1", true, 0), view("2", false, 0)], ten)
            .is_empty());
        assert!(p
            .step(&[view("1", true, 5), view("2", false, 0)], ten)
            .is_empty());
        let got = p.step(
            &[
                view("1", false, 5),
                view("2", true, 700),
                view("3", true, 9),
            ],
            ten,
        );
        let kinds: Vec<_> = got
            .iter()
            .map(|a| (a.device.as_str().to_string(), a.kind.clone()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("1".to_string(), "device_offline".to_string()),
                ("2".to_string(), "device_online".to_string()),
                ("3".to_string(), "device_online".to_string()),
            ]
        );
        // Offline is dated when the silence passed offline_after; online at the traffic.
        assert_eq!(got[0].time.timestamp(), 1_800_000_000 + 5 + 600);
        assert_eq!(got[1].time.timestamp(), 1_800_000_000 + 700);
        assert!(p
            .step(&[view("1", false, 5), view("2", true, 700)], ten)
            .is_empty());
        // A visit between two looks: online and offline.
        let visit = p.step(&[view("1", false, 900), view("2", true, 700)], ten);
        let kinds: Vec<_> = visit.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(kinds, ["device_online", "device_offline"]);
        // The same transition gives the same id.
        let mut q = Presence::default();
        q.step(&[view("1", true, 0)], ten);
        let again = q.step(&[view("1", false, 5)], ten);
        assert_eq!(again[0].id, got[0].id);
    }
}
