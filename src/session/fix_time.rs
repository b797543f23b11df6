//! Fix times the gateway will not believe: more than `devices.max_future_secs` ahead of the
//! receive time, or before 2000.
//!
//! Live state and tracking move forward in fix time only (a backlog upload must never make a
//! vehicle jump back), so one fix dated 2100 — a GPS week-number rollover, a phone with a
//! wrong clock, or someone who wants a vehicle to stop updating — would freeze the vehicle
//! and its shipment for good. Such fixes are dropped before they reach the log: counted in
//! `trackgate_fixes_rejected_total{reason}`, logged once per device, and answered with the
//! protocol's refusal where it has one (see `ingest::frame_handler`).

use super::log_once::LogOnce;
use crate::model::{DeviceId, Record};
use crate::telemetry::{Metrics, ProtoReasonLabel};
use chrono::{DateTime, TimeZone, Utc};
use std::sync::Arc;
use std::time::Duration;

/// Why a fix time was not believed (the `reason` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadTime {
    /// More than `devices.max_future_secs` after the receive time.
    Future,
    /// Before 2000-01-01T00:00:00Z.
    Before2000,
}

impl BadTime {
    /// The metric label and log word.
    pub fn as_str(self) -> &'static str {
        match self {
            BadTime::Future => "future",
            BadTime::Before2000 => "before_2000",
        }
    }
}

/// The fix-time check, with its log-once memory.
pub struct FixTimes {
    max_future: chrono::Duration,
    logged: LogOnce,
    metrics: Arc<Metrics>,
}

/// What [`FixTimes::filter`] removed from a frame.
#[derive(Debug, PartialEq, Eq)]
pub struct Dropped {
    /// How many positions.
    pub count: usize,
    /// What the first of them said, for the answer's text.
    pub first: String,
}

impl FixTimes {
    /// Fixes more than `max_future` ahead of their receive time are not believed.
    pub fn new(max_future: Duration, metrics: Arc<Metrics>) -> Self {
        FixTimes {
            max_future: chrono::Duration::from_std(max_future).unwrap_or(chrono::Duration::MAX),
            logged: LogOnce::default(),
            metrics,
        }
    }

    /// Whether a fix at `fix` received at `now` is believable.
    pub fn check(&self, fix: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), BadTime> {
        if fix < epoch_2000() {
            return Err(BadTime::Before2000);
        }
        match now.checked_add_signed(self.max_future) {
            Some(limit) if fix > limit => Err(BadTime::Future),
            _ => Ok(()),
        }
    }

    /// Removes the positions of `records` whose fix time is not believable; counts each, logs
    /// the first per device. `None` when nothing was removed.
    pub fn filter(
        &self,
        protocol: &'static str,
        records: &mut Vec<Record>,
        now: DateTime<Utc>,
    ) -> Option<Dropped> {
        let mut dropped: Option<Dropped> = None;
        records.retain(|r| {
            let Record::Position(p) = r else {
                return true;
            };
            let Err(why) = self.check(p.fix_time, now) else {
                return true;
            };
            self.reject(protocol, &p.device, p.fix_time, now, why);
            let d = dropped.get_or_insert_with(|| Dropped {
                count: 0,
                first: format!(
                    "fix time {} {}",
                    p.fix_time.to_rfc3339(),
                    match why {
                        BadTime::Future => format!(
                            "is more than {} s ahead of the receive time (devices.max_future_secs)",
                            self.max_future.num_seconds()
                        ),
                        BadTime::Before2000 => "is before 2000".to_string(),
                    }
                ),
            });
            d.count += 1;
            false
        });
        dropped
    }

    fn reject(
        &self,
        protocol: &'static str,
        device: &DeviceId,
        fix: DateTime<Utc>,
        now: DateTime<Utc>,
        why: BadTime,
    ) {
        self.metrics
            .ingest
            .fixes_rejected
            .get_or_create(&ProtoReasonLabel {
                protocol,
                reason: why.as_str(),
            })
            .inc();
        if self.logged.first(device) {
            tracing::warn!(
                protocol,
                device = %device,
                fix_time = %fix.to_rfc3339(),
                received = %now.to_rfc3339(),
                reason = why.as_str(),
                "fix dropped: its time is not believable (logged once per device)"
            );
        }
    }
}

/// 2000-01-01T00:00:00Z.
fn epoch_2000() -> DateTime<Utc> {
    Utc.timestamp_opt(946_684_800, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DeviceEvent, EventKind, Position};

    fn pos(fix: DateTime<Utc>, now: DateTime<Utc>) -> Record {
        Record::Position(Position::new(
            DeviceId::new("7").unwrap(),
            "osmand",
            fix,
            now,
            1.0,
            2.0,
            true,
        ))
    }

    #[test]
    fn future_and_pre_2000_fixes_are_removed_and_counted() {
        let m = Arc::new(Metrics::new());
        let f = FixTimes::new(Duration::from_secs(300), m.clone());
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let mut rs = vec![
            pos(now, now),
            pos(now + chrono::Duration::seconds(300), now),
            pos(now + chrono::Duration::seconds(301), now),
            pos(t("2100-01-01T00:00:00Z"), now),
            pos(t("1999-12-31T23:59:59Z"), now),
            pos(t("2000-01-01T00:00:00Z"), now),
            Record::Event(DeviceEvent::new(
                DeviceId::new("7").unwrap(),
                "osmand",
                t("2100-01-01T00:00:00Z"),
                EventKind::Info { name: "x".into() },
            )),
        ];
        let d = f.filter("osmand", &mut rs, now).unwrap();
        assert_eq!(d.count, 3);
        assert!(
            d.first.contains("2026-12-01T12:05:01") && d.first.contains("300 s"),
            "{}",
            d.first
        );
        assert_eq!(
            rs.len(),
            4,
            "the on-time fixes, the 2000 one and the event stay"
        );
        let text = m.encode();
        assert!(
            text.contains(
                "trackgate_fixes_rejected_total{protocol=\"osmand\",reason=\"future\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "trackgate_fixes_rejected_total{protocol=\"osmand\",reason=\"before_2000\"} 1"
            ),
            "{text}"
        );
        assert_eq!(f.filter("osmand", &mut rs, now), None);
    }
}
