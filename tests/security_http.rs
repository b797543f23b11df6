//! HTTP limits under attack (issue 12, "Connection and request limits"): slowloris on the
//! API and on the OsmAnd listener while a real phone keeps getting 200, a slow body, idle
//! keep-alive connections, the API's connection cap kept apart from the device listeners',
//! and the in-flight request cap behind the connection cap (HTTP/2).

mod support;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use std::time::Duration;
use support::eventually;
use support::gateway::{metric, test_config, wait_metric};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use trackgate::config::Config;
use trackgate::server::{self, Running};

/// Bytes a slowloris client drips, one per [`DRIP`]: far longer than the 1 s header
/// deadline the tests configure, so a connection still open at the end was never cut.
const DRIPS: u32 = 30;
const DRIP: Duration = Duration::from_millis(200);

async fn start(cfg: Config) -> Running {
    server::start(cfg).await.expect("server starts")
}

/// One slowloris client: a request line, then one header byte per [`DRIP`]. Resolves to the
/// number of bytes it dripped before the server closed the connection (`None`: never
/// closed).
fn slowloris(addr: SocketAddr) -> JoinHandle<Option<u32>> {
    tokio::spawn(async move {
        let mut s = TcpStream::connect(addr).await.ok()?;
        s.write_all(b"GET /api/devices HTTP/1.1\r\nhost: x\r\nx-slow: ")
            .await
            .ok()?;
        let mut buf = [0u8; 256];
        for i in 0..DRIPS {
            tokio::select! {
                r = s.read(&mut buf) => match r {
                    Ok(0) | Err(_) => return Some(i),
                    // A 408 or any reply: the server is done with it; wait for the close.
                    Ok(_) => continue,
                },
                _ = tokio::time::sleep(DRIP) => {
                    if s.write_all(b"a").await.is_err() {
                        return Some(i);
                    }
                }
            }
        }
        None
    })
}

/// A phone uploading fixes to OsmAnd: every one must get 200 within 5 s.
async fn phone_uploads(r: &Running, n: u32) {
    let url = format!("http://{}", r.addr("osmand", "http").unwrap());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    for i in 0..n {
        let resp = client
            .get(format!(
                "{url}/?id=phone-real&lat=47.{i:04}&lon=8.5&timestamp={}",
                1_795_757_400 + i
            ))
            .send()
            .await
            .unwrap_or_else(|e| panic!("upload {i} starved: {e}"));
        assert_eq!(resp.status().as_u16(), 200, "upload {i}");
    }
}

fn tight_deadlines() -> Config {
    let mut cfg = test_config("");
    cfg.http.header_timeout_secs = 1;
    let osmand = cfg.protocols.get_mut("osmand").unwrap();
    osmand.header_timeout_secs = 1;
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_on_the_api_and_osmand_does_not_starve_uploads() {
    let r = start(tight_deadlines()).await;
    const EACH: usize = 100;
    let osmand = r.addr("osmand", "http").unwrap();
    let mut attackers: Vec<_> = (0..EACH).map(|_| slowloris(r.http_addr)).collect();
    attackers.extend((0..EACH).map(|_| slowloris(osmand)));
    phone_uploads(&r, 20).await;
    for a in attackers {
        let dripped = a.await.unwrap();
        // Cut at the 1 s deadline (+ the close grace): well before the 30 drips (6 s) end.
        assert!(
            matches!(dripped, Some(n) if n < DRIPS / 2),
            "slowloris connection held: {dripped:?}"
        );
    }
    for listener in ["api", "osmand"] {
        let series =
            format!("trackgate_http_timeouts_total{{listener=\"{listener}\",kind=\"header\"}}");
        assert!(
            metric(&r, &series).unwrap_or(0.0) >= EACH as f64,
            "{series}"
        );
    }
    r.shutdown().await;
}

#[tokio::test]
async fn the_api_connection_cap_leaves_device_uploads_alone() {
    let mut cfg = test_config("");
    cfg.http.max_connections = 8;
    let r = start(cfg).await;
    // Eight connections that never send a byte fill the API's cap ...
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(TcpStream::connect(r.http_addr).await.unwrap());
    }
    wait_metric(
        &r,
        "trackgate_http_connections_open{listener=\"api\"}",
        |v| v == 8.0,
    )
    .await;
    // ... so the ninth is closed at accept, counted ...
    let e = reqwest::get(format!("http://{}/healthz", r.http_addr))
        .await
        .expect_err("over the API's cap");
    assert!(e.is_request(), "{e}");
    wait_metric(
        &r,
        "trackgate_http_connections_refused_total{listener=\"api\"}",
        |v| v >= 1.0,
    )
    .await;
    // ... while the OsmAnd listener, with its own cap, serves the phone.
    phone_uploads(&r, 5).await;
    drop(held);
    eventually(Duration::from_secs(5), "API free again", async || {
        reqwest::get(format!("http://{}/healthz", r.http_addr))
            .await
            .map(|resp| resp.status().as_u16())
            .map_err(|e| e.to_string())
            .and_then(|s| if s == 200 { Ok(()) } else { Err(s.to_string()) })
    })
    .await;
    r.shutdown().await;
}

/// Sends `head` and the first bytes of a body, then nothing: the body deadline answers.
async fn stalled_body(addr: SocketAddr, head: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(b"id=sl").await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .expect("connection closed after the body deadline")
        .expect("read");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_slow_body_gets_408_and_the_connection_closes() {
    let mut cfg = test_config("");
    cfg.protocols.get_mut("osmand").unwrap().body_timeout_secs = 1;
    cfg.http.body_timeout_secs = 1;
    let r = start(cfg).await;
    let head = "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\n\
                content-length: 100\r\n\r\n";
    let reply = stalled_body(r.addr("osmand", "http").unwrap(), head).await;
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(
        reply.contains("request body not received within 1s"),
        "{reply}"
    );
    // The API: its body deadline too (the reply is the JSON extractor's; the close is ours).
    let head = "POST /api/shipments HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
                content-length: 100\r\n\r\n";
    let reply = stalled_body(r.http_addr, head).await;
    assert!(reply.starts_with("HTTP/1.1 4"), "{reply}");
    for listener in ["api", "osmand"] {
        let series =
            format!("trackgate_http_timeouts_total{{listener=\"{listener}\",kind=\"body\"}}");
        assert_eq!(metric(&r, &series), Some(1.0), "{series}");
    }
    r.shutdown().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let mut cfg = test_config("");
    cfg.http.idle_timeout_secs = 1;
    let r = start(cfg).await;
    let mut s = TcpStream::connect(r.http_addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut rest))
        .await
        .expect("idle connection closed")
        .expect("read");
    assert_eq!(
        metric(
            &r,
            "trackgate_http_timeouts_total{listener=\"api\",kind=\"idle\"}"
        ),
        Some(1.0)
    );
    r.shutdown().await;
}

/// With HTTP/2 one connection carries many requests, so the per-protocol in-flight cap
/// (503) still guards the log behind the connection cap.
#[tokio::test]
async fn http2_requests_in_flight_are_capped_with_503() {
    let mut cfg = test_config("");
    cfg.protocols.get_mut("osmand").unwrap().max_connections = 1;
    let r = start(cfg).await;
    let tcp = TcpStream::connect(r.addr("osmand", "http").unwrap())
        .await
        .unwrap();
    type Body = StreamBody<
        futures::stream::BoxStream<'static, Result<Frame<Bytes>, std::convert::Infallible>>,
    >;
    let (mut send, conn) = hyper::client::conn::http2::handshake::<_, _, Body>(
        TokioExecutor::new(),
        TokioIo::new(tcp),
    )
    .await
    .expect("h2 prior knowledge");
    tokio::spawn(conn);
    // A POST whose body is held back: it occupies the one in-flight slot.
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok(Frame::data(b)), rx))
    });
    let post = hyper::Request::post("http://x/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(StreamBody::new(
            Box::pin(stream) as futures::stream::BoxStream<'static, _>
        ))
        .unwrap();
    tx.send(Bytes::from_static(b"id=h2slow&")).await.unwrap();
    let slow = tokio::spawn(send.send_request(post));
    let get = |send: &mut hyper::client::conn::http2::SendRequest<Body>| {
        let empty = futures::stream::empty();
        send.send_request(
            hyper::Request::get("http://x/?id=h2fast&lat=1&lon=2")
                .body(StreamBody::new(
                    Box::pin(empty) as futures::stream::BoxStream<'static, _>
                ))
                .unwrap(),
        )
    };
    let refusal = eventually(
        Duration::from_secs(5),
        "503 while the POST holds the slot",
        async || {
            let resp = get(&mut send).await.map_err(|e| e.to_string())?;
            let status = resp.status().as_u16();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            match status {
                503 => Ok(String::from_utf8_lossy(&body).into_owned()),
                s => Err(format!("{s}")),
            }
        },
    )
    .await;
    assert!(
        refusal.contains("protocols.osmand.max_connections"),
        "{refusal}"
    );
    tx.send(Bytes::from_static(b"lat=1&lon=2")).await.unwrap();
    drop(tx);
    let resp = slow.await.unwrap().expect("POST answered");
    assert_eq!(resp.status().as_u16(), 200);
    let resp = get(&mut send).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    r.shutdown().await;
}
