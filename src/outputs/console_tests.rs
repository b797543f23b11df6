use super::*;
use crate::model::{Alarm, Alert, AlertState, DeviceId};
use crate::outputs::json::{alert_json, order_key};
use crate::outputs::store::NewEvent;
use chrono::TimeZone;

fn alert(
    kind: &str,
    state: AlertState,
    tier: Option<u32>,
    stop: Option<&str>,
    sec: i64,
) -> NewEvent {
    let a = Alert {
        id: format!("sh1:{kind}:{}:{:?}:{sec}", stop.unwrap_or("-"), state),
        kind: kind.into(),
        state,
        tier,
        time: chrono::Utc.timestamp_opt(1_764_000_000 + sec, 0).unwrap(),
        device: DeviceId::new("356307042441099").unwrap(),
        shipment: (!kind.starts_with("alarm_")).then(|| "sh1".to_string()),
        stop: stop.map(String::from),
        alarm: kind.starts_with("alarm_").then_some(Alarm::Sos),
        lat: None,
        lon: None,
        value: None,
        message: kind.into(),
        customer: None,
        geofence: None,
    };
    NewEvent {
        id: a.id.clone(),
        kind: a.kind.clone(),
        device: a.device.as_str().into(),
        shipment: a.shipment.clone(),
        customer: None,
        time_ms: a.time.timestamp_millis(),
        order_key: order_key(&a),
        body: alert_json(&a).to_string(),
    }
}

fn ids(rows: &[ExceptionRow]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn open_exceptions_are_current_and_unacknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("o.sqlite")).unwrap();
    let late15 = alert("late", AlertState::Firing, Some(15), Some("S1"), 10);
    let late60 = alert("late", AlertState::Firing, Some(60), Some("S1"), 20);
    let late_s2 = alert("late", AlertState::Firing, Some(15), Some("S2"), 25);
    let off = alert("off_route", AlertState::Firing, None, None, 30);
    let off_end = alert("off_route", AlertState::Resolved, None, None, 40);
    let sos = alert("alarm_sos", AlertState::Firing, None, None, 50);
    let arrived = alert("arrived", AlertState::Info, None, Some("S0"), 60);
    let all = vec![late15, late60, late_s2, off, off_end, sos, arrived];
    let id = |i: usize| all[i].id.clone();
    s.insert_events(all.clone(), 0).await.unwrap();

    let open = ExceptionQuery {
        open_only: true,
        limit: 100,
        ..Default::default()
    };
    let (rows, n) = s.exceptions(open.clone()).await.unwrap();
    // The tier-15 late is superseded by tier 60 (same stop), off_route resolved; S2's late
    // is its own exception.
    assert_eq!(ids(&rows), [id(5), id(2), id(1)]);
    assert_eq!(n, 3);

    match s
        .ack(id(1), "ops".into(), "called the driver".into(), 99)
        .await
        .unwrap()
    {
        AckOutcome::Acked(a) => assert_eq!((a.by.as_str(), a.at_ms), ("ops", 99)),
        other => panic!("{other:?}"),
    }
    match s
        .ack(id(1), "other".into(), "again".into(), 100)
        .await
        .unwrap()
    {
        AckOutcome::Already(a) => assert_eq!(
            (a.by.as_str(), a.note.as_str()),
            ("ops", "called the driver")
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.ack(id(6), "ops".into(), String::new(), 1).await.unwrap(),
        AckOutcome::NotAnException("info".into())
    );
    assert_eq!(
        s.ack(id(4), "ops".into(), String::new(), 1).await.unwrap(),
        AckOutcome::NotAnException("resolved".into())
    );
    assert_eq!(
        s.ack("nope".into(), "ops".into(), String::new(), 1)
            .await
            .unwrap(),
        AckOutcome::NoSuchEvent
    );

    let (rows, n) = s.exceptions(open.clone()).await.unwrap();
    assert_eq!((ids(&rows), n), (vec![id(5), id(2)], 2));
    let by_type = ExceptionQuery {
        kind: Some("late".into()),
        ..open
    };
    assert_eq!(s.exceptions(by_type).await.unwrap().1, 1);

    // Everything firing, newest first, paged with `before`.
    let q = ExceptionQuery {
        limit: 2,
        ..Default::default()
    };
    let (page1, _) = s.exceptions(q.clone()).await.unwrap();
    assert_eq!(ids(&page1), [id(5), id(3)]);
    assert!(!page1[1].current);
    let (page2, _) = s
        .exceptions(ExceptionQuery {
            before: Some(page1[1].seq),
            ..q
        })
        .await
        .unwrap();
    assert_eq!(ids(&page2), [id(2), id(1)]);
    assert_eq!(page2[1].ack.as_ref().map(|a| a.by.as_str()), Some("ops"));
}

#[tokio::test]
async fn share_links_are_found_by_token_hash_and_stay_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("o.sqlite")).unwrap();
    let share = |id: &str, created_ms| Share {
        id: id.into(),
        shipment: "sh1".into(),
        created_ms,
        created_by: "ops".into(),
        expires_ms: 1_000,
        revoked_ms: None,
        revoked_by: None,
    };
    s.add_share(share("a", 1), "h-a".into()).await.unwrap();
    s.add_share(share("b", 2), "h-b".into()).await.unwrap();
    let a = s.share_by_token("h-a".into()).await.unwrap().unwrap();
    assert!(a.valid_at(999) && !a.valid_at(1_000));
    assert_eq!(s.share_by_token("h-x".into()).await.unwrap(), None);
    let r = s
        .revoke_share("a".into(), "lead".into(), 50)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (r.revoked_ms, r.revoked_by.as_deref()),
        (Some(50), Some("lead"))
    );
    // A second revocation keeps the first record.
    let r = s
        .revoke_share("a".into(), "someone".into(), 60)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.revoked_by.as_deref(), Some("lead"));
    assert!(!r.valid_at(10));
    assert_eq!(
        s.revoke_share("zz".into(), "x".into(), 1).await.unwrap(),
        None
    );
    let list = s.shares_of("sh1".into()).await.unwrap();
    assert_eq!(
        list.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["b", "a"]
    );
}
