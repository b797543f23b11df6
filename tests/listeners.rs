//! Listener binding: a busy *default* port disables only that listener (loudly); a busy
//! port the operator configured stops the start with an error naming it.

mod support;

use std::net::TcpListener;
use support::gateway::test_config;

#[tokio::test]
async fn busy_default_port_skips_that_listener_only() {
    // Hold ruptela's default TCP port (5046) ourselves, so it is busy for the whole start.
    // Something else holding it is not the same premise (it may let go mid-test): fail, not skip.
    let _held = TcpListener::bind("0.0.0.0:5046").unwrap_or_else(|e| {
        panic!("this test needs ruptela's default port 5046 free to hold it itself: {e}")
    });
    let mut cfg = test_config("");
    cfg.protocols.get_mut("ruptela").unwrap().listen = None;
    let r = trackgate::server::start(cfg)
        .await
        .expect("start despite a busy default port");
    assert!(r.addr("ruptela", "tcp").is_none());
    assert!(r.addr("gt06", "tcp").is_some());
    r.shutdown().await;
}

#[tokio::test]
async fn busy_configured_port_fails_the_start_and_names_it() {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let mut cfg = test_config("");
    cfg.protocols.get_mut("gt06").unwrap().listen = Some(([127, 0, 0, 1], port).into());
    let err = match trackgate::server::start(cfg).await {
        Ok(_) => panic!("started on a port that is taken"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains(&port.to_string()) && err.contains("gt06"),
        "{err}"
    );
}
