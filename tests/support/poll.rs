//! Waiting for a condition: poll it until it holds or a deadline passes, never sleep a guessed
//! time. The outputs the tests read (API state, InfluxDB rows, metrics, a receiver's hits) are
//! fed asynchronously after the action that causes them, so a test names what it awaits and
//! gets, on failure, the last thing it saw instead of a bare timeout.

use std::fmt::Display;
use std::time::{Duration, Instant};

/// First pause between two looks; it doubles up to [`MAX_PAUSE`], so a cheap condition that
/// holds at once costs nothing and an expensive probe (an InfluxDB query, a metrics scrape) is
/// not run a hundred times a second.
const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// Longest pause between two looks.
const MAX_PAUSE: Duration = Duration::from_millis(200);
/// Time a look that starts just before the deadline still gets to finish.
const LAST_LOOK: Duration = Duration::from_secs(2);

/// What one look at an awaited condition found: done, with the value to hand back, or not yet,
/// with what was seen (shown when the deadline passes).
pub trait Probe {
    /// What a satisfied condition hands back.
    type Done;
    /// `Ok` when the condition holds, else a description of what was observed.
    fn check(self) -> Result<Self::Done, String>;
}

impl Probe for bool {
    type Done = ();
    fn check(self) -> Result<(), String> {
        if self {
            Ok(())
        } else {
            Err("false".into())
        }
    }
}

impl<T> Probe for Option<T> {
    type Done = T;
    fn check(self) -> Result<T, String> {
        self.ok_or_else(|| "None".into())
    }
}

/// `Err(seen)`: not yet; `seen` says what the look found (a status and body, a row count ...).
impl<T, E: Display> Probe for Result<T, E> {
    type Done = T;
    fn check(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

/// Runs `probe` until it reports done (`true`, `Some`, `Ok`) and returns its value; panics
/// naming `what` and the last observation once `within` has passed. The probe runs once more
/// at the deadline, and a look still running at the deadline is cut off after [`LAST_LOOK`].
pub async fn eventually<P: Probe>(
    within: Duration,
    what: &str,
    mut probe: impl AsyncFnMut() -> P,
) -> P::Done {
    let mut pace = Pace::new(within);
    let mut seen = String::from("(no look finished)");
    loop {
        let limit = pace.look();
        match tokio::time::timeout(limit, probe()).await {
            Ok(p) => match p.check() {
                Ok(done) => return done,
                Err(s) => seen = s,
            },
            Err(_) => panic!(
                "{what}: a look was still running at the {within:?} deadline ({} looks); \
                 last seen: {seen}",
                pace.looks
            ),
        }
        tokio::time::sleep(pace.missed(what, &seen)).await;
    }
}

/// [`eventually`] for code without a runtime (a child process, a std socket).
pub fn eventually_blocking<P: Probe>(
    within: Duration,
    what: &str,
    mut probe: impl FnMut() -> P,
) -> P::Done {
    let mut pace = Pace::new(within);
    loop {
        pace.look();
        match probe().check() {
            Ok(done) => return done,
            Err(seen) => std::thread::sleep(pace.missed(what, &seen)),
        }
    }
}

/// Waits until a counter (requests seen, errors counted) reads at least `n`; returns the
/// reading.
pub async fn count_reaches(
    within: Duration,
    what: &str,
    n: u64,
    mut count: impl FnMut() -> u64,
) -> u64 {
    eventually(within, what, async || match count() {
        c if c >= n => Ok(c),
        c => Err(format!("{c} of {n}")),
    })
    .await
}

/// The deadline and the growing pause between looks.
struct Pace {
    start: Instant,
    within: Duration,
    pause: Duration,
    looks: u32,
}

impl Pace {
    fn new(within: Duration) -> Self {
        Pace {
            start: Instant::now(),
            within,
            pause: FIRST_PAUSE,
            looks: 0,
        }
    }

    /// Counts a look; returns how long it may run.
    fn look(&mut self) -> Duration {
        self.looks += 1;
        self.within
            .saturating_sub(self.start.elapsed())
            .max(LAST_LOOK)
    }

    /// After a look that found the condition unmet: panics once the deadline has passed, else
    /// returns the pause before the next look (never past the deadline, where one last look
    /// runs).
    fn missed(&mut self, what: &str, seen: &str) -> Duration {
        let elapsed = self.start.elapsed();
        assert!(
            elapsed < self.within,
            "{what}: not reached within {:?} ({} looks); last seen: {seen}",
            self.within,
            self.looks
        );
        let pause = self.pause.min(self.within - elapsed);
        self.pause = (self.pause * 2).min(MAX_PAUSE);
        pause
    }
}
