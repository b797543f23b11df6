//! `[commands]`: the downlink queue's ceilings, each with its default. The API controls what
//! is queued, but a script gone wrong (or a stolen token) must not fill the queue file or keep
//! commands waiting for months, hence a cap per device and on the waiting time.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[commands]`
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CommandsConfig {
    /// How long a command waits for its device (and then for its answer) when the request
    /// sets no `ttl`. Default `"24h"`.
    #[serde(with = "crate::duration_text")]
    pub default_ttl: Duration,
    /// The longest `ttl` a request may set. Default `"7d"`.
    #[serde(with = "crate::duration_text")]
    pub max_ttl: Duration,
    /// Most commands one device may have queued or sent (unanswered) at once; more → 409.
    /// Default 100.
    pub max_open_per_device: usize,
}

impl Default for CommandsConfig {
    fn default() -> Self {
        CommandsConfig {
            default_ttl: Duration::from_secs(24 * 3600),
            max_ttl: Duration::from_secs(7 * 24 * 3600),
            max_open_per_device: 100,
        }
    }
}

impl CommandsConfig {
    /// Checks the ceilings once at start, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_ttl.is_zero() {
            return Err("commands.max_ttl must be positive".into());
        }
        if self.default_ttl.is_zero() || self.default_ttl > self.max_ttl {
            return Err(format!(
                "commands.default_ttl = {:?}: must be positive and at most commands.max_ttl ({:?})",
                self.default_ttl, self.max_ttl
            ));
        }
        if self.max_open_per_device == 0 || self.max_open_per_device > 100_000 {
            return Err(format!(
                "commands.max_open_per_device = {}: must be within 1..=100000",
                self.max_open_per_device
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_name_the_key() {
        assert_eq!(CommandsConfig::default().validate(), Ok(()));
        let c = CommandsConfig {
            default_ttl: Duration::from_secs(30 * 86_400),
            ..CommandsConfig::default()
        };
        assert!(c.validate().unwrap_err().contains("commands.default_ttl"));
        let c = CommandsConfig {
            max_open_per_device: 0,
            ..CommandsConfig::default()
        };
        assert!(c.validate().unwrap_err().contains("max_open_per_device"));
    }
}
