//! The fuzz harnesses (`trackgate::fuzzing`) in the normal suite: every committed fuzz
//! input (`fuzz/seeds/<target>/`, the minimized corpus of the last campaign) and every crash
//! ever found (`fuzz/regressions/<target>/`) is replayed, and every captured device frame in
//! `tests/fixtures/*/vectors.json` goes through the stream, datagram or HTTP harness. Fast:
//! no fuzzing happens here (that is `scripts/fuzz.sh`).
//!
//! `FUZZ_SEED_DIR=fuzz/corpus cargo test --test fuzz_corpus write_seeds -- --ignored` writes
//! the vector inputs as the campaign's starting corpus.

use std::path::{Path, PathBuf};
use trackgate::fuzzing;

/// A harness: raw fuzzer bytes in, a panic when a property breaks.
type Harness = fn(&[u8]);

/// Target name → harness. The WAL target needs a scratch directory; see `wal_segment`.
const TARGETS: &[(&str, Harness)] = &[
    ("stream", fuzzing::stream),
    ("datagram", fuzzing::datagram),
    ("http", fuzzing::http),
    ("mqtt", fuzzing::mqtt),
    ("record", fuzzing::record),
    ("config", fuzzing::config),
    ("shipment_json", fuzzing::shipment_json),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of `fuzz/<kind>/<target>/`, sorted (none when the directory is absent).
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = root().join("fuzz").join(kind).join(target);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.is_file() && p.file_name().is_none_or(|n| n != "README.md"));
    v.sort();
    v
}

#[test]
fn committed_fuzz_inputs_and_regressions_pass() {
    let mut n = 0;
    for (target, harness) in TARGETS {
        for kind in ["seeds", "regressions"] {
            for f in inputs(kind, target) {
                let data = std::fs::read(&f).unwrap();
                harness(&data);
                n += 1;
            }
        }
    }
    for kind in ["seeds", "regressions"] {
        for f in inputs(kind, "wal_segment") {
            let dir = tempfile::tempdir().unwrap();
            fuzzing::wal_segment(&std::fs::read(&f).unwrap(), dir.path());
            n += 1;
        }
    }
    assert!(n > 0, "no committed fuzz inputs found under fuzz/");
}

/// One vector as fuzz inputs: (target, input).
fn vector_inputs(v: &serde_json::Value) -> Vec<(&'static str, Vec<u8>)> {
    let protocol = v["protocol"].as_str().unwrap_or_default();
    let frame = v["frame"].as_str().unwrap_or_default();
    let bytes = match v["encoding"].as_str() {
        Some("hex") => hex::decode(frame).unwrap_or_default(),
        _ => frame.as_bytes().to_vec(),
    };
    let mut out = Vec::new();
    match v["transport"].as_str() {
        Some("http") => {
            let uri = v["http_uri"].as_str().unwrap_or("/");
            out.extend(fuzzing::http_input(protocol, uri, &bytes).map(|i| ("http", i)));
        }
        Some("udp") => {
            out.extend(fuzzing::datagram_input(protocol, &bytes).map(|i| ("datagram", i)));
        }
        _ => {
            out.extend(fuzzing::stream_input(protocol, &bytes).map(|i| ("stream", i)));
            out.extend(fuzzing::datagram_input(protocol, &bytes).map(|i| ("datagram", i)));
        }
    }
    out
}

fn all_vector_inputs() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(root().join("tests/fixtures")).unwrap() {
        let path = dir.unwrap().path().join("vectors.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let list: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        for v in &list {
            out.extend(vector_inputs(v));
        }
    }
    out
}

#[test]
fn every_captured_frame_keeps_the_harness_properties() {
    let inputs = all_vector_inputs();
    assert!(inputs.len() > 500, "vectors found: {}", inputs.len());
    for (target, data) in &inputs {
        let harness = TARGETS.iter().find(|(t, _)| t == target).unwrap().1;
        harness(data);
    }
}

#[test]
#[ignore = "writes the campaign's starting corpus; run by scripts/fuzz.sh"]
fn write_seeds() {
    let out = PathBuf::from(std::env::var("FUZZ_SEED_DIR").expect("FUZZ_SEED_DIR"));
    for (i, (target, data)) in all_vector_inputs().into_iter().enumerate() {
        write(&out.join(target), &format!("vector-{i:05}"), &data);
    }
    // A record, a config and a shipment body, so those targets start from valid inputs.
    let rec = trackgate::pipeline::records::encode_record(&trackgate::model::Record::Position(
        serde_json::from_value(serde_json::json!({
            "device": "864717003283581", "protocol": "gt06",
            "fix_time": "2025-11-27T03:47:56Z", "received": "2025-11-27T03:47:57Z",
            "lat": 52.5, "lon": 13.4, "speed_kmh": 30.0, "course": 90.0, "altitude_m": 0.0,
            "satellites": 9, "valid": true
        }))
        .expect("a position"),
    ));
    write(&out.join("record"), "position", &rec);
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    if let Some(cfg) = readme
        .split("```toml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
    {
        write(&out.join("config"), "readme", cfg.as_bytes());
    }
    let shipment = serde_json::json!({
        "id": "S-1", "device": "864717003283581", "customer": "acme",
        "route": {"type": "LineString", "coordinates": [[13.4, 52.5], [13.5, 52.6]]},
        "stops": [{"id": "a", "lat": 52.6, "lon": 13.5, "planned_arrival": "2026-11-27T10:00:00Z"}]
    });
    write(
        &out.join("shipment_json"),
        "shipment",
        shipment.to_string().as_bytes(),
    );
}

fn write(dir: &Path, name: &str, data: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), data).unwrap();
}
