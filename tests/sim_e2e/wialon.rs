//! Wialon IPS simulator kind end to end: every fix ACKed exactly once (`#AD#1` live, `#AB#n`
//! for the black box backlog), parked trucks ping, and each device's live position in the API
//! is its newest fix sent (black box fixes are historical and never move it backwards).

use crate::support::gateway;
use crate::{run_fleet, scenario_for};
use chrono::{DateTime, Utc};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wialon_fleet_every_fix_acked_backlog_as_black_box_and_live() {
    let mut cfg = gateway::test_config("");
    // The simulator's clock runs `speedup` times faster: its fixes are dated ahead.
    cfg.devices.max_future_secs = crate::sim::demo::DEMO_MAX_FUTURE_SECS;
    let gw = trackgate::server::start(cfg).await.expect("server starts");
    let sc = scenario_for(&gw, "wialon.toml", &[("wialon", "wialon", "tcp")]);
    let (report, kinds) = run_fleet(&sc).await;
    let s = &report.stats;
    assert_eq!(kinds, ["wialon"]);
    assert_eq!(report.devices.len(), 5);
    assert_eq!(s.bad_acks, 0, "every answer parsed and matched: {s:?}");
    assert_eq!(s.connected, 0, "all sessions closed after the drain");
    for d in &report.devices {
        assert!(d.generated > 0, "{d:?}");
        assert_eq!(d.dropped, 0, "{d:?}");
        assert_eq!(d.acked, d.generated, "{d:?}");
    }
    assert_eq!(s.records_acked, s.records_generated, "{s:?}");
    // 5 s at 60x is 300 simulated s per device at 20 gaps/h: P(no gap in the fleet)
    // = e^(-20 × 5 × 300/3600) ≈ 2e-4 (and the scenario is seeded), so black box packets
    // went up.
    assert!(s.records_backlog > 0, "{s:?}");
    assert!(s.heartbeats > 0, "parked trucks ping: {s:?}");

    // ddmm.mmmm on the wire: within 1e-6° of the fix; whole seconds.
    for d in &report.devices {
        let last = d.last.clone().expect("fixes handed over");
        let second = last.time.timestamp();
        let body = gateway::wait_device(&gw, &d.id, |b| {
            b["time"]
                .as_str()
                .and_then(|t| t.parse::<DateTime<Utc>>().ok())
                .is_some_and(|t| t.timestamp() == second)
        })
        .await;
        let lat = body["lat"].as_f64().expect("lat");
        let lon = body["lon"].as_f64().expect("lon");
        assert!(
            (lat - last.lat).abs() <= 1e-6 && (lon - last.lon).abs() <= 1e-6,
            "{} at {lat},{lon}, sent {},{}",
            d.id,
            last.lat,
            last.lon
        );
        assert_eq!(body["protocol"], "wialon", "{body}");
    }
    gw.shutdown().await;
}
