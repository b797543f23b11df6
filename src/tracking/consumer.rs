//! Tracking as a consumer of the write-ahead log, and its no-signal timer.

use super::handle::TrackingHandle;
use crate::model::Record;
use crate::pipeline::runner::{LogConsumer, Stopped};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Name of tracking's persisted log offset.
pub const CONSUMER_NAME: &str = "tracking";

/// Feeds durable records to the tracking engine, in log order.
pub struct TrackingConsumer(pub Arc<TrackingHandle>);

impl LogConsumer for TrackingConsumer {
    /// Fixes and device events; ETAs and alerts are tracking's own output.
    fn wants(&self, kind: &str) -> bool {
        matches!(kind, "position" | "event")
    }

    fn name(&self) -> Option<&str> {
        Some(CONSUMER_NAME)
    }
    fn process<'a>(&'a self, records: &'a [Record]) -> BoxFuture<'a, Result<(), Stopped>> {
        Box::pin(async move { self.0.process(records).await.map_err(|()| Stopped) })
    }
}

/// Runs the clock-driven rules every `period` with `clock()` as "now" until shutdown.
/// The clock is injected so tests drive it; production passes `Utc::now`.
pub async fn run_timer(
    handle: Arc<TrackingHandle>,
    period: Duration,
    clock: impl Fn() -> DateTime<Utc> + Send + 'static,
    shutdown: CancellationToken,
) {
    let mut iv = tokio::time::interval(period.max(Duration::from_millis(10)));
    iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = iv.tick() => {
                if handle.tick(clock()).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AlertState, DeviceId, Position};
    use crate::pipeline::AckMode;
    use crate::pipeline::{DurableStage, Pipeline, Refused};
    use crate::tracking::shipment::ShipmentSpec;
    use crate::tracking::TrackingConfig;
    use chrono::TimeZone;
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Mutex;

    /// A durable stage that keeps what it is given (tracking's outputs).
    #[derive(Default)]
    struct Keep(Mutex<Vec<Record>>);

    impl DurableStage for Keep {
        fn append(
            &self,
            records: Vec<Record>,
            _: AckMode,
        ) -> BoxFuture<'static, Result<(), Refused>> {
            self.0.lock().unwrap().extend(records);
            Box::pin(async { Ok(()) })
        }
    }

    fn spec() -> ShipmentSpec {
        serde_json::from_value(serde_json::json!({
            "id": "s1", "device": "dev1",
            "route": {"type": "LineString", "coordinates": [[13.0, 52.0], [13.1, 52.0]]},
            "stops": [
                {"id": "a", "lat": 52.0, "lon": 13.0, "planned_arrival": "2026-03-02T06:00:00Z"},
                {"id": "b", "lat": 52.0, "lon": 13.1, "planned_arrival": "2026-03-02T07:00:00Z"}
            ]
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn the_timer_fires_no_signal_on_the_injected_clock_and_state_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let keep = Arc::new(Keep::default());
        let stop = CancellationToken::new();
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 6, 0, 0).unwrap();
        let h = TrackingHandle::open(
            TrackingConfig::default(),
            dir.path(),
            Pipeline::new(keep.clone()),
            stop.clone(),
        )
        .unwrap();
        h.create(spec(), t0).unwrap();
        let fix = Position::new(
            DeviceId::new("dev1").unwrap(),
            "test",
            t0,
            t0,
            52.0,
            13.0,
            true,
        );
        TrackingConsumer(h.clone())
            .process(&[Record::Position(fix)])
            .await
            .unwrap();

        // The injected clock: 14 min after the fix, then 16 min.
        let now = Arc::new(AtomicI64::new(
            (t0 + chrono::Duration::minutes(14)).timestamp(),
        ));
        let clock = {
            let now = now.clone();
            move || Utc.timestamp_opt(now.load(Ordering::SeqCst), 0).unwrap()
        };
        let task = tokio::spawn(run_timer(
            h.clone(),
            Duration::from_millis(10),
            clock,
            stop.clone(),
        ));
        let no_signal = |keep: &Keep| {
            keep.0
                .lock()
                .unwrap()
                .iter()
                .filter_map(|r| match r {
                    Record::Alert(a) if a.kind == "no_signal" => Some((a.state, a.time)),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        tokio::time::sleep(Duration::from_millis(100)).await; // several ticks at 14 min
        assert!(no_signal(&keep).is_empty());
        let fired_at = t0 + chrono::Duration::minutes(16);
        now.store(fired_at.timestamp(), Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while no_signal(&keep).is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "timer never fired");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await; // more ticks: still one alert
        assert_eq!(no_signal(&keep), vec![(AlertState::Firing, fired_at)]);
        stop.cancel();
        task.await.unwrap();

        // Restart: the shipment, its firing no-signal and its last fix come back from SQLite.
        let before = h.view("s1").unwrap();
        drop(h);
        let h2 = TrackingHandle::open(
            TrackingConfig::default(),
            dir.path(),
            Pipeline::new(keep.clone()),
            CancellationToken::new(),
        )
        .unwrap();
        let after = h2.view("s1").unwrap();
        assert_eq!(after, before);
        assert_eq!(
            after
                .exceptions
                .iter()
                .map(|e| e.kind.as_str())
                .collect::<Vec<_>>(),
            vec!["no_signal"]
        );
        assert_eq!(after.last_fix, Some(t0));
    }
}
