//! Device identity attacks over real sockets, each reproduced and refused with the exact
//! bytes the protocol answers: a JT/T 808 terminal authenticating with a code it was not
//! given (or not at all), a second terminal id on one connection, a second connection logging
//! in with an IMEI that is online (`devices.takeover` both ways), and an id used from outside
//! its `[[devices.keys]]` source range.

mod support;

use chrono::{Duration, Utc};
use support::gateway::*;
use support::wire::{
    gt06_ack, gt06_frame, gt06_location, jt808_frame, jt808_general, jt808_location_body, Gt06Fix,
    GT06_IMEI,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const PHONE: &str = "013345678906";
const OTHER: &str = "013345678907";

/// A JT/T 808 location of `phone` 10 minutes ago.
fn jt808_location(phone: &str, serial: u16) -> Vec<u8> {
    let t = Utc::now() - Duration::minutes(10);
    jt808_frame(0x0200, phone, serial, &jt808_location_body(t, 22.5, 114.0))
}

/// A GT06 login (0x01) of `imei`: the IMEI as BCD with a leading zero nibble.
fn gt06_login_of(imei: &str, serial: u16) -> Vec<u8> {
    let digits: Vec<u8> = format!("0{imei}").bytes().map(|b| b - b'0').collect();
    let bcd: Vec<u8> = digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect();
    gt06_frame(0x01, &bcd, serial)
}

/// A GT06 fix 10 minutes ago.
fn gt06_fix(serial: u16) -> Vec<u8> {
    let fix = Gt06Fix {
        time: Utc::now() - Duration::minutes(10),
        satellites: 9,
        lat: 47.5,
        lon: 8.5,
        speed: 30,
        course: 90,
    };
    gt06_location(&fix, serial)
}

async fn metric_text(r: &trackgate::server::Running) -> String {
    scrape(r).await
}

#[tokio::test]
async fn jt808_wrong_or_missing_auth_code_is_refused_with_result_1_and_counted() {
    let r = start("").await;
    let mut s = connect(&r, "jt808").await;
    let code = jt808_register(&mut s, PHONE, 1, 0).await;
    assert_eq!(code.len(), 16, "a random code, not the phone: {code:?}");
    assert_ne!(code, PHONE.as_bytes());
    // The attack of main: any code (here the phone, main's old code) authenticates.
    let wrong = jt808_frame(0x0102, PHONE, 2, PHONE.as_bytes());
    s.write_all(&wrong).await.unwrap();
    assert_eq!(
        hex::encode(read_jt808(&mut s).await),
        hex::encode(jt808_general(PHONE, 1, 2, 0x0102, 1)),
        "0x8001 result 1"
    );
    expect_closed(&mut s).await;
    // Skipping authentication does not work either: a location first is refused.
    let mut s = connect(&r, "jt808").await;
    s.write_all(&jt808_location(PHONE, 3)).await.unwrap();
    assert_eq!(
        hex::encode(read_jt808(&mut s).await),
        hex::encode(jt808_general(PHONE, 0, 3, 0x0200, 1))
    );
    expect_closed(&mut s).await;
    let (status, _) = get_json(&r, &format!("/api/devices/{PHONE}")).await;
    assert_eq!(status, 404, "nothing was stored for the terminal");
    // A terminal that never registered has no code to present.
    let mut s = connect(&r, "jt808").await;
    s.write_all(&jt808_frame(0x0102, OTHER, 1, b"0123456789ABCDEF"))
        .await
        .unwrap();
    assert_eq!(
        read_jt808(&mut s).await,
        jt808_general(OTHER, 0, 1, 0x0102, 1)
    );
    expect_closed(&mut s).await;
    let m = metric_text(&r).await;
    for (reason, n) in [("wrong_code", 2), ("not_authenticated", 1)] {
        let series = format!(
            "trackgate_device_auth_failures_total{{protocol=\"jt808\",reason=\"{reason}\"}} {n}"
        );
        assert!(m.contains(&series), "{series} in {m}");
    }
    // The real terminal, with its code: accepted, and its location stored.
    let mut s = connect(&r, "jt808").await;
    jt808_auth(&mut s, PHONE, &code, 4, 0).await;
    send_expect(
        &mut s,
        &jt808_location(PHONE, 5),
        &jt808_general(PHONE, 1, 5, 0x0200, 0),
    )
    .await;
    let d = wait_device(&r, PHONE, |d| !d["lat"].is_null()).await;
    assert_eq!(d["connections"], 1);
    r.shutdown().await;
}

#[tokio::test]
async fn jt808_codes_survive_a_restart_and_a_used_code_is_not_handed_out_again() {
    let cfg = test_config("");
    let dir = cfg.storage.dir.clone();
    let r = trackgate::server::start(cfg).await.expect("start");
    let mut s = connect(&r, "jt808").await;
    let code = jt808_register(&mut s, PHONE, 1, 0).await;
    // The answer got lost and the terminal registers again: the same code.
    assert_eq!(jt808_register(&mut s, PHONE, 2, 1).await, code);
    jt808_auth(&mut s, PHONE, &code, 3, 2).await;
    drop(s);
    r.shutdown().await;

    let mut cfg = test_config("");
    cfg.storage.dir = dir;
    let r = trackgate::server::start(cfg).await.expect("restart");
    let mut s = connect(&r, "jt808").await;
    jt808_auth(&mut s, PHONE, &code, 4, 0).await;
    // Someone else registering the same phone gets "terminal already registered" (0x8100
    // result 3, no code); the connection stays for the terminal's own authentication.
    let mut thief = connect(&r, "jt808").await;
    let reg = jt808_frame(0x0100, PHONE, 9, &support::wire::jt808_register_body());
    send_expect(
        &mut thief,
        &reg,
        &jt808_frame(0x8100, PHONE, 0, &[0x00, 0x09, 0x03]),
    )
    .await;
    send_expect(
        &mut thief,
        &jt808_frame(0x0102, PHONE, 10, PHONE.as_bytes()),
        &jt808_general(PHONE, 1, 10, 0x0102, 1),
    )
    .await;
    expect_closed(&mut thief).await;
    send_expect(
        &mut s,
        &jt808_location(PHONE, 5),
        &jt808_general(PHONE, 1, 5, 0x0200, 0),
    )
    .await;
    let m = metric_text(&r).await;
    assert!(
        m.contains("trackgate_device_auth_failures_total{protocol=\"jt808\",reason=\"already_registered\"} 1"),
        "{m}"
    );
    r.shutdown().await;
}

#[tokio::test]
async fn jt808_second_terminal_id_on_a_connection_is_refused_unless_multi_terminal() {
    let r = start("").await;
    let mut other = connect(&r, "jt808").await;
    let other_code = jt808_register(&mut other, OTHER, 1, 0).await;
    drop(other);
    let mut s = connect(&r, "jt808").await;
    let code = jt808_register(&mut s, PHONE, 1, 0).await;
    jt808_auth(&mut s, PHONE, &code, 2, 1).await;
    // A frame of another terminal on this connection, even with that terminal's own code.
    send_expect(
        &mut s,
        &jt808_frame(0x0102, OTHER, 3, &other_code),
        &jt808_general(OTHER, 2, 3, 0x0102, 1),
    )
    .await;
    send_expect(
        &mut s,
        &jt808_location(OTHER, 4),
        &jt808_general(OTHER, 3, 4, 0x0200, 1),
    )
    .await;
    // The connection and its own terminal go on.
    send_expect(
        &mut s,
        &jt808_location(PHONE, 5),
        &jt808_general(PHONE, 4, 5, 0x0200, 0),
    )
    .await;
    wait_device(&r, PHONE, |d| !d["lat"].is_null()).await;
    let (status, _) = get_json(&r, &format!("/api/devices/{OTHER}")).await;
    assert_eq!(status, 404);
    let m = metric_text(&r).await;
    assert!(
        m.contains("trackgate_second_terminal_refused_total{protocol=\"jt808\"} 2"),
        "{m}"
    );
    r.shutdown().await;

    // A gateway that multiplexes terminals, each authenticating on the shared connection.
    let r = start("[protocols.jt808]\nmulti_terminal = true\n").await;
    let mut s = connect(&r, "jt808").await;
    let a = jt808_register(&mut s, PHONE, 1, 0).await;
    jt808_auth(&mut s, PHONE, &a, 2, 1).await;
    let b = jt808_register(&mut s, OTHER, 3, 2).await;
    jt808_auth(&mut s, OTHER, &b, 4, 3).await;
    send_expect(
        &mut s,
        &jt808_location(OTHER, 5),
        &jt808_general(OTHER, 4, 5, 0x0200, 0),
    )
    .await;
    send_expect(
        &mut s,
        &jt808_location(PHONE, 6),
        &jt808_general(PHONE, 5, 6, 0x0200, 0),
    )
    .await;
    for id in [PHONE, OTHER] {
        let d = wait_device(&r, id, |d| !d["lat"].is_null()).await;
        assert_eq!(d["connections"], 1, "{d}");
    }
    r.shutdown().await;
}

/// Logs [`GT06_IMEI`] in on a new connection and checks the login ACK.
async fn gt06_online(r: &trackgate::server::Running) -> TcpStream {
    let mut s = connect(r, "gt06").await;
    gt06_login(&mut s).await;
    s
}

#[tokio::test]
async fn imei_takeover_replace_closes_the_old_connection() {
    let r = start("").await;
    let mut old = gt06_online(&r).await;
    wait_device(&r, GT06_IMEI, |d| d["connections"] == 1).await;
    // Another device logs in with the IMEI that is online: it wins, the old one is closed.
    let mut new = gt06_online(&r).await;
    expect_closed(&mut old).await;
    send_expect(&mut new, &gt06_fix(0x0a), &gt06_ack(0x12, 0x0a)).await;
    let d = wait_device(&r, GT06_IMEI, |d| {
        d["connections"] == 1 && !d["lat"].is_null()
    })
    .await;
    assert_eq!(d["takeovers"], 1, "{d}");
    let m = metric_text(&r).await;
    assert!(
        m.contains("trackgate_device_takeovers_total{protocol=\"gt06\",policy=\"replace\"} 1"),
        "{m}"
    );
    r.shutdown().await;
}

#[tokio::test]
async fn imei_takeover_reject_refuses_the_newcomer() {
    let r = start("[devices]\ntakeover = \"reject\"\n").await;
    let mut holder = gt06_online(&r).await;
    wait_device(&r, GT06_IMEI, |d| d["connections"] == 1).await;
    // The newcomer's login gets GT06's refusal (silence) and the connection closes.
    let mut intruder = connect(&r, "gt06").await;
    intruder
        .write_all(&gt06_login_of(GT06_IMEI, 9))
        .await
        .unwrap();
    expect_closed(&mut intruder).await;
    send_expect(&mut holder, &gt06_fix(0x0b), &gt06_ack(0x12, 0x0b)).await;
    let d = wait_device(&r, GT06_IMEI, |d| !d["lat"].is_null()).await;
    assert_eq!(
        (d["connections"].clone(), d["takeovers"].clone()),
        (1.into(), 1.into()),
        "{d}"
    );
    let m = metric_text(&r).await;
    assert!(
        m.contains("trackgate_device_takeovers_total{protocol=\"gt06\",policy=\"reject\"} 1"),
        "{m}"
    );
    // Once the holder is gone, the id is free again.
    drop(holder);
    wait_device(&r, GT06_IMEI, |d| d["connections"] == 0).await;
    gt06_online(&r).await;
    r.shutdown().await;
}

#[tokio::test]
async fn device_keys_accept_an_id_only_from_its_source_ranges() {
    let pinned_elsewhere = "356307042441011";
    let r = start(&format!(
        "[[devices.keys]]\nid = \"{pinned_elsewhere}\"\npeer_cidrs = [\"10.0.0.0/8\"]\n\
         [[devices.keys]]\nid = \"{GT06_IMEI}\"\npeer_cidrs = [\"127.0.0.0/8\", \"::1\"]\n"
    ))
    .await;
    let mut s = connect(&r, "gt06").await;
    s.write_all(&gt06_login_of(pinned_elsewhere, 1))
        .await
        .unwrap();
    expect_closed(&mut s).await;
    let (status, _) = get_json(&r, &format!("/api/devices/{pinned_elsewhere}")).await;
    assert_eq!(status, 404);
    // The id whose range holds the loopback address logs in as usual.
    let mut s = gt06_online(&r).await;
    send_expect(&mut s, &gt06_fix(2), &gt06_ack(0x12, 2)).await;
    let m = metric_text(&r).await;
    assert!(
        m.contains("trackgate_devices_refused_peer_total{protocol=\"gt06\"} 1"),
        "{m}"
    );
    r.shutdown().await;
}
