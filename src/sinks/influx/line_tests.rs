use super::*;
use crate::model::{AlertState, DeviceId, StopStatus};
use chrono::TimeZone;

fn t(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(s, 0).single().expect("valid test time")
}

fn dev(s: &str) -> DeviceId {
    DeviceId::new(s).expect("valid test id")
}

fn fix() -> Position {
    let mut p = Position::new(
        dev("123456789012345"),
        "gt06",
        t(1_764_215_276),
        t(1_764_215_280),
        52.52,
        -13.405,
        true,
    );
    p.speed_kmh = 42.5;
    p.course = 270.0;
    p.altitude_m = 34.0;
    p.satellites = 9;
    p
}

fn eta(shipment: &str, stop: &str) -> EtaUpdate {
    EtaUpdate {
        shipment: shipment.into(),
        stop: stop.into(),
        device: dev("42"),
        fix_time: t(1_764_215_276),
        eta: t(1_764_219_000),
        eta_p10: t(1_764_218_000),
        eta_p90: t(1_764_220_000),
        planned: t(1_764_218_400),
        deviation_s: 600,
        remaining_m: 15_000.5,
        progress: 0.25,
        off_route_m: 12.0,
        status: StopStatus::Late,
    }
}

fn text(b: &LineBatch) -> &str {
    std::str::from_utf8(b.as_bytes()).expect("utf-8")
}

#[test]
fn position_golden_line() {
    let mut p = fix();
    p.ignition = Some(true);
    p.odometer_m = Some(1234.5);
    p.battery_v = Some(4.1);
    p.power_v = Some(12.6);
    p.io.insert("io_239".into(), IoValue::Int(1));
    p.io.insert("rssi".into(), IoValue::Int(-71));
    p.io.insert("fuel_l".into(), IoValue::Float(33.25));
    p.io.insert("door".into(), IoValue::Bool(false));
    p.io.insert("iccid".into(), IoValue::Text("8931 \"x\"".into()));
    let mut b = LineBatch::new();
    b.push_position(&p).unwrap();
    assert_eq!(
        text(&b),
        "position,device=123456789012345,protocol=gt06 lat=52.52,lon=-13.405,speed=42.5,\
         course=270,altitude=34,satellites=9i,valid=true,ignition=true,odometer=1234.5,\
         battery=4.1,power=12.6,io_door=false,io_fuel_l=33.25,io_iccid=\"8931 \\\"x\\\"\",\
         io_239=1i,io_rssi=-71i 1764215276000000000\n"
    );
    assert_eq!(b.len(), 1);
    assert_eq!((b.bad_lines(), b.dropped_fields()), (0, 0));
}

#[test]
fn alarms_on_a_fix_become_one_event_each() {
    let mut p = fix();
    p.alarms = vec![Alarm::Sos, Alarm::PowerCut];
    let mut b = LineBatch::new();
    b.push_record(&Record::Position(p));
    let lines: Vec<&str> = text(&b).lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[1],
        "event,device=123456789012345,type=alarm_sos message=\"sos\",lat=52.52,lon=-13.405 \
         1764215276000000000"
    );
    assert_eq!(
        lines[2],
        "event,device=123456789012345,type=alarm_power_cut message=\"power_cut\",lat=52.52,\
         lon=-13.405 1764215276000000000"
    );
}

#[test]
fn device_events_golden() {
    let mut e = DeviceEvent::new(dev("868"), "teltonika", t(1_000), EventKind::Login);
    let mut b = LineBatch::new();
    b.push_device_event(&e).unwrap();
    e.kind = EventKind::CommandResult {
        text: "ok, a=b \\ \"q\"".into(),
    };
    e.attributes.insert("gsm".into(), IoValue::Int(4));
    b.push_device_event(&e).unwrap();
    assert_eq!(
        text(&b),
        "event,device=868,type=login message=\"\" 1000000000000\n\
         event,device=868,type=command_result message=\"ok, a=b \\\\ \\\"q\\\"\",io_gsm=4i \
         1000000000000\n"
    );
}

#[test]
fn eta_golden_line() {
    let e = eta("SH 1,a=b", "s2");
    let mut b = LineBatch::new();
    b.push_eta(&e).unwrap();
    assert_eq!(
        text(&b),
        "eta,device=42,shipment=SH\\ 1\\,a\\=b,stop=s2 eta=1764219000i,planned=1764218400i,\
         deviation=600i,remaining=15000.5,progress=0.25,off_route=12,status=\"late\" \
         1764215276000000000\n"
    );
}

#[test]
fn line_breaks_never_reach_the_wire() {
    let mut p = fix();
    p.io.insert("note".into(), IoValue::Text("two\nlines".into()));
    p.io.insert("cr".into(), IoValue::Text("a\rb".into()));
    p.io.insert("ok".into(), IoValue::Text("fine".into()));
    let mut b = LineBatch::new();
    b.push_position(&p).unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b.dropped_fields(), 2);
    assert_eq!(text(&b).matches('\n').count(), 1);
    assert!(text(&b).contains("io_ok=\"fine\" "));
    assert!(!text(&b).contains('\r'));

    // A line break in a tag rejects the line and leaves the batch as it was.
    let good = fix();
    let mut b = LineBatch::new();
    b.push_record(&Record::Position(good.clone()));
    b.push_record(&Record::Alert(Alert {
        id: "x".into(),
        kind: "late".into(),
        state: AlertState::Firing,
        tier: None,
        time: t(5),
        device: dev("1"),
        shipment: Some("a\nb".into()),
        stop: None,
        alarm: None,
        lat: None,
        lon: None,
        value: None,
        message: "m".into(),
        customer: None,
        geofence: None,
    }));
    b.push_record(&Record::Position(good));
    assert_eq!((b.len(), b.bad_lines()), (2, 1));
    let lines: Vec<&str> = text(&b).lines().collect();
    assert_eq!(lines[0], lines[1]);
}

#[test]
fn event_with_only_an_unwritable_message_is_rejected_whole() {
    let e = DeviceEvent::new(
        dev("1"),
        "gt06",
        t(5),
        EventKind::CommandResult {
            text: "line1\r\nline2".into(),
        },
    );
    let mut b = LineBatch::new();
    assert_eq!(
        b.push_device_event(&e),
        Err(LineError::NoFields {
            measurement: "event",
            device: "1".into()
        })
    );
    assert!(b.is_empty());
    assert!(b.as_bytes().is_empty());
}

#[test]
fn identifiers_with_backslashes_or_empty_are_rejected() {
    let mut b = LineBatch::new();
    let mut e = eta("a\\b", "s");
    assert!(matches!(
        b.push_eta(&e),
        Err(LineError::BadTag {
            tag: "shipment",
            reason: IdentProblem::Backslash,
            ..
        })
    ));
    e.shipment = "ok".into();
    e.stop = String::new();
    assert!(matches!(
        b.push_eta(&e),
        Err(LineError::BadTag {
            tag: "stop",
            reason: IdentProblem::Empty,
            ..
        })
    ));
    e.stop = "x".repeat(MAX_IDENT_BYTES + 1);
    assert!(matches!(
        b.push_eta(&e),
        Err(LineError::BadTag {
            reason: IdentProblem::TooLong,
            ..
        })
    ));
    // IO key with a backslash: the field goes, the point stays.
    let mut p = fix();
    p.io.insert("a\\b".into(), IoValue::Int(1));
    b.push_position(&p).unwrap();
    assert_eq!((b.len(), b.dropped_fields()), (1, 1));
}

#[test]
fn non_finite_numbers_and_out_of_range_times() {
    let mut p = fix();
    p.speed_kmh = f64::NAN;
    p.battery_v = Some(f64::INFINITY);
    let mut b = LineBatch::new();
    b.push_position(&p).unwrap();
    assert_eq!(b.dropped_fields(), 2);
    assert!(!text(&b).contains("speed") && !text(&b).contains("battery"));
    assert!(!text(&b).to_lowercase().contains("nan"));

    p.lat = f64::NAN;
    assert!(matches!(
        b.push_position(&p),
        Err(LineError::NonFiniteCoordinates { .. })
    ));
    let mut p = fix();
    p.fix_time = Utc.with_ymd_and_hms(2300, 1, 1, 0, 0, 0).unwrap();
    assert!(matches!(
        b.push_position(&p),
        Err(LineError::TimeOutOfRange { .. })
    ));
    assert_eq!(b.len(), 1);
}

#[test]
fn line_ranges_slice_exact_lines() {
    let mut b = LineBatch::new();
    for i in 0..3 {
        let mut p = fix();
        p.fix_time = t(i);
        b.push_position(&p).unwrap();
    }
    let all: Vec<&str> = text(&b).split_inclusive('\n').collect();
    assert_eq!(b.lines(0..3), b.as_bytes());
    assert_eq!(b.lines(1..2), all[1].as_bytes());
    assert_eq!(b.lines(2..3), all[2].as_bytes());
    assert_eq!(b.lines(0..0), b"");
    assert_eq!(b.lines(3..9), b"");
}

#[test]
fn a_fleet_event_is_tagged_with_its_geofence() {
    let mut b = LineBatch::new();
    b.push_record(&Record::Alert(Alert {
        id: "x".into(),
        kind: "geofence_enter".into(),
        state: AlertState::Info,
        tier: None,
        time: t(5),
        device: dev("1"),
        shipment: None,
        stop: None,
        alarm: None,
        lat: Some(52.5),
        lon: Some(13.4),
        value: None,
        message: "in".into(),
        customer: None,
        geofence: Some("yard".into()),
    }));
    assert_eq!(
        text(&b),
        format!(
            "event,device=1,geofence=yard,type=geofence_enter message=\"in\",lat=52.5,lon=13.4 {}\n",
            t(5).timestamp_nanos_opt().unwrap()
        )
    );
}
