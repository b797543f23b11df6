//! Assembles a running gateway from a [`Config`]: pipeline, live state, listeners, API.

use crate::api::{self, ApiState};
use crate::config::Config;
use crate::ingest::{http as http_ingest, mqtt as mqtt_ingest, tcp, udp, IngestCtx, ProtoRuntime};
use crate::pipeline::runner::{self, LogConsumer, SyncConsumer};
use crate::pipeline::wal::{Wal, WalError};
use crate::pipeline::wal_stage::WalStage;
use crate::pipeline::Pipeline;
use crate::protocol::REGISTRY;
use crate::session::Admission;
use crate::state::LiveState;
use crate::telemetry::Metrics;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UdpSocket};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        addr: SocketAddr,
        what: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("sink: {0}")]
    Sink(String),
    #[error("write-ahead log in {dir}: {source}")]
    Wal {
        dir: std::path::PathBuf,
        source: WalError,
    },
}

/// A started gateway: its bound addresses and the handles to stop it.
pub struct Running {
    /// Where the HTTP API listens (useful with port 0).
    pub http_addr: SocketAddr,
    /// Bound device listeners: `(protocol, "tcp" | "udp" | "http")` → address.
    pub listeners: BTreeMap<(String, &'static str), SocketAddr>,
    /// Live device state.
    pub live: Arc<LiveState>,
    /// Process metrics.
    pub metrics: Arc<Metrics>,
    /// The write-ahead log (tests and tools append derived records, e.g. alerts, to it).
    pub wal: Wal,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    drain: Duration,
}

impl Running {
    /// The bound address of a protocol's listener.
    pub fn addr(&self, protocol: &str, transport: &'static str) -> Option<SocketAddr> {
        self.listeners
            .get(&(protocol.to_string(), transport))
            .copied()
    }

    /// Stops listeners and connections, then waits (up to the drain deadline) for every task.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        self.tracker.close();
        if tokio::time::timeout(self.drain, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("drain deadline passed; exiting with tasks still running");
        }
    }

    /// The token that stops everything.
    pub fn token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

/// Binds every enabled listener and starts serving.
pub async fn start(cfg: Config) -> Result<Running, StartError> {
    cfg.validate()?;
    let metrics = Arc::new(Metrics::new());
    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let live = Arc::new(LiveState::new(cfg.offline_after()));
    let wal_dir = cfg.storage.wal_dir();
    let wal = Wal::open(&wal_dir, cfg.storage.wal_options()).map_err(|source| StartError::Wal {
        dir: wal_dir.clone(),
        source,
    })?;
    metrics.register(|r| {
        wal.metrics()
            .register(r.sub_registry_with_prefix("trackgate"))
    });
    let live_consumer: Arc<dyn LogConsumer> = Arc::new(SyncConsumer(live.clone()));
    runner::spawn(wal.clone(), live_consumer, &tracker, shutdown.clone())
        .await
        .map_err(|source| StartError::Wal {
            dir: wal_dir.clone(),
            source,
        })?;
    if let Some(icfg) = &cfg.influx {
        let im = crate::sinks::influx::InfluxMetrics::default();
        metrics.register(|r| im.register(r.sub_registry_with_prefix("trackgate")));
        let sink = crate::sinks::influx::InfluxSink::new(icfg, im, shutdown.clone())
            .map_err(|e| StartError::Sink(e.to_string()))?;
        let consumer: Arc<dyn LogConsumer> = Arc::new(
            crate::sinks::influx::consumer::InfluxConsumer::new(sink, icfg),
        );
        runner::spawn(wal.clone(), consumer, &tracker, shutdown.clone())
            .await
            .map_err(|source| StartError::Wal {
                dir: wal_dir.clone(),
                source,
            })?;
        tracing::info!(url = %icfg.url, "influx sink started");
    } else {
        // No sink reads the log: it is the embedded store, kept for `storage.retention`.
        let _ = wal
            .unregister_consumer(crate::sinks::influx::consumer::CONSUMER_NAME)
            .await;
    }
    // Live outputs: event history + webhooks (always), MQTT publisher (with [mqtt]).
    let outputs =
        crate::sinks::webhook::start_outputs(&cfg, &wal, &metrics, &tracker, shutdown.clone())
            .await
            .map_err(StartError::Sink)?;
    let stage = Arc::new(WalStage::new(wal.clone()));
    // Tracking: a log consumer that appends its ETAs/alerts back to the log, plus its timer.
    let tracking = if cfg.tracking.enabled {
        use crate::tracking::consumer::{run_timer, TrackingConsumer};
        let h = crate::tracking::TrackingHandle::open(
            cfg.tracking.clone(),
            &cfg.storage.dir,
            Pipeline::new(stage.clone()),
            shutdown.clone(),
        )
        .map_err(|e| StartError::Sink(format!("tracking: {e}")))?;
        let consumer: Arc<dyn LogConsumer> = Arc::new(TrackingConsumer(h.clone()));
        runner::spawn(wal.clone(), consumer, &tracker, shutdown.clone())
            .await
            .map_err(|source| StartError::Wal {
                dir: wal_dir.clone(),
                source,
            })?;
        let period = Duration::from_secs(cfg.tracking.timer_secs);
        tracker.spawn(run_timer(
            h.clone(),
            period,
            chrono::Utc::now,
            shutdown.clone(),
        ));
        Some(h)
    } else {
        None
    };
    let ctx = Arc::new(IngestCtx {
        pipeline: Pipeline::new(stage),
        live: live.clone(),
        admission: Arc::new(Admission::new(&cfg.devices.allow, metrics.clone())),
        metrics: metrics.clone(),
        shutdown: shutdown.clone(),
    });

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
                tracing::info!(protocol = p.name(), transport = "http", addr = %bound, "listening");
                listeners.insert((p.name().to_string(), "http"), bound);
                tracker.spawn(http_ingest::run(l, ctx.clone(), rt.clone()));
            }
        }
        if t.tcp {
            let what = format!("{} tcp", p.name());
            if let Some(l) = bind_tcp(tcp_addr, pc.listen.is_some(), what).await? {
                let bound = l.local_addr().unwrap_or(tcp_addr);
                tracing::info!(protocol = p.name(), transport = "tcp", addr = %bound, "listening");
                listeners.insert((p.name().to_string(), "tcp"), bound);
                tracker.spawn(tcp::run(l, ctx.clone(), rt.clone(), tracker.clone()));
            }
        }
        if t.udp && pc.udp {
            // Same port as TCP by default (as Traccar does), also when TCP took port 0.
            let mut udp_addr = pc.udp_listen.unwrap_or(tcp_addr);
            if pc.udp_listen.is_none() && udp_addr.port() == 0 {
                if let Some(b) = listeners.get(&(p.name().to_string(), "tcp")) {
                    udp_addr.set_port(b.port());
                }
            }
            let explicit = pc.udp_listen.is_some() || pc.listen.is_some();
            let s = match UdpSocket::bind(udp_addr).await {
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
            tracker.spawn(udp::run(s, ctx.clone(), rt, tracker.clone()));
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
            tracker.spawn(mqtt_ingest::run(mq.clone(), ctx.clone(), rt));
        }
    }

    let http = TcpListener::bind(cfg.http.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: cfg.http.listen,
            what: "http".into(),
            source,
        })?;
    let http_addr = http.local_addr().unwrap_or(cfg.http.listen);
    tracing::info!(addr = %http_addr, "http api listening");
    let app = api::router(ApiState {
        live: live.clone(),
        metrics: metrics.clone(),
        outputs: Some(outputs),
        tracking,
    });
    let token = shutdown.clone();
    tracker.spawn(async move {
        let r = axum::serve(http, app)
            .with_graceful_shutdown(async move { token.cancelled().await })
            .await;
        if let Err(e) = r {
            tracing::error!(error = %e, "http server failed");
        }
    });

    Ok(Running {
        http_addr,
        listeners,
        live,
        metrics,
        wal,
        shutdown,
        tracker,
        drain: Duration::from_secs(cfg.pipeline.drain_secs),
    })
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
