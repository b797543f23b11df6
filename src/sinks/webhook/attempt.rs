//! One delivery attempt: the guarded HTTP client, the signed request, and what the answer
//! (or the failure) means.
//!
//! The client resolves names only through the egress guard ([`super::resolve`]), checks
//! IP-literal hosts before the request is built, follows no redirect (the signature is for
//! the configured URL) and uses no proxy from the environment (a proxy would make the
//! connection the guard checked a connection to the proxy). `https://` receivers are
//! verified against the system roots plus `[webhooks] ca_file` ([`crate::tls::client`]).

use super::resolve::{egress_error, GuardedResolver};
use super::sign::header;
use super::WebhookConfig;
use crate::egress::Policy;
use crate::outputs::store::{Due, RESPONSE_EXCERPT_BYTES};
use crate::sinks::http::read_capped_bytes;
use crate::tls::client::tls_reason;
use std::sync::Arc;

/// Why the webhook client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("webhooks: {0}")]
    Config(String),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsFileError),
    #[error("webhook http client: {0}")]
    Client(#[from] reqwest::Error),
}

/// What one attempt produced.
#[derive(Debug)]
pub(super) struct Sent {
    /// HTTP status, when the receiver answered.
    pub status: Option<u16>,
    /// Why it failed (`None`: 2xx).
    pub error: Option<String>,
    /// Worth retrying (429, 5xx, timeouts, transport and TLS errors).
    pub retry: bool,
    pub response_bytes: Option<u64>,
    /// First bytes of a failed answer.
    pub response: Option<String>,
}

impl Sent {
    fn failed(error: String, retry: bool) -> Sent {
        Sent {
            status: None,
            error: Some(error),
            retry,
            response_bytes: None,
            response: None,
        }
    }
}

/// Sends signed deliveries through the guard.
pub(super) struct Sender {
    client: reqwest::Client,
    policy: Arc<Policy>,
    cfg: WebhookConfig,
}

impl Sender {
    /// The client for `cfg` (already validated) and its guard.
    pub fn new(cfg: &WebhookConfig) -> Result<Sender, SetupError> {
        let policy = Arc::new(cfg.policy().map_err(SetupError::Config)?);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(GuardedResolver(policy.clone()))
            .tls_backend_preconfigured(cfg.tls().client_config()?)
            .user_agent(concat!("trackgate-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Sender {
            client,
            policy,
            cfg: cfg.clone(),
        })
    }

    /// The guard, shared with the API through the store's subscription rules.
    pub fn policy(&self) -> Arc<Policy> {
        self.policy.clone()
    }

    /// POSTs `d` signed at `ts` (unix seconds). A refused target is not contacted at all.
    pub async fn send(&self, d: &Due, ts: i64) -> Sent {
        let url = match reqwest::Url::parse(&d.url) {
            Ok(u) => u,
            Err(e) => return Sent::failed(format!("url: {e}"), false),
        };
        if let Err(e) = self.policy.check_url(&url) {
            return Sent::failed(format!("refused: {e}"), false);
        }
        let sent = self
            .client
            .post(url)
            .timeout(self.cfg.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Trackgate-Event-Id", &d.event_id)
            .header("X-Trackgate-Timestamp", ts.to_string())
            .header(
                "X-Trackgate-Signature",
                header(&d.secrets, ts, d.body.as_bytes()),
            )
            .body(d.body.clone())
            .send()
            .await;
        let mut resp = match sent {
            Ok(r) => r,
            Err(e) => {
                let (why, retry) = self.transport_error(&e);
                return Sent::failed(why, retry);
            }
        };
        let status = resp.status();
        let declared = resp.content_length();
        let body = read_capped_bytes(&mut resp, self.cfg.max_response_bytes).await;
        let response_bytes = Some(declared.unwrap_or(body.len() as u64));
        if status.is_success() {
            return Sent {
                status: Some(status.as_u16()),
                error: None,
                retry: false,
                response_bytes,
                response: None,
            };
        }
        let excerpt = &body[..body.len().min(RESPONSE_EXCERPT_BYTES)];
        Sent {
            status: Some(status.as_u16()),
            error: Some(format!("HTTP {}", status.as_u16())),
            retry: status.as_u16() == 429 || status.is_server_error(),
            response_bytes,
            response: Some(String::from_utf8_lossy(excerpt).into_owned()),
        }
    }

    /// A failure before any answer, named: a refused target (not retried), DNS, timeout,
    /// TLS (with rustls' reason), connection.
    fn transport_error(&self, e: &reqwest::Error) -> (String, bool) {
        if let Some(g) = egress_error(e) {
            return if g.is_refusal() {
                (format!("refused: {g}"), false)
            } else {
                (format!("dns: {g}"), true)
            };
        }
        if e.is_timeout() {
            return (format!("timeout after {:?}", self.cfg.timeout), true);
        }
        if let Some(t) = tls_reason(e) {
            return (format!("TLS: {t}"), true);
        }
        // The causes only: reqwest's own message repeats the URL (query values included).
        let mut causes = Vec::new();
        let mut src = std::error::Error::source(e);
        while let Some(inner) = src {
            causes.push(inner.to_string());
            src = inner.source();
        }
        let what = if e.is_connect() { "connect" } else { "request" };
        (format!("{what}: {}", causes.join(": ")), true)
    }
}
