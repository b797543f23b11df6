//! The HTTP server of the API and of the HTTP device listeners (OsmAnd, OwnTracks HTTP):
//! HTTP/1.1 and HTTP/2 (ALPN on TLS, prior knowledge on plain TCP) with hyper-util's
//! server, on plain TCP or TLS (tokio-rustls with the reloadable certificate of
//! [`crate::tls::server`]).
//!
//! Why not `axum::serve`: it has no connection cap and no header, body or idle deadline, so
//! one client holding sockets open with half a header (slowloris) would hold them forever.
//! Why not axum-server: its TLS acceptor has no handshake deadline or cap and no connection
//! cap either, so the accept loop would be ours anyway; hyper-util and tokio-rustls are
//! already in the tree (reqwest, rumqttc).
//!
//! Each listener has its own limits ([`HttpLimits`]) — the API's from `[http]`, a device
//! listener's from its `[protocols.<p>]` table — so slow clients of one cannot use up the
//! connections of another. Over the connection cap a connection is closed at once and
//! counted; the deadlines are enforced per connection ([`conn`]).

mod body;
mod conn;

pub use conn::CLOSE_GRACE;

use crate::tls::server::TlsGate;
use axum::Router;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// ALPN protocols an HTTPS listener offers, preferred first.
pub const ALPN: &[&[u8]] = &[b"h2", b"http/1.1"];

/// The limits of one HTTP listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// From connect (or the first byte after an idle spell) to complete request headers.
    pub header_timeout: Duration,
    /// From complete headers to the end of the request body.
    pub body_timeout: Duration,
    /// Keep-alive: no request and no byte for this long closes the connection; a request in
    /// progress with no byte moving for this long does too.
    pub idle_timeout: Duration,
    /// Most connections open at once; more are closed at accept.
    pub max_connections: usize,
}

/// Which deadline closed a connection.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum TimeoutKind {
    /// Request headers not complete in time.
    Header,
    /// Request body not complete in time.
    Body,
    /// Keep-alive connection idle too long.
    Idle,
    /// Request in progress but no byte moving.
    Stalled,
    /// (internal) the grace after a close request passed.
    Close,
}

impl TimeoutKind {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeoutKind::Header => "header",
            TimeoutKind::Body => "body",
            TimeoutKind::Idle => "idle",
            TimeoutKind::Stalled => "stalled",
            TimeoutKind::Close => "close",
        }
    }
}

/// Label set of the per-listener counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerLabel {
    /// `api` or the protocol name.
    pub listener: &'static str,
}

/// Label set of the timeout counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TimeoutLabel {
    /// `api` or the protocol name.
    pub listener: &'static str,
    /// Which deadline: `header`, `body`, `idle`, `stalled`.
    pub kind: &'static str,
}

/// Counters of the HTTP listeners (cheap to clone).
#[derive(Clone, Debug, Default)]
pub struct HttpMetrics {
    /// Connections open now.
    pub open: Family<ListenerLabel, Gauge>,
    /// Connections closed at accept because the listener was at its cap.
    pub refused: Family<ListenerLabel, Counter>,
    /// Connections closed by a deadline.
    pub timeouts: Family<TimeoutLabel, Counter>,
}

impl HttpMetrics {
    /// Registers everything under `r` (use a `trackgate` sub-registry).
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "http_connections_open",
            "Open connections per HTTP listener (api or protocol)",
            self.open.clone(),
        );
        r.register(
            "http_connections_refused",
            "Connections closed at accept: the HTTP listener was at max_connections",
            self.refused.clone(),
        );
        r.register(
            "http_timeouts",
            "HTTP connections closed by a deadline (header, body, idle, stalled)",
            self.timeouts.clone(),
        );
    }

    fn timeout(&self, listener: &'static str, kind: TimeoutKind) {
        self.timeouts
            .get_or_create(&TimeoutLabel {
                listener,
                kind: kind.as_str(),
            })
            .inc();
    }
}

/// One HTTP listener: what it serves, how, and under which limits.
pub struct HttpServer {
    /// `api` or the protocol name (metrics and logs).
    pub listener: &'static str,
    /// The routes.
    pub router: Router,
    /// Its limits.
    pub limits: HttpLimits,
    /// TLS, when the listener is HTTPS.
    pub tls: Option<TlsGate>,
    /// Where its counters go.
    pub metrics: HttpMetrics,
}

impl HttpServer {
    /// Accepts connections on `listener` until `shutdown`, each served in its own task on
    /// `tracker` (so the drain waits for them).
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
        tracker: TaskTracker,
    ) {
        let slots = Arc::new(Semaphore::new(self.limits.max_connections));
        let label = ListenerLabel {
            listener: self.listener,
        };
        let tls = self.tls;
        let ctx = Arc::new(conn::ConnCtx {
            router: self.router,
            limits: self.limits,
            metrics: self.metrics,
            listener: self.listener,
            shutdown: shutdown.clone(),
        });
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                a = listener.accept() => a,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(listener = ctx.listener, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                ctx.metrics.refused.get_or_create(&label).inc();
                drop(stream);
                continue;
            };
            let _ = stream.set_nodelay(true);
            let (ctx, tls, label) = (ctx.clone(), tls.clone(), label.clone());
            tracker.spawn(async move {
                let open = ctx.metrics.open.get_or_create(&label).clone();
                open.inc();
                match tls {
                    None => conn::serve(stream, peer, ctx).await,
                    Some(gate) => {
                        let tls = tokio::select! {
                            _ = ctx.shutdown.cancelled() => None,
                            r = gate.accept(stream) => r.map_err(|e| {
                                tracing::debug!(listener = ctx.listener, %peer, error = %e, "TLS handshake");
                            }).ok(),
                        };
                        if let Some(s) = tls {
                            conn::serve(s, peer, ctx).await;
                        }
                    }
                }
                open.dec();
                drop(permit);
            });
        }
    }
}
