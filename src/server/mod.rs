//! Assembles a running gateway from a [`Config`], in named steps: open the storage (the log),
//! start the log consumers (live state, InfluxDB, outputs, webhooks, MQTT, tracking), start
//! the device listeners, start the API. Data flows one way through them; this module is the
//! only place that knows every part.

mod consumers;
pub mod http;
mod listeners;

pub use listeners::LISTEN_BACKLOG;

use crate::api::auth::Registry;
use crate::api::{self, ApiState};
use crate::config::Config;
use crate::ingest::IngestCtx;
use crate::model::Record;
use crate::pipeline::backend::LogBackend;
use crate::pipeline::jetstream::JetStreamLog;
use crate::pipeline::local::LocalLog;
use crate::pipeline::log::{DurableLog, LogError, SharedLog};
use crate::pipeline::runner::{ConsumerMetrics, Consumers};
use crate::pipeline::wal::{Wal, WalError};
use crate::pipeline::{AckMode, DurableStage, Pipeline, Refused};
use crate::registry::Registry as DeviceRegistry;
use crate::session::{Admission, DeviceCodes, FixTimes, Gate, Presence};
use crate::state::LiveState;
use crate::telemetry::Metrics;
use crate::tls::server::{
    server_config, CertPaths, CertStore, HandshakeLimits, TlsGate, TlsMetrics,
};
use crate::tls::TlsFileError;
use http::{HttpLimits, HttpMetrics, HttpServer};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
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
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("{0}")]
    Auth(String),
    #[error("{key}: {source}")]
    Tls {
        /// The config key that names the file (`http.tls_cert`, `protocols.gt06.tls_key`, ...).
        key: String,
        source: TlsFileError,
    },
    #[error("{0}")]
    Devices(String),
    #[error("command queue in {dir}: {source}")]
    Commands {
        dir: std::path::PathBuf,
        source: crate::commands::StoreError,
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
    /// The durable log (tests and tools append derived records, e.g. alerts, to it).
    pub log: SharedLog,
    /// Every inbound certificate (API and device listeners).
    certs: Arc<CertStore>,
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

    /// Appends records to the log, durably, as a decoder's would be (tests, tools).
    pub async fn append(&self, records: Vec<Record>) -> Result<(), Refused> {
        self.log.append(records, AckMode::Durable).await
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

    /// Re-reads every inbound certificate (SIGHUP): new handshakes present the new one,
    /// open connections keep theirs. Returns how many were swapped; a pair that cannot be
    /// used keeps the old one serving (logged, `trackgate_tls_reloads_total{result="failed"}`).
    pub fn reload_tls(&self) -> usize {
        self.certs.reload_all()
    }

    /// The token that stops everything.
    pub fn token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

/// What every step shares: metrics, the stop token and the owner of every task.
pub(crate) struct Base {
    pub metrics: Arc<Metrics>,
    pub shutdown: CancellationToken,
    pub tracker: TaskTracker,
    /// Inbound certificates, loaded once per file pair.
    pub certs: Arc<CertStore>,
    pub tls_metrics: TlsMetrics,
    pub http_metrics: HttpMetrics,
}

impl Base {
    /// The TLS gate of a listener presenting the pair `(cert, key)` named by the config keys
    /// `<table>.tls_cert` / `<table>.tls_key`.
    pub fn tls_gate(
        &self,
        listener: &'static str,
        table: &str,
        (cert, key): (&std::path::Path, &std::path::Path),
        alpn: &[&[u8]],
        limits: HandshakeLimits,
    ) -> Result<TlsGate, StartError> {
        let paths = CertPaths {
            cert: cert.to_owned(),
            key: key.to_owned(),
        };
        let c = self.certs.get(&paths).map_err(|source| StartError::Tls {
            key: format!("{table}.tls_cert / {table}.tls_key"),
            source,
        })?;
        let config = server_config(c, alpn).map_err(|e| StartError::Tls {
            key: format!("{table}.tls_cert"),
            source: TlsFileError::File {
                what: "certificate file",
                path: cert.display().to_string(),
                reason: e.to_string(),
            },
        })?;
        Ok(TlsGate::new(
            listener,
            config,
            limits,
            self.tls_metrics.clone(),
        ))
    }
}

/// Binds every enabled listener and starts serving.
pub async fn start(cfg: Config) -> Result<Running, StartError> {
    cfg.validate()?;
    crate::tls::install_provider();
    let tls_metrics = TlsMetrics::default();
    let base = Base {
        metrics: Arc::new(Metrics::new()),
        shutdown: CancellationToken::new(),
        tracker: TaskTracker::new(),
        certs: Arc::new(CertStore::new(tls_metrics.clone())),
        tls_metrics,
        http_metrics: HttpMetrics::default(),
    };
    let (tm, hm) = (base.tls_metrics.clone(), base.http_metrics.clone());
    base.metrics.register(|r| {
        let r = r.sub_registry_with_prefix("trackgate");
        tm.register(r);
        hm.register(r);
    });
    let log = open_storage(&cfg, &base).await?;
    let live = Arc::new(LiveState::new(cfg.offline_after()));
    base.tracker.spawn(crate::state::run_eviction(
        live.clone(),
        cfg.devices.forget_after,
        base.shutdown.clone(),
    ));
    let consumer_metrics = ConsumerMetrics::default();
    base.metrics
        .register(|r| consumer_metrics.register(r.sub_registry_with_prefix("trackgate")));
    let consumers = Consumers::new(
        log.clone(),
        base.tracker.clone(),
        base.shutdown.clone(),
        consumer_metrics,
    );
    let registry = open_registry(&cfg, &base)?;
    let started = consumers::start(&cfg, &base, &consumers, &live, &registry).await?;
    let stage: Arc<dyn DurableStage> = log.clone();
    let commands = open_commands(&cfg).await?.with_events(stage.clone());
    base.metrics.register(|r| {
        commands
            .metrics
            .register(r.sub_registry_with_prefix("trackgate"))
    });
    let ingest = Arc::new(IngestCtx {
        pipeline: Pipeline::new(stage),
        live: live.clone(),
        gate: Arc::new(open_gate(&cfg, &base, &live, &registry)?),
        metrics: base.metrics.clone(),
        shutdown: base.shutdown.clone(),
        commands: Some(commands.clone()),
    });
    let listeners = listeners::start(&cfg, &base, ingest).await?;
    let auth = open_auth(&cfg)?;
    let http_addr = start_api(
        &cfg,
        &base,
        ApiState {
            live: live.clone(),
            metrics: base.metrics.clone(),
            outputs: Some(started.outputs),
            tracking: started.tracking,
            console: started.console,
            auth,
            fleet: started.fleet,
            registry,
            commands: Some(commands),
        },
    )
    .await?;
    if !base.certs.is_empty() && cfg.http.tls_watch_secs > 0 {
        base.tracker.spawn(base.certs.clone().watch(
            Duration::from_secs(cfg.http.tls_watch_secs),
            base.shutdown.clone(),
        ));
    }
    Ok(Running {
        http_addr,
        listeners,
        live,
        metrics: base.metrics,
        log,
        certs: base.certs,
        shutdown: base.shutdown,
        tracker: base.tracker,
        drain: Duration::from_secs(cfg.pipeline.drain_secs),
    })
}

/// Opens the durable log: the local write-ahead log (with its metrics) or, with
/// `[log] backend = "jetstream"`, the JetStream stream.
async fn open_storage(cfg: &Config, base: &Base) -> Result<SharedLog, StartError> {
    if let (LogBackend::Jetstream, Some(js)) = (cfg.log.backend, &cfg.log.jetstream) {
        let log = JetStreamLog::open(js, &cfg.storage, base.shutdown.clone())
            .await
            .map_err(StartError::Log)?;
        return Ok(Arc::new(log));
    }
    let dir = cfg.storage.wal_dir();
    let wal = Wal::open(&dir, cfg.storage.wal_options())
        .map_err(|source| StartError::Wal { dir, source })?;
    base.metrics.register(|r| {
        wal.metrics()
            .register(r.sub_registry_with_prefix("trackgate"))
    });
    let log: Arc<dyn DurableLog> = Arc::new(LocalLog::new(wal));
    Ok(log)
}

/// The device policies every session applies, with the device code store
/// (`<storage.dir>/devices.sqlite3`).
fn open_gate(
    cfg: &Config,
    base: &Base,
    live: &Arc<LiveState>,
    registry: &Arc<DeviceRegistry>,
) -> Result<Gate, StartError> {
    let d = &cfg.devices;
    let codes =
        DeviceCodes::open(&cfg.storage.dir).map_err(|e| StartError::Devices(e.to_string()))?;
    Ok(Gate::new(
        live.clone(),
        Admission::new(&d.allow, &d.keys, base.metrics.clone()).with_registry(registry.clone()),
        Presence::new(d.takeover),
        codes,
        FixTimes::new(Duration::from_secs(d.max_future_secs), base.metrics.clone()),
        base.metrics.clone(),
    ))
}

/// The device registry (`<storage.dir>/registry.sqlite3`), watched for changes another
/// process (`trackgate devices import`) commits.
fn open_registry(cfg: &Config, base: &Base) -> Result<Arc<DeviceRegistry>, StartError> {
    let reg =
        DeviceRegistry::open(&cfg.storage.dir).map_err(|e| StartError::Devices(e.to_string()))?;
    reg.set_customer_quota(cfg.devices.max_registered_per_customer);
    let reg = Arc::new(reg);
    base.tracker.spawn(crate::registry::watch(
        reg.clone(),
        crate::registry::WATCH_EVERY,
        base.shutdown.clone(),
    ));
    Ok(reg)
}

/// The downlink command queue, `<storage.dir>/commands.sqlite3` (queued commands survive a
/// restart).
async fn open_commands(cfg: &Config) -> Result<crate::commands::Commands, StartError> {
    crate::commands::Commands::open(&cfg.storage.dir, cfg.commands.clone())
        .await
        .map_err(|source| StartError::Commands {
            dir: cfg.storage.dir.clone(),
            source,
        })
}

/// The API's tokens, and the safe default: without any token the API is open to whoever
/// reaches it, so it may listen on loopback only.
fn open_auth(cfg: &Config) -> Result<Arc<Registry>, StartError> {
    let registry = Registry::open(&cfg.api, Some(&cfg.storage.dir)).map_err(StartError::Auth)?;
    if registry.is_empty() && !cfg.http.listen.ip().is_loopback() {
        return Err(StartError::Auth(format!(
            "http.listen = {} is not a loopback address and no API token exists, so anyone \
             reaching it could read and change everything. Create a token with \
             `trackgate token new --name ops --scopes admin`, paste the [[api.tokens]] block it \
             prints into the config, and start again (or listen on 127.0.0.1)",
            cfg.http.listen
        )));
    }
    if registry.is_empty() {
        tracing::warn!(addr = %cfg.http.listen, "no API token configured: the API is open to every local user (loopback only)");
    }
    Ok(Arc::new(registry))
}

/// Binds the HTTP API and serves it (HTTPS with `[http] tls_cert`) until shutdown.
async fn start_api(cfg: &Config, base: &Base, state: ApiState) -> Result<SocketAddr, StartError> {
    let h = &cfg.http;
    let listener = tokio::net::TcpListener::bind(h.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: h.listen,
            what: "http".into(),
            source,
        })?;
    let addr = listener.local_addr().unwrap_or(h.listen);
    let tls = match h.tls_pair() {
        Some(pair) => {
            let limits = HandshakeLimits {
                timeout: Duration::from_secs(h.tls_handshake_timeout_secs),
                max_concurrent: h.max_tls_handshakes,
            };
            Some(base.tls_gate("api", "http", pair, http::ALPN, limits)?)
        }
        None => None,
    };
    tracing::info!(%addr, tls = tls.is_some(), "http api listening");
    let opts = api::RouterOptions {
        cors_origins: h.cors_origins.clone(),
    };
    let server = HttpServer {
        listener: "api",
        router: api::router(state, &opts),
        limits: HttpLimits {
            header_timeout: Duration::from_secs(h.header_timeout_secs),
            body_timeout: Duration::from_secs(h.body_timeout_secs),
            idle_timeout: Duration::from_secs(h.idle_timeout_secs),
            max_connections: h.max_connections,
        },
        tls,
        metrics: base.http_metrics.clone(),
    };
    base.tracker
        .spawn(server.run(listener, base.shutdown.clone(), base.tracker.clone()));
    Ok(addr)
}
