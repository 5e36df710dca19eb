//! PanDA's Rucio integration: a task's input files and their replicas come from Rucio, and
//! its outputs and logs are registered there, in the task's output and log datasets.

use std::collections::HashMap;
use std::path::PathBuf;

use bmnflow_core::rucio::{
    Credentials, Did, DidType, FileSpec, NewDid, RucioClient, RucioConfig, RucioError,
};
use bmnflow_core::{ErrorKind, Secret, ServiceError};
use serde::Deserialize;

use crate::storage::Storage;

/// The `[panda.rucio]` section: the Rucio server and the account PanDA acts as.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RucioSettings {
    /// The server, such as `http://127.0.0.1:8080`.
    pub url: String,
    /// The account. Default `root`.
    #[serde(default = "default_account")]
    pub account: String,
    /// The userpass identity's user name.
    pub username: String,
    /// Its password.
    pub password: String,
}

fn default_account() -> String {
    "root".into()
}

/// One input file with the local path of a replica gridsim's storage holds.
#[derive(Debug, Clone)]
pub struct CatalogFile {
    pub scope: String,
    pub name: String,
    pub bytes: u64,
    pub adler32: Option<String>,
    pub events: Option<u64>,
    pub path: Option<PathBuf>,
}

/// The Rucio client of the embedded PanDA.
#[derive(Debug)]
pub struct Catalog {
    client: RucioClient,
}

impl Catalog {
    /// Connects lazily: no request is made until the first task needs Rucio.
    pub fn new(settings: &RucioSettings) -> Result<Self, String> {
        let credentials = Credentials::UserPass {
            username: settings.username.clone(),
            password: Secret::new(settings.password.clone()),
        };
        let config = RucioConfig::new(settings.url.clone(), settings.account.clone(), credentials);
        let client = RucioClient::new(config).map_err(|e| format!("panda.rucio: {e}"))?;
        Ok(Self { client })
    }

    /// The files of `dataset` in name order, each with a replica's local path when one of
    /// its replicas is on a storage gridsim serves.
    pub async fn input_files(
        &self,
        dataset: &str,
        storage: &Storage,
    ) -> Result<Vec<CatalogFile>, String> {
        let did = Did::parse(dataset).map_err(|e| e.to_string())?;
        let files = self.client.list_files(&did).await.map_err(describe)?;
        let replicas = self
            .client
            .list_replicas(std::slice::from_ref(&did), None, false)
            .await
            .map_err(describe)?;

        let mut paths: HashMap<(String, String), PathBuf> = HashMap::new();
        for replica in replicas {
            let available = replica.state.as_deref().is_none_or(|s| s == "AVAILABLE");
            let resolved = replica.pfn.as_deref().and_then(|pfn| storage.resolve(pfn));
            if let (true, Some(resolved)) = (available, resolved) {
                paths
                    .entry((replica.scope, replica.name))
                    .or_insert(resolved.path);
            }
        }
        let mut out: Vec<CatalogFile> = files
            .into_iter()
            .map(|file| CatalogFile {
                path: paths.get(&(file.scope.clone(), file.name.clone())).cloned(),
                bytes: file.bytes.unwrap_or(0),
                adler32: file.adler32,
                events: file.events,
                scope: file.scope,
                name: file.name,
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Creates a task's output or log dataset; one that exists already is kept.
    pub async fn ensure_dataset(&self, dataset: &str) -> Result<(), String> {
        let did = Did::parse(dataset).map_err(|e| e.to_string())?;
        let new = NewDid {
            did,
            did_type: DidType::Dataset,
            meta: serde_json::Map::new(),
            lifetime: None,
        };
        match self.client.create_did(&new).await {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == ErrorKind::AlreadyExists => Ok(()),
            Err(error) => Err(describe(error)),
        }
    }

    /// Registers a file on `rse` into `dataset` and returns the PFN Rucio gives its replica,
    /// where the bytes must then be written.
    pub async fn register(
        &self,
        dataset: &str,
        rse: &str,
        scope: &str,
        name: &str,
        bytes: u64,
        adler32: &str,
    ) -> Result<String, String> {
        let dataset = Did::parse(dataset).map_err(|e| e.to_string())?;
        let did = Did::new(scope, name).map_err(|e| e.to_string())?;
        let file = FileSpec {
            did: did.clone(),
            bytes,
            adler32: adler32.to_owned(),
            md5: None,
            pfn: None,
            events: None,
        };
        self.client
            .register_files(&dataset, rse, &[file])
            .await
            .map_err(describe)?;
        let replicas = self
            .client
            .list_replicas(&[did], Some(rse), true)
            .await
            .map_err(describe)?;
        replicas
            .into_iter()
            .find_map(|r| r.pfn)
            .ok_or_else(|| format!("Rucio gives no PFN for {scope}:{name} on {rse}"))
    }
}

fn describe(error: RucioError) -> String {
    format!("Rucio: {error}")
}
