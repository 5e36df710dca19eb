//! bmnflow-gridsim: the embedded grid, PanDA and FTS3 REST APIs over local folders.

use std::path::PathBuf;

use clap::Parser;

/// Command-line flags of the embedded grid.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "Embedded PanDA and FTS3 over local folders and processes"
)]
struct Flags {
    /// The TOML configuration: storage endpoints, sites, faults.
    #[arg(long, env = "BMNFLOW_GRIDSIM_CONFIG")]
    config: Option<PathBuf>,
}

fn main() {
    let flags = Flags::parse();
    // Limitation: no API is served yet; this binary only validates its flags.
    eprintln!("bmnflow-gridsim: config {:?}", flags.config);
}
