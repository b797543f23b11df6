use super::*;
use crate::model::Record;
use crate::protocol::test_util;
use chrono::{TimeZone, Utc};

fn ctx() -> DecodeCtx {
    DecodeCtx {
        now: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    }
}

fn decode_with(opts: &DecoderOptions, req: HttpRequest) -> Result<Decoded, DecodeError> {
    OsmAndDecoder::new(opts).unwrap().decode_http(&req, &ctx())
}

fn get(uri: &str) -> Result<Decoded, DecodeError> {
    decode_with(
        &DecoderOptions::default(),
        HttpRequest::from_uri("GET", uri, Vec::new()),
    )
}

fn speed(d: &Decoded) -> f64 {
    match &d.records[0] {
        Record::Position(p) => p.speed_kmh,
        other => panic!("{other:?}"),
    }
}

#[test]
fn speed_unit_option() {
    let uri = "/?id=1&lat=1&lon=2&timestamp=1700000000&speed=10";
    assert!((speed(&get(uri).unwrap()) - 18.52).abs() < 1e-9);
    for (unit, kmh) in [("kmh", 10.0), ("ms", 36.0), ("knots", 18.52)] {
        let mut o = DecoderOptions::default();
        o.options.insert("speed_unit".into(), unit.into());
        let d = decode_with(&o, HttpRequest::from_uri("GET", uri, Vec::new())).unwrap();
        assert!((speed(&d) - kmh).abs() < 1e-9, "{unit}");
    }
    let mut o = DecoderOptions::default();
    o.options.insert("speed_unit".into(), "mph".into());
    assert!(OsmAndDecoder::new(&o).is_err());
}

#[test]
fn bad_input_is_a_clear_error() {
    for (uri, msg) in [
        ("/?lat=1&lon=2", "missing device id (`id` or `deviceid`)"),
        ("/?id=1&lat=x&lon=2", "lat = \"x\" is not a number"),
        ("/?id=1&lat=1", "lat and lon must be given together"),
        (
            "/?id=1&lat=91&lon=2",
            "lat 91 / lon 2 is outside -90..90 / -180..180",
        ),
        (
            "/?id=1&lat=1&lon=2&timestamp=yesterday",
            "timestamp \"yesterday\" is not Unix s/ms or ISO-8601",
        ),
        (
            "/?id=a%2Fb&lat=1&lon=2",
            "invalid device id: device id \"a/b\" contains the forbidden character '/'",
        ),
        (
            "/?id=1&lat=1&lon=2&valid=maybe",
            "valid = \"maybe\" is not true/false",
        ),
    ] {
        assert_eq!(get(uri).unwrap_err().to_string(), msg, "{uri}");
    }
}

#[test]
fn form_body_and_alarm() {
    let mut r = HttpRequest::from_uri(
        "POST",
        "/",
        &b"id=77&lat=-33.5&lon=151.25&timestamp=2024-01-02T03:04:05Z&alarm=sos&valid=false"[..],
    );
    r.headers.push((
        "content-type".into(),
        "application/x-www-form-urlencoded".into(),
    ));
    let d = decode_with(&DecoderOptions::default(), r).unwrap();
    let p = test_util::position(&d);
    assert_eq!((p.lat, p.lon, p.valid), (-33.5, 151.25, false));
    assert_eq!(p.alarms, vec![crate::model::Alarm::Sos]);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap()
    );
}

#[test]
fn json_array_of_locations_and_unknown_speed() {
    let body = br#"{"device_id":"p1","location":[
        {"timestamp":"2024-05-01T10:00:00Z","coords":{"latitude":1.5,"longitude":2.5,"speed":-1,"heading":-1}},
        {"timestamp":"2024-05-01T10:00:10Z","coords":{"latitude":1.6,"longitude":2.6,"speed":10,"heading":90}}]}"#;
    let d = decode_with(
        &DecoderOptions::default(),
        HttpRequest::from_uri("POST", "/", &body[..]),
    )
    .unwrap();
    assert_eq!(d.records.len(), 2);
    let a = test_util::position(&d);
    let Record::Position(b) = &d.records[1] else {
        panic!()
    };
    assert_eq!((a.speed_kmh, a.course), (0.0, 0.0));
    assert_eq!((b.speed_kmh, b.course), (36.0, 90.0));
    let two = br#"[{"device_id":"a","location":{"coords":{"latitude":1,"longitude":2}}},
                   {"device_id":"b","location":{"coords":{"latitude":1,"longitude":2}}}]"#;
    let e = decode_with(
        &DecoderOptions::default(),
        HttpRequest::from_uri("POST", "/", &two[..]),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "one request carries two devices: a and b");
    let e = decode_with(
        &DecoderOptions::default(),
        HttpRequest::from_uri("POST", "/", &b"{nope"[..]),
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("body is not JSON"), "{e}");
}

#[test]
fn timestamps() {
    use super::values::time;
    assert_eq!(time("1377177267").unwrap().timestamp(), 1_377_177_267);
    assert_eq!(
        time("1442068686579").unwrap().timestamp_millis(),
        1_442_068_686_579
    );
    assert_eq!(
        time("2016-01-27T18:55:47Z").unwrap().timestamp(),
        1_453_920_947
    );
    assert_eq!(
        time("2016-01-27T20:55:47+02:00").unwrap().timestamp(),
        1_453_920_947
    );
    assert_eq!(
        time("2016-01-27 18:55:47").unwrap().timestamp(),
        1_453_920_947
    );
    assert!(time("99999999999999999999999").is_err());
}
