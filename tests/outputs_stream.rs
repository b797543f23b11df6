//! `GET /api/stream` end to end: Server-Sent Events read over a real socket, resumed with
//! `Last-Event-ID`.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::gateway;
use support::records::{alert, append, at, dev, eta, position, DEVICE};
use trackgate::model::{Alert, DeviceEvent, EventKind, Record};
use trackgate::server::Running;

/// A fix of [`DEVICE`] at `secs` on the 13.4° E meridian.
fn fix(secs: i64, lat: f64) -> Record {
    Record::Position(position(DEVICE, secs, lat, 13.4))
}

/// A firing "late" alert of shipment sh1 at stop s1, tier 15, at 30 s.
fn late(id: &str) -> Record {
    Record::Alert(Alert {
        tier: Some(15),
        time: at(30),
        shipment: Some("sh1".into()),
        stop: Some("s1".into()),
        value: Some(16.0),
        ..alert(id, "late")
    })
}

/// Appends each record as its own batch (so offsets are 0, 1, 2 ... in order).
async fn append_each(r: &Running, recs: &[Record]) {
    for rec in recs {
        append(r, std::slice::from_ref(rec)).await;
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
    let gw = gateway::start("").await;
    // Offset 0: before the client connects, so a fresh client does not see it.
    append_each(&gw, &[fix(0, 1.0)]).await;
    let mut s = open(&gw, "", None).await;
    let device_event = Record::Event(DeviceEvent::new(
        dev(DEVICE),
        "gt06",
        at(5),
        EventKind::Heartbeat,
    ));
    // Offsets 1..=4; the heartbeat (4) is not streamed.
    append_each(
        &gw,
        &[
            fix(10, 2.0),
            Record::Eta(eta("sh1", "s1", 20)),
            late("a1"),
            device_event,
        ],
    )
    .await;
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
    append_each(&gw, &[late("a2")]).await;
    let mut s = open(&gw, "", Some("2")).await;
    let evs = s.take(2).await;
    assert_eq!(summary(&evs), pairs(&[("3", "alert"), ("5", "alert")]));
    assert_eq!(evs[1].data["id"], "a2");

    // From the start of the log, alerts only.
    let mut s = open(&gw, "?from=0&types=alert", None).await;
    let evs = s.take(2).await;
    assert_eq!(summary(&evs), pairs(&[("3", "alert"), ("5", "alert")]));

    let (status, body) = gateway::get_json(&gw, "/api/stream?types=everything").await;
    assert_eq!(status, 400, "{body}");
    // Open streams end on shutdown (they do not hold the drain until its deadline).
    let started = std::time::Instant::now();
    gw.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(s);
}
