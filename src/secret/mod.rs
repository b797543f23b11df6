//! Secrets: values that must never be printed (InfluxDB token and password, MQTT password,
//! API tokens and their hashes, webhook signing secrets).
//!
//! [`Secret`] is the one type that holds them. Its `Debug` and `Serialize` show `***`, so a
//! secret cannot leak through a logged config, an error built with `{:?}` or an API
//! response; only [`Secret::expose`] hands out the value, at the place that uses it (an
//! `Authorization` header, an HMAC key). An empty secret shows as `""` (nothing to hide, and
//! the embedded defaults serialize to empty values that must stay empty).
//!
//! Every secret can come from the config file, from the environment
//! (`TRACKGATE_<SECTION>__<KEY>`, e.g. `TRACKGATE_INFLUX__TOKEN`) or from a file named by the
//! `<key>_file` beside it (Docker and Kubernetes secrets): [`resolve`] reads exactly one of
//! them. Redaction is about printing, not memory: the value lives in an ordinary `String`.
//!
//! [`redact_url`] is the one way a URL is quoted in logs and errors (credentials and query
//! values replaced), and [`fingerprint`] the one way a stored secret is identified to people.

pub mod perms;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};

/// What redacted values print as.
pub const REDACTED: &str = "***";

/// A secret string: `Debug`/`Serialize` show `***` (see the module doc).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The value, for the one place that uses it. Never format it into a message.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// No value (an unset token).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn shown(&self) -> &'static str {
        if self.0.is_empty() {
            ""
        } else {
            REDACTED
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.shown())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.shown())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Environment values arrive parsed (`TRACKGATE_MQTT__PASSWORD=1234` is a number), so
        /// scalars of any kind are taken as their text.
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Secret;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Secret, E> {
                Ok(Secret(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A secret that cannot be read; the message names the key and the file, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("{key} and {key}_file are both set; use one")]
    Both { key: String },
    #[error("{key}_file {path}: {reason}")]
    File {
        key: String,
        path: PathBuf,
        reason: String,
    },
}

/// The secret `key` from its inline value or its `<key>_file` (exactly one may be set; none:
/// `Ok(None)`). A file's content is taken without its trailing line break, as `echo` and
/// Kubernetes secrets write it; an empty file is an error (a missing mount, not a secret).
pub fn resolve(
    key: &str,
    inline: Option<&Secret>,
    file: Option<&Path>,
) -> Result<Option<Secret>, SecretError> {
    match (inline.filter(|s| !s.is_empty()), file) {
        (Some(_), Some(_)) => Err(SecretError::Both { key: key.into() }),
        (Some(s), None) => Ok(Some(s.clone())),
        (None, Some(path)) => {
            let bad = |reason: String| SecretError::File {
                key: key.into(),
                path: path.to_path_buf(),
                reason,
            };
            let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
            let value = text.trim_end_matches(['\n', '\r']);
            if value.is_empty() {
                return Err(bad("the file is empty".into()));
            }
            Ok(Some(Secret(value.to_string())))
        }
        (None, None) => Ok(None),
    }
}

/// A short, stable name for a secret that reveals nothing usable: `sha256:` and the first 8
/// bytes of its SHA-256 in hex. Shown where the secret itself never is (webhook list/get), so
/// a receiver's operator can tell which secret is configured.
pub fn fingerprint(secret: &[u8]) -> String {
    let d = Sha256::digest(secret);
    format!("sha256:{}", hex::encode(&d[..8]))
}

/// `url` fit to print: user name and password become `***`, every query value becomes
/// `***` (tokens travel there too). Text that does not parse as a URL is returned with
/// anything between `//` and `@` masked.
pub fn redact_url(url: &str) -> String {
    let Ok(mut u) = url::Url::parse(url) else {
        return match (url.find("//"), url.rfind('@')) {
            (Some(a), Some(b)) if b > a + 2 => format!("{}{REDACTED}{}", &url[..a + 2], &url[b..]),
            _ => url.to_string(),
        };
    };
    if !u.username().is_empty() {
        let _ = u.set_username(REDACTED);
    }
    if u.password().is_some() {
        let _ = u.set_password(Some(REDACTED));
    }
    if u.query().is_some() {
        let pairs: Vec<String> = u
            .query_pairs()
            .map(|(k, _)| format!("{k}={REDACTED}"))
            .collect();
        u.set_query(Some(&pairs.join("&")));
    }
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_serialize_redact_but_expose_gives_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "\"***\"");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
        assert_eq!(s.expose(), "hunter2");
        // Empty stays empty, so embedded defaults round-trip through figment unchanged.
        assert_eq!(serde_json::to_string(&Secret::default()).unwrap(), "\"\"");
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Cfg {
            token: Secret,
            password: Option<Secret>,
        }
        let c = Cfg {
            token: "abc".into(),
            password: Some("def".into()),
        };
        let shown = format!("{c:?} {c:#?}");
        assert!(!shown.contains("abc") && !shown.contains("def"), "{shown}");
    }

    #[test]
    fn deserializes_from_strings_and_env_style_scalars() {
        let s: Secret = serde_json::from_str("\"x\"").unwrap();
        assert_eq!(s.expose(), "x");
        let n: Secret = serde_json::from_str("1234").unwrap();
        assert_eq!(n.expose(), "1234");
        assert!(serde_json::from_str::<Secret>("[1]").is_err());
    }

    #[test]
    fn resolve_reads_one_source_and_names_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("token");
        std::fs::write(&f, "from-file\n").unwrap();
        let inline = Secret::new("inline");
        assert_eq!(
            resolve("influx.token", Some(&inline), None).unwrap(),
            Some(inline.clone())
        );
        assert_eq!(
            resolve("influx.token", None, Some(&f)).unwrap(),
            Some(Secret::new("from-file"))
        );
        // An empty inline value (the default) does not conflict with a file.
        assert!(resolve("influx.token", Some(&Secret::default()), Some(&f)).is_ok());
        assert_eq!(resolve("influx.token", None, None).unwrap(), None);
        let both = resolve("influx.token", Some(&inline), Some(&f)).unwrap_err();
        assert!(both.to_string().contains("influx.token_file"), "{both}");
        let missing = dir.path().join("nope");
        let e = resolve("mqtt.password", None, Some(&missing)).unwrap_err();
        assert!(e.to_string().starts_with("mqtt.password_file"), "{e}");
        std::fs::write(&f, "\n").unwrap();
        let e = resolve("mqtt.password", None, Some(&f)).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
    }

    #[test]
    fn urls_lose_credentials_and_query_values() {
        assert_eq!(
            redact_url("https://user:pw@h.example:8443/p?token=abc&x=1"),
            "https://***:***@h.example:8443/p?token=***&x=***"
        );
        assert_eq!(redact_url("http://h/p"), "http://h/p");
        assert_eq!(redact_url("not a url//u:p@host"), "not a url//***@host");
    }

    #[test]
    fn fingerprints_are_short_and_stable() {
        let f = fingerprint(b"whsec_example");
        assert!(f.starts_with("sha256:") && f.len() == 7 + 16, "{f}");
        assert_eq!(f, fingerprint(b"whsec_example"));
        assert_ne!(f, fingerprint(b"whsec_other"));
    }
}
