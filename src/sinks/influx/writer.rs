//! HTTP delivery of line-protocol batches: gzip, retry with backoff, and bisection of
//! rejected batches down to the bad lines.
//!
//! Status handling (measured on InfluxDB 1.6.7, see `shared/services.md`):
//!
//! | answer | action |
//! |---|---|
//! | 2xx | delivered |
//! | network error, timeout, 5xx, 429 | retry the same body forever with exponential backoff + jitter, until the stop token fires |
//! | 400, 422 (bad data) | split the batch in halves recursively; a single line that is still rejected is logged, counted and dropped |
//! | 413 (body too large) | split as for 400 |
//! | 404 `database not found` (v1) | `CREATE DATABASE` once, then retry at once |
//! | 401, 403, other 4xx | configuration problem (credentials, wrong API): retried with backoff and logged as errors, never blamed on the data |
//!
//! InfluxDB 1.x answers `400 partial write` when only some lines were bad, after storing the
//! good ones. Re-sending them while bisecting is harmless: a point is keyed by measurement,
//! tags and time, so the second write overwrites the first with the same values.

use super::config::{InfluxApi, InfluxConfig, InfluxConfigError};
use super::metrics::{ErrorKind, InfluxMetrics};
use crate::backoff::Backoff;
use crate::secret::Secret;
use crate::sinks::http::{error_chain, read_capped};
use crate::tls::client::tls_reason;
use flate2::write::GzEncoder;
use flate2::Compression;
use reqwest::{StatusCode, Url};
use std::io::Write;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Most bytes of an error response kept for logs: InfluxDB's error bodies are one short JSON
/// object; a misbehaving proxy must not make us buffer megabytes.
const MAX_ERROR_BODY: usize = 2048;

/// Most bytes of a rejected line quoted in the log.
const MAX_LOGGED_LINE: usize = 300;

/// Why a write did not complete.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The stop token fired before every line was stored or isolated; the caller must not
    /// advance its log offset past this batch (re-writing it later is harmless).
    #[error("influx sink stopped before the batch was delivered")]
    Stopped,
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] InfluxConfigError),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// A secret could not be read.
    #[error(transparent)]
    Secret(#[from] crate::secret::SecretError),
    /// The TLS configuration could not be built.
    #[error("influx: {0}")]
    Tls(#[from] crate::tls::TlsFileError),
}

/// What happened to a batch: every line is either written or counted as bad.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Lines the server accepted.
    pub written: usize,
    /// Lines dropped as bad data (by the encoder or by the server), each logged.
    pub bad_lines: usize,
    /// Fields left out of written lines by the encoder.
    pub dropped_fields: usize,
    /// HTTP write requests made, including retries and bisection halves.
    pub requests: usize,
}

impl WriteReport {
    /// Adds another report's counts to this one.
    pub fn add(&mut self, o: WriteReport) {
        self.written += o.written;
        self.bad_lines += o.bad_lines;
        self.dropped_fields += o.dropped_fields;
        self.requests += o.requests;
    }
}

/// The outcome of one request.
enum Attempt {
    Stored,
    /// Retry the same body after a backoff.
    Retry(ErrorKind, String),
    /// The server blames the data; split.
    Rejected(ErrorKind, String),
    /// v1 database missing.
    NoDatabase(String),
}

enum Auth {
    None,
    Basic(String, Option<Secret>),
    Token(Secret),
}

/// Sends line-protocol batches to one InfluxDB (or compatible) server.
pub struct InfluxWriter {
    client: reqwest::Client,
    /// `/ping`, the health endpoint of InfluxDB 1.x and 2.x.
    ping_url: Url,
    write_url: Url,
    /// v1 `/query` endpoint, used only for `CREATE DATABASE`; `None` for v2.
    query_url: Option<Url>,
    database: String,
    auth: Auth,
    retry: Backoff,
    metrics: InfluxMetrics,
    stop: CancellationToken,
}

impl InfluxWriter {
    /// Builds the client and the endpoint URLs. `stop` is the hook that ends retrying: once
    /// cancelled, a pending or future `write` returns [`SinkError::Stopped`].
    pub fn new(
        cfg: &InfluxConfig,
        metrics: InfluxMetrics,
        stop: CancellationToken,
    ) -> Result<Self, SinkError> {
        cfg.validate()?;
        let bad_url = |reason: String| InfluxConfigError::Url {
            url: cfg.url.clone(),
            reason,
        };
        let base = Url::parse(cfg.url.trim_end_matches('/')).map_err(|e| bad_url(e.to_string()))?;
        // Keeps a path prefix (an InfluxDB behind a reverse proxy at `/influx`).
        let join = |path: &str| -> Url {
            let mut u = base.clone();
            let prefix = base.path().trim_end_matches('/');
            u.set_path(&format!("{prefix}{path}"));
            u
        };
        let (write_url, query_url, auth) = match cfg.api {
            InfluxApi::V1 => {
                let mut w = join("/write");
                w.query_pairs_mut()
                    .append_pair("db", &cfg.database)
                    .append_pair("precision", "ns");
                let auth = match &cfg.username {
                    Some(u) => Auth::Basic(u.clone(), cfg.password()?),
                    None => Auth::None,
                };
                (w, Some(join("/query")), auth)
            }
            InfluxApi::V2 => {
                let mut w = join("/api/v2/write");
                w.query_pairs_mut()
                    .append_pair("org", &cfg.org)
                    .append_pair("bucket", &cfg.bucket)
                    .append_pair("precision", "ns");
                let auth = match cfg.token()? {
                    Some(t) => Auth::Token(t),
                    None => Auth::None,
                };
                (w, None, auth)
            }
        };
        let mut builder = reqwest::Client::builder().timeout(Duration::from_millis(cfg.timeout_ms));
        if base.scheme() == "https" {
            builder = builder.tls_backend_preconfigured(cfg.tls().client_config()?);
        }
        let client = builder.build().map_err(SinkError::Client)?;
        Ok(InfluxWriter {
            client,
            ping_url: join("/ping"),
            write_url,
            query_url,
            database: cfg.database.clone(),
            auth,
            retry: Backoff::new(
                Duration::from_millis(cfg.retry_min_ms),
                Duration::from_millis(cfg.retry_max_ms),
            ),
            metrics,
            stop,
        })
    }

    /// The metrics this writer updates.
    pub fn metrics(&self) -> &InfluxMetrics {
        &self.metrics
    }

    /// Writes a batch of `\n`-terminated lines (a final line without `\n` is accepted).
    ///
    /// Returns when every line is stored or isolated as bad, or with [`SinkError::Stopped`]
    /// when the stop token fires first. Lines must not contain raw line breaks (the encoder in
    /// `line.rs` guarantees it), since bisection splits at `\n`.
    pub async fn write(&self, lines: &[u8]) -> Result<WriteReport, SinkError> {
        let mut ends: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i + 1)
            .collect();
        if ends.last().copied().unwrap_or(0) < lines.len() {
            ends.push(lines.len());
        }
        // Ranges below only ever cover 0..ends.len(), so the lookups succeed; `get` keeps a
        // mistake from panicking.
        let end_of = |i: usize| match i {
            0 => 0,
            i => ends.get(i - 1).copied().unwrap_or(lines.len()),
        };
        let slice = |r: &std::ops::Range<usize>| -> &[u8] {
            lines.get(end_of(r.start)..end_of(r.end)).unwrap_or(&[])
        };
        let mut report = WriteReport::default();
        // Depth-first over halves, left before right, so lines go out in their order.
        let mut todo = Vec::with_capacity(64);
        todo.push(0..ends.len());
        while let Some(r) = todo.pop() {
            if r.is_empty() {
                continue;
            }
            let body = slice(&r);
            match self.send_until_decided(body, &mut report).await? {
                None => {
                    report.written += r.len();
                    self.metrics.lines_written.inc_by(r.len() as u64);
                }
                Some(reason) if r.len() == 1 => {
                    report.bad_lines += 1;
                    self.metrics.bad_lines.inc();
                    let shown = &body[..body.len().min(MAX_LOGGED_LINE)];
                    tracing::warn!(
                        line = %String::from_utf8_lossy(shown).trim_end(),
                        error = %reason,
                        "influx: server rejected line, dropped"
                    );
                }
                Some(_) => {
                    let mid = r.start + r.len() / 2;
                    todo.push(mid..r.end);
                    todo.push(r.start..mid);
                }
            }
        }
        Ok(report)
    }

    /// Sends one body until the server stores it (`None`) or blames the data (`Some(reason)`).
    async fn send_until_decided(
        &self,
        body: &[u8],
        report: &mut WriteReport,
    ) -> Result<Option<String>, SinkError> {
        let gz = gzip(body);
        let mut failures: u32 = 0;
        let mut created_db = false;
        loop {
            if self.stop.is_cancelled() {
                return Err(SinkError::Stopped);
            }
            report.requests += 1;
            let (kind, msg) = match self.attempt(&gz).await? {
                Attempt::Stored => return Ok(None),
                Attempt::Rejected(kind, msg) => {
                    self.metrics.error(kind);
                    return Ok(Some(msg));
                }
                Attempt::NoDatabase(msg) if !created_db => {
                    created_db = true;
                    tracing::info!(database = %self.database, error = %msg, "influx: creating database");
                    match self.create_database().await? {
                        Ok(()) => {
                            self.metrics.error(ErrorKind::DatabaseNotFound);
                            continue;
                        }
                        Err(e) => (ErrorKind::DatabaseNotFound, e),
                    }
                }
                // Still missing right after CREATE DATABASE: do not spin; back off.
                Attempt::NoDatabase(msg) => (ErrorKind::DatabaseNotFound, msg),
                Attempt::Retry(kind, msg) => (kind, msg),
            };
            self.metrics.error(kind.clone());
            failures = failures.saturating_add(1);
            let delay = self.retry.delay(failures);
            if matches!(kind, ErrorKind::Config) {
                tracing::error!(error = %msg, retry_in = ?delay, "influx: configuration problem, retrying");
            } else {
                tracing::warn!(kind = ?kind, error = %msg, retry_in = ?delay, "influx: write failed, retrying");
            }
            tokio::select! {
                _ = self.stop.cancelled() => return Err(SinkError::Stopped),
                _ = tokio::time::sleep(delay) => {}
            }
            // A retried database-missing answer may create it again on the next round.
            created_db = false;
        }
    }

    fn authorize(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.auth {
            Auth::None => req,
            Auth::Basic(u, p) => req.basic_auth(u, p.as_ref().map(Secret::expose)),
            Auth::Token(t) => req.header(
                reqwest::header::AUTHORIZATION,
                format!("Token {}", t.expose()),
            ),
        }
    }

    async fn attempt(&self, gz: &[u8]) -> Result<Attempt, SinkError> {
        let req = self
            .authorize(self.client.post(self.write_url.clone()))
            .header(reqwest::header::CONTENT_ENCODING, "gzip")
            .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(gz.to_vec());
        let started = Instant::now();
        let resp = tokio::select! {
            _ = self.stop.cancelled() => return Err(SinkError::Stopped),
            r = req.send() => r,
        };
        let out = match resp {
            Err(e) => Attempt::Retry(ErrorKind::Network, describe(&e)),
            Ok(mut resp) => {
                let status = resp.status();
                if status.is_success() {
                    Attempt::Stored
                } else {
                    let body = read_capped(&mut resp, MAX_ERROR_BODY).await;
                    classify(status, body, self.query_url.is_some())
                }
            }
        };
        self.metrics
            .request_seconds
            .observe(started.elapsed().as_secs_f64());
        Ok(out)
    }

    /// One `GET /ping` with this writer's client, TLS and credentials: the HTTP status when
    /// the server answered at all, otherwise why not (a TLS failure names rustls' reason:
    /// unknown issuer, expired, not valid for the name). `replay` checks it first, so a bad
    /// certificate or URL fails the command at once instead of being retried forever like a
    /// server outage.
    pub async fn probe(&self) -> Result<u16, String> {
        let req = self.authorize(self.client.get(self.ping_url.clone()));
        match req.send().await {
            Ok(r) => Ok(r.status().as_u16()),
            Err(e) => Err(describe(&e)),
        }
    }

    /// `CREATE DATABASE` (v1 only). Idempotent on the server: creating an existing database
    /// succeeds. The inner `Err` is a failure to retry with backoff.
    async fn create_database(&self) -> Result<Result<(), String>, SinkError> {
        let Some(url) = &self.query_url else {
            return Ok(Err("database not found on a v2 API".into()));
        };
        let q = format!("CREATE DATABASE \"{}\"", self.database.replace('"', "\\\""));
        let req = self
            .authorize(self.client.post(url.clone()))
            .query(&[("q", q.as_str())]);
        let resp = tokio::select! {
            _ = self.stop.cancelled() => return Err(SinkError::Stopped),
            r = req.send() => r,
        };
        Ok(match resp {
            Err(e) => Err(error_chain(&e)),
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(mut r) => Err(format!(
                "CREATE DATABASE: {} {}",
                r.status(),
                read_capped(&mut r, MAX_ERROR_BODY).await
            )),
        })
    }
}

/// A transport failure, with the TLS reason first when there is one.
fn describe(e: &reqwest::Error) -> String {
    match tls_reason(e) {
        Some(t) => format!("TLS: {t} ({})", error_chain(e)),
        None => error_chain(e),
    }
}

fn classify(status: StatusCode, body: String, v1: bool) -> Attempt {
    let msg = format!("{status}: {}", body.trim());
    match status.as_u16() {
        400 | 422 => Attempt::Rejected(ErrorKind::BadRequest, msg),
        413 => Attempt::Rejected(ErrorKind::TooLarge, msg),
        404 if v1 && body.contains("database not found") => Attempt::NoDatabase(msg),
        429 => Attempt::Retry(ErrorKind::Server, msg),
        400..=499 => Attempt::Retry(ErrorKind::Config, msg),
        _ => Attempt::Retry(ErrorKind::Server, msg),
    }
}

fn gzip(body: &[u8]) -> Vec<u8> {
    // Level 1: line protocol is repetitive enough that the fastest level already shrinks it
    // ~5×, and the gateway's cores are better spent decoding frames.
    let mut enc = GzEncoder::new(Vec::with_capacity(body.len() / 4 + 64), Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(body);
    enc.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes() {
        let c =
            |s: u16, body: &str, v1| classify(StatusCode::from_u16(s).unwrap(), body.into(), v1);
        assert!(matches!(
            c(400, "partial write", true),
            Attempt::Rejected(ErrorKind::BadRequest, _)
        ));
        assert!(matches!(
            c(413, "", true),
            Attempt::Rejected(ErrorKind::TooLarge, _)
        ));
        assert!(matches!(
            c(404, r#"{"error":"database not found: \"x\""}"#, true),
            Attempt::NoDatabase(_)
        ));
        // v2 path on an InfluxDB 1.x: configuration, never the data's fault.
        assert!(matches!(
            c(404, "404 page not found", false),
            Attempt::Retry(ErrorKind::Config, _)
        ));
        assert!(matches!(
            c(401, "", true),
            Attempt::Retry(ErrorKind::Config, _)
        ));
        assert!(matches!(
            c(503, "", true),
            Attempt::Retry(ErrorKind::Server, _)
        ));
        assert!(matches!(
            c(429, "", true),
            Attempt::Retry(ErrorKind::Server, _)
        ));
    }

    #[test]
    fn gzip_round_trips() {
        use std::io::Read;
        let body = b"m v=1i 1\n".repeat(100);
        let gz = gzip(&body);
        assert!(gz.len() < body.len() / 4);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
    }
}
