//! Shared helpers for end-to-end tests: start an in-process gateway on port 0, talk to it
//! over real sockets, read its HTTP API.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use trackgate::config::Config;
use trackgate::server::{self, Running};

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

/// Reads exactly `n` bytes (5 s limit).
pub async fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut buf))
        .await
        .expect("reply within 5 s")
        .expect("read");
    buf
}

/// Asserts nothing arrives within `ms` (the peer stays silent).
pub async fn expect_silence(s: &mut TcpStream, ms: u64) {
    let mut b = [0u8; 1];
    match tokio::time::timeout(Duration::from_millis(ms), s.read(&mut b)).await {
        Err(_) => {}
        Ok(Ok(0)) => {}
        Ok(Ok(_)) => panic!("unexpected reply byte {:#04x}", b[0]),
        Ok(Err(_)) => {}
    }
}

/// GET a JSON document from the API.
pub async fn get_json(r: &Running, path: &str) -> (u16, serde_json::Value) {
    let url = format!("http://{}{}", r.http_addr, path);
    let resp = reqwest::get(&url).await.expect("http get");
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// Polls `/api/devices/{id}` until `pred` holds (5 s limit): the API is fed asynchronously
/// from the pipeline, after the ACK.
pub async fn wait_device(
    r: &Running,
    id: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (status, body) = get_json(r, &format!("/api/devices/{id}")).await;
        if status == 200 && pred(&body) {
            return body;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("device {id} never matched; last: {status} {body}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// CRC-16/X-25, computed here independently of the code under test.
pub fn x25(data: &[u8]) -> u16 {
    crc::Crc::<u16>::new(&crc::CRC_16_IBM_SDLC).checksum(data)
}

/// CRC-16/ARC, computed here independently of the code under test.
pub fn arc(data: &[u8]) -> u16 {
    crc::Crc::<u16>::new(&crc::CRC_16_ARC).checksum(data)
}

/// A GT06 `78 78` frame with a correct CRC.
pub fn gt06_frame(proto: u8, content: &[u8], serial: u16) -> Vec<u8> {
    let len = (1 + content.len() + 2 + 2) as u8;
    let mut body = vec![len, proto];
    body.extend_from_slice(content);
    body.extend_from_slice(&serial.to_be_bytes());
    let crc = x25(&body);
    let mut f = vec![0x78, 0x78];
    f.extend_from_slice(&body);
    f.extend_from_slice(&crc.to_be_bytes());
    f.extend_from_slice(&[0x0d, 0x0a]);
    f
}

/// The standard GT06 ACK for `proto` with `serial`.
pub fn gt06_ack(proto: u8, serial: u16) -> Vec<u8> {
    gt06_frame(proto, &[], serial)
}
