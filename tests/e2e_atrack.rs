//! ATrack end to end over a real TCP socket: a binary report in (split across writes), the
//! exact ACK (`FE 02 | unit id | seq`) once durable, the fix in the API; the keep-alive
//! echoed; a broken CRC unanswered. Frames are built by hand here, with a CRC-16/ARC computed
//! independently of the code under test.

mod support;

use support::gateway::fix_time;

use chrono::{DateTime, SubsecRound, Utc};
use support::gateway::*;
use tokio::io::AsyncWriteExt;

const UNIT: u64 = 357_766_091_026_083;

fn arc(data: &[u8]) -> u16 {
    crc::Crc::<u16>::new(&crc::CRC_16_ARC).checksum(data)
}

/// `@P | CRC | len | seq | unit | record`: 37.407524°N 121.90022°W, course 175°, 64 km/h,
/// report id 2, odometer 1234.5 km, HDOP 0.9, ignition on.
fn report(seq: u16, t: DateTime<Utc>) -> Vec<u8> {
    let mut body = seq.to_be_bytes().to_vec();
    body.extend_from_slice(&UNIT.to_be_bytes());
    for _ in 0..3 {
        body.extend_from_slice(&(t.timestamp() as u32).to_be_bytes());
    }
    body.extend_from_slice(&(-121_900_220i32).to_be_bytes());
    body.extend_from_slice(&37_407_524i32.to_be_bytes());
    body.extend_from_slice(&175u16.to_be_bytes());
    body.push(2);
    body.extend_from_slice(&12_345u32.to_be_bytes());
    body.extend_from_slice(&9u16.to_be_bytes());
    body.push(1);
    body.extend_from_slice(&64u16.to_be_bytes());
    body.push(0);
    body.extend_from_slice(&0u16.to_be_bytes());
    body.push(0); // driver ""
    body.extend_from_slice(&[0x07, 0xd0, 0x07, 0xd0, 0]); // temps, message ""
    let mut tail = (body.len() as u16).to_be_bytes().to_vec();
    tail.extend_from_slice(&body);
    let mut f = b"@P".to_vec();
    f.extend_from_slice(&arc(&tail).to_be_bytes());
    f.extend_from_slice(&tail);
    f
}

fn ack(seq: u16) -> Vec<u8> {
    let mut a = vec![0xfe, 0x02];
    a.extend_from_slice(&UNIT.to_be_bytes());
    a.extend_from_slice(&seq.to_be_bytes());
    a
}

#[tokio::test]
async fn binary_report_acked_and_stored() {
    let r = start("").await;
    let mut s = connect(&r, "atrack").await;
    let t = Utc::now().trunc_subsecs(0) - chrono::Duration::seconds(60);
    let f = report(0x0102, t);
    s.write_all(&f[..25]).await.unwrap();
    expect_silence(&mut s, 100).await;
    send_expect(&mut s, &f[25..], &ack(0x0102)).await;
    let v = wait_device(&r, "357766091026083", |v| v["lat"].as_f64().is_some()).await;
    assert_eq!(v["protocol"], "atrack");
    assert_eq!(fix_time(&v), t);
    assert_eq!(v["lat"].as_f64().unwrap(), 37.407524);
    assert_eq!(v["lon"].as_f64().unwrap(), -121.90022);
    assert_eq!(v["speed"].as_f64().unwrap(), 64.0);
    assert_eq!(v["course"].as_f64().unwrap(), 175.0);
    assert_eq!(v["odometer"].as_f64().unwrap(), 1_234_500.0);

    // The keep-alive comes back as it went.
    send_expect(&mut s, &ack(7), &ack(7)).await;
    // A broken CRC: no answer; the connection stays usable.
    let mut bad = report(0x0103, t);
    bad[3] ^= 1;
    s.write_all(&bad).await.unwrap();
    expect_silence(&mut s, 200).await;
    send_expect(&mut s, &report(0x0104, t), &ack(0x0104)).await;
    r.shutdown().await;
}

#[tokio::test]
async fn refused_unit_gets_no_ack() {
    let r = start("[devices]\nallow = [\"1\"]\n").await;
    let mut s = connect(&r, "atrack").await;
    s.write_all(&report(1, Utc::now().trunc_subsecs(0)))
        .await
        .unwrap();
    expect_closed(&mut s).await;
    r.shutdown().await;
}
