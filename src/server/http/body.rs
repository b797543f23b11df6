//! Body wrappers of the HTTP server: a request body with a deadline for the whole upload,
//! and a response body that tells the connection when it is done.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

/// A request body that fails once `limit` has passed since the request's headers arrived,
/// whatever pace its bytes come at: a per-read timeout would let a client drip one byte just
/// inside it forever. The error is an `io::Error` of kind `TimedOut`, so a handler (which
/// only sees the body) can tell it from a broken connection or a size limit
/// ([`crate::ingest::http::body_timed_out`]).
pub struct DeadlineBody<B> {
    inner: B,
    deadline: Pin<Box<Sleep>>,
    limit: Duration,
    on_timeout: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl<B> DeadlineBody<B> {
    /// Wraps `inner`; `on_timeout` runs once, when the deadline cuts the body off.
    pub fn new(
        inner: B,
        limit: Duration,
        on_timeout: impl FnOnce() + Send + Sync + 'static,
    ) -> Self {
        DeadlineBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(limit)),
            limit,
            on_timeout: Some(Box::new(on_timeout)),
        }
    }
}

impl<B> Body for DeadlineBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(r) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(r.map(|f| f.map_err(Into::into)));
        }
        ready!(this.deadline.as_mut().poll(cx));
        if let Some(f) = this.on_timeout.take() {
            f();
        }
        Poll::Ready(Some(Err(Box::new(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("request body not received within {:?}", this.limit),
        )))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body holding `guard` until it is finished or dropped: the connection counts a
/// request as in progress until its response has been written (a streamed response such as
/// SSE included).
pub struct Guarded<B, G> {
    inner: B,
    _guard: G,
}

impl<B, G> Guarded<B, G> {
    /// Wraps `inner`.
    pub fn new(inner: B, guard: G) -> Self {
        Guarded {
            inner,
            _guard: guard,
        }
    }
}

impl<B: Body + Unpin, G: Unpin> Body for Guarded<B, G> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::http::body_timed_out as is_timeout;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    /// A body that never yields a frame: a client that sent headers and stopped.
    struct Stalled;
    impl Body for Stalled {
        type Data = Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            Poll::Pending
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_body_times_out_once_and_is_recognised() {
        let fired = Arc::new(AtomicBool::new(false));
        let f = fired.clone();
        let body = DeadlineBody::new(Stalled, Duration::from_secs(30), move || {
            f.store(true, Ordering::SeqCst)
        });
        let e = axum::body::to_bytes(axum::body::Body::new(body), 1024)
            .await
            .unwrap_err();
        assert!(fired.load(Ordering::SeqCst));
        assert!(is_timeout(&e), "{e}");
        assert!(e.to_string().contains("30s"), "{e}");
        let other = std::io::Error::other("reset");
        assert!(!is_timeout(&other));
    }

    #[tokio::test(start_paused = true)]
    async fn a_complete_body_passes() {
        let body = DeadlineBody::new(
            http_body_util::Full::new(Bytes::from_static(b"abc")),
            Duration::from_secs(1),
            || {},
        );
        let b = axum::body::to_bytes(axum::body::Body::new(body), 1024)
            .await
            .unwrap();
        assert_eq!(&b[..], b"abc");
    }
}
