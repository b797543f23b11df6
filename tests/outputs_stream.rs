//! `GET /api/stream` end to end: Server-Sent Events read over a real socket, resumed with
//! `Last-Event-ID`.

mod common;

use chrono::{TimeZone, Utc};
use serde_json::Value;
use std::time::Duration;
use trackgate::model::{
    Alert, AlertState, DeviceEvent, DeviceId, EtaUpdate, EventKind, Position, Record, StopStatus,
};
use trackgate::server::Running;

const DEVICE: &str = "123456789012345";

fn t(secs: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_764_215_276 + secs, 0).unwrap()
}

fn position(secs: i64, lat: f64) -> Record {
    Record::Position(Position::new(
        DeviceId::new(DEVICE).unwrap(),
        "gt06",
        t(secs),
        t(secs),
        lat,
        13.4,
        true,
    ))
}

fn alert(id: &str) -> Record {
    Record::Alert(Alert {
        id: id.into(),
        kind: "late".into(),
        state: AlertState::Firing,
        tier: Some(15),
        time: t(30),
        device: DeviceId::new(DEVICE).unwrap(),
        shipment: Some("sh1".into()),
        stop: Some("s1".into()),
        alarm: None,
        lat: None,
        lon: None,
        value: Some(16.0),
        message: "late".into(),
    })
}

fn eta() -> Record {
    Record::Eta(EtaUpdate {
        shipment: "sh1".into(),
        stop: "s1".into(),
        device: DeviceId::new(DEVICE).unwrap(),
        fix_time: t(20),
        eta: t(900),
        eta_p10: t(800),
        eta_p90: t(1000),
        planned: t(600),
        deviation_s: 300,
        remaining_m: 5000.0,
        progress: 0.4,
        off_route_m: 2.0,
        status: StopStatus::Late,
    })
}

/// Appends each record as its own batch (so offsets are 0, 1, 2 ... in order).
async fn append_each(r: &Running, recs: &[Record]) {
    for rec in recs {
        r.append(vec![rec.clone()]).await.expect("append");
    }
}

/// One parsed SSE event.
#[derive(Debug, Clone, PartialEq)]
struct Sse {
    id: String,
    event: String,
    data: Value,
}

/// An open stream and its undecoded text.
struct Stream {
    resp: reqwest::Response,
    buf: String,
}

async fn open(r: &Running, query: &str, last_id: Option<&str>) -> Stream {
    let mut req = reqwest::Client::new().get(format!("http://{}/api/stream{query}", r.http_addr));
    if let Some(id) = last_id {
        req = req.header("Last-Event-ID", id);
    }
    let resp = req.send().await.expect("stream request");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    Stream {
        resp,
        buf: String::new(),
    }
}

impl Stream {
    /// The next `n` events (keep-alive comments skipped), 10 s limit.
    async fn take(&mut self, n: usize) -> Vec<Sse> {
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while out.len() < n {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (String::new(), String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().into();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().into();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if !event.is_empty() {
                    out.push(Sse {
                        id,
                        event,
                        data: serde_json::from_str(&data).expect("json data"),
                    });
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(deadline, self.resp.chunk())
                .await
                .unwrap_or_else(|_| panic!("only {} of {n} events: {out:?}", out.len()))
                .expect("read stream")
                .expect("stream open");
            self.buf
                .push_str(std::str::from_utf8(&chunk).expect("utf-8"));
        }
        out
    }
}

fn summary(evs: &[Sse]) -> Vec<(String, String)> {
    evs.iter()
        .map(|e| (e.id.clone(), e.event.clone()))
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn stream_is_live_and_resumes_after_last_event_id() {
    let gw = common::start("").await;
    // Offset 0: before the client connects, so a fresh client does not see it.
    append_each(&gw, &[position(0, 1.0)]).await;
    let mut s = open(&gw, "", None).await;
    let device_event = Record::Event(DeviceEvent::new(
        DeviceId::new(DEVICE).unwrap(),
        "gt06",
        t(5),
        EventKind::Heartbeat,
    ));
    // Offsets 1..=4; the heartbeat (4) is not streamed.
    append_each(&gw, &[position(10, 2.0), eta(), alert("a1"), device_event]).await;
    let evs = s.take(3).await;
    assert_eq!(
        summary(&evs),
        pairs(&[("1", "position"), ("2", "eta"), ("3", "alert")])
    );
    assert_eq!(evs[0].data["lat"], 2.0);
    assert_eq!(evs[0].data["id"], DEVICE);
    assert_eq!(evs[0].data["time"], "2025-11-27T03:48:06Z");
    assert_eq!(evs[1].data["deviation_s"], 300);
    assert_eq!(evs[1].data["status"], "late");
    assert_eq!(evs[2].data["id"], "a1");
    assert_eq!(evs[2].data["tier"], 15);
    drop(s);

    // While disconnected: offset 5.
    append_each(&gw, &[alert("a2")]).await;
    let mut s = open(&gw, "", Some("2")).await;
    let evs = s.take(2).await;
    assert_eq!(summary(&evs), pairs(&[("3", "alert"), ("5", "alert")]));
    assert_eq!(evs[1].data["id"], "a2");

    // From the start of the log, alerts only.
    let mut s = open(&gw, "?from=0&types=alert", None).await;
    let evs = s.take(2).await;
    assert_eq!(summary(&evs), pairs(&[("3", "alert"), ("5", "alert")]));

    let (status, body) = common::get_json(&gw, "/api/stream?types=everything").await;
    assert_eq!(status, 400, "{body}");
    // Open streams end on shutdown (they do not hold the drain until its deadline).
    let started = std::time::Instant::now();
    gw.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(s);
}
