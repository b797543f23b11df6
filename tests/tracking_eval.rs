//! `trackgate eval-eta` on the shipped synthetic trip set: the fixture is exactly what the
//! generator makes from seed 42, the JSON has the documented shape, and the engine beats the
//! naive baseline where it matters (these are regression bounds on the committed figures,
//! see docs/tracking.md).

use serde_json::Value;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_trackgate");
const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tracking");

#[test]
fn the_fixture_is_the_seeded_generator_output() {
    let dir = tempfile::tempdir().expect("tmp");
    let st = Command::new(BIN)
        .args(["eval-eta", "--generate"])
        .arg(dir.path())
        .args(["--seed", "42", "--count", "40"])
        .status()
        .expect("run");
    assert!(st.success());
    for f in ["shipment.json", "trips.csv"] {
        let a = std::fs::read(dir.path().join(f)).expect("generated");
        let b = std::fs::read(Path::new(FIX).join(f)).expect("fixture");
        assert!(a == b, "{f} differs from the generator output");
    }
}

#[test]
fn eval_json_has_the_documented_shape_and_beats_the_naive_baseline() {
    let out = Command::new(BIN)
        .args(["eval-eta", "--json", "--shipment"])
        .arg(Path::new(FIX).join("shipment.json"))
        .arg("--trips")
        .arg(Path::new(FIX).join("trips.csv"))
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let buckets = v["buckets"].as_array().expect("buckets");
    let names: Vec<&str> = buckets
        .iter()
        .filter_map(|b| b["horizon"].as_str())
        .collect();
    assert_eq!(names, ["0-15m", "15-60m", "1-2h", "2-8h"]);
    for b in buckets {
        let mut keys: Vec<&str> = b
            .as_object()
            .expect("bucket")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "bias_s",
                "horizon",
                "mae_s",
                "n",
                "naive",
                "p90_s",
                "within_band"
            ]
        );
        let mut nk: Vec<&str> = b["naive"]
            .as_object()
            .expect("naive")
            .keys()
            .map(String::as_str)
            .collect();
        nk.sort_unstable();
        assert_eq!(nk, ["bias_s", "mae_s", "p90_s", "within_band"]);
        assert!(b["n"].as_u64().unwrap_or(0) > 1000, "{b}");
    }
    for b in &buckets[1..] {
        let (e, n) = (
            b["mae_s"].as_f64().unwrap_or(f64::MAX),
            b["naive"]["mae_s"].as_f64().unwrap_or(0.0),
        );
        assert!(
            e * 3.0 < n,
            "engine {e} s vs naive {n} s in {}",
            b["horizon"]
        );
        assert!(b["within_band"].as_f64().unwrap_or(0.0) >= 0.7, "{b}");
    }
    let a = &v["alerts"];
    let mut ak: Vec<&str> = a
        .as_object()
        .expect("alerts")
        .keys()
        .map(String::as_str)
        .collect();
    ak.sort_unstable();
    assert_eq!(ak, ["flaps", "lead_s", "precision", "recall"]);
    // 6 on the committed set (see docs/tracking.md): a bound, so it cannot silently grow.
    assert!(a["flaps"].as_u64().unwrap_or(u64::MAX) <= 2, "{a}");
    assert!(a["recall"].as_f64().unwrap_or(0.0) >= 0.9, "{a}");
    assert!(a["precision"].as_f64().unwrap_or(0.0) >= 0.8, "{a}");
    assert!(a["lead_s"].as_f64().unwrap_or(0.0) > 0.0, "{a}");
}

#[test]
fn bad_inputs_are_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let trips = dir.path().join("t.csv");
    std::fs::write(&trips, "trip,time,lat,lon\na,yesterday,52,13\n").expect("write");
    let out = Command::new(BIN)
        .args(["eval-eta", "--shipment"])
        .arg(Path::new(FIX).join("shipment.json"))
        .arg("--trips")
        .arg(&trips)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("trips file line 2: time is neither RFC 3339 nor unix seconds"),
        "{err}"
    );
}
