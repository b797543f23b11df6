//! The log on NATS JetStream (`[log] backend = "jetstream"`) against real `nats-server`
//! processes on loopback: ACKs only after JetStream stored the record, no ACK while it cannot,
//! a second gateway on the same stream sees what the first one ACKed, and a three-node
//! cluster (R3) keeps ACKing with one node killed.

mod support;

use std::time::Duration;
use support::eventually;
use support::gateway::{connect, get_json, gt06_login, send_expect, test_config, wait_device};
use support::services::{free_port, nats_server, Service};
use support::wire::{gt06_ack, gt06_location, Gt06Fix, GT06_IMEI};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use trackgate::config::Config;
use trackgate::pipeline::backend::{JetStreamConfig, LogBackend};
use trackgate::server::{self, Running};

/// 2026-11-27 00:00:00 UTC.
const BASE: i64 = 1_795_737_600;

/// GT06 location `i`: one second and 0.001° north per step from 52° N 13° E.
fn location(i: u32) -> (Vec<u8>, f64) {
    let lat = 52.0 + f64::from(i) * 0.001;
    let fix = Gt06Fix {
        time: chrono::DateTime::from_timestamp(BASE + i64::from(i), 0).unwrap(),
        satellites: 8,
        lat,
        lon: 13.0,
        speed: 40,
        course: 0,
    };
    (gt06_location(&fix, i as u16 + 2), lat)
}

fn config(servers: &[&Service], stream: &str, replicas: usize) -> Config {
    let mut cfg = test_config("");
    cfg.log.backend = LogBackend::Jetstream;
    cfg.log.jetstream = Some(JetStreamConfig {
        servers: servers.iter().map(|s| s.url.clone()).collect(),
        stream: stream.into(),
        replicas,
        partitions: 4,
        publish_timeout_ms: 1500,
        ..Default::default()
    });
    cfg
}

async fn start(cfg: Config) -> Running {
    server::start(cfg)
        .await
        .expect("gateway on jetstream starts")
}

fn lat_is(want: f64) -> impl Fn(&serde_json::Value) -> bool {
    move |v| v["lat"].as_f64().is_some_and(|l| (l - want).abs() < 1e-5)
}

/// Sends location `i` on a new connection until the gateway ACKs it (the device resends
/// after a missing ACK, as real ones do), within `within`.
async fn deliver(r: &Running, i: u32, within: Duration) {
    let (frame, _) = location(i);
    let ack = gt06_ack(0x12, i as u16 + 2);
    eventually(within, &format!("location {i} ACKed"), async || {
        let mut s = connect(r, "gt06").await;
        gt06_login(&mut s).await;
        s.write_all(&frame).await.map_err(|e| e.to_string())?;
        let mut got = vec![0u8; ack.len()];
        match tokio::time::timeout(Duration::from_secs(3), s.read_exact(&mut got)).await {
            Ok(Ok(_)) if got == ack => Ok(()),
            other => Err(format!("{other:?} {got:02x?}")),
        }
    })
    .await
}

async fn stream_messages(url: &str, stream: &str) -> u64 {
    let client = async_nats::connect(url).await.expect("test client");
    let js = async_nats::jetstream::new(client);
    let s = js.get_stream(stream).await.expect("stream exists");
    s.get_info().await.expect("stream info").state.messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_records_are_in_the_stream_and_a_second_gateway_reads_them() {
    let store = tempfile::tempdir().unwrap();
    let nats = nats_server(free_port(), store.path(), None);
    let a = start(config(&[&nats], "tg1", 1)).await;

    let mut s = connect(&a, "gt06").await;
    gt06_login(&mut s).await;
    let (frame, lat) = location(1);
    send_expect(&mut s, &frame, &gt06_ack(0x12, 3)).await;
    wait_device(&a, GT06_IMEI, lat_is(lat)).await;
    assert!(stream_messages(&nats.url, "tg1").await >= 1);

    // Another gateway (its own storage dir) on the same stream builds the same live state.
    let b = start(config(&[&nats], "tg1", 1)).await;
    wait_device(&b, GT06_IMEI, lat_is(lat)).await;
    b.shutdown().await;
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_acked_while_jetstream_is_down_and_the_resend_is_kept() {
    let store = tempfile::tempdir().unwrap();
    let port = free_port();
    let nats = nats_server(port, store.path(), None);
    let r = start(config(&[&nats], "tg2", 1)).await;
    deliver(&r, 1, Duration::from_secs(10)).await;

    drop(nats);
    let mut s = connect(&r, "gt06").await;
    gt06_login(&mut s).await;
    let (frame, lat) = location(2);
    s.write_all(&frame).await.unwrap();
    let mut b = [0u8; 1];
    match tokio::time::timeout(Duration::from_millis(3000), s.read(&mut b)).await {
        Err(_) | Ok(Ok(0)) | Ok(Err(_)) => {}
        Ok(Ok(_)) => panic!("an ACK byte ({:#04x}) while JetStream is down", b[0]),
    }

    // The server comes back on the same port and store; the device's resend is ACKed and
    // reaches the consumers.
    let _nats = nats_server(port, store.path(), None);
    deliver(&r, 2, Duration::from_secs(30)).await;
    wait_device(&r, GT06_IMEI, lat_is(lat)).await;
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_node_cluster_keeps_acking_with_one_node_killed() {
    let stores: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let routes: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut nodes: Vec<Service> = (0..3)
        .map(|i| {
            nats_server(
                free_port(),
                stores[i].path(),
                Some((&format!("n{i}"), routes[i], &routes)),
            )
        })
        .collect();
    // The cluster elects its JetStream leader after the routes connect: the gateway's start
    // (which creates the R3 stream) is retried until it can.
    let cfg = config(&nodes.iter().collect::<Vec<_>>(), "tg3", 3);
    let r = eventually(
        Duration::from_secs(30),
        "gateway starts on the cluster",
        async || server::start(cfg.clone()).await.map_err(|e| e.to_string()),
    )
    .await;
    deliver(&r, 1, Duration::from_secs(20)).await;
    assert!(stream_messages(&nodes[0].url, "tg3").await >= 1);

    // SIGKILL one node: two of three replicas keep the quorum, ACKs go on.
    let killed = nodes.remove(1);
    drop(killed);
    for i in 2..5 {
        deliver(&r, i, Duration::from_secs(30)).await;
    }
    // The killed node may have held the reader's (single-replica) consumer, or led the
    // cluster: readers are remade once the cluster answers again (seconds on a quiet
    // machine; the limit allows for a loaded CI machine and the readers' retry backoff).
    let (_, lat) = location(4);
    eventually(
        Duration::from_secs(15),
        "live state after the kill",
        async || {
            let (_, v) = get_json(&r, &format!("/api/devices/{GT06_IMEI}")).await;
            if lat_is(lat)(&v) {
                Ok(())
            } else {
                Err(v.to_string())
            }
        },
    )
    .await;

    // `trackgate cluster status` sees the leader, the dead replica and the consumers.
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("trackgate.toml");
    let servers: Vec<String> = nodes.iter().map(|n| format!("{:?}", n.url)).collect();
    std::fs::write(
        &conf,
        format!(
            "[log]\nbackend = \"jetstream\"\n[log.jetstream]\nservers = [{}]\nstream = \"tg3\"\n",
            servers.join(", ")
        ),
    )
    .unwrap();
    let status = eventually(Duration::from_secs(45), "consumers caught up", async || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_trackgate"))
            .args(["cluster", "status", "--json", "--config"])
            .arg(&conf)
            .output()
            .map_err(|e| e.to_string())?;
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| format!("{e}: {out:?}"))?;
        let consumers = v["consumers"].as_array().cloned().unwrap_or_default();
        if !consumers.is_empty() && consumers.iter().all(|c| c["lag"] == 0) {
            Ok(v)
        } else {
            Err(v.to_string())
        }
    })
    .await;
    assert_eq!(status["stream"], "tg3");
    assert!(status["leader"].is_string(), "{status}");
    let replicas = status["replicas"].as_array().unwrap();
    assert_eq!(replicas.len(), 3, "{status}");
    assert!(
        replicas.iter().any(|x| x["current"] == false),
        "the killed node is not current: {status}"
    );
    r.shutdown().await;
}
