//! Load benchmark (issue 7): closed-loop connections that each send a frame and wait for its
//! ACK (frames/s, p50/p99 ACK latency), a Teltonika backlog flush (records/s), and the two
//! baseline servers the gateway is compared with: read-and-discard and a ping-pong server
//! answering every frame with a fixed 4-byte ACK. Baselines frame the stream with trackgate's
//! own framer (no decode, no log), on the same tokio runtime settings as the gateway.
//!
//! ```text
//! load.rs          closed loop and flush (`load`), baseline servers (`baseline`)
//! load/conns.rs    many logged-in connections (`conns`): idle soak, reconnect storm
//! load/net.rs      source-address spreading over 127.0.0.x, even spacing in time
//! load/procfs.rs   the gateway's RSS and CPU time from /proc/<pid>
//! ```
//! The scripts in `bench/` start the gateway and the baselines and run all of these.

pub mod conns;
pub mod net;
pub mod procfs;

use super::motion::Fix;
use super::proto::{self, Answer, Frame, Identity, SimError, SimProtocol};
use super::stats::{fmt_us, Histogram};
use bytes::BytesMut;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::Instant;
use trackgate::protocol::{DecoderOptions, FrameResult};

/// How the client recognises an ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AckKind {
    /// The protocol's real ACK, parsed and matched (against trackgate).
    Protocol,
    /// Any 4 bytes (against the ping-pong baseline).
    Fixed4,
    /// No ACK: write everything, half-close, wait for the server to close (read-and-discard).
    None,
}

/// What each connection does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LoadMode {
    /// One single-fix frame in flight per connection, for `--duration` seconds.
    Closed,
    /// Upload `--records` fixes in packets of `--batch`, each waiting for its ACK.
    Flush,
}

/// `trackgate-sim load`.
#[derive(Clone, Debug, clap::Args)]
pub struct LoadArgs {
    /// Simulator kind (`gt06`, `jt808_2013`, `teltonika`, …; TCP kinds only).
    #[arg(long, default_value = "gt06")]
    pub kind: String,
    /// Gateway (or baseline) address; loopback only.
    #[arg(long)]
    pub target: SocketAddr,
    /// Simultaneous connections.
    #[arg(long, default_value_t = 1000)]
    pub connections: usize,
    /// Closed mode: measurement time, seconds.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Closed or flush.
    #[arg(long, value_enum, default_value_t = LoadMode::Closed)]
    pub mode: LoadMode,
    /// Flush mode: fixes per connection.
    #[arg(long, default_value_t = 2000)]
    pub records: usize,
    /// Flush mode: fixes per packet (capped by the protocol's maximum).
    #[arg(long, default_value_t = 25)]
    pub batch: usize,
    /// How ACKs are recognised.
    #[arg(long, value_enum, default_value_t = AckKind::Protocol)]
    pub ack: AckKind,
    /// ACK timeout, ms; a timed-out connection counts as an error and stops.
    #[arg(long, default_value_t = 30_000)]
    pub ack_timeout_ms: u64,
    /// Most connections being opened at once (keeps the listen backlog from overflowing).
    #[arg(long, default_value_t = 200)]
    pub connect_concurrency: usize,
    /// IMEI prefix, so repeated runs can use distinct devices.
    #[arg(long, default_value = "86")]
    pub imei_prefix: String,
}

/// The figures of one load run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LoadReport {
    /// Echo of the kind and mode.
    pub kind: String,
    /// `closed` or `flush`.
    pub mode: String,
    /// Connections that logged in.
    pub connections: usize,
    /// Connections that failed to connect or log in.
    pub connect_failures: usize,
    /// Connections that failed during the measurement.
    pub errors: u64,
    /// Measurement time, s.
    pub elapsed_s: f64,
    /// Frames acknowledged (or written, with `--ack none`).
    pub frames: u64,
    /// Fixes carried by those frames.
    pub records: u64,
    /// `frames / elapsed_s`.
    pub frames_per_s: f64,
    /// `records / elapsed_s`.
    pub records_per_s: f64,
    /// Median ACK latency, µs.
    pub p50_us: Option<u64>,
    /// 99th percentile ACK latency, µs.
    pub p99_us: Option<u64>,
}

struct Counters {
    frames: AtomicU64,
    records: AtomicU64,
    errors: AtomicU64,
    latency: Histogram,
}

fn fix_at(i: u64, lat: f64) -> Fix {
    Fix {
        time: chrono::Utc::now() - chrono::Duration::seconds(86_400)
            + chrono::Duration::seconds(i as i64),
        lat,
        lon: 8.54 + (i % 1000) as f64 * 1e-4,
        speed_kmh: 60.0,
        course: 90.0,
        altitude_m: 400.0,
        satellites: 9,
        hdop: 0.0,
        valid: true,
        ignition: true,
        odometer_m: i as f64 * 250.0,
    }
}

async fn read_ack(
    s: &mut TcpStream,
    buf: &mut BytesMut,
    p: &mut dyn SimProtocol,
    f: &Frame,
    ack: AckKind,
    deadline: Instant,
) -> Result<Option<Frame>, SimError> {
    loop {
        match ack {
            AckKind::None => return Ok(None),
            AckKind::Fixed4 if buf.len() >= 4 => {
                let _ = buf.split_to(4);
                return Ok(None);
            }
            AckKind::Protocol => {
                if let Some(r) = p.cut_reply(f, buf)? {
                    match p.check_reply(f, &r)? {
                        Answer::Acked => return Ok(None),
                        Answer::Next(next) => return Ok(Some(next)),
                        Answer::Unrelated => continue,
                        Answer::Retry(why) => return Err(SimError::BadReply(why)),
                    }
                }
            }
            AckKind::Fixed4 => {}
        }
        match tokio::time::timeout_at(deadline, s.read_buf(buf)).await {
            Err(_) => {
                return Err(SimError::Timeout {
                    what: "load ack".into(),
                    attempts: 1,
                })
            }
            Ok(Ok(0)) => return Err(SimError::Closed),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e.into()),
        }
    }
}

/// Runs the load benchmark and prints its report (one line, then JSON).
pub async fn run_load(a: LoadArgs) -> Result<(), SimError> {
    let r = load(&a).await?;
    eprintln!(
        "{} {} x{}: {:.0} frames/s, {:.0} records/s, ack p50 {} p99 {} ({} connect failures, {} errors, {:.1}s)",
        r.kind,
        r.mode,
        r.connections,
        r.frames_per_s,
        r.records_per_s,
        fmt_us(r.p50_us),
        fmt_us(r.p99_us),
        r.connect_failures,
        r.errors,
        r.elapsed_s
    );
    println!("{}", serde_json::to_string(&r).unwrap_or_default());
    Ok(())
}

/// Runs the load benchmark and returns its figures.
pub async fn load(a: &LoadArgs) -> Result<LoadReport, SimError> {
    let kind = proto::kind(&a.kind)
        .filter(|k| k.transport == proto::Transport::Tcp)
        .ok_or_else(|| SimError::Config(format!("--kind {}: not a TCP kind", a.kind)))?;
    if !a.target.ip().is_loopback() {
        return Err(SimError::Config(format!(
            "{}: loopback targets only",
            a.target
        )));
    }
    let c = Arc::new(Counters {
        frames: AtomicU64::new(0),
        records: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        latency: Histogram::default(),
    });
    let (ready_tx, mut ready_rx) = mpsc::channel::<bool>(a.connections.max(1));
    let (start_tx, start_rx) = watch::channel::<Option<(Instant, Instant)>>(None);
    let gate = Arc::new(Semaphore::new(a.connect_concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..a.connections {
        let id = Identity {
            imei: proto::imei(&a.imei_prefix, i as u64 + 1),
            index: i,
        };
        let mut p = (kind.build)(&id)?;
        let (a, c, ready, mut start, gate) = (
            a.clone(),
            c.clone(),
            ready_tx.clone(),
            start_rx.clone(),
            gate.clone(),
        );
        tasks.spawn(async move {
            let timeout = Duration::from_millis(a.ack_timeout_ms);
            let opened = async {
                let _permit = gate.acquire().await;
                let mut s = net::connect(i, net::DEFAULT_PER_SOURCE_IP, a.target).await?;
                s.set_nodelay(true)?;
                let mut buf = BytesMut::with_capacity(256);
                // Login steps (JT/T 808: register, then authenticate) until the last is ACKed.
                let mut step = p.login()?;
                while let Some(f) = step {
                    s.write_all(&f.bytes).await?;
                    let deadline = Instant::now() + timeout;
                    step = read_ack(&mut s, &mut buf, p.as_mut(), &f, a.ack, deadline).await?;
                }
                Ok::<_, SimError>((s, buf))
            }
            .await;
            let _ = ready.send(opened.is_ok()).await;
            let Ok((mut s, mut buf)) = opened else { return };
            let (t0, end) = loop {
                if let Some(t) = *start.borrow() {
                    break t;
                }
                if start.changed().await.is_err() {
                    return;
                }
            };
            let _ = t0;
            let lat = 47.0 + (i % 1000) as f64 * 1e-3;
            let result: Result<(), SimError> = async {
                match a.mode {
                    LoadMode::Closed => {
                        let mut n = 0u64;
                        while Instant::now() < end {
                            n += 1;
                            let f = p.positions(&[fix_at(n, lat)], false)?;
                            let sent = Instant::now();
                            s.write_all(&f.bytes).await?;
                            read_ack(&mut s, &mut buf, p.as_mut(), &f, a.ack, sent + timeout)
                                .await?;
                            c.latency.record(sent.elapsed());
                            c.frames.fetch_add(1, Relaxed);
                            c.records.fetch_add(f.records as u64, Relaxed);
                        }
                    }
                    LoadMode::Flush => {
                        let batch = a.batch.clamp(1, p.max_batch());
                        let mut done = 0usize;
                        while done < a.records {
                            let k = batch.min(a.records - done);
                            let fixes: Vec<Fix> =
                                (0..k).map(|j| fix_at((done + j) as u64, lat)).collect();
                            let f = p.positions(&fixes, true)?;
                            let sent = Instant::now();
                            s.write_all(&f.bytes).await?;
                            if a.ack != AckKind::None {
                                read_ack(&mut s, &mut buf, p.as_mut(), &f, a.ack, sent + timeout)
                                    .await?;
                                c.latency.record(sent.elapsed());
                            }
                            c.frames.fetch_add(1, Relaxed);
                            c.records.fetch_add(k as u64, Relaxed);
                            done += k;
                        }
                        if a.ack == AckKind::None {
                            // Done only when the server has read everything: it closes on EOF.
                            s.shutdown().await?;
                            let mut sink = [0u8; 64];
                            while tokio::time::timeout(timeout, s.read(&mut sink)).await?? > 0 {}
                        }
                    }
                }
                Ok(())
            }
            .await;
            if result.is_err() {
                c.errors.fetch_add(1, Relaxed);
            }
        });
    }
    drop(ready_tx);
    // Count exactly one report per connection: the tasks keep their senders while they wait
    // for the start signal, so the channel never closes before it.
    let (mut ok, mut failed) = (0usize, 0usize);
    while ok + failed < a.connections {
        let Some(r) = ready_rx.recv().await else {
            break;
        };
        if r {
            ok += 1
        } else {
            failed += 1
        }
    }
    let t0 = Instant::now();
    let end = match a.mode {
        LoadMode::Closed => t0 + Duration::from_secs_f64(a.duration.max(0.1)),
        LoadMode::Flush => t0 + Duration::from_secs(86_400),
    };
    let _ = start_tx.send(Some((t0, end)));
    while tasks.join_next().await.is_some() {}
    let elapsed = t0.elapsed().as_secs_f64();
    let q = |x| c.latency.quantile(x).map(|d| d.as_micros() as u64);
    let frames = c.frames.load(Relaxed);
    let records = c.records.load(Relaxed);
    Ok(LoadReport {
        kind: kind.name.to_string(),
        mode: format!("{:?}", a.mode).to_lowercase(),
        connections: ok,
        connect_failures: failed,
        errors: c.errors.load(Relaxed),
        elapsed_s: elapsed,
        frames,
        records,
        frames_per_s: frames as f64 / elapsed,
        records_per_s: records as f64 / elapsed,
        p50_us: q(0.5),
        p99_us: q(0.99),
    })
}

impl From<tokio::time::error::Elapsed> for SimError {
    fn from(_: tokio::time::error::Elapsed) -> Self {
        SimError::Timeout {
            what: "read".into(),
            attempts: 1,
        }
    }
}

/// Which baseline server to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BaselineKind {
    /// Reads and drops everything; closes on EOF.
    Discard,
    /// Frames the stream with the protocol's framer and writes `00 00 00 01` per frame.
    Pingpong,
}

/// `trackgate-sim baseline`.
#[derive(Clone, Debug, clap::Args)]
pub struct BaselineArgs {
    /// Discard or ping-pong.
    #[arg(long, value_enum)]
    pub kind: BaselineKind,
    /// Gateway protocol whose framer cuts frames (ping-pong).
    #[arg(long, default_value = "gt06")]
    pub protocol: String,
    /// Listen address (loopback only; port 0 picks one and prints it).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
}

/// Runs a baseline server until `stop` resolves; prints `listening on ADDR` first.
pub async fn run_baseline(a: BaselineArgs, stop: impl Future<Output = ()>) -> Result<(), SimError> {
    let l = bind_baseline(&a).await?;
    println!("listening on {}", l.local_addr()?);
    tokio::select! {
        r = serve_baseline(l, a) => r,
        _ = stop => Ok(()),
    }
}

/// Binds a baseline listener (loopback only).
pub async fn bind_baseline(a: &BaselineArgs) -> Result<TcpListener, SimError> {
    if !a.listen.ip().is_loopback() {
        return Err(SimError::Config(format!("{}: loopback only", a.listen)));
    }
    Ok(TcpListener::bind(a.listen).await?)
}

/// Accepts connections forever, one task each.
pub async fn serve_baseline(l: TcpListener, a: BaselineArgs) -> Result<(), SimError> {
    let protocol = trackgate::protocol::find(&a.protocol)
        .ok_or_else(|| SimError::Config(format!("unknown protocol {}", a.protocol)))?;
    loop {
        let (mut s, _) = l.accept().await?;
        let kind = a.kind;
        let mut dec = protocol
            .new_decoder(&DecoderOptions::default())
            .map_err(|e| SimError::Config(e.to_string()))?;
        tokio::spawn(async move {
            let _ = s.set_nodelay(true);
            let mut buf = BytesMut::with_capacity(4096);
            loop {
                match s.read_buf(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if kind == BaselineKind::Discard {
                    buf.clear();
                    continue;
                }
                let mut acks = 0;
                loop {
                    match dec.frame(&mut buf) {
                        FrameResult::Frame(_) => acks += 1,
                        FrameResult::Skipped(_) => {}
                        FrameResult::NeedMore => break,
                        FrameResult::Fatal(_) => return,
                    }
                }
                for _ in 0..acks {
                    if s.write_all(&[0, 0, 0, 1]).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
}
