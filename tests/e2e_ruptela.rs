//! Ruptela end to end over a real TCP socket: records in (split across writes), the exact ACK
//! back after they are durable, and the API shows the fix. The frame is built by hand here
//! with a CRC-16/KERMIT computed independently of the code under test.

mod support;

use support::gateway::*;
use tokio::io::AsyncWriteExt;

fn kermit(data: &[u8]) -> u16 {
    crc::Crc::<u16>::new(&crc::CRC_16_KERMIT).checksum(data)
}

/// One cmd-1 record: 2026-11-27 05:30:00 UTC, 54.6872°N 25.2797°E, 57 km/h, course 123.45°,
/// altitude 112.3 m, 11 satellites, ignition on (IO 251).
fn records_frame(imei: u64) -> Vec<u8> {
    let mut body = imei.to_be_bytes().to_vec();
    body.extend_from_slice(&[1, 0, 1]); // cmd, records left, count
    body.extend_from_slice(&1_795_757_400u32.to_be_bytes());
    body.extend_from_slice(&[0, 0]); // ts ext, priority
    body.extend_from_slice(&252_797_000i32.to_be_bytes());
    body.extend_from_slice(&546_872_000i32.to_be_bytes());
    body.extend_from_slice(&1123u16.to_be_bytes());
    body.extend_from_slice(&12_345u16.to_be_bytes());
    body.push(11);
    body.extend_from_slice(&57u16.to_be_bytes());
    body.push(9); // hdop 0.9
    body.push(0); // event
    body.extend_from_slice(&[1, 251, 1, 0, 0, 0]); // IO groups
    let mut f = (body.len() as u16).to_be_bytes().to_vec();
    f.extend_from_slice(&body);
    f.extend_from_slice(&kermit(&body).to_be_bytes());
    f
}

#[tokio::test]
async fn records_ack_and_api() {
    let r = start("").await;
    let mut s = connect(&r, "ruptela").await;
    let f = records_frame(863_071_016_796_572);
    // Split mid-record: the ACK comes only once the whole frame arrived and is durable.
    s.write_all(&f[..20]).await.unwrap();
    expect_silence(&mut s, 100).await;
    send_expect(&mut s, &f[20..], &hex::decode("0002640113bc").unwrap()).await;
    let v = wait_device(&r, "863071016796572", |v| v["lat"].as_f64().is_some()).await;
    assert_eq!(v["protocol"], "ruptela");
    assert_eq!(v["time"], "2026-11-27T05:30:00Z");
    assert_eq!(v["lat"].as_f64().unwrap(), 54.6872);
    assert_eq!(v["lon"].as_f64().unwrap(), 25.2797);
    assert_eq!(v["speed"].as_f64().unwrap(), 57.0);
    assert_eq!(v["course"].as_f64().unwrap(), 123.45);
    assert_eq!(v["altitude"].as_f64().unwrap(), 112.3);
    // A frame with a broken CRC gets no ACK; the connection stays usable.
    let mut bad = records_frame(863_071_016_796_572);
    let n = bad.len();
    bad[n - 1] ^= 1;
    s.write_all(&bad).await.unwrap();
    expect_silence(&mut s, 200).await;
    send_expect(&mut s, &f, &hex::decode("0002640113bc").unwrap()).await;
    r.shutdown().await;
}

#[tokio::test]
async fn refused_device_gets_the_negative_ack() {
    let r = start("[devices]\nallow = [\"1\"]\n").await;
    let mut s = connect(&r, "ruptela").await;
    let nack = [0x00, 0x02, 0x64, 0x00];
    let mut expect = nack.to_vec();
    expect.extend_from_slice(&kermit(&nack[2..]).to_be_bytes());
    send_expect(&mut s, &records_frame(863_071_016_796_572), &expect).await;
    r.shutdown().await;
}
