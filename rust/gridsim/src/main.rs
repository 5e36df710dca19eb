//! bmnflow-gridsim: the embedded grid, PanDA and FTS3 REST APIs over local folders.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use bmnflow_gridsim::config::Config;
use bmnflow_gridsim::server::{self, AppState};

/// Command-line flags of the embedded grid.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "Embedded PanDA and FTS3 over local folders and processes"
)]
struct Flags {
    /// The TOML configuration: storage endpoints, FTS, authentication, faults.
    #[arg(long, env = "BMNFLOW_GRIDSIM_CONFIG")]
    config: Option<PathBuf>,
    /// The address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8446")]
    listen: SocketAddr,
    /// Allow listening on an address other than loopback.
    #[arg(long)]
    allow_remote: bool,
    /// A folder for the services' working files (PanDA job scratch folders unless
    /// `[panda] scratch` is set); created if missing.
    #[arg(long, env = "BMNFLOW_GRIDSIM_STATE_DIR")]
    state_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BMNFLOW_GRIDSIM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let flags = Flags::parse();
    match bmnflow_core::runtime::runtime().block_on(serve(flags)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bmnflow-gridsim: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(flags: Flags) -> Result<(), String> {
    if !flags.listen.ip().is_loopback() && !flags.allow_remote {
        return Err(format!(
            "refusing to listen on {}: not a loopback address (use --allow-remote)",
            flags.listen
        ));
    }
    let mut config = match &flags.config {
        Some(path) => Config::load(path).map_err(|e| e.to_string())?,
        None => Config::default(),
    };
    if let Some(dir) = &flags.state_dir {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        // PanDA jobs get their scratch folders here unless the configuration names one.
        config
            .panda
            .scratch
            .get_or_insert_with(|| dir.join("panda-scratch"));
    }
    let state = AppState::new(config)?;
    if state.auth.is_open() {
        tracing::warn!("no bearer token configured: open mode, for local use only");
    }
    let listener = tokio::net::TcpListener::bind(flags.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", flags.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let scheduler = tokio::spawn(state.fts.clone().run(wait_for(stopped.clone())));
    let app = server::router(&state);
    println!("listening on http://{address}");
    let served = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop.send(true);
    });
    let result = served.await.map_err(|e| e.to_string());
    let _ = scheduler.await;
    result
}

async fn wait_for(mut stopped: tokio::sync::watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
}
