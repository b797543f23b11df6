//! The smoke scenario into a real InfluxDB and Mosquitto; loopback-only targets.

use crate::sim::scenario::Scenario;
use crate::support::influxql::Influxql;
use crate::support::{gateway, mqtt, services};
use crate::{run_fleet, scenario_for, sim};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

fn smoke(gw: &trackgate::server::Running) -> Scenario {
    let mut sc = scenario_for(
        gw,
        "smoke.toml",
        &[
            ("gt06", "gt06", "tcp"),
            ("teltonika", "teltonika", "tcp"),
            ("teltonika_udp", "teltonika", "udp"),
            ("jt808", "jt808", "tcp"),
        ],
    );
    sc.api.shipments = true;
    sc.duration_s = Some(5.0);
    sc
}

/// The retained (then live) `trackgate/devices/+/position` messages, newest per device,
/// until `done` holds for the map (20 s limit; the caller asserts on what arrived).
async fn mqtt_positions(
    port: u16,
    done: impl Fn(&BTreeMap<String, Value>) -> bool,
) -> BTreeMap<String, Value> {
    let (_client, mut rx) = mqtt::subscribe(port, "sim-e2e", "trackgate/devices/+/position").await;
    let mut seen = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done(&seen) {
        let Ok(Some(m)) = tokio::time::timeout_at(deadline, rx.recv()).await else {
            break;
        };
        let id = m.topic.split('/').nth(2).unwrap_or_default().to_string();
        seen.insert(id, m.payload);
    }
    seen
}

fn close(a: f64, b: f64) -> bool {
    // Wire resolutions: GT06 1/1,800,000°, JT/T 808 1e-6°, Teltonika 1e-7°.
    (a - b).abs() <= 1e-6
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_scenario_every_fix_acked_live_in_influxdb_and_mqtt() {
    let influx = services::influxd(0);
    let broker = services::mosquitto();
    let mut cfg = gateway::test_config("");
    // The simulator's clock runs `speedup` times faster: its fixes are dated ahead.
    cfg.devices.max_future_secs = crate::sim::demo::DEMO_MAX_FUTURE_SECS;
    let mut icfg = trackgate::sinks::influx::InfluxConfig::new(&influx.url);
    icfg.flush_interval_ms = 50;
    cfg.influx = Some(icfg);
    cfg.mqtt = Some(trackgate::mqtt::MqttConfig {
        url: broker.url.clone(),
        client_id: format!("tg-sim-e2e-{}", std::process::id()),
        ..Default::default()
    });
    let gw = trackgate::server::start(cfg).await.expect("server starts");
    let (report, kinds) = run_fleet(&smoke(&gw)).await;
    let s = &report.stats;

    // Every kind is in the fleet, and every device logged in and reported.
    assert_eq!(
        kinds,
        [
            "gt06",
            "jt808_2013",
            "jt808_2019",
            "teltonika",
            "teltonika_udp"
        ]
    );
    assert_eq!(report.devices.len(), 6);
    // UDP devices have no login; the five TCP devices log in at least once each.
    assert!(s.logins >= 6, "{s:?}");
    assert_eq!(s.bad_acks, 0, "every reply parsed and matched: {s:?}");
    assert_eq!(s.connected, 0, "all sessions closed after the drain");

    // Every fix produced was ACKed, exactly once per fix, none dropped.
    assert!(s.records_generated >= 6, "{s:?}");
    assert_eq!(s.records_acked, s.records_generated, "{s:?}");
    assert_eq!(s.records_sent, s.records_generated, "{s:?}");
    for d in &report.devices {
        assert!(d.generated > 0, "{d:?}");
        assert_eq!((d.acked, d.dropped), (d.generated, 0), "{d:?}");
    }
    // 5 s at 60x is 300 simulated s per device at 20 gaps/h: P(no gap in the whole fleet)
    // = e^(-20 × 6 × 300/3600) ≈ 5e-5, so backlog was uploaded.
    assert!(s.records_backlog > 0, "{s:?}");
    assert!(s.acks > 0 && s.p99_us.is_some());

    // Shipments: one per device, created over the API (which the gateway has: a 404 that
    // the simulator reads as "unsupported" fails here).
    let o = report.shipments.clone().expect("asked for shipments");
    assert!(!o.unsupported && o.created == 6, "{o:?}");

    // The API lists each device at its newest ACKed fix (backlog never moves it backwards).
    for d in &report.devices {
        let last = d.last.clone().expect("acked fixes");
        let body = gateway::wait_device(&gw, &d.id, |b| {
            b["time"]
                .as_str()
                .and_then(|t| t.parse::<DateTime<Utc>>().ok())
                .is_some_and(|t| (t - last.time).num_milliseconds().abs() < 1000)
        })
        .await;
        let lat = body["lat"].as_f64().expect("lat");
        let lon = body["lon"].as_f64().expect("lon");
        assert!(close(lat, last.lat), "{} lat {lat} vs {}", d.id, last.lat);
        assert!(close(lon, last.lon), "{} lon {lon} vs {}", d.id, last.lon);
    }

    // InfluxDB: exactly one `position` point per ACKed fix (resends and backlog overwrite
    // the same point: keyed by device and fix time), and ETA points for every shipment.
    // The sink flushes every 50 ms here.
    let db = Influxql::new(&influx.url, "trackgate");
    let within = Duration::from_secs(20);
    for d in &report.devices {
        let q = format!("SELECT count(lat) FROM position WHERE device = '{}'", d.id);
        let n = db.wait_count(&q, within, |n| n >= d.acked as i64).await;
        assert_eq!(n, d.acked as i64, "{}: points vs ACKed fixes", d.id);
        let q = format!("SELECT count(eta) FROM eta WHERE shipment = 'sim-{}'", d.id);
        let n = db.wait_count(&q, within, |n| n > 0).await;
        assert!(n > 0, "{}: no ETA points", d.id);
    }

    // Mosquitto: each device's retained position is its newest ACKed fix.
    let want: BTreeMap<String, _> = report
        .devices
        .iter()
        .map(|d| (d.id.clone(), d.last.clone().expect("acked")))
        .collect();
    let matches = |m: &BTreeMap<String, Value>| {
        want.iter().all(|(id, last)| {
            m.get(id).is_some_and(|v| {
                v["time"]
                    .as_str()
                    .and_then(|t| t.parse::<DateTime<Utc>>().ok())
                    .is_some_and(|t| (t - last.time).num_milliseconds().abs() < 1000)
                    && v["lat"].as_f64().is_some_and(|x| close(x, last.lat))
                    && v["lon"].as_f64().is_some_and(|x| close(x, last.lon))
            })
        })
    };
    let got = mqtt_positions(broker.port, matches).await;
    assert!(
        matches(&got),
        "retained positions {got:#?} vs newest ACKed {want:#?}"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn refuses_non_loopback_targets() {
    let mut sc = Scenario::default();
    sc.targets
        .insert("gt06".into(), "192.0.2.1:5023".parse().expect("addr"));
    let err = sim::fleet::run(&sc, std::future::pending())
        .await
        .expect_err("remote target refused");
    assert!(err.to_string().contains("loopback"), "{err}");
}
