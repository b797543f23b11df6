//! `trackgate replay`: the log is the embedded store when no InfluxDB is configured; a later
//! replay backfills a real InfluxDB, honouring `--from`, and refuses to run beside a live
//! gateway on the same storage dir.

mod common;
mod support;

use common::{gt06_ack, gt06_frame, send_expect};
use std::process::Command;

fn location(i: u8) -> Vec<u8> {
    let mut c = vec![26, 11, 27, 5, i, 0, 0xC8];
    c.extend_from_slice(&(((52.0 * 60.0) * 30000.0_f64) as u32).to_be_bytes());
    c.extend_from_slice(&(((13.0 * 60.0) * 30000.0_f64) as u32).to_be_bytes());
    c.push(10);
    c.extend_from_slice(&((1u16 << 12) | (1 << 10)).to_be_bytes());
    c.extend_from_slice(&[0x01, 0xCC, 0x00, 0x28, 0x7D, 0x00, 0x1F, 0xB8]);
    gt06_frame(0x12, &c, i as u16)
}

fn replay(config: &std::path::Path, url: &str, from: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trackgate"));
    cmd.args(["replay", "--config"]).arg(config);
    cmd.args(["--to-influx", url]);
    if let Some(f) = from {
        cmd.args(["--from", f]);
    }
    cmd.output().expect("run trackgate replay")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_backfills_influx_from_the_log() {
    let influx = support::services::influxd(0);
    let cfg = common::test_config("");
    let dir = cfg.storage.dir.clone();
    let cfg_path = dir.join("replay.toml");
    std::fs::write(
        &cfg_path,
        format!("[storage]\ndir = \"{}\"\n", dir.display()),
    )
    .unwrap();
    let r = trackgate::server::start(cfg).await.unwrap();
    let mut s = common::connect(&r, "gt06").await;
    send_expect(
        &mut s,
        &hex::decode("78780d01086471700328358100093f040d0a").unwrap(),
        &hex::decode("78780501000955940d0a").unwrap(),
    )
    .await;
    for i in 0..20u8 {
        send_expect(&mut s, &location(i), &gt06_ack(0x12, i as u16)).await;
    }
    // While the gateway runs, the log is locked.
    let out = replay(&cfg_path, &influx.url, None);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("locked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(s);
    r.shutdown().await;

    // --from in the future: everything skipped.
    let out = replay(&cfg_path, &influx.url, Some("2999-01-01T00:00:00Z"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rep["records"], 0);
    assert_eq!(rep["skipped"], 20);

    let out = replay(&cfg_path, &influx.url, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rep["records"], 20);
    assert_eq!(rep["lines_written"], 20);
    let v: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/query", influx.url))
        .query(&[
            ("db", "trackgate"),
            ("q", "SELECT count(lat) FROM position"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["results"][0]["series"][0]["values"][0][1], 20, "{v}");
}
