//! End to end over real sockets: devices log in, send positions, get exact ACKs, and the API
//! shows them. Frames here are built by hand with independently computed checksums.

mod support;

use chrono::{TimeZone, Utc};
use support::gateway::*;
use support::wire::{
    arc, gt06_ack, jt808_frame, jt808_general, jt808_location_body, Gt06Fix, GT06_IMEI, GT06_LOGIN,
    GT06_LOGIN_ACK,
};
use tokio::io::AsyncWriteExt;

/// GT06 location 0x12: 2026-11-27 05:30:00 UTC, 22°32.7658′N 114°02.9300′E, 60 km/h,
/// course 90°, 9 satellites, fix valid.
fn gt06_location(serial: u16) -> Vec<u8> {
    let fix = Gt06Fix {
        time: Utc.with_ymd_and_hms(2026, 11, 27, 5, 30, 0).unwrap(),
        satellites: 9,
        lat: 22.0 + 32.7658 / 60.0,
        lon: 114.0 + 2.93 / 60.0,
        speed: 60,
        course: 90,
    };
    support::wire::gt06_location(&fix, serial)
}

#[tokio::test]
async fn gt06_login_position_ack_and_api() {
    let r = start("").await;
    let mut s = connect(&r, "gt06").await;
    // The spec-derived login ACK for serial 0x0009 (protocol-notes).
    gt06_login(&mut s).await;
    send_expect(&mut s, &gt06_location(0x0a), &gt06_ack(0x12, 0x0a)).await;
    let d = wait_device(&r, GT06_IMEI, |d| !d["lat"].is_null()).await;
    assert!((d["lat"].as_f64().unwrap() - 22.546097).abs() < 1e-5, "{d}");
    assert!(
        (d["lon"].as_f64().unwrap() - 114.048833).abs() < 1e-5,
        "{d}"
    );
    assert_eq!(d["speed"].as_f64().unwrap(), 60.0);
    assert_eq!(d["course"].as_f64().unwrap(), 90.0);
    assert_eq!(d["time"], "2026-11-27T05:30:00Z");
    assert_eq!(d["valid"], true);
    assert_eq!(d["online"], true);
    assert_eq!(d["protocol"], "gt06");
    let (status, list) = get_json(&r, "/api/devices").await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    r.shutdown().await;
}

#[tokio::test]
async fn gt06_position_before_login_is_not_acked() {
    let r = start("").await;
    let mut s = connect(&r, "gt06").await;
    s.write_all(&gt06_location(1)).await.unwrap();
    expect_silence(&mut s, 300).await;
    // The same connection can still log in afterwards.
    gt06_login(&mut s).await;
    r.shutdown().await;
}

#[tokio::test]
async fn refused_device_gets_no_login_ack_is_disconnected_and_counted() {
    let r = start("[devices]\nallow = [\"111111111111111\"]\n").await;
    let mut s = connect(&r, "gt06").await;
    s.write_all(&hex::decode(GT06_LOGIN).unwrap())
        .await
        .unwrap();
    expect_closed(&mut s).await;
    let m = scrape(&r).await;
    assert!(
        m.contains("trackgate_devices_refused_total{protocol=\"gt06\"} 1"),
        "{m}"
    );
    let (status, _) = get_json(&r, &format!("/api/devices/{GT06_IMEI}")).await;
    assert_eq!(status, 404);
    r.shutdown().await;
}

#[tokio::test]
async fn bad_checksum_is_dropped_counted_and_connection_kept() {
    let r = start("").await;
    let mut s = connect(&r, "gt06").await;
    gt06_login(&mut s).await;
    let mut bad = gt06_location(2);
    let n = bad.len();
    bad[n - 3] ^= 0xff; // corrupt the CRC
    s.write_all(&bad).await.unwrap();
    // The next good frame on the same connection is still answered.
    send_expect(&mut s, &gt06_location(3), &gt06_ack(0x12, 3)).await;
    let m = scrape(&r).await;
    assert!(
        m.contains("trackgate_checksum_failures_total{protocol=\"gt06\"} 1"),
        "{m}"
    );
    r.shutdown().await;
}

#[tokio::test]
async fn garbage_and_oversize_on_one_connection_never_stall_another() {
    let r = start("").await;
    let mut bad = connect(&r, "gt06").await;
    let mut good = connect(&r, "gt06").await;
    // Garbage, a frame start with an absurd 0x7979 length, then random bytes.
    let mut junk = vec![0x00, 0xff, 0x13, 0x78, 0x79, 0x79, 0xff, 0xff];
    junk.extend((0..20_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    let _ = bad.write_all(&junk).await;
    gt06_login(&mut good).await;
    send_expect(&mut good, &gt06_location(4), &gt06_ack(0x12, 4)).await;
    wait_device(&r, GT06_IMEI, |d| !d["lat"].is_null()).await;
    r.shutdown().await;
}

#[tokio::test]
async fn frames_split_byte_by_byte_and_coalesced_get_every_ack() {
    let r = start("").await;
    let mut s = connect(&r, "gt06").await;
    let login = hex::decode(GT06_LOGIN).unwrap();
    for b in &login {
        s.write_all(&[*b]).await.unwrap();
        s.flush().await.unwrap();
    }
    assert_eq!(
        read_n(&mut s, 10).await,
        hex::decode(GT06_LOGIN_ACK).unwrap()
    );
    let mut many = Vec::new();
    let mut acks = Vec::new();
    for serial in 10..20u16 {
        many.extend(gt06_location(serial));
        acks.extend(gt06_ack(0x12, serial));
    }
    s.write_all(&many).await.unwrap();
    assert_eq!(
        hex::encode(read_n(&mut s, acks.len()).await),
        hex::encode(&acks)
    );
    r.shutdown().await;
}

/// The Teltonika handshake: the IMEI with a 2-byte length.
fn teltonika_imei(imei: &str) -> Vec<u8> {
    let mut hs = (imei.len() as u16).to_be_bytes().to_vec();
    hs.extend_from_slice(imei.as_bytes());
    hs
}

/// Teltonika: IMEI handshake `01`, a Codec 8 packet of two records, ACK = 4-byte count.
#[tokio::test]
async fn teltonika_handshake_and_record_count_ack() {
    let r = start("").await;
    let mut s = connect(&r, "teltonika").await;
    send_expect(&mut s, &teltonika_imei("356307042441013"), &[0x01]).await;

    let record = |ts_ms: u64, lon: i32, lat: i32| {
        let mut r = Vec::new();
        r.extend_from_slice(&ts_ms.to_be_bytes());
        r.push(0); // priority
        r.extend_from_slice(&lon.to_be_bytes());
        r.extend_from_slice(&lat.to_be_bytes());
        r.extend_from_slice(&120i16.to_be_bytes()); // altitude
        r.extend_from_slice(&45u16.to_be_bytes()); // angle
        r.push(8); // satellites
        r.extend_from_slice(&50u16.to_be_bytes()); // speed
        r.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // event io 0, total 0, N1..N8 = 0
        r
    };
    let mut data = vec![0x08, 2];
    data.extend(record(1_764_221_400_000, 254_000_000, 546_000_000));
    data.extend(record(1_764_221_460_000, 254_100_000, 546_100_000));
    data.push(2);
    let mut pkt = vec![0, 0, 0, 0];
    pkt.extend_from_slice(&(data.len() as u32).to_be_bytes());
    pkt.extend_from_slice(&data);
    pkt.extend_from_slice(&(arc(&data) as u32).to_be_bytes());
    send_expect(&mut s, &pkt, &[0, 0, 0, 2]).await;
    let d = wait_device(&r, "356307042441013", |d| {
        d["time"] == "2025-11-27T05:31:00Z"
    })
    .await;
    assert!((d["lat"].as_f64().unwrap() - 54.61).abs() < 1e-7, "{d}");
    assert!((d["lon"].as_f64().unwrap() - 25.41).abs() < 1e-7, "{d}");
    assert_eq!(d["speed"].as_f64().unwrap(), 50.0);
    assert_eq!(d["altitude"].as_f64().unwrap(), 120.0);
    r.shutdown().await;
}

#[tokio::test]
async fn teltonika_refused_imei_gets_00() {
    let r = start("[devices]\nallow = [\"111111111111111\"]\n").await;
    let mut s = connect(&r, "teltonika").await;
    send_expect(&mut s, &teltonika_imei("356307042441013"), &[0x00]).await;
    r.shutdown().await;
}

/// JT/T 808: a terminal registers (0x8100 carries its code), authenticates with it, and a
/// 0x0200 location is answered with 0x8001 echoing its serial and message id.
#[tokio::test]
async fn jt808_location_gets_general_response() {
    let r = start("").await;
    let mut s = connect(&r, "jt808").await;
    let phone = "012076463279";
    let code = jt808_register(&mut s, phone, 0x003e, 0).await;
    jt808_auth(&mut s, phone, &code, 0x003f, 1).await;
    // Header: msg 0x0200, phone 012076463279, serial 0x0040; 2026-11-27 05:30:00Z.
    let t = Utc.with_ymd_and_hms(2026, 11, 27, 5, 30, 0).unwrap();
    let loc = jt808_frame(
        0x0200,
        phone,
        0x0040,
        &jt808_location_body(t, 22.546097, 114.048833),
    );
    // 7E 8001 0005 <phone> 0002 | 0040 0200 00 | xor 7E: the third reply on the connection.
    send_expect(&mut s, &loc, &jt808_general(phone, 2, 0x0040, 0x0200, 0)).await;
    let d = wait_device(&r, "12076463279", |d| !d["lat"].is_null()).await;
    assert_eq!(d["id"], "012076463279");
    assert!((d["lat"].as_f64().unwrap() - 22.546097).abs() < 1e-6, "{d}");
    assert!((d["speed"].as_f64().unwrap() - 60.5).abs() < 1e-9, "{d}");
    assert_eq!(d["time"], "2026-11-27T05:30:00Z");
    r.shutdown().await;
}
