//! What `GET /api/shipments[/{id}]` returns (field names are part of the external contract).

use super::exceptions::Phase;
use super::stops::Visit;
use super::tracker::{ShipmentStatus, Tracker};
use crate::model::{DeviceId, StopStatus};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One stop with its latest estimate.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StopView {
    pub id: String,
    pub name: String,
    /// P50 ETA (arrival time once arrived); null before the first fix.
    pub eta: Option<DateTime<Utc>>,
    pub eta_p10: Option<DateTime<Utc>>,
    pub eta_p90: Option<DateTime<Utc>>,
    pub planned_arrival: DateTime<Utc>,
    /// `eta − planned_arrival`, seconds, + = late.
    pub deviation_s: Option<i64>,
    pub status: StopStatus,
    pub arrived_at: Option<DateTime<Utc>>,
    pub departed_at: Option<DateTime<Utc>>,
}

/// An open (firing) exception.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ExceptionView {
    /// `late`, `early`, `off_route`, `long_stop`, `detention`, `no_signal`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
}

/// A shipment as the API shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ShipmentView {
    pub id: String,
    pub device: DeviceId,
    /// The customer, when the shipment has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// `active`, `completed` or `cancelled`.
    pub status: ShipmentStatus,
    /// 0..1 along the route, never decreasing.
    pub progress: f64,
    pub route_length_m: f64,
    /// Distance of the last clean fix from the route, metres.
    pub off_route_m: f64,
    /// `moving` or `stopped`.
    pub motion: &'static str,
    /// Fix time of the last clean fix.
    pub last_fix: Option<DateTime<Utc>>,
    pub created: DateTime<Utc>,
    pub stops: Vec<StopView>,
    pub exceptions: Vec<ExceptionView>,
}

impl ShipmentView {
    /// Renders a tracker.
    pub fn of(t: &Tracker) -> ShipmentView {
        let s = &t.state;
        let stops = t
            .spec
            .stops
            .iter()
            .enumerate()
            .map(|(i, sp)| {
                let st = &s.stops[i];
                let e = s.etas.get(i).and_then(|e| e.as_ref());
                let status = match st.visit {
                    Visit::Arrived => StopStatus::Arrived,
                    Visit::Departed => StopStatus::Departed,
                    Visit::Skipped => StopStatus::Skipped,
                    Visit::Pending if s.no_signal => StopStatus::NoSignal,
                    Visit::Pending => e.map_or(StopStatus::OnTime, |e| e.status),
                };
                StopView {
                    id: sp.id.clone(),
                    name: sp.name.clone(),
                    eta: st.arrived_at.or(e.map(|e| e.eta)),
                    eta_p10: e.map(|e| e.eta_p10),
                    eta_p90: e.map(|e| e.eta_p90),
                    planned_arrival: sp.planned_arrival,
                    deviation_s: st
                        .arrived_at
                        .map(|a| (a - sp.planned_arrival).num_seconds())
                        .or(e.map(|e| e.deviation_s)),
                    status,
                    arrived_at: st.arrived_at,
                    departed_at: st.departed_at,
                }
            })
            .collect();
        let mut exceptions = Vec::new();
        for (key, r) in &s.rules {
            let (kind, stop) = match key.split_once(':') {
                Some((k, st)) => (k.to_string(), Some(st.to_string())),
                None => (key.clone(), None),
            };
            match r.phase {
                Phase::Firing { since, tier }
                | Phase::Clearing {
                    fired: since, tier, ..
                } => exceptions.push(ExceptionView {
                    kind,
                    stop,
                    tier: (tier > 0).then_some(tier),
                    since: Some(since),
                }),
                _ => {}
            }
        }
        if s.off_route.firing {
            exceptions.push(ExceptionView {
                kind: "off_route".into(),
                stop: None,
                tier: None,
                since: None,
            });
        }
        if s.no_signal {
            exceptions.push(ExceptionView {
                kind: "no_signal".into(),
                stop: None,
                tier: None,
                since: s.last_fix.map(|f| f.time),
            });
        }
        ShipmentView {
            id: t.spec.id.clone(),
            device: t.spec.device.clone(),
            customer: t.spec.customer.clone(),
            status: s.status,
            progress: s.progress,
            route_length_m: t.route.length_m(),
            off_route_m: s.off_route_m,
            motion: if s.motion.moving() {
                "moving"
            } else {
                "stopped"
            },
            last_fix: s.last_fix.map(|f| f.time),
            created: s.created,
            stops,
            exceptions,
        }
    }
}
