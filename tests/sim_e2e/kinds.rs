//! h02, gps103, osmand (HTTP) and owntracks (MQTT) end to end: every fix of an acknowledged
//! kind is ACKed exactly once, Coban fixes (no reply exists) are counted as unconfirmed and
//! never as ACKed, backlog from signal gaps is uploaded, and each device's live position in
//! the API is its newest fix sent.

use crate::sim::scenario::Scenario;
use crate::support::mqtt::publish_until_seen;
use crate::support::{gateway, services};
use crate::{run_fleet, scenario_for};
use chrono::{DateTime, Utc};
use std::net::SocketAddr;
use trackgate::config::Config;
use trackgate::mqtt::MqttConfig;
use trackgate::server::Running;

/// Kinds whose fixes the protocol acknowledges (h02 `V4`, HTTP 200, broker PUBACK).
const ACKED: &[&str] = &["h02", "osmand", "owntracks"];
/// Kinds whose positions have no reply at all.
const UNCONFIRMED: &[&str] = &["gps103"];

async fn gateway(broker: &services::Service) -> Running {
    let mut cfg = gateway::test_config("");
    // The simulator's clock runs `speedup` times faster: its fixes are dated ahead.
    cfg.devices.max_future_secs = crate::sim::demo::DEMO_MAX_FUTURE_SECS;
    let toml = format!(
        "[mqtt]\nurl = \"{}\"\nclient_id = \"tg-kinds\"\n[mqtt.ingest]\nreconnect_min_ms = 50\n",
        broker.url
    );
    let m: MqttConfig = Config::from_toml(&toml)
        .expect("mqtt config")
        .mqtt
        .expect("[mqtt] set");
    cfg.mqtt = Some(m);
    trackgate::server::start(cfg).await.expect("server starts")
}

fn scenario(gw: &Running, broker_port: u16) -> Scenario {
    let mut sc = scenario_for(
        gw,
        "all-kinds.toml",
        &[
            ("h02", "h02", "tcp"),
            ("gps103", "gps103", "tcp"),
            ("osmand", "osmand", "http"),
        ],
    );
    sc.targets.insert(
        "owntracks".into(),
        SocketAddr::from(([127, 0, 0, 1], broker_port)),
    );
    sc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_kinds_every_fix_acked_or_unconfirmed_and_live() {
    let broker = services::mosquitto();
    let gw = gateway(&broker).await;
    // The gateway subscribes asynchronously after it starts, and a message published before
    // the subscription exists is not queued for it: the fleet must not start before this.
    publish_until_seen(
        &gw,
        broker.port,
        "owntracks/probe/ready",
        r#"{"_type":"location","tst":1795757400,"lat":1.5,"lon":2.5}"#,
        "probe.ready",
    )
    .await;
    let (report, kinds) = run_fleet(&scenario(&gw, broker.port)).await;
    let s = &report.stats;
    assert_eq!(kinds, ["gps103", "h02", "osmand", "owntracks"]);
    assert_eq!(report.devices.len(), 8);
    assert_eq!(s.bad_acks, 0, "every reply parsed and matched: {s:?}");
    assert_eq!(s.connected, 0, "all sessions closed after the drain");

    // Acknowledged kinds: every fix ACKed once, none dropped. gps103: none ACKed (no reply
    // exists), every fix written and counted as unconfirmed.
    let mut unconfirmed = 0;
    for d in &report.devices {
        assert!(d.generated > 0, "{d:?}");
        assert_eq!(d.dropped, 0, "{d:?}");
        if ACKED.contains(&d.kind) {
            assert_eq!(d.acked, d.generated, "{d:?}");
        } else {
            assert!(UNCONFIRMED.contains(&d.kind), "{d:?}");
            assert_eq!(d.acked, 0, "{d:?}");
            unconfirmed += d.generated;
        }
    }
    assert!(unconfirmed > 0);
    assert_eq!(s.records_unconfirmed, unconfirmed, "{s:?}");
    assert_eq!(
        s.records_acked + s.records_unconfirmed,
        s.records_generated,
        "{s:?}"
    );
    assert_eq!(s.records_sent, s.records_generated, "{s:?}");
    // 5 s at 60x is 300 simulated s per device at 20 gaps/h: P(no gap in the whole fleet)
    // = e^(-20 × 8 × 300/3600) ≈ 2e-6, so backlog was uploaded.
    assert!(s.records_backlog > 0, "{s:?}");
    assert!(s.acks > 0 && s.p99_us.is_some());
    // 4 km routes at ~80 km/h end within ~4 of the 5 simulated minutes, then trucks park and
    // h02 / gps103 send heartbeats every 60 s, each answered (HTBT echo, `ON`).
    assert!(s.heartbeats > 0, "{s:?}");

    // The API lists each device at its newest fix sent. Wire times are whole seconds
    // (truncated); positions: ddmm.mmmm (h02, gps103) is within 1e-6°, the JSON and query
    // forms carry the full value.
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
        assert_eq!(
            body["time"].as_str(),
            Some(last.time.format("%Y-%m-%dT%H:%M:%SZ").to_string().as_str()),
            "{} ({}): newest sent {last:?}, API {body}",
            d.id,
            d.kind
        );
        let lat = body["lat"].as_f64().expect("lat");
        let lon = body["lon"].as_f64().expect("lon");
        assert!(
            (lat - last.lat).abs() <= 1e-5 && (lon - last.lon).abs() <= 1e-5,
            "{} ({}) at {lat},{lon}, sent {},{}",
            d.id,
            d.kind,
            last.lat,
            last.lon
        );
        // Every kind's name is its gateway protocol's registry name.
        assert_eq!(body["protocol"], d.kind, "{body}");
    }
    gw.shutdown().await;
}
