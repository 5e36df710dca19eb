//! bmnflow-sidecar: hosts the batched watcher for every triggerer and worker of a deployment.

use std::net::SocketAddr;

use clap::Parser;

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
}

fn main() {
    let flags = Flags::parse();
    // Limitation: the watcher service is not served yet; this binary only validates its flags.
    eprintln!("bmnflow-sidecar: would listen on {}", flags.listen);
}
