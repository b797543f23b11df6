//! `trackgate decode` as an installer runs it: hex lines on stdin, JSON lines on stdout.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use support::wire::{gt06_ack, gt06_frame, GT06_IMEI, GT06_LOGIN, GT06_LOGIN_ACK};

fn decode(args: &[&str], input: &str) -> Vec<serde_json::Value> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trackgate"))
        .arg("decode")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run trackgate decode");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON document per line"))
        .collect()
}

#[test]
fn gt06_session_prints_positions_and_acks() {
    // Location split across two input lines, then one line holding a frame and garbage.
    let loc = hex::encode(gt06_frame(
        0x12,
        &[
            26, 11, 27, 5, 30, 0, 0xC9, 0x02, 0x6B, 0x3F, 0x3E, 0x0C, 0x3C, 0x71, 0xDC, 60, 0x14,
            0x5A, 0x01, 0xCC, 0x00, 0x28, 0x7D, 0x00, 0x1F, 0xB8,
        ],
        7,
    ));
    let (a, b) = loc.split_at(20);
    let input = format!("{GT06_LOGIN}\n{a}\n{b}\nzz\n");
    let out = decode(&["--protocol", "gt06"], &input);
    assert_eq!(out.len(), 4);
    assert_eq!(out[0]["error"], serde_json::Value::Null);
    assert_eq!(out[0]["frames"][0]["ack"], GT06_LOGIN_ACK);
    assert_eq!(out[0]["frames"][0]["device"], GT06_IMEI);
    // Half a frame: nothing yet, and the line says why.
    assert_eq!(out[1]["frames"].as_array().unwrap().len(), 0);
    assert!(
        out[1]["error"].as_str().unwrap().contains("incomplete"),
        "{}",
        out[1]
    );
    let p = &out[2]["frames"][0]["positions"][0];
    assert_eq!(p["id"], GT06_IMEI);
    assert_eq!(p["time"], "2026-11-27T05:30:00Z");
    assert!((p["lat"].as_f64().unwrap() - 22.546097).abs() < 1e-5, "{p}");
    assert_eq!(p["speed"], 60.0);
    assert_eq!(p["valid"], true);
    assert_eq!(out[2]["frames"][0]["ack"], hex::encode(gt06_ack(0x12, 7)));
    assert!(
        out[3]["error"].as_str().unwrap().contains("not hex"),
        "{}",
        out[3]
    );
}

#[test]
fn bad_checksum_is_reported_and_ignore_decodes_it() {
    let login = "78780d01086471700328358100093f050d0a"; // CRC 3f04 changed to 3f05
    let out = decode(&["--protocol", "gt06"], &format!("{login}\n"));
    assert!(
        out[0]["error"].as_str().unwrap().contains("checksum"),
        "{}",
        out[0]
    );
    let out = decode(
        &["--protocol", "gt06", "--ignore-checksum"],
        &format!("{login}\n"),
    );
    assert_eq!(out[0]["error"], serde_json::Value::Null, "{}", out[0]);
    assert_eq!(out[0]["frames"][0]["device"], GT06_IMEI);
}

#[test]
fn unknown_protocol_is_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_trackgate"))
        .args(["decode", "--protocol", "nope"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));
}
