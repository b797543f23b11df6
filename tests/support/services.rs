//! Private real servers for integration tests: an InfluxDB 1.x and a VictoriaMetrics, each on
//! loopback ports of its own with a temp data dir, killed (and the dir removed) on drop.
//!
//! Readiness is a signal, not a sleep: a thread reads the server's log and hands over the line
//! that says the HTTP listener is bound (InfluxDB also tells us the port it got for `:0`).
//! A missing binary fails the test with the command that installs it; nothing is skipped.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::poll::eventually_blocking;

/// How long a server may take to report its listener; they take < 0.3 s on a quiet machine.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// A running server process; killed and reaped on drop.
pub struct Service {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The bound port.
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Service {
    /// The server's process id (to freeze it with SIGSTOP in fault tests).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Finds `binary` on PATH or in the sbin directories (Debian puts `mosquitto` in /usr/sbin,
/// which a non-login PATH may lack); panics with the install command when it is missing.
pub fn require(binary: &str) -> std::path::PathBuf {
    let mut dirs: Vec<std::path::PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(std::path::PathBuf::from));
    let found = dirs
        .into_iter()
        .map(|d| d.join(binary))
        .find(|p| p.is_file());
    assert!(
        found.is_some(),
        "`{binary}` is not installed; run `.ci/services.sh install` (Debian packages \
         influxdb, victoria-metrics, mosquitto, docker-compose) and re-run the tests"
    );
    found.unwrap_or_default()
}

/// A port that was free a moment ago (bind :0, read, release). Only for servers that cannot
/// report the port they bound to (VictoriaMetrics) or that a test starts later on purpose.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// Spawns `cmd` with its stderr+stdout piped to a reader thread; returns once `ready` finds
/// the port in a log line. Panics with the log when the process exits or the deadline passes.
fn spawn(mut cmd: Command, dir: tempfile::TempDir, ready: fn(&str) -> Option<u16>) -> Service {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    let (tx, rx) = mpsc::channel::<Result<u16, String>>();
    for pipe in [
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        // Keeps draining after readiness so the server never blocks on a full pipe; ends at EOF
        // (when the process dies).
        std::thread::spawn(move || {
            let mut log = String::new();
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(port) = ready(&line) {
                    let _ = tx.send(Ok(port));
                }
                if log.len() < 16_384 {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
            let _ = tx.send(Err(log));
        });
    }
    drop(tx);
    let mut logs = String::new();
    loop {
        match rx.recv_timeout(START_DEADLINE) {
            Ok(Ok(port)) => {
                return Service {
                    child,
                    url: format!("http://127.0.0.1:{port}"),
                    port,
                    _dir: dir,
                }
            }
            Ok(Err(log)) => {
                // One pipe closed; the process is exiting. Collect the other's log too.
                logs.push_str(&log);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{program} exited before it was ready:\n{logs}");
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{program} not ready after {START_DEADLINE:?}:\n{logs}");
            }
        }
    }
}

/// InfluxDB 1.x (`influxd run -config /dev/null`), configured through env vars: data, meta and
/// WAL under a temp dir; HTTP on `127.0.0.1:<http_port>` (0 = any; the port is read from the
/// `Listening on HTTP` log line); RPC/backup on an ephemeral loopback port so several
/// instances never clash on the default 8088.
pub fn influxd(http_port: u16) -> Service {
    influxd_with_env(http_port, &[])
}

/// [`influxd`] with extra `INFLUXDB_*` settings (e.g. `INFLUXDB_HTTP_HTTPS_ENABLED`).
pub fn influxd_with_env(http_port: u16, extra: &[(&str, &str)]) -> Service {
    let influxd = require("influxd");
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let mut cmd = Command::new(influxd);
    cmd.args(["run", "-config", "/dev/null"])
        .env("INFLUXDB_REPORTING_DISABLED", "true")
        .env("INFLUXDB_BIND_ADDRESS", "127.0.0.1:0")
        .env("INFLUXDB_META_DIR", d.join("meta"))
        .env("INFLUXDB_DATA_DIR", d.join("data"))
        .env("INFLUXDB_DATA_WAL_DIR", d.join("wal"))
        .env("INFLUXDB_DATA_QUERY_LOG_ENABLED", "false")
        .env("INFLUXDB_MONITOR_STORE_ENABLED", "false")
        .env("INFLUXDB_HTTP_LOG_ENABLED", "false")
        .env(
            "INFLUXDB_HTTP_BIND_ADDRESS",
            format!("127.0.0.1:{http_port}"),
        )
        // info level: the level that prints the bound HTTP address
        .env("INFLUXDB_LOGGING_LEVEL", "info");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    spawn(cmd, dir, |line| {
        if !line.contains("msg=\"Listening on HTTP\"") {
            return None;
        }
        let addr = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("addr="))?;
        addr.rsplit(':').next()?.parse().ok()
    })
}

/// VictoriaMetrics on a free loopback port with a 100-year retention (the default month would
/// drop test points with old timestamps) and no query latency offset (fresh points are
/// queryable at once).
pub fn victoria_metrics() -> Service {
    let vm = require("victoria-metrics");
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let mut cmd = Command::new(vm);
    cmd.arg(format!(
        "-storageDataPath={}",
        Path::new(dir.path()).join("vm").display()
    ))
    .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
    .args([
        "-retentionPeriod=100y",
        "-search.latencyOffset=0s",
        "-loggerLevel=INFO",
    ]);
    spawn(cmd, dir, |line| {
        let rest = line
            .split("starting http server at http://127.0.0.1:")
            .nth(1)?;
        rest.trim_end_matches('/').parse().ok()
    })
}

/// Mosquitto on a free loopback port (see [`mosquitto_on`]).
pub fn mosquitto() -> Service {
    mosquitto_on(free_port())
}

/// Mosquitto 2.x on `127.0.0.1:<port>`: anonymous clients, no persistence, `user root` so it
/// can read its temp config dir when started as root. Start it again on the same port to simulate a broker restart.
pub fn mosquitto_on(port: u16) -> Service {
    mosquitto_with_config(
        &format!(
            "per_listener_settings true\npersistence false\nuser root\nlog_dest stderr\n\
             log_type error\nlog_type warning\nlog_type notice\n\
             listener {port} 127.0.0.1\nallow_anonymous true\n"
        ),
        port,
    )
}

/// Mosquitto with the config file text `conf`, which must open a listener on
/// `127.0.0.1:<port>`; ready once that listener accepts a connection. Panics when Mosquitto
/// exits first (a config it rejects) or is not listening after the start deadline.
pub fn mosquitto_with_config(conf: &str, port: u16) -> Service {
    let mosquitto = require("mosquitto");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("mosquitto.conf");
    std::fs::write(&path, conf).expect("write mosquitto.conf");
    // Mosquitto block-buffers its log when stderr is a pipe, so readiness is the listener
    // accepting a connection (polled with a deadline), not a log line.
    let mut cmd = Command::new(mosquitto);
    cmd.arg("-c").arg(&path);
    listening(cmd, format!("mqtt://127.0.0.1:{port}"), port, dir, conf)
}

/// Starts `cmd` quietly as a [`Service`] at `url` and waits until `port` accepts a
/// connection; panics (with `about`) when it exits first or misses the start deadline.
fn listening(
    mut cmd: Command,
    url: String,
    port: u16,
    dir: tempfile::TempDir,
    about: &str,
) -> Service {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {url}: {e}"));
    let mut s = Service {
        child,
        url,
        port,
        _dir: dir,
    };
    eventually_blocking(START_DEADLINE, &format!("{} listening", s.url), || {
        if let Ok(Some(status)) = s.child.try_wait() {
            panic!("{} exited before it was ready: {status}\n{about}", s.url);
        }
        std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())
    });
    s
}

/// A `nats-server` with JetStream on `127.0.0.1:<port>`, its store in `store` (kept by the
/// caller, so a restart on the same port and store finds the stream again). `cluster`:
/// `(name, own cluster port, every route port)` for a node of a JetStream cluster.
/// Ready once the client port accepts a connection.
pub fn nats_server(port: u16, store: &Path, cluster: Option<(&str, u16, &[u16])>) -> Service {
    let nats = require("nats-server");
    let mut cmd = Command::new(nats);
    cmd.args(["-js", "-a", "127.0.0.1", "-p", &port.to_string()])
        .arg("-sd")
        .arg(store);
    if let Some((name, own, routes)) = cluster {
        let routes: Vec<String> = routes
            .iter()
            .filter(|p| **p != own)
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect();
        cmd.args(["-n", name, "--cluster_name", "trackgate-test"])
            .arg("--cluster")
            .arg(format!("nats://127.0.0.1:{own}"))
            .arg("--routes")
            .arg(routes.join(","));
    }
    let dir = tempfile::tempdir().expect("temp dir");
    listening(
        cmd,
        format!("nats://127.0.0.1:{port}"),
        port,
        dir,
        "nats-server",
    )
}
