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

fn serve(config: Option<PathBuf>) -> ExitCode {
    trackgate::telemetry::init_logging();
    let cfg = match Config::load(config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("trackgate: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("trackgate: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let running = match trackgate::server::start(cfg).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("trackgate: {e}");
                return ExitCode::FAILURE;
            }
        };
        let token = running.token();
        tokio::select! {
            _ = trackgate::shutdown::signal() => tracing::info!("signal received, shutting down"),
            _ = token.cancelled() => {}
        }
        running.shutdown().await;
        ExitCode::SUCCESS
    })
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
