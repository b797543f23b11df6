use super::*;

fn ev(id: &str, time_ms: i64) -> NewEvent {
    NewEvent {
        id: id.into(),
        kind: "late".into(),
        device: "111".into(),
        shipment: Some("sh1".into()),
        time_ms,
        order_key: "shipment:sh1".into(),
        body: format!("{{\"id\":\"{id}\"}}"),
    }
}

#[tokio::test]
async fn replay_is_idempotent_order_holds_and_prune_keeps_pending() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("o.sqlite")).unwrap();
    s.add_subscription(Subscription {
        id: "wh1".into(),
        url: "http://127.0.0.1:9/h".into(),
        secret: "k".into(),
        events: None,
        device: None,
        shipment: None,
        created_ms: 0,
    })
    .await
    .unwrap();
    assert_eq!(
        s.insert_events(vec![ev("a", 1), ev("b", 2)], 10)
            .await
            .unwrap(),
        2
    );
    // A replay of the same batch after a crash adds nothing.
    assert_eq!(
        s.insert_events(vec![ev("a", 1), ev("b", 2)], 11)
            .await
            .unwrap(),
        0
    );
    // Only the first of the shipment is due.
    let due = s.due(10, 10).await.unwrap();
    assert_eq!(
        due.iter().map(|d| d.event_id.as_str()).collect::<Vec<_>>(),
        ["a"]
    );
    let att = Attempt {
        at_ms: 20,
        status: Some(200),
        error: None,
        duration_ms: 5,
    };
    s.record_attempt(due[0].seq, att, Status::Delivered, None)
        .await
        .unwrap();
    let due = s.due(30, 10).await.unwrap();
    assert_eq!(
        due.iter().map(|d| d.event_id.as_str()).collect::<Vec<_>>(),
        ["b"]
    );
    // Prune: the delivered row and its event go; the pending one and its event stay.
    assert_eq!(s.prune(1000).await.unwrap(), (1, 1));
    assert_eq!(s.outbox_counts().await.unwrap(), (1, 0, 0));
    assert!(s.event_body("b".into()).await.unwrap().is_some());
    assert!(s.event_body("a".into()).await.unwrap().is_none());
}
