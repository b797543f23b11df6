use super::*;
use crate::model::{Alert, AlertState, DeviceId, StopStatus};
use chrono::{TimeZone, Utc};

fn pos(dev: &str, secs: i64, lat: f64) -> Record {
    let t = Utc.timestamp_opt(1_764_215_276 + secs, 0).unwrap();
    Record::Position(Position::new(
        DeviceId::new(dev).unwrap(),
        "gt06",
        t,
        t,
        lat,
        13.4,
        true,
    ))
}

fn eta(ship: &str, stop: &str, secs: i64, planned: i64) -> Record {
    let t = Utc.timestamp_opt(1_764_215_276 + secs, 0).unwrap();
    let p = Utc.timestamp_opt(1_764_215_276 + planned, 0).unwrap();
    Record::Eta(EtaUpdate {
        shipment: ship.into(),
        stop: stop.into(),
        device: DeviceId::new("123456789012345").unwrap(),
        fix_time: t,
        eta: p,
        eta_p10: p,
        eta_p90: p,
        planned: p,
        deviation_s: 0,
        remaining_m: 1000.0,
        progress: 0.5,
        off_route_m: 3.0,
        status: StopStatus::OnTime,
    })
}

#[test]
fn topic_levels_lose_wildcards() {
    assert_eq!(topic_level("a/b+c#d"), "a_b_c_d");
}

#[test]
fn only_the_newest_position_per_device_is_published_and_backlog_is_skipped() {
    let mut before = Published::default();
    before
        .last
        .insert("device:111".into(), (1_764_215_276 + 50) * 1000);
    let recs = [
        pos("111", 10, 1.0), // older than published: skipped
        pos("222", 5, 2.0),
        pos("222", 7, 3.0), // newest of 222 in batch
        pos("222", 6, 4.0), // older than the previous in batch: skipped
        pos("111", 60, 5.0),
    ];
    let mut skipped = 0;
    let (msgs, last, _) = plan("tg", &recs, &before, &mut skipped);
    assert_eq!(skipped, 2);
    let topics: Vec<_> = msgs.iter().map(|m| (m.topic.as_str(), m.retain)).collect();
    assert_eq!(
        topics,
        [
            ("tg/devices/111/position", true),
            ("tg/devices/222/position", true)
        ]
    );
    let v: serde_json::Value = serde_json::from_str(&msgs[1].payload).unwrap();
    assert_eq!(v["lat"], 3.0);
    assert_eq!(v["time"], "2025-11-27T03:48:03Z");
    assert_eq!(last["device:111"], (1_764_215_276 + 60) * 1000);
}

#[test]
fn eta_message_carries_every_stop_in_planned_order() {
    let before = Published::default();
    let recs = [
        eta("sh1", "b", 10, 200),
        eta("sh1", "a", 10, 100),
        eta("sh1", "b", 20, 210),
    ];
    let mut skipped = 0;
    let (msgs, _, etas) = plan("trackgate", &recs, &before, &mut skipped);
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].topic, "trackgate/shipments/sh1/eta");
    assert!(msgs[0].retain);
    let v: serde_json::Value = serde_json::from_str(&msgs[0].payload).unwrap();
    assert_eq!(v["stops"][0]["stop"], "a");
    assert_eq!(v["stops"][1]["stop"], "b");
    assert_eq!(v["stops"][1]["planned"], "2025-11-27T03:51:26Z");
    assert_eq!(v["fix_time"], "2025-11-27T03:48:16.000Z");
    assert_eq!(etas["sh1"].len(), 2);
}

#[test]
fn alerts_go_to_event_topics_unretained() {
    let a = Alert {
        id: "x1".into(),
        kind: "alarm_sos".into(),
        state: AlertState::Info,
        tier: None,
        time: Utc.timestamp_opt(1_764_215_276, 0).unwrap(),
        device: DeviceId::new("123456789012345").unwrap(),
        shipment: None,
        stop: None,
        alarm: None,
        lat: None,
        lon: None,
        value: None,
        message: "SOS".into(),
        customer: None,
        geofence: None,
    };
    let mut skipped = 0;
    let (msgs, _, _) = plan(
        "tg",
        &[Record::Alert(a)],
        &Published::default(),
        &mut skipped,
    );
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].topic, "tg/events/alarm_sos/123456789012345");
    assert!(!msgs[0].retain);
    assert!(msgs[0].payload.contains(r#""id":"x1""#));
}
