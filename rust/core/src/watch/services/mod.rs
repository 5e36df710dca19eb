//! The sources of the real services, built from Airflow connections: FTS jobs, PanDA tasks,
//! Rucio rules.
//!
//! The connection extras are read as the provider's hooks read them, so that a connection
//! that works for an operator works for the watcher and the sidecar.

mod fts;
mod panda;
mod rucio;

use std::collections::hash_map::DefaultHasher;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

pub use fts::FtsSource;
pub use panda::PandaSource;
pub use rucio::RucioSource;

use super::{Answer, Budget, Connection, ObjectKind, Observation, Source, SourceError};
use crate::error::ErrorKind;
use crate::http::{BackoffConfig, RetryConfig};

/// The source for objects of `kind` reached through `connection`.
pub fn source_for(
    kind: ObjectKind,
    connection: &Connection,
) -> Result<Arc<dyn Source>, SourceError> {
    Ok(match kind {
        ObjectKind::FtsJob => Arc::new(FtsSource::from_connection(connection)?),
        ObjectKind::PandaTask => Arc::new(PandaSource::from_connection(connection)?),
        ObjectKind::RucioRule => Arc::new(RucioSource::from_connection(connection)?),
    })
}

/// The retry policy of the watcher's own clients: one quick retry for a dropped connection;
/// anything longer is the watcher's backoff, which does not hold a request slot meanwhile.
pub(crate) fn watcher_retry() -> RetryConfig {
    RetryConfig {
        max_retries: 1,
        retry_timeout: Duration::from_secs(30),
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
            base: 3.0,
        },
    }
}

/// A short digest of a credential, so that two tokens make two identities without the key
/// holding either.
pub(crate) fn digest(secret: &str) -> String {
    let mut hasher = DefaultHasher::new();
    secret.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// Asks about each id on its own, `concurrency` at a time, one budget token each.
///
/// `ask` answers `None` for an object the service does not report on yet. The answer keeps
/// every observation made, and the first error met.
pub(crate) async fn read_each<F, Fut>(
    ids: &[String],
    concurrency: usize,
    budget: &Budget,
    ask: F,
) -> Answer
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = (String, Result<Option<Observation>, SourceError>)>,
{
    // Owned ids: a stream over borrowed ones makes the future not provably `Send`.
    let results: Vec<(String, Result<Option<Observation>, SourceError>)> =
        futures::stream::iter(ids.to_vec())
            .map(|id| {
                let asked = ask(id);
                async move {
                    budget.acquire().await;
                    asked.await
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;

    let mut answer = Answer::default();
    for (id, result) in results {
        match result {
            Ok(Some(observation)) => answer.observations.push((id, observation)),
            Ok(None) => {}
            Err(error) => {
                answer.error.get_or_insert(error);
            }
        }
    }
    answer
}

/// An unusable connection setting, named without its value.
pub(crate) fn config_error(connection: &Connection, reason: impl AsRef<str>) -> SourceError {
    SourceError::new(
        ErrorKind::Configuration,
        format!("connection {:?}: {}", connection.conn_id, reason.as_ref()),
    )
}
