//! The `volant` command line: serve (default), migrate, seed-demo.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use volant::platform::config::{Config, ConfigArgs};
use volant::platform::db::{self, DbSettings};
use volant::platform::telemetry;

#[derive(Parser)]
#[command(name = "volant", version, about = "Operations software for garage networks and driving schools")]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (the default).
    Serve,
    /// Bring the database schema up to date, then exit.
    Migrate,
    /// Fill an empty database with demo garages and vehicles.
    SeedDemo,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_args(&cli.config) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("volant: configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(&config).await,
        Command::SeedDemo => seed_demo(config).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            eprintln!("volant: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let addr = config.addr;
    tracing::info!(?config, "starting");
    let state = volant::init_state(config).await.map_err(|e| format!("database: {e}"))?;
    let app = volant::build_app(state);
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!("Volant is running: open http://{local}");
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await.map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(())
}

async fn migrate(config: &Config) -> Result<(), String> {
    let settings = DbSettings::new(config.database_url.clone(), 1);
    let conn = db::connect(&settings).await.map_err(|e| format!("database: {e}"))?;
    db::migrate(&conn).await.map_err(|e| format!("migration failed: {e}"))?;
    tracing::info!("database schema is up to date");
    Ok(())
}

async fn seed_demo(config: Config) -> Result<(), String> {
    let state = volant::init_state(config).await.map_err(|e| format!("database: {e}"))?;
    let report = volant::fleet::demo::seed(&state.db, state.default_org).await.map_err(|e| e.to_string())?;
    tracing::info!(garages = report.garages, vehicles = report.vehicles, "demo data created");
    Ok(())
}

/// Ctrl-C or SIGTERM (what container runtimes send) stops accepting
/// connections and lets requests in flight finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
