//! Step 3 of start-up: the device listeners — TCP, UDP and HTTP per enabled protocol in the
//! registry, and the MQTT device subscriber.

use super::http::{HttpLimits, HttpServer, ALPN};
use super::{Base, StartError};
use crate::config::{Config, ProtocolConfig};
use crate::ingest::{http as http_ingest, mqtt as mqtt_ingest, tcp, udp, IngestCtx, ProtoRuntime};
use crate::protocol::{Protocol, REGISTRY};
use crate::tls::server::{HandshakeLimits, TlsGate};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UdpSocket};

/// Bound listeners: `(protocol, transport)` → address.
pub(super) type Bound = BTreeMap<(String, &'static str), SocketAddr>;

/// Binds and serves every enabled device listener.
pub(super) async fn start(
    cfg: &Config,
    base: &Base,
    ctx: Arc<IngestCtx>,
) -> Result<Bound, StartError> {
    let mut listeners = BTreeMap::new();
    for p in REGISTRY {
        let pc = cfg.protocol(p.name());
        if !pc.enabled {
            continue;
        }
        let rt = ProtoRuntime {
            protocol: *p,
            decoder_options: pc.decoder_options(),
            config: pc.clone(),
        };
        let tcp_addr = pc
            .listen
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], p.default_port())));
        let t = p.transports();
        if p.http() {
            // HTTP protocols (OsmAnd, OwnTracks HTTP mode) serve requests on `listen`.
            let what = format!("{} http", p.name());
            if let Some(l) = bind_tcp(tcp_addr, pc.listen.is_some(), what).await? {
                let bound = l.local_addr().unwrap_or(tcp_addr);
                let tls = tls_gate(cfg, base, *p, &pc, ALPN)?;
                tracing::info!(protocol = p.name(), transport = "http", addr = %bound, tls = tls.is_some(), "listening");
                listeners.insert((p.name().to_string(), "http"), bound);
                let server = HttpServer {
                    listener: p.name(),
                    router: http_ingest::router(ctx.clone(), rt.clone()),
                    limits: device_http_limits(&pc),
                    tls,
                    metrics: base.http_metrics.clone(),
                };
                base.tracker
                    .spawn(server.run(l, base.shutdown.clone(), base.tracker.clone()));
            }
        }
        if t.tcp {
            let what = format!("{} tcp", p.name());
            if let Some(l) = bind_tcp(tcp_addr, pc.listen.is_some(), what).await? {
                let bound = l.local_addr().unwrap_or(tcp_addr);
                let tls = tls_gate(cfg, base, *p, &pc, &[])?;
                tracing::info!(protocol = p.name(), transport = "tcp", addr = %bound, tls = tls.is_some(), "listening");
                listeners.insert((p.name().to_string(), "tcp"), bound);
                base.tracker.spawn(tcp::run(
                    l,
                    ctx.clone(),
                    rt.clone(),
                    base.tracker.clone(),
                    tls,
                ));
            }
        }
        if t.udp && pc.udp && pc.tls {
            // No DTLS: a plain UDP port beside a TLS one would be a way around it.
            tracing::info!(
                protocol = p.name(),
                "udp not served: tls = true (UDP has no TLS)"
            );
        }
        if t.udp && pc.udp && !pc.tls {
            // Same port as TCP by default (as Traccar does), also when TCP took port 0.
            let mut udp_addr = pc.udp_listen.unwrap_or(tcp_addr);
            // Port 0 asked for "any port": the TCP one is tried first, and when another
            // process already holds that number for UDP, any other free port will do.
            let any_port = pc.udp_listen.is_none() && udp_addr.port() == 0;
            if any_port {
                if let Some(b) = listeners.get(&(p.name().to_string(), "tcp")) {
                    udp_addr.set_port(b.port());
                }
            }
            let explicit = pc.udp_listen.is_some() || pc.listen.is_some();
            let bound = match UdpSocket::bind(udp_addr).await {
                Err(_) if any_port => {
                    udp_addr.set_port(0);
                    UdpSocket::bind(udp_addr).await
                }
                other => other,
            };
            let s = match bound {
                Ok(s) => s,
                Err(source) if explicit => {
                    return Err(StartError::Bind {
                        addr: udp_addr,
                        what: format!("{} udp", p.name()),
                        source,
                    })
                }
                Err(e) => {
                    default_port_busy(udp_addr, &format!("{} udp", p.name()), &e);
                    continue;
                }
            };
            let bound = s.local_addr().unwrap_or(udp_addr);
            tracing::info!(protocol = p.name(), transport = "udp", addr = %bound, "listening");
            listeners.insert((p.name().to_string(), "udp"), bound);
            base.tracker
                .spawn(udp::run(s, ctx.clone(), rt, base.tracker.clone()));
        }
    }

    if let Some(mq) = cfg.mqtt.as_ref().filter(|m| m.ingest.enabled) {
        // MQTT devices: served under the owntracks registry entry (labels, ack mode).
        if let Some(p) = crate::protocol::find(crate::protocol::owntracks::NAME) {
            let pc = cfg.protocol(p.name());
            let rt = ProtoRuntime {
                protocol: p,
                decoder_options: pc.decoder_options(),
                config: pc,
            };
            base.tracker
                .spawn(mqtt_ingest::run(mq.clone(), ctx.clone(), rt));
        }
    }

    Ok(listeners)
}

/// The TLS gate of a device listener with `tls = true` (its own certificate or `[http]`'s).
fn tls_gate(
    cfg: &Config,
    base: &Base,
    p: &'static dyn Protocol,
    pc: &ProtocolConfig,
    alpn: &[&[u8]],
) -> Result<Option<TlsGate>, StartError> {
    if !pc.tls {
        return Ok(None);
    }
    let Some(pair) = pc.tls_pair(&cfg.http) else {
        // Config::validate refuses tls = true without a certificate; stay safe regardless.
        return Err(StartError::Config(crate::config::ConfigError::Invalid(
            format!(
                "protocols.{}.tls = true needs tls_cert and tls_key",
                p.name()
            ),
        )));
    };
    let table = if pc.tls_cert.is_some() {
        format!("protocols.{}", p.name())
    } else {
        "http".to_string()
    };
    let limits = HandshakeLimits {
        timeout: Duration::from_secs(pc.tls_handshake_timeout_secs),
        max_concurrent: pc.max_tls_handshakes,
    };
    base.tls_gate(p.name(), &table, pair, alpn, limits)
        .map(Some)
}

/// The limits of an HTTP device listener: its own, apart from the API's, so slow API
/// clients never use up device connections (nor the reverse). Keep-alive idle time is the
/// protocol's `idle_timeout_secs`, as for TCP devices.
fn device_http_limits(pc: &ProtocolConfig) -> HttpLimits {
    HttpLimits {
        header_timeout: Duration::from_secs(pc.header_timeout_secs),
        body_timeout: Duration::from_secs(pc.body_timeout_secs),
        idle_timeout: pc.idle_timeout(),
        max_connections: pc.max_connections,
    }
}

/// Pending-connection queue of every device listener (the kernel caps it at
/// `net.core.somaxconn`, 4096 on current Linux). tokio's `bind` uses 128: when a cell outage
/// ends or the gateway restarts, a whole fleet reconnects at once, and every SYN dropped from
/// a full queue costs that tracker a 1 s, then 3 s, … retransmit (measured: 197 of 10k
/// reconnects dropped with 128, see BENCHMARKS.md).
pub const LISTEN_BACKLOG: u32 = 4096;

/// A listening socket like `TcpListener::bind` (SO_REUSEADDR on Unix), with
/// [`LISTEN_BACKLOG`].
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Binds a device listener. A port the operator configured must be free (start fails and
/// says which); a *default* port that is taken only disables that listener, loudly, so one
/// busy Traccar port on a shared host does not keep every other protocol down.
async fn bind_tcp(
    addr: SocketAddr,
    explicit: bool,
    what: String,
) -> Result<Option<TcpListener>, StartError> {
    match listen(addr) {
        Ok(l) => Ok(Some(l)),
        Err(source) if explicit => Err(StartError::Bind { addr, what, source }),
        Err(e) => {
            default_port_busy(addr, &what, &e);
            Ok(None)
        }
    }
}

fn default_port_busy(addr: SocketAddr, what: &str, e: &std::io::Error) {
    tracing::error!(
        listener = what,
        %addr,
        error = %e,
        "default port unavailable: this listener is not served (set its `listen` or `enabled = false`)"
    );
}
