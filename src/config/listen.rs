//! The listener keys of `[http]` and `[protocols.<p>]`: TLS (certificate files, handshake
//! limits) and the HTTP limits (header, body and idle deadlines, connection cap), with their
//! checks. Every key names its default; `server` turns them into running limits.

use super::{ConfigError, ProtocolConfig};
use crate::protocol;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// `[http]`
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Listen address of the API. Default `127.0.0.1:8080`. Any address other than a
    /// loopback one needs at least one `[[api.tokens]]` (the server refuses to start
    /// otherwise).
    pub listen: SocketAddr,
    /// Origins (`https://ops.example.com`) whose cross-site requests and CORS preflights
    /// are answered. Default none.
    pub cors_origins: Vec<String>,
    /// PEM certificate chain (leaf first) of the API. With `tls_key` the API speaks HTTPS
    /// only (HTTP/1.1 and HTTP/2). Also the certificate of every device listener with
    /// `tls = true` and no `tls_cert` of its own. Default none: plain HTTP.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`. Default none.
    pub tls_key: Option<PathBuf>,
    /// How often the certificate and key files of every TLS listener (API and devices) are
    /// checked for changes, seconds; a change reloads them without dropping a connection,
    /// as SIGHUP does. 0: reload on SIGHUP only. Default 10.
    pub tls_watch_secs: u64,
    /// Longest TLS handshake of an API connection, waiting for a handshake slot included,
    /// seconds. Default 10.
    pub tls_handshake_timeout_secs: u64,
    /// Most API TLS handshakes in progress at once. Default 64.
    pub max_tls_handshakes: usize,
    /// From connect (or the first byte after an idle spell) to complete request headers,
    /// seconds (slowloris). Default 10.
    pub header_timeout_secs: u64,
    /// From complete headers to the end of the request body, seconds. Default 30.
    pub body_timeout_secs: u64,
    /// Keep-alive: a connection with no request in progress and no byte received closes
    /// after this long, seconds; so does one whose request moves no byte for this long
    /// (keep it above the event stream's 15 s keep-alive). Default 60.
    pub idle_timeout_secs: u64,
    /// Most API connections at once; more are closed at accept (counted). Default 1024.
    pub max_connections: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            cors_origins: Vec::new(),
            tls_cert: None,
            tls_key: None,
            tls_watch_secs: 10,
            tls_handshake_timeout_secs: 10,
            max_tls_handshakes: 64,
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            idle_timeout_secs: 60,
            max_connections: 1024,
        }
    }
}

/// A whole-seconds key that must lie within `range`.
pub(super) fn check_secs(
    key: &str,
    v: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<(), ConfigError> {
    if range.contains(&v) {
        return Ok(());
    }
    Err(ConfigError::Invalid(format!(
        "{key} = {v}: must be within {}..={}",
        range.start(),
        range.end()
    )))
}

/// A count key that must be at least 1.
pub(super) fn check_count(key: &str, v: usize) -> Result<(), ConfigError> {
    if v == 0 {
        return Err(ConfigError::Invalid(format!("{key} must be at least 1")));
    }
    Ok(())
}

/// `tls_cert` and `tls_key` come together or not at all.
fn check_pair(
    table: &str,
    cert: &Option<PathBuf>,
    key: &Option<PathBuf>,
) -> Result<(), ConfigError> {
    if cert.is_some() != key.is_some() {
        return Err(ConfigError::Invalid(format!(
            "{table}: set tls_cert and tls_key together (one without the other is a mistake)"
        )));
    }
    Ok(())
}

impl HttpConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        check_pair("http", &self.tls_cert, &self.tls_key)?;
        check_secs("http.tls_watch_secs", self.tls_watch_secs, 0..=86_400)?;
        check_secs(
            "http.tls_handshake_timeout_secs",
            self.tls_handshake_timeout_secs,
            1..=300,
        )?;
        check_count("http.max_tls_handshakes", self.max_tls_handshakes)?;
        check_secs(
            "http.header_timeout_secs",
            self.header_timeout_secs,
            1..=3600,
        )?;
        check_secs("http.body_timeout_secs", self.body_timeout_secs, 1..=3600)?;
        check_secs("http.idle_timeout_secs", self.idle_timeout_secs, 1..=86_400)?;
        check_count("http.max_connections", self.max_connections)?;
        for o in &self.cors_origins {
            let ok = url::Url::parse(o).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https") && u.path() == "/" && !o.ends_with('/')
            });
            if !ok {
                return Err(ConfigError::Invalid(format!(
                    "http.cors_origins: {o:?} is not an origin like https://ops.example.com"
                )));
            }
        }
        Ok(())
    }

    /// The API's certificate and key, when HTTPS is configured.
    pub fn tls_pair(&self) -> Option<(&Path, &Path)> {
        Some((self.tls_cert.as_deref()?, self.tls_key.as_deref()?))
    }
}

impl ProtocolConfig {
    /// The certificate and key this listener presents when `tls = true`: its own, else
    /// `[http]`'s.
    pub fn tls_pair<'a>(&'a self, http: &'a HttpConfig) -> Option<(&'a Path, &'a Path)> {
        match (self.tls_cert.as_deref(), self.tls_key.as_deref()) {
            (Some(c), Some(k)) => Some((c, k)),
            _ => http.tls_pair(),
        }
    }

    pub(super) fn validate_tls(
        &self,
        name: &str,
        p: &dyn protocol::Protocol,
        http: &HttpConfig,
    ) -> Result<(), ConfigError> {
        let table = format!("protocols.{name}");
        check_pair(&table, &self.tls_cert, &self.tls_key)?;
        check_secs(
            &format!("{table}.tls_handshake_timeout_secs"),
            self.tls_handshake_timeout_secs,
            1..=300,
        )?;
        check_count(
            &format!("{table}.max_tls_handshakes"),
            self.max_tls_handshakes,
        )?;
        check_secs(
            &format!("{table}.header_timeout_secs"),
            self.header_timeout_secs,
            1..=3600,
        )?;
        check_secs(
            &format!("{table}.body_timeout_secs"),
            self.body_timeout_secs,
            1..=3600,
        )?;
        if !self.tls {
            if self.tls_cert.is_some() {
                return Err(ConfigError::Invalid(format!(
                    "{table}.tls_cert is set but tls = false: set tls = true or remove it"
                )));
            }
            return Ok(());
        }
        if !p.transports().tcp && !p.http() {
            return Err(ConfigError::Invalid(format!(
                "{table}.tls = true: {name} has no TCP or HTTP listener to encrypt"
            )));
        }
        if self.tls_pair(http).is_none() {
            return Err(ConfigError::Invalid(format!(
                "{table}.tls = true needs a certificate: set tls_cert and tls_key in [{table}] or in [http]"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    #[test]
    fn tls_keys_are_checked_naming_the_key() {
        let err = |t: &str| Config::from_toml(t).unwrap_err().to_string();
        assert!(err("[http]\ntls_cert = \"a.pem\"\n").contains("http: set tls_cert and tls_key"));
        let e = err("[protocols.gt06]\ntls = true\n");
        assert!(
            e.contains("protocols.gt06.tls = true needs a certificate"),
            "{e}"
        );
        let e = err("[protocols.gt06]\ntls_cert = \"a.pem\"\ntls_key = \"a.key\"\n");
        assert!(e.contains("tls = false"), "{e}");
        let e = err("[http]\nheader_timeout_secs = 0\n");
        assert!(e.contains("http.header_timeout_secs = 0"), "{e}");
        // A device listener falls back to [http]'s certificate; its own wins.
        let c = Config::from_toml(
            "[http]\ntls_cert = \"api.pem\"\ntls_key = \"api.key\"\n\
             [protocols.gt06]\ntls = true\n\
             [protocols.teltonika]\ntls = true\ntls_cert = \"t.pem\"\ntls_key = \"t.key\"\n",
        )
        .unwrap();
        let pair = |p: &str| {
            let pc = c.protocol(p);
            pc.tls_pair(&c.http)
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
        };
        assert_eq!(pair("gt06"), Some(("api.pem".into(), "api.key".into())));
        assert_eq!(pair("teltonika"), Some(("t.pem".into(), "t.key".into())));
    }
}
