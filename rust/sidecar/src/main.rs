//! bmnflow-sidecar: hosts the batched watcher for every triggerer and worker of a deployment.
//!
//! Triggers send their waits here (`POST /v1/wait`, a long poll) instead of polling the
//! services themselves, so a deployment asks each service once per interval in bulk however
//! many tasks wait. Credentials come from the same `AIRFLOW_CONN_<ID>` variables Airflow
//! reads. The sidecar keeps no state worth saving: after a restart the clients' next long
//! polls register their waits again.

mod app;
mod metrics;
mod sources;
mod status;
mod wait;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bmnflow_core::watch::{Connection, WatchConfig, Watcher};
use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::app::{router, AppState};
use crate::sources::ConnectionSources;

/// Command-line flags of the sidecar.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "Shares bmnflow's batched watcher across an Airflow deployment"
)]
struct Flags {
    /// Address to listen on; loopback unless the deployment puts it behind a network policy.
    #[arg(long, env = "BMNFLOW_SIDECAR_LISTEN", default_value = "127.0.0.1:8790")]
    listen: SocketAddr,

    /// Listen on this Unix socket instead of TCP.
    #[arg(long, env = "BMNFLOW_SIDECAR_SOCKET")]
    unix_socket: Option<PathBuf>,

    /// Seconds between polls after a change (the quickest interval).
    #[arg(long, env = "BMNFLOW_WATCH_MIN_INTERVAL", default_value_t = 5.0)]
    min_interval: f64,

    /// Seconds between polls at most, reached while nothing changes.
    #[arg(long, env = "BMNFLOW_WATCH_MAX_INTERVAL", default_value_t = 60.0)]
    max_interval: f64,

    /// Requests per second allowed to each service endpoint.
    #[arg(long, env = "BMNFLOW_WATCH_REQUESTS_PER_SECOND", default_value_t = 5.0)]
    requests_per_second: f64,

    /// Requests an endpoint may receive at once after a quiet spell.
    #[arg(long, env = "BMNFLOW_WATCH_BURST", default_value_t = 10)]
    burst: u32,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("BMNFLOW_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let flags = Flags::parse();
    if let Err(message) = serve(flags).await {
        eprintln!("bmnflow-sidecar: {message}");
        std::process::exit(1);
    }
}

async fn serve(flags: Flags) -> Result<(), String> {
    let config = watch_config(&flags)?;
    let connections = Connection::from_env_vars(std::env::vars()).map_err(|e| e.to_string())?;
    let sources = ConnectionSources::new(connections);
    let ids: Vec<&str> = sources.conn_ids().collect();
    tracing::info!(connections = ?ids, "connections read from AIRFLOW_CONN_* variables");

    let state = AppState {
        watcher: Watcher::new(config),
        sources: Arc::new(sources),
        metrics: Arc::default(),
    };
    let app = router(state);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };

    match flags.unix_socket {
        Some(path) => {
            // A socket file left by a killed sidecar would make the bind fail.
            let _ = std::fs::remove_file(&path);
            let listener = tokio::net::UnixListener::bind(&path)
                .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
            tracing::info!(socket = %path.display(), "listening");
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(|e| e.to_string())
        }
        None => {
            let listener = tokio::net::TcpListener::bind(flags.listen)
                .await
                .map_err(|e| format!("cannot listen on {}: {e}", flags.listen))?;
            tracing::info!(address = %flags.listen, "listening");
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(|e| e.to_string())
        }
    }
}

fn watch_config(flags: &Flags) -> Result<WatchConfig, String> {
    let seconds = |name: &str, value: f64| {
        Duration::try_from_secs_f64(value)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("--{name} must be a positive number of seconds, not {value}"))
    };
    let min_interval = seconds("min-interval", flags.min_interval)?;
    let max_interval = seconds("max-interval", flags.max_interval)?;
    if max_interval < min_interval {
        return Err("--max-interval must not be below --min-interval".into());
    }
    if !flags.requests_per_second.is_finite() || flags.requests_per_second <= 0.0 {
        return Err("--requests-per-second must be positive".into());
    }
    Ok(WatchConfig {
        min_interval,
        max_interval,
        requests_per_second: flags.requests_per_second,
        burst: flags.burst,
        ..WatchConfig::default()
    })
}
