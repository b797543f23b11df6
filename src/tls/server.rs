//! Inbound TLS: the certificates trackgate presents (API and device listeners), reloaded
//! without dropping a connection, and a handshake gate that bounds what a TLS listener
//! spends on peers that have not finished their handshake.
//!
//! **Reload.** Every listener's rustls `ServerConfig` asks a [`ReloadingCert`] for its
//! certificate at each handshake ([`ResolvesServerCert`]); a reload swaps the
//! `Arc<CertifiedKey>` it hands out. Open connections keep the keys they negotiated (TLS
//! never re-reads the certificate after the handshake), so a reload drops nothing; the next
//! handshake presents the new certificate. Reloads happen on SIGHUP (`trackgate serve`) and
//! when the files change on disk (polled, see [`CertStore::watch`]: polling sees Kubernetes'
//! secret updates, which swap a symlink, as well as `cp`/`mv`). A certificate and key that do
//! not load or do not match keep the old pair serving and are logged and counted; a
//! half-written pair (certificate new, key still old) is retried when the files change again.
//!
//! **Handshake gate.** A TLS handshake costs the server a signature and some state before the
//! peer has proven anything. [`TlsGate::accept`] runs it under a deadline (waiting for a slot
//! included) and at most `max_handshakes` at once per listener, so a flood of stalled or
//! endless handshakes occupies a bounded number of slots for a bounded time and never the
//! accept loop or the plain listeners' connections (each handshake runs in its connection's
//! own task).

use super::{load_certs, load_key, provider, TlsFileError};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Semaphore;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// Where a listener's certificate chain and private key live (PEM files).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CertPaths {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// What the files looked like when last read: a change of either triggers a reload.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Stamp(Option<(SystemTime, u64)>, Option<(SystemTime, u64)>);

impl Stamp {
    fn of(p: &CertPaths) -> Stamp {
        let look = |f: &Path| {
            // `metadata` follows symlinks: a swapped Kubernetes `..data` link is a change.
            let m = std::fs::metadata(f).ok()?;
            Some((m.modified().ok()?, m.len()))
        };
        Stamp(look(&p.cert), look(&p.key))
    }
}

/// A certificate that can be swapped while listeners use it.
#[derive(Debug)]
pub struct ReloadingCert {
    paths: CertPaths,
    current: RwLock<Arc<CertifiedKey>>,
    /// The files as last read (successfully or not), so a bad pair is logged once per change.
    seen: Mutex<Stamp>,
}

/// Reads and checks a certificate/key pair: both parse, and the key belongs to the leaf.
fn load_pair(p: &CertPaths) -> Result<Arc<CertifiedKey>, TlsFileError> {
    let certs = load_certs(&p.cert)?;
    let key = load_key(&p.key)?;
    CertifiedKey::from_der(certs, key, &provider())
        .map(Arc::new)
        .map_err(|e| TlsFileError::File {
            what: "private key file",
            path: p.key.display().to_string(),
            reason: format!("does not fit certificate {}: {e}", p.cert.display()),
        })
}

impl ReloadingCert {
    /// Loads the pair; fails (naming the file) when it cannot be used.
    pub fn load(paths: CertPaths) -> Result<ReloadingCert, TlsFileError> {
        let seen = Stamp::of(&paths);
        let current = load_pair(&paths)?;
        Ok(ReloadingCert {
            paths,
            current: RwLock::new(current),
            seen: Mutex::new(seen),
        })
    }

    /// The files this certificate comes from.
    pub fn paths(&self) -> &CertPaths {
        &self.paths
    }

    /// The certificate handed to the next handshake.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Re-reads the files and swaps the certificate; on error the old one keeps serving.
    pub fn reload(&self) -> Result<(), TlsFileError> {
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = Stamp::of(&self.paths);
        let pair = load_pair(&self.paths)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = pair;
        Ok(())
    }

    /// Whether the files changed since they were last read.
    fn changed(&self) -> bool {
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) != Stamp::of(&self.paths)
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// Label set of the handshake counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HandshakeLabel {
    /// `api` or the protocol name.
    pub listener: &'static str,
    /// `ok`; `timeout`: not finished (or no slot free) within the deadline; `failed`: the
    /// peer broke off or sent something that is not an acceptable TLS handshake.
    pub result: &'static str,
}

/// Label set of the reload counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabel {
    /// `ok`: the new pair serves; `failed`: the files could not be used, the old pair
    /// serves on.
    pub result: &'static str,
}

/// Inbound TLS counters (cheap to clone).
#[derive(Clone, Debug, Default)]
pub struct TlsMetrics {
    /// Handshakes by listener and result.
    pub handshakes: Family<HandshakeLabel, Counter>,
    /// Certificate reloads by result.
    pub reloads: Family<ReloadLabel, Counter>,
}

impl TlsMetrics {
    /// Registers everything under `r` (use a `trackgate` sub-registry).
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "tls_handshakes",
            "Inbound TLS handshakes by listener and result (ok, timeout, failed)",
            self.handshakes.clone(),
        );
        r.register(
            "tls_reloads",
            "Inbound certificate reloads (SIGHUP or changed files) by result",
            self.reloads.clone(),
        );
    }
}

/// Every inbound certificate of the process, one per distinct file pair (a pair shared by
/// the API and device listeners is read once and reloaded once).
#[derive(Debug, Default)]
pub struct CertStore {
    certs: Mutex<Vec<Arc<ReloadingCert>>>,
    metrics: TlsMetrics,
}

impl CertStore {
    /// An empty store counting into `metrics`.
    pub fn new(metrics: TlsMetrics) -> CertStore {
        CertStore {
            certs: Mutex::new(Vec::new()),
            metrics,
        }
    }

    /// The certificate of `paths`, loading it on first use.
    pub fn get(&self, paths: &CertPaths) -> Result<Arc<ReloadingCert>, TlsFileError> {
        let mut certs = self.certs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = certs.iter().find(|c| c.paths() == paths) {
            return Ok(c.clone());
        }
        let c = Arc::new(ReloadingCert::load(paths.clone())?);
        certs.push(c.clone());
        Ok(c)
    }

    /// Whether any listener uses TLS.
    pub fn is_empty(&self) -> bool {
        self.certs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Reloads every certificate (SIGHUP); returns how many now serve new files.
    pub fn reload_all(&self) -> usize {
        self.reload_where(|_| true)
    }

    fn reload_where(&self, pick: impl Fn(&ReloadingCert) -> bool) -> usize {
        let certs = self.certs.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut ok = 0;
        for c in certs.iter().filter(|c| pick(c)) {
            let cert = c.paths().cert.display().to_string();
            match c.reload() {
                Ok(()) => {
                    ok += 1;
                    self.count("ok");
                    tracing::info!(%cert, "TLS certificate reloaded");
                }
                Err(e) => {
                    self.count("failed");
                    tracing::error!(%cert, error = %e, "TLS certificate not reloaded; the previous one keeps serving");
                }
            }
        }
        ok
    }

    fn count(&self, result: &'static str) {
        self.metrics
            .reloads
            .get_or_create(&ReloadLabel { result })
            .inc();
    }

    /// Reloads a certificate whenever its files change, looking every `every`, until
    /// `stop`.
    pub async fn watch(self: Arc<Self>, every: Duration, stop: CancellationToken) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            self.reload_where(ReloadingCert::changed);
        }
    }
}

/// A rustls server configuration presenting `cert`, offering `alpn` (e.g. `h2`, `http/1.1`;
/// empty for device protocols). TLS 1.2 and 1.3 with rustls' safe defaults.
pub fn server_config(
    cert: Arc<ReloadingCert>,
    alpn: &[&[u8]],
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(cert);
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(cfg))
}

/// Limits of one listener's handshakes.
#[derive(Clone, Copy, Debug)]
pub struct HandshakeLimits {
    /// Longest time from accept to a finished handshake, waiting for a slot included.
    pub timeout: Duration,
    /// Most handshakes in progress at once.
    pub max_concurrent: usize,
}

/// Why a connection did not become a TLS stream.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("TLS handshake not finished within {0:?}")]
    Timeout(Duration),
    #[error("TLS handshake failed: {0}")]
    Failed(#[from] std::io::Error),
}

/// The TLS side of one listener: its configuration and its handshake gate (cheap to clone).
#[derive(Clone)]
pub struct TlsGate {
    acceptor: TlsAcceptor,
    slots: Arc<Semaphore>,
    limits: HandshakeLimits,
    listener: &'static str,
    metrics: TlsMetrics,
}

impl TlsGate {
    /// A gate for `listener` (`api` or a protocol name) presenting `config`.
    pub fn new(
        listener: &'static str,
        config: Arc<rustls::ServerConfig>,
        limits: HandshakeLimits,
        metrics: TlsMetrics,
    ) -> TlsGate {
        TlsGate {
            acceptor: TlsAcceptor::from(config),
            slots: Arc::new(Semaphore::new(limits.max_concurrent)),
            limits,
            listener,
            metrics,
        }
    }

    /// Runs the server handshake on `io` within the deadline, holding one of the
    /// listener's handshake slots while it runs.
    pub async fn accept<IO>(&self, io: IO) -> Result<TlsStream<IO>, HandshakeError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let hs = async {
            let _slot = self.slots.acquire().await;
            self.acceptor.accept(io).await
        };
        let (r, result) = match tokio::time::timeout(self.limits.timeout, hs).await {
            Ok(Ok(s)) => (Ok(s), "ok"),
            Ok(Err(e)) => (Err(HandshakeError::Failed(e)), "failed"),
            Err(_) => (Err(HandshakeError::Timeout(self.limits.timeout)), "timeout"),
        };
        self.metrics
            .handshakes
            .get_or_create(&HandshakeLabel {
                listener: self.listener,
                result,
            })
            .inc();
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, name: &str, host: &str) -> CertPaths {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![host.into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let paths = CertPaths {
            cert: dir.join(format!("{name}.pem")),
            key: dir.join(format!("{name}.key")),
        };
        std::fs::write(&paths.cert, cert.pem()).unwrap();
        std::fs::write(&paths.key, key.serialize_pem()).unwrap();
        paths
    }

    #[test]
    fn reload_swaps_and_a_bad_pair_keeps_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let a = write_pair(dir.path(), "a", "a.test");
        let b = write_pair(dir.path(), "b", "b.test");
        let store = CertStore::new(TlsMetrics::default());
        let c = store.get(&a).unwrap();
        assert!(Arc::ptr_eq(&c, &store.get(&a).unwrap()), "one per pair");
        let first = c.current().cert[0].clone();
        // A certificate with someone else's key: refused, the old pair serves on.
        std::fs::copy(&b.cert, &a.cert).unwrap();
        assert!(c.reload().unwrap_err().to_string().contains("does not fit"));
        assert_eq!(c.current().cert[0], first);
        // Both files replaced: the new pair serves.
        std::fs::copy(&b.key, &a.key).unwrap();
        assert_eq!(store.reload_all(), 1);
        assert_ne!(c.current().cert[0], first);
        assert!(!c.changed());
    }

    #[test]
    fn unusable_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let a = write_pair(dir.path(), "a", "a.test");
        let swapped = CertPaths {
            cert: a.key.clone(),
            key: a.cert.clone(),
        };
        let e = ReloadingCert::load(swapped).unwrap_err().to_string();
        assert!(e.contains("a.key"), "{e}");
    }
}
