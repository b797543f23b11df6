//! End to end over real sockets for the text protocols gl200, meitrack, suntech and watch:
//! an in-process gateway on port 0, frames written by a client, exact replies read back, and
//! the position polled from `/api/devices/{id}`.

mod support;

use chrono::{TimeZone, Utc};
use std::time::Duration;
use support::gateway;
use tokio::io::AsyncWriteExt;
use tokio::net::UdpSocket;
use trackgate::protocol::{gl200, meitrack, suntech, watch, Fix};

fn near(body: &serde_json::Value, lat: f64, lon: f64) -> bool {
    let (Some(a), Some(o)) = (body["lat"].as_f64(), body["lon"].as_f64()) else {
        return false;
    };
    (a - lat).abs() < 1e-5 && (o - lon).abs() < 1e-5
}

/// Sends one datagram and returns the reply (5 s limit).
async fn udp_exchange(sock: &UdpSocket, msg: &[u8]) -> Vec<u8> {
    sock.send(msg).await.expect("send");
    let mut buf = vec![0u8; 2048];
    let n = tokio::time::timeout(Duration::from_secs(5), sock.recv(&mut buf))
        .await
        .expect("udp reply within 5 s")
        .expect("recv");
    buf.truncate(n);
    buf
}

#[tokio::test]
async fn gl200_heartbeat_sack_and_position_over_tcp_and_udp() {
    let gw = gateway::start("").await;
    let mut s = gateway::connect(&gw, "gl200").await;
    gateway::send_expect(
        &mut s,
        b"+ACK:GTHBD,1A0401,135790246811220,,20100214093254,11F0$",
        b"+SACK:GTHBD,1A0401,11F0$",
    )
    .await;
    let t = Utc.with_ymd_and_hms(2026, 11, 27, 4, 0, 0).unwrap();
    let fix = Fix {
        time: t,
        lat: 31.222073,
        lon: 121.354335,
        speed_kmh: 4.3,
        course: 92.0,
        altitude_m: 70.0,
        hdop: 1.0,
        valid: true,
        ..Fix::default()
    };
    s.write_all(&gl200::encode::fri(
        "060100",
        "135790246811220",
        &fix,
        80,
        t,
        0x11F1,
        false,
    ))
    .await
    .unwrap();
    let body =
        gateway::wait_device(&gw, "135790246811220", |b| near(b, 31.222073, 121.354335)).await;
    assert_eq!(body["protocol"], "gl200");
    assert_eq!(body["speed"].as_f64(), Some(4.3));
    // Reports get no answer unless `ack_reports` is set. Fence: the next heartbeat's SACK
    // comes first, so the report got no late reply either.
    gateway::expect_silence(&mut s, 200).await;
    gateway::send_expect(
        &mut s,
        b"+ACK:GTHBD,1A0401,135790246811220,,20100214093254,11F2$",
        b"+SACK:GTHBD,1A0401,11F2$",
    )
    .await;

    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    udp.connect(gw.addr("gl200", "udp").expect("gl200 udp listener"))
        .await
        .unwrap();
    let reply = udp_exchange(
        &udp,
        b"+ACK:GTHBD,1A0401,860599000773978,,20100214093254,0021$",
    )
    .await;
    assert_eq!(reply, b"+SACK:GTHBD,1A0401,0021$");
    let fix = Fix {
        lat: -33.5,
        lon: -70.6,
        ..fix
    };
    udp.send(&gl200::encode::fri(
        "1A0401",
        "860599000773978",
        &fix,
        80,
        t,
        0x22,
        false,
    ))
    .await
    .unwrap();
    gateway::wait_device(&gw, "860599000773978", |b| near(b, -33.5, -70.6)).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn meitrack_aaa_and_ccc_ack_over_tcp_and_udp() {
    let gw = gateway::start("").await;
    let mut s = gateway::connect(&gw, "meitrack").await;
    let t = Utc.with_ymd_and_hms(2026, 11, 27, 4, 0, 0).unwrap();
    let fix = Fix {
        time: t,
        lat: 22.512618,
        lon: 114.057065,
        valid: true,
        satellites: 9,
        speed_kmh: 40.0,
        course: 90.0,
        altitude_m: 30.0,
        odometer_m: 1000.0,
        ..Fix::default()
    };
    let report = meitrack::encode::Report {
        event: 35,
        battery_v: 4.1,
        power_v: 12.6,
    };
    s.write_all(&meitrack::encode::aaa(
        b'A',
        "861074020109479",
        &fix,
        &report,
    ))
    .await
    .unwrap();
    gateway::wait_device(&gw, "861074020109479", |b| near(b, 22.512618, 114.057065)).await;
    // A CCC batch (Traccar test frame, one record) is answered with the delete command.
    let ccc = hex::decode("24245838362c3336393830303031343039303032312c4343432c020134000100000023381f91ffe354b806c5e3121b0009130000000000000000d33801007cbf0200fe0101000435feeb02000500a3010000000000002a62650d0a").unwrap();
    let mut s2 = gateway::connect(&gw, "meitrack").await;
    gateway::send_expect(&mut s2, &ccc, b"@@X27,369800014090021,CCC,1*E4\r\n").await;

    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let fix = Fix {
        lat: 54.7,
        lon: 25.27,
        ..fix
    };
    udp.send_to(
        &meitrack::encode::aaa(b'B', "013777008931857", &fix, &report),
        gw.addr("meitrack", "udp").expect("meitrack udp listener"),
    )
    .await
    .unwrap();
    gateway::wait_device(&gw, "013777008931857", |b| near(b, 54.7, 25.27)).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn suntech_report_and_keep_alive_get_no_reply() {
    let gw = gateway::start("").await;
    let mut s = gateway::connect(&gw, "suntech").await;
    let fix = Fix {
        time: Utc.with_ymd_and_hms(2026, 11, 27, 4, 0, 0).unwrap(),
        lat: -15.618755,
        lon: -56.083241,
        speed_kmh: 50.5,
        course: 10.0,
        satellites: 8,
        valid: true,
        odometer_m: 41548.0,
        ignition: true,
        ..Fix::default()
    };
    let mut frames = suntech::encode::keep_alive("317652");
    frames.extend(suntech::encode::st300_stt("317652", &fix, 12.17, 1979));
    s.write_all(&frames).await.unwrap();
    let body = gateway::wait_device(&gw, "317652", |b| near(b, -15.618755, -56.083241)).await;
    assert_eq!(body["protocol"], "suntech");
    gateway::expect_silence(&mut s, 200).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn watch_link_alarm_replies_and_position() {
    let gw = gateway::start("").await;
    let mut s = gateway::connect(&gw, "watch").await;
    gateway::send_expect(
        &mut s,
        b"[SG*8800000015*0002*LK]",
        b"[SG*8800000015*0002*LK]",
    )
    .await;
    let fix = Fix {
        time: Utc.with_ymd_and_hms(2026, 11, 27, 4, 0, 0).unwrap(),
        valid: true,
        lat: 22.571707,
        lon: 113.861396,
        speed_kmh: 3.5,
        course: 0.0,
        altitude_m: 100.0,
        satellites: 7,
        ..Fix::default()
    };
    s.write_all(&watch::encode::position(
        "SG",
        "8800000015",
        "UD",
        &fix,
        90,
        0,
    ))
    .await
    .unwrap();
    gateway::wait_device(&gw, "8800000015", |b| near(b, 22.571707, 113.861396)).await;
    // An SOS alarm is answered with AL once stored.
    let sos = Fix { lat: 22.6, ..fix };
    gateway::send_expect(
        &mut s,
        &watch::encode::position("SG", "8800000015", "AL", &sos, 90, 0x0001_0000),
        b"[SG*8800000015*0002*AL]",
    )
    .await;
    gateway::wait_device(&gw, "8800000015", |b| near(b, 22.6, 113.861396)).await;
    gw.shutdown().await;
}
