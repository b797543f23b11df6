//! Galileosky end to end over a real TCP socket: a main packet in (split across writes), the
//! exact confirmation (`02` + the packet's CRC) back once it is durable, the fix in the API;
//! a data packet without IMEI on the same connection; a broken CRC unanswered; a refused
//! device disconnected without a confirmation. Packets are built by hand here, with a
//! CRC-16/MODBUS computed independently of the code under test.

mod support;

use support::gateway::fix_time;

use chrono::{DateTime, SubsecRound, Utc};
use support::gateway::*;
use tokio::io::AsyncWriteExt;

const IMEI: &str = "868204001269934";

fn modbus(data: &[u8]) -> u16 {
    crc::Crc::<u16>::new(&crc::CRC_16_MODBUS).checksum(data)
}

/// `01 | len LE | body | CRC LE`.
fn packet(body: &[u8]) -> Vec<u8> {
    let mut f = vec![0x01];
    f.extend_from_slice(&(body.len() as u16).to_le_bytes());
    f.extend_from_slice(body);
    let c = modbus(&f);
    f.extend_from_slice(&c.to_le_bytes());
    f
}

/// One record: time, 59.437°N 24.7536°E (Tallinn), 10 satellites valid, 72.4 km/h, course
/// 183.5°, altitude 41 m.
fn record(t: DateTime<Utc>, lat_e6: i32) -> Vec<u8> {
    let mut b = vec![0x20];
    b.extend_from_slice(&(t.timestamp() as u32).to_le_bytes());
    b.push(0x30);
    b.push(0x0a);
    b.extend_from_slice(&lat_e6.to_le_bytes());
    b.extend_from_slice(&24_753_600i32.to_le_bytes());
    b.push(0x33);
    b.extend_from_slice(&724u16.to_le_bytes());
    b.extend_from_slice(&1835u16.to_le_bytes());
    b.push(0x34);
    b.extend_from_slice(&41i16.to_le_bytes());
    b
}

fn with_imei(rec: &[u8]) -> Vec<u8> {
    let mut b = vec![0x03];
    b.extend_from_slice(IMEI.as_bytes());
    b.extend_from_slice(&[0x04, 0x32, 0x00]);
    b.extend_from_slice(rec);
    packet(&b)
}

fn confirmation(p: &[u8]) -> Vec<u8> {
    vec![0x02, p[p.len() - 2], p[p.len() - 1]]
}

#[tokio::test]
async fn main_packets_confirmed_and_stored() {
    let r = start("").await;
    let mut s = connect(&r, "galileo").await;
    let t = Utc::now().trunc_subsecs(0) - chrono::Duration::seconds(60);
    let p = with_imei(&record(t, 59_437_000));
    s.write_all(&p[..20]).await.unwrap();
    expect_silence(&mut s, 100).await;
    send_expect(&mut s, &p[20..], &confirmation(&p)).await;
    let v = wait_device(&r, IMEI, |v| v["lat"].as_f64().is_some()).await;
    assert_eq!(v["protocol"], "galileo");
    assert_eq!(fix_time(&v), t);
    assert_eq!(v["lat"].as_f64().unwrap(), 59.437);
    assert_eq!(v["lon"].as_f64().unwrap(), 24.7536);
    assert_eq!(v["speed"].as_f64().unwrap(), 72.4);
    assert_eq!(v["course"].as_f64().unwrap(), 183.5);
    assert_eq!(v["altitude"].as_f64().unwrap(), 41.0);
    assert_eq!(v["satellites"].as_u64().unwrap(), 10);

    // A broken CRC: no confirmation, the connection stays.
    let t2 = t + chrono::Duration::seconds(30);
    let mut bad = packet(&record(t2, 59_438_000));
    let n = bad.len();
    bad[n - 1] ^= 1;
    s.write_all(&bad).await.unwrap();
    expect_silence(&mut s, 200).await;
    // A data packet without IMEI belongs to the connection's device.
    let good = packet(&record(t2, 59_438_000));
    send_expect(&mut s, &good, &confirmation(&good)).await;
    let v = wait_device(&r, IMEI, |v| v["lat"].as_f64() == Some(59.438)).await;
    assert_eq!(fix_time(&v), t2);
    r.shutdown().await;
}

#[tokio::test]
async fn refused_device_gets_no_confirmation() {
    let r = start("[devices]\nallow = [\"1\"]\n").await;
    let mut s = connect(&r, "galileo").await;
    let t = Utc::now().trunc_subsecs(0);
    s.write_all(&with_imei(&record(t, 59_437_000)))
        .await
        .unwrap();
    expect_closed(&mut s).await;
    r.shutdown().await;
}
