//! `trackgate-sim demo`: the gateway in-process with its embedded defaults, plus a small
//! fleet driving shipments on it, so that a first-time user sees devices, live ETAs and
//! exceptions at `http://127.0.0.1:8080` within a minute, with nothing else installed.
//!
//! The gateway is the real one (`trackgate::server::start`): the fleet talks to it over
//! loopback sockets exactly as trackers would. Its protocol listeners are bound to
//! 127.0.0.1 on ephemeral ports, so the demo neither exposes ports to the network nor
//! collides with a trackgate already running on the default ones. Data goes to a fresh
//! directory (kept afterwards for inspection) so every demo starts from an empty log.
//!
//! Time runs `speedup` times faster for the fleet (default 30×): fix times, and so ETAs, run
//! ahead of the wall clock; one real minute is half an hour of driving, enough for the late
//! rule's 10-minute hold and the off-route rule's 90 s.

use super::fleet::{self, Report};
use super::proto::{SimError, Transport, KINDS};
use super::scenario::Scenario;
use serde_json::Value;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use trackgate::config::Config;
use trackgate::server::Running;

/// The demo fleet (12 trucks, every kind, shipments with exceptions), embedded so the demo
/// needs no file.
pub const SCENARIO: &str = include_str!("../scenarios/demo.toml");
/// The road the demo fleet drives (Zürich → Winterthur → St. Gallen, ~70 km), embedded
/// for the same reason.
pub const ROUTE: &str = include_str!("../routes/zurich-stgallen.geojson");

/// What `trackgate-sim demo` can change.
#[derive(Clone, Debug, clap::Args)]
pub struct DemoArgs {
    /// Address of the gateway's HTTP API (and live stream).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// Data directory of the gateway; default: a fresh one under the system temp dir.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Number of trucks (overrides the embedded scenario's 12).
    #[arg(long)]
    pub devices: Option<usize>,
    /// Time compression (overrides the embedded scenario's 30).
    #[arg(long)]
    pub speedup: Option<f64>,
    /// Stop after this many real seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Print a shipment summary every this many real seconds; 0 disables it.
    #[arg(long, default_value_t = 15.0)]
    pub summary: f64,
}

/// A started demo: the gateway running, the fleet scenario pointed at it.
pub struct Demo {
    /// The in-process gateway.
    pub gateway: Running,
    /// The fleet, targets and API URL filled in.
    pub scenario: Scenario,
    /// Where the gateway keeps its log and state.
    pub data_dir: PathBuf,
}

/// `devices.max_future_secs` of the demo gateway: 31 days.
pub const DEMO_MAX_FUTURE_SECS: u64 = 31 * 86_400;

/// The gateway's configuration for the demo: embedded defaults, the API on `http`, every
/// protocol listener on 127.0.0.1 port 0, storage in `data_dir`.
pub fn gateway_config(http: SocketAddr, data_dir: PathBuf) -> Result<Config, SimError> {
    let mut toml = format!("[http]\nlisten = \"{http}\"\n");
    for p in trackgate::protocol::REGISTRY {
        toml.push_str(&format!(
            "[protocols.{}]\nlisten = \"127.0.0.1:0\"\n",
            p.name()
        ));
    }
    let mut cfg = Config::from_toml(&toml).map_err(|e| SimError::Config(e.to_string()))?;
    cfg.storage.dir = data_dir;
    // The demo's clock runs 30× ahead of the wall clock, so its fixes are dated in the future:
    // let a day of demo (a month of simulated time) through the fix-time check.
    cfg.devices.max_future_secs = DEMO_MAX_FUTURE_SECS;
    Ok(cfg)
}

/// A fresh data directory under the system temp dir.
fn fresh_dir() -> std::io::Result<PathBuf> {
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let d = std::env::temp_dir().join(format!("trackgate-demo-{stamp}-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

/// Starts the gateway and prepares the fleet (nothing drives yet).
pub async fn start(a: &DemoArgs) -> Result<Demo, SimError> {
    let data_dir = match &a.data {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => fresh_dir()?,
    };
    let mut sc = Scenario::from_toml(SCENARIO)?;
    let route_file = data_dir.join("demo-route.geojson");
    std::fs::write(&route_file, ROUTE)?;
    sc.route.file = Some(route_file);
    if let Some(n) = a.devices {
        sc.devices = n;
    }
    if let Some(x) = a.speedup {
        sc.speedup = x;
    }
    sc.duration_s = a.duration;

    let cfg = gateway_config(a.http, data_dir.clone())?;
    let gateway = trackgate::server::start(cfg)
        .await
        .map_err(|e| SimError::Config(format!("gateway: {e}")))?;
    for k in KINDS {
        let transport = match k.transport {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
            Transport::Http => "http",
            // MQTT kinds need a broker; the demo installs nothing, so it has none.
            Transport::Mqtt => continue,
        };
        if let Some(addr) = gateway.addr(k.protocol, transport) {
            sc.targets.insert(k.target.to_string(), addr);
        }
    }
    sc.api.url = format!("http://{}", gateway.http_addr);
    sc.api.shipments = true;
    sc.api.exceptions = true;
    Ok(Demo {
        gateway,
        scenario: sc,
        data_dir,
    })
}

/// What to look at, printed once the gateway is up.
pub fn banner(d: &Demo) -> String {
    let api = &d.scenario.api.url;
    format!(
        "trackgate demo: {} simulated trucks at {}x speed, data in {}\n\
         \x20 open {api}/                       the ops console in a browser\n\
         \x20 curl {api}/api/devices            live positions\n\
         \x20 curl {api}/api/shipments          progress, ETA per stop, open exceptions\n\
         \x20 curl {api}/api/events             alerts (late, off_route, stops ...)\n\
         \x20 curl -N {api}/api/stream          live stream (Server-Sent Events)\n\
         \x20 curl {api}/metrics                Prometheus metrics\n\
         Ctrl-C stops the demo.",
        d.scenario.devices,
        d.scenario.speedup,
        d.data_dir.display()
    )
}

/// One line per shipment from `GET /api/shipments`: progress, the next stop's ETA and its
/// deviation from plan, open exceptions.
pub fn summary(shipments: &Value) -> String {
    let mut out = String::new();
    let list = shipments.as_array().map(Vec::as_slice).unwrap_or_default();
    let open: usize = list
        .iter()
        .filter_map(|s| s["exceptions"].as_array())
        .map(Vec::len)
        .sum();
    out.push_str(&format!(
        "{} shipments, {open} open exceptions\n",
        list.len()
    ));
    for s in list {
        let next = s["stops"].as_array().and_then(|st| {
            st.iter()
                .find(|x| matches!(x["status"].as_str(), Some(st) if !matches!(st, "arrived" | "departed" | "skipped")))
        });
        let (stop, eta, dev) = match next {
            Some(x) => (
                x["id"].as_str().unwrap_or("?"),
                x["eta"]
                    .as_str()
                    .and_then(|t| t.get(11..16))
                    .unwrap_or("--:--"),
                x["deviation_s"]
                    .as_i64()
                    .map(|d| format!("{:+} min", d / 60))
                    .unwrap_or_else(|| "-".into()),
            ),
            None => ("(done)", "", String::new()),
        };
        let exc: Vec<&str> = s["exceptions"]
            .as_array()
            .map(|e| e.iter().filter_map(|x| x["type"].as_str()).collect())
            .unwrap_or_default();
        out.push_str(&format!(
            "  {:<22} {:>4.0}%  next {:<6} ETA {eta:<5} UTC {dev:>9}  {}\n",
            s["id"].as_str().unwrap_or("?"),
            s["progress"].as_f64().unwrap_or(0.0) * 100.0,
            stop,
            exc.join(",")
        ));
    }
    out
}

/// Drives the fleet until `stop` resolves (or the duration passes), printing summaries,
/// then shuts the gateway down.
pub async fn run(
    d: Demo,
    summary_every: f64,
    stop: impl Future<Output = ()>,
) -> Result<Report, SimError> {
    let printer = (summary_every > 0.0).then(|| {
        let url = format!("{}/api/shipments", d.scenario.api.url);
        let every = Duration::from_secs_f64(summary_every);
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let got = async { client.get(&url).send().await?.json::<Value>().await };
                match got.await {
                    Ok(v) => println!("{}", summary(&v)),
                    Err(e) => eprintln!("demo: {url}: {e}"),
                }
            }
        })
    });
    let report = fleet::run(&d.scenario, stop).await;
    if let Some(p) = printer {
        p.abort();
    }
    d.gateway.shutdown().await;
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_scenario_asks_for_shipments_with_exceptions() {
        let sc = Scenario::from_toml(SCENARIO).expect("embedded scenario parses");
        sc.validate().expect("valid");
        assert!(sc.api.shipments && sc.api.exceptions);
        assert!(sc.devices >= 4, "at least one late and one off-route truck");
        let r = super::super::route::Route::from_geojson(ROUTE).expect("embedded route");
        assert!(r.length() > 10_000.0, "{}", r.length());
    }

    #[test]
    fn summary_shows_next_stop_deviation_and_exceptions() {
        let v = serde_json::json!([{
            "id": "sim-1", "progress": 0.425,
            "stops": [
                {"id": "mid", "status": "departed", "eta": "2026-11-27T10:00:00Z", "deviation_s": 60},
                {"id": "dest", "status": "late", "eta": "2026-11-27T10:42:10Z", "deviation_s": 1500}
            ],
            "exceptions": [{"type": "late", "stop": "dest"}, {"type": "off_route"}]
        }, {"id": "sim-2", "progress": 1.0, "stops": [{"id": "dest", "status": "arrived"}], "exceptions": []}]);
        let s = summary(&v);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "2 shipments, 2 open exceptions");
        assert!(
            lines[1].contains("sim-1") && lines[1].contains("42%"),
            "{s}"
        );
        assert!(
            lines[1].contains("next dest") && lines[1].contains("ETA 10:42"),
            "{s}"
        );
        assert!(
            lines[1].contains("+25 min") && lines[1].ends_with("late,off_route"),
            "{s}"
        );
        assert!(lines[2].contains("(done)"), "{s}");
    }
}
