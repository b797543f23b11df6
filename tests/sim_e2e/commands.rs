//! The simulated fleet answers downlink commands as the firmwares do: a command queued for
//! each connected GT06, Teltonika (TCP) and JT/T 808 device reaches it after its next frame,
//! the device answers (GT06 0x15, Teltonika codec 12 response, JT/T 808 0x0001), the command
//! ends `acknowledged`, and the devices' sessions carry on undisturbed (every fix ACKed, no
//! reply misread).

use crate::scenario_for;
use crate::support::{gateway, poll::eventually};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_answers_commands_and_keeps_reporting() {
    let mut cfg = gateway::test_config("");
    // The simulator's clock runs `speedup` times faster: its fixes are dated ahead.
    cfg.devices.max_future_secs = crate::sim::demo::DEMO_MAX_FUTURE_SECS;
    let gw = trackgate::server::start(cfg).await.expect("server starts");
    let mut sc = scenario_for(
        &gw,
        "smoke.toml",
        &[
            ("gt06", "gt06", "tcp"),
            ("teltonika", "teltonika", "tcp"),
            ("jt808", "jt808", "tcp"),
        ],
    );
    sc.mix = BTreeMap::from([
        ("gt06".to_string(), 1),
        ("teltonika".to_string(), 1),
        ("jt808_2013".to_string(), 1),
    ]);
    sc.devices = 3;
    // No coverage gaps: a gap drops the link, and a command written just before it is lost
    // with the socket (it stays `sent` until it expires — see README, Downlink commands).
    sc.motion.gaps_per_hour = 0.0;
    sc.duration_s = Some(8.0);
    let fleet = tokio::spawn({
        let sc = sc.clone();
        async move { crate::sim::fleet::run(&sc, std::future::pending()).await }
    });

    // Once the three devices are known, queue one reboot each (their protocol is known).
    let devices: Vec<(String, String)> =
        eventually(Duration::from_secs(10), "three devices", async || {
            let (_, v) = gateway::get_json(&gw, "/api/devices").await;
            let list: Vec<(String, String)> = v
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| {
                    let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
                    (s("id"), s("protocol"))
                })
                .collect();
            if list.len() == 3 {
                Ok(list)
            } else {
                Err(format!("{list:?}"))
            }
        })
        .await;
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for (device, protocol) in &devices {
        let resp = client
            .post(format!(
                "http://{}/api/devices/{device}/commands",
                gw.http_addr
            ))
            .json(&json!({"type": "reboot"}))
            .send()
            .await
            .expect("POST");
        assert_eq!(resp.status().as_u16(), 202, "{device} ({protocol})");
        let v: Value = resp.json().await.expect("json");
        ids.push((v["id"].as_u64().expect("id"), protocol.clone()));
    }
    for (id, protocol) in &ids {
        let v = eventually(
            Duration::from_secs(8),
            &format!("{protocol} command {id}"),
            async || {
                let (_, v) = gateway::get_json(&gw, &format!("/api/commands/{id}")).await;
                if v["status"] == "acknowledged" {
                    Ok(v)
                } else {
                    Err(v.to_string())
                }
            },
        )
        .await;
        let answer = v["answer"].as_str().unwrap_or_default();
        let want = match protocol.as_str() {
            "gt06" => "RESET=Success!",
            "teltonika" => "cpureset: OK",
            _ => "0x8105 result 0 (ok)",
        };
        assert_eq!(answer, want, "{v}");
    }
    let report = fleet.await.expect("fleet task").expect("scenario runs");
    let s = &report.stats;
    assert_eq!(s.bad_acks, 0, "the commands were not taken for ACKs: {s:?}");
    assert_eq!(s.records_acked, s.records_generated, "{s:?}");
    gw.shutdown().await;
}
