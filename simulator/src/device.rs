//! One simulated device's life: drive, report on its motion-dependent period, buffer during
//! signal gaps, connect and log in with backoff, upload backlog, and wait for every ACK
//! (resending on timeout, as trackers do). The protocol specifics are behind
//! [`SimProtocol`] and the socket behind `link.rs`; this file owns the clock and the retries.
//!
//! Four socket kinds share the loop: TCP and UDP carry protocol bytes; HTTP sends one request
//! per frame (the status is the reply); MQTT publishes with QoS 1 on the device's own client
//! session (the broker's PUBACK is the reply). Frames the protocol never answers (Coban
//! positions) are written once and counted as unconfirmed, never as ACKed.

use super::link::Conn;
use super::motion::{Fix, Trip};
use super::proto::{Answer, Frame, Kind, SimError, SimProtocol};
use super::scenario::DeviceConfig;
use super::stats::Stats;
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::RngExt;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// Simulated time: starts at the real "now" and runs `speedup` times faster.
#[derive(Clone, Debug)]
pub struct SimClock {
    start: Instant,
    start_time: DateTime<Utc>,
    speedup: f64,
}

impl SimClock {
    /// A clock starting now.
    pub fn new(speedup: f64) -> SimClock {
        SimClock {
            start: Instant::now(),
            start_time: Utc::now(),
            speedup,
        }
    }

    /// Simulated seconds since the start.
    pub fn now_s(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * self.speedup
    }

    /// The simulated wall-clock time `s` simulated seconds after the start.
    pub fn time_at(&self, s: f64) -> DateTime<Utc> {
        self.start_time + chrono::Duration::milliseconds((s * 1000.0) as i64)
    }

    /// Real time until simulated second `s` (zero if it has passed).
    pub fn real_until(&self, s: f64) -> Duration {
        Duration::from_secs_f64(((s - self.now_s()) / self.speedup).clamp(0.0, 86_400.0))
    }
}

/// What every device task shares.
pub struct Shared {
    /// Fleet counters.
    pub stats: Arc<Stats>,
    /// Simulated time.
    pub clock: SimClock,
    /// Firmware behaviour.
    pub cfg: DeviceConfig,
    /// `Some(drain deadline)` once the run is stopping: devices stop producing fixes and
    /// upload what they hold until the deadline.
    pub stop: watch::Receiver<Option<Instant>>,
    /// Stop after this many fixes in total.
    pub budget: Option<u64>,
    /// Notified when the budget is used up, so the fleet starts the drain.
    pub budget_spent: Notify,
}

/// How one device's run ended.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DeviceOutcome {
    /// Id as the gateway lists it.
    pub id: String,
    /// Simulator kind (`gt06`, `jt808_2019`, …).
    pub kind: &'static str,
    /// Fixes produced.
    pub generated: u64,
    /// Fixes acknowledged (by the gateway; for MQTT kinds by the broker's PUBACK). Fixes of
    /// protocols that never answer positions (gps103) are not counted here but in
    /// [`Stats::records_unconfirmed`](super::stats::Stats::records_unconfirmed).
    pub acked: u64,
    /// Fixes dropped because the buffer was full.
    pub dropped: u64,
    /// The newest fix handed over (by fix time): ACKed, or written when the protocol has no
    /// reply for it. Where the gateway must show the device.
    pub last: Option<LastFix>,
}

/// Time and place of a fix, as sent (before wire rounding).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LastFix {
    /// Fix time.
    pub time: DateTime<Utc>,
    /// Degrees.
    pub lat: f64,
    /// Degrees.
    pub lon: f64,
}

/// How a frame was handed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delivery {
    /// Its reply arrived.
    Acked,
    /// Written; the protocol has no reply for it.
    Unconfirmed,
}

/// Writes `frame` and waits for its ACK, resending after each timeout (`cfg.retries` times).
/// A login step answered with [`Answer::Next`] continues with the next frame. A frame the
/// protocol never answers is written once and reported [`Delivery::Unconfirmed`].
async fn exchange(
    conn: &mut Conn,
    p: &mut dyn SimProtocol,
    mut frame: Frame,
    sh: &Shared,
) -> Result<Delivery, SimError> {
    let timeout = Duration::from_millis(sh.cfg.ack_timeout_ms);
    if !p.expects_reply(&frame) {
        if sh.stop.borrow().is_some_and(|d| Instant::now() >= d) {
            return Err(SimError::Stopped);
        }
        sh.stats.frames_sent.fetch_add(1, Relaxed);
        conn.write(&frame).await?;
        return Ok(Delivery::Unconfirmed);
    }
    let mut attempt = 0;
    'send: loop {
        attempt += 1;
        if attempt > 1 + sh.cfg.retries {
            return Err(SimError::Timeout {
                what: format!("{:?} message {:#06x}", frame.kind, frame.msg),
                attempts: attempt - 1,
            });
        }
        let drain_deadline = *sh.stop.borrow();
        if drain_deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(SimError::Stopped);
        }
        let counter = if attempt == 1 {
            &sh.stats.frames_sent
        } else {
            &sh.stats.resends
        };
        counter.fetch_add(1, Relaxed);
        conn.write(&frame).await?;
        let sent_at = Instant::now();
        let mut deadline = sent_at + timeout;
        if let Some(d) = drain_deadline {
            deadline = deadline.min(d);
        }
        loop {
            let Some(reply) = conn.reply(p, &frame, deadline).await? else {
                continue 'send; // timed out: resend, as the firmware would
            };
            match p.check_reply(&frame, &reply) {
                Ok(Answer::Acked) => {
                    sh.stats.ack_latency.record(sent_at.elapsed());
                    return Ok(Delivery::Acked);
                }
                Ok(Answer::Next(next)) => {
                    sh.stats.ack_latency.record(sent_at.elapsed());
                    frame = next;
                    attempt = 0;
                    continue 'send;
                }
                Ok(Answer::Unrelated) => {
                    // A command from the server: answer it as the firmware would, then keep
                    // waiting for this frame's ACK.
                    if let Some(answer) = p.answer_command(&reply) {
                        conn.write(&answer).await?;
                    }
                    continue;
                }
                Ok(Answer::Retry(_)) => {
                    sh.stats.bad_acks.fetch_add(1, Relaxed);
                    continue 'send;
                }
                Err(e) => {
                    if matches!(e, SimError::BadReply(_)) {
                        sh.stats.bad_acks.fetch_add(1, Relaxed);
                    }
                    return Err(e);
                }
            }
        }
    }
}

async fn connect_and_login(
    kind: &Kind,
    target: SocketAddr,
    p: &mut dyn SimProtocol,
    sh: &Shared,
) -> Result<Conn, SimError> {
    let mut conn = tokio::time::timeout(
        Duration::from_millis(sh.cfg.ack_timeout_ms),
        Conn::open(kind.transport, target, &*p),
    )
    .await
    .map_err(|_| SimError::Timeout {
        what: "connect".into(),
        attempts: 1,
    })??;
    if let Some(login) = p.login()? {
        exchange(&mut conn, p, login, sh).await?;
    }
    Ok(conn)
}

/// A fix waiting for its ACK, and whether it was written at least once.
struct Pending {
    fix: Fix,
    sent: bool,
}

/// Runs one device until the fleet stops and its buffer is uploaded (or the drain deadline
/// passes).
pub async fn run(
    kind: &'static Kind,
    mut p: Box<dyn SimProtocol>,
    target: SocketAddr,
    mut trip: Trip,
    mut rng: StdRng,
    sh: Arc<Shared>,
) -> DeviceOutcome {
    let mut out = DeviceOutcome {
        id: p.device_id(),
        kind: kind.name,
        generated: 0,
        acked: 0,
        dropped: 0,
        last: None,
    };
    let mut stop = sh.stop.clone();
    let mut buffer: VecDeque<Pending> = VecDeque::new();
    let mut heartbeat: Option<Frame> = None;
    let mut conn: Option<Conn> = None;
    let backoff_min = Duration::from_millis(sh.cfg.backoff_min_ms.max(1));
    let mut backoff = backoff_min;
    let mut next_report = 0.0;
    let mut last_s = sh.clock.now_s();
    loop {
        let drain = *stop.borrow();
        let now_s = sh.clock.now_s();
        trip.advance(now_s - last_s, &mut rng);
        last_s = now_s;
        if let Some(deadline) = drain {
            trip.end_gap();
            if (buffer.is_empty() && heartbeat.is_none()) || Instant::now() >= deadline {
                break;
            }
        } else if now_s >= next_report {
            if trip.parked() {
                heartbeat = p.heartbeat().unwrap_or(None);
            }
            if heartbeat.is_none() && take_budget(&sh) {
                let fix = trip.fix(sh.clock.time_at(now_s), &mut rng);
                out.generated += 1;
                if buffer.len() >= sh.cfg.buffer_max.max(1) {
                    buffer.pop_front();
                    out.dropped += 1;
                }
                buffer.push_back(Pending { fix, sent: false });
            }
            next_report = now_s + trip.interval();
        }
        if trip.in_gap() {
            // No coverage: the modem is offline, the link is gone.
            if conn.take().is_some() {
                sh.stats.connected.fetch_sub(1, Relaxed);
            }
        } else if conn.is_none() && (!buffer.is_empty() || heartbeat.is_some()) {
            match connect_and_login(kind, target, p.as_mut(), &sh).await {
                Ok(c) => {
                    conn = Some(c);
                    sh.stats.connected.fetch_add(1, Relaxed);
                    sh.stats.logins.fetch_add(1, Relaxed);
                    backoff = backoff_min;
                }
                Err(_) => {
                    sh.stats.reconnects.fetch_add(1, Relaxed);
                    let jitter = rng.random_range(0.75..1.25);
                    let max = Duration::from_millis(sh.cfg.backoff_max_ms.max(1));
                    sleep_or_stop(backoff.mul_f64(jitter), &mut stop, drain.is_none()).await;
                    backoff = (backoff * 2).min(max);
                    continue;
                }
            }
        }
        if let Some(c) = conn.as_mut() {
            if let Err(_e) = upload(c, p.as_mut(), &mut buffer, &mut heartbeat, &sh, &mut out).await
            {
                // Broken session: hang up and redial after a backoff, keeping the buffer.
                conn = None;
                sh.stats.connected.fetch_sub(1, Relaxed);
                sh.stats.reconnects.fetch_add(1, Relaxed);
                let jitter = rng.random_range(0.75..1.25);
                sleep_or_stop(backoff.mul_f64(jitter), &mut stop, drain.is_none()).await;
                continue;
            }
        }
        if drain.is_none() {
            sleep_or_stop(sh.clock.real_until(next_report), &mut stop, true).await;
        }
    }
    if conn.is_some() {
        sh.stats.connected.fetch_sub(1, Relaxed);
    }
    out
}

/// Takes one fix from the fleet budget; false (and the fleet is told) once it is spent.
fn take_budget(sh: &Shared) -> bool {
    let n = sh.stats.records_generated.fetch_add(1, Relaxed) + 1;
    match sh.budget {
        Some(b) if n > b => {
            sh.stats.records_generated.fetch_sub(1, Relaxed);
            sh.budget_spent.notify_one();
            false
        }
        _ => true,
    }
}

/// Sends everything buffered (oldest first, in batches), then a pending heartbeat.
async fn upload(
    c: &mut Conn,
    p: &mut dyn SimProtocol,
    buffer: &mut VecDeque<Pending>,
    heartbeat: &mut Option<Frame>,
    sh: &Shared,
    out: &mut DeviceOutcome,
) -> Result<(), SimError> {
    while !buffer.is_empty() {
        let n = buffer.len().min(p.max_batch().max(1));
        // Everything but a lone newest fix was held back: it goes up as backlog.
        let backlog = buffer.len() > 1;
        let fixes: Vec<Fix> = buffer.iter().take(n).map(|x| x.fix.clone()).collect();
        let frame = p.positions(&fixes, backlog)?;
        let first = buffer.iter().take(n).filter(|x| !x.sent).count() as u64;
        buffer.iter_mut().take(n).for_each(|x| x.sent = true);
        sh.stats.records_sent.fetch_add(first, Relaxed);
        let delivery = exchange(c, p, frame, sh).await?;
        for f in &fixes {
            if out.last.as_ref().is_none_or(|l| f.time > l.time) {
                out.last = Some(LastFix {
                    time: f.time,
                    lat: f.lat,
                    lon: f.lon,
                });
            }
        }
        buffer.drain(..n);
        match delivery {
            Delivery::Acked => {
                out.acked += n as u64;
                sh.stats.records_acked.fetch_add(n as u64, Relaxed);
            }
            Delivery::Unconfirmed => {
                sh.stats.records_unconfirmed.fetch_add(n as u64, Relaxed);
            }
        }
        if backlog {
            sh.stats.records_backlog.fetch_add(n as u64, Relaxed);
        }
    }
    if let Some(hb) = heartbeat.take() {
        if exchange(c, p, hb, sh).await? == Delivery::Acked {
            sh.stats.heartbeats.fetch_add(1, Relaxed);
        }
    }
    Ok(())
}

/// Sleeps `d`, waking early when the run starts stopping (if `wake_on_stop`).
async fn sleep_or_stop(d: Duration, stop: &mut watch::Receiver<Option<Instant>>, wake: bool) {
    if !wake {
        tokio::time::sleep(d).await;
        return;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        r = stop.changed() => {
            if r.is_err() {
                // The fleet is gone: nobody will signal again; finish the sleep.
                tokio::time::sleep(d).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The session loop against a scripted GT06 server: a swallowed ACK is resent with the same
    //! serial after the timeout, and a server hang-up leads to a new login and no lost fix.

    use super::super::fleet;
    use super::super::scenario::Scenario;
    use bytes::BytesMut;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use trackgate::protocol::gt06::encode::ack;
    use trackgate::protocol::{DecoderOptions, FrameResult};

    #[derive(Default)]
    struct Log {
        logins: u32,
        /// (serial, connection) of every position frame read.
        positions: Vec<(u16, u32)>,
    }

    /// Answers logins; swallows the ACK of the 2nd position frame once; hangs up right after
    /// ACKing the 4th.
    async fn scripted_server(l: TcpListener, log: Arc<Mutex<Log>>) {
        let gt06 = trackgate::protocol::find("gt06").expect("gt06 registered");
        let mut conn_no = 0;
        while let Ok((mut s, _)) = l.accept().await {
            conn_no += 1;
            let mut dec = gt06
                .new_decoder(&DecoderOptions::default())
                .expect("decoder");
            let mut buf = BytesMut::new();
            'conn: while s.read_buf(&mut buf).await.is_ok_and(|n| n > 0) {
                while let FrameResult::Frame(f) = dec.frame(&mut buf) {
                    let (proto, n) = (f[3], f.len());
                    let serial = u16::from_be_bytes([f[n - 6], f[n - 5]]);
                    let count = {
                        let mut g = log.lock().expect("log");
                        if proto == 0x01 {
                            g.logins += 1;
                            0
                        } else {
                            g.positions.push((serial, conn_no));
                            g.positions.len()
                        }
                    };
                    if count == 2 {
                        continue; // swallowed: the device must resend
                    }
                    if s.write_all(&ack(proto, serial)).await.is_err() {
                        break 'conn;
                    }
                    if count == 5 {
                        break 'conn; // 4th distinct fix (the 2nd was sent twice): hang up
                    }
                }
            }
        }
    }

    #[tokio::test]
    async fn resends_on_ack_timeout_and_reconnects_after_hangup() {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        let log = Arc::new(Mutex::new(Log::default()));
        let server = tokio::spawn(scripted_server(l, log.clone()));
        let mut sc = Scenario::from_toml(
            "devices = 1\nspeedup = 600.0\nrecords = 6\nprogress_s = 0.0\n[mix]\ngt06 = 1\n\
             [motion]\ngaps_per_hour = 0.0\njump_probability = 0.0\n\
             [device]\nack_timeout_ms = 300\nretries = 2\nbackoff_min_ms = 10\ndrain_s = 5.0\n",
        )
        .expect("scenario");
        sc.targets.insert("gt06".into(), addr);
        let r = fleet::run(&sc, std::future::pending()).await.expect("runs");
        server.abort();
        let s = &r.stats;
        assert_eq!((s.records_generated, s.records_acked), (6, 6), "{s:?}");
        assert_eq!(s.resends, 1, "{s:?}");
        assert_eq!(s.logins, 2, "{s:?}");
        assert!(s.reconnects >= 1, "{s:?}");
        let g = log.lock().expect("log");
        assert_eq!(g.logins, 2);
        // The swallowed frame came again with the same serial on the same connection.
        assert_eq!(g.positions[1], g.positions[2]);
        // After the hang-up, the remaining fixes arrive on connection 2.
        assert!(
            g.positions.iter().any(|&(_, c)| c == 2),
            "{:?}",
            g.positions
        );
        let distinct: std::collections::BTreeSet<_> = g.positions.iter().collect();
        assert_eq!(distinct.len(), 6, "{:?}", g.positions);
    }
}
