//! Opening many loopback connections: source-address spreading and even spacing in time.
//!
//! Why spread sources: a Linux client gets its ephemeral ports from
//! `net.ipv4.ip_local_port_range` (32768–60999 here, ≈ 28k ports), and ports of connections
//! closed by the client linger in TIME_WAIT for 60 s. Back-to-back runs of 10k–19k
//! connections to one listener would run out. The whole of 127.0.0.0/8 is local, so
//! connection `i` uses source `127.0.0.(1 + i / per_ip)`: the first block connects exactly as
//! a plain `connect()` does (kernel-chosen source), later blocks bind their own address.

use super::super::proto::SimError;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};

/// Connections per source address. Well under the ≈ 28k ephemeral ports of one address, so a
/// run right after another still finds free ports while the last run's are in TIME_WAIT.
pub const DEFAULT_PER_SOURCE_IP: usize = 10_000;

/// Highest last octet used as a source (127.0.0.255 is the broadcast address of 127/24).
const MAX_OCTET: usize = 254;

/// The source address of connection `i`: `None` for the first `per_ip` (let the kernel
/// choose, as `connect()` does), then `127.0.0.2`, `127.0.0.3`, … one per block.
pub fn source_ip(i: usize, per_ip: usize) -> Result<Option<Ipv4Addr>, SimError> {
    let block = i / per_ip.max(1);
    if block == 0 {
        return Ok(None);
    }
    let octet = 1 + block;
    if octet > MAX_OCTET {
        return Err(SimError::Config(format!(
            "connection {i}: more than {MAX_OCTET} source addresses of {per_ip} connections"
        )));
    }
    Ok(Some(Ipv4Addr::new(127, 0, 0, octet as u8)))
}

/// Connects connection `i` to `target` from its source address (see [`source_ip`]).
pub async fn connect(i: usize, per_ip: usize, target: SocketAddr) -> Result<TcpStream, SimError> {
    let Some(src) = source_ip(i, per_ip)? else {
        return Ok(TcpStream::connect(target).await?);
    };
    if !matches!(target.ip(), IpAddr::V4(ip) if ip.is_loopback()) {
        return Err(SimError::Config(format!(
            "{target}: more than {per_ip} connections need an IPv4 loopback target"
        )));
    }
    let sock = TcpSocket::new_v4()?;
    // Lets bind() take a port whose previous connection is still in TIME_WAIT.
    sock.set_reuseaddr(true)?;
    sock.bind(SocketAddr::new(IpAddr::V4(src), 0))?;
    Ok(sock.connect(target).await?)
}

/// When item `i` of `n` starts within `span`: evenly spaced, the first at 0, the last at
/// `span × (n−1)/n`, so `n` events fill the span at a constant rate.
pub fn spread(i: usize, n: usize, span: Duration) -> Duration {
    if n == 0 {
        return Duration::ZERO;
    }
    span.mul_f64(i.min(n) as f64 / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_change_every_block() {
        assert_eq!(source_ip(0, 10_000).expect("ok"), None);
        assert_eq!(source_ip(9_999, 10_000).expect("ok"), None);
        assert_eq!(
            source_ip(10_000, 10_000).expect("ok"),
            Some(Ipv4Addr::new(127, 0, 0, 2))
        );
        assert_eq!(
            source_ip(25_000, 10_000).expect("ok"),
            Some(Ipv4Addr::new(127, 0, 0, 3))
        );
        // per_ip 0 is treated as 1 rather than dividing by zero.
        assert_eq!(
            source_ip(3, 0).expect("ok"),
            Some(Ipv4Addr::new(127, 0, 0, 4))
        );
        assert!(source_ip(253, 1).is_ok());
        assert!(matches!(source_ip(254, 1), Err(SimError::Config(_))));
    }

    #[test]
    fn spread_is_even_and_stays_inside_the_span() {
        let s = Duration::from_secs(10);
        assert_eq!(spread(0, 4, s), Duration::ZERO);
        assert_eq!(spread(1, 4, s), Duration::from_millis(2500));
        assert_eq!(spread(3, 4, s), Duration::from_millis(7500));
        assert_eq!(spread(9, 4, s), s);
        assert_eq!(spread(0, 0, s), Duration::ZERO);
    }

    #[tokio::test]
    async fn later_blocks_connect_from_their_own_address() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let target = l.local_addr().expect("addr");
        let first = connect(0, 2, target).await.expect("connect");
        let (_a, peer0) = l.accept().await.expect("accept");
        let third = connect(5, 2, target).await.expect("connect");
        let (_b, peer1) = l.accept().await.expect("accept");
        assert_eq!(peer0.ip(), first.local_addr().expect("addr").ip());
        // Connection 5 with 2 per address is in block 2: 127.0.0.3.
        assert_eq!(peer1.ip(), IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)));
        assert_eq!(third.local_addr().expect("addr").ip(), peer1.ip());
    }
}
