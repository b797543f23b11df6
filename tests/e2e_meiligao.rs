//! Meiligao end to end over a real TCP socket: login answered exactly, a position report
//! (split across writes) stored without an answer, the fix in the API, the heartbeat answered.
//! Frames are built by hand here, with a CRC-16/CCITT-FALSE computed independently of the
//! code under test.

mod support;

use support::gateway::fix_time;

use chrono::{SubsecRound, Utc};
use support::gateway::*;
use tokio::io::AsyncWriteExt;

/// BCD id `13 61 23 45 67 8F FF` → device `13612345678`.
const ID: [u8; 7] = [0x13, 0x61, 0x23, 0x45, 0x67, 0x8f, 0xff];

fn frame(marker: u8, cmd: u16, data: &[u8]) -> Vec<u8> {
    let mut f = vec![marker, marker];
    f.extend_from_slice(&((17 + data.len()) as u16).to_be_bytes());
    f.extend_from_slice(&ID);
    f.extend_from_slice(&cmd.to_be_bytes());
    f.extend_from_slice(data);
    let c = crc::Crc::<u16>::new(&crc::CRC_16_IBM_3740).checksum(&f);
    f.extend_from_slice(&c.to_be_bytes());
    f.extend_from_slice(b"\r\n");
    f
}

#[tokio::test]
async fn login_position_heartbeat() {
    let r = start("").await;
    let mut s = connect(&r, "meiligao").await;
    send_expect(
        &mut s,
        &frame(b'$', 0x5000, &[]),
        &frame(b'@', 0x4000, &[1]),
    )
    .await;
    let t = Utc::now().trunc_subsecs(0) - chrono::Duration::seconds(60);
    // 52°31.0000'N 13°24.0000'E (Berlin), 10 knots = 18.52 km/h, course 270, altitude 34.
    let sentence = format!(
        "{}.000,A,5231.0000,N,01324.0000,E,10.00,270,{},,*00|0.9|34|0000|0000,0000",
        t.format("%H%M%S"),
        t.format("%d%m%y")
    );
    let f = frame(b'$', 0x9955, sentence.as_bytes());
    s.write_all(&f[..30]).await.unwrap();
    s.write_all(&f[30..]).await.unwrap();
    expect_silence(&mut s, 200).await;
    send_expect(
        &mut s,
        &frame(b'$', 0x0001, &[]),
        &frame(b'@', 0x0001, &[1]),
    )
    .await;
    let v = wait_device(&r, "13612345678", |v| v["lat"].as_f64().is_some()).await;
    assert_eq!(v["protocol"], "meiligao");
    assert_eq!(fix_time(&v), t);
    assert!((v["lat"].as_f64().unwrap() - 52.516666666).abs() < 1e-6);
    assert_eq!(v["lon"].as_f64().unwrap(), 13.4);
    assert!((v["speed"].as_f64().unwrap() - 18.52).abs() < 1e-9);
    assert_eq!(v["course"].as_f64().unwrap(), 270.0);
    assert_eq!(v["altitude"].as_f64().unwrap(), 34.0);
    r.shutdown().await;
}

#[tokio::test]
async fn refused_device_gets_no_login_answer() {
    let r = start("[devices]\nallow = [\"1\"]\n").await;
    let mut s = connect(&r, "meiligao").await;
    s.write_all(&frame(b'$', 0x5000, &[])).await.unwrap();
    expect_closed(&mut s).await;
    r.shutdown().await;
}
