//! The simulator's smoke scenario end to end against an in-process gateway on port 0 that
//! writes to a real InfluxDB and publishes to a real Mosquitto: every protocol kind connects
//! over real sockets, every fix produced is ACKed, backlog from signal gaps is uploaded, each
//! device's live position in the API and its retained MQTT position are its newest ACKed fix,
//! and InfluxDB holds exactly one point per ACKed fix plus ETA points for every shipment.
//! Also: the demo (gateway + fleet with twisted plans) raises late and off-route exceptions.
//!
//! Needs `influxd` and `mosquitto` on PATH: `.ci/services.sh install`.

mod common;
mod support;

// The simulator crate's sources, compiled into this test (the gateway package cannot depend
// on the workspace member that depends on it); they only use `super::` paths for this reason.
#[path = "../simulator/src/lib.rs"]
#[allow(dead_code)]
mod sim;

use chrono::{DateTime, Utc};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use sim::scenario::Scenario;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use support::services;

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

/// One InfluxQL number (`SELECT count(..)`), 0 when there is no series yet.
async fn influx_count(url: &str, q: &str) -> i64 {
    let v: Value = reqwest::Client::new()
        .get(format!("{url}/query"))
        .query(&[("db", "trackgate"), ("q", q)])
        .send()
        .await
        .expect("query")
        .json()
        .await
        .expect("json");
    v["results"][0]["series"][0]["values"][0][1]
        .as_i64()
        .unwrap_or(0)
}

/// Polls `q` until it counts `want` (20 s limit, the sink flushes every 50 ms here).
async fn wait_count(url: &str, q: &str, want: impl Fn(i64) -> bool) -> i64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let n = influx_count(url, q).await;
        if want(n) || tokio::time::Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The retained (then live) `trackgate/devices/+/position` messages, newest per device,
/// until `done` holds for the map (20 s limit).
async fn mqtt_positions(
    port: u16,
    done: impl Fn(&BTreeMap<String, Value>) -> bool,
) -> BTreeMap<String, Value> {
    let mut opts = MqttOptions::new(format!("sim-e2e-{}", std::process::id()), "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(5));
    let (client, mut el) = AsyncClient::new(opts, 64);
    client
        .subscribe("trackgate/devices/+/position", QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    let mut seen = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done(&seen) {
        let ev = tokio::time::timeout_at(deadline, el.poll()).await;
        let Ok(Ok(ev)) = ev else { break };
        if let Event::Incoming(Packet::Publish(p)) = ev {
            let id = p.topic.split('/').nth(2).unwrap_or_default().to_string();
            seen.insert(
                id,
                serde_json::from_slice(&p.payload).unwrap_or(Value::Null),
            );
        }
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
    let mut cfg = common::test_config("");
    let mut icfg = trackgate::sinks::influx::InfluxConfig::new(&influx.url);
    icfg.flush_interval_ms = 50;
    cfg.influx = Some(icfg);
    cfg.mqtt = Some(trackgate::config::MqttConfig {
        url: broker.url.clone(),
        client_id: format!("tg-sim-e2e-{}", std::process::id()),
        ..Default::default()
    });
    let gw = trackgate::server::start(cfg).await.expect("server starts");
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
        let lat = body["lat"].as_f64().expect("lat");
        let lon = body["lon"].as_f64().expect("lon");
        assert!(close(lat, last.lat), "{} lat {lat} vs {}", d.id, last.lat);
        assert!(close(lon, last.lon), "{} lon {lon} vs {}", d.id, last.lon);
    }

    // InfluxDB: exactly one `position` point per ACKed fix (resends and backlog overwrite
    // the same point: keyed by device and fix time), and ETA points for every shipment.
    for d in &report.devices {
        let q = format!("SELECT count(lat) FROM position WHERE device = '{}'", d.id);
        let n = wait_count(&influx.url, &q, |n| n >= d.acked as i64).await;
        assert_eq!(n, d.acked as i64, "{}: points vs ACKed fixes", d.id);
        let q = format!("SELECT count(eta) FROM eta WHERE shipment = 'sim-{}'", d.id);
        let n = wait_count(&influx.url, &q, |n| n > 0).await;
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

/// `/api/events?type=…&shipment=…` items (the alert bodies webhooks also get).
async fn events(api: &str, kind: &str) -> Vec<Value> {
    let v: Value = reqwest::Client::new()
        .get(format!("{api}/api/events"))
        .query(&[("type", kind), ("limit", "1000")])
        .send()
        .await
        .expect("events")
        .json()
        .await
        .expect("json");
    v["events"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_shows_devices_etas_arrivals_and_late_and_off_route_exceptions() {
    let args = sim::demo::DemoArgs {
        http: "127.0.0.1:0".parse().expect("addr"),
        data: Some(common::temp_dir("demo")),
        devices: Some(8),
        speedup: Some(120.0),
        duration: None,
        summary: 0.0,
    };
    let d = sim::demo::start(&args).await.expect("demo starts");
    let api = d.scenario.api.url.clone();
    // Shipment ids in fleet order, as the fleet builds them (`sim-<device id>`).
    let fleet: Vec<String> = d
        .scenario
        .assign_kinds()
        .iter()
        .enumerate()
        .map(|(index, k)| {
            let imei = sim::proto::imei(&d.scenario.imei_prefix, index as u64 + 1);
            let p = (k.build)(&sim::proto::Identity { imei, index }).expect("builds");
            format!("sim-{}", p.device_id())
        })
        .collect();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(sim::demo::run(d, 0.0, async move {
        let _ = stop_rx.await;
    }));

    // Twists by index (shipments::Twist::for_index): 1 and 5 late, 3 and 7 off route.
    // Trucks reach their midway depot after 25–35 simulated minutes (13–18 s at 120x).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let (mut late, mut off, mut arrived) = (Vec::new(), Vec::new(), Vec::new());
    while tokio::time::Instant::now() < deadline {
        late = events(&api, "late").await;
        off = events(&api, "off_route").await;
        arrived = events(&api, "arrived").await;
        if !late.is_empty() && !off.is_empty() && !arrived.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Trucks stop at their midway depot, so the tracker sees them arrive there.
    assert!(
        arrived.iter().any(|e| e["stop"] == "mid"),
        "no arrival at a midway depot: {arrived:?}"
    );
    let shipments_of = |ev: &[Value]| -> std::collections::BTreeSet<String> {
        ev.iter()
            .filter_map(|e| e["shipment"].as_str().map(str::to_string))
            .collect()
    };
    let (late, off) = (shipments_of(&late), shipments_of(&off));
    assert!(
        !late.is_empty() && !off.is_empty(),
        "late {late:?} off {off:?}"
    );

    // Only the twisted plans raise them; fair plans stay quiet.
    let shipments: Vec<Value> = reqwest::get(format!("{api}/api/shipments"))
        .await
        .expect("shipments")
        .json()
        .await
        .expect("json");
    assert_eq!(shipments.len(), 8, "one shipment per truck");
    let index_of = |sid: &str| fleet.iter().position(|f| f == sid);
    for s in &late {
        assert_eq!(index_of(s).map(|i| i % 4), Some(1), "late raised for {s}");
    }
    for s in &off {
        assert_eq!(
            index_of(s).map(|i| i % 4),
            Some(3),
            "off_route raised for {s}"
        );
    }
    // Every truck is listed live and every shipment has ETAs for its stops.
    let devices: Vec<Value> = reqwest::get(format!("{api}/api/devices"))
        .await
        .expect("devices")
        .json()
        .await
        .expect("json");
    assert_eq!(devices.len(), 8, "{devices:?}");
    for s in &shipments {
        assert!(
            s["stops"]
                .as_array()
                .is_some_and(|st| st.iter().all(|x| x["eta"].is_string())),
            "{s}"
        );
    }
    let _ = stop_tx.send(());
    let report = run.await.expect("joins").expect("demo runs");
    assert_eq!(report.stats.bad_acks, 0, "{:?}", report.stats);
}
