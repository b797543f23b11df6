//! `[api]`: who may use the HTTP API. Tokens come from here and from the admin API
//! (`POST /api/tokens`); both are kept only as SHA-256 hashes.

use super::Scope;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `[api]`
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// `[[api.tokens]]`: bearer tokens. None configured (and none created through the API):
    /// the API serves only on a loopback address, to anyone who can reach it there.
    pub tokens: Vec<TokenConfig>,
}

/// One `[[api.tokens]]` entry. Exactly one of `token_sha256`, `token_file`, `token`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TokenConfig {
    /// Shown in logs, audit and `GET /api/tokens` (never the token). 1–64 characters of
    /// `A-Z a-z 0-9 . _ -`.
    pub name: String,
    /// Hex SHA-256 of the token (what `trackgate token new` prints).
    pub token_sha256: Option<Secret>,
    /// A file holding the token itself (Docker/Kubernetes secrets); hashed when read.
    pub token_file: Option<PathBuf>,
    /// The token in clear text: accepted with a warning (the config file becomes a secret).
    pub token: Option<Secret>,
    /// `admin`, `read`, `write`, `commands`, `metrics`.
    pub scopes: Vec<Scope>,
    /// A tenant-scoped token: sees and manages only this customer's shipments, events,
    /// webhooks and (while on them) devices.
    pub customer: Option<String>,
}

/// Largest token name, bytes.
pub const MAX_NAME: usize = 64;

/// Checks a token or customer name: 1–64 characters of `A-Z a-z 0-9 . _ -`.
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > MAX_NAME
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(format!(
            "{what} {name:?}: 1 to {MAX_NAME} characters of A-Z a-z 0-9 . _ -"
        ));
    }
    Ok(())
}

impl ApiConfig {
    /// Checks every token entry, naming it (never printing a token).
    pub fn validate(&self) -> Result<(), String> {
        let mut names = std::collections::HashSet::new();
        for t in &self.tokens {
            check_name("api.tokens name", &t.name)?;
            if !names.insert(t.name.as_str()) {
                return Err(format!("api.tokens: name {:?} appears twice", t.name));
            }
            let sources = [
                t.token_sha256.is_some(),
                t.token_file.is_some(),
                t.token.is_some(),
            ];
            if sources.iter().filter(|s| **s).count() != 1 {
                return Err(format!(
                    "api.tokens {:?}: set exactly one of token_sha256, token_file, token",
                    t.name
                ));
            }
            if let Some(h) = t.token_sha256.as_ref().map(Secret::expose) {
                if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!(
                        "api.tokens {:?}: token_sha256 must be 64 hex digits",
                        t.name
                    ));
                }
            }
            if t.scopes.is_empty() {
                return Err(format!("api.tokens {:?}: scopes is empty", t.name));
            }
            if let Some(c) = &t.customer {
                check_name("api.tokens customer", c)?;
                if t.scopes.contains(&Scope::Admin) {
                    return Err(format!(
                        "api.tokens {:?}: a customer token cannot have the admin scope",
                        t.name
                    ));
                }
            }
        }
        Ok(())
    }
}
