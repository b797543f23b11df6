//! `trackgate`: command line entry point. Thin: parse, load config, run until a signal.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use trackgate::config::Config;
use trackgate::protocol::{self, ChecksumPolicy, DecoderOptions};
use trackgate::tools::decode::{self, DecodeSession, InputFormat};

#[derive(Parser)]
#[command(
    name = "trackgate",
    version,
    about = "GPS/GPRS vehicle telematics ingestion server"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the gateway (device listeners, pipeline, HTTP API) until SIGINT/SIGTERM.
    Serve {
        /// TOML config file; without it the embedded defaults apply. Every key can also be
        /// set with TRACKGATE_<SECTION>__<KEY>.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Decode a device's wire bytes from stdin (one chunk per line) and print JSON per line.
    Decode {
        /// Protocol name (see `trackgate protocols`).
        #[arg(long, short)]
        protocol: String,
        /// Lines are text (with \r \n \xHH escapes), not hex.
        #[arg(long)]
        text: bool,
        /// Each line is one UDP datagram.
        #[arg(long)]
        udp: bool,
        /// Decode frames whose checksum does not match instead of rejecting them.
        #[arg(long)]
        ignore_checksum: bool,
        /// Protocol option KEY=VALUE (as in [protocols.<name>.options]); repeatable.
        #[arg(long = "option", value_name = "KEY=VALUE")]
        options: Vec<String>,
    },
    /// List the protocols with their default ports and transports.
    Protocols,
    /// API tokens (see README "Security").
    Token {
        #[command(subcommand)]
        cmd: TokenCmd,
    },
    /// Backfill an InfluxDB from the write-ahead log (the embedded store). Stop `serve` on the
    /// same storage.dir first: the log is opened exclusively.
    Replay(ReplayArgs),
    /// The log on NATS JetStream (`[log] backend = "jetstream"`).
    Cluster {
        #[command(subcommand)]
        cmd: ClusterCmd,
    },
    /// The device registry as CSV (see README "Device registry").
    Devices {
        #[command(subcommand)]
        cmd: DevicesCmd,
    },
    /// Score tracking's ETAs and late alerts on recorded trips (see docs/tracking.md).
    EvalEta {
        /// Shipment JSON (same shape as POST /api/shipments).
        #[arg(long, required_unless_present = "generate")]
        shipment: Option<PathBuf>,
        /// Trips CSV with header trip,time,lat,lon.
        #[arg(long, required_unless_present = "generate")]
        trips: Option<PathBuf>,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Write a synthetic trip set (shipment.json, trips.csv) into this directory instead.
        #[arg(long, value_name = "DIR")]
        generate: Option<PathBuf>,
        /// Seed of the synthetic set.
        #[arg(long, default_value_t = trackgate::tools::eval_eta::DEFAULT_SEED)]
        seed: u64,
        /// Trips in the synthetic set.
        #[arg(long, default_value_t = trackgate::tools::eval_eta::DEFAULT_TRIPS)]
        count: usize,
        /// With --generate: the harder preset (a second set to check what was tuned on the
        /// shipped one).
        #[arg(long, requires = "generate")]
        hard: bool,
        /// A trackgate config file whose `[tracking]` table replaces the defaults (to score
        /// other thresholds).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// `trackgate replay`. Secrets are not command-line values (`ps` shows those to every user):
/// the token comes from `--token-file`, the `INFLUX_TOKEN` environment variable, or the
/// config's `[influx] token` / `token_file` / `TRACKGATE_INFLUX__TOKEN`, in that order.
#[derive(clap::Args)]
struct ReplayArgs {
    /// Config file (for storage.dir and defaults of [influx]).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// InfluxDB base URL, e.g. http://127.0.0.1:8086 or https://influx.example:8086.
    #[arg(long = "to-influx", value_name = "URL")]
    to_influx: String,
    /// Only records received at or after this time (RFC 3339, or unix seconds).
    #[arg(long)]
    from: Option<String>,
    /// Write API: v1 (database) or v2 (org, bucket, token).
    #[arg(long, default_value = "v1")]
    api: String,
    /// v1 database.
    #[arg(long, default_value = "trackgate")]
    database: String,
    /// v2 organisation.
    #[arg(long, default_value = "")]
    org: String,
    /// v2 bucket.
    #[arg(long, default_value = "")]
    bucket: String,
    /// v2 token, read from this file.
    #[arg(long = "token-file", value_name = "PATH")]
    token_file: Option<PathBuf>,
    /// PEM bundle of extra trusted roots for an https:// InfluxDB (default: the config's
    /// [influx] ca_file).
    #[arg(long = "ca-file", value_name = "PATH")]
    ca_file: Option<PathBuf>,
}

#[derive(Subcommand)]
enum ClusterCmd {
    /// The stream's replicas (leader, current, lag) and every log consumer's position and
    /// lag. Exit 2 when the config's log is not on JetStream, 1 when it cannot be read.
    Status {
        /// Config file with the [log.jetstream] section.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum DevicesCmd {
    /// Create or replace the devices of a CSV file (header row required: id, name, plate,
    /// vehicle_type, group, customer, phone, notes, speed_limit_kmh). Every row is checked
    /// first; a bad row is reported with its line number and nothing is written.
    Import {
        /// The CSV file.
        file: PathBuf,
        /// Config file (for storage.dir).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Print every registered device as CSV (the import's columns) on stdout.
    Export {
        /// Config file (for storage.dir).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Print a fresh random token and the `[[api.tokens]]` block (with its SHA-256) to paste
    /// into the config. The token is shown only here; the config keeps only its hash.
    New {
        /// Name shown in logs and the audit trail.
        #[arg(long)]
        name: String,
        /// Comma-separated scopes: admin, read, write, commands, metrics.
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        /// Bind the token to one customer (tenant-scoped).
        #[arg(long)]
        customer: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Serve { config } => serve(config),
        Cmd::Decode {
            protocol,
            text,
            udp,
            ignore_checksum,
            options,
        } => decode_cmd(&protocol, text, udp, ignore_checksum, &options),
        Cmd::Replay(args) => replay_cmd(args),
        Cmd::EvalEta {
            shipment,
            trips,
            json,
            generate,
            seed,
            count,
            hard,
            config,
        } => eval_eta_cmd(
            shipment,
            trips,
            json,
            generate.map(|dir| (dir, seed, count, hard)),
            config,
        ),
        Cmd::Token { cmd } => token_cmd(cmd),
        Cmd::Cluster {
            cmd: ClusterCmd::Status { config, json },
        } => cluster_status_cmd(config, json),
        Cmd::Devices { cmd } => devices_cmd(cmd),
        Cmd::Protocols => {
            for p in protocol::REGISTRY {
                let t = p.transports();
                let tr = match (t.tcp, t.udp) {
                    (true, true) => "tcp+udp",
                    (true, false) => "tcp",
                    (false, true) => "udp",
                    (false, false) if p.http() => "http",
                    (false, false) => "-",
                };
                println!("{:<12} {:>5} {}", p.name(), p.default_port(), tr);
            }
            ExitCode::SUCCESS
        }
    }
}

fn cluster_status_cmd(config: Option<PathBuf>, json: bool) -> ExitCode {
    let (cfg, rt) = match config_and_runtime(config.as_deref()) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let Some(js) = cfg
        .log
        .jetstream
        .filter(|_| cfg.log.backend == trackgate::pipeline::backend::LogBackend::Jetstream)
    else {
        eprintln!("trackgate: the log is local (one node): set [log] backend = \"jetstream\"");
        return ExitCode::from(2);
    };
    match rt.block_on(trackgate::pipeline::jetstream::status::cluster_status(&js)) {
        Ok(s) if json => {
            println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Ok(s) => {
            print!("{}", s.render());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("trackgate: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: Option<PathBuf>) -> ExitCode {
    // Everything the gateway creates (log segments, stores) is private: 0700 / 0600.
    trackgate::secret::perms::restrict_umask();
    trackgate::telemetry::init_logging();
    let (cfg, rt) = match config_and_runtime(config.as_deref()) {
        Ok(x) => x,
        Err(code) => return code,
    };
    rt.block_on(async move {
        // Before start: a SIGHUP once the listeners are up must never hit the default
        // action (terminate).
        let mut hangup = hangups();
        let running = match trackgate::server::start(cfg).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("trackgate: {e}");
                return ExitCode::FAILURE;
            }
        };
        let token = running.token();
        let stop = trackgate::shutdown::signal();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => {
                    tracing::info!("signal received, shutting down");
                    break;
                }
                _ = token.cancelled() => break,
                Some(()) = hangup.recv() => {
                    let n = running.reload_tls();
                    tracing::info!(reloaded = n, "SIGHUP: TLS certificates re-read");
                }
            }
        }
        running.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// SIGHUP, one message per signal (never on non-Unix): reloads the TLS certificates.
fn hangups() -> tokio::sync::mpsc::Receiver<()> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::hangup()) {
            Ok(mut s) => {
                tokio::spawn(async move {
                    while s.recv().await.is_some() {
                        // A full channel means a reload is pending already.
                        let _ = tx.try_send(());
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "no SIGHUP handler: certificates reload only when their files change")
            }
        }
    }
    #[cfg(not(unix))]
    drop(tx);
    rx
}

fn token_cmd(cmd: TokenCmd) -> ExitCode {
    use trackgate::api::auth::config::{check_name, ApiConfig, TokenConfig};
    use trackgate::api::auth::{tokens, Scope};
    let TokenCmd::New {
        name,
        scopes,
        customer,
    } = cmd;
    let parsed: Result<Vec<Scope>, String> = scopes.iter().map(|s| s.trim().parse()).collect();
    let scopes = match parsed {
        Ok(s) => s,
        Err(e) => {
            eprintln!("trackgate: --scopes: {e}");
            return ExitCode::from(2);
        }
    };
    let token = tokens::generate();
    let entry = TokenConfig {
        name: name.clone(),
        token_sha256: Some(tokens::sha256_hex(&token).into()),
        scopes: scopes.clone(),
        customer: customer.clone(),
        ..TokenConfig::default()
    };
    let check = check_name("--name", &name).and_then(|_| {
        ApiConfig {
            tokens: vec![entry],
        }
        .validate()
    });
    if let Err(e) = check {
        eprintln!("trackgate: {e}");
        return ExitCode::from(2);
    }
    let scopes_toml: Vec<String> = scopes.iter().map(|s| format!("\"{s}\"")).collect();
    println!("# Token (shown once; give it to the client, keep it secret):");
    println!("#   {token}");
    println!("# Paste into the config:");
    println!("[[api.tokens]]");
    println!("name = \"{name}\"");
    println!("token_sha256 = \"{}\"", tokens::sha256_hex(&token));
    println!("scopes = [{}]", scopes_toml.join(", "));
    if let Some(c) = customer {
        println!("customer = \"{c}\"");
    }
    ExitCode::SUCCESS
}

fn devices_cmd(cmd: DevicesCmd) -> ExitCode {
    use trackgate::tools::devices;
    trackgate::secret::perms::restrict_umask();
    let config = match &cmd {
        DevicesCmd::Import { config, .. } | DevicesCmd::Export { config } => config.clone(),
    };
    let cfg = match Config::load(config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("trackgate: {e}");
            return ExitCode::from(2);
        }
    };
    let dir = &cfg.storage.dir;
    let r = match cmd {
        DevicesCmd::Import { file, .. } => devices::import(dir, &file).map(|n| {
            println!(
                "{}",
                serde_json::to_string(&n).unwrap_or_else(|e| e.to_string())
            );
        }),
        DevicesCmd::Export { .. } => devices::export(dir, std::io::stdout().lock()).map(|_| ()),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trackgate: {e}");
            ExitCode::from(if e.bad_input { 2 } else { 1 })
        }
    }
}

fn decode_cmd(
    name: &str,
    text: bool,
    udp: bool,
    ignore_checksum: bool,
    options: &[String],
) -> ExitCode {
    let Some(p) = protocol::find(name) else {
        let known: Vec<_> = protocol::REGISTRY.iter().map(|p| p.name()).collect();
        eprintln!(
            "trackgate: unknown protocol {name:?} (known: {})",
            known.join(", ")
        );
        return ExitCode::from(2);
    };
    let mut opts = DecoderOptions {
        checksum: if ignore_checksum {
            ChecksumPolicy::Ignore
        } else {
            ChecksumPolicy::Verify
        },
        max_frame: 1 << 16,
        ..Default::default()
    };
    for kv in options {
        let Some((k, v)) = kv.split_once('=') else {
            eprintln!("trackgate: --option {kv:?} is not KEY=VALUE");
            return ExitCode::from(2);
        };
        opts.options.insert(k.to_string(), v.to_string());
    }
    let mut session = match DecodeSession::new(p, &opts, udp) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("trackgate: {e}");
            return ExitCode::from(2);
        }
    };
    let format = if text {
        InputFormat::Text
    } else {
        InputFormat::Hex
    };
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    match decode::run(&mut session, format, stdin.lock(), stdout.lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trackgate: {e}");
            ExitCode::FAILURE
        }
    }
}

fn replay_cmd(a: ReplayArgs) -> ExitCode {
    trackgate::telemetry::init_logging();
    let (cfg, rt) = match config_and_runtime(a.config.as_deref()) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let from = match a.from.as_deref().map(parse_time).transpose() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("trackgate: --from: {e}");
            return ExitCode::from(2);
        }
    };
    let icfg = match replay_influx(&cfg, a) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("trackgate: {e}");
            return ExitCode::from(2);
        }
    };
    let stop = trackgate::shutdown::CancellationToken::new();
    let stop2 = stop.clone();
    let r = rt.block_on(async move {
        tokio::spawn(async move {
            trackgate::shutdown::signal().await;
            stop2.cancel();
        });
        trackgate::tools::replay::replay(
            &cfg.storage.wal_dir(),
            cfg.storage.wal_options(),
            &icfg,
            from,
            stop,
        )
        .await
    });
    match r {
        Ok(rep) => {
            println!(
                "{}",
                serde_json::json!({
                    "records": rep.records,
                    "skipped": rep.skipped,
                    "undecodable": rep.undecodable,
                    "lines_written": rep.lines_written,
                    "bad_lines": rep.bad_lines,
                })
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("trackgate: replay: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The `[influx]` settings of a replay: the config's, with the command line's URL, API,
/// database, org, bucket, CA bundle and token source.
fn replay_influx(
    cfg: &trackgate::config::Config,
    a: ReplayArgs,
) -> Result<trackgate::sinks::influx::InfluxConfig, String> {
    use trackgate::sinks::influx::{InfluxApi, InfluxConfig};
    let mut icfg = cfg
        .influx
        .clone()
        .unwrap_or_else(|| InfluxConfig::new(a.to_influx.clone()));
    icfg.url = a.to_influx;
    icfg.api = match a.api.as_str() {
        "v1" => InfluxApi::V1,
        "v2" => InfluxApi::V2,
        other => return Err(format!("--api {other:?}: expected v1 or v2")),
    };
    icfg.database = a.database;
    icfg.org = a.org;
    icfg.bucket = a.bucket;
    if let Some(ca) = a.ca_file {
        icfg.ca_file = Some(ca);
    }
    let env_token = std::env::var("INFLUX_TOKEN").ok().filter(|t| !t.is_empty());
    if let Some(f) = a.token_file {
        icfg.token = Default::default();
        icfg.token_file = Some(f);
    } else if let Some(t) = env_token {
        icfg.token = t.into();
        icfg.token_file = None;
    }
    icfg.validate().map_err(|e| e.to_string())?;
    Ok(icfg)
}

/// RFC 3339 or unix seconds.
fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(secs) = s.parse::<i64>() {
        return chrono::DateTime::from_timestamp(secs, 0)
            .ok_or_else(|| format!("{s}: out of range"));
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("{s:?}: {e} (expected RFC 3339 or unix seconds)"))
}

/// Loads the config and builds the runtime, printing the error and choosing the exit code
/// (2 = bad config) on failure.
fn config_and_runtime(
    config: Option<&std::path::Path>,
) -> Result<(Config, tokio::runtime::Runtime), ExitCode> {
    let cfg = Config::load(config).map_err(|e| {
        eprintln!("trackgate: {e}");
        ExitCode::from(2)
    })?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("trackgate: cannot start the runtime: {e}");
            ExitCode::FAILURE
        })?;
    Ok((cfg, rt))
}
fn eval_eta_cmd(
    shipment: Option<PathBuf>,
    trips: Option<PathBuf>,
    json: bool,
    generate: Option<(PathBuf, u64, usize, bool)>,
    config: Option<PathBuf>,
) -> ExitCode {
    use trackgate::tools::eval_eta;
    if let Some((dir, seed, count, hard)) = generate {
        let preset = if hard {
            eval_eta::generate::Preset::Hard
        } else {
            eval_eta::generate::Preset::Shipped
        };
        return match eval_eta::write_generated(&dir, seed, count, preset) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("trackgate: {}: {e}", dir.display());
                ExitCode::FAILURE
            }
        };
    }
    let (Some(s), Some(t)) = (shipment, trips) else {
        eprintln!("trackgate: --shipment and --trips are required");
        return ExitCode::from(2);
    };
    let cfg = match config.map(|c| eval_eta::tracking_config(&c)).transpose() {
        Ok(c) => c.unwrap_or_default(),
        Err(e) => {
            eprintln!("trackgate: {e}");
            return ExitCode::from(2);
        }
    };
    match eval_eta::run_files(&s, &t, &cfg) {
        Ok(r) if json => match serde_json::to_string(&r) {
            Ok(j) => {
                println!("{j}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("trackgate: {e}");
                ExitCode::FAILURE
            }
        },
        Ok(r) => {
            print!("{}", r.text());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("trackgate: {e}");
            ExitCode::from(2)
        }
    }
}
