//! The test harness itself (`tests/support/`): a private Mosquitto round-trips a retained
//! message, `eventually` hands back the value or fails naming what it awaited, and the socket
//! checks cannot pass vacuously (silence is not a closed connection, a close is not silence).

mod support;

use std::process::Command;
use std::time::Duration;
use support::gateway::{expect_closed, expect_silence, metric_value};
use support::mqtt::mosquitto_pub;
use support::{eventually, services};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

#[test]
fn private_broker_round_trips_a_retained_message() {
    let broker = services::mosquitto();
    mosquitto_pub(broker.port, &["-t", "t/x", "-m", "hello", "-r", "-q", "1"]);
    let out = Command::new(services::require("mosquitto_sub"))
        .args(["-h", "127.0.0.1", "-p", &broker.port.to_string()])
        .args(["-t", "t/x", "-C", "1", "-W", "5"])
        .output()
        .expect("mosquitto_sub");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "hello");
}

#[tokio::test]
async fn eventually_returns_the_value_once_the_probe_holds() {
    let mut looks = 0;
    let got = eventually(Duration::from_secs(5), "the third look", async || {
        looks += 1;
        if looks == 3 {
            Ok(looks * 10)
        } else {
            Err(format!("look {looks}"))
        }
    })
    .await;
    assert_eq!((got, looks), (30, 3));
    eventually(Duration::from_secs(1), "true", async || true).await;
    let v = eventually(Duration::from_secs(1), "Some", async || Some("v")).await;
    assert_eq!(v, "v");
}

#[tokio::test]
async fn eventually_fails_naming_what_it_awaited_and_the_last_observation() {
    let failed = tokio::spawn(eventually(
        Duration::from_millis(50),
        "the answer",
        async || Err::<(), _>(41),
    ))
    .await
    .expect_err("the deadline passed");
    let msg = failed
        .into_panic()
        .downcast::<String>()
        .expect("a formatted panic message");
    assert!(
        msg.starts_with("the answer: not reached within 50ms ("),
        "{msg}"
    );
    assert!(msg.ends_with("looks); last seen: 41"), "{msg}");
}

/// A connected pair: (the test's client side, the accepted server side).
async fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let client = TcpStream::connect(l.local_addr().expect("addr"))
        .await
        .expect("connect");
    let (server, _) = l.accept().await.expect("accept");
    (client, server)
}

#[tokio::test]
async fn silence_passes_on_an_open_quiet_peer() {
    let (mut client, _server) = pair().await;
    expect_silence(&mut client, 50).await;
}

#[tokio::test]
#[should_panic(expected = "connection closed (EOF)")]
async fn silence_fails_when_the_peer_hung_up() {
    let (mut client, server) = pair().await;
    drop(server);
    expect_silence(&mut client, 500).await;
}

#[tokio::test]
#[should_panic(expected = "unexpected reply byte 0x01")]
async fn silence_fails_on_a_reply() {
    let (mut client, mut server) = pair().await;
    server.write_all(&[1]).await.expect("write");
    expect_silence(&mut client, 500).await;
}

#[tokio::test]
async fn closed_passes_on_a_clean_close() {
    let (mut client, server) = pair().await;
    drop(server);
    expect_closed(&mut client).await;
}

#[tokio::test]
#[should_panic(expected = "reply 0102 before the close")]
async fn closed_fails_on_a_reply_before_the_close() {
    let (mut client, mut server) = pair().await;
    server.write_all(&[1, 2]).await.expect("write");
    drop(server);
    expect_closed(&mut client).await;
}

#[test]
fn metric_value_matches_the_whole_series_only() {
    let text = "a_total{k=\"x\"} 3\na_total{k=\"xy\"} 5\nb 1.5\n";
    assert_eq!(metric_value(text, "a_total{k=\"xy\"}"), Some(5.0));
    assert_eq!(metric_value(text, "a_total{k=\"x\"}"), Some(3.0));
    assert_eq!(metric_value(text, "b"), Some(1.5));
    assert_eq!(metric_value(text, "a_total"), None);
}
