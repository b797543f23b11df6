//! MQTT device ingest against a private real Mosquitto: OwnTracks and mapped JSON positions
//! reach the API, and a QoS 1 message published while trackgate is down is delivered once it
//! is back (persistent session, `clean_session = false`).

mod support;

use std::process::Command;
use support::gateway::*;
use support::mqtt::{publish, publish_until_seen};
use support::services;
use trackgate::config::Config;
use trackgate::mqtt::MqttConfig;
use trackgate::server;

fn config(broker: &str, dir: &std::path::Path) -> Config {
    let mut cfg = test_config("");
    cfg.storage.dir = dir.to_path_buf();
    let toml = format!(
        "[mqtt]\nurl = \"{broker}\"\nclient_id = \"tg-e2e\"\n[mqtt.ingest]\nreconnect_min_ms = 50\n\
         [[mqtt.ingest.mappings]]\ntopic = \"fleet/+/gps\"\ndevice_id = \"van-{{1}}\"\n\
         lat = \"p.la\"\nlon = \"p.lo\"\ntime = \"t\"\ntime_unit = \"ms\"\nspeed = \"v\"\nspeed_unit = \"ms\"\n"
    );
    let m: MqttConfig = Config::from_toml(&toml).unwrap().mqtt.unwrap();
    cfg.mqtt = Some(m);
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owntracks_mapped_and_queued_while_down() {
    let broker = services::mosquitto();
    let dir = temp_dir("mqtt");
    let r = server::start(config(&broker.url, &dir)).await.unwrap();
    let v = publish_until_seen(
        &r,
        broker.port,
        "owntracks/jane/phone",
        r#"{"_type":"location","tst":1795757400,"lat":52.52,"lon":13.405,"vel":30,"cog":90,"alt":34,"acc":8,"batt":70}"#,
        "jane.phone",
    )
    .await;
    assert_eq!(v["protocol"], "owntracks");
    assert_eq!(v["time"], "2026-11-27T05:30:00Z");
    assert_eq!(
        (v["lat"].as_f64().unwrap(), v["lon"].as_f64().unwrap()),
        (52.52, 13.405)
    );
    assert_eq!(v["speed"].as_f64().unwrap(), 30.0);
    assert_eq!(v["course"].as_f64().unwrap(), 90.0);

    // The subscription exists now: one publish is enough for a mapped device.
    publish(
        broker.port,
        "fleet/17/gps",
        r#"{"p":{"la":40.4168,"lo":-3.7038},"t":1795757460000,"v":10}"#,
    );
    let v = wait_device(&r, "van-17", |v| v["lat"].as_f64().is_some()).await;
    // The API names the transport's registry entry; the records themselves say `mqtt`.
    assert_eq!(v["protocol"], "owntracks");
    assert_eq!(v["time"], "2026-11-27T05:31:00Z");
    assert_eq!(
        (v["lat"].as_f64().unwrap(), v["lon"].as_f64().unwrap()),
        (40.4168, -3.7038)
    );
    assert_eq!(v["speed"].as_f64().unwrap(), 36.0);

    // Gateway down; a QoS 1 message is queued by the broker for the persistent session.
    r.shutdown().await;
    publish(
        broker.port,
        "owntracks/bob/car",
        r#"{"_type":"location","tst":1795757520,"lat":41.9028,"lon":12.4964}"#,
    );
    let r = server::start(config(&broker.url, &dir)).await.unwrap();
    let v = wait_device(&r, "bob.car", |v| v["lat"].as_f64().is_some()).await;
    assert_eq!(v["time"], "2026-11-27T05:32:00Z");
    assert_eq!(
        (v["lat"].as_f64().unwrap(), v["lon"].as_f64().unwrap()),
        (41.9028, 12.4964)
    );
    r.shutdown().await;
}

/// The broker restarts (losing every session: the test broker has no persistence); the
/// subscriber reconnects with backoff and subscribes again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_and_resubscribes_after_broker_restart() {
    let broker = services::mosquitto();
    let port = broker.port;
    let dir = temp_dir("mqtt-restart");
    let r = server::start(config(&broker.url, &dir)).await.unwrap();
    publish_until_seen(
        &r,
        port,
        "owntracks/a/one",
        r#"{"_type":"location","tst":1795757400,"lat":1.0,"lon":2.0}"#,
        "a.one",
    )
    .await;
    drop(broker);
    let _broker = services::mosquitto_on(port);
    let v = publish_until_seen(
        &r,
        port,
        "owntracks/a/two",
        r#"{"_type":"location","tst":1795757400,"lat":3.0,"lon":4.0}"#,
        "a.two",
    )
    .await;
    assert_eq!(
        (v["lat"].as_f64().unwrap(), v["lon"].as_f64().unwrap()),
        (3.0, 4.0)
    );
    r.shutdown().await;
}

/// Every message is PUBACKed once durable: Mosquitto keeps at most 20 unacknowledged QoS 1
/// messages in flight per client, so a gateway that never PUBACKs positions stops receiving
/// after 20 (a regression the simulator found).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_beyond_the_in_flight_window_is_all_delivered() {
    use std::io::Write;
    let broker = services::mosquitto();
    let dir = temp_dir("mqtt-burst");
    let r = server::start(config(&broker.url, &dir)).await.unwrap();
    let first = 1_795_757_400;
    publish_until_seen(
        &r,
        broker.port,
        "owntracks/jane/burst",
        &format!(r#"{{"_type":"location","tst":{first},"lat":52.0,"lon":13.0}}"#),
        "jane.burst",
    )
    .await;
    // 100 more locations in one client session (`-l`: one message per stdin line).
    let mut child = Command::new(services::require("mosquitto_pub"))
        .args(["-h", "127.0.0.1", "-p", &broker.port.to_string()])
        .args(["-q", "1", "-t", "owntracks/jane/burst", "-l"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("mosquitto_pub");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        for i in 1..=100 {
            let lat = 52.0 + i as f64 * 1e-3;
            writeln!(
                stdin,
                r#"{{"_type":"location","tst":{},"lat":{lat},"lon":13.0}}"#,
                first + i
            )
            .expect("write");
        }
    }
    assert!(child.wait().expect("mosquitto_pub exits").success());
    let last = chrono::DateTime::from_timestamp(first + 100, 0).expect("time");
    let v = wait_device(&r, "jane.burst", |v| {
        v["time"].as_str() == Some(&last.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    })
    .await;
    assert!((v["lat"].as_f64().unwrap() - 52.1).abs() < 1e-9, "{v}");
    r.shutdown().await;
}
