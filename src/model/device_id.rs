use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest device id accepted. IMEIs are 15 digits, JT/T 808-2019 phones 20; 64 leaves room
/// for MQTT `user.device` ids without letting a device make unbounded keys.
pub const MAX_DEVICE_ID_LEN: usize = 64;

/// A device's identity as the gateway knows it (IMEI, terminal phone number, app id).
///
/// Guaranteed free of `/`, `+`, `#`, whitespace and control characters, so it is safe as an
/// MQTT topic level, a URL path segment and an InfluxDB tag value without escaping surprises.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DeviceId(String);

/// Why a string cannot be a [`DeviceId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidDeviceId {
    #[error("device id is empty")]
    Empty,
    #[error("device id is {0} characters long, more than {MAX_DEVICE_ID_LEN}")]
    TooLong(usize),
    #[error("device id {id:?} contains the forbidden character {ch:?}")]
    Forbidden { id: String, ch: char },
}

impl DeviceId {
    /// Validates and wraps an id.
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidDeviceId> {
        let id = id.into();
        if id.is_empty() {
            return Err(InvalidDeviceId::Empty);
        }
        if id.chars().count() > MAX_DEVICE_ID_LEN {
            return Err(InvalidDeviceId::TooLong(id.chars().count()));
        }
        if let Some(ch) = id
            .chars()
            .find(|c| matches!(c, '/' | '+' | '#') || c.is_whitespace() || c.is_control())
        {
            return Err(InvalidDeviceId::Forbidden { id, ch });
        }
        Ok(DeviceId(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id with leading zeros removed (keeping at least one digit) when it is all digits.
    ///
    /// Terminal phone numbers arrive zero-padded (JT/T 808 BCD[6] / BCD[10]) while installers
    /// type them without the padding; lookups compare this canonical form.
    pub fn canonical(&self) -> &str {
        canonical_str(&self.0)
    }
}

/// See [`DeviceId::canonical`]; usable on a raw string from a URL.
pub fn canonical_str(s: &str) -> &str {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let t = s.trim_start_matches('0');
        if t.is_empty() {
            &s[s.len() - 1..]
        } else {
            t
        }
    } else {
        s
    }
}

impl TryFrom<String> for DeviceId {
    type Error = InvalidDeviceId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        DeviceId::new(s)
    }
}

impl From<DeviceId> for String {
    fn from(d: DeviceId) -> String {
        d.0
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_topic_and_path_metacharacters() {
        for bad in ["a/b", "a+b", "a#", "a b", "a\tb", "\u{7}"] {
            assert!(DeviceId::new(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(DeviceId::new(""), Err(InvalidDeviceId::Empty));
        assert!(DeviceId::new("x".repeat(65)).is_err());
        assert_eq!(DeviceId::new("user.phone").unwrap().as_str(), "user.phone");
    }

    #[test]
    fn canonical_strips_zero_padding_of_numbers_only() {
        assert_eq!(
            DeviceId::new("012076463279").unwrap().canonical(),
            "12076463279"
        );
        assert_eq!(DeviceId::new("000").unwrap().canonical(), "0");
        assert_eq!(DeviceId::new("0abc").unwrap().canonical(), "0abc");
    }
}
