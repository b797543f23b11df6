//! `[influx]` configuration: where to write and how hard to try.
//!
//! Durations are integer milliseconds (`*_ms` keys): unambiguous in TOML and in
//! `TRACKGATE_INFLUX__FLUSH_INTERVAL_MS=500` env overrides, with no unit parser to learn.

use crate::secret::{redact_url, resolve, Secret, SecretError};
use crate::tls::client::ClientTls;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Which InfluxDB write API to speak.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InfluxApi {
    /// InfluxDB 1.x: `POST /write?db=&precision=ns`, optional Basic auth. Also accepted by
    /// InfluxDB 2.x/3.x compatibility endpoints and VictoriaMetrics.
    #[default]
    V1,
    /// InfluxDB 2.x/3.x: `POST /api/v2/write?org=&bucket=&precision=ns` with
    /// `Authorization: Token <token>`. InfluxDB 1.x answers 404 here.
    V2,
}

/// Default database (v1): `trackgate`.
pub const DEFAULT_DATABASE: &str = "trackgate";
/// Default lines per request: 5000, InfluxData's recommended batch size.
pub const DEFAULT_BATCH_SIZE: usize = 5000;
/// Default flush interval: 1000 ms. How long the caller lets records gather before a write.
pub const DEFAULT_FLUSH_INTERVAL_MS: u64 = 1000;
/// Default request timeout: 10 000 ms. A request taking longer counts as a network error and
/// is retried (points are idempotent, so a write that did land is harmless to repeat).
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// Default first retry delay: 100 ms.
pub const DEFAULT_RETRY_MIN_MS: u64 = 100;
/// Default longest retry delay: 30 000 ms. Retries continue at this pace until the server is
/// back or shutdown is requested; the write-ahead log holds the data meanwhile.
pub const DEFAULT_RETRY_MAX_MS: u64 = 30_000;

/// Largest `batch_size` accepted: keeps a request body well under InfluxDB 1.x's default
/// `max-body-size` of 25 MB (a position line is ~250–400 bytes before gzip).
pub const MAX_BATCH_SIZE: usize = 50_000;

/// The `[influx]` section. Absent section: no InfluxDB (data stays in the log).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InfluxConfig {
    /// Base URL of the server, e.g. `http://127.0.0.1:8086` or `https://influx.example:8086`
    /// (required). No credentials in the URL: use `token` or `username`/`password`.
    pub url: String,
    /// Write API: `"v1"` (default) or `"v2"`.
    #[serde(default)]
    pub api: InfluxApi,
    /// v1 database name; default [`DEFAULT_DATABASE`]. Created once with `CREATE DATABASE` if
    /// the server says it is missing.
    #[serde(default = "default_database")]
    pub database: String,
    /// v2 organisation name or id; default empty (required when `api = "v2"`).
    #[serde(default)]
    pub org: String,
    /// v2 bucket; default empty (required when `api = "v2"`).
    #[serde(default)]
    pub bucket: String,
    /// v2 API token, sent as `Authorization: Token <token>`; default empty (no header). Also
    /// `TRACKGATE_INFLUX__TOKEN`, or `token_file`.
    #[serde(default)]
    pub token: Secret,
    /// A file holding the token (Docker/Kubernetes secrets); default none.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// v1 user for HTTP Basic auth; default none (no auth).
    #[serde(default)]
    pub username: Option<String>,
    /// v1 password for HTTP Basic auth; default none. Also `password_file`.
    #[serde(default)]
    pub password: Option<Secret>,
    /// A file holding the password; default none.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// PEM bundle of extra trusted roots for an `https://` server behind a private CA (added
    /// to the system's roots); default none.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate for a server that wants mTLS; default none.
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// PEM private key of `client_cert`; default none.
    #[serde(default)]
    pub client_key: Option<PathBuf>,
    /// Accept any server certificate (logged as a warning at start); default false.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Most lines per request; default [`DEFAULT_BATCH_SIZE`], at most [`MAX_BATCH_SIZE`].
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Milliseconds the caller waits for more records before writing a partial batch;
    /// default [`DEFAULT_FLUSH_INTERVAL_MS`].
    #[serde(default = "default_flush_interval_ms")]
    pub flush_interval_ms: u64,
    /// Per-request timeout, milliseconds; default [`DEFAULT_TIMEOUT_MS`].
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// First retry delay after a 5xx / network error, milliseconds; doubles per attempt, with
    /// ±50 % jitter so many gateways do not retry in step; default [`DEFAULT_RETRY_MIN_MS`].
    #[serde(default = "default_retry_min_ms")]
    pub retry_min_ms: u64,
    /// Longest retry delay, milliseconds; default [`DEFAULT_RETRY_MAX_MS`].
    #[serde(default = "default_retry_max_ms")]
    pub retry_max_ms: u64,
}

fn default_database() -> String {
    DEFAULT_DATABASE.to_string()
}
fn default_batch_size() -> usize {
    DEFAULT_BATCH_SIZE
}
fn default_flush_interval_ms() -> u64 {
    DEFAULT_FLUSH_INTERVAL_MS
}
fn default_timeout_ms() -> u64 {
    DEFAULT_TIMEOUT_MS
}
fn default_retry_min_ms() -> u64 {
    DEFAULT_RETRY_MIN_MS
}
fn default_retry_max_ms() -> u64 {
    DEFAULT_RETRY_MAX_MS
}

/// A configuration value that cannot work, naming the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InfluxConfigError {
    /// `url` does not parse, is not `http(s)://`, or carries credentials (shown redacted).
    #[error("influx.url {url:?}: {reason}")]
    Url { url: String, reason: String },
    /// A secret cannot be read (the message names the key and file, never the value).
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// A TLS file cannot be used, or a TLS key is set for an `http://` URL.
    #[error("{0}")]
    Tls(String),
    /// A key required by the chosen API is empty.
    #[error("influx.{key} must be set when influx.api = \"{api}\"")]
    Missing {
        key: &'static str,
        api: &'static str,
    },
    /// A number outside its allowed range.
    #[error("influx.{key} = {value}: {reason}")]
    Range {
        key: &'static str,
        value: u64,
        reason: &'static str,
    },
}

impl InfluxConfig {
    /// A v1 config for `url` with every other key at its default.
    pub fn new(url: impl Into<String>) -> Self {
        InfluxConfig {
            url: url.into(),
            api: InfluxApi::V1,
            database: default_database(),
            org: String::new(),
            bucket: String::new(),
            token: Secret::default(),
            token_file: None,
            username: None,
            password: None,
            password_file: None,
            ca_file: None,
            client_cert: None,
            client_key: None,
            insecure_skip_verify: false,
            batch_size: DEFAULT_BATCH_SIZE,
            flush_interval_ms: DEFAULT_FLUSH_INTERVAL_MS,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            retry_min_ms: DEFAULT_RETRY_MIN_MS,
            retry_max_ms: DEFAULT_RETRY_MAX_MS,
        }
    }

    /// Checks the values once at start-up, so a bad config fails there and not at the first
    /// write.
    pub fn validate(&self) -> Result<(), InfluxConfigError> {
        let bad_url = |reason: String| InfluxConfigError::Url {
            url: redact_url(&self.url),
            reason,
        };
        let url = reqwest::Url::parse(&self.url).map_err(|e| bad_url(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad_url("expected http:// or https://".into()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad_url(
                "credentials in the URL are refused; set influx.token or influx.username and \
                 influx.password (or their _file)"
                    .into(),
            ));
        }
        let tls = self.tls();
        if url.scheme() == "https" {
            tls.validate().map_err(InfluxConfigError::Tls)?;
        } else if tls.is_configured() {
            return Err(InfluxConfigError::Tls(
                "influx.ca_file, client_cert, client_key and insecure_skip_verify apply to \
                 https:// URLs only"
                    .into(),
            ));
        }
        self.token()?;
        self.password()?;
        match self.api {
            InfluxApi::V1 if self.database.is_empty() => {
                return Err(InfluxConfigError::Missing {
                    key: "database",
                    api: "v1",
                })
            }
            InfluxApi::V2 if self.org.is_empty() => {
                return Err(InfluxConfigError::Missing {
                    key: "org",
                    api: "v2",
                })
            }
            InfluxApi::V2 if self.bucket.is_empty() => {
                return Err(InfluxConfigError::Missing {
                    key: "bucket",
                    api: "v2",
                })
            }
            _ => {}
        }
        let range = |key, value: u64, ok: bool, reason| {
            if ok {
                Ok(())
            } else {
                Err(InfluxConfigError::Range { key, value, reason })
            }
        };
        let bs = self.batch_size as u64;
        range(
            "batch_size",
            bs,
            (1..=MAX_BATCH_SIZE as u64).contains(&bs),
            "must be 1..=50000",
        )?;
        range(
            "timeout_ms",
            self.timeout_ms,
            self.timeout_ms > 0,
            "must be > 0",
        )?;
        range(
            "retry_min_ms",
            self.retry_min_ms,
            self.retry_min_ms > 0,
            "must be > 0",
        )?;
        range(
            "retry_max_ms",
            self.retry_max_ms,
            self.retry_max_ms >= self.retry_min_ms,
            "must be >= retry_min_ms",
        )
    }

    /// The v2 token from `token` or `token_file` (`None`: no `Authorization` header).
    pub fn token(&self) -> Result<Option<Secret>, SecretError> {
        resolve(
            "influx.token",
            Some(&self.token),
            self.token_file.as_deref(),
        )
    }

    /// The v1 password from `password` or `password_file`.
    pub fn password(&self) -> Result<Option<Secret>, SecretError> {
        resolve(
            "influx.password",
            self.password.as_ref(),
            self.password_file.as_deref(),
        )
    }

    /// TLS for an `https://` URL.
    pub fn tls(&self) -> ClientTls {
        ClientTls {
            section: "influx",
            ca_file: self.ca_file.clone(),
            client_cert: self.client_cert.clone(),
            client_key: self.client_key.clone(),
            insecure_skip_verify: self.insecure_skip_verify,
        }
    }

    /// `flush_interval_ms` as a duration.
    pub fn flush_interval(&self) -> Duration {
        Duration::from_millis(self.flush_interval_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_unknown_keys() {
        let c: InfluxConfig = serde_json::from_str(r#"{"url":"http://127.0.0.1:8086"}"#).unwrap();
        assert_eq!(c, InfluxConfig::new("http://127.0.0.1:8086"));
        assert_eq!(c.validate(), Ok(()));
        let e = serde_json::from_str::<InfluxConfig>(r#"{"url":"http://x","dtabase":"a"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `dtabase`"), "{e}");
        let c: InfluxConfig =
            serde_json::from_str(r#"{"url":"http://x","api":"v2","org":"o","bucket":"b"}"#)
                .unwrap();
        assert_eq!((c.api, c.validate()), (InfluxApi::V2, Ok(())));
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn secrets_come_from_the_environment_and_never_show_in_debug() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("TRACKGATE_INFLUX__URL", "http://127.0.0.1:8086");
            jail.set_env("TRACKGATE_INFLUX__TOKEN", "8675309");
            jail.set_env("TRACKGATE_MQTT__USERNAME", "gw");
            jail.set_env("TRACKGATE_MQTT__PASSWORD", "pw-from-env");
            let c = crate::config::Config::load(None).map_err(|e| e.to_string())?;
            let influx = c.influx.as_ref().expect("influx");
            let token = influx.token().map_err(|e| e.to_string())?;
            assert_eq!(token.as_ref().map(Secret::expose), Some("8675309"));
            let mqtt = c.mqtt.as_ref().expect("mqtt");
            let pw = mqtt.password().map_err(|e| e.to_string())?;
            assert_eq!(pw.as_ref().map(Secret::expose), Some("pw-from-env"));
            let shown = format!("{c:?}");
            assert!(
                !shown.contains("8675309") && !shown.contains("pw-from-env"),
                "{shown}"
            );
            Ok(())
        });
    }

    #[test]
    fn validate_names_the_key() {
        let mut c = InfluxConfig::new("ftp://influx.example");
        assert!(matches!(c.validate(), Err(InfluxConfigError::Url { .. })));
        c.url = "https://influx.example".into();
        assert_eq!(c.validate(), Ok(()));
        c.url = "https://admin:hunter2@influx.example".into();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("credentials") && !e.contains("hunter2"), "{e}");
        c.url = "http://influx.example".into();
        c.ca_file = Some("/etc/ca.pem".into());
        assert!(matches!(c.validate(), Err(InfluxConfigError::Tls(_))));
        c.ca_file = None;
        c.token = Secret::new("t");
        c.token_file = Some("/run/secrets/influx".into());
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("influx.token_file"), "{e}");
        c.token = Secret::default();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("/run/secrets/influx"), "{e}");
        c.token_file = None;
        c.url = "http://influx.example:8086".into();
        c.api = InfluxApi::V2;
        assert_eq!(
            c.validate(),
            Err(InfluxConfigError::Missing {
                key: "org",
                api: "v2"
            })
        );
        c.api = InfluxApi::V1;
        c.batch_size = 0;
        assert!(matches!(
            c.validate(),
            Err(InfluxConfigError::Range {
                key: "batch_size",
                ..
            })
        ));
        c.batch_size = 10;
        c.retry_max_ms = 1;
        assert!(matches!(
            c.validate(),
            Err(InfluxConfigError::Range {
                key: "retry_max_ms",
                ..
            })
        ));
    }
}
