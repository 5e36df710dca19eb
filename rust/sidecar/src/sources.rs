//! Where the sidecar gets a source for a wait: the deployment's connections, one source per
//! connection and kind, built on first use.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bmnflow_core::watch::services::source_for;
use bmnflow_core::watch::{Connection, ObjectKind, Source, SourceError};
use bmnflow_core::ErrorKind;
use parking_lot::Mutex;

/// Gives the source that answers for objects of a kind through a connection id.
pub trait Sources: Send + Sync + 'static {
    /// The source, or why there is none (unknown connection, unusable settings).
    fn source(&self, kind: ObjectKind, conn_id: &str) -> Result<Arc<dyn Source>, SourceError>;
}

/// Sources built from Airflow connections, as the triggers' own hooks would build them.
pub struct ConnectionSources {
    connections: BTreeMap<String, Connection>,
    built: Mutex<HashMap<(ObjectKind, String), Arc<dyn Source>>>,
}

impl ConnectionSources {
    /// Sources over these connections (keyed by lowercase connection id).
    pub fn new(connections: BTreeMap<String, Connection>) -> Self {
        Self {
            connections,
            built: Mutex::new(HashMap::new()),
        }
    }

    /// The connection ids known, for the start-up log.
    pub fn conn_ids(&self) -> impl Iterator<Item = &str> {
        self.connections.keys().map(String::as_str)
    }
}

impl Sources for ConnectionSources {
    fn source(&self, kind: ObjectKind, conn_id: &str) -> Result<Arc<dyn Source>, SourceError> {
        let conn_id = conn_id.to_ascii_lowercase();
        let mut built = self.built.lock();
        if let Some(source) = built.get(&(kind, conn_id.clone())) {
            return Ok(source.clone());
        }
        let connection = self.connections.get(&conn_id).ok_or_else(|| {
            SourceError::new(
                ErrorKind::NotFound,
                format!(
                    "the sidecar has no connection {conn_id:?}: set AIRFLOW_CONN_{} in its \
                     environment",
                    conn_id.to_ascii_uppercase()
                ),
            )
        })?;
        let source = source_for(kind, connection)?;
        built.insert((kind, conn_id), source.clone());
        Ok(source)
    }
}
