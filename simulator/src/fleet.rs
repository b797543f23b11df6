//! A fleet run: builds every device from the scenario, optionally creates their shipments,
//! runs them until the duration or record budget is reached (or the caller stops it), prints
//! the progress line, then drains (devices upload what they hold) within a deadline.

use super::device::{self, DeviceOutcome, Shared, SimClock};
use super::motion::Trip;
use super::proto::{self, Identity, SimError};
use super::route::Route;
use super::scenario::Scenario;
use super::shipments;
use super::stats::{Snapshot, Stats};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Extra time after the drain deadline before device tasks are aborted (a task blocked in a
/// connect or write that ignores the deadline).
const ABORT_GRACE: Duration = Duration::from_secs(5);

/// The result of a run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// Final counters.
    pub stats: Snapshot,
    /// Per device, in fleet order.
    pub devices: Vec<DeviceOutcome>,
    /// Shipment creation, when asked for.
    pub shipments: Option<shipments::Outcome>,
    /// Real run time, seconds (including the drain).
    pub elapsed_s: f64,
}

/// Runs `sc` until its bounds are reached or `external_stop` resolves.
pub async fn run(
    sc: &Scenario,
    external_stop: impl Future<Output = ()>,
) -> Result<Report, SimError> {
    sc.validate()?;
    let kinds = sc.assign_kinds();
    let shared_route = match &sc.route.file {
        Some(f) => Some(Route::load(f).map_err(|e| SimError::Config(e.to_string()))?),
        None => None,
    };
    let stats = Arc::new(Stats::default());
    let (stop_tx, stop_rx) = watch::channel(None);
    let clock = SimClock::new(sc.speedup);
    let sh = Arc::new(Shared {
        stats: stats.clone(),
        clock: clock.clone(),
        cfg: sc.device.clone(),
        stop: stop_rx,
        budget: sc.records,
        budget_spent: Notify::new(),
    });

    let mut devices = Vec::with_capacity(kinds.len());
    let mut plans = Vec::new();
    for (i, kind) in kinds.iter().enumerate() {
        let mut rng =
            StdRng::seed_from_u64(sc.seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let route = match &shared_route {
            Some(r) => r.clone(),
            None => Route::generate(&mut rng, sc.route.start, sc.route.length_km * 1000.0),
        };
        let start_m = if sc.route.spread {
            rng.random_range(0.0..0.3) * route.length()
        } else {
            0.0
        };
        let mid_m = shipments::mid_stop_m(start_m, route.length());
        let trip = Trip::new(route, sc.motion.clone(), start_m, &mut rng);
        let trip = if sc.api.shipments {
            trip.with_depots(&[mid_m])
        } else {
            trip
        };
        let id = Identity {
            imei: proto::imei(&sc.imei_prefix, i as u64 + 1),
            index: i,
        };
        let p = (kind.build)(&id)?;
        let target = sc
            .target(kind)
            .ok_or_else(|| SimError::Config(format!("no target for {}", kind.name)))?;
        if !target.ip().is_loopback() {
            return Err(SimError::Config(format!("{target}: loopback targets only")));
        }
        plans.push(shipments::Plan {
            device: p.device_id(),
            route: trip.route().clone(),
            start_m,
            speed_ms: trip.expected_ms(),
            start: clock.time_at(0.0),
            dwell_s: if sc.api.shipments {
                sc.motion.depot_dwell_s
            } else {
                0.0
            },
            twist: if sc.api.exceptions {
                shipments::Twist::for_index(i)
            } else {
                shipments::Twist::None
            },
        });
        devices.push((*kind, p, target, trip, rng));
    }
    let shipments = if sc.api.shipments {
        let o = shipments::create(&sc.api.url, &plans).await;
        if o.unsupported {
            eprintln!(
                "shipments: {} has no /api/shipments (404); continuing without",
                sc.api.url
            );
        } else if let Some(e) = &o.first_error {
            eprintln!(
                "shipments: {} created, {} failed (first: {e})",
                o.created, o.failed
            );
        }
        Some(o)
    } else {
        None
    };

    let started = Instant::now();
    let n = devices.len();
    let mut set = JoinSet::new();
    for (i, (kind, p, target, trip, rng)) in devices.into_iter().enumerate() {
        let sh = sh.clone();
        set.spawn(async move { (i, device::run(kind, p, target, trip, rng, sh).await) });
    }
    let progress = (sc.progress_s > 0.0).then(|| {
        let stats = stats.clone();
        let every = Duration::from_secs_f64(sc.progress_s);
        let name = sc.name.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                eprintln!(
                    "{name} {}",
                    stats.snapshot().progress_line(n, started.elapsed())
                );
            }
        })
    });

    let duration = sc
        .duration_s
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_secs(365 * 86_400));
    let mut outcomes: Vec<Option<DeviceOutcome>> = vec![None; n];
    tokio::pin!(external_stop);
    tokio::select! {
        _ = tokio::time::sleep(duration) => {}
        _ = sh.budget_spent.notified() => {}
        _ = &mut external_stop => {}
        _ = wait_all(&mut set, &mut outcomes) => {}
    }
    let drain = Duration::from_secs_f64(sc.device.drain_s.max(0.0));
    let deadline = Instant::now() + drain;
    // Receivers live in `sh` until every task ends, so the send cannot fail meaningfully.
    let _ = stop_tx.send(Some(deadline));
    let _ =
        tokio::time::timeout_at(deadline + ABORT_GRACE, wait_all(&mut set, &mut outcomes)).await;
    set.abort_all();
    if let Some(p) = progress {
        p.abort();
    }
    let snap = stats.snapshot();
    if sc.progress_s > 0.0 {
        eprintln!(
            "{} {} (done)",
            sc.name,
            snap.progress_line(n, started.elapsed())
        );
    }
    Ok(Report {
        stats: snap,
        devices: outcomes
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                o.unwrap_or_else(|| DeviceOutcome {
                    id: format!("device #{i} (aborted)"),
                    kind: kinds[i].name,
                    generated: 0,
                    acked: 0,
                    dropped: 0,
                    last: None,
                })
            })
            .collect(),
        shipments,
        elapsed_s: started.elapsed().as_secs_f64(),
    })
}

async fn wait_all(set: &mut JoinSet<(usize, DeviceOutcome)>, out: &mut [Option<DeviceOutcome>]) {
    while let Some(r) = set.join_next().await {
        if let Ok((i, o)) = r {
            out[i] = Some(o);
        }
    }
}
