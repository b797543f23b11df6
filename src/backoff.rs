//! Exponential backoff with jitter: the one retry schedule every reconnect and retry loop
//! uses (MQTT ingest and publisher, the InfluxDB writer, webhook deliveries, log consumers).
//!
//! Delays double from `min` per failure up to `max`, then "equal jitter" picks uniformly in
//! `[d/2, d]`: a fleet of gateways (or one gateway's many retry loops) recovering from the
//! same outage does not hit the recovered service in lock step, and the delay still grows.
//!
//! Not the `backon` crate: the webhook outbox stores the time of the *next* attempt in its
//! durable row, so it needs the delay for attempt `n` as a pure function of `n`
//! ([`Backoff::delay`]), which an iterator-shaped retry API only gives by stepping `n` times;
//! and the loops here race their sleep against a shutdown token, which a retry combinator
//! would hide. Thirty lines of arithmetic are easier to own than to adapt.

use std::time::Duration;

/// A retry schedule: `min` doubling per failure, capped at `max`, with equal jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure (before jitter).
    pub min: Duration,
    /// Largest delay (before jitter).
    pub max: Duration,
    /// Apply equal jitter (`[d/2, d]`). Off only where a test needs exact delays.
    pub jitter: bool,
}

impl Backoff {
    /// `min` doubling to `max`, jittered.
    pub const fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max,
            jitter: true,
        }
    }

    /// The same schedule without jitter.
    pub const fn exact(self) -> Self {
        Backoff {
            jitter: false,
            ..self
        }
    }

    /// The un-jittered delay after `failures` consecutive failures (1-based: the first
    /// failure waits `min`; 0 is treated as 1).
    pub fn base(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.min
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// The delay after `failures` consecutive failures, with jitter drawn from `unit`, a
    /// number in `[0, 1)` (callers pass a random one; tests pass fixed ones).
    pub fn delay_with(&self, failures: u32, unit: f64) -> Duration {
        let d = self.base(failures);
        if !self.jitter {
            return d;
        }
        let half = d / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// The delay after `failures` consecutive failures, randomly jittered.
    pub fn delay(&self, failures: u32) -> Duration {
        self.delay_with(failures, rand::random::<f64>())
    }

    /// A stateful retry counter over this schedule.
    pub fn retry(self) -> Retry {
        Retry {
            policy: self,
            failures: 0,
        }
    }
}

/// Consecutive failures of one loop, and the delay the next one waits.
#[derive(Clone, Debug)]
pub struct Retry {
    policy: Backoff,
    failures: u32,
}

impl Retry {
    /// Counts a failure and returns how long to wait before trying again.
    pub fn next_delay(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.policy.delay(self.failures)
    }

    /// A success: the next failure starts from `min` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn doubles_from_min_and_caps_at_max() {
        let b = Backoff::new(S, 30 * S).exact();
        assert_eq!(b.delay(0), S);
        assert_eq!(b.delay(1), S);
        assert_eq!(b.delay(2), 2 * S);
        assert_eq!(b.delay(5), 16 * S);
        assert_eq!(b.delay(6), 30 * S);
        assert_eq!(b.delay(u32::MAX), 30 * S);
        // A huge min cannot overflow.
        let big = Backoff::new(Duration::MAX / 2, Duration::MAX).exact();
        assert_eq!(big.delay(40), Duration::MAX);
    }

    #[test]
    fn equal_jitter_stays_within_half_and_whole() {
        let b = Backoff::new(S, 30 * S);
        assert_eq!(b.delay_with(3, 0.0), 2 * S);
        assert_eq!(b.delay_with(3, 0.5), 3 * S);
        assert_eq!(b.delay_with(3, 7.0), 4 * S);
        for _ in 0..200 {
            let d = b.delay(3);
            assert!(d >= 2 * S && d <= 4 * S, "{d:?}");
        }
    }

    #[test]
    fn retry_counts_and_resets() {
        let mut r = Backoff::new(S, 8 * S).exact().retry();
        assert_eq!(r.next_delay(), S);
        assert_eq!(r.next_delay(), 2 * S);
        assert_eq!(r.failures(), 2);
        r.reset();
        assert_eq!(r.next_delay(), S);
    }
}
