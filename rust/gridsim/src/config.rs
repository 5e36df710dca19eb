//! The TOML configuration of gridsim: storage endpoints, FTS behaviour, authentication, faults.
//!
//! Every section has defaults, so an empty file is a valid configuration (open mode, no
//! storage). Further services add their own section here (`panda`, ...).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::faults::FaultsConfig;

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Storage endpoints: a URL prefix served from a local folder (`[[storage]]`).
    #[serde(default)]
    pub storage: Vec<StorageConfig>,
    /// Authentication of every API (`[auth]`).
    #[serde(default)]
    pub auth: AuthConfig,
    /// The FTS3 service (`[fts]`).
    #[serde(default)]
    pub fts: FtsConfig,
    /// Injected faults (`[faults]`).
    #[serde(default)]
    pub faults: FaultsConfig,
    /// The PanDA service and its site (`[panda]`).
    #[serde(default)]
    pub panda: crate::panda::PandaConfig,
}

/// One storage endpoint: PFNs under `url` are files under `path`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// The endpoint's name, usually its RSE (`LHEP_DISK`).
    pub name: String,
    /// The URL prefix of its PFNs (`http://127.0.0.1:8080/storage/lhep_disk`).
    pub url: String,
    /// The local folder holding its files; created at startup when missing.
    pub path: PathBuf,
}

/// Who may call the APIs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Accepted `Authorization: Bearer` tokens; empty (the default) is open mode, for local
    /// use only.
    #[serde(default)]
    pub tokens: Vec<String>,
}

/// How the FTS3 service identifies its users and paces its transfers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FtsConfig {
    /// The VO every user belongs to (first of `whoami`'s `vos`); seeds deterministic job ids.
    /// Default `bmn`.
    pub vo: String,
    /// The DN reported by `whoami` and stored in jobs. Default a gridsim DN.
    pub user_dn: String,
    /// Seconds a terminal job is kept before it is purged (then 404). Default 7 days, as FTS.
    pub retention_secs: u64,
    /// Transfers running at once on one link (source storage -> destination storage).
    /// Default 4.
    pub link_concurrency: usize,
    /// Bandwidth of one link in MB/s, shared by its running transfers. Default 100.
    pub link_bandwidth_mb_s: f64,
    /// Fixed cost of one transfer in milliseconds (connection, checksums). Default 50.
    pub transfer_overhead_ms: u64,
    /// Multiplies every simulated duration: 0 runs transfers as fast as the disk allows,
    /// 10 makes them ten times slower. Default 1.
    pub time_scale: f64,
    /// Seconds a staging request takes when `bring_online` is asked for. Default 1.
    pub staging_secs: f64,
    /// Retries when a job asks for the server default (`retry: 0`). Default 0.
    pub default_retry: u32,
}

impl Default for FtsConfig {
    fn default() -> Self {
        Self {
            vo: "bmn".to_owned(),
            user_dn: "/DC=org/DC=bmnflow/OU=gridsim/CN=gridsim user".to_owned(),
            retention_secs: 7 * 24 * 3600,
            link_concurrency: 4,
            link_bandwidth_mb_s: 100.0,
            transfer_overhead_ms: 50,
            time_scale: 1.0,
            staging_secs: 1.0,
            default_retry: 0,
        }
    }
}

/// Why a configuration could not be used.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text).map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0)))
    }

    /// Parses and checks a configuration text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let mut names = std::collections::HashSet::new();
        for storage in &self.storage {
            if !names.insert(storage.name.as_str()) {
                return Err(ConfigError(format!(
                    "storage {} is declared twice",
                    storage.name
                )));
            }
            if !storage.path.is_absolute() {
                return Err(ConfigError(format!(
                    "storage {}: path {} must be absolute",
                    storage.name,
                    storage.path.display()
                )));
            }
        }
        if self.fts.link_concurrency == 0 {
            return Err(ConfigError(
                "fts.link_concurrency must be at least 1".to_owned(),
            ));
        }
        let positive = self.fts.link_bandwidth_mb_s > 0.0 && self.fts.time_scale >= 0.0;
        if !positive {
            return Err(ConfigError(
                "fts.link_bandwidth_mb_s must be positive and fts.time_scale not negative"
                    .to_owned(),
            ));
        }
        self.faults.check().map_err(ConfigError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_open_mode_with_fts_defaults() {
        let config = Config::parse("").unwrap();
        assert!(config.auth.tokens.is_empty());
        assert_eq!(config.fts.vo, "bmn");
        assert_eq!(config.fts.retention_secs, 604_800);
    }

    #[test]
    fn storage_paths_must_be_absolute_and_unique() {
        let relative = "[[storage]]\nname = \"A\"\nurl = \"http://h/s/a\"\npath = \"rel\"\n";
        assert!(Config::parse(relative).unwrap_err().0.contains("absolute"));
        let twice = "[[storage]]\nname = \"A\"\nurl = \"http://h/s/a\"\npath = \"/a\"\n\
                     [[storage]]\nname = \"A\"\nurl = \"http://h/s/b\"\npath = \"/b\"\n";
        assert!(Config::parse(twice).unwrap_err().0.contains("twice"));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(Config::parse("[fts]\nbandwidth = 3\n").is_err());
    }
}
