//! TLS with rustls, for every direction: outbound (webhooks, InfluxDB, MQTT) and inbound (the
//! API, device listeners). No OpenSSL at run time.
//!
//! One crypto provider for the whole tree: **aws-lc-rs**. It is the provider rustls,
//! tokio-rustls, reqwest's `rustls` feature and rumqttc's `use-rustls` all default to, so
//! choosing it means no crate in the tree pulls a second one by default; it is maintained by
//! AWS with a FIPS-validated variant that regulated fleets (public sector, defence
//! logistics) ask for, and it is the faster of the two on x86-64 for the handshakes a
//! gateway does at fleet scale. The cost is a C build of aws-lc-sys at compile time (gcc
//! is all it needs here). [`install_provider`] makes it the
//! process-wide default before any TLS object is built, so no code path can silently fall
//! back to another provider.
//!
//! One crate in the tree still links *ring*: rumqttc 0.25's `use-rustls` feature depends on
//! rustls-webpki 0.102 (built with ring) for its own certificate helpers. It is never the
//! rustls provider: trackgate hands rumqttc a finished `ClientConfig` built with aws-lc-rs
//! ([`client`]), so every MQTT handshake, like every other, runs on aws-lc-rs; ring is only
//! compiled and linked.
//!
//! This module holds what both directions share: reading PEM certificates, keys and CA
//! bundles, with errors that name the file. [`client`] builds the outbound configurations.

pub mod client;

pub mod server;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// Why a certificate, key or CA file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsFileError {
    #[error("{what} {path}: {reason}")]
    File {
        what: &'static str,
        path: String,
        reason: String,
    },
}

fn file_error(what: &'static str, path: &Path, reason: impl ToString) -> TlsFileError {
    TlsFileError::File {
        what,
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Makes aws-lc-rs the process-wide rustls provider (idempotent; call before building any
/// TLS configuration).
pub fn install_provider() {
    // Err only means a provider is installed already (a second call, or a test harness).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// The process's crypto provider (installing it if needed).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    install_provider();
    rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}

/// Every certificate in a PEM file (a chain: leaf first).
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsFileError> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error("certificate file", path, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_error("certificate file", path, e))?;
    if certs.is_empty() {
        return Err(file_error(
            "certificate file",
            path,
            "no PEM CERTIFICATE block",
        ));
    }
    Ok(certs)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) in a PEM file.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsFileError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| file_error("private key file", path, e))
}

/// A root store of the certificates in a CA bundle.
pub fn load_roots(path: &Path) -> Result<rustls::RootCertStore, TlsFileError> {
    let mut roots = rustls::RootCertStore::empty();
    for c in load_certs(path)? {
        roots.add(c).map_err(|e| file_error("CA file", path, e))?;
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_files_load_and_errors_name_the_file() {
        install_provider();
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let (c, k) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        assert_eq!(load_certs(&c).unwrap().len(), 1);
        assert!(load_key(&k).is_ok());
        assert_eq!(load_roots(&c).unwrap().len(), 1);
        let missing = dir.path().join("nope.pem");
        assert!(load_certs(&missing)
            .unwrap_err()
            .to_string()
            .contains("nope.pem"));
        assert!(load_certs(&k)
            .unwrap_err()
            .to_string()
            .contains("no PEM CERTIFICATE"));
        assert!(load_key(&c).unwrap_err().to_string().contains("c.pem"));
    }
}
