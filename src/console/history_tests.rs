use super::*;
use crate::model::{Alert, AlertState, EtaUpdate, Position, StopStatus};
use chrono::{DateTime, TimeZone, Utc};

const DEV: &str = "356307042441099";

fn t(sec: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_764_000_000 + sec, 0).unwrap()
}

fn eta(shipment: &str, stop: &str, fix: i64, eta_s: i64) -> Record {
    Record::Eta(EtaUpdate {
        shipment: shipment.into(),
        stop: stop.into(),
        device: DeviceId::new(DEV).unwrap(),
        fix_time: t(fix),
        eta: t(eta_s),
        eta_p10: t(eta_s - 60),
        eta_p90: t(eta_s + 120),
        planned: t(1000),
        deviation_s: eta_s - 1000,
        remaining_m: 0.0,
        progress: 0.0,
        off_route_m: 0.0,
        status: StopStatus::OnTime,
    })
}

fn fix(sec: i64, lat: f64) -> Record {
    Record::Position(Position::new(
        DeviceId::new(DEV).unwrap(),
        "gt06",
        t(sec),
        t(sec),
        lat,
        13.0,
        true,
    ))
}

fn history(points: usize, shipments: usize) -> History {
    let cfg = ConsoleConfig {
        history_points: points,
        history_shipments: shipments,
        trail_points: points,
        ..ConsoleConfig::default()
    };
    History::new(
        &cfg,
        Arc::new(LiveState::new(std::time::Duration::from_secs(600))),
    )
}

#[test]
fn eta_series_keep_order_and_thin_to_the_cap() {
    let h = history(16, 10);
    let recs: Vec<Record> = (0..40)
        .map(|k| eta("sh1", "S1", k * 10, 1000 + k))
        .collect();
    h.apply(&recs);
    // A replayed older publication does not draw the line backwards.
    h.apply(&[eta("sh1", "S1", 5, 5000)]);
    let got = h.shipment("sh1");
    assert_eq!(got.eta.len(), 1);
    let (stop, s) = &got.eta[0];
    assert_eq!(stop, "S1");
    assert_eq!(s.planned, t(1000).timestamp_millis());
    assert!(
        s.samples.len() <= 16 && s.samples.len() >= 8,
        "{}",
        s.samples.len()
    );
    // The newest is kept, times increase, the band is carried.
    let last = s.samples.last().unwrap();
    assert_eq!(last[0], t(390).timestamp_millis());
    assert_eq!(last[2], last[1] - 60_000);
    assert!(s.samples.windows(2).all(|w| w[0][0] < w[1][0]));
    // The start of the trip is still represented after thinning.
    assert!(
        s.samples[0][0] <= t(80).timestamp_millis(),
        "{:?}",
        s.samples[0]
    );
}

#[test]
fn trail_follows_the_shipment_window_and_least_recent_is_forgotten() {
    let h = history(100, 1);
    // Fixes before the shipment's first ETA are not kept.
    h.apply(&[
        fix(0, 52.0),
        eta("sh1", "S1", 10, 900),
        fix(10, 52.1),
        fix(20, 52.2),
    ]);
    h.apply(&[fix(15, 99.0)]); // older than the last point: ignored
    assert_eq!(
        h.shipment("sh1")
            .trail
            .iter()
            .map(|p| p.1)
            .collect::<Vec<_>>(),
        [52.1, 52.2]
    );
    h.apply(&[Record::Alert(Alert {
        id: "c".into(),
        kind: "completed".into(),
        state: AlertState::Info,
        tier: None,
        time: t(20),
        device: DeviceId::new(DEV).unwrap(),
        shipment: Some("sh1".into()),
        stop: None,
        alarm: None,
        lat: None,
        lon: None,
        value: None,
        message: String::new(),
        customer: None,
        geofence: None,
    })]);
    h.apply(&[fix(30, 52.3)]);
    assert_eq!(
        h.shipment("sh1").trail.len(),
        2,
        "the trail ends with the shipment"
    );
    // A second shipment evicts the first (cap 1).
    h.apply(&[eta("sh2", "A", 40, 900)]);
    assert_eq!(h.len(), 1);
    assert_eq!(h.shipment("sh1"), ShipmentHistory::default());
    assert_eq!(h.shipment("sh2").eta.len(), 1);
}

#[test]
fn thinning_keeps_the_newest_and_halves() {
    let mut v: Vec<u32> = (0..8).collect();
    push_thinned(&mut v, 8, 8);
    assert_eq!(v, [1, 3, 5, 7, 8]);
}
