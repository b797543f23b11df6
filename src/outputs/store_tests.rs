use super::*;
use crate::secret::Secret;

fn ev(id: &str, time_ms: i64) -> NewEvent {
    NewEvent {
        id: id.into(),
        kind: "late".into(),
        device: "111".into(),
        shipment: Some("sh1".into()),
        customer: None,
        time_ms,
        order_key: "shipment:sh1".into(),
        body: format!("{{\"id\":\"{id}\"}}"),
    }
}

fn sub(id: &str, url: &str) -> Subscription {
    Subscription {
        id: id.into(),
        url: url.into(),
        secret: Secret::new("k"),
        previous_secret: None,
        previous_until_ms: None,
        events: None,
        device: None,
        shipment: None,
        customer: None,
        created_ms: 0,
    }
}

fn ids(d: &[Due]) -> Vec<&str> {
    d.iter().map(|d| d.event_id.as_str()).collect()
}

#[tokio::test]
async fn replay_is_idempotent_order_holds_and_prune_keeps_pending() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("o.sqlite")).unwrap();
    assert!(s
        .add_subscription(sub("wh1", "http://127.0.0.1:9/h"), 20)
        .await
        .unwrap());
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
    let due = s.due(10, 10, 4).await.unwrap();
    assert_eq!(ids(&due), ["a"]);
    let att = Attempt {
        at_ms: 20,
        status: Some(200),
        error: None,
        duration_ms: 5,
        response_bytes: Some(2),
        response: None,
    };
    s.record_attempt(due[0].seq, att, Status::Delivered, None)
        .await
        .unwrap();
    let due = s.due(30, 10, 4).await.unwrap();
    assert_eq!(ids(&due), ["b"]);
    // Prune: the delivered row and its event go; the pending one and its event stay.
    assert_eq!(s.prune(1000).await.unwrap(), (1, 1));
    assert_eq!(s.outbox_counts().await.unwrap(), (1, 0, 0));
    assert!(s.event_body("b".into()).await.unwrap().is_some());
    assert!(s.event_body("a".into()).await.unwrap().is_none());
}

#[tokio::test]
async fn one_endpoint_with_a_backlog_cannot_fill_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("o.sqlite")).unwrap();
    // Two subscriptions on one receiver (paths differ, endpoint is the same), one elsewhere.
    for (id, url) in [
        ("dead1", "http://dead.example:8080/a"),
        ("dead2", "http://DEAD.example:8080/b"),
        ("live", "http://live.example/h"),
    ] {
        s.add_subscription(sub(id, url), 20).await.unwrap();
    }
    // 50 shipments, so 50 rows per subscription are first in line at once.
    let events: Vec<NewEvent> = (0..50)
        .map(|i| NewEvent {
            order_key: format!("shipment:s{i}"),
            shipment: Some(format!("s{i}")),
            ..ev(&format!("e{i}"), i)
        })
        .collect();
    s.insert_events(events, 0).await.unwrap();
    let due = s.due(1, 10, 3).await.unwrap();
    let per = |e: &str| due.iter().filter(|d| d.endpoint == e).count();
    assert_eq!(per("http://dead.example:8080"), 3, "{due:?}");
    assert_eq!(per("http://live.example"), 3, "{due:?}");
    // Round-robin: the live endpoint's first row comes before the dead one's second.
    assert_eq!(due[1].endpoint, "http://live.example", "{due:?}");
}

#[tokio::test]
async fn customer_subscriptions_get_only_their_customers_events_and_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("o.sqlite")).unwrap();
    let acme = Subscription {
        customer: Some("acme".into()),
        ..sub("acme", "http://r.example/a")
    };
    assert!(s.add_subscription(acme.clone(), 2).await.unwrap());
    let acme2 = Subscription {
        id: "acme2".into(),
        ..acme.clone()
    };
    assert!(s.add_subscription(acme2, 2).await.unwrap());
    let acme3 = Subscription {
        id: "acme3".into(),
        ..acme
    };
    assert!(!s.add_subscription(acme3, 2).await.unwrap(), "cap of 2");
    // Untenanted subscriptions are counted as their own customer.
    assert!(s
        .add_subscription(sub("ops", "http://r.example/o"), 2)
        .await
        .unwrap());
    let mine = NewEvent {
        customer: Some("acme".into()),
        ..ev("mine", 1)
    };
    let theirs = NewEvent {
        customer: Some("globex".into()),
        order_key: "shipment:g".into(),
        ..ev("theirs", 2)
    };
    let nobody = NewEvent {
        order_key: "device:111".into(),
        ..ev("nobody", 3)
    };
    assert_eq!(
        s.insert_events(vec![mine, theirs, nobody], 0)
            .await
            .unwrap(),
        2 + 3,
        "acme and acme2 get `mine`; ops gets all three"
    );
}

#[tokio::test]
async fn rotation_keeps_the_previous_secret_for_its_window() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("o.sqlite")).unwrap();
    s.add_subscription(sub("wh", "http://r.example/h"), 20)
        .await
        .unwrap();
    s.insert_events(vec![ev("a", 1)], 0).await.unwrap();
    let r = s
        .rotate_secret("wh".into(), Secret::new("k2"), Some(1000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.secret.expose(), "k2");
    assert_eq!(r.previous_at(999).map(|p| p.expose()), Some("k"));
    assert_eq!(r.previous_at(1000), None);
    let secrets = |d: &[Due]| -> Vec<String> {
        d[0].secrets
            .iter()
            .map(|s| s.expose().to_string())
            .collect()
    };
    assert_eq!(secrets(&s.due(500, 10, 4).await.unwrap()), ["k2", "k"]);
    assert_eq!(secrets(&s.due(1500, 10, 4).await.unwrap()), ["k2"]);
    // Without a window the old secret is dropped at once.
    let r = s
        .rotate_secret("wh".into(), Secret::new("k3"), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((r.previous_secret, r.previous_until_ms), (None, None));
    assert!(s
        .rotate_secret("nope".into(), Secret::new("x"), None)
        .await
        .unwrap()
        .is_none());
}

/// The schema of the first release of the outputs store, as an existing installation has it.
const FIRST_RELEASE: &str = "
CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL, device TEXT NOT NULL, shipment TEXT, time_ms INTEGER NOT NULL,
  body TEXT NOT NULL);
CREATE TABLE subscriptions (id TEXT PRIMARY KEY, url TEXT NOT NULL, secret TEXT NOT NULL,
  events TEXT, device TEXT, shipment TEXT, created_ms INTEGER NOT NULL);
CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, sub_id TEXT NOT NULL,
  event_id TEXT NOT NULL, order_key TEXT NOT NULL, status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL, next_ms INTEGER NOT NULL,
  done_ms INTEGER, last_error TEXT, UNIQUE(sub_id, event_id));
CREATE TABLE attempts (outbox_seq INTEGER NOT NULL, at_ms INTEGER NOT NULL, status INTEGER,
  error TEXT, duration_ms INTEGER NOT NULL);
INSERT INTO subscriptions VALUES ('old', 'http://r.example:81/h', 'k', NULL, NULL, NULL, 5);
INSERT INTO events (id, type, device, shipment, time_ms, body)
  VALUES ('e0', 'late', '111', 'sh1', 1, '{}');
INSERT INTO outbox (sub_id, event_id, order_key, status, attempts, created_ms, next_ms, last_error)
  VALUES ('old', 'e0', 'shipment:sh1', 'dead', 1, 1, 1, 'HTTP 500: internal detail');
INSERT INTO attempts VALUES (1, 2, 500, 'HTTP 500: internal detail', 3);
";

#[tokio::test]
async fn a_store_of_the_first_release_is_migrated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.sqlite");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(FIRST_RELEASE)
        .unwrap();
    let s = Store::open(&path).unwrap();
    let subs = s.subscriptions().await.unwrap();
    assert_eq!(subs.len(), 1);
    assert_eq!(
        (subs[0].id.as_str(), subs[0].customer.as_ref()),
        ("old", None)
    );
    s.redrive("old".into(), 10).await.unwrap();
    let due = s.due(10, 10, 4).await.unwrap();
    assert_eq!(due[0].endpoint, "http://r.example:81", "endpoint filled in");
    let mut d = s.deliveries("old".into(), 10).await.unwrap();
    assert_eq!(d[0].history[0].response, None);
    d[0].hide_responses();
    assert_eq!(d[0].history[0].error.as_deref(), Some("HTTP 500"));
    // Opening again finds everything in place.
    drop(s);
    let s = Store::open(&path).unwrap();
    assert_eq!(s.subscriptions().await.unwrap().len(), 1);
}
