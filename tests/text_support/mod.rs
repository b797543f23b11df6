//! Replay harness of the h02, gps103 and tk103 vector tests: replays Traccar's captured
//! frames (tests/fixtures/<p>/vectors.json) through one decoder per session in `seq` order.
//! The expectation check is the one the other text protocols use (`text_vectors::check`),
//! so every protocol is held to the same reading of Traccar's expectations.
#![allow(dead_code)]

#[path = "../text_vectors/mod.rs"]
mod text_vectors;

pub use text_vectors::check;

use chrono::{TimeZone, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use trackgate::protocol::{find, DecodeCtx, Decoder, DecoderOptions};

/// The clock every replay uses (Traccar's tests have none; date-less frames use this).
pub fn ctx() -> DecodeCtx {
    DecodeCtx {
        now: Utc.with_ymd_and_hms(2026, 11, 27, 5, 0, 0).unwrap(),
    }
}

/// A decoder of `protocol` with default options.
pub fn decoder(protocol: &str) -> Box<dyn Decoder> {
    find(protocol)
        .unwrap()
        .new_decoder(&DecoderOptions::default())
        .unwrap()
}

/// The frame bytes of a vector (`text`: one char per byte, ISO-8859-1; `hex`).
pub fn frame_bytes(v: &Value) -> Vec<u8> {
    let f = v["frame"].as_str().unwrap();
    match v["encoding"].as_str().unwrap() {
        "hex" => hex::decode(f).unwrap(),
        _ => f.chars().map(|c| c as u32 as u8).collect(),
    }
}

/// Vectors of a fixture file sorted by (session, seq).
pub fn vectors(json: &str) -> Vec<Value> {
    let mut v: Vec<Value> = serde_json::from_str(json).unwrap();
    v.sort_by_key(|x| {
        (
            x["session"].as_str().unwrap().to_string(),
            x["seq"].as_u64().unwrap(),
        )
    });
    v
}

/// Replays every vector; fails on any unexpected failure and on any vector listed in
/// `unsupported` that passes (so the list cannot go stale).
pub fn replay(protocol: &str, json: &str, unsupported: &[(u64, &str)]) {
    let unsupported: BTreeMap<u64, &str> = unsupported.iter().copied().collect();
    let mut failures = vec![];
    let mut now_passing = vec![];
    let mut session = String::new();
    let mut dec = decoder(protocol);
    for v in vectors(json) {
        let s = v["session"].as_str().unwrap();
        if s != session {
            session = s.to_string();
            dec = decoder(protocol);
        }
        let seq = v["seq"].as_u64().unwrap();
        let res = dec.decode(&frame_bytes(&v), &ctx());
        let key = if s.starts_with("test-integration") {
            1000 + seq
        } else {
            seq
        };
        match (check(&v, &res), unsupported.get(&key)) {
            (Ok(()), Some(reason)) => now_passing.push(format!("seq {key} ({reason})")),
            (Ok(()), None) | (Err(_), Some(_)) => {}
            (Err(e), None) => failures.push(format!("seq {key} {:?}: {e}", v["frame"])),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        now_passing.is_empty(),
        "listed as unsupported but now pass (remove them):\n{}",
        now_passing.join("\n")
    );
}
