//! Fault injection with real processes on loopback: the gateway SIGKILLed mid-stream, and the
//! database frozen (SIGSTOP) while devices keep sending. Every ACKed record must end up in
//! InfluxDB exactly once.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::eventually;
use support::gateway::{metric, temp_dir, test_config, wait_metric};
use support::influxql::Influxql;
use support::services::{free_port, influxd};
use support::wire::{gt06_ack, Gt06Fix, GT06_IMEI, GT06_LOGIN, GT06_LOGIN_ACK};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// 2026-11-27 00:00:00 UTC.
const BASE: i64 = 1_795_737_600;

/// GT06 0x12 location for record `i`: fix time BASE + i s, 8 satellites, 50 km/h, course 90°,
/// moving north by 0.001′ per record from 52° N 13° E.
fn location(i: u32) -> Vec<u8> {
    let fix = Gt06Fix {
        time: chrono::DateTime::from_timestamp(BASE + i as i64, 0).unwrap(),
        satellites: 8,
        lat: 52.0 + i as f64 * 0.001 / 60.0,
        lon: 13.0,
        speed: 50,
        course: 90,
    };
    support::wire::gt06_location(&fix, (i % 0xffff) as u16)
}

/// Writes `frame`, waits for exactly `ack` (2 s). Err on any failure (disconnect, timeout).
async fn exchange(s: &mut TcpStream, frame: &[u8], ack: &[u8]) -> Result<(), String> {
    s.write_all(frame).await.map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; ack.len()];
    match tokio::time::timeout(Duration::from_secs(2), s.read_exact(&mut buf)).await {
        Ok(Ok(_)) if buf == ack => Ok(()),
        Ok(Ok(_)) => Err(format!("wrong ACK {}", hex::encode(&buf))),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("ACK timeout".into()),
    }
}

/// Connects and logs in, retrying while the gateway is (re)starting (10 s).
async fn login(port: u16) -> TcpStream {
    let login = hex::decode(GT06_LOGIN).unwrap();
    let ack = hex::decode(GT06_LOGIN_ACK).unwrap();
    eventually(
        Duration::from_secs(10),
        &format!("a login on port {port}"),
        async || {
            let mut s = TcpStream::connect(("127.0.0.1", port))
                .await
                .map_err(|e| format!("connect: {e}"))?;
            exchange(&mut s, &login, &ack).await?;
            Ok::<_, String>(s)
        },
    )
    .await
}

/// Polls InfluxDB until it holds at least `n` points of the test device (30 s); returns
/// their fix times (Unix seconds).
async fn wait_points(url: &str, n: usize) -> Vec<i64> {
    let q = format!("SELECT lat FROM position WHERE device = '{GT06_IMEI}'");
    Influxql::new(url, "trackgate")
        .epoch("s")
        .wait_rows(&q, n, Duration::from_secs(30))
        .await
        .iter()
        .map(|r| r["time"].as_i64().expect("integer time"))
        .collect()
}

fn spawn_gateway(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_trackgate"))
        .args(["serve", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start trackgate")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_loses_no_acked_record_and_duplicates_none() {
    let influx = influxd(0);
    let dir = temp_dir("kill");
    let gt06_port = free_port();
    let http_port = free_port();
    let mut toml = format!(
        "[http]\nlisten = \"127.0.0.1:{http_port}\"\n[storage]\ndir = \"{}\"\n\
         [influx]\nurl = \"{}\"\nflush_interval_ms = 50\n",
        dir.display(),
        influx.url
    );
    for p in trackgate::protocol::REGISTRY {
        if p.name() == "gt06" {
            toml.push_str(&format!(
                "[protocols.gt06]\nlisten = \"127.0.0.1:{gt06_port}\"\n"
            ));
        } else {
            toml.push_str(&format!("[protocols.{}]\nenabled = false\n", p.name()));
        }
    }
    let cfg_path = dir.join("trackgate.toml");
    std::fs::write(&cfg_path, toml).unwrap();

    let mut gw = spawn_gateway(&cfg_path);
    let total = 300u32;
    let kills = [90u32, 200];
    let mut acked = Vec::new();
    let mut s = login(gt06_port).await;
    let mut i = 0;
    while i < total {
        if kills.contains(&i) && acked.len() == i as usize {
            // Kill while the device is mid-stream: the frame below goes to a dead socket.
            gw.kill().unwrap();
            gw.wait().unwrap();
            let _ = s.write_all(&location(i)).await;
            gw = spawn_gateway(&cfg_path);
            s = login(gt06_port).await;
        }
        match exchange(&mut s, &location(i), &gt06_ack(0x12, (i % 0xffff) as u16)).await {
            Ok(()) => {
                acked.push(i);
                i += 1;
            }
            // No ACK: the device keeps the record and sends it again after reconnecting.
            Err(_) => s = login(gt06_port).await,
        }
    }
    assert_eq!(acked.len(), total as usize);
    let points = wait_points(&influx.url, total as usize).await;
    let _ = gw.kill();
    let _ = gw.wait();
    let mut want: Vec<i64> = acked.iter().map(|i| BASE + *i as i64).collect();
    want.sort();
    let mut got = points.clone();
    got.sort();
    assert_eq!(got.len(), want.len(), "every ACKed record exactly once");
    assert_eq!(got, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_database_delays_writes_but_never_acks_or_data() {
    let influx = influxd(0);
    let mut cfg = test_config("");
    let mut icfg = trackgate::sinks::influx::InfluxConfig::new(influx.url.clone());
    icfg.flush_interval_ms = 50;
    icfg.timeout_ms = 300;
    icfg.retry_min_ms = 50;
    icfg.retry_max_ms = 300;
    cfg.influx = Some(icfg);
    let r = trackgate::server::start(cfg).await.unwrap();
    let port = r.addr("gt06", "tcp").unwrap().port();
    let lag = "trackgate_wal_consumer_lag_records{consumer=\"influx\"}";

    let mut s = login(port).await;
    for i in 0..50 {
        exchange(&mut s, &location(i), &gt06_ack(0x12, i as u16))
            .await
            .unwrap();
    }
    assert_eq!(wait_points(&influx.url, 50).await.len(), 50);

    // Freeze the database: writes hang and time out; devices must not notice.
    let pid = influx.pid().to_string();
    assert!(Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap()
        .success());
    let t0 = Instant::now();
    for i in 50..150 {
        exchange(&mut s, &location(i), &gt06_ack(0x12, i as u16))
            .await
            .unwrap_or_else(|e| panic!("ACK {i} during the outage: {e}"));
    }
    let acks_during_outage = t0.elapsed();
    // The lag is visible while the database is frozen, and the sink keeps retrying: several
    // write requests time out before the database thaws.
    wait_metric(&r, lag, |n| n > 0.0).await;
    let timeouts = "trackgate_influx_write_errors_total{kind=\"Network\"}";
    let before = metric(&r, timeouts).unwrap_or(0.0);
    wait_metric(&r, timeouts, |n| n >= before + 3.0).await;
    assert!(Command::new("kill")
        .args(["-CONT", &pid])
        .status()
        .unwrap()
        .success());

    let points = wait_points(&influx.url, 150).await;
    assert_eq!(points.len(), 150, "all records arrive after the outage");
    wait_metric(&r, lag, |n| n == 0.0).await;
    assert!(
        acks_during_outage < Duration::from_secs(20),
        "100 ACKs took {acks_during_outage:?} while the database was frozen"
    );
    r.shutdown().await;
}
