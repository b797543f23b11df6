//! An in-process gateway for end-to-end tests: every listener and the API on port 0, real
//! sockets to talk to it, its HTTP API and metrics to read back.

use super::poll::eventually;
use super::wire::{GT06_LOGIN, GT06_LOGIN_ACK};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use trackgate::config::Config;
use trackgate::server::{self, Running};

/// How long a device reply or an API change may take on a loaded 2-core CI machine.
const REPLY_LIMIT: Duration = Duration::from_secs(5);

/// Config with every listener (and the API) on 127.0.0.1 port 0, plus `extra` TOML.
pub fn test_config(extra: &str) -> Config {
    let mut toml = String::from("[http]\nlisten = \"127.0.0.1:0\"\n");
    for p in trackgate::protocol::REGISTRY {
        toml.push_str(&format!(
            "[protocols.{}]\nlisten = \"127.0.0.1:0\"\n",
            p.name()
        ));
    }
    let mut cfg = Config::from_toml(&toml).expect("base test config");
    cfg.storage.dir = temp_dir("gw");
    // device_online / device_offline come from a wall clock (every 5 s): tests that count a
    // device's events would see one or not depending on how long they take. The test of
    // those events turns them on.
    cfg.events.presence = false;
    if !extra.is_empty() {
        let more = Config::from_toml(extra).expect("extra test config");
        cfg.devices = more.devices;
        for (k, v) in more.protocols {
            let listen = cfg.protocols.get(&k).and_then(|p| p.listen);
            let mut v = v;
            v.listen = listen;
            cfg.protocols.insert(k, v);
        }
        cfg.pipeline = more.pipeline;
    }
    cfg
}

/// A fresh directory under the system temp dir (left for inspection; the OS cleans it).
pub fn temp_dir(tag: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "trackgate-test-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Starts a gateway.
pub async fn start(extra: &str) -> Running {
    server::start(test_config(extra))
        .await
        .expect("server starts")
}

/// Connects to a protocol's TCP listener.
pub async fn connect(r: &Running, protocol: &str) -> TcpStream {
    let addr: SocketAddr = r.addr(protocol, "tcp").expect("listener");
    TcpStream::connect(addr).await.expect("connect")
}

/// Writes `frame` and reads exactly `expect.len()` bytes back (5 s limit).
pub async fn send_expect(s: &mut TcpStream, frame: &[u8], expect: &[u8]) {
    s.write_all(frame).await.expect("write");
    let got = read_n(s, expect.len()).await;
    assert_eq!(hex::encode(&got), hex::encode(expect), "ACK bytes");
}

/// Logs the GT06 test device ([`GT06_LOGIN`]) in and checks its login ACK.
pub async fn gt06_login(s: &mut TcpStream) {
    send_expect(
        s,
        &hex::decode(GT06_LOGIN).expect("hex"),
        &hex::decode(GT06_LOGIN_ACK).expect("hex"),
    )
    .await;
}

/// Reads exactly `n` bytes (5 s limit).
pub async fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    tokio::time::timeout(REPLY_LIMIT, s.read_exact(&mut buf))
        .await
        .expect("reply within 5 s")
        .expect("read");
    buf
}

/// Reads one JT/T 808 frame `7E … 7E` exactly as sent (escaped, flags kept; 5 s limit), to
/// compare with a frame built by `wire::jt808_frame`.
pub async fn read_jt808(s: &mut TcpStream) -> Vec<u8> {
    let mut f = read_n(s, 1).await;
    assert_eq!(f, [0x7e], "a JT/T 808 frame starts with 7e");
    loop {
        let b = read_n(s, 1).await[0];
        f.push(b);
        if b == 0x7e {
            return f;
        }
    }
}

/// The body of a JT/T 808-2013 reply (unescaped, between the 12-byte header and the XOR).
pub fn jt808_body(frame: &[u8]) -> Vec<u8> {
    let mut raw = Vec::new();
    let mut it = frame[1..frame.len() - 1].iter();
    while let Some(&b) = it.next() {
        raw.push(match (b, it.clone().next()) {
            (0x7d, Some(0x02)) => {
                it.next();
                0x7e
            }
            (0x7d, Some(0x01)) => {
                it.next();
                0x7d
            }
            (b, _) => b,
        });
    }
    raw[12..raw.len() - 1].to_vec()
}

/// Registers a JT/T 808-2013 terminal `phone` on `s` with uplink serial `serial` (the
/// answer's platform serial is `platform`: the connection's count of replies so far) and
/// returns the auth code the 0x8100 answer carried.
pub async fn jt808_register(s: &mut TcpStream, phone: &str, serial: u16, platform: u16) -> Vec<u8> {
    let reg = super::wire::jt808_frame(0x0100, phone, serial, &super::wire::jt808_register_body());
    s.write_all(&reg).await.expect("write");
    let reply = read_jt808(s).await;
    let body = jt808_body(&reply);
    assert_eq!(
        &body[..3],
        &[(serial >> 8) as u8, serial as u8, 0],
        "0x8100 result 0: {}",
        hex::encode(&reply)
    );
    let code = body[3..].to_vec();
    assert_eq!(
        reply,
        super::wire::jt808_frame(0x8100, phone, platform, &[&body[..3], &code[..]].concat())
    );
    code
}

/// Authenticates terminal `phone` with `code` (uplink serial `serial`) and checks the exact
/// 0x8001 result 0 answer with platform serial `platform`.
pub async fn jt808_auth(s: &mut TcpStream, phone: &str, code: &[u8], serial: u16, platform: u16) {
    let auth = super::wire::jt808_frame(0x0102, phone, serial, code);
    let ok = super::wire::jt808_general(phone, platform, serial, 0x0102, 0);
    s.write_all(&auth).await.expect("write");
    assert_eq!(
        hex::encode(read_jt808(s).await),
        hex::encode(ok),
        "0x8001 result 0"
    );
}

/// Asserts the peer keeps the connection open and sends nothing for `ms`. A closed
/// connection (EOF, reset) fails: "no reply" must not pass because the gateway hung up. Where
/// the protocol has a frame that is answered, follow with [`send_expect`] as a fence: a late
/// reply to the silent frame would arrive before the fence's.
pub async fn expect_silence(s: &mut TcpStream, ms: u64) {
    let mut b = [0u8; 1];
    match tokio::time::timeout(Duration::from_millis(ms), s.read(&mut b)).await {
        Err(_) => {}
        Ok(Ok(0)) => panic!("connection closed (EOF) where it should stay open and silent"),
        Ok(Ok(_)) => panic!("unexpected reply byte {:#04x}", b[0]),
        Ok(Err(e)) => panic!("connection failed ({e}) where it should stay open and silent"),
    }
}

/// Asserts the peer closes the connection (clean EOF, 5 s limit) without sending a byte.
pub async fn expect_closed(s: &mut TcpStream) {
    let mut buf = [0u8; 64];
    match tokio::time::timeout(REPLY_LIMIT, s.read(&mut buf)).await {
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => panic!("reply {} before the close", hex::encode(&buf[..n])),
        Ok(Err(e)) => panic!("connection failed ({e}) instead of a clean close"),
        Err(_) => panic!("connection still open after {REPLY_LIMIT:?}"),
    }
}

/// GET a JSON document from the API (`Null` when the body is not JSON).
pub async fn get_json(r: &Running, path: &str) -> (u16, serde_json::Value) {
    let url = format!("http://{}{}", r.http_addr, path);
    let resp = reqwest::get(&url).await.expect("http get");
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// Polls `/api/devices/{id}` until it answers 200 with a body `pred` accepts (5 s limit): the
/// API is fed asynchronously from the pipeline, after the ACK.
pub async fn wait_device(
    r: &Running,
    id: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let path = format!("/api/devices/{id}");
    eventually(REPLY_LIMIT, &format!("device {id} to match"), async || {
        let (status, body) = get_json(r, &path).await;
        if status == 200 && pred(&body) {
            Ok(body)
        } else {
            Err(format!("{status} {body}"))
        }
    })
    .await
}

/// `GET /metrics` over HTTP, as Prometheus scrapes it.
pub async fn scrape(r: &Running) -> String {
    reqwest::get(format!("http://{}/metrics", r.http_addr))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text")
}

/// The value of one series (`name{labels}` exactly as exposed) in the gateway's metrics.
pub fn metric(r: &Running, series: &str) -> Option<f64> {
    metric_value(&r.metrics.encode(), series)
}

/// The value of one series in a Prometheus text exposition.
pub fn metric_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// Polls the metrics until `series` has a value `pred` accepts (10 s limit); returns it.
pub async fn wait_metric(r: &Running, series: &str, pred: impl Fn(f64) -> bool) -> f64 {
    eventually(
        Duration::from_secs(10),
        &format!("metric {series}"),
        async || match metric(r, series) {
            Some(v) if pred(v) => Ok(v),
            other => Err(format!("{other:?}")),
        },
    )
    .await
}

/// The fix time (`time`) of a device or position view from the API.
pub fn fix_time(v: &serde_json::Value) -> chrono::DateTime<chrono::Utc> {
    v["time"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no fix time in {v}"))
}
