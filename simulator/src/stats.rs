//! Counters and an ACK-latency histogram shared by every simulated device, read by the
//! progress line and the final report. Lock-free: thousands of device tasks update them.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Bucket growth factor of the latency histogram: each bucket is 5 % wider than the last, so
/// a percentile read from it is within 5 % of the true value.
const GROWTH: f64 = 1.05;
/// Buckets cover 1 µs .. 1.05^400 µs (≈ 3 h), far beyond any ACK timeout.
const BUCKETS: usize = 400;

/// A log-bucketed latency histogram (microseconds).
pub struct Histogram {
    buckets: Vec<AtomicU64>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Histogram {
    fn index(us: u64) -> usize {
        if us <= 1 {
            return 0;
        }
        ((us as f64).ln() / GROWTH.ln())
            .ceil()
            .min((BUCKETS - 1) as f64) as usize
    }

    /// Records one sample.
    pub fn record(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.buckets[Self::index(us)].fetch_add(1, Relaxed);
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Relaxed)).sum()
    }

    /// The `q` quantile (0..=1) as the upper bound of its bucket; `None` without samples.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(Duration::from_micros(GROWTH.powi(i as i32).round() as u64));
            }
        }
        None
    }
}

/// Everything the fleet counts. Gauges are signed so a decrement never wraps.
#[derive(Default)]
pub struct Stats {
    /// Devices with a logged-in connection now.
    pub connected: AtomicI64,
    /// Successful logins (first ones and after reconnects).
    pub logins: AtomicU64,
    /// Connection attempts that failed, or sessions that broke and were retried.
    pub reconnects: AtomicU64,
    /// Frames written (first attempts).
    pub frames_sent: AtomicU64,
    /// Frames written again after an ACK timeout or a short count.
    pub resends: AtomicU64,
    /// Fixes produced by the trucks.
    pub records_generated: AtomicU64,
    /// Fixes written at least once.
    pub records_sent: AtomicU64,
    /// Fixes the gateway acknowledged (each counted once).
    pub records_acked: AtomicU64,
    /// Fixes written to a protocol that never answers them (Coban positions): handed over
    /// but unconfirmed, so never counted as ACKed; only the gateway's API can confirm them.
    pub records_unconfirmed: AtomicU64,
    /// Fixes uploaded as backlog after a signal gap or a reconnect.
    pub records_backlog: AtomicU64,
    /// Heartbeats acknowledged.
    pub heartbeats: AtomicU64,
    /// Replies that did not match what was sent (wrong serial, bad checksum …).
    pub bad_acks: AtomicU64,
    /// Latency from writing a frame to reading its ACK.
    pub ack_latency: Histogram,
}

/// A point-in-time copy of [`Stats`], for reports and assertions.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Snapshot {
    /// See [`Stats::connected`].
    pub connected: i64,
    /// See [`Stats::logins`].
    pub logins: u64,
    /// See [`Stats::reconnects`].
    pub reconnects: u64,
    /// See [`Stats::frames_sent`].
    pub frames_sent: u64,
    /// See [`Stats::resends`].
    pub resends: u64,
    /// See [`Stats::records_generated`].
    pub records_generated: u64,
    /// See [`Stats::records_sent`].
    pub records_sent: u64,
    /// See [`Stats::records_acked`].
    pub records_acked: u64,
    /// See [`Stats::records_unconfirmed`].
    pub records_unconfirmed: u64,
    /// See [`Stats::records_backlog`].
    pub records_backlog: u64,
    /// See [`Stats::heartbeats`].
    pub heartbeats: u64,
    /// See [`Stats::bad_acks`].
    pub bad_acks: u64,
    /// ACKs measured.
    pub acks: u64,
    /// Median ACK latency, µs (bucket upper bound, within 5 %).
    pub p50_us: Option<u64>,
    /// 99th percentile ACK latency, µs.
    pub p99_us: Option<u64>,
}

impl Stats {
    /// Copies every counter.
    pub fn snapshot(&self) -> Snapshot {
        let q = |x| {
            self.ack_latency
                .quantile(x)
                .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        };
        Snapshot {
            connected: self.connected.load(Relaxed),
            logins: self.logins.load(Relaxed),
            reconnects: self.reconnects.load(Relaxed),
            frames_sent: self.frames_sent.load(Relaxed),
            resends: self.resends.load(Relaxed),
            records_generated: self.records_generated.load(Relaxed),
            records_sent: self.records_sent.load(Relaxed),
            records_acked: self.records_acked.load(Relaxed),
            records_unconfirmed: self.records_unconfirmed.load(Relaxed),
            records_backlog: self.records_backlog.load(Relaxed),
            heartbeats: self.heartbeats.load(Relaxed),
            bad_acks: self.bad_acks.load(Relaxed),
            acks: self.ack_latency.count(),
            p50_us: q(0.5),
            p99_us: q(0.99),
        }
    }
}

/// Formats microseconds for the progress line.
pub fn fmt_us(us: Option<u64>) -> String {
    match us {
        None => "-".into(),
        Some(us) if us < 10_000 => format!("{:.2}ms", us as f64 / 1000.0),
        Some(us) => format!("{}ms", us / 1000),
    }
}

impl Snapshot {
    /// The one-line progress summary printed while a run goes on.
    pub fn progress_line(&self, devices: usize, elapsed: Duration) -> String {
        // Only fleets with a protocol that has no position reply show the unconfirmed count.
        let unconfirmed = if self.records_unconfirmed > 0 {
            format!(
                " unconfirmed {} (no reply exists)",
                self.records_unconfirmed
            )
        } else {
            String::new()
        };
        format!(
            "[{:>5.1}s] devices {}/{} connected | records sent {} acked {}{unconfirmed} (backlog {}) | \
             frames {} resent {} | heartbeats {} | ack p50 {} p99 {}",
            elapsed.as_secs_f64(),
            self.connected,
            devices,
            self.records_sent,
            self.records_acked,
            self.records_backlog,
            self.frames_sent,
            self.resends,
            self.heartbeats,
            fmt_us(self.p50_us),
            fmt_us(self.p99_us),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_five_percent() {
        let h = Histogram::default();
        for ms in 1..=100u64 {
            h.record(Duration::from_millis(ms));
        }
        assert_eq!(h.count(), 100);
        let p50 = h.quantile(0.5).expect("samples").as_micros() as f64;
        let p99 = h.quantile(0.99).expect("samples").as_micros() as f64;
        assert!((50_000.0..=52_500.0).contains(&p50), "p50 {p50}");
        assert!((99_000.0..=103_950.0).contains(&p99), "p99 {p99}");
        assert_eq!(Histogram::default().quantile(0.5), None);
    }

    #[test]
    fn zero_and_huge_samples_do_not_panic() {
        let h = Histogram::default();
        h.record(Duration::ZERO);
        h.record(Duration::from_secs(1 << 40));
        assert_eq!(h.count(), 2);
        assert_eq!(h.quantile(0.0), Some(Duration::from_micros(1)));
    }
}
