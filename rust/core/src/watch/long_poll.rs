//! One long poll over many objects: wait until any of them ended, or a timeout.
//!
//! The sidecar's API and the in-process binding both answer with a [`WaitReport`], so a
//! client treats them alike: ask again for the objects still pending.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{first_outcomes, Outcome, Source, SourceError, Wait, Watcher};

/// What a long poll learnt.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WaitReport {
    /// The objects that ended, with their outcome.
    pub ended: BTreeMap<String, Outcome>,
    /// The others, with their last known state (`None` before the first answer).
    pub pending: BTreeMap<String, Option<String>>,
}

/// Waits on `ids` of `source` until at least one ended, or `timeout` passed.
///
/// Every id is checked before anything is sent; duplicates are waited on once.
pub async fn wait_some(
    watcher: &Watcher,
    source: Arc<dyn Source>,
    ids: &[String],
    timeout: Duration,
) -> Result<WaitReport, SourceError> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    let mut waits: Vec<Wait> = ids
        .iter()
        .map(|id| watcher.wait(source.clone(), id))
        .collect::<Result<_, _>>()?;

    let ended = tokio::time::timeout(timeout, first_outcomes(&mut waits))
        .await
        .unwrap_or_default();
    let mut report = WaitReport::default();
    for (index, outcome) in ended {
        report.ended.insert(ids[index].clone(), outcome);
    }
    for wait in &waits {
        if !report.ended.contains_key(wait.id()) {
            report.pending.insert(wait.id().to_owned(), wait.state());
        }
    }
    Ok(report)
}
