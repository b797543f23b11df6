//! The token registry: tokens from `[[api.tokens]]` and those created through
//! `POST /api/tokens` (kept in `<storage.dir>/auth.sqlite`), all as SHA-256 hashes.
//!
//! A presented token is hashed and compared with every known hash in constant time
//! (`subtle`), so response timing says nothing about how much of a hash matched. SHA-256 is
//! enough: tokens are 32 random bytes, not passwords, so there is nothing to brute-force.

use super::config::{check_name, ApiConfig};
use super::{Principal, Scope};
use rusqlite::{params, Connection};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, RwLock};
use subtle::ConstantTimeEq;

/// File name of the token store under `storage.dir`.
pub const STORE_FILE: &str = "auth.sqlite";

/// Prefix of generated tokens (lets secret scanners recognise a leaked one).
pub const TOKEN_PREFIX: &str = "tg_";

/// Where a token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Config,
    Api,
}

/// A token as listed by `GET /api/tokens`: never the token or its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub customer: Option<String>,
    pub source: Source,
    /// Creation time, unix ms (config tokens: when this process loaded them).
    pub created_ms: i64,
    /// Last authenticated use, unix ms.
    pub last_used_ms: Option<i64>,
}

struct Known {
    hash: [u8; 32],
    info: TokenInfo,
}

/// Why a token could not be created or deleted.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    Invalid(String),
    #[error("a token named {0:?} exists")]
    Duplicate(String),
    #[error("token {0:?} comes from the config file; remove it there")]
    FromConfig(String),
    #[error("token store: {0}")]
    Store(String),
}

/// Every token the API accepts.
pub struct Registry {
    // (Debug prints names and counts only, below: never a hash.)
    known: RwLock<Vec<Known>>,
    db: Option<Mutex<Connection>>,
    /// Last use per name, written to the store at most once a minute per token.
    persisted_use: Mutex<HashMap<String, i64>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.read().iter().map(|k| k.info.name.clone()).collect();
        f.debug_struct("Registry").field("tokens", &names).finish()
    }
}

/// Hex SHA-256 of a token.
pub fn sha256_hex(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh token: `tg_` and 32 random bytes in hex.
pub fn generate() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn hash_of(hex_text: &str) -> Option<[u8; 32]> {
    let v = hex::decode(hex_text).ok()?;
    v.try_into().ok()
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tokens (
  name TEXT PRIMARY KEY,
  sha256 TEXT NOT NULL,
  scopes TEXT NOT NULL,
  customer TEXT,
  created_ms INTEGER NOT NULL,
  last_used_ms INTEGER
);
";

impl Registry {
    /// The config's tokens plus those in `dir`'s store (`dir = None`: config only, for tools
    /// and tests). Reads `token_file`s; warns about clear-text `token`s.
    pub fn open(cfg: &ApiConfig, dir: Option<&Path>) -> Result<Registry, String> {
        cfg.validate()?;
        let loaded = now_ms();
        let mut known = Vec::new();
        for t in &cfg.tokens {
            let hex_hash = if let Some(h) = t.token_sha256.as_ref().map(|h| h.expose()) {
                h.to_ascii_lowercase()
            } else if let Some(f) = &t.token_file {
                let text = std::fs::read_to_string(f).map_err(|e| {
                    format!("api.tokens {:?}: token_file {}: {e}", t.name, f.display())
                })?;
                let token = text.trim();
                if token.is_empty() {
                    return Err(format!(
                        "api.tokens {:?}: token_file {} is empty",
                        t.name,
                        f.display()
                    ));
                }
                sha256_hex(token)
            } else {
                tracing::warn!(token = %t.name, "api.tokens: clear-text `token` in the config; prefer token_sha256 (trackgate token new prints it) or token_file");
                sha256_hex(t.token.as_ref().map(|t| t.expose()).unwrap_or_default())
            };
            known.push(Known {
                hash: hash_of(&hex_hash).ok_or("api.tokens: bad hash")?,
                info: TokenInfo {
                    name: t.name.clone(),
                    scopes: t.scopes.clone(),
                    customer: t.customer.clone(),
                    source: Source::Config,
                    created_ms: loaded,
                    last_used_ms: None,
                },
            });
        }
        let db = match dir {
            None => None,
            Some(d) => {
                let path = d.join(STORE_FILE);
                let conn = Connection::open(&path)
                    .and_then(|c| c.execute_batch(SCHEMA).map(|_| c))
                    .map_err(|e| format!("token store {}: {e}", path.display()))?;
                known.extend(load(&conn).map_err(|e| format!("token store: {e}"))?);
                Some(Mutex::new(conn))
            }
        };
        Ok(Registry {
            known: RwLock::new(known),
            db,
            persisted_use: Mutex::new(HashMap::new()),
        })
    }

    /// No token at all: anonymous access (on loopback only).
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Known>> {
        self.known.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Known>> {
        self.known.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The principal of `token`, if it is known. Compares against every hash in constant time.
    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let found = {
            let known = self.read();
            let mut found = None;
            for (i, k) in known.iter().enumerate() {
                if bool::from(k.hash.ct_eq(&presented)) {
                    found = Some(i);
                }
            }
            found.map(|i| {
                let info = &known[i].info;
                (
                    Principal {
                        name: info.name.clone(),
                        scopes: info.scopes.clone(),
                        customer: info.customer.clone(),
                    },
                    info.source,
                )
            })
        };
        let (principal, source) = found?;
        self.note_use(&principal.name, source);
        Some(principal)
    }

    fn note_use(&self, name: &str, source: Source) {
        let now = now_ms();
        if let Some(k) = self.write().iter_mut().find(|k| k.info.name == name) {
            k.info.last_used_ms = Some(now);
        }
        if source != Source::Api {
            return;
        }
        let mut persisted = self.persisted_use.lock().unwrap_or_else(|e| e.into_inner());
        let due = persisted.get(name).is_none_or(|&t| now - t >= 60_000);
        if due {
            persisted.insert(name.to_string(), now);
            if let Some(db) = &self.db {
                let conn = db.lock().unwrap_or_else(|e| e.into_inner());
                if let Err(e) = conn.execute(
                    "UPDATE tokens SET last_used_ms = ?1 WHERE name = ?2",
                    params![now, name],
                ) {
                    tracing::warn!(error = %e, "token store: last use not saved");
                }
            }
        }
    }

    /// Every token, sorted by name.
    pub fn list(&self) -> Vec<TokenInfo> {
        let mut v: Vec<TokenInfo> = self.read().iter().map(|k| k.info.clone()).collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Creates a token and returns it (shown once) with its listing.
    pub fn create(
        &self,
        name: &str,
        scopes: Vec<Scope>,
        customer: Option<String>,
    ) -> Result<(String, TokenInfo), TokenError> {
        check_name("name", name).map_err(TokenError::Invalid)?;
        if scopes.is_empty() {
            return Err(TokenError::Invalid("scopes is empty".into()));
        }
        if let Some(c) = &customer {
            check_name("customer", c).map_err(TokenError::Invalid)?;
            if scopes.contains(&Scope::Admin) {
                return Err(TokenError::Invalid(
                    "a customer token cannot have the admin scope".into(),
                ));
            }
        }
        let Some(db) = &self.db else {
            return Err(TokenError::Store("no token store".into()));
        };
        let token = generate();
        let info = TokenInfo {
            name: name.to_string(),
            scopes,
            customer,
            source: Source::Api,
            created_ms: now_ms(),
            last_used_ms: None,
        };
        let mut known = self.write();
        if known.iter().any(|k| k.info.name == name) {
            return Err(TokenError::Duplicate(name.to_string()));
        }
        let scopes_text = serde_json::to_string(&info.scopes).unwrap_or_default();
        db.lock()
            .unwrap_or_else(|e| e.into_inner())
            .execute(
                "INSERT INTO tokens (name, sha256, scopes, customer, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![info.name, sha256_hex(&token), scopes_text, info.customer, info.created_ms],
            )
            .map_err(|e| TokenError::Store(e.to_string()))?;
        known.push(Known {
            hash: Sha256::digest(token.as_bytes()).into(),
            info: info.clone(),
        });
        Ok((token, info))
    }

    /// Revokes a token created through the API; `Ok(false)` when there is none by that name.
    pub fn delete(&self, name: &str) -> Result<bool, TokenError> {
        let mut known = self.write();
        let Some(i) = known.iter().position(|k| k.info.name == name) else {
            return Ok(false);
        };
        if known[i].info.source == Source::Config {
            return Err(TokenError::FromConfig(name.to_string()));
        }
        if let Some(db) = &self.db {
            db.lock()
                .unwrap_or_else(|e| e.into_inner())
                .execute("DELETE FROM tokens WHERE name = ?1", params![name])
                .map_err(|e| TokenError::Store(e.to_string()))?;
        }
        known.remove(i);
        Ok(true)
    }
}

fn load(conn: &Connection) -> rusqlite::Result<Vec<Known>> {
    let mut st = conn
        .prepare("SELECT name, sha256, scopes, customer, created_ms, last_used_ms FROM tokens")?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, Option<i64>>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (name, sha, scopes, customer, created_ms, last_used_ms) = row?;
        let (Some(hash), Ok(scopes)) = (hash_of(&sha), serde_json::from_str(&scopes)) else {
            tracing::error!(token = %name, "token store: unreadable row skipped");
            continue;
        };
        out.push(Known {
            hash,
            info: TokenInfo {
                name,
                scopes,
                customer,
                source: Source::Api,
                created_ms,
                last_used_ms,
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::auth::config::TokenConfig;

    fn cfg(token: &str) -> ApiConfig {
        ApiConfig {
            tokens: vec![TokenConfig {
                name: "ops".into(),
                token_sha256: Some(sha256_hex(token).into()),
                scopes: vec![Scope::Read],
                ..TokenConfig::default()
            }],
        }
    }

    #[test]
    fn config_and_api_tokens_authenticate_and_revoke() {
        let dir = tempfile::tempdir().unwrap();
        let r = Registry::open(&cfg("secret-1"), Some(dir.path())).unwrap();
        assert!(!r.is_empty());
        assert_eq!(r.authenticate("secret-1").unwrap().name, "ops");
        assert!(r.authenticate("secret-2").is_none());
        let (tok, info) = r
            .create("portal", vec![Scope::Read], Some("acme".into()))
            .unwrap();
        assert!(tok.starts_with(TOKEN_PREFIX) && tok.len() == 67);
        assert_eq!(info.customer.as_deref(), Some("acme"));
        let p = r.authenticate(&tok).unwrap();
        assert_eq!(
            (p.name.as_str(), p.customer.as_deref()),
            ("portal", Some("acme"))
        );
        assert!(matches!(
            r.create("portal", vec![Scope::Read], None),
            Err(TokenError::Duplicate(_))
        ));
        assert!(matches!(r.delete("ops"), Err(TokenError::FromConfig(_))));
        // Survives a restart, then is revoked.
        drop(r);
        let r = Registry::open(&cfg("secret-1"), Some(dir.path())).unwrap();
        assert!(r.authenticate(&tok).is_some());
        assert!(r.list().iter().all(|t| !format!("{t:?}").contains(&tok)));
        assert!(r.delete("portal").unwrap());
        assert!(r.authenticate(&tok).is_none());
        assert!(!r.delete("portal").unwrap());
    }

    #[test]
    fn token_files_are_read_and_bad_entries_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("tok");
        std::fs::write(&f, "file-secret\n").unwrap();
        let c = ApiConfig {
            tokens: vec![TokenConfig {
                name: "from-file".into(),
                token_file: Some(f),
                scopes: vec![Scope::Metrics],
                ..TokenConfig::default()
            }],
        };
        let r = Registry::open(&c, None).unwrap();
        assert_eq!(
            r.authenticate("file-secret").unwrap().scopes,
            vec![Scope::Metrics]
        );
        let mut two = cfg("x");
        two.tokens[0].token = Some("y".into());
        assert!(Registry::open(&two, None)
            .unwrap_err()
            .contains("exactly one"));
        let mut admin_tenant = cfg("x");
        admin_tenant.tokens[0].scopes = vec![Scope::Admin];
        admin_tenant.tokens[0].customer = Some("acme".into());
        assert!(Registry::open(&admin_tenant, None)
            .unwrap_err()
            .contains("admin"));
    }
}
