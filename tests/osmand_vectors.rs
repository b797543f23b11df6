//! Replays the OsmAnd requests captured in Traccar's unit tests (tests/fixtures/osmand) as
//! sans-IO `HttpRequest`s and checks exact values.

use serde_json::Value;
use trackgate::model::{EventKind, IoValue, Position, Record};
use trackgate::protocol::{find, DecodeCtx, Decoded, DecoderOptions, HttpRequest};

const VECTORS: &str = include_str!("fixtures/osmand/vectors.json");

fn ctx() -> DecodeCtx {
    DecodeCtx {
        now: "2026-01-01T00:00:00Z".parse().unwrap(),
    }
}

fn request(v: &Value) -> HttpRequest {
    let method = v["http_method"].as_str().unwrap();
    let uri = v["http_uri"].as_str().unwrap();
    let body = if method == "POST" {
        v["frame"].as_str().unwrap().as_bytes().to_vec()
    } else {
        Vec::new()
    };
    let mut r = HttpRequest::from_uri(method, uri, body);
    if let Some(h) = v["http_headers"].as_object() {
        for (k, val) in h {
            r.headers
                .push((k.to_ascii_lowercase(), val.as_str().unwrap().to_string()));
        }
    }
    r
}

fn decode(seq: u64, session: &str) -> Result<Decoded, String> {
    let v = serde_json::from_str::<Vec<Value>>(VECTORS)
        .unwrap()
        .into_iter()
        .find(|v| v["seq"] == seq && v["session"].as_str().unwrap().contains(session))
        .unwrap();
    let mut d = find("osmand")
        .unwrap()
        .new_decoder(&DecoderOptions::default())
        .unwrap();
    d.decode_http(&request(&v), &ctx())
        .map_err(|e| e.to_string())
}

fn pos(d: &Decoded) -> &Position {
    match &d.records[..] {
        [Record::Position(p)] => p,
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_vector_matches_traccar_expectation() {
    let vs: Vec<Value> = serde_json::from_str(VECTORS).unwrap();
    assert_eq!(vs.len(), 11);
    for v in &vs {
        let mut d = find("osmand")
            .unwrap()
            .new_decoder(&DecoderOptions::default())
            .unwrap();
        let r = d.decode_http(&request(v), &ctx());
        match v["expect_kind"].as_str().unwrap() {
            "position" | "attribute" => {
                let d = r.unwrap_or_else(|e| panic!("{}: {e}", v["source"]));
                assert!(
                    matches!(&d.records[..], [Record::Position(_)]),
                    "{}",
                    v["source"]
                );
                assert_eq!(d.ack.accepted.as_deref(), Some(&b""[..]));
            }
            "notnull" => assert_eq!(r.unwrap().records.len(), 1),
            "null" => assert_eq!(
                r.unwrap_err().to_string(),
                "missing device id (`id` or `deviceid`)"
            ),
            other => panic!("{other}"),
        }
    }
}

#[test]
fn json_body_exact() {
    let d = decode(0, "Json").unwrap();
    assert_eq!(d.identity.as_ref().unwrap().as_str(), "48241179");
    let p = pos(&d);
    assert_eq!(
        p.fix_time,
        "2025-06-15T13:45:12.862Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    );
    assert_eq!(
        (p.lat, p.lon, p.altitude_m, p.speed_kmh, p.course),
        (37.4219983, -122.084, 5.0, 0.0, 0.0)
    );
    assert_eq!(p.accuracy_m, Some(5.0));
    assert_eq!(p.odometer_m, Some(0.0));
    assert_eq!(p.io.get("battery_level"), Some(&IoValue::Float(100.0)));
    assert_eq!(p.io.get("charge"), Some(&IoValue::Bool(false)));
    assert_eq!(p.io.get("motion"), Some(&IoValue::Bool(false)));
    assert_eq!(p.io.get("activity"), Some(&IoValue::Text("still".into())));
    let d = decode(1, "Json").unwrap();
    let p = pos(&d);
    assert_eq!(
        p.io.get("device_integer_twelve_test"),
        Some(&IoValue::Int(12))
    );
    assert_eq!(
        p.io.get("device_very_long_double_test"),
        Some(&IoValue::Float(1763636.3442))
    );
    assert_eq!(p.io.get("device_bool_test"), Some(&IoValue::Bool(true)));
    assert_eq!(
        p.io.get("device_string_test"),
        Some(&IoValue::Text("long_device_id".into()))
    );
}

#[test]
fn query_forms_exact() {
    // ISO-8601 with percent-encoded colons.
    let d = decode(2, "Query").unwrap();
    let p = pos(&d);
    assert_eq!(p.device.as_str(), "902064");
    assert_eq!(p.fix_time.to_rfc3339(), "2016-01-27T18:55:47+00:00");
    assert_eq!((p.lat, p.lon, p.altitude_m), (42.06288, -88.23412, 224.0));
    assert_eq!(p.io.get("hdop"), Some(&IoValue::Float(6.0)));
    // Milliseconds.
    let p = decode(3, "Query").unwrap();
    assert_eq!(pos(&p).fix_time.timestamp_millis(), 1_442_068_686_579);
    // "yyyy-MM-dd HH:mm:ss" with `+` for the space.
    let p = decode(4, "Query").unwrap();
    assert_eq!(pos(&p).fix_time.to_rfc3339(), "2014-06-04T09:10:11+00:00");
    assert_eq!(pos(&p).device.as_str(), "353861053849681");
    // Seconds, and `deviceid` with `heading`.
    let p = decode(6, "Query").unwrap();
    assert_eq!(pos(&p).fix_time.timestamp(), 1_377_177_267);
    assert_eq!((pos(&p).lat, pos(&p).lon), (60.0, 30.0));
    let p = decode(7, "Query").unwrap();
    assert_eq!(pos(&p).device.as_str(), "123456");
    // No timestamp: the receive time; batt in percent.
    let p = decode(8, "Query").unwrap();
    assert_eq!(pos(&p).fix_time, ctx().now);
    assert_eq!(pos(&p).io.get("battery_level"), Some(&IoValue::Float(87.0)));
    // Speed in knots → km/h; extra keys kept typed.
    let p = decode(10, "Query").unwrap();
    let p = pos(&p);
    assert!((p.speed_kmh - 40.0 * 1.852).abs() < 1e-9);
    assert_eq!(p.course, 7.19889788244);
    assert_eq!(p.ignition, Some(true));
    assert_eq!(p.io.get("rpm"), Some(&IoValue::Int(933)));
}

#[test]
fn network_only_report_is_an_event_with_cells() {
    let d = decode(0, "Query").unwrap();
    match &d.records[..] {
        [Record::Event(e)] => {
            assert_eq!(
                e.kind,
                EventKind::Info {
                    name: "no_fix".into()
                }
            );
            assert_eq!(
                e.attributes.get("cell"),
                Some(&IoValue::Text("257,02,16,2224;257,02,16,2223,-90".into()))
            );
            assert_eq!(
                e.attributes.get("wifi"),
                Some(&IoValue::Text(
                    "00-14-22-01-23-45,-80;00-1C-B3-09-85-15,-70".into()
                ))
            );
        }
        other => panic!("{other:?}"),
    }
}
