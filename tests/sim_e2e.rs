//! The simulator's smoke scenario end to end against an in-process gateway on port 0: every
//! protocol kind connects over real sockets, every fix produced is ACKed, backlog from signal
//! gaps is uploaded, and each device's live position in the API is its newest ACKed fix.

mod common;

// The simulator crate's sources, compiled into this test (the gateway package cannot depend
// on the workspace member that depends on it); they only use `super::` paths for this reason.
#[path = "../simulator/src/lib.rs"]
#[allow(dead_code)]
mod sim;

use chrono::{DateTime, Utc};
use sim::scenario::Scenario;
use std::path::Path;

fn smoke(gw: &trackgate::server::Running) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("simulator/scenarios/smoke.toml");
    let mut sc = Scenario::load(&path).expect("smoke scenario loads");
    for (key, proto, transport) in [
        ("gt06", "gt06", "tcp"),
        ("teltonika", "teltonika", "tcp"),
        ("teltonika_udp", "teltonika", "udp"),
        ("jt808", "jt808", "tcp"),
    ] {
        let addr = gw.addr(proto, transport).expect("listener bound");
        sc.targets.insert(key.into(), addr);
    }
    sc.api.url = format!("http://{}", gw.http_addr);
    sc.api.shipments = true;
    sc.duration_s = Some(5.0);
    sc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_scenario_every_fix_acked_and_live() {
    let gw = common::start("").await;
    let sc = smoke(&gw);
    let report = sim::fleet::run(&sc, std::future::pending())
        .await
        .expect("scenario runs");
    let s = &report.stats;

    // Every kind is in the fleet, and every device logged in and reported.
    let kinds: std::collections::BTreeSet<_> = report.devices.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
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

    // Shipments: created, or the gateway has no endpoint yet (404), never another failure.
    let o = report.shipments.clone().expect("asked for shipments");
    assert!(o.unsupported || o.created == 6, "{o:?}");

    // The API lists each device at its newest ACKed fix (backlog never moves it backwards).
    for d in &report.devices {
        let last = d.last.clone().expect("acked fixes");
        let body = common::wait_device(&gw, &d.id, |b| {
            b["time"]
                .as_str()
                .and_then(|t| t.parse::<DateTime<Utc>>().ok())
                .is_some_and(|t| (t - last.time).num_milliseconds().abs() < 1000)
        })
        .await;
        // Wire resolutions: GT06 1/1,800,000°, JT/T 808 1e-6°, Teltonika 1e-7°.
        let lat = body["lat"].as_f64().expect("lat");
        let lon = body["lon"].as_f64().expect("lon");
        assert!(
            (lat - last.lat).abs() <= 1e-6,
            "{} lat {lat} vs {}",
            d.id,
            last.lat
        );
        assert!(
            (lon - last.lon).abs() <= 1e-6,
            "{} lon {lon} vs {}",
            d.id,
            last.lon
        );
    }
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

fn load_args(kind: &str, target: std::net::SocketAddr) -> sim::load::LoadArgs {
    sim::load::LoadArgs {
        kind: kind.into(),
        target,
        connections: 20,
        duration: 0.5,
        mode: sim::load::LoadMode::Closed,
        records: 100,
        batch: 25,
        ack: sim::load::AckKind::Protocol,
        ack_timeout_ms: 5000,
        connect_concurrency: 10,
        imei_prefix: "86".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_harness_against_gateway_and_baselines() {
    use sim::load::{AckKind, BaselineArgs, BaselineKind, LoadMode};
    let gw = common::start("").await;

    // Closed loop with real, parsed ACKs (JT/T 808 logs in with register + auth).
    for (kind, proto) in [("gt06", "gt06"), ("jt808_2013", "jt808")] {
        let r = sim::load::load(&load_args(kind, gw.addr(proto, "tcp").expect("tcp")))
            .await
            .expect("load runs");
        assert_eq!(
            (r.connections, r.connect_failures, r.errors),
            (20, 0, 0),
            "{r:?}"
        );
        assert!(r.frames >= 20 && r.records == r.frames, "{r:?}");
        assert!(r.p50_us.is_some() && r.p99_us >= r.p50_us, "{r:?}");
    }

    // Teltonika backlog flush: 20 devices × 100 records in packets of 25, all counted.
    let mut a = load_args("teltonika", gw.addr("teltonika", "tcp").expect("tcp"));
    a.mode = LoadMode::Flush;
    let r = sim::load::load(&a).await.expect("flush runs");
    assert_eq!((r.frames, r.records, r.errors), (80, 2000, 0), "{r:?}");
    gw.shutdown().await;

    // The same flush against read-and-discard (no ACKs: done when the server saw EOF).
    let discard = BaselineArgs {
        kind: BaselineKind::Discard,
        protocol: "teltonika".into(),
        listen: "127.0.0.1:0".parse().expect("addr"),
    };
    let l = sim::load::bind_baseline(&discard).await.expect("bind");
    a.target = l.local_addr().expect("addr");
    a.ack = AckKind::None;
    let server = tokio::spawn(sim::load::serve_baseline(l, discard));
    let r = sim::load::load(&a).await.expect("flush runs");
    assert_eq!((r.frames, r.records, r.errors), (80, 2000, 0), "{r:?}");
    server.abort();

    // Closed loop against ping-pong: one fixed 4-byte ACK per framed GT06 frame.
    let pingpong = BaselineArgs {
        kind: BaselineKind::Pingpong,
        protocol: "gt06".into(),
        listen: "127.0.0.1:0".parse().expect("addr"),
    };
    let l = sim::load::bind_baseline(&pingpong).await.expect("bind");
    let mut a = load_args("gt06", l.local_addr().expect("addr"));
    a.ack = AckKind::Fixed4;
    let server = tokio::spawn(sim::load::serve_baseline(l, pingpong));
    let r = sim::load::load(&a).await.expect("closed runs");
    assert_eq!((r.connections, r.errors), (20, 0), "{r:?}");
    assert!(r.frames >= 20, "{r:?}");
    server.abort();
}
