//! Outbound TLS: the one way a client configuration is built for webhooks (`https://`),
//! InfluxDB (`https://`) and the MQTT broker (`mqtts://`).
//!
//! The server's certificate is verified by rustls' WebPKI verifier against the operating
//! system's trusted roots (read once with `rustls-native-certs`: `/etc/ssl/certs` on Debian,
//! or `SSL_CERT_FILE` / `SSL_CERT_DIR`) plus the section's optional `ca_file` (a private CA of
//! an on-premises InfluxDB or broker). The host name in the URL must match the certificate
//! (an IP address must be in its IP SANs); expiry is checked against the wall clock. A
//! client certificate (`client_cert` + `client_key`) is presented when configured (mTLS).
//!
//! `insecure_skip_verify = true` accepts any certificate (handshake signatures are still
//! checked, so the link is encrypted, but to whoever answers). It exists for a lab broker
//! with a throwaway certificate and is logged as a warning every time a client is built
//! from it.

use super::{load_certs, load_key, provider, TlsFileError};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// The TLS settings of one outbound target (a config section's `ca_file`, `client_cert`,
/// `client_key`, `insecure_skip_verify`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientTls {
    /// The section, for messages (`influx`, `mqtt`, `webhooks`).
    pub section: &'static str,
    /// Extra trusted roots (PEM bundle), added to the system's.
    pub ca_file: Option<PathBuf>,
    /// PEM certificate chain presented to servers that ask for one (mTLS).
    pub client_cert: Option<PathBuf>,
    /// PEM private key of `client_cert`.
    pub client_key: Option<PathBuf>,
    /// Accept any server certificate (logged as a warning).
    pub insecure_skip_verify: bool,
}

impl ClientTls {
    /// Checks that the files load and the keys pair up, naming the config key; used by the
    /// sections' `validate` so a bad file stops the start, not the first connection.
    pub fn validate(&self) -> Result<(), String> {
        match (&self.client_cert, &self.client_key) {
            (Some(_), None) | (None, Some(_)) => {
                return Err(format!(
                    "{s}.client_cert and {s}.client_key must be set together",
                    s = self.section
                ))
            }
            _ => {}
        }
        self.build_quiet()
            .map(|_| ())
            .map_err(|e| format!("{}: {e}", self.section))
    }

    /// Whether anything beyond the defaults is configured (a TLS key on a plain-text URL is a
    /// mistake the sections refuse).
    pub fn is_configured(&self) -> bool {
        self.ca_file.is_some()
            || self.client_cert.is_some()
            || self.client_key.is_some()
            || self.insecure_skip_verify
    }

    /// The rustls client configuration (aws-lc-rs provider, TLS 1.2 and 1.3, no ALPN: each
    /// client sets its own).
    pub fn client_config(&self) -> Result<ClientConfig, TlsFileError> {
        if self.insecure_skip_verify {
            tracing::warn!(
                section = self.section,
                "{}.insecure_skip_verify = true: server certificates are NOT verified; anyone \
                 on the network path can impersonate the server and read the traffic",
                self.section
            );
        }
        self.build_quiet()
    }

    fn build_quiet(&self) -> Result<ClientConfig, TlsFileError> {
        let provider = provider();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsFileError::File {
                what: "TLS versions",
                path: String::new(),
                reason: e.to_string(),
            })?;
        let builder = if self.insecure_skip_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        } else {
            builder.with_root_certificates(self.roots()?)
        };
        match (&self.client_cert, &self.client_key) {
            (Some(c), Some(k)) => {
                let certs = load_certs(c)?;
                let key = load_key(k)?;
                builder
                    .with_client_auth_cert(certs, key)
                    .map_err(|e| TlsFileError::File {
                        what: "client certificate",
                        path: c.display().to_string(),
                        reason: e.to_string(),
                    })
            }
            _ => Ok(builder.with_no_client_auth()),
        }
    }

    /// The system's roots plus `ca_file`'s.
    fn roots(&self) -> Result<RootCertStore, TlsFileError> {
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(system_roots().iter().cloned());
        if let Some(ca) = &self.ca_file {
            let extra = super::load_roots(ca)?;
            roots.roots.extend(extra.roots);
        }
        Ok(roots)
    }
}

/// The operating system's trusted roots, read once per process. Unreadable entries are
/// skipped with one warning; none at all (a minimal container without `ca-certificates`)
/// is warned about, since only targets under a `ca_file` can then be verified.
pub fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        if let Some(e) = found.errors.first() {
            tracing::warn!(error = %e, errors = found.errors.len(), "some system CA certificates could not be read");
        }
        if found.certs.is_empty() {
            tracing::warn!(
                "no system CA certificates found (install ca-certificates or set SSL_CERT_FILE); \
                 only servers under a configured ca_file can be verified"
            );
        }
        found.certs
    })
}

/// `insecure_skip_verify`: any certificate is accepted; the handshake signature is still
/// checked against the presented certificate's key.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The TLS reason inside an error chain (`invalid peer certificate: UnknownIssuer`,
/// `... certificate expired ...`, `... not valid for name ...`), so a failed delivery or
/// connection says why rather than only "error sending request".
pub fn tls_reason(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    find_rustls(e, 0).map(|t| t.to_string())
}

/// Walks `source()` and, since `io::Error::source` skips the error it wraps, also into
/// every `io::Error`'s inner error (tokio-rustls and the HTTP connectors wrap rustls errors
/// in one or more `io::Error`s).
fn find_rustls<'a>(
    e: &'a (dyn std::error::Error + 'static),
    depth: usize,
) -> Option<&'a rustls::Error> {
    if depth > 16 {
        return None;
    }
    if let Some(t) = e.downcast_ref::<rustls::Error>() {
        return Some(t);
    }
    if let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        if let Some(t) = find_rustls(inner, depth + 1) {
            return Some(t);
        }
    }
    e.source().and_then(|s| find_rustls(s, depth + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_tls_reason_inside_nested_io_errors() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let inner = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        let outer = std::io::Error::other(inner);
        assert_eq!(
            tls_reason(&outer).as_deref(),
            Some("invalid peer certificate: UnknownIssuer")
        );
        assert_eq!(tls_reason(&std::io::Error::other("plain")), None);
    }

    #[test]
    fn builds_with_system_roots_ca_file_and_client_cert() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["client".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let (c, k) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        let t = ClientTls {
            section: "mqtt",
            ca_file: Some(c.clone()),
            client_cert: Some(c.clone()),
            client_key: Some(k.clone()),
            insecure_skip_verify: false,
        };
        assert_eq!(t.validate(), Ok(()));
        assert!(t
            .client_config()
            .unwrap()
            .client_auth_cert_resolver
            .has_certs());
        let half = ClientTls {
            client_key: None,
            ..t.clone()
        };
        assert!(half.validate().unwrap_err().contains("mqtt.client_key"));
        let bad_ca = ClientTls {
            ca_file: Some(dir.path().join("missing.pem")),
            ..t
        };
        let e = bad_ca.validate().unwrap_err();
        assert!(e.starts_with("mqtt: ") && e.contains("missing.pem"), "{e}");
    }
}
