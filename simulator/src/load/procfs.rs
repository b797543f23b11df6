//! The gateway's memory and CPU read from `/proc/<pid>`, for the idle soak: resident set size
//! from `status` (`VmRSS`) and user + system CPU time from `stat` (fields 14 and 15). The
//! parsers are pure so they are tested on captured text; only [`rss_kib`] and [`cpu_ticks`]
//! touch the file system.

use std::time::Duration;

/// Clock ticks per second of the times in `/proc/<pid>/stat` (`USER_HZ`). The kernel exports
/// these times in USER_HZ, which is 100 on every Linux architecture this runs on (x86-64,
/// arm64), independent of the kernel's internal HZ; there is no libc dependency to ask
/// `sysconf(_SC_CLK_TCK)`.
pub const USER_HZ: u64 = 100;

/// A `/proc` file that cannot be read or does not have the expected shape.
#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    /// The file could not be read (no such process, no permission).
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file was read but the field is missing or not a number.
    #[error("{path}: no {field}")]
    Parse {
        /// The file.
        path: String,
        /// The field looked for.
        field: &'static str,
    },
}

/// `VmRSS` in KiB from the text of `/proc/<pid>/status` (`VmRSS:\t   12345 kB`).
pub fn parse_vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line["VmRSS:".len()..].split_whitespace();
    let n = words.next()?.parse().ok()?;
    // The kernel always writes kB; anything else is not a status file we understand.
    (words.next()? == "kB").then_some(n)
}

/// `utime + stime` in clock ticks from the text of `/proc/<pid>/stat`. The command name
/// (field 2) is in parentheses and may itself contain spaces and parentheses, so fields are
/// counted after the *last* `)`: there the state is field 3, utime field 14, stime field 15.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(14 - 3)?.parse().ok()?;
    let stime: u64 = f.get(15 - 3)?.parse().ok()?;
    utime.checked_add(stime)
}

/// Resident set size of process `pid`, KiB.
pub fn rss_kib(pid: u32) -> Result<u64, ProcError> {
    let path = format!("/proc/{pid}/status");
    let text = read(&path)?;
    parse_vm_rss_kib(&text).ok_or(ProcError::Parse {
        path,
        field: "VmRSS",
    })
}

/// CPU time (user + system) process `pid` has used so far, clock ticks ([`USER_HZ`]).
pub fn cpu_ticks(pid: u32) -> Result<u64, ProcError> {
    let path = format!("/proc/{pid}/stat");
    let text = read(&path)?;
    parse_cpu_ticks(&text).ok_or(ProcError::Parse {
        path,
        field: "utime/stime",
    })
}

fn read(path: &str) -> Result<String, ProcError> {
    std::fs::read_to_string(path).map_err(|source| ProcError::Read {
        path: path.to_string(),
        source,
    })
}

/// Bytes of resident memory per connection: `(after − before) / n`. A shrinking RSS (the
/// allocator returned memory) gives 0, not a negative figure; `None` when `n` is 0.
pub fn per_connection_bytes(before_kib: u64, after_kib: u64, n: usize) -> Option<f64> {
    (n > 0).then(|| after_kib.saturating_sub(before_kib) as f64 * 1024.0 / n as f64)
}

/// CPU use over a window as a percentage of one core.
pub fn cpu_percent(ticks_before: u64, ticks_after: u64, window: Duration) -> Option<f64> {
    let secs = window.as_secs_f64();
    (secs > 0.0)
        .then(|| ticks_after.saturating_sub(ticks_before) as f64 / USER_HZ as f64 / secs * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from a running process (trimmed): the real field order and whitespace.
    const STATUS: &str = "Name:\ttrackgate\nUmask:\t0022\nState:\tS (sleeping)\n\
        VmPeak:\t 1234568 kB\nVmHWM:\t   90000 kB\nVmRSS:\t   81234 kB\nRssAnon:\t   70000 kB\n\
        Threads:\t3\n";

    #[test]
    fn rss_is_read_from_the_vmrss_line() {
        assert_eq!(parse_vm_rss_kib(STATUS), Some(81_234));
        assert_eq!(parse_vm_rss_kib("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss_kib("VmRSS:\t  12 MB\n"), None);
        assert_eq!(parse_vm_rss_kib("VmRSS:\n"), None);
        assert_eq!(parse_vm_rss_kib("VmRSS:\t abc kB\n"), None);
    }

    #[test]
    fn cpu_ticks_count_fields_after_the_last_parenthesis() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
        // utime=1500 stime=250 ...
        let stat = "4242 (trackgate) S 1 4242 4242 0 -1 4194560 900 0 0 0 1500 250 0 0 20 0 3";
        assert_eq!(parse_cpu_ticks(stat), Some(1750));
        // A command name with spaces and a ')' must not shift the fields.
        let odd = "7 (a) b (c) S 1 7 7 0 -1 0 0 0 0 0 11 22 0 0 20 0 1";
        assert_eq!(parse_cpu_ticks(odd), Some(33));
        assert_eq!(parse_cpu_ticks("7 (x) S 1 2"), None);
        assert_eq!(parse_cpu_ticks("no parenthesis"), None);
        assert_eq!(parse_cpu_ticks(""), None);
    }

    #[test]
    fn own_process_is_readable() {
        let me = std::process::id();
        assert!(rss_kib(me).expect("own status") > 0);
        cpu_ticks(me).expect("own stat");
        assert!(matches!(rss_kib(u32::MAX), Err(ProcError::Read { .. })));
    }

    #[test]
    fn per_connection_and_cpu_arithmetic() {
        assert_eq!(per_connection_bytes(1000, 1004, 1024), Some(4.0));
        assert_eq!(per_connection_bytes(1000, 900, 10), Some(0.0));
        assert_eq!(per_connection_bytes(1, 2, 0), None);
        // 150 ticks over 30 s = 1.5 s of CPU = 5 % of a core.
        let p = cpu_percent(100, 250, Duration::from_secs(30)).expect("window");
        assert!((p - 5.0).abs() < 1e-9, "{p}");
        assert_eq!(cpu_percent(0, 1, Duration::ZERO), None);
    }
}
