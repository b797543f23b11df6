//! `trackgate replay`: the log is the embedded store when no InfluxDB is configured; a later
//! replay backfills a real InfluxDB, honouring `--from`, and refuses to run beside a live
//! gateway on the same storage dir.

mod support;

use chrono::{TimeZone, Utc};
use std::process::Command;
use support::gateway::{self, gt06_login, send_expect};
use support::influxql::Influxql;
use support::wire::{gt06_ack, Gt06Fix};

/// GT06 location `i`: 2026-11-27 05:<i>:00 UTC at 52° N 13° E, 10 km/h.
fn location(i: u8) -> Vec<u8> {
    let fix = Gt06Fix {
        time: Utc.with_ymd_and_hms(2026, 11, 27, 5, i.into(), 0).unwrap(),
        satellites: 8,
        lat: 52.0,
        lon: 13.0,
        speed: 10,
        course: 0,
    };
    support::wire::gt06_location(&fix, i.into())
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
    let cfg = gateway::test_config("");
    let dir = cfg.storage.dir.clone();
    let cfg_path = dir.join("replay.toml");
    std::fs::write(
        &cfg_path,
        format!("[storage]\ndir = \"{}\"\n", dir.display()),
    )
    .unwrap();
    let r = trackgate::server::start(cfg).await.unwrap();
    let mut s = gateway::connect(&r, "gt06").await;
    gt06_login(&mut s).await;
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
    // The 20 positions and the events derived from them (the fleet consumer's
    // motion_start of a device moving at 10 km/h).
    let stored = rep["skipped"].as_u64().unwrap();
    assert!(stored >= 20, "{rep}");

    let out = replay(&cfg_path, &influx.url, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rep["records"], stored);
    assert_eq!(rep["lines_written"], stored);
    let count = Influxql::new(&influx.url, "trackgate")
        .count("SELECT count(lat) FROM position")
        .await;
    assert_eq!(count, 20);
}
