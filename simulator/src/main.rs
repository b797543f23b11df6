//! `trackgate-sim`: command line of the fleet simulator, load benchmark and baseline servers.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use trackgate_sim::proto::{self, SimError};
use trackgate_sim::scenario::Scenario;
use trackgate_sim::{demo, fleet, load};

#[derive(Parser)]
#[command(
    name = "trackgate-sim",
    version,
    about = "Virtual tracker fleet for trackgate"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Runs a fleet scenario against a gateway on loopback.
    Run(RunArgs),
    /// Starts trackgate in-process (embedded defaults, API on 127.0.0.1:8080) with a demo
    /// fleet driving shipments, some of them late or off route. Nothing else to install.
    Demo(demo::DemoArgs),
    /// Lists the protocol kinds the simulator speaks (and those it does not yet).
    Kinds,
    /// Closed-loop load benchmark: N connections, each sending a frame and waiting for its ACK.
    Load(load::LoadArgs),
    /// A baseline server for the benchmark: read-and-discard or fixed 4-byte ping-pong.
    Baseline(load::BaselineArgs),
    /// Many logged-in connections: idle soak (gateway RSS/CPU) or reconnect storm.
    Conns(load::conns::ConnsArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// Scenario TOML file (simulator/scenarios/*.toml); defaults apply without one.
    #[arg(long, short)]
    scenario: Option<PathBuf>,
    /// Number of devices (overrides the scenario).
    #[arg(long)]
    devices: Option<usize>,
    /// Time compression: simulated seconds per real second.
    #[arg(long)]
    speedup: Option<f64>,
    /// Stop after this many real seconds, then drain.
    #[arg(long)]
    duration: Option<f64>,
    /// Stop after this many fixes in total, then drain.
    #[arg(long)]
    records: Option<u64>,
    /// Random seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Protocol mix, e.g. `gt06=2,teltonika=1,jt808_2019=1` (overrides the scenario's).
    #[arg(long)]
    mix: Option<String>,
    /// Target per key, e.g. `--target gt06=127.0.0.1:5023` (repeatable; loopback only).
    #[arg(long = "target", value_parser = parse_target)]
    targets: Vec<(String, SocketAddr)>,
    /// Gateway API base URL, used with --shipments.
    #[arg(long)]
    api: Option<String>,
    /// Create one shipment per device through `POST /api/shipments`.
    #[arg(long)]
    shipments: bool,
    /// Print the final report as JSON on stdout.
    #[arg(long)]
    json: bool,
}

fn parse_target(s: &str) -> Result<(String, SocketAddr), String> {
    let (k, a) = s.split_once('=').ok_or("expected KEY=ADDR")?;
    let addr: SocketAddr = a.parse().map_err(|e| format!("{a}: {e}"))?;
    Ok((k.to_string(), addr))
}

fn scenario(a: &RunArgs) -> Result<Scenario, SimError> {
    let mut sc = match &a.scenario {
        Some(p) => Scenario::load(p)?,
        None => Scenario::default(),
    };
    if let Some(n) = a.devices {
        sc.devices = n;
    }
    if let Some(x) = a.speedup {
        sc.speedup = x;
    }
    if a.duration.is_some() {
        sc.duration_s = a.duration;
    }
    if a.records.is_some() {
        sc.records = a.records;
    }
    if let Some(s) = a.seed {
        sc.seed = s;
    }
    if let Some(m) = &a.mix {
        sc.mix.clear();
        for part in m.split(',').filter(|p| !p.is_empty()) {
            let (k, w) = part.split_once('=').unwrap_or((part, "1"));
            let w = w
                .parse()
                .map_err(|_| SimError::Config(format!("--mix {part}: weight is not a number")))?;
            sc.mix.insert(k.to_string(), w);
        }
    }
    for (k, addr) in &a.targets {
        sc.targets.insert(k.clone(), *addr);
    }
    if let Some(u) = &a.api {
        sc.api.url = u.clone();
    }
    if a.shipments {
        sc.api.shipments = true;
    }
    Ok(sc)
}

async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        // No signal handling available: only the scenario bounds stop the run.
        std::future::pending::<()>().await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Kinds => {
            for k in proto::KINDS {
                let t = proto::default_target(k)
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                println!(
                    "{:<14} {:?} target {:<14} default {t}",
                    k.name, k.transport, k.target
                );
            }
            if !proto::MISSING.is_empty() {
                println!("not yet simulated: {}", proto::MISSING.join(", "));
            }
            Ok(())
        }
        Cmd::Run(a) => match scenario(&a) {
            Err(e) => Err(e),
            Ok(sc) => fleet::run(&sc, ctrl_c()).await.map(|r| {
                if a.json {
                    println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
                }
            }),
        },
        Cmd::Demo(a) => match demo::start(&a).await {
            Err(e) => Err(e),
            Ok(d) => {
                println!("{}", demo::banner(&d));
                demo::run(d, a.summary, ctrl_c()).await.map(|_| ())
            }
        },
        Cmd::Load(a) => load::run_load(a).await,
        Cmd::Baseline(a) => load::run_baseline(a, ctrl_c()).await,
        Cmd::Conns(a) => load::conns::run_conns(a).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trackgate-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
