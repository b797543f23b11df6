//! End to end over real sockets for Wialon IPS: an in-process gateway on port 0, packets
//! written by a client (TCP 1.x and 2.0, UDP 2.0), the exact answers read back, and the
//! stored position read from `/api/devices/{id}`.

mod support;

use chrono::{DateTime, TimeZone, Utc};
use std::time::Duration;
use support::gateway;
use tokio::io::AsyncWriteExt;
use tokio::net::UdpSocket;
use trackgate::protocol::{wialon::encode, Fix};

fn fix(lat: f64, lon: f64) -> Fix {
    Fix {
        time: Utc.with_ymd_and_hms(2026, 11, 27, 4, 0, 7).unwrap(),
        lat,
        lon,
        speed_kmh: 63.5,
        course: 271.0,
        altitude_m: 152.5,
        satellites: 9,
        hdop: 0.9,
        valid: true,
        ignition: true,
        ..Fix::default()
    }
}

/// The stored position matches `f` exactly (coordinates to the 1e-4 minute the wire has).
fn stored(body: &serde_json::Value, f: &Fix) -> bool {
    let t: Option<DateTime<Utc>> = body["time"].as_str().and_then(|t| t.parse().ok());
    let (Some(lat), Some(lon)) = (body["lat"].as_f64(), body["lon"].as_f64()) else {
        return false;
    };
    (lat - f.lat).abs() < 2e-6
        && (lon - f.lon).abs() < 2e-6
        && body["speed"].as_f64() == Some(f.speed_kmh)
        && body["course"].as_f64() == Some(f.course)
        && body["altitude"].as_f64() == Some(f.altitude_m)
        && t == Some(f.time)
}

#[tokio::test]
async fn wialon_2_0_login_data_ping_black_box_and_bad_crc_over_tcp() {
    let gw = gateway::start("").await;
    let mut s = gateway::connect(&gw, "wialon").await;
    let imei = "861230043907626";
    gateway::send_expect(&mut s, &encode::login(imei, Some("pw"), true), b"#AL#1\r\n").await;
    let f1 = fix(55.743383, 37.661390);
    gateway::send_expect(&mut s, &encode::short_data(&f1, true), b"#ASD#1\r\n").await;
    let body = gateway::wait_device(&gw, imei, |b| stored(b, &f1)).await;
    assert_eq!(body["protocol"], "wialon");
    assert_eq!(body["valid"], true);

    // Extended data, south-west, with parameters.
    let f2 = Fix {
        time: f1.time + chrono::Duration::seconds(30),
        ..fix(-33.774110, -70.955140)
    };
    gateway::send_expect(
        &mut s,
        &encode::data(&f2, "fuel:2:45.8,bat:1:87", true),
        b"#AD#1\r\n",
    )
    .await;
    let body = gateway::wait_device(&gw, imei, |b| stored(b, &f2)).await;
    assert_eq!(body["satellites"], 9);
    gateway::send_expect(&mut s, &encode::ping(), b"#AP#\r\n").await;

    // A black box of two older fixes: both stored, `#AB#2`.
    let old = [
        fix(55.1, 37.1),
        Fix {
            time: f1.time - chrono::Duration::seconds(60),
            ..fix(55.2, 37.2)
        },
    ];
    gateway::send_expect(&mut s, &encode::black_box(&old, true), b"#AB#2\r\n").await;

    // A data packet with a wrong CRC: dropped, counted, no answer, connection kept.
    let mut bad = encode::short_data(&fix(10.0, 10.0), true).to_vec();
    bad[6] = if bad[6] == b'1' { b'2' } else { b'1' };
    s.write_all(&bad).await.unwrap();
    gateway::expect_silence(&mut s, 200).await;
    gateway::send_expect(&mut s, &encode::ping(), b"#AP#\r\n").await;
    gateway::wait_metric(
        &gw,
        "trackgate_checksum_failures_total{protocol=\"wialon\"}",
        |v| v == 1.0,
    )
    .await;
    let body = gateway::wait_device(&gw, imei, |b| stored(b, &f2)).await;
    assert_eq!(body["lat"].as_f64().map(|l| l < 0.0), Some(true));
    gw.shutdown().await;
}

#[tokio::test]
async fn wialon_1_x_session_and_refused_login() {
    let gw = gateway::start("[devices]\nallow = [\"123456789012345\"]\n").await;
    let mut s = gateway::connect(&gw, "wialon").await;
    gateway::send_expect(
        &mut s,
        &encode::login("123456789012345", Some("test"), false),
        b"#AL#1\r\n",
    )
    .await;
    let f = fix(60.0, 130.0);
    gateway::send_expect(&mut s, &encode::data(&f, "", false), b"#AD#1\r\n").await;
    gateway::wait_device(&gw, "123456789012345", |b| stored(b, &f)).await;

    let mut other = gateway::connect(&gw, "wialon").await;
    gateway::send_expect(
        &mut other,
        &encode::login("999999999999999", None, false),
        b"#AL#0\r\n",
    )
    .await;
    gateway::expect_closed(&mut other).await;
    let (status, _) = gateway::get_json(&gw, "/api/devices/999999999999999").await;
    assert_eq!(status, 404);
    gw.shutdown().await;
}

#[tokio::test]
async fn wialon_2_0_udp_datagram_names_its_device() {
    let gw = gateway::start("").await;
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    udp.connect(gw.addr("wialon", "udp").expect("wialon udp listener"))
        .await
        .unwrap();
    let f = fix(47.5, 19.04);
    // UDP 2.0: `2.0;<imei>` in front of the packet, CRC over the message as on TCP.
    let mut dgram = b"2.0;356307042441013".to_vec();
    dgram.extend_from_slice(&encode::short_data(&f, true));
    udp.send(&dgram).await.unwrap();
    let mut buf = vec![0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), udp.recv(&mut buf))
        .await
        .expect("udp reply within 5 s")
        .unwrap();
    assert_eq!(&buf[..n], b"#ASD#1\r\n");
    gateway::wait_device(&gw, "356307042441013", |b| stored(b, &f)).await;
    gw.shutdown().await;
}
