//! Decoder settings (`[protocols.<name>]` in the config) and the helpers protocols use to
//! validate their own `options` table once, when a decoder is built.

use std::collections::BTreeMap;

#[cfg(doc)]
use super::Protocol;

/// What to do with a frame whose checksum does not match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumPolicy {
    /// Drop the frame (counted), keep the connection. The default.
    #[default]
    Verify,
    /// Decode it anyway: for clone devices that compute the checksum wrongly.
    Ignore,
}

/// Settings a decoder is built with; validated once when the decoder is created.
#[derive(Clone, Debug)]
pub struct DecoderOptions {
    pub checksum: ChecksumPolicy,
    /// Largest frame the framer accepts, bytes. A longer declared or scanned frame is skipped
    /// (resync) rather than buffered.
    pub max_frame: usize,
    /// Protocol-specific settings (`[protocols.<name>.options]`), documented per protocol in
    /// `protocol-docs/<name>.md`. Unknown keys are an error from [`Protocol::new_decoder`].
    pub options: BTreeMap<String, String>,
}

impl Default for DecoderOptions {
    fn default() -> Self {
        DecoderOptions {
            checksum: ChecksumPolicy::Verify,
            max_frame: 4096,
            options: BTreeMap::new(),
        }
    }
}

/// A protocol rejected its `[protocols.<name>.options]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("protocol {protocol}: option {key}: {reason}")]
pub struct OptionsError {
    pub protocol: &'static str,
    pub key: String,
    pub reason: String,
}

impl OptionsError {
    /// The error for a key the protocol does not know.
    pub fn unknown(protocol: &'static str, key: &str) -> Self {
        OptionsError {
            protocol,
            key: key.to_string(),
            reason: "unknown option".to_string(),
        }
    }

    /// The error for a value that does not parse; `expected` says what would.
    pub fn invalid(protocol: &'static str, key: &str, expected: &str, got: &str) -> Self {
        OptionsError {
            protocol,
            key: key.to_string(),
            reason: format!("expected {expected}, got {got:?}"),
        }
    }
}

impl DecoderOptions {
    /// Reads `protocol`'s options with `read` (one [`OptionReader`] call per key, each with
    /// its default), then rejects every key `read` did not ask for: a typo must not silently
    /// change nothing.
    pub fn read<T>(
        &self,
        protocol: &'static str,
        read: impl FnOnce(&mut OptionReader<'_>) -> Result<T, OptionsError>,
    ) -> Result<T, OptionsError> {
        let mut reader = OptionReader {
            protocol,
            options: &self.options,
            read: Vec::new(),
        };
        let value = read(&mut reader)?;
        reader.finish()?;
        Ok(value)
    }

    /// For a protocol without options of its own: any key is an error.
    pub fn no_options(&self, protocol: &'static str) -> Result<(), OptionsError> {
        self.read(protocol, |_| Ok(()))
    }
}

/// Per-connection protocol state built from `[protocols.<name>.options]` (see
/// `StreamProtocol::State`). `()` is the state of a protocol without options: it rejects
/// every key.
pub trait FromOptions: Sized + Send + 'static {
    /// Parses `opts`, rejecting unknown keys and bad values; errors are reported under the
    /// registry name `protocol`.
    fn from_options(protocol: &'static str, opts: &DecoderOptions) -> Result<Self, OptionsError>;
}

impl FromOptions for () {
    fn from_options(protocol: &'static str, opts: &DecoderOptions) -> Result<(), OptionsError> {
        opts.no_options(protocol)
    }
}

/// Reads a protocol's `[protocols.<name>.options]` key by key, each with its default, and
/// remembers which keys it read so that [`DecoderOptions::read`] can reject the others.
#[derive(Debug)]
pub struct OptionReader<'a> {
    protocol: &'static str,
    options: &'a BTreeMap<String, String>,
    read: Vec<&'static str>,
}

impl<'a> OptionReader<'a> {
    /// The raw value of `key`, if set.
    pub fn get(&mut self, key: &'static str) -> Option<&'a str> {
        self.read.push(key);
        self.options.get(key).map(String::as_str)
    }

    /// `key` parsed by `parse`, or `default` when unset; a value `parse` refuses is an error
    /// saying it `expected` something else.
    pub fn parse<T>(
        &mut self,
        key: &'static str,
        default: T,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, OptionsError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => {
                parse(v).ok_or_else(|| OptionsError::invalid(self.protocol, key, expected, v))
            }
        }
    }

    /// A `true`/`false` option, `default` when unset.
    pub fn flag(&mut self, key: &'static str, default: bool) -> Result<bool, OptionsError> {
        self.parse(key, default, "true or false", |v| match v {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        })
    }

    /// Fails on the first key (in key order) that was never read: unknown to the protocol.
    fn finish(self) -> Result<(), OptionsError> {
        match self
            .options
            .keys()
            .find(|k| !self.read.contains(&k.as_str()))
        {
            Some(key) => Err(OptionsError::unknown(self.protocol, key)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> DecoderOptions {
        DecoderOptions {
            options: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..DecoderOptions::default()
        }
    }

    #[test]
    fn reader_parses_defaults_and_rejects_unread_keys() {
        let o = opts(&[("ack", "true"), ("len", "7")]);
        let all = o.read("p", |r| {
            let len = r.parse("len", 0u32, "a number", |v| v.parse().ok())?;
            Ok((r.flag("ack", false)?, r.flag("other", true)?, len))
        });
        assert_eq!(all, Ok((true, true, 7)));
        let e = opts(&[("len", "x")]).read("p", |r| {
            r.parse("len", 0u32, "a number", |v| v.parse().ok())
        });
        assert_eq!(
            e.unwrap_err().to_string(),
            "protocol p: option len: expected a number, got \"x\""
        );
        let only_ack = o.read("p", |r| r.flag("ack", false));
        assert_eq!(only_ack, Err(OptionsError::unknown("p", "len")));
        assert_eq!(opts(&[]).no_options("p"), Ok(()));
        assert_eq!(
            <()>::from_options("p", &o),
            Err(OptionsError::unknown("p", "ack"))
        );
        let bad = opts(&[("ack", "yes")]).read("p", |r| r.flag("ack", false));
        assert_eq!(bad.unwrap_err().key, "ack");
    }
}
