//! Replay harness shared by the text-protocol vector tests (h02, gps103, tk103): replays
//! Traccar's captured frames (tests/fixtures/<p>/vectors.json) through one decoder per
//! session in `seq` order and checks Traccar's exact expectations.
#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use trackgate::model::{Alarm, EventKind, IoValue, Position, Record};
use trackgate::protocol::{find, DecodeCtx, DecodeError, Decoded, Decoder, DecoderOptions};

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

/// Traccar's alarm names for a trackgate alarm (several when trackgate merges kinds).
pub fn alarm_names(a: Alarm) -> &'static [&'static str] {
    match a {
        Alarm::Sos => &["sos"],
        Alarm::Overspeed => &["overspeed"],
        Alarm::PowerCut => &["powerCut"],
        Alarm::LowPower => &["lowPower"],
        Alarm::LowBattery => &["lowBattery"],
        Alarm::Vibration => &["vibration"],
        Alarm::Movement => &["movement"],
        Alarm::Tamper => &["tampering", "removing"],
        Alarm::Door => &["door"],
        Alarm::Collision => &["accident"],
        Alarm::GeofenceExit => &["geofenceExit"],
        Alarm::GeofenceEnter => &["geofenceEnter"],
        Alarm::Idle => &["idle"],
        Alarm::HarshAcceleration => &["hardAcceleration"],
        Alarm::HarshBraking => &["hardBraking"],
        _ => &["general"],
    }
}

fn positions(res: &Result<Decoded, DecodeError>) -> Vec<&Position> {
    match res {
        Ok(d) => d
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Position(p) => Some(p),
                _ => None,
            })
            .collect(),
        Err(_) => vec![],
    }
}

fn attrs(d: &Decoded) -> (Vec<&'static str>, BTreeMap<String, IoValue>) {
    let mut alarms = vec![];
    let mut out = BTreeMap::new();
    for r in &d.records {
        match r {
            Record::Position(p) => {
                for a in &p.alarms {
                    alarms.extend_from_slice(alarm_names(*a));
                }
                out.extend(p.io.clone());
                if let Some(i) = p.ignition {
                    out.insert("ignition".into(), IoValue::Bool(i));
                }
                out.insert("course".into(), IoValue::Float(p.course));
                out.insert("speed".into(), IoValue::Float(p.speed_kmh / 1.852));
                out.insert("altitude".into(), IoValue::Float(p.altitude_m));
            }
            Record::Event(e) => {
                if let EventKind::Alarm { alarm } = e.kind {
                    alarms.extend_from_slice(alarm_names(alarm));
                }
                out.extend(e.attributes.clone());
            }
            Record::Eta(_) | Record::Alert(_) => panic!("a decoder produced a derived record"),
        }
    }
    (alarms, out)
}

fn as_f64(v: &IoValue) -> Option<f64> {
    match v {
        IoValue::Int(i) => Some(*i as f64),
        IoValue::Float(f) => Some(*f),
        _ => None,
    }
}

/// Checks one vector's expectation against the decode result.
pub fn check(v: &Value, res: &Result<Decoded, DecodeError>) -> Result<(), String> {
    let exp = &v["expect"];
    let ps = positions(res);
    match v["expect_kind"].as_str().unwrap() {
        "null" => match ps.is_empty() {
            true => Ok(()),
            false => Err("a position was decoded where Traccar expects none".into()),
        },
        "position" | "positions" => {
            let p = ps.first().ok_or_else(|| format!("no position: {res:?}"))?;
            if let Some(t) = exp.get("time").and_then(Value::as_str) {
                let t: DateTime<Utc> = t.parse().unwrap();
                if p.fix_time != t {
                    return Err(format!("time {} != {t}", p.fix_time));
                }
            }
            for (k, got) in [("lat", p.lat), ("lon", p.lon)] {
                if let Some(want) = exp.get(k).and_then(Value::as_f64) {
                    if (got - want).abs() > 1e-5 {
                        return Err(format!("{k} {got} != {want}"));
                    }
                }
            }
            if let Some(valid) = exp.get("valid").and_then(Value::as_bool) {
                if p.valid != valid {
                    return Err(format!("valid {} != {valid}", p.valid));
                }
            }
            Ok(())
        }
        "attribute" => {
            let d = res.as_ref().map_err(|e| format!("error {e}"))?;
            let name = exp["attribute"].as_str().unwrap();
            let (alarms, map) = attrs(d);
            if name == "alarm" {
                let want = exp["value"].as_str().unwrap();
                return match alarms.contains(&want) {
                    true => Ok(()),
                    false => Err(format!("alarm {want} not in {alarms:?}")),
                };
            }
            let got = map
                .get(name)
                .ok_or_else(|| format!("attribute {name} missing from {map:?}"))?;
            match &exp["value"] {
                Value::Number(n) => {
                    let want = n.as_f64().unwrap();
                    let got = as_f64(got).ok_or(format!("{name} = {got:?} not numeric"))?;
                    if (got - want).abs() > 1e-6 {
                        return Err(format!("{name} {got} != {want}"));
                    }
                }
                Value::String(s) => {
                    if got != &IoValue::Text(s.clone()) {
                        return Err(format!("{name} {got:?} != {s:?}"));
                    }
                }
                Value::Bool(b) => {
                    if got != &IoValue::Bool(*b) {
                        return Err(format!("{name} {got:?} != {b}"));
                    }
                }
                other => return Err(format!("{name}: expectation {other} not comparable")),
            }
            Ok(())
        }
        "notnull" | "attributes" => res.as_ref().map(|_| ()).map_err(|e| format!("error {e}")),
        other => Err(format!("unknown expect_kind {other}")),
    }
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
