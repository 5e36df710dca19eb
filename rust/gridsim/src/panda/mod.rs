//! The embedded PanDA: the `/api/v1` task, job and system calls with the real server's
//! encodings, and a JEDI-like driver that cuts tasks into jobs and runs them as local
//! processes on one site.

mod api;
mod catalog;
mod faults;
mod jedi;
mod params;
mod pilot;
mod split;
mod store;
mod template;
mod wire;

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::Deserialize;
use tokio::sync::Semaphore;

pub use catalog::RucioSettings;
pub use faults::JobFaultsConfig;
pub use wire::router;

use crate::auth::Auth;
use crate::faults::FaultsConfig;
use crate::storage::Storage;
use store::Store;

/// The `[panda]` section of the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PandaConfig {
    /// The computing site jobs run at. Default `GRIDSIM`.
    pub site: String,
    /// Jobs running at once. Default 4.
    pub slots: usize,
    /// The folder where each job gets its scratch folder. Default a temporary folder.
    pub scratch: Option<PathBuf>,
    /// The storage endpoint (by name, its RSE) that receives outputs and logs.
    pub storage: Option<String>,
    /// VOs accepted in `Origin` with a bearer token. Default `["bmn"]`.
    pub vos: Vec<String>,
    /// The user name of requests in open mode. Default `gridsim`.
    pub user: String,
    /// Seconds a payload may run before the pilot kills it. Default 3600.
    pub payload_timeout_secs: u64,
    /// The Rucio server for input datasets and output registration (`[panda.rucio]`);
    /// without it only Monte Carlo tasks run, and outputs are only written to storage.
    pub rucio: Option<RucioSettings>,
}

impl Default for PandaConfig {
    fn default() -> Self {
        Self {
            site: "GRIDSIM".to_owned(),
            slots: 4,
            scratch: None,
            storage: None,
            vos: vec!["bmn".to_owned()],
            user: "gridsim".to_owned(),
            payload_timeout_secs: 3600,
            rucio: None,
        }
    }
}

/// The embedded PanDA server: its store, its site, and what it needs from the rest of
/// gridsim.
#[derive(Debug)]
pub struct Panda {
    config: PandaConfig,
    store: Mutex<Store>,
    storage: Arc<Storage>,
    auth: Arc<Auth>,
    faults: faults::JobFaults,
    slots: Arc<Semaphore>,
    scratch: PathBuf,
    catalog: Option<catalog::Catalog>,
}

impl Panda {
    /// Builds the service; job failures come from the `[faults]` section (`jobs`, `seed`).
    pub fn new(
        config: PandaConfig,
        storage: Arc<Storage>,
        auth: Arc<Auth>,
        faults: &FaultsConfig,
    ) -> Result<Arc<Self>, String> {
        if config.slots == 0 {
            return Err("panda.slots must be at least 1".into());
        }
        if let Some(name) = &config.storage {
            if !storage.endpoints().iter().any(|e| &e.name == name) {
                return Err(format!(
                    "panda.storage {name} is not a declared storage endpoint"
                ));
            }
        }
        let scratch = match &config.scratch {
            Some(path) => path.clone(),
            None => {
                std::env::temp_dir().join(format!("bmnflow-gridsim-panda-{}", std::process::id()))
            }
        };
        std::fs::create_dir_all(&scratch)
            .map_err(|e| format!("panda.scratch {}: {e}", scratch.display()))?;
        let catalog = config
            .rucio
            .as_ref()
            .map(catalog::Catalog::new)
            .transpose()?;
        if catalog.is_some() && config.storage.is_none() {
            return Err("panda.rucio needs panda.storage, the RSE outputs are written to".into());
        }
        Ok(Arc::new(Self {
            catalog,
            faults: faults::JobFaults::new(faults.seed, &faults.jobs)?,
            slots: Arc::new(Semaphore::new(config.slots)),
            config,
            store: Mutex::new(Store::default()),
            storage,
            auth,
            scratch,
        }))
    }
}
