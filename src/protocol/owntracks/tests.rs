use super::*;
use crate::model::{EventKind, IoValue};
use crate::protocol::test_util;
use chrono::{TimeZone, Utc};

fn ctx() -> DecodeCtx {
    DecodeCtx {
        now: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    }
}

const LOC: &[u8] = br#"{"_type":"location","tid":"jp","tst":1700000000,"lat":48.8584,"lon":2.2945,"vel":36,"cog":270,"alt":35,"acc":12,"batt":81,"bs":2,"t":"p","conn":"w"}"#;

#[test]
fn location_exact() {
    let mut d = OwnTracksDecoder::default();
    let out = d.decode_mqtt("owntracks/jane/phone", LOC, &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "jane.phone");
    // Released after the durable write as the PUBACK (no bytes); refusal stays silent.
    assert_eq!(out.ack.accepted.as_deref(), Some(&b""[..]));
    assert_eq!(out.ack.refused, None);
    let p = test_util::position(&out);
    assert_eq!(p.fix_time, Utc.timestamp_opt(1_700_000_000, 0).unwrap());
    assert_eq!(
        (p.lat, p.lon, p.speed_kmh, p.course, p.altitude_m),
        (48.8584, 2.2945, 36.0, 270.0, 35.0)
    );
    assert_eq!(p.accuracy_m, Some(12.0));
    assert_eq!(p.io.get("battery_level"), Some(&IoValue::Float(81.0)));
    assert_eq!(p.io.get("charge"), Some(&IoValue::Bool(true)));
    assert_eq!(p.io.get("trigger"), Some(&IoValue::Text("p".into())));
    assert_eq!(p.io.get("conn"), Some(&IoValue::Text("w".into())));
    assert_eq!(p.protocol, NAME);
}

#[test]
fn ids_are_sanitized() {
    assert_eq!(sanitize("John Doe"), "John_Doe");
    assert_eq!(sanitize("a+b#c\t"), "a_b_c_");
    assert_eq!(sanitize(""), "_");
    assert_eq!(
        device_id("x".repeat(60).as_str(), "phone")
            .unwrap()
            .as_str()
            .len(),
        64
    );
    let mut d = OwnTracksDecoder::default();
    let out = d
        .decode_mqtt("owntracks/J D/my phone", LOC, &ctx())
        .unwrap();
    assert_eq!(out.identity.unwrap().as_str(), "J_D.my_phone");
}

#[test]
fn other_types_and_errors() {
    let mut d = OwnTracksDecoder::default();
    let out = d
        .decode_mqtt(
            "owntracks/u/d",
            br#"{"_type":"waypoint","desc":"home"}"#,
            &ctx(),
        )
        .unwrap();
    assert!(out.records.is_empty());
    let out = d
        .decode_mqtt("owntracks/u/d", br#"{"_type":"transition","event":"enter","desc":"home","tst":1700000000,"lat":1,"lon":2}"#, &ctx())
        .unwrap();
    let e = test_util::event(&out);
    assert_eq!(
        e.kind,
        EventKind::Info {
            name: "transition".into()
        }
    );
    assert_eq!(
        e.attributes.get("event"),
        Some(&IoValue::Text("enter".into()))
    );
    let out = d
        .decode_mqtt("owntracks/u/d", br#"{"_type":"lwt","tst":1}"#, &ctx())
        .unwrap();
    let e = test_util::event(&out);
    assert_eq!(e.kind, EventKind::Logout);
    for (topic, payload, msg) in [
        (
            "owntracks/u",
            LOC,
            "topic \"owntracks/u\" is not <prefix>/<user>/<device>",
        ),
        (
            "owntracks/u/d",
            &b"not json"[..],
            "payload is not JSON: expected ident at line 1 column 2",
        ),
        (
            "owntracks/u/d",
            &br#"{"_type":"location","lat":1,"lon":2}"#[..],
            "location without tst",
        ),
        (
            "owntracks/u/d",
            &br#"{"_type":"location","tst":1,"lat":100,"lon":2}"#[..],
            "lat 100 / lon 2 is off the Earth",
        ),
    ] {
        assert_eq!(
            d.decode_mqtt(topic, payload, &ctx())
                .unwrap_err()
                .to_string(),
            msg
        );
    }
}

#[test]
fn http_mode_identity_and_reply() {
    let mut d = OwnTracksDecoder::default();
    let mut r = HttpRequest::from_uri("POST", "/pub", LOC);
    r.headers.push(("x-limit-u".into(), "jane".into()));
    r.headers.push(("x-limit-d".into(), "phone".into()));
    let out = d.decode_http(&r, &ctx()).unwrap();
    assert_eq!(out.identity.unwrap().as_str(), "jane.phone");
    assert_eq!(out.ack.accepted.as_deref(), Some(&b"[]"[..]));
    let body =
        br#"{"_type":"location","tst":1700000000,"lat":1,"lon":2,"topic":"owntracks/bob/car"}"#;
    let out = d
        .decode_http(&HttpRequest::from_uri("POST", "/", &body[..]), &ctx())
        .unwrap();
    assert_eq!(out.identity.unwrap().as_str(), "bob.car");
    let e = d
        .decode_http(&HttpRequest::from_uri("POST", "/", LOC), &ctx())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "no identity: send X-Limit-U and X-Limit-D headers or a `topic`"
    );
}

fn mapping() -> Mapping {
    Mapping {
        topic: "fleet/+/+/gps".into(),
        device_id: "{1}-{2}".into(),
        lat: "pos.lat".into(),
        lon: "pos.lon".into(),
        time: Some("ts".into()),
        time_unit: mapping::TimeUnit::Ms,
        speed: Some("spd".into()),
        speed_unit: mapping::SpeedUnit::Ms,
        course: Some("hdg".into()),
        battery: Some("b.0".into()),
        attributes: [("fuel".to_string(), "can.fuel".to_string())].into(),
        ..Mapping::default()
    }
}

#[test]
fn mapping_decodes_exactly() {
    let m = mapping();
    m.validate().unwrap();
    assert_eq!(m.captures("fleet/acme/t 1/gps"), Some(vec!["acme", "t 1"]));
    assert_eq!(m.captures("fleet/acme/gps"), None);
    assert_eq!(m.captures("fleet/acme/t1/gps/x"), None);
    let mut d = OwnTracksDecoder::with_mappings(vec![m]);
    let payload = br#"{"pos":{"lat":"52.5","lon":13.4},"ts":1700000000123,"spd":10,"hdg":45,"b":[77],"can":{"fuel":41.5}}"#;
    let out = d
        .decode_mqtt("fleet/acme/t 1/gps", payload, &ctx())
        .unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "acme-t_1");
    let p = test_util::position(&out);
    assert_eq!(p.protocol, MAPPED_NAME);
    assert_eq!(p.fix_time.timestamp_millis(), 1_700_000_000_123);
    assert_eq!(
        (p.lat, p.lon, p.speed_kmh, p.course),
        (52.5, 13.4, 36.0, 45.0)
    );
    assert_eq!(p.io.get("battery_level"), Some(&IoValue::Float(77.0)));
    assert_eq!(p.io.get("fuel"), Some(&IoValue::Float(41.5)));
    let e = d
        .decode_mqtt("fleet/a/b/gps", br#"{"pos":{"lat":1}}"#, &ctx())
        .unwrap_err();
    assert_eq!(e.to_string(), "missing pos.lon");
    // Topics the mapping does not match fall through to the OwnTracks layout.
    assert!(d.decode_mqtt("owntracks/u/d", LOC, &ctx()).is_ok());
}

#[test]
fn mapping_validation_names_the_problem() {
    let mut m = mapping();
    m.device_id = "{3}".into();
    assert_eq!(
        m.validate().unwrap_err().to_string(),
        "mqtt mapping \"fleet/+/+/gps\": device_id uses {3} but the topic has 2 `+` levels"
    );
    let mut m = mapping();
    m.topic = "a/#/b".into();
    assert!(m.validate().is_err());
    let mut m = mapping();
    m.topic = "a/x+/b".into();
    assert!(m.validate().is_err());
    let mut m = mapping();
    m.topic = "fleet/#".into();
    m.device_id = "fixed".into();
    m.validate().unwrap();
    assert_eq!(m.captures("fleet/a/b/c"), Some(vec![]));
}
