//! Many logged-in connections at once (`trackgate-sim conns`), two scenarios:
//!
//! - **idle soak**: open N sessions (login ACKed), send nothing, hold them; with
//!   `--server-pid` read the gateway's resident memory before (after a small warm-up) and
//!   after, and its CPU time over the hold. Per-connection figures therefore include what
//!   the gateway keeps for a device it sees for the first time (conservative).
//! - **reconnect storm**: N sessions each send a position every `--interval-ms` and wait for
//!   its ACK; at one instant every connection is dropped, and the devices come back evenly
//!   spread over `--window` seconds (connect + login, retried until `--deadline`), then keep
//!   reporting. Reported: time until all are logged in again, lost logins (never back),
//!   failed attempts that were retried, and ACK latency of logins and of positions during
//!   the storm.

use super::super::proto::{self, Identity, Kind, SimError, SimProtocol};
use super::super::stats::{fmt_us, Histogram};
use super::{fix_at, net, procfs, read_ack, AckKind};
use bytes::BytesMut;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::Instant;

/// Which scenario `conns` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ConnsScenario {
    /// Hold N idle logged-in connections; measure the gateway's RSS and CPU.
    Idle,
    /// Drop N reporting connections at once; they reconnect spread over `--window`.
    Storm,
}

/// `trackgate-sim conns`.
#[derive(Clone, Debug, clap::Args)]
pub struct ConnsArgs {
    /// Idle soak or reconnect storm.
    #[arg(long, value_enum)]
    pub scenario: ConnsScenario,
    /// Simulator kind (`gt06`, `jt808_2013`, `teltonika`, …; TCP kinds only).
    #[arg(long, default_value = "gt06")]
    pub kind: String,
    /// Gateway address; loopback only.
    #[arg(long)]
    pub target: SocketAddr,
    /// Connections (each one device).
    #[arg(long, default_value_t = 1000)]
    pub connections: usize,
    /// Most connections being opened at once during the initial ramp (keeps the listen
    /// backlog from overflowing; the storm's reconnects are paced by `--window` instead).
    #[arg(long, default_value_t = 200)]
    pub connect_concurrency: usize,
    /// Connections per source address 127.0.0.x (ephemeral ports are ≈ 28k per address).
    #[arg(long, default_value_t = net::DEFAULT_PER_SOURCE_IP)]
    pub per_source_ip: usize,
    /// Login/ACK timeout, ms.
    #[arg(long, default_value_t = 10_000)]
    pub ack_timeout_ms: u64,
    /// IMEI prefix (distinct from `load`'s, so the runs do not share devices).
    #[arg(long, default_value = "87")]
    pub imei_prefix: String,
    /// Idle: gateway process whose RSS (/proc/PID/status) and CPU (/proc/PID/stat) are read.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Idle: sessions opened and closed before the "before" RSS (warms the allocator and
    /// the runtime so their one-off growth is not charged to the measured connections).
    #[arg(long, default_value_t = 200)]
    pub warmup: usize,
    /// Idle: seconds to wait after a ramp before reading the RSS (lets closes and frees land).
    #[arg(long, default_value_t = 3.0)]
    pub settle: f64,
    /// Idle: seconds the connections are held (and the gateway's CPU measured).
    #[arg(long, default_value_t = 30.0)]
    pub hold: f64,
    /// Storm: seconds of steady reporting before the drop.
    #[arg(long, default_value_t = 5.0)]
    pub steady: f64,
    /// Storm: seconds over which the dropped devices come back.
    #[arg(long, default_value_t = 10.0)]
    pub window: f64,
    /// Storm: seconds of reporting after the window.
    #[arg(long, default_value_t = 5.0)]
    pub tail: f64,
    /// Storm: a device not logged in again this many seconds after the drop is lost.
    #[arg(long, default_value_t = 60.0)]
    pub deadline: f64,
    /// Storm: each device sends one position per this many ms (staggered across devices).
    #[arg(long, default_value_t = 2000)]
    pub interval_ms: u64,
}

/// Pause between a failed reconnect attempt and the next (devices back off too).
const RETRY_BACKOFF: Duration = Duration::from_secs(1);

/// The figures of an idle soak.
#[derive(Clone, Debug, serde::Serialize)]
pub struct IdleReport {
    /// Simulator kind.
    pub kind: String,
    /// Sessions that logged in and were held.
    pub connections: usize,
    /// Sessions that failed to connect or log in.
    pub connect_failures: usize,
    /// Held sessions the gateway had not closed at the end of the hold.
    pub still_open: usize,
    /// Seconds to open and log in all sessions.
    pub ramp_s: f64,
    /// Gateway RSS after the warm-up, before the ramp, KiB.
    pub rss_before_kib: Option<u64>,
    /// Gateway RSS with every session open, KiB.
    pub rss_after_kib: Option<u64>,
    /// `(rss_after − rss_before) / connections`, bytes.
    pub rss_per_conn_bytes: Option<f64>,
    /// Gateway RSS `--settle` seconds after every session was closed, KiB: what falls back
    /// is per-connection memory; what stays is per-device state plus allocator retention.
    pub rss_after_close_kib: Option<u64>,
    /// Hold (CPU window), s.
    pub hold_s: f64,
    /// Gateway CPU during the hold, % of one core.
    pub idle_cpu_percent: Option<f64>,
}

/// The figures of a reconnect storm.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StormReport {
    /// Simulator kind.
    pub kind: String,
    /// Sessions that logged in before the storm.
    pub connections: usize,
    /// Sessions that failed their first login (not part of the storm).
    pub connect_failures: usize,
    /// Position frames ACKed before the drop.
    pub steady_frames: u64,
    /// p99 position ACK latency before the drop, µs.
    pub steady_p99_us: Option<u64>,
    /// Connections dropped at the storm instant.
    pub dropped: u64,
    /// Devices logged in again.
    pub relogged: u64,
    /// Devices not logged in again within `--deadline` (must be 0).
    pub lost: u64,
    /// Reconnect attempts that failed and were retried.
    pub login_retries: u64,
    /// Spread of the reconnects, s.
    pub window_s: f64,
    /// From the drop until the last device was logged in again, s.
    pub all_back_s: Option<f64>,
    /// Connect + login latency of the reconnects, p50, µs.
    pub login_p50_us: Option<u64>,
    /// Connect + login latency of the reconnects, p99, µs.
    pub login_p99_us: Option<u64>,
    /// Position frames ACKed from the drop to the end.
    pub storm_frames: u64,
    /// Position ACK latency from the drop to the end, p50, µs.
    pub storm_p50_us: Option<u64>,
    /// Position ACK latency from the drop to the end, p99, µs.
    pub storm_p99_us: Option<u64>,
    /// Sessions that broke outside the drop (ACK timeout, closed by the gateway).
    pub errors: u64,
}

/// Runs `conns` and prints its report (one line on stderr, then JSON on stdout).
pub async fn run_conns(a: ConnsArgs) -> Result<(), SimError> {
    let json = match a.scenario {
        ConnsScenario::Idle => {
            let r = idle(&a).await?;
            eprintln!(
                "{} idle x{}: rss {:?} -> {:?} KiB ({:?} after close), {} B/conn, cpu {} % \
                 over {:.0}s ({} connect failures, {} still open, ramp {:.1}s)",
                r.kind,
                r.connections,
                r.rss_before_kib,
                r.rss_after_kib,
                r.rss_after_close_kib,
                r.rss_per_conn_bytes
                    .map_or("-".into(), |b| format!("{b:.0}")),
                r.idle_cpu_percent.map_or("-".into(), |c| format!("{c:.2}")),
                r.hold_s,
                r.connect_failures,
                r.still_open,
                r.ramp_s
            );
            serde_json::to_string(&r)
        }
        ConnsScenario::Storm => {
            let r = storm(&a).await?;
            eprintln!(
                "{} storm x{}: {} dropped, {} back in {}s (window {:.0}s), {} lost, {} retries, \
                 login p99 {}, ack p50 {} p99 {} during the storm ({} before), {} errors",
                r.kind,
                r.connections,
                r.dropped,
                r.relogged,
                r.all_back_s.map_or("-".into(), |s| format!("{s:.2}")),
                r.window_s,
                r.lost,
                r.login_retries,
                fmt_us(r.login_p99_us),
                fmt_us(r.storm_p50_us),
                fmt_us(r.storm_p99_us),
                fmt_us(r.steady_p99_us),
                r.errors
            );
            serde_json::to_string(&r)
        }
    };
    println!("{}", json.unwrap_or_default());
    Ok(())
}

fn check(a: &ConnsArgs) -> Result<&'static Kind, SimError> {
    if !a.target.ip().is_loopback() {
        return Err(SimError::Config(format!(
            "{}: loopback targets only",
            a.target
        )));
    }
    for (name, v) in [
        ("settle", a.settle),
        ("hold", a.hold),
        ("steady", a.steady),
        ("window", a.window),
        ("tail", a.tail),
        ("deadline", a.deadline),
    ] {
        if !(0.0..=86_400.0).contains(&v) {
            return Err(SimError::Config(format!(
                "--{name} {v}: expected 0..=86400 seconds"
            )));
        }
    }
    proto::kind(&a.kind)
        .filter(|k| k.transport == proto::Transport::Tcp)
        .ok_or_else(|| SimError::Config(format!("--kind {}: not a TCP kind", a.kind)))
}

fn device(a: &ConnsArgs, kind: &Kind, n: usize) -> Result<Box<dyn SimProtocol>, SimError> {
    (kind.build)(&Identity {
        imei: proto::imei(&a.imei_prefix, n as u64 + 1),
        index: n,
    })
}

/// Connects connection `i` (its source address) and logs `p` in, every step ACKed.
async fn login(
    a: &ConnsArgs,
    i: usize,
    p: &mut dyn SimProtocol,
) -> Result<(TcpStream, BytesMut), SimError> {
    let timeout = Duration::from_millis(a.ack_timeout_ms);
    let mut s = net::connect(i, a.per_source_ip, a.target).await?;
    s.set_nodelay(true)?;
    let mut buf = BytesMut::with_capacity(64);
    let mut step = p.login()?;
    while let Some(f) = step {
        s.write_all(&f.bytes).await?;
        let deadline = Instant::now() + timeout;
        step = read_ack(&mut s, &mut buf, p, &f, AckKind::Protocol, deadline).await?;
    }
    Ok((s, buf))
}

/// Opens devices `first..first + n` (connection indexes `0..n`), at most
/// `connect_concurrency` at a time; returns the open sessions and the failure count.
async fn open_many(a: &ConnsArgs, kind: &Kind, first: usize, n: usize) -> (Vec<TcpStream>, usize) {
    let gate = Arc::new(Semaphore::new(a.connect_concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let (a, gate) = (a.clone(), gate.clone());
        let p = device(&a, kind, first + i);
        tasks.spawn(async move {
            let mut p = p?;
            let _permit = gate.acquire().await;
            login(&a, i, p.as_mut()).await.map(|(s, _)| s)
        });
    }
    let (mut open, mut failed) = (Vec::with_capacity(n), 0);
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(Ok(s)) => open.push(s),
            _ => failed += 1,
        }
    }
    (open, failed)
}

/// Whether the peer has not closed `s`: a non-blocking read sees no EOF and no error.
fn is_open(s: &TcpStream) -> bool {
    let mut b = [0u8; 16];
    match s.try_read(&mut b) {
        Ok(0) => false,
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
    }
}

async fn idle(a: &ConnsArgs) -> Result<IdleReport, SimError> {
    let kind = check(a)?;
    let settle = Duration::from_secs_f64(a.settle);
    let rss = |pid| procfs::rss_kib(pid).map_err(|e| SimError::Config(e.to_string()));
    let ticks = |pid| procfs::cpu_ticks(pid).map_err(|e| SimError::Config(e.to_string()));
    let mut rss_before = None;
    if let Some(pid) = a.server_pid {
        // Warm-up devices come after the measured ones, so they are never the same devices.
        let (warm, _) = open_many(a, kind, a.connections, a.warmup).await;
        drop(warm);
        tokio::time::sleep(settle).await;
        rss_before = Some(rss(pid)?);
    }
    let t = Instant::now();
    let (open, connect_failures) = open_many(a, kind, 0, a.connections).await;
    let ramp_s = t.elapsed().as_secs_f64();
    tokio::time::sleep(settle).await;
    let hold = Duration::from_secs_f64(a.hold);
    let (mut rss_after, mut cpu) = (None, None);
    match a.server_pid {
        Some(pid) => {
            rss_after = Some(rss(pid)?);
            let t0 = ticks(pid)?;
            let w = Instant::now();
            tokio::time::sleep(hold).await;
            cpu = procfs::cpu_percent(t0, ticks(pid)?, w.elapsed());
        }
        None => tokio::time::sleep(hold).await,
    }
    let still_open = open.iter().filter(|s| is_open(s)).count();
    let held = open.len();
    drop(open);
    let mut rss_after_close = None;
    if let Some(pid) = a.server_pid {
        tokio::time::sleep(settle).await;
        rss_after_close = Some(rss(pid)?);
    }
    let per_conn = match (rss_before, rss_after) {
        (Some(b), Some(x)) => procfs::per_connection_bytes(b, x, held),
        _ => None,
    };
    Ok(IdleReport {
        kind: kind.name.to_string(),
        connections: held,
        connect_failures,
        still_open,
        ramp_s,
        rss_before_kib: rss_before,
        rss_after_kib: rss_after,
        rss_per_conn_bytes: per_conn,
        rss_after_close_kib: rss_after_close,
        hold_s: a.hold,
        idle_cpu_percent: cpu,
    })
}

#[derive(Default)]
struct StormCounters {
    steady: Histogram,
    steady_frames: AtomicU64,
    login: Histogram,
    storm: Histogram,
    storm_frames: AtomicU64,
    dropped: AtomicU64,
    relogged: AtomicU64,
    lost: AtomicU64,
    retries: AtomicU64,
    errors: AtomicU64,
    /// Latest relogin, µs after the drop.
    last_back_us: AtomicU64,
}

/// The instants every device task shares.
#[derive(Clone, Copy)]
struct Timeline {
    start: Instant,
    drop: Instant,
    end: Instant,
}

/// Sends one position per `interval` from `first` on, each waiting for its ACK, until the
/// caller stops polling (the drop or the end of the run).
#[allow(clippy::too_many_arguments)]
async fn report(
    s: &mut TcpStream,
    buf: &mut BytesMut,
    p: &mut dyn SimProtocol,
    seq: &mut u64,
    lat: f64,
    first: Instant,
    interval: Duration,
    timeout: Duration,
    hist: &Histogram,
    frames: &AtomicU64,
) -> Result<(), SimError> {
    let mut next = first;
    loop {
        tokio::time::sleep_until(next).await;
        *seq += 1;
        let f = p.positions(&[fix_at(*seq, lat)], false)?;
        let sent = Instant::now();
        s.write_all(&f.bytes).await?;
        read_ack(s, buf, p, &f, AckKind::Protocol, sent + timeout).await?;
        hist.record(sent.elapsed());
        frames.fetch_add(1, Relaxed);
        // A slow ACK delays the next report instead of causing a burst to catch up.
        next = (next + interval).max(Instant::now());
    }
}

async fn storm(a: &ConnsArgs) -> Result<StormReport, SimError> {
    let kind = check(a)?;
    let n = a.connections;
    let c = Arc::new(StormCounters::default());
    let gate = Arc::new(Semaphore::new(a.connect_concurrency.max(1)));
    let (ready_tx, mut ready_rx) = mpsc::channel::<bool>(n.max(1));
    let (start_tx, start_rx) = watch::channel::<Option<Timeline>>(None);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let mut p = device(a, kind, i)?;
        let (a, c, ready, mut start, gate) = (
            a.clone(),
            c.clone(),
            ready_tx.clone(),
            start_rx.clone(),
            gate.clone(),
        );
        tasks.spawn(async move {
            let timeout = Duration::from_millis(a.ack_timeout_ms);
            let interval = Duration::from_millis(a.interval_ms.max(1));
            let opened = {
                let _permit = gate.acquire().await;
                login(&a, i, p.as_mut()).await
            };
            let _ = ready.send(opened.is_ok()).await;
            drop(ready);
            let Ok((mut s, mut buf)) = opened else { return };
            let t = loop {
                if let Some(t) = *start.borrow() {
                    break t;
                }
                if start.changed().await.is_err() {
                    return;
                }
            };
            let lat = 47.0 + (i % 1000) as f64 * 1e-3;
            let mut seq = 0u64;
            let first = t.start + net::spread(i, n, interval);
            let steady = tokio::select! {
                r = report(&mut s, &mut buf, p.as_mut(), &mut seq, lat, first, interval,
                           timeout, &c.steady, &c.steady_frames) => r,
                _ = tokio::time::sleep_until(t.drop) => Ok(()),
            };
            if steady.is_err() {
                c.errors.fetch_add(1, Relaxed);
            }
            // The storm: every connection goes away at the same instant.
            drop(s);
            c.dropped.fetch_add(1, Relaxed);
            let window = Duration::from_secs_f64(a.window);
            tokio::time::sleep_until(t.drop + net::spread(i, n, window)).await;
            let give_up = t.drop + Duration::from_secs_f64(a.deadline);
            let (mut s, mut buf) = loop {
                let tried = Instant::now();
                let r = tokio::time::timeout_at(give_up, login(&a, i, p.as_mut())).await;
                match r {
                    Ok(Ok(session)) => {
                        c.login.record(tried.elapsed());
                        let back = u64::try_from(t.drop.elapsed().as_micros()).unwrap_or(u64::MAX);
                        c.last_back_us.fetch_max(back, Relaxed);
                        c.relogged.fetch_add(1, Relaxed);
                        break session;
                    }
                    Ok(Err(_)) if Instant::now() + RETRY_BACKOFF < give_up => {
                        c.retries.fetch_add(1, Relaxed);
                        tokio::time::sleep(RETRY_BACKOFF).await;
                    }
                    _ => {
                        c.lost.fetch_add(1, Relaxed);
                        return;
                    }
                }
            };
            let next = Instant::now() + net::spread(i, n, interval);
            let after = tokio::select! {
                r = report(&mut s, &mut buf, p.as_mut(), &mut seq, lat, next, interval,
                           timeout, &c.storm, &c.storm_frames) => r,
                _ = tokio::time::sleep_until(t.end) => Ok(()),
            };
            if after.is_err() {
                c.errors.fetch_add(1, Relaxed);
            }
        });
    }
    drop(ready_tx);
    let (mut ok, mut failed) = (0usize, 0usize);
    while let Some(r) = ready_rx.recv().await {
        if r {
            ok += 1
        } else {
            failed += 1
        }
    }
    let start = Instant::now();
    let drop_at = start + Duration::from_secs_f64(a.steady);
    let end = drop_at + Duration::from_secs_f64(a.window + a.tail);
    let _ = start_tx.send(Some(Timeline {
        start,
        drop: drop_at,
        end,
    }));
    while tasks.join_next().await.is_some() {}
    let q = |h: &Histogram, x| {
        h.quantile(x)
            .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    };
    let relogged = c.relogged.load(Relaxed);
    Ok(StormReport {
        kind: kind.name.to_string(),
        connections: ok,
        connect_failures: failed,
        steady_frames: c.steady_frames.load(Relaxed),
        steady_p99_us: q(&c.steady, 0.99),
        dropped: c.dropped.load(Relaxed),
        relogged,
        lost: c.lost.load(Relaxed),
        login_retries: c.retries.load(Relaxed),
        window_s: a.window,
        all_back_s: (relogged > 0).then(|| c.last_back_us.load(Relaxed) as f64 / 1e6),
        login_p50_us: q(&c.login, 0.5),
        login_p99_us: q(&c.login, 0.99),
        storm_frames: c.storm_frames.load(Relaxed),
        storm_p50_us: q(&c.storm, 0.5),
        storm_p99_us: q(&c.storm, 0.99),
        errors: c.errors.load(Relaxed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn is_open_sees_the_peer_close() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = l.local_addr().expect("addr");
        let kept = TcpStream::connect(addr).await.expect("connect");
        let (mut kept_peer, _) = l.accept().await.expect("accept");
        let closed = TcpStream::connect(addr).await.expect("connect");
        let (closed_peer, _) = l.accept().await.expect("accept");
        drop(closed_peer);
        // The FIN has arrived once the socket reports readable; nothing is read here.
        closed.readable().await.expect("readable");
        assert!(is_open(&kept));
        assert!(!is_open(&closed));
        // Data from the peer (a server command) is not mistaken for a close.
        kept_peer.write_all(b"x").await.expect("write");
        kept.readable().await.expect("readable");
        assert!(is_open(&kept));
    }

    #[test]
    fn bad_arguments_are_refused_before_any_connection() {
        let mut a = ConnsArgs {
            scenario: ConnsScenario::Idle,
            kind: "gt06".into(),
            target: "127.0.0.1:1".parse().expect("addr"),
            connections: 1,
            connect_concurrency: 1,
            per_source_ip: 10,
            ack_timeout_ms: 10,
            imei_prefix: "87".into(),
            server_pid: None,
            warmup: 0,
            settle: 0.0,
            hold: 0.0,
            steady: 0.0,
            window: 1.0,
            tail: 0.0,
            deadline: 1.0,
            interval_ms: 10,
        };
        assert_eq!(check(&a).expect("valid").name, "gt06");
        a.window = -1.0;
        assert!(matches!(check(&a), Err(SimError::Config(_))));
        a.window = f64::NAN;
        assert!(matches!(check(&a), Err(SimError::Config(_))));
        a.window = 1.0;
        a.kind = "teltonika_udp".into();
        assert!(matches!(check(&a), Err(SimError::Config(_))));
        a.kind = "gt06".into();
        a.target = "192.0.2.1:5023".parse().expect("addr");
        assert!(matches!(check(&a), Err(SimError::Config(_))));
    }
}
