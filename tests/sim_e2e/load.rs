//! The load harness against the gateway and its baseline servers.

use crate::sim;
use crate::support::gateway;

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
    let gw = gateway::start("").await;

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
