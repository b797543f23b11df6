//! The Mosquitto harness itself: a private broker starts, accepts a client, and a retained
//! message published to it is delivered to a later subscriber. Other MQTT tests build on it.

mod support;

use std::process::Command;

#[test]
fn private_broker_round_trips_a_retained_message() {
    let broker = support::services::mosquitto();
    let port = broker.port.to_string();
    let pubr = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "t/x",
            "-m",
            "hello",
            "-r",
            "-q",
            "1",
        ])
        .status()
        .expect("mosquitto_pub (package mosquitto-clients)");
    assert!(pubr.success());
    let out = Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "t/x",
            "-C",
            "1",
            "-W",
            "5",
        ])
        .output()
        .expect("mosquitto_sub");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "hello");
}
