//! Secrets handled as secrets, checked on the real binary: a gateway run with secrets from a
//! file and from the environment never prints them (debug logs included), keeps its data
//! directory private (0700, files 0600), and config errors name the key, never the value;
//! `replay` reads its token from a file or the environment and refuses it on the command
//! line.

mod support;

use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::eventually;
use support::gateway::temp_dir;
use support::services::free_port;
use support::wire::{gt06_ack, gt06_location, Gt06Fix, GT06_LOGIN, GT06_LOGIN_ACK};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const INFLUX_TOKEN: &str = "influx-token-0f9e8d7c6b5a";
const MQTT_PASSWORD: &str = "mqtt-password-1a2b3c4d5e";
const API_TOKEN: &str = "api-token-in-clear-9z8y7x";

/// Every entry under `dir` (recursively) with its permission bits.
fn modes(dir: &Path) -> Vec<(String, u32, bool)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let m = std::fs::metadata(&d).unwrap();
        out.push((
            d.display().to_string(),
            m.permissions().mode() & 0o777,
            true,
        ));
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                todo.push(p);
            } else {
                out.push((
                    p.display().to_string(),
                    m.permissions().mode() & 0o777,
                    false,
                ));
            }
        }
    }
    out
}

/// Sends a GT06 login and one location, each answered with its ACK.
async fn one_fix(port: u16) {
    let mut s = eventually(Duration::from_secs(15), "gt06 listener", async || {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| e.to_string())
    })
    .await;
    let fix = Gt06Fix {
        time: chrono::Utc::now(),
        satellites: 8,
        lat: 52.0,
        lon: 13.0,
        speed: 10,
        course: 0,
    };
    for (frame, ack) in [
        (
            hex::decode(GT06_LOGIN).unwrap(),
            hex::decode(GT06_LOGIN_ACK).unwrap(),
        ),
        (gt06_location(&fix, 1), gt06_ack(0x12, 1)),
    ] {
        s.write_all(&frame).await.unwrap();
        let mut got = vec![0; ack.len()];
        tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut got))
            .await
            .expect("ACK in 5 s")
            .unwrap();
        assert_eq!(got, ack);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_never_prints_secrets_and_keeps_its_data_private() {
    let dir = temp_dir("secrets");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let token_file = dir.join("influx-token");
    std::fs::write(&token_file, format!("{INFLUX_TOKEN}\n")).unwrap();
    let (http, gt06) = (free_port(), free_port());
    // InfluxDB and the broker are down: every write and connect fails and is logged.
    let mut toml = format!(
        "[http]\nlisten = \"127.0.0.1:{http}\"\n[storage]\ndir = \"{}\"\n\
         [influx]\nurl = \"http://127.0.0.1:{}\"\napi = \"v2\"\norg = \"o\"\nbucket = \"b\"\n\
         token_file = \"{}\"\nflush_interval_ms = 50\nretry_max_ms = 200\n\
         [mqtt]\nurl = \"mqtt://127.0.0.1:{}\"\nusername = \"gw\"\n\
         [[api.tokens]]\nname = \"ops\"\ntoken = \"{API_TOKEN}\"\nscopes = [\"admin\"]\n",
        data.display(),
        free_port(),
        token_file.display(),
        free_port(),
    );
    for p in trackgate::protocol::REGISTRY {
        match p.name() {
            "gt06" => toml.push_str(&format!(
                "[protocols.gt06]\nlisten = \"127.0.0.1:{gt06}\"\n"
            )),
            n => toml.push_str(&format!("[protocols.{n}]\nenabled = false\n")),
        }
    }
    let cfg = dir.join("trackgate.toml");
    std::fs::write(&cfg, toml).unwrap();
    let log = dir.join("stderr.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_trackgate"))
        .args(["serve", "--config"])
        .arg(&cfg)
        .env("RUST_LOG", "debug")
        .env("TRACKGATE_MQTT__PASSWORD", MQTT_PASSWORD)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start trackgate");

    one_fix(gt06).await;
    // Wait until the InfluxDB writer has failed (and logged) at least twice.
    let metrics = format!("http://127.0.0.1:{http}/metrics");
    eventually(Duration::from_secs(20), "influx write errors", async || {
        let text = reqwest::Client::new()
            .get(&metrics)
            .bearer_auth(API_TOKEN)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        let errors: f64 = text
            .lines()
            .filter(|l| l.starts_with("trackgate_influx_write_errors_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        if errors >= 2.0 {
            Ok(())
        } else {
            Err(format!("{errors}"))
        }
    })
    .await;
    assert!(Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap()
        .success());
    child.wait().unwrap();

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("influx"), "the run logged its sinks:\n{text}");
    for secret in [INFLUX_TOKEN, MQTT_PASSWORD, API_TOKEN] {
        assert!(!text.contains(secret), "{secret} printed:\n{text}");
    }
    for (path, mode, is_dir) in modes(&data) {
        let want = if is_dir { 0o700 } else { 0o600 };
        assert_eq!(mode, want, "{path}: {mode:o}");
    }
}

/// Runs `trackgate serve --config` on `toml` (which must fail); returns its stderr.
fn failing_config(toml: &str) -> String {
    let dir = temp_dir("badcfg");
    let cfg = dir.join("bad.toml");
    std::fs::write(&cfg, toml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_trackgate"))
        .args(["serve", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{toml}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn config_errors_name_the_key_never_the_value() {
    let e = failing_config(&format!(
        "[influx]\nurl = \"http://127.0.0.1:1\"\ntoken = \"{INFLUX_TOKEN}\"\ntoken_file = \"/run/secrets/t\"\n"
    ));
    assert!(e.contains("influx.token and influx.token_file"), "{e}");
    assert!(!e.contains(INFLUX_TOKEN), "{e}");
    let e = failing_config(&format!("[mqtt]\npassword = \"{MQTT_PASSWORD}\"\n"));
    assert!(e.contains("mqtt.password"), "{e}");
    assert!(!e.contains(MQTT_PASSWORD), "{e}");
    let e = failing_config(&format!(
        "[influx]\nurl = \"https://admin:{INFLUX_TOKEN}@influx.example\"\n"
    ));
    assert!(e.contains("credentials"), "{e}");
    assert!(!e.contains(INFLUX_TOKEN), "{e}");
    let e = failing_config(&format!(
        "[influx]\nurl = \"http://x\"\ntokn = \"{INFLUX_TOKEN}\"\n"
    ));
    assert!(e.contains("tokn"), "{e}");
    assert!(!e.contains(INFLUX_TOKEN), "{e}");
}

/// An HTTP server standing in for an InfluxDB 2 in front of `replay` (none is installed
/// here): it records the `Authorization` header of every request.
async fn header_recorder() -> (u16, Arc<Mutex<Vec<String>>>) {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let s1 = seen.clone();
    let s2 = seen.clone();
    let auth = |h: &HeaderMap| {
        h.get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let app = Router::new()
        .route(
            "/ping",
            get(move |h: HeaderMap| async move {
                s1.lock().unwrap().push(auth(&h));
                axum::http::StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/api/v2/write",
            post(move |h: HeaderMap| async move {
                s2.lock().unwrap().push(auth(&h));
                axum::http::StatusCode::NO_CONTENT
            }),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (port, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_takes_its_token_from_a_file_or_the_environment_not_the_command_line() {
    let (port, seen) = header_recorder().await;
    let dir = temp_dir("replay-token");
    let cfg = dir.join("replay.toml");
    std::fs::write(
        &cfg,
        format!("[storage]\ndir = \"{}\"\n", dir.join("data").display()),
    )
    .unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{INFLUX_TOKEN}\n")).unwrap();
    let replay = |extra: &[&str], env: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_trackgate"));
        c.args(["replay", "--config"]).arg(&cfg);
        c.args(["--to-influx", &format!("http://127.0.0.1:{port}")]);
        c.args(["--api", "v2", "--org", "o", "--bucket", "b"]);
        c.args(extra).env_remove("INFLUX_TOKEN");
        if let Some(t) = env {
            c.env("INFLUX_TOKEN", t);
        }
        c.output().unwrap()
    };
    let out = replay(&["--token", INFLUX_TOKEN], None);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--token"),
        "{out:?}"
    );

    let out = replay(&["--token-file", token_file.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = replay(&[], Some("token-from-env"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        seen.lock().unwrap().clone(),
        [
            format!("Token {INFLUX_TOKEN}"),
            "Token token-from-env".to_string()
        ]
    );
    let missing = dir.join("no-such-token");
    let out = replay(&["--token-file", missing.to_str().unwrap()], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("influx.token_file") && err.contains("no-such-token"),
        "{err}"
    );
}
