//! Connection limits against devices that never identify, over real sockets: a holder that
//! only sends keep-alive bytes (closed after `identify_timeout_secs`), garbage floods (closed
//! after `max_bad_frames`), one address opening too many connections or opening them too fast
//! (refused at accept), and UDP peers that never identify (out of the peer table after
//! `identify_timeout_secs`, so they cannot keep real devices out).

mod support;

use std::time::{Duration, Instant};
use support::eventually;
use support::gateway::*;
use support::wire::{gt06_ack, gt06_frame, GT06_LOGIN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// Waits (5 s limit) until the server has dropped `s`: a clean EOF, or a reset when it closed
/// with our bytes unread. Fails if a byte arrives.
async fn expect_gone(s: &mut TcpStream) {
    let mut b = [0u8; 64];
    match tokio::time::timeout(Duration::from_secs(5), s.read(&mut b)).await {
        Ok(Ok(0)) | Ok(Err(_)) => {}
        Ok(Ok(n)) => panic!("unexpected reply {}", hex::encode(&b[..n])),
        Err(_) => panic!("connection still open after 5 s"),
    }
}

#[tokio::test]
async fn unidentified_holder_is_closed_after_identify_timeout_despite_keepalive_bytes() {
    let r = start("[protocols.teltonika]\nidentify_timeout_secs = 1\n[protocols.gt06]\nidentify_timeout_secs = 1\n").await;
    // Teltonika's keep-alive byte 0xFF is a whole frame, but it identifies nothing.
    let mut s = connect(&r, "teltonika").await;
    let opened = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut b = [0u8; 8];
    let closed_after = loop {
        tokio::select! {
            _ = tick.tick() => {
                if s.write_all(&[0xff]).await.is_err() {
                    break opened.elapsed();
                }
            }
            n = s.read(&mut b) => {
                assert!(matches!(n, Ok(0) | Err(_)), "no answer to keep-alives: {n:?}");
                break opened.elapsed();
            }
        }
        assert!(
            opened.elapsed() < Duration::from_secs(10),
            "still open after 10 s"
        );
    };
    assert!(closed_after >= Duration::from_secs(1), "{closed_after:?}");
    wait_metric(
        &r,
        "trackgate_identify_timeouts_total{protocol=\"teltonika\",transport=\"tcp\"}",
        |v| v == 1.0,
    )
    .await;
    // A GT06 login byte by byte, never finished: the partial frame does not extend it.
    let mut s = connect(&r, "gt06").await;
    s.write_all(&hex::decode(&GT06_LOGIN[..20]).unwrap())
        .await
        .unwrap();
    expect_gone(&mut s).await;
    // A connection that identified is not subject to it.
    let mut s = connect(&r, "gt06").await;
    gt06_login(&mut s).await;
    expect_silence(&mut s, 1500).await;
    let hb = gt06_frame(0x13, &[0x40, 0x04, 0x04, 0x00, 0x01], 0x0a);
    send_expect(&mut s, &hb, &gt06_ack(0x13, 0x0a)).await;
    r.shutdown().await;
}

#[tokio::test]
async fn garbage_floods_are_closed_after_max_bad_frames() {
    let r = start("[protocols.gt06]\nmax_bad_frames = 4\n").await;
    // Frames with a bad CRC: dropped and counted, and the fourth closes the connection.
    let mut s = connect(&r, "gt06").await;
    let mut bad = hex::decode(GT06_LOGIN).unwrap();
    let n = bad.len();
    bad[n - 3] ^= 0xff;
    for _ in 0..3 {
        s.write_all(&bad).await.unwrap();
    }
    expect_silence(&mut s, 300).await;
    s.write_all(&bad).await.unwrap();
    expect_closed(&mut s).await;
    wait_metric(
        &r,
        "trackgate_bad_frame_closes_total{protocol=\"gt06\",transport=\"tcp\"}",
        |v| v == 1.0,
    )
    .await;
    // Random bytes never make a frame; the runs the framer skips count the same.
    let mut s = connect(&r, "gt06").await;
    let junk: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let _ = s.write_all(&junk).await;
    expect_gone(&mut s).await;
    wait_metric(
        &r,
        "trackgate_bad_frame_closes_total{protocol=\"gt06\",transport=\"tcp\"}",
        |v| v == 2.0,
    )
    .await;
    // After identifying, a bad frame is only dropped (a real tracker's noisy line).
    let mut s = connect(&r, "gt06").await;
    gt06_login(&mut s).await;
    for _ in 0..5 {
        s.write_all(&bad).await.unwrap();
    }
    let hb = gt06_frame(0x13, &[0x40, 0x04, 0x04, 0x00, 0x01], 0x0b);
    send_expect(&mut s, &hb, &gt06_ack(0x13, 0x0b)).await;
    r.shutdown().await;
}

const ACTIVE: &str = "trackgate_connections_active{protocol=\"gt06\",transport=\"tcp\"}";

#[tokio::test]
async fn one_address_is_capped_at_max_connections_per_ip() {
    let r = start(
        "[protocols.gt06]\nmax_connections_per_ip = 2\nnew_connections_per_ip_per_sec = 1000\n",
    )
    .await;
    let mut a = connect(&r, "gt06").await;
    gt06_login(&mut a).await;
    let _b = connect(&r, "gt06").await;
    wait_metric(&r, ACTIVE, |v| v == 2.0).await;
    // The third from 127.0.0.1 is closed at accept, before reading a byte.
    let mut c = connect(&r, "gt06").await;
    expect_closed(&mut c).await;
    let m = scrape(&r).await;
    assert!(
        m.contains("trackgate_connections_refused_per_ip_total{protocol=\"gt06\",transport=\"tcp\",reason=\"connections\"} 1"),
        "{m}"
    );
    // The devices already connected are not disturbed; a freed slot is usable again.
    send_expect(
        &mut a,
        &gt06_frame(0x13, &[0x40, 0x04, 0x04, 0x00, 0x01], 2),
        &gt06_ack(0x13, 2),
    )
    .await;
    drop(a);
    wait_metric(&r, ACTIVE, |v| v == 1.0).await;
    let mut d = connect(&r, "gt06").await;
    gt06_login(&mut d).await;
    r.shutdown().await;
}

#[tokio::test]
async fn one_address_opening_connections_too_fast_is_refused() {
    let r =
        start("[protocols.gt06]\nmax_connections_per_ip = 2\nnew_connections_per_ip_per_sec = 1\n")
            .await;
    // A burst of two (the per-address cap), opened and closed again.
    for _ in 0..2 {
        drop(connect(&r, "gt06").await);
    }
    wait_metric(
        &r,
        "trackgate_connections_total{protocol=\"gt06\",transport=\"tcp\"}",
        |v| v == 2.0,
    )
    .await;
    wait_metric(&r, ACTIVE, |v| v == 0.0).await;
    // None is open, but the third within the second comes too fast.
    let mut c = connect(&r, "gt06").await;
    expect_closed(&mut c).await;
    let m = scrape(&r).await;
    assert!(
        m.contains("trackgate_connections_refused_per_ip_total{protocol=\"gt06\",transport=\"tcp\",reason=\"rate\"} 1"),
        "{m}"
    );
    // A second later the bucket has a token again.
    eventually(
        Duration::from_secs(5),
        "a connection accepted again",
        async || {
            let mut s = connect(&r, "gt06").await;
            s.write_all(&hex::decode(GT06_LOGIN).unwrap()).await.ok();
            let mut b = [0u8; 10];
            matches!(
                tokio::time::timeout(Duration::from_secs(2), s.read_exact(&mut b)).await,
                Ok(Ok(_))
            )
        },
    )
    .await;
    r.shutdown().await;
}

#[tokio::test]
async fn unidentified_udp_peers_leave_the_peer_table_after_identify_timeout() {
    // One peer slot: a squatter that never identifies holds it for at most 1 s.
    let r = start("[protocols.gps103]\nmax_connections = 1\nidentify_timeout_secs = 1\n").await;
    let target = r.addr("gps103", "udp").expect("gps103 udp");
    let squatter = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    squatter.send_to(b"hello?", target).await.unwrap();
    let device = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    device.connect(target).await.unwrap();
    let logon = b"##,imei:359586015829803,A;";
    let started = Instant::now();
    let mut refused_first = false;
    let answer = eventually(
        Duration::from_secs(8),
        "the device's log-on answered",
        async || {
            device.send(logon).await.unwrap();
            let mut b = [0u8; 16];
            match tokio::time::timeout(Duration::from_millis(300), device.recv(&mut b)).await {
                Ok(Ok(n)) => Ok(b[..n].to_vec()),
                _ => {
                    refused_first = true;
                    Err("no answer yet")
                }
            }
        },
    )
    .await;
    assert_eq!(answer, b"LOAD");
    assert!(refused_first, "the squatter held the only slot first");
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "{:?}",
        started.elapsed()
    );
    let m = scrape(&r).await;
    assert!(
        m.contains("trackgate_identify_timeouts_total{protocol=\"gps103\",transport=\"udp\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("trackgate_connections_refused_total{protocol=\"gps103\",transport=\"udp\"}"),
        "{m}"
    );
    // The device identified: it keeps its slot past the identify timeout.
    expect_udp_answer_after(&device, logon, Duration::from_millis(1500)).await;
    r.shutdown().await;
}

/// After `pause` (longer than the identify timeout), `dgram` from `s` is still answered.
async fn expect_udp_answer_after(s: &UdpSocket, dgram: &[u8], pause: Duration) {
    tokio::time::sleep(pause).await;
    s.send(dgram).await.unwrap();
    let mut b = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), s.recv(&mut b))
        .await
        .expect("answer within 5 s")
        .unwrap();
    assert_eq!(&b[..n], b"LOAD");
}
