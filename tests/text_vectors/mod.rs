//! Shared replay of Traccar's captured frames for the text protocols (gl200, meitrack,
//! suntech, watch): one decoder per session (built with the session's Traccar settings mapped
//! to trackgate options), frames in `seq` order, Traccar's exact expectations checked, and an
//! explicit list of vectors trackgate does not meet (each with its reason) that must keep
//! failing — so the list can never go stale.
#![allow(dead_code)]

use bytes::BytesMut;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use trackgate::model::{Alarm, EventKind, IoValue, Record};
use trackgate::protocol::{
    find, ChecksumPolicy, DecodeCtx, DecodeError, Decoded, Decoder, DecoderOptions, FrameResult,
};

pub fn ctx() -> DecodeCtx {
    DecodeCtx {
        now: Utc.with_ymd_and_hms(2026, 11, 27, 5, 0, 0).unwrap(),
    }
}

/// The vectors sorted for replay.
pub fn load(json: &str) -> Vec<Value> {
    let mut v: Vec<Value> = serde_json::from_str(json).unwrap();
    v.sort_by_key(|x| {
        (
            x["session"].as_str().unwrap().to_string(),
            x["seq"].as_u64().unwrap(),
        )
    });
    v
}

/// The frame's bytes: lowercase hex, or text with one char per byte (ISO-8859-1).
pub fn bytes(v: &Value) -> Vec<u8> {
    let f = v["frame"].as_str().unwrap();
    if v["encoding"] == "hex" {
        hex::decode(f).unwrap()
    } else {
        f.chars().map(|c| c as u32 as u8).collect()
    }
}

/// `file.java:line` of the vector: a unique key.
pub fn key(v: &Value) -> String {
    let s = v["source"].as_str().unwrap();
    s.rsplit('/').next().unwrap().to_string()
}

pub fn decoder(
    protocol: &str,
    policy: ChecksumPolicy,
    options: &[(&str, &str)],
) -> Box<dyn Decoder> {
    let mut opts = DecoderOptions {
        checksum: policy,
        ..DecoderOptions::default()
    };
    for (k, v) in options {
        opts.options.insert((*k).into(), (*v).into());
    }
    find(protocol).unwrap().new_decoder(&opts).unwrap()
}

fn alarm_names(a: Alarm) -> &'static [&'static str] {
    match a {
        Alarm::Sos => &["sos"],
        Alarm::PowerCut => &["powerCut"],
        Alarm::PowerOn => &["powerOn", "powerRestored"],
        Alarm::PowerOff => &["powerOff"],
        Alarm::LowBattery => &["lowBattery"],
        Alarm::LowPower => &["lowPower"],
        Alarm::Vibration => &["vibration"],
        Alarm::Tamper => &["tampering", "removing"],
        Alarm::HarshBraking => &["hardBraking", "braking"],
        Alarm::HarshAcceleration => &["hardAcceleration", "acceleration"],
        Alarm::HarshCornering => &["hardCornering", "cornering"],
        Alarm::General => &["general"],
        Alarm::Overspeed => &["overspeed"],
        Alarm::Door => &["door"],
        Alarm::GeofenceEnter => &["geofenceEnter"],
        Alarm::GeofenceExit => &["geofenceExit"],
        Alarm::FallDown => &["fallDown"],
        Alarm::Collision => &["accident"],
        Alarm::Jamming => &["jamming"],
        Alarm::Tow => &["tow"],
        Alarm::Movement => &["movement"],
        Alarm::Fatigue => &["fatigueDriving"],
        _ => &["other"],
    }
}

fn io_f64(v: &IoValue) -> Option<f64> {
    match v {
        IoValue::Int(i) => Some(*i as f64),
        IoValue::Float(f) => Some(*f),
        IoValue::Bool(b) => Some(f64::from(u8::from(*b))),
        IoValue::Text(t) => t.parse().ok(),
    }
}

fn io_text(v: &IoValue) -> String {
    match v {
        IoValue::Text(t) => t.clone(),
        IoValue::Int(i) => i.to_string(),
        IoValue::Bool(b) => b.to_string(),
        IoValue::Float(f) => f.to_string(),
    }
}

/// Traccar attribute name → trackgate io key.
fn key_for(attr: &str) -> String {
    match attr {
        "batteryLevel" => "battery_level".into(),
        "driverUniqueId" => "driver_id".into(),
        "bloodOxygen" => "blood_oxygen".into(),
        "heartRate" => "heart_rate".into(),
        "deviceTemp" => "device_temp".into(),
        other => other.into(),
    }
}

/// Every alarm and attribute of the decoded records, in Traccar's vocabulary.
fn attributes(d: &Decoded) -> (Vec<&'static str>, BTreeMap<String, IoValue>) {
    let mut alarms = vec![];
    let mut attrs = BTreeMap::new();
    for r in &d.records {
        match r {
            Record::Position(p) => {
                for a in &p.alarms {
                    alarms.extend_from_slice(alarm_names(*a));
                }
                attrs.extend(p.io.clone());
                if let Some(i) = p.ignition {
                    attrs.insert("ignition".into(), IoValue::Bool(i));
                }
                if let Some(v) = p.power_v {
                    attrs.insert("power".into(), IoValue::Float(v));
                }
                if let Some(v) = p.battery_v {
                    attrs.insert("battery".into(), IoValue::Float(v));
                }
                if let Some(v) = p.odometer_m {
                    attrs.insert("odometer".into(), IoValue::Float(v));
                }
                attrs.insert("altitude".into(), IoValue::Float(p.altitude_m));
                attrs.insert("course".into(), IoValue::Float(p.course));
                attrs.insert("speed".into(), IoValue::Float(p.speed_kmh / 1.852));
                if p.satellites > 0 {
                    attrs.insert("sat".into(), IoValue::Int(p.satellites.into()));
                }
            }
            Record::Event(e) => {
                if let EventKind::Alarm { alarm } = e.kind {
                    alarms.extend_from_slice(alarm_names(alarm));
                }
                if let EventKind::CommandResult { text } = &e.kind {
                    attrs.insert("result".into(), IoValue::Text(text.clone()));
                }
                attrs.extend(e.attributes.clone());
            }
            Record::Eta(_) | Record::Alert(_) | Record::Audit(_) => {
                panic!("a decoder produced a derived record")
            }
        }
    }
    (alarms, attrs)
}

/// Checks one vector's Traccar expectation against trackgate's decode.
pub fn check(v: &Value, res: &Result<Decoded, DecodeError>) -> Result<(), String> {
    let kind = v["expect_kind"].as_str().unwrap();
    let exp = &v["expect"];
    let positions: Vec<_> = match res {
        Ok(d) => d
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Position(p) => Some(p),
                _ => None,
            })
            .collect(),
        Err(_) => vec![],
    };
    match kind {
        "null" => {
            if positions.is_empty() {
                Ok(())
            } else {
                Err("a position was decoded where Traccar expects none".into())
            }
        }
        "position" | "positions" => {
            let p = positions
                .first()
                .ok_or_else(|| format!("no position: {res:?}"))?;
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
            let attr = exp["attribute"].as_str().unwrap();
            let (alarms, attrs) = attributes(d);
            if attr == "alarm" {
                let want = exp["value"].as_str().unwrap();
                return if alarms.contains(&want) {
                    Ok(())
                } else {
                    Err(format!("alarm {want} not in {alarms:?}"))
                };
            }
            if exp["value"].is_null() {
                return match attrs.get(&key_for(attr)) {
                    None => Ok(()),
                    Some(v) => Err(format!("{attr} = {v:?}, expected absent")),
                };
            }
            let got = attrs
                .get(&key_for(attr))
                .ok_or_else(|| format!("attribute {attr} missing from {attrs:?}"))?;
            match &exp["value"] {
                Value::Number(n) => {
                    let want = n.as_f64().unwrap();
                    let got = io_f64(got).ok_or(format!("{attr} = {got:?} not numeric"))?;
                    if (got - want).abs() > 1e-6 {
                        return Err(format!("{attr} {got} != {want}"));
                    }
                }
                Value::String(s) => {
                    if &io_text(got) != s {
                        return Err(format!("{attr} {got:?} != {s}"));
                    }
                }
                Value::Bool(b) => {
                    if got != &IoValue::Bool(*b) {
                        return Err(format!("{attr} {got:?} != {b}"));
                    }
                }
                other => return Err(format!("{attr}: expectation {other} not comparable")),
            }
            Ok(())
        }
        // Traccar returned something: trackgate must decode the frame without error.
        "notnull" | "attributes" => res.as_ref().map(|_| ()).map_err(|e| format!("error {e}")),
        other => Err(format!("unknown expect_kind {other}")),
    }
}

/// One session's decoders: checksum verified, checksum ignored.
type StrictAndLenient = (Box<dyn Decoder>, Box<dyn Decoder>);

/// Replays every vector; `options` maps a vector's Traccar settings to trackgate options;
/// `checksum_ok` says whether the capture's checksum is valid (None: the protocol has none).
pub fn replay(
    protocol: &str,
    vectors: &[Value],
    unsupported: &[(&str, &str)],
    options: impl Fn(&Value) -> Vec<(&'static str, &'static str)>,
    checksum_ok: impl Fn(&[u8]) -> Option<bool>,
) {
    let unsupported: BTreeMap<&str, &str> = unsupported.iter().copied().collect();
    let mut failures = vec![];
    let mut now_passing = vec![];
    let mut seen = BTreeSet::new();
    let mut sessions: BTreeMap<String, StrictAndLenient> = BTreeMap::new();
    for v in vectors {
        let k = key(v);
        seen.insert(k.clone());
        let opts = options(v);
        let (strict, lenient) = sessions
            .entry(format!("{}{:?}", v["session"], opts))
            .or_insert_with(|| {
                (
                    decoder(protocol, ChecksumPolicy::Verify, &opts),
                    decoder(protocol, ChecksumPolicy::Ignore, &opts),
                )
            });
        let frame = bytes(v);
        let s = strict.decode(&frame, &ctx());
        let l = lenient.decode(&frame, &ctx());
        match checksum_ok(&frame) {
            Some(false) => assert!(
                matches!(s, Err(DecodeError::Checksum { .. })),
                "{k}: a bad checksum must be dropped under Verify, got {s:?}"
            ),
            _ => assert_eq!(
                s, l,
                "{k}: Verify and Ignore differ on a frame without checksum error"
            ),
        }
        match (check(v, &l), unsupported.get(k.as_str())) {
            (Ok(()), Some(reason)) => now_passing.push(format!("{k} ({reason})")),
            (Ok(()), None) | (Err(_), Some(_)) => {}
            (Err(e), None) => failures.push(format!(
                "{k} {}: {e}",
                v["frame"]
                    .as_str()
                    .unwrap()
                    .chars()
                    .take(90)
                    .collect::<String>()
            )),
        }
    }
    let stale: Vec<_> = unsupported.keys().filter(|k| !seen.contains(**k)).collect();
    assert!(
        stale.is_empty(),
        "unsupported entries name no vector: {stale:?}"
    );
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

/// Every frame vector: the framer cuts exactly the expected first frame, except the listed
/// ones (key = Traccar test file:line, with the reason), which must keep differing.
pub fn frame_vectors(protocol: &str, json: &str, unsupported: &[(&str, &str)]) {
    let vs: Vec<Value> = serde_json::from_str(json).unwrap();
    assert!(!vs.is_empty());
    for v in vs {
        let k = key(&v);
        let listed = unsupported.iter().any(|(u, _)| *u == k);
        let input = hex::decode(v["input_hex"].as_str().unwrap()).unwrap();
        let mut dec = decoder(protocol, ChecksumPolicy::Verify, &[]);
        let mut buf = BytesMut::from(&input[..]);
        let got = loop {
            match dec.frame(&mut buf) {
                FrameResult::Frame(f) => break Some(f),
                FrameResult::Skipped(_) => continue,
                FrameResult::NeedMore | FrameResult::Fatal(_) => break None,
            }
        };
        let want = v["expect"]
            .get("frame_hex")
            .and_then(Value::as_str)
            .map(str::to_string);
        let got = got.map(|f| hex::encode(&f));
        if listed {
            assert_ne!(got, want, "{k} is listed as unsupported but now passes");
        } else {
            assert_eq!(got, want, "{k}");
        }
    }
}
