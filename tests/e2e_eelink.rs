//! Eelink end to end over a real TCP socket: login answered (with the server time), a normal
//! report (split across writes) answered with its type and sequence once durable, the fix in
//! the API. Packets are built by hand here, independently of the code under test.

mod support;

use support::gateway::fix_time;

use chrono::{SubsecRound, Utc};
use support::gateway::*;
use tokio::io::AsyncWriteExt;

fn packet(typ: u8, seq: u16, content: &[u8]) -> Vec<u8> {
    let mut b = vec![b'g', b'g', typ];
    b.extend_from_slice(&((2 + content.len()) as u16).to_be_bytes());
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(content);
    b
}

#[tokio::test]
async fn login_and_normal_report() {
    let r = start("").await;
    let mut s = connect(&r, "eelink").await;
    // IMEI 352544071677471 as `0` + 15 digits in hex, then language and time zone.
    let login = packet(0x01, 1, &hex::decode("0352544071677471200a").unwrap());
    s.write_all(&login).await.unwrap();
    // The answer carries the server's clock: check its frame and that the time is now-ish.
    let got = read_n(&mut s, 14).await;
    assert_eq!(&got[..7], b"gg\x01\x00\x09\x00\x01");
    let server = i64::from(u32::from_be_bytes(got[7..11].try_into().unwrap()));
    assert!(
        (server - Utc::now().timestamp()).abs() < 60,
        "server time {server}"
    );
    assert_eq!(&got[11..], &[0, 1, 0]);

    let t = Utc::now().trunc_subsecs(0) - chrono::Duration::seconds(60);
    // 0x12: time, flags 01, 48.8584°N 2.2945°E (×1,800,000), altitude 35 m, 27 km/h,
    // course 90, 9 satellites, status: valid, ignition known and on.
    let mut c = (t.timestamp() as u32).to_be_bytes().to_vec();
    c.push(0x01);
    c.extend_from_slice(&87_945_120i32.to_be_bytes());
    c.extend_from_slice(&4_130_100i32.to_be_bytes());
    c.extend_from_slice(&35i16.to_be_bytes());
    c.extend_from_slice(&27u16.to_be_bytes());
    c.extend_from_slice(&90u16.to_be_bytes());
    c.push(9);
    c.extend_from_slice(&0x0007u16.to_be_bytes());
    let report = packet(0x12, 0x0203, &c);
    s.write_all(&report[..10]).await.unwrap();
    expect_silence(&mut s, 100).await;
    send_expect(&mut s, &report[10..], b"gg\x12\x00\x02\x02\x03").await;
    let v = wait_device(&r, "352544071677471", |v| v["lat"].as_f64().is_some()).await;
    assert_eq!(v["protocol"], "eelink");
    assert_eq!(fix_time(&v), t);
    assert!((v["lat"].as_f64().unwrap() - 48.8584).abs() < 1e-9);
    assert!((v["lon"].as_f64().unwrap() - 2.2945).abs() < 1e-9);
    assert_eq!(v["speed"].as_f64().unwrap(), 27.0);
    assert_eq!(v["course"].as_f64().unwrap(), 90.0);
    assert_eq!(v["altitude"].as_f64().unwrap(), 35.0);
    assert_eq!(v["ignition"], true);
    r.shutdown().await;
}
