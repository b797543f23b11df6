//! One HTTP connection (HTTP/1.1 or HTTP/2, plain or TLS) driven by hyper under a watchdog
//! that enforces the deadlines hyper does not keep for both protocols alike:
//!
//! - **header**: from a connection's start, and from the first byte after an idle spell,
//!   the request's headers must be complete within `header_timeout` (slowloris; hyper's own
//!   HTTP/1 header timer is off because it also starts on an idle keep-alive connection and
//!   would make the idle timeout pointless, and HTTP/2 has none);
//! - **idle**: a connection with no request in progress and no byte received closes after
//!   `idle_timeout`;
//! - **stalled**: a request in progress with no byte moving either way for `idle_timeout`
//!   (a client that stopped reading its response) closes the connection;
//! - **body**: the request body deadline is [`DeadlineBody`]'s; once it fired, the
//!   connection closes after the response.
//!
//! Closing is graceful first (HTTP/2 GOAWAY, HTTP/1 close after the response) and hard after
//! [`CLOSE_GRACE`], so a peer that ignores it cannot hold the slot.
//!
//! [`DeadlineBody`]: super::body::DeadlineBody

use super::body::{DeadlineBody, Guarded};
use super::{HttpLimits, HttpMetrics, TimeoutKind};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// How long a connection told to close may take before it is dropped.
pub const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// Largest HTTP/1 read buffer, i.e. request line plus headers, bytes.
const MAX_H1_BUF: usize = 64 * 1024;
/// Largest HTTP/2 header list, bytes.
const MAX_H2_HEADER_LIST: u32 = 64 * 1024;
/// Most HTTP/2 streams (requests) in progress on one connection.
const MAX_H2_STREAMS: u32 = 100;
/// "No time recorded" in the activity clocks.
const NEVER: u64 = u64::MAX;

/// What the watchdog knows about its connection, updated by the I/O wrapper and the
/// service. Times are milliseconds since the connection started.
struct Activity {
    start: Instant,
    /// Last byte read or written.
    last_io: AtomicU64,
    /// When the connection last became free of requests (start: 0).
    idle_since: AtomicU64,
    /// First byte read since then ([`NEVER`]: none); the header deadline runs from here.
    read_since_idle: AtomicU64,
    /// Requests whose response has not been fully written.
    active: AtomicUsize,
    /// A request body hit its deadline: close once the response is out.
    body_timed_out: AtomicBool,
    changed: Notify,
}

impl Activity {
    fn new() -> Arc<Activity> {
        Arc::new(Activity {
            start: Instant::now(),
            last_io: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            // A new connection owes its first request's headers from the start.
            read_since_idle: AtomicU64::new(0),
            active: AtomicUsize::new(0),
            body_timed_out: AtomicBool::new(false),
            changed: Notify::new(),
        })
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn at(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }

    fn io(&self, read: bool) {
        let now = self.now();
        self.last_io.store(now, Ordering::Relaxed);
        if read && self.active.load(Ordering::Relaxed) == 0 {
            let _ = self.read_since_idle.compare_exchange(
                NEVER,
                now,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    /// A request's headers are complete: it is in progress until the guard drops.
    fn begin(self: &Arc<Self>) -> RequestGuard {
        self.active.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_one();
        RequestGuard(self.clone())
    }

    /// The next deadline and what it enforces.
    fn deadline(&self, l: &HttpLimits) -> (Instant, TimeoutKind) {
        if self.active.load(Ordering::SeqCst) > 0 {
            let last = self.last_io.load(Ordering::Relaxed);
            return (self.at(last) + l.idle_timeout, TimeoutKind::Stalled);
        }
        match self.read_since_idle.load(Ordering::Relaxed) {
            NEVER => (
                self.at(self.idle_since.load(Ordering::Relaxed)) + l.idle_timeout,
                TimeoutKind::Idle,
            ),
            first => (self.at(first) + l.header_timeout, TimeoutKind::Header),
        }
    }
}

/// Marks one request as in progress while alive.
struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let a = &self.0;
        if a.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            a.idle_since.store(a.now(), Ordering::Relaxed);
            a.read_since_idle.store(NEVER, Ordering::Relaxed);
        }
        a.changed.notify_one();
    }
}

/// The connection's I/O, reporting every byte moved to the watchdog.
struct Tracked<IO> {
    io: IO,
    act: Arc<Activity>,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Tracked<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.act.io(true);
        }
        r
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Tracked<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.act.io(false);
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.act.io(false);
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The hyper connection builder with the limits hyper keeps itself.
fn builder() -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        // Off: the watchdog's header deadline replaces it (see the module doc).
        .header_read_timeout(None)
        .max_buf_size(MAX_H1_BUF);
    b.http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_H2_HEADER_LIST)
        .max_concurrent_streams(MAX_H2_STREAMS);
    b
}

/// What one connection serves and under which limits.
pub(super) struct ConnCtx {
    pub router: Router,
    pub limits: HttpLimits,
    pub metrics: HttpMetrics,
    pub listener: &'static str,
    pub shutdown: CancellationToken,
}

/// Serves one connection until it ends, a deadline passes or shutdown (graceful).
pub(super) async fn serve<IO>(io: IO, peer: SocketAddr, ctx: Arc<ConnCtx>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let act = Activity::new();
    let tracked = Tracked {
        io,
        act: act.clone(),
    };
    let svc_act = act.clone();
    let svc_ctx = ctx.clone();
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let guard = svc_act.begin();
        let (mut parts, body) = req.into_parts();
        parts.extensions.insert(ConnectInfo(peer));
        let (act, metrics, listener) = (svc_act.clone(), svc_ctx.metrics.clone(), svc_ctx.listener);
        let body = DeadlineBody::new(body, svc_ctx.limits.body_timeout, move || {
            metrics.timeout(listener, TimeoutKind::Body);
            act.body_timed_out.store(true, Ordering::SeqCst);
            act.changed.notify_one();
        });
        let req = Request::from_parts(parts, Body::new(body));
        let router = svc_ctx.router.clone();
        async move {
            let resp = match router.oneshot(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            Ok::<_, Infallible>(resp.map(|b| Body::new(Guarded::new(b, guard))))
        }
    });
    let b = builder();
    let conn = b.serve_connection_with_upgrades(TokioIo::new(tracked), svc);
    tokio::pin!(conn);
    let mut closing: Option<Instant> = None;
    loop {
        let (at, kind) = match closing {
            Some(at) => (at, TimeoutKind::Close),
            None => act.deadline(&ctx.limits),
        };
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(listener = ctx.listener, %peer, error = %e, "http connection ended");
                }
                return;
            }
            _ = ctx.shutdown.cancelled(), if closing.is_none() => {
                conn.as_mut().graceful_shutdown();
                closing = Some(Instant::now() + CLOSE_GRACE);
            }
            _ = act.changed.notified() => {
                if closing.is_none() && act.body_timed_out.load(Ordering::SeqCst) {
                    conn.as_mut().graceful_shutdown();
                    closing = Some(Instant::now() + CLOSE_GRACE);
                }
            }
            _ = tokio::time::sleep_until(at) => {
                // Activity may have moved the deadline while this sleep was armed.
                if closing.is_none() && act.deadline(&ctx.limits).0 > Instant::now() {
                    continue;
                }
                if kind == TimeoutKind::Close {
                    return; // dropping the connection closes the socket
                }
                ctx.metrics.timeout(ctx.listener, kind);
                tracing::debug!(listener = ctx.listener, %peer, ?kind, "http connection timed out");
                conn.as_mut().graceful_shutdown();
                closing = Some(Instant::now() + CLOSE_GRACE);
            }
        }
    }
}
