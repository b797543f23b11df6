//! End to end over real sockets for the text protocols h02, gps103 and tk103: frames written
//! by hand, exact replies, positions visible in the API; TCP and UDP.

mod support;

use std::time::Duration;
use support::gateway::*;
use tokio::io::AsyncWriteExt;
use tokio::net::UdpSocket;

/// Sends one datagram to `protocol`'s UDP listener and returns the socket (to read replies).
async fn udp_send(r: &trackgate::server::Running, protocol: &str, dgram: &[u8]) -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    s.connect(r.addr(protocol, "udp").expect("udp listener"))
        .await
        .unwrap();
    s.send(dgram).await.unwrap();
    s
}

async fn udp_recv(s: &UdpSocket) -> Vec<u8> {
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(5), s.recv(&mut buf))
        .await
        .expect("udp reply within 5 s")
        .unwrap();
    buf[..n].to_vec()
}

/// `*HQ,<id>,V4,V1,<yyyyMMddHHmmss>#` with a server time within a minute of now.
fn assert_v4_v1(reply: &[u8], id: &str) {
    let s = std::str::from_utf8(reply).unwrap();
    let prefix = format!("*HQ,{id},V4,V1,");
    assert!(s.starts_with(&prefix) && s.ends_with('#'), "{s}");
    let t = &s[prefix.len()..s.len() - 1];
    let t = chrono::NaiveDateTime::parse_from_str(t, "%Y%m%d%H%M%S")
        .unwrap()
        .and_utc();
    assert!((chrono::Utc::now() - t).num_seconds().abs() < 60, "{s}");
}

fn near(v: &serde_json::Value, k: &str, want: f64) {
    let got = v[k].as_f64().unwrap_or(f64::NAN);
    assert!((got - want).abs() < 1e-5, "{k}: {got} != {want} in {v}");
}

#[tokio::test]
async fn h02_tcp_and_udp() {
    let r = start("").await;
    let mut s = connect(&r, "h02").await;
    // Heartbeat echo, exactly as Traccar answers it.
    send_expect(&mut s, b"*HQ,4970105243,HTBT,90#", b"*HQ,4970105243,HTBT#").await;
    let v1 = b"*HQ,4970105243,V1,104000,A,2235.1777,N,11357.8913,E,010.00,235,130721,FFFFFBFF#\r\n";
    s.write_all(v1).await.unwrap();
    let reply = read_n(&mut s, "*HQ,4970105243,V4,V1,20210713104000#".len()).await;
    assert_v4_v1(&reply, "4970105243");
    let d = wait_device(&r, "4970105243", |d| !d["lat"].is_null()).await;
    near(&d, "lat", 22.0 + 35.1777 / 60.0);
    near(&d, "lon", 113.0 + 57.8913 / 60.0);
    near(&d, "speed", 18.52);
    assert_eq!(d["time"], "2021-07-13T10:40:00Z");
    assert_eq!(d["protocol"], "h02");
    // A 32-byte binary frame over UDP: no reply exists, the position shows up.
    let bin =
        hex::decode("2441060116601245431311165035313006004318210e000000fffffbffff0024").unwrap();
    let _u = udp_send(&r, "h02", &bin).await;
    let d = wait_device(&r, "4106011660", |d| !d["lat"].is_null()).await;
    assert_eq!(d["time"], "2016-11-13T12:45:43Z");
    near(&d, "lat", 50.0 + 35.3130 / 60.0);
    near(&d, "lon", 4.0 + 31.8210 / 60.0);
    // V1 over UDP gets its reply over UDP.
    let u = udp_send(
        &r,
        "h02",
        b"*HQ,4970105244,V1,104000,A,2235.1777,N,11357.8913,E,0.00,0,130721,FFFFFBFF#",
    )
    .await;
    assert_v4_v1(&udp_recv(&u).await, "4970105244");
    r.shutdown().await;
}

#[tokio::test]
async fn gps103_tcp_and_udp() {
    let r = start("").await;
    let mut s = connect(&r, "gps103").await;
    send_expect(&mut s, b"##,imei:359586015829802,A;", b"LOAD").await;
    send_expect(&mut s, b"359586015829802;", b"ON").await;
    send_expect(
        &mut s,
        b"imei:359586015829802,help me,0809231429,13554900601,F,062947.294,A,2234.4026,N,11354.3277,E,5.00,90;",
        b"**,imei:359586015829802,E;",
    )
    .await;
    let d = wait_device(&r, "359586015829802", |d| !d["lat"].is_null()).await;
    assert_eq!(d["time"], "2008-09-23T06:29:47Z");
    near(&d, "lat", 22.0 + 34.4026 / 60.0);
    near(&d, "lon", 113.0 + 54.3277 / 60.0);
    near(&d, "speed", 9.26);
    assert_eq!(d["course"].as_f64(), Some(90.0));
    // A tracker report gets no reply.
    s.write_all(
        b"imei:359586015829802,tracker,0809231430,,F,063000.000,A,2234.4026,N,11354.3277,E,0.00,;",
    )
    .await
    .unwrap();
    expect_silence(&mut s, 300).await;
    // Fence: the heartbeat's `ON` comes first, so the report got no late reply either.
    send_expect(&mut s, b"359586015829802;", b"ON").await;
    // UDP: log-on answered over UDP, then a report from the same peer.
    let u = udp_send(&r, "gps103", b"##,imei:359586015829803,A;").await;
    assert_eq!(udp_recv(&u).await, b"LOAD");
    u.send(b"imei:359586015829803,tracker,151030080103,,F,000101.000,A,5443.3834,N,02512.9071,E,0.00,0;")
        .await
        .unwrap();
    let d = wait_device(&r, "359586015829803", |d| !d["lat"].is_null()).await;
    assert_eq!(d["time"], "2015-10-30T00:01:01Z");
    near(&d, "lat", 54.72306);
    r.shutdown().await;
}

#[tokio::test]
async fn tk103_tcp_and_udp() {
    let r = start("").await;
    let mut s = connect(&r, "tk103").await;
    send_expect(
        &mut s,
        b"(027044702512BP00027044702512HSO)",
        b"(027044702512AP01HSO)",
    )
    .await;
    s.write_all(
        b"(027044702512BR00151024A2555.3531S02855.3329E004.7055148276.1701000000L00009AA3)",
    )
    .await
    .unwrap();
    expect_silence(&mut s, 300).await;
    // Fence: the handshake's answer comes first, so the report got no late reply either.
    send_expect(
        &mut s,
        b"(027044702512BP00027044702512HSO)",
        b"(027044702512AP01HSO)",
    )
    .await;
    let d = wait_device(&r, "027044702512", |d| !d["lat"].is_null()).await;
    assert_eq!(d["time"], "2015-10-24T05:51:48Z");
    near(&d, "lat", -25.92255);
    near(&d, "lon", 28.92222);
    near(&d, "speed", 4.7);
    assert_eq!(d["protocol"], "tk103");
    let u = udp_send(
        &r,
        "tk103",
        b"(088046338039BP05000088046338039160727A3354.7768N03540.7258E000.0140309065.1000000000L00BEB0D4)",
    )
    .await;
    assert_eq!(udp_recv(&u).await, b"(088046338039AP05)");
    let d = wait_device(&r, "088046338039", |d| !d["lat"].is_null()).await;
    assert_eq!(d["time"], "2016-07-27T14:03:09Z");
    r.shutdown().await;
}
