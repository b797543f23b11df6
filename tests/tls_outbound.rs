//! Outbound TLS against real servers on loopback, with a CA and certificates the test makes
//! itself: an HTTPS webhook receiver (axum over tokio-rustls), Mosquitto with a TLS listener
//! (and one that requires client certificates), influxd 1.6 with HTTPS. A trusted certificate
//! works; an untrusted, expired or wrong-host one is refused with the reason named (a
//! webhook delivery records it); mTLS works with a client certificate and is refused
//! without.

mod support;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertifiedIssuer, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rumqttc::{AsyncClient, Event, Packet};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::eventually;
use support::gateway::test_config;
use support::records::{alert, append, position};
use support::services::{self, free_port, mosquitto_with_config, require};
use trackgate::model::Record;
use trackgate::mqtt::MqttConfig;
use trackgate::server::{self, Running};
use trackgate::sinks::influx::{InfluxConfig, InfluxMetrics, InfluxSink};
use trackgate::tls::client::ClientTls;

/// A certificate authority made for one test.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        Ca {
            issuer: CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A leaf for `names` (DNS names or IP addresses): (certificate PEM, key PEM).
    fn leaf(
        &self,
        names: &[&str],
        usage: ExtendedKeyUsagePurpose,
        expired: bool,
    ) -> (String, String) {
        let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
        p.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("client"),
        );
        p.extended_key_usages = vec![usage];
        if expired {
            p.not_before = date_time_ymd(2020, 1, 1);
            p.not_after = date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// Files of one test in a temp dir.
struct Files(tempfile::TempDir);

impl Files {
    fn new() -> Files {
        Files(tempfile::tempdir().unwrap())
    }
    fn put(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
    /// A server (or client) certificate and key from `ca`, written as `<tag>.pem`/`<tag>.key`.
    fn leaf(
        &self,
        ca: &Ca,
        tag: &str,
        names: &[&str],
        usage: ExtendedKeyUsagePurpose,
        expired: bool,
    ) -> (PathBuf, PathBuf) {
        let (c, k) = ca.leaf(names, usage, expired);
        (
            self.put(&format!("{tag}.pem"), &c),
            self.put(&format!("{tag}.key"), &k),
        )
    }
}

const SERVER: ExtendedKeyUsagePurpose = ExtendedKeyUsagePurpose::ServerAuth;
const CLIENT: ExtendedKeyUsagePurpose = ExtendedKeyUsagePurpose::ClientAuth;

// ---------------------------------------------------------------------------------------
// Webhooks over HTTPS

/// An axum listener that completes a TLS handshake per connection (failed handshakes, such
/// as a client refusing our certificate, are skipped).
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, peer)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, peer);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

type Seen = Arc<Mutex<Vec<String>>>;

async fn record(State(seen): State<Seen>, headers: HeaderMap, _body: String) -> &'static str {
    let id = headers
        .get("x-trackgate-event-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    seen.lock().unwrap().push(id);
    "ok"
}

/// An HTTPS receiver on 127.0.0.1 with `cert`/`key`; returns its port and the event ids it got.
async fn https_receiver(cert: &Path, key: &Path) -> (u16, Seen) {
    trackgate::tls::install_provider();
    let certs = trackgate::tls::load_certs(cert).unwrap();
    let key = trackgate::tls::load_key(key).unwrap();
    let cfg = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let seen = Seen::default();
    let app = Router::new()
        .route("/hook", post(record))
        .with_state(seen.clone());
    let listener = TlsListener {
        tcp,
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(cfg)),
    };
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, seen)
}

async fn api(r: &Running, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let c = reqwest::Client::new();
    let url = format!("http://{}{}", r.http_addr, path);
    let req = match method {
        "POST" => c.post(&url).json(&body.unwrap_or(json!({}))),
        _ => c.get(&url),
    };
    let resp = req.send().await.unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn webhooks_verify_https_receivers_and_record_why_a_certificate_is_refused() {
    let files = Files::new();
    let ca = Ca::new("trackgate test CA");
    let rogue = Ca::new("somebody else's CA");
    let ca_file = files.put("ca.pem", &ca.pem());
    let name = "receiver.test";
    let (good, untrusted, expired, wrong_host) = (
        files.leaf(&ca, "good", &[name], SERVER, false),
        files.leaf(&rogue, "untrusted", &[name], SERVER, false),
        files.leaf(&ca, "expired", &[name], SERVER, true),
        files.leaf(&ca, "wrong", &["other.test"], SERVER, false),
    );
    let mut cfg = test_config("");
    cfg.webhooks.ca_file = Some(ca_file);
    cfg.webhooks.allow_private = vec!["127.0.0.1".into()];
    cfg.webhooks.dns_overrides = [(name.to_string(), vec!["127.0.0.1".parse().unwrap()])].into();
    cfg.webhooks.initial_backoff = Duration::from_secs(30);
    cfg.webhooks.poll_interval = Duration::from_millis(100);
    let gw = server::start(cfg).await.expect("start");
    let mut hooks = Vec::new();
    let mut receivers = Vec::new();
    for (tag, (cert, key)) in [
        ("good", &good),
        ("untrusted", &untrusted),
        ("expired", &expired),
        ("wrong", &wrong_host),
    ] {
        let (port, seen) = https_receiver(cert, key).await;
        let (s, v) = api(
            &gw,
            "POST",
            "/api/webhooks",
            Some(json!({ "url": format!("https://{name}:{port}/hook"), "secret": "a-secret-of-16-bytes+" })),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        hooks.push((tag, v["id"].as_str().unwrap().to_string()));
        receivers.push((tag, seen));
    }
    append(&gw, &[Record::Alert(alert("tls1", "late"))]).await;
    for (tag, id) in &hooks {
        let path = format!("/api/webhooks/{id}/deliveries");
        let d = eventually(
            Duration::from_secs(20),
            &format!("{tag} attempted"),
            async || {
                let (_, v) = api(&gw, "GET", &path, None).await;
                match v["deliveries"][0]["history"].as_array() {
                    Some(h) if !h.is_empty() => Ok(v["deliveries"][0].clone()),
                    _ => Err(v.to_string()),
                }
            },
        )
        .await;
        let first = &d["history"][0];
        let error = first["error"].as_str().unwrap_or_default();
        match *tag {
            "good" => assert_eq!(
                (d["status"].as_str(), first["status"].as_u64()),
                (Some("delivered"), Some(200)),
                "{d}"
            ),
            "untrusted" => assert!(
                error.starts_with("TLS: ") && error.contains("UnknownIssuer"),
                "{d}"
            ),
            "expired" => assert!(
                error.starts_with("TLS: ") && error.contains("expired"),
                "{d}"
            ),
            _ => assert!(
                error.starts_with("TLS: ") && error.contains("not valid for name"),
                "{d}"
            ),
        }
        if *tag != "good" {
            assert_eq!(d["status"], "pending", "TLS failures are retried: {d}");
        }
    }
    for (tag, seen) in receivers {
        let got = seen.lock().unwrap().clone();
        let expect: Vec<String> = if tag == "good" {
            vec!["tls1".into()]
        } else {
            vec![]
        };
        assert_eq!(got, expect, "{tag}");
    }
    gw.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// MQTT over TLS (Mosquitto)

/// Mosquitto with a TLS listener on a free port: `cert`/`key`, clients verified against
/// `ca` when `require_client_cert`.
fn tls_broker(ca: &Path, cert: &Path, key: &Path, require_client_cert: bool) -> services::Service {
    let port = free_port();
    let conf = format!(
        "per_listener_settings true\npersistence false\nuser root\nlog_dest stderr\n\
         listener {port} 127.0.0.1\nallow_anonymous true\ncafile {}\ncertfile {}\nkeyfile {}\n\
         require_certificate {require_client_cert}\n",
        ca.display(),
        cert.display(),
        key.display()
    );
    mosquitto_with_config(&conf, port)
}

/// Connects once with the options trackgate builds from `cfg`: `Ok` on CONNACK, else the
/// connection error as rumqttc reports it.
async fn connect_once(cfg: &MqttConfig) -> Result<(), String> {
    let (client, mut ev) = AsyncClient::new(cfg.options("probe").map_err(|e| e.to_string())?, 8);
    let r = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    })
    .await
    .unwrap_or_else(|_| Err("no answer in 10 s".into()));
    let _ = client.try_disconnect();
    r
}

fn mqtt_cfg(port: u16, host: &str, ca: Option<&Path>) -> MqttConfig {
    MqttConfig {
        url: format!("mqtts://{host}:{port}"),
        ca_file: ca.map(Path::to_path_buf),
        ..MqttConfig::default()
    }
}

/// `mosquitto_sub` over TLS: the first message on `topic` (retained ones count), `topic payload`.
fn subscribe_one(port: u16, topic: &str, tls: &[&str]) -> String {
    let out = std::process::Command::new(require("mosquitto_sub"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-t",
            topic,
            "-C",
            "1",
            "-W",
            "20",
            "-v",
        ])
        .args(tls)
        .output()
        .expect("run mosquitto_sub");
    assert!(
        out.status.success(),
        "mosquitto_sub: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Appends a fix of 864717003283581 to the gateway's log and reads the retained position the
/// gateway published, with `mosquitto_sub` and the TLS arguments `tls`.
async fn published_position(gw: &Running, port: u16, tls: Vec<String>) {
    let fix = position("864717003283581", 0, 47.37, 8.54);
    append(gw, &[Record::Position(fix)]).await;
    let got = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = tls.iter().map(String::as_str).collect();
        subscribe_one(port, "trackgate/devices/864717003283581/position", &args)
    })
    .await
    .unwrap();
    assert!(
        got.starts_with("trackgate/devices/864717003283581/position {"),
        "{got}"
    );
    assert!(got.contains("\"lat\":47.37"), "{got}");
}

/// Publishes an OwnTracks fix over TLS until device `jane.phone` shows it (the gateway
/// subscribes asynchronously after it starts).
async fn ingest_over_tls(gw: &Running, port: u16, tls: &[&str]) -> Value {
    let payload = r#"{"_type":"location","tst":1795757400,"lat":52.52,"lon":13.405}"#;
    let path = "/api/devices/jane.phone";
    let mut last: Option<tokio::time::Instant> = None;
    eventually(
        Duration::from_secs(20),
        "jane.phone ingested over mqtts",
        async || {
            if last.is_none_or(|t| t.elapsed() >= Duration::from_millis(300)) {
                let mut args = vec!["-q", "1", "-t", "owntracks/jane/phone", "-m", payload];
                args.extend_from_slice(tls);
                support::mqtt::mosquitto_pub(port, &args);
                last = Some(tokio::time::Instant::now());
            }
            let (s, v) = api(gw, "GET", path, None).await;
            if s == 200 {
                Ok(v)
            } else {
                Err(format!("{s} {v}"))
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtts_publishes_and_ingests_through_a_verified_broker() {
    let files = Files::new();
    let ca = Ca::new("trackgate test CA");
    let ca_file = files.put("ca.pem", &ca.pem());
    let (cert, key) = files.leaf(&ca, "broker", &["localhost", "127.0.0.1"], SERVER, false);
    let broker = tls_broker(&ca_file, &cert, &key, false);
    let mut cfg = test_config("");
    cfg.mqtt = Some(mqtt_cfg(broker.port, "127.0.0.1", Some(&ca_file)));
    let gw = server::start(cfg).await.expect("start");
    let ca_arg = ca_file.to_str().unwrap();

    published_position(&gw, broker.port, vec!["--cafile".into(), ca_arg.into()]).await;

    let v = ingest_over_tls(&gw, broker.port, &["--cafile", ca_arg]).await;
    assert_eq!(
        (v["lat"].as_f64(), v["lon"].as_f64()),
        (Some(52.52), Some(13.405))
    );
    gw.shutdown().await;

    // The same broker through a client that does not trust its CA: refused, reason named.
    let e = connect_once(&mqtt_cfg(broker.port, "127.0.0.1", None))
        .await
        .unwrap_err();
    assert!(e.contains("UnknownIssuer"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtts_refuses_expired_and_wrong_host_certificates_naming_the_reason() {
    let files = Files::new();
    let ca = Ca::new("trackgate test CA");
    let ca_file = files.put("ca.pem", &ca.pem());
    let (ec, ek) = files.leaf(&ca, "expired", &["127.0.0.1"], SERVER, true);
    let (wc, wk) = files.leaf(&ca, "wrong", &["other.test"], SERVER, false);
    let expired = tls_broker(&ca_file, &ec, &ek, false);
    let wrong = tls_broker(&ca_file, &wc, &wk, false);
    let e = connect_once(&mqtt_cfg(expired.port, "127.0.0.1", Some(&ca_file)))
        .await
        .unwrap_err();
    assert!(e.contains("expired"), "{e}");
    let e = connect_once(&mqtt_cfg(wrong.port, "127.0.0.1", Some(&ca_file)))
        .await
        .unwrap_err();
    assert!(e.contains("not valid for name"), "{e}");
    // insecure_skip_verify accepts both (the lab option; logged as a warning).
    for port in [expired.port, wrong.port] {
        let lax = MqttConfig {
            insecure_skip_verify: true,
            ..mqtt_cfg(port, "127.0.0.1", None)
        };
        assert_eq!(connect_once(&lax).await, Ok(()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtts_mutual_tls_needs_the_client_certificate() {
    let files = Files::new();
    let ca = Ca::new("trackgate test CA");
    let ca_file = files.put("ca.pem", &ca.pem());
    let (cert, key) = files.leaf(&ca, "broker", &["127.0.0.1"], SERVER, false);
    let (client_cert, client_key) = files.leaf(&ca, "client", &["trackgate"], CLIENT, false);
    let broker = tls_broker(&ca_file, &cert, &key, true);
    assert!(
        connect_once(&mqtt_cfg(broker.port, "127.0.0.1", Some(&ca_file)))
            .await
            .is_err()
    );
    let mtls = MqttConfig {
        client_cert: Some(client_cert.clone()),
        client_key: Some(client_key.clone()),
        ..mqtt_cfg(broker.port, "127.0.0.1", Some(&ca_file))
    };
    assert_eq!(connect_once(&mtls).await, Ok(()));

    // The gateway with the client certificate publishes and ingests.
    let mut cfg = test_config("");
    cfg.mqtt = Some(mtls);
    let gw = server::start(cfg).await.expect("start");
    let tls: Vec<String> = [
        "--cafile",
        ca_file.to_str().unwrap(),
        "--cert",
        client_cert.to_str().unwrap(),
        "--key",
        client_key.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec();
    let args: Vec<&str> = tls.iter().map(String::as_str).collect();
    let v = ingest_over_tls(&gw, broker.port, &args).await;
    assert_eq!(v["protocol"], "owntracks");
    published_position(&gw, broker.port, tls).await;
    gw.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// InfluxDB over HTTPS (influxd 1.6)

fn https_influxd(cert: &Path, key: &Path) -> services::Service {
    services::influxd_with_env(
        0,
        &[
            ("INFLUXDB_HTTP_HTTPS_ENABLED", "true"),
            ("INFLUXDB_HTTP_HTTPS_CERTIFICATE", cert.to_str().unwrap()),
            ("INFLUXDB_HTTP_HTTPS_PRIVATE_KEY", key.to_str().unwrap()),
        ],
    )
}

fn sink(url: &str, ca: Option<&Path>) -> InfluxSink {
    let mut cfg = InfluxConfig::new(url);
    cfg.ca_file = ca.map(Path::to_path_buf);
    cfg.retry_max_ms = 200;
    InfluxSink::new(&cfg, InfluxMetrics::default(), Default::default()).expect("sink")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn influx_writes_over_verified_https_and_refuses_bad_certificates() {
    let files = Files::new();
    let ca = Ca::new("trackgate test CA");
    let ca_file = files.put("ca.pem", &ca.pem());
    let (cert, key) = files.leaf(&ca, "influx", &["127.0.0.1"], SERVER, false);
    let (ec, ek) = files.leaf(&ca, "influx-expired", &["127.0.0.1"], SERVER, true);
    let influx = https_influxd(&cert, &key);
    let old = https_influxd(&ec, &ek);
    let url = format!("https://127.0.0.1:{}", influx.port);

    let good = sink(&url, Some(&ca_file));
    assert_eq!(good.probe().await, Ok(204));
    let report = good
        .write_records(&[Record::Position(position(
            "864717003283581",
            0,
            47.37,
            8.54,
        ))])
        .await
        .expect("written");
    assert_eq!(report.written, 1);
    // Read back over HTTPS with the same trust.
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(
            ClientTls {
                section: "test",
                ca_file: Some(ca_file.clone()),
                ..Default::default()
            }
            .client_config()
            .unwrap(),
        )
        .build()
        .unwrap();
    let v: Value = client
        .get(format!("{url}/query"))
        .query(&[("db", "trackgate"), ("q", "SELECT lat FROM position")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["results"][0]["series"][0]["values"][0][1], 47.37, "{v}");

    let e = sink(&url, None).probe().await.unwrap_err();
    assert!(e.starts_with("TLS: ") && e.contains("UnknownIssuer"), "{e}");
    let e = sink(
        &format!("https://localhost:{}", influx.port),
        Some(&ca_file),
    )
    .probe()
    .await
    .unwrap_err();
    assert!(e.contains("not valid for name"), "{e}");
    let e = sink(&format!("https://127.0.0.1:{}", old.port), Some(&ca_file))
        .probe()
        .await
        .unwrap_err();
    assert!(e.contains("expired"), "{e}");
}
