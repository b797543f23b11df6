//! Per-source-address limits on TCP connections, checked at accept: how many may be open
//! (`max_connections_per_ip`) and how fast new ones may come (`new_connections_per_ip_per_sec`,
//! a token bucket holding up to `max_connections_per_ip` tokens).
//!
//! Why both: the count stops one host from holding a protocol's whole `max_connections`; the
//! rate stops a host that opens and closes connections in a loop (never many at once) from
//! keeping the accept loop, and the TLS handshakes in front of it, busy. The burst equals the
//! count so that a carrier NAT address whose trackers all reconnect after an outage gets them
//! back at once.
//!
//! IPv4 addresses count one by one; IPv6 addresses by their /64, the block one subscriber
//! gets (counting single /128s would let one host use 2^64 addresses). Entries are dropped
//! once no connection is open and the bucket has refilled, so the table holds only hosts
//! seen recently.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Why a connection was refused (the `reason` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PerIpRefusal {
    /// `max_connections_per_ip` are open from this address.
    Connections,
    /// The address opened connections faster than `new_connections_per_ip_per_sec`.
    Rate,
}

impl PerIpRefusal {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            PerIpRefusal::Connections => "connections",
            PerIpRefusal::Rate => "rate",
        }
    }
}

struct Entry {
    open: usize,
    tokens: f64,
    refilled: Instant,
}

/// Sweep the table for idle entries every this many accepts.
const SWEEP_EVERY: u32 = 1024;

/// The table of one listener.
pub struct PerIp {
    max_open: usize,
    per_sec: f64,
    table: Mutex<(HashMap<IpAddr, Entry>, u32)>,
}

/// An open connection's place in the table; frees it when dropped.
pub struct IpSlot {
    owner: Arc<PerIp>,
    key: IpAddr,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut t = self.owner.lock();
        if let Some(e) = t.0.get_mut(&self.key) {
            e.open = e.open.saturating_sub(1);
        }
    }
}

/// The address connections from `ip` count under.
fn key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

impl PerIp {
    /// Limits of `max_open` open connections and `per_sec` new ones per second per address.
    pub fn new(max_open: usize, per_sec: u32) -> Arc<Self> {
        Arc::new(PerIp {
            max_open: max_open.max(1),
            per_sec: f64::from(per_sec.max(1)),
            table: Mutex::new((HashMap::new(), 0)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (HashMap<IpAddr, Entry>, u32)> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits a new connection from `ip` at `now`, or says which limit refuses it.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, now: Instant) -> Result<IpSlot, PerIpRefusal> {
        let burst = self.max_open as f64;
        let k = key(ip);
        let mut t = self.lock();
        t.1 = t.1.wrapping_add(1);
        if t.1.is_multiple_of(SWEEP_EVERY) {
            let per_sec = self.per_sec;
            t.0.retain(|_, e| e.open > 0 || e.tokens + refill(e, now, per_sec) < burst);
        }
        let e = t.0.entry(k).or_insert(Entry {
            open: 0,
            tokens: burst,
            refilled: now,
        });
        e.tokens = (e.tokens + refill(e, now, self.per_sec)).min(burst);
        e.refilled = now;
        if e.open >= self.max_open {
            return Err(PerIpRefusal::Connections);
        }
        if e.tokens < 1.0 {
            return Err(PerIpRefusal::Rate);
        }
        e.tokens -= 1.0;
        e.open += 1;
        Ok(IpSlot {
            owner: self.clone(),
            key: k,
        })
    }
}

/// Tokens earned since the entry was last refilled.
fn refill(e: &Entry, now: Instant, per_sec: f64) -> f64 {
    now.saturating_duration_since(e.refilled).as_secs_f64() * per_sec
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn open_connections_are_capped_per_address() {
        let l = PerIp::new(2, 1000);
        let now = Instant::now();
        let a = l.admit(ip("10.0.0.1"), now).unwrap();
        let _b = l.admit(ip("10.0.0.1"), now).unwrap();
        assert_eq!(
            l.admit(ip("10.0.0.1"), now).err(),
            Some(PerIpRefusal::Connections)
        );
        assert!(l.admit(ip("10.0.0.2"), now).is_ok(), "another address");
        drop(a);
        let later = now + std::time::Duration::from_millis(10);
        assert!(l.admit(ip("10.0.0.1"), later).is_ok(), "a slot was freed");
    }

    #[test]
    fn new_connections_are_rate_limited_with_a_burst() {
        let l = PerIp::new(3, 2);
        let t0 = Instant::now();
        for _ in 0..3 {
            drop(l.admit(ip("192.0.2.1"), t0).unwrap());
        }
        assert_eq!(l.admit(ip("192.0.2.1"), t0).err(), Some(PerIpRefusal::Rate));
        let later = t0 + Duration::from_millis(500);
        drop(l.admit(ip("192.0.2.1"), later).unwrap());
        assert_eq!(
            l.admit(ip("192.0.2.1"), later).err(),
            Some(PerIpRefusal::Rate)
        );
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let l = PerIp::new(1, 1000);
        let now = Instant::now();
        let _a = l.admit(ip("2001:db8:1:2::1"), now).unwrap();
        assert_eq!(
            l.admit(ip("2001:db8:1:2:ffff::9"), now).err(),
            Some(PerIpRefusal::Connections)
        );
        assert!(l.admit(ip("2001:db8:1:3::1"), now).is_ok());
        let _v4 = l.admit(ip("10.1.1.1"), now).unwrap();
        assert!(l.admit(ip("::ffff:10.1.1.1"), now).is_err());
    }

    #[test]
    fn idle_entries_are_swept() {
        let l = PerIp::new(4, 1000);
        let t0 = Instant::now();
        for i in 0..SWEEP_EVERY - 1 {
            drop(
                l.admit(IpAddr::from([10, 0, (i >> 8) as u8, i as u8]), t0)
                    .unwrap(),
            );
        }
        assert_eq!(l.lock().0.len(), SWEEP_EVERY as usize - 1);
        drop(
            l.admit(ip("10.9.9.9"), t0 + Duration::from_secs(1))
                .unwrap(),
        );
        assert_eq!(l.lock().0.len(), 1, "only the newest entry is left");
    }
}
