//! Inbound TLS with real sockets and certificates made here (rcgen): the HTTPS API over
//! HTTP/1.1 and HTTP/2, what a client refuses (untrusted issuer, wrong host), certificate
//! reload on SIGHUP (the real binary) and on a file change while an HTTP/2 connection stays
//! open, a GT06 device and an OsmAnd phone over TLS with exact replies, and a handshake
//! flood that does not starve a plain device.

mod support;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use support::eventually;
use support::gateway::{metric, temp_dir, test_config, wait_device, wait_metric};
use support::wire::{gt06_ack, gt06_location, Gt06Fix, GT06_IMEI, GT06_LOGIN, GT06_LOGIN_ACK};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use trackgate::server::{self, Running};

/// A certificate authority of the test's own.
struct Ca {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    der: CertificateDer<'static>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        Ca {
            der: cert.der().clone(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// Writes a leaf certificate for `names` and its key into `dir` as `<file>.pem` /
    /// `<file>.key`; returns the paths and the certificate.
    fn leaf(&self, dir: &Path, file: &str, names: &[&str]) -> (PathBuf, PathBuf, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let cert = rcgen::CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        let (c, k) = (
            dir.join(format!("{file}.pem")),
            dir.join(format!("{file}.key")),
        );
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        (c, k, cert.der().to_vec())
    }
}

fn client_config(trust: &Ca, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    trackgate::tls::install_provider();
    let mut roots = RootCertStore::empty();
    roots.add(trust.der.clone()).unwrap();
    let mut c = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    c.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(c)
}

async fn tls_connect(
    addr: SocketAddr,
    host: &str,
    cfg: Arc<ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(host.to_string()).unwrap();
    tokio::time::timeout(
        Duration::from_secs(5),
        TlsConnector::from(cfg).connect(name, tcp),
    )
    .await
    .unwrap_or_else(|_| Err(std::io::Error::other("handshake took over 5 s")))
}

/// The certificate the server presented on `s`.
fn presented(s: &TlsStream<TcpStream>) -> Vec<u8> {
    s.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

type H2 = hyper::client::conn::http2::SendRequest<Empty<Bytes>>;

async fn h2(s: TlsStream<TcpStream>) -> H2 {
    assert_eq!(s.get_ref().1.alpn_protocol(), Some(&b"h2"[..]), "ALPN h2");
    let (send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(s))
        .await
        .expect("h2 handshake");
    tokio::spawn(conn);
    send
}

async fn h2_get(send: &mut H2, path: &str) -> (u16, String) {
    let req = hyper::Request::get(format!("https://localhost{path}"))
        .body(Empty::new())
        .unwrap();
    let resp = send.send_request(req).await.expect("h2 request");
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// One HTTP/1.1 request on a fresh TLS connection.
async fn h1_get(s: TlsStream<TcpStream>, path: &str) -> (u16, String) {
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(s))
        .await
        .expect("h1 handshake");
    tokio::spawn(conn);
    let req = hyper::Request::get(path)
        .header("host", "localhost")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = send.send_request(req).await.expect("h1 request");
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// The rustls reason inside a failed handshake.
fn tls_reason(e: &std::io::Error) -> rustls::Error {
    e.get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .unwrap_or_else(|| panic!("not a TLS error: {e}"))
        .clone()
}

/// A gateway whose API is HTTPS; `tls_protocols` use the API's certificate too.
async fn start_https(dir: &Path, ca: &Ca, tls_protocols: &[&str]) -> Running {
    let (cert, key, _) = ca.leaf(dir, "api", &["localhost", "127.0.0.1"]);
    let mut cfg = test_config("");
    cfg.http.tls_cert = Some(cert);
    cfg.http.tls_key = Some(key);
    for p in tls_protocols {
        cfg.protocols.get_mut(*p).expect("listed protocol").tls = true;
    }
    server::start(cfg).await.expect("server starts")
}

#[tokio::test]
async fn https_api_serves_http2_and_http1_with_a_trusted_certificate() {
    let (dir, ca) = (temp_dir("tls-api"), Ca::new("test CA"));
    let r = start_https(&dir, &ca, &[]).await;
    let s = tls_connect(r.http_addr, "localhost", client_config(&ca, &[b"h2"]))
        .await
        .expect("trusted certificate");
    let mut send = h2(s).await;
    assert_eq!(h2_get(&mut send, "/healthz").await.0, 200);
    assert_eq!(h2_get(&mut send, "/api/devices").await.0, 200);
    let s = tls_connect(r.http_addr, "127.0.0.1", client_config(&ca, &[b"http/1.1"]))
        .await
        .expect("IP address in the certificate");
    assert_eq!(s.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(h1_get(s, "/healthz").await.0, 200);
    // Plain HTTP to the HTTPS port gets no HTTP answer.
    let mut plain = TcpStream::connect(r.http_addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut buf)).await;
    assert!(
        !buf.starts_with(b"HTTP/"),
        "plain HTTP answered on the HTTPS port"
    );
    wait_metric(
        &r,
        "trackgate_tls_handshakes_total{listener=\"api\",result=\"failed\"}",
        |v| v >= 1.0,
    )
    .await;
    r.shutdown().await;
}

#[tokio::test]
async fn untrusted_and_wrong_host_certificates_are_refused_by_the_client() {
    let (dir, ca) = (temp_dir("tls-refuse"), Ca::new("test CA"));
    let r = start_https(&dir, &ca, &[]).await;
    let stranger = Ca::new("another CA");
    let e = tls_connect(r.http_addr, "localhost", client_config(&stranger, &[b"h2"]))
        .await
        .expect_err("issuer not trusted");
    assert_eq!(
        tls_reason(&e),
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        "{e}"
    );
    let e = tls_connect(r.http_addr, "ops.example.com", client_config(&ca, &[b"h2"]))
        .await
        .expect_err("name not in the certificate");
    match tls_reason(&e) {
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => {}
        other => panic!("expected a wrong-name refusal, got {other:?} ({e})"),
    }
    r.shutdown().await;
}

/// The real binary: SIGHUP makes new handshakes present the new certificate while an HTTP/2
/// connection opened before it keeps its own and keeps answering.
#[tokio::test]
async fn sighup_swaps_the_certificate_and_an_open_http2_connection_keeps_working() {
    let (dir, ca) = (temp_dir("tls-hup"), Ca::new("test CA"));
    let (cert, key, first) = ca.leaf(&dir, "api", &["localhost"]);
    let port = support::services::free_port();
    let mut toml = format!(
        "[http]\nlisten = \"127.0.0.1:{port}\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n\
         tls_watch_secs = 0\n[storage]\ndir = \"{}\"\n",
        cert.display(),
        key.display(),
        dir.join("data").display()
    );
    for p in trackgate::protocol::REGISTRY {
        toml.push_str(&format!("[protocols.{}]\nenabled = false\n", p.name()));
    }
    let cfg_path = dir.join("trackgate.toml");
    std::fs::write(&cfg_path, toml).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_trackgate"))
        .args(["serve", "--config"])
        .arg(&cfg_path)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start trackgate");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let cfg = client_config(&ca, &[b"h2"]);
    let s = eventually(Duration::from_secs(20), "HTTPS API up", async || {
        tls_connect(addr, "localhost", cfg.clone()).await
    })
    .await;
    assert_eq!(presented(&s), first);
    let mut open = h2(s).await;
    assert_eq!(h2_get(&mut open, "/healthz").await.0, 200);

    let (_, _, second) = ca.leaf(&dir, "api", &["localhost"]);
    assert_ne!(first, second);
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    eventually(
        Duration::from_secs(10),
        "new certificate presented",
        async || {
            let s = tls_connect(addr, "localhost", cfg.clone())
                .await
                .map_err(|e| e.to_string())?;
            if presented(&s) == second {
                Ok(())
            } else {
                Err("the old certificate".to_string())
            }
        },
    )
    .await;
    // The connection from before the reload answers on, with the certificate it negotiated.
    for _ in 0..3 {
        assert_eq!(h2_get(&mut open, "/healthz").await.0, 200);
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "SIGHUP must not stop the server"
    );
    let _ = std::process::Command::new("kill").arg(&pid).status();
    let status = child.wait().unwrap();
    assert!(status.success(), "clean exit on SIGTERM: {status}");
}

#[tokio::test]
async fn changed_files_are_reloaded_and_a_broken_pair_keeps_the_old_one() {
    let (dir, ca) = (temp_dir("tls-watch"), Ca::new("test CA"));
    let (cert, key, first) = ca.leaf(&dir, "api", &["localhost"]);
    let mut cfg = test_config("");
    cfg.http.tls_cert = Some(cert.clone());
    cfg.http.tls_key = Some(key.clone());
    cfg.http.tls_watch_secs = 1;
    let r = server::start(cfg).await.expect("server starts");
    let client = client_config(&ca, &[b"h2"]);
    let presents = async |want: &Vec<u8>| {
        let s = tls_connect(r.http_addr, "localhost", client.clone())
            .await
            .map_err(|e| e.to_string())?;
        if &presented(&s) == want {
            Ok(())
        } else {
            Err("another certificate".to_string())
        }
    };
    presents(&first).await.unwrap();
    // A certificate whose key is not the one on disk: refused, the old pair serves on.
    let other = temp_dir("tls-watch-other");
    let (stray_cert, _, _) = ca.leaf(&other, "stray", &["localhost"]);
    std::fs::copy(&stray_cert, &cert).unwrap();
    wait_metric(&r, "trackgate_tls_reloads_total{result=\"failed\"}", |v| {
        v >= 1.0
    })
    .await;
    presents(&first).await.unwrap();
    // Both files replaced: the new pair serves, without a restart.
    let (_, _, second) = ca.leaf(&dir, "api", &["localhost"]);
    eventually(
        Duration::from_secs(10),
        "reloaded certificate",
        async || presents(&second).await,
    )
    .await;
    assert!(metric(&r, "trackgate_tls_reloads_total{result=\"ok\"}").unwrap() >= 1.0);
    r.shutdown().await;
}

fn gt06_fix(serial: u16) -> Vec<u8> {
    use chrono::TimeZone;
    let fix = Gt06Fix {
        time: chrono::Utc
            .with_ymd_and_hms(2026, 11, 27, 5, 30, serial as u32 % 60)
            .unwrap(),
        satellites: 9,
        lat: 22.5,
        lon: 114.05,
        speed: 60,
        course: 90,
    };
    gt06_location(&fix, serial)
}

async fn exchange<S: AsyncReadExt + AsyncWriteExt + Unpin>(s: &mut S, frame: &[u8], ack: &[u8]) {
    s.write_all(frame).await.unwrap();
    let mut got = vec![0u8; ack.len()];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut got))
        .await
        .expect("ACK within 5 s")
        .expect("read ACK");
    assert_eq!(hex::encode(&got), hex::encode(ack), "ACK bytes");
}

#[tokio::test]
async fn gt06_over_tls_gets_exact_acks_and_plain_bytes_get_none() {
    let (dir, ca) = (temp_dir("tls-gt06"), Ca::new("test CA"));
    let (cert, key, _) = ca.leaf(&dir, "gt06", &["localhost"]);
    let r = server::start(test_config(&format!(
        "[protocols.gt06]\ntls = true\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
        cert.display(),
        key.display()
    )))
    .await
    .expect("server starts");
    let addr = r.addr("gt06", "tcp").unwrap();
    let mut s = tls_connect(addr, "localhost", client_config(&ca, &[]))
        .await
        .expect("TLS to the device port");
    let hexd = |h: &str| hex::decode(h).unwrap();
    exchange(&mut s, &hexd(GT06_LOGIN), &hexd(GT06_LOGIN_ACK)).await;
    exchange(&mut s, &gt06_fix(0x0a), &gt06_ack(0x12, 0x0a)).await;
    let v = wait_device(&r, GT06_IMEI, |v| v["lat"].as_f64().is_some()).await;
    assert_eq!(v["lat"].as_f64().unwrap(), 22.5);
    // A tracker speaking plain GT06 to the TLS port is not answered.
    let mut plain = TcpStream::connect(addr).await.unwrap();
    plain.write_all(&hexd(GT06_LOGIN)).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut buf)).await;
    assert!(
        !buf.windows(2).any(|w| w == [0x78, 0x78]),
        "a GT06 reply on the TLS port: {}",
        hex::encode(&buf)
    );
    r.shutdown().await;
}

#[tokio::test]
async fn osmand_over_https_with_the_api_certificate() {
    let (dir, ca) = (temp_dir("tls-osmand"), Ca::new("test CA"));
    // No certificate of its own: the listener uses [http]'s (so the API is HTTPS too).
    let r = start_https(&dir, &ca, &["osmand"]).await;
    let addr = r.addr("osmand", "http").unwrap();
    let s = tls_connect(addr, "localhost", client_config(&ca, &[b"http/1.1"]))
        .await
        .expect("HTTPS to the OsmAnd port");
    let (status, _) = h1_get(
        s,
        "/?id=phone-tls&lat=47.3769&lon=8.5417&timestamp=2026-11-27T05:30:00Z",
    )
    .await;
    assert_eq!(status, 200);
    let s = tls_connect(r.http_addr, "localhost", client_config(&ca, &[b"h2"]))
        .await
        .unwrap();
    let mut api = h2(s).await;
    let body = eventually(
        Duration::from_secs(5),
        "phone-tls in the API",
        async || match h2_get(&mut api, "/api/devices/phone-tls").await {
            (200, b) => Ok(b),
            (s, b) => Err(format!("{s} {b}")),
        },
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["lat"].as_f64().unwrap(), 47.3769);
    r.shutdown().await;
}

/// Hundreds of connections that open a TLS handshake and never finish it, plus a client doing
/// full handshakes in a loop, on the H02 TLS port: a plain GT06 tracker on its own port gets
/// every ACK meanwhile, the stalled handshakes are cut at the deadline, and a real TLS
/// device gets in afterwards. (The flood comes from one address, so the per-address limits
/// are raised: they are tested in `security_devices_limits.rs`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_flood_does_not_starve_a_plain_device() {
    let (dir, ca) = (temp_dir("tls-flood"), Ca::new("test CA"));
    let (cert, key, _) = ca.leaf(&dir, "h02", &["localhost"]);
    let r = server::start(test_config(&format!(
        "[protocols.h02]\ntls = true\ntls_cert = \"{}\"\ntls_key = \"{}\"\n\
         max_tls_handshakes = 4\ntls_handshake_timeout_secs = 1\n\
         max_connections_per_ip = 1000\nnew_connections_per_ip_per_sec = 1000\n",
        cert.display(),
        key.display()
    )))
    .await
    .expect("server starts");
    let tls_addr = r.addr("h02", "tcp").unwrap();
    const STALLED: usize = 200;
    let mut stalled = Vec::new();
    for _ in 0..STALLED {
        stalled.push(TcpStream::connect(tls_addr).await.unwrap());
    }
    let cfg = client_config(&ca, &[]);
    let churn = tokio::spawn(async move {
        let mut ok = 0;
        for _ in 0..100 {
            if tls_connect(tls_addr, "localhost", cfg.clone())
                .await
                .is_ok()
            {
                ok += 1;
            }
        }
        ok
    });
    let mut dev = TcpStream::connect(r.addr("gt06", "tcp").unwrap())
        .await
        .unwrap();
    let hexd = |h: &str| hex::decode(h).unwrap();
    exchange(&mut dev, &hexd(GT06_LOGIN), &hexd(GT06_LOGIN_ACK)).await;
    for serial in 1..=20u16 {
        exchange(&mut dev, &gt06_fix(serial), &gt06_ack(0x12, serial)).await;
    }
    churn.await.unwrap();
    // Every stalled handshake is cut at the deadline: the server closes the socket.
    for mut s in stalled {
        let mut buf = [0u8; 16];
        let r = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await;
        assert!(
            matches!(r, Ok(Ok(0)) | Ok(Err(_))),
            "stalled handshake still open"
        );
    }
    let timeouts = metric(
        &r,
        "trackgate_tls_handshakes_total{listener=\"h02\",result=\"timeout\"}",
    )
    .unwrap_or(0.0);
    assert!(timeouts >= STALLED as f64, "timeouts counted: {timeouts}");
    let s = tls_connect(tls_addr, "localhost", client_config(&ca, &[]))
        .await
        .expect("a real TLS device gets in after the flood");
    drop(s);
    r.shutdown().await;
}
