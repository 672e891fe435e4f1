//! `volant-bench`: Volant's benchmark harness (see `bench/README.md`).
//!
//! - `seed`: fill a database with reproducible data at benchmark scale;
//! - `serve`: Volant's application plus the ceiling routes (what the load hits);
//! - `run`: seed if needed, start the server, drive every scenario with wrk,
//!   measure the ceilings (and pgbench), write tables, JSON and charts.

// This program's answers are its printed tables.
#![allow(clippy::print_stdout)]

mod http;
mod report;
mod run;
mod seed;
mod seed_records;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use volant::platform::config::{Config, ConfigArgs};

#[derive(Parser)]
#[command(name = "volant-bench", about = "Volant's benchmark harness")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fill an empty database with benchmark data (10 organizations, 1,000 garages, 1 M vehicles).
    Seed {
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        /// Small data for a smoke run instead of the full scale.
        #[arg(long)]
        quick: bool,
    },
    /// Serve Volant with the ceiling routes (configured like `volant serve`).
    Serve {
        #[command(flatten)]
        config: Box<ConfigArgs>,
    },
    /// Run the benchmark: every scenario on every backend, then the report.
    Run(run::Options),
    /// Rewrite docs/benchmarks.md and its charts from a saved run's JSON.
    Report {
        #[arg(long, default_value = "docs/benchmarks/results.json")]
        from: PathBuf,
    },
}

/// glibc malloc raises its mmap threshold after the first large free, then keeps
/// every freed Argon2 block (19 MiB) in its arenas: 350+ MB after a burst of
/// sign-ins. mimalloc returns such memory to the system.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Seed { database_url, quick } => {
            let _telemetry = volant::platform::telemetry::init(volant::platform::config::LogFormat::Pretty, None);
            let scale = if quick { seed::Scale::QUICK } else { seed::Scale::FULL };
            run::prepare_database(&database_url, scale, true).await.map(|report| {
                if let Some(report) = report {
                    println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
                }
            })
        }
        Command::Serve { config } => match Config::from_args(&config) {
            Ok(config) => {
                let _telemetry = volant::platform::telemetry::init(config.log_format, None);
                server::serve(config).await
            }
            Err(err) => Err(format!("configuration: {err}")),
        },
        Command::Run(options) => run::run(options).await,
        Command::Report { from } => std::fs::read_to_string(&from)
            .map_err(|e| format!("{}: {e}", from.display()))
            .and_then(|json| serde_json::from_str::<report::RunResult>(&json).map_err(|e| e.to_string()))
            .and_then(|result| report::write_docs(&result, std::path::Path::new("docs"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("volant-bench: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Where the harness keeps its databases, logs and raw results.
fn work_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    target.join("bench")
}
