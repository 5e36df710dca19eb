//! The watcher of a process, shared by every trigger that waits in it, and the sources it
//! builds from connections.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;

use super::services::source_for;
use super::{Connection, ObjectKind, Source, SourceError, WatchConfig, Watcher};
use crate::Secret;

static WATCHER: LazyLock<Watcher> = LazyLock::new(|| Watcher::new(WatchConfig::from_env()));

type SourceCache = Mutex<HashMap<(ObjectKind, u64), Arc<dyn Source>>>;
static SOURCES: LazyLock<SourceCache> = LazyLock::new(Mutex::default);

/// The process's watcher, configured from `BMNFLOW_WATCH_*` variables on first use.
pub fn shared() -> &'static Watcher {
    &WATCHER
}

/// The source for `kind` through `connection`, built once per distinct connection content
/// (a changed password builds a new one).
pub fn cached_source(
    kind: ObjectKind,
    connection: &Connection,
) -> Result<Arc<dyn Source>, SourceError> {
    let fingerprint = fingerprint(connection);
    let mut sources = SOURCES.lock();
    if let Some(source) = sources.get(&(kind, fingerprint)) {
        return Ok(source.clone());
    }
    let source = source_for(kind, connection)?;
    sources.insert((kind, fingerprint), source.clone());
    Ok(source)
}

fn fingerprint(connection: &Connection) -> u64 {
    let mut hasher = DefaultHasher::new();
    connection.conn_type.hash(&mut hasher);
    connection.host.hash(&mut hasher);
    connection.port.hash(&mut hasher);
    connection.login.hash(&mut hasher);
    connection
        .password
        .as_ref()
        .map(Secret::expose)
        .hash(&mut hasher);
    connection.schema.hash(&mut hasher);
    serde_json::Value::Object(connection.extra.clone())
        .to_string()
        .hash(&mut hasher);
    hasher.finish()
}
