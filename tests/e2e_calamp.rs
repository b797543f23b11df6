//! CalAmp LM Direct end to end over a real UDP socket: an event report asking for an ACK gets
//! the exact ACK once durable and its fix shows in the API; an unacknowledged report gets
//! nothing; a mini event report without options header belongs to the peer's unit; a refused
//! unit gets no ACK. Datagrams are built by hand here, independently of the code under test.

mod support;

use support::gateway::fix_time;

use chrono::{DateTime, SubsecRound, Utc};
use std::time::Duration;
use support::gateway::*;
use tokio::net::UdpSocket;

const MOBILE_ID: &str = "4532104183";

async fn peer(r: &trackgate::server::Running) -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    s.connect(r.addr("calamp", "udp").expect("udp listener"))
        .await
        .unwrap();
    s
}

/// The next datagram from the gateway within `ms`, if any.
async fn recv_within(s: &UdpSocket, ms: u64) -> Option<Vec<u8>> {
    let mut buf = [0u8; 512];
    match tokio::time::timeout(Duration::from_millis(ms), s.recv(&mut buf)).await {
        Ok(Ok(n)) => Some(buf[..n].to_vec()),
        Ok(Err(e)) => panic!("udp recv: {e}"),
        Err(_) => None,
    }
}

/// Options header (mobile ID `45 32 10 41 83`, ID type 2) and an event report: 41.3275°N
/// 19.8187°E, 250 m, 1000 cm/s (36 km/h), heading 95°, 10 satellites, valid, ignition on,
/// event code 27, one accumulator.
fn event_report(service: u8, seq: u16, t: DateTime<Utc>) -> Vec<u8> {
    let mut b = vec![0x83, 5, 0x45, 0x32, 0x10, 0x41, 0x83, 1, 2, service, 2];
    b.extend_from_slice(&seq.to_be_bytes());
    let secs = (t.timestamp() as u32).to_be_bytes();
    b.extend_from_slice(&secs);
    b.extend_from_slice(&secs);
    b.extend_from_slice(&413_275_000i32.to_be_bytes());
    b.extend_from_slice(&198_187_000i32.to_be_bytes());
    b.extend_from_slice(&25_000i32.to_be_bytes());
    b.extend_from_slice(&1000u32.to_be_bytes());
    b.extend_from_slice(&95i16.to_be_bytes());
    b.extend_from_slice(&[10, 0x02]); // satellites, fix status
    b.extend_from_slice(&[0x01, 0x36, 0xff, 0xb9, 0x0f, 9, 0x01, 0]); // carrier, rssi, comm, hdop, inputs, status
    b.extend_from_slice(&[0, 27, 1, 0, 0, 0, 0x10, 0x92]); // event index, code, 1 acc, spare, acc
    b
}

fn ack(seq: u16, typ: u8) -> Vec<u8> {
    let mut a = vec![0x02, 0x01];
    a.extend_from_slice(&seq.to_be_bytes());
    a.extend_from_slice(&[typ, 0, 0, 0, 0, 0]);
    a
}

#[tokio::test]
async fn reports_acked_and_stored() {
    let r = start("").await;
    let s = peer(&r).await;
    let t = Utc::now().trunc_subsecs(0) - chrono::Duration::seconds(90);
    s.send(&event_report(1, 0x0102, t)).await.unwrap();
    assert_eq!(recv_within(&s, 5000).await, Some(ack(0x0102, 2)));
    let v = wait_device(&r, MOBILE_ID, |v| v["lat"].as_f64().is_some()).await;
    assert_eq!(v["protocol"], "calamp");
    assert_eq!(fix_time(&v), t);
    assert_eq!(v["lat"].as_f64().unwrap(), 41.3275);
    assert_eq!(v["lon"].as_f64().unwrap(), 19.8187);
    assert!((v["speed"].as_f64().unwrap() - 36.0).abs() < 1e-9);
    assert_eq!(v["course"].as_f64().unwrap(), 95.0);
    assert_eq!(v["altitude"].as_f64().unwrap(), 250.0);

    // Service type 0: stored, not answered.
    let t2 = t + chrono::Duration::seconds(30);
    s.send(&event_report(0, 0x0103, t2)).await.unwrap();
    assert_eq!(recv_within(&s, 300).await, None);
    wait_device(&r, MOBILE_ID, |v| {
        v["time"].as_str() == Some(&*t2.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    })
    .await;

    // A mini event report without options header: the peer's unit. 20 km/h, heading 180.
    let t3 = t + chrono::Duration::seconds(60);
    let mut mini = vec![1, 10, 0x01, 0x04];
    mini.extend_from_slice(&(t3.timestamp() as u32).to_be_bytes());
    mini.extend_from_slice(&413_300_000i32.to_be_bytes());
    mini.extend_from_slice(&198_200_000i32.to_be_bytes());
    mini.extend_from_slice(&180i16.to_be_bytes());
    mini.extend_from_slice(&[20, 0x09, 0x0f, 0x01, 27, 0]);
    s.send(&mini).await.unwrap();
    assert_eq!(recv_within(&s, 5000).await, Some(ack(0x0104, 10)));
    let v = wait_device(&r, MOBILE_ID, |v| v["lat"].as_f64() == Some(41.33)).await;
    assert_eq!(v["lon"].as_f64().unwrap(), 19.82);
    assert_eq!(v["speed"].as_f64().unwrap(), 20.0);
    assert_eq!(v["course"].as_f64().unwrap(), 180.0);
    assert_eq!(fix_time(&v), t3);
    r.shutdown().await;
}

#[tokio::test]
async fn refused_unit_gets_no_ack() {
    let r = start("[devices]\nallow = [\"1\"]\n").await;
    let s = peer(&r).await;
    s.send(&event_report(1, 7, Utc::now().trunc_subsecs(0)))
        .await
        .unwrap();
    assert_eq!(recv_within(&s, 500).await, None);
    r.shutdown().await;
}
