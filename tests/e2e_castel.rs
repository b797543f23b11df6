//! Castel end to end over a real TCP socket: SC login answered (with the server time), a GPS
//! report (split across writes) stored without an answer, the fix in the API, the heartbeat
//! answered. Frames are built by hand here, with a CRC-16/X-25 computed independently of the
//! code under test.

mod support;

use support::gateway::fix_time;

use chrono::{DateTime, Datelike, SubsecRound, Timelike, Utc};
use support::gateway::*;
use tokio::io::AsyncWriteExt;

const ID: &[u8; 20] = b"213GL2014000123\0\0\0\0\0";

fn x25(data: &[u8]) -> u16 {
    crc::Crc::<u16>::new(&crc::CRC_16_IBM_SDLC).checksum(data)
}

fn frame(typ: u16, content: &[u8]) -> Vec<u8> {
    let total = 2 + 2 + 1 + 20 + 2 + content.len() + 4;
    let mut f = b"@@".to_vec();
    f.extend_from_slice(&(total as u16).to_le_bytes());
    f.push(4);
    f.extend_from_slice(ID);
    f.extend_from_slice(&typ.to_be_bytes());
    f.extend_from_slice(content);
    let c = x25(&f);
    f.extend_from_slice(&c.to_le_bytes());
    f.extend_from_slice(b"\r\n");
    f
}

/// Statistics block (odometer 98 765 m, ignition on) with no fixes, or one fix at `t`:
/// 59.9139°N 10.7522°E (Oslo), 1500 cm/s = 54 km/h, course 123.4°, 9 satellites.
fn report(prefix: &[u8], t: Option<DateTime<Utc>>) -> Vec<u8> {
    let mut c = prefix.to_vec();
    c.extend_from_slice(&[0; 8]);
    c.extend_from_slice(&98_765u32.to_le_bytes());
    c.extend_from_slice(&[0; 10]);
    c.extend_from_slice(&(1u32 << 18).to_le_bytes());
    c.extend_from_slice(&[0; 8]);
    match t {
        None => c.push(0),
        Some(t) => {
            c.push(1);
            c.extend_from_slice(&[
                t.day() as u8,
                t.month() as u8,
                (t.year() - 2000) as u8,
                t.hour() as u8,
                t.minute() as u8,
                t.second() as u8,
            ]);
            c.extend_from_slice(&215_690_040u32.to_le_bytes());
            c.extend_from_slice(&38_707_920u32.to_le_bytes());
            c.extend_from_slice(&1500u16.to_le_bytes());
            c.extend_from_slice(&1234u16.to_le_bytes());
            c.push(0x9f); // 9 satellites, fixed, north, east
        }
    }
    c
}

#[tokio::test]
async fn login_gps_heartbeat() {
    let r = start("").await;
    let mut s = connect(&r, "castel").await;
    s.write_all(&frame(0x1001, &report(&[], None)))
        .await
        .unwrap();
    let got = read_n(&mut s, 41).await;
    assert_eq!(
        &got[..27],
        &frame(0x9001, &[0; 10])[..27],
        "header of the login answer"
    );
    assert_eq!(&got[27..33], &[0xff, 0xff, 0xff, 0xff, 0, 0]);
    let server = i64::from(u32::from_le_bytes(got[33..37].try_into().unwrap()));
    assert!(
        (server - Utc::now().timestamp()).abs() < 60,
        "server time {server}"
    );
    assert_eq!(u16::from_le_bytes([got[37], got[38]]), x25(&got[..37]));
    assert_eq!(&got[39..], b"\r\n");

    let t = Utc::now().trunc_subsecs(0) - chrono::Duration::seconds(60);
    let f = frame(0x4001, &report(&[0], Some(t)));
    s.write_all(&f[..40]).await.unwrap();
    s.write_all(&f[40..]).await.unwrap();
    expect_silence(&mut s, 200).await;
    send_expect(&mut s, &frame(0x1003, &[]), &frame(0x9003, &[])).await;
    let v = wait_device(&r, "213GL2014000123", |v| v["lat"].as_f64().is_some()).await;
    assert_eq!(v["protocol"], "castel");
    assert_eq!(fix_time(&v), t);
    assert!((v["lat"].as_f64().unwrap() - 59.9139).abs() < 1e-9);
    assert!((v["lon"].as_f64().unwrap() - 10.7522).abs() < 1e-9);
    assert!((v["speed"].as_f64().unwrap() - 54.0).abs() < 1e-9);
    assert_eq!(v["course"].as_f64().unwrap(), 123.4);
    assert_eq!(v["odometer"].as_f64().unwrap(), 98_765.0);
    r.shutdown().await;
}

#[tokio::test]
async fn refused_unit_gets_no_login_answer() {
    let r = start("[devices]\nallow = [\"1\"]\n").await;
    let mut s = connect(&r, "castel").await;
    s.write_all(&frame(0x1001, &report(&[], None)))
        .await
        .unwrap();
    expect_closed(&mut s).await;
    r.shutdown().await;
}
