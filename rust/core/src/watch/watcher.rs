//! The watcher: every object waited on in a process, one poll loop per [`SourceKey`], and the
//! futures that waiters await.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;

use super::group::{Group, ObjectSnapshot, Progress};
use super::poller::Poller;
use super::WatchConfig;
use super::{Budget, Outcome, Source, SourceError, SourceKey, Stats, StatsSnapshot, TokenBucket};
use crate::error::ErrorKind;

/// Every object being waited on, polled in bulk; cheap to clone (one shared state).
///
/// Waits on the same object under the same [`SourceKey`] share one entry and one answer; each
/// key has one poll loop, started by its first wait and ended after an idle spell.
#[derive(Clone)]
pub struct Watcher {
    inner: Arc<Inner>,
}

struct Inner {
    config: WatchConfig,
    groups: Mutex<HashMap<SourceKey, Arc<Group>>>,
    buckets: Mutex<HashMap<String, Arc<TokenBucket>>>,
    // Kept across idle spells, so that the counters of a key only ever grow.
    stats: Mutex<HashMap<SourceKey, Arc<Stats>>>,
    rng: Mutex<StdRng>,
}

/// One poll loop as the status page and the metrics show it.
#[derive(Debug, Clone)]
pub struct GroupSnapshot {
    /// What the loop polls.
    pub key: SourceKey,
    /// The delay before its next poll, as last decided.
    pub interval: Duration,
    /// Its counters.
    pub stats: StatsSnapshot,
    /// The objects it waits on, oldest first.
    pub objects: Vec<ObjectSnapshot>,
}

impl Watcher {
    /// A watcher with its own random source for jitter.
    pub fn new(config: WatchConfig) -> Self {
        Self::with_rng(config, StdRng::from_os_rng())
    }

    /// A watcher whose jitter is drawn from a seeded source, for deterministic tests.
    pub fn with_seed(config: WatchConfig, seed: u64) -> Self {
        Self::with_rng(config, StdRng::seed_from_u64(seed))
    }

    fn with_rng(config: WatchConfig, rng: StdRng) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                groups: Mutex::new(HashMap::new()),
                buckets: Mutex::new(HashMap::new()),
                stats: Mutex::new(HashMap::new()),
                rng: Mutex::new(rng),
            }),
        }
    }

    /// The settings of every poll loop.
    pub fn config(&self) -> &WatchConfig {
        &self.inner.config
    }

    /// Starts waiting on object `id` of `source`, or joins the wait already on it.
    ///
    /// A source whose key already has a poll loop is not used: the loop's own source answers.
    /// Must be called inside a tokio runtime. Fails, before anything is sent, on an id the source refuses.
    pub fn wait(&self, source: Arc<dyn Source>, id: &str) -> Result<Wait, SourceError> {
        if id.trim().is_empty() || id.contains(',') {
            return Err(SourceError::new(
                ErrorKind::InvalidInput,
                format!(
                    "invalid {} id {id:?}: empty or with a comma",
                    source.key().kind
                ),
            ));
        }

        if let Err(reason) = source.validate(id) {
            return Err(SourceError::new(
                ErrorKind::InvalidInput,
                format!("invalid {} id {id:?}: {reason}", source.key().kind),
            ));
        }

        let key = source.key().clone();
        let mut groups = self.inner.groups.lock();
        let group = match groups.get(&key) {
            Some(group) => group.clone(),
            None => {
                let group = self.start_group(source);
                groups.insert(key.clone(), group.clone());
                group
            }
        };
        let progress = group.subscribe(id);
        Ok(Wait {
            key,
            id: id.to_owned(),
            progress,
        })
    }

    /// Every poll loop and what it waits on now.
    pub fn snapshot(&self) -> Vec<GroupSnapshot> {
        let groups: Vec<Arc<Group>> = self.inner.groups.lock().values().cloned().collect();
        let mut snapshots: Vec<GroupSnapshot> = groups
            .iter()
            .map(|group| GroupSnapshot {
                key: group.source.key().clone(),
                interval: group.interval(),
                stats: group.stats.snapshot(),
                objects: group.objects(),
            })
            .collect();
        snapshots.sort_by(|a, b| a.key.cmp(&b.key));
        snapshots
    }

    /// The counters of every key polled since the watcher started, idle ones included.
    pub fn stats(&self) -> Vec<(SourceKey, StatsSnapshot)> {
        let mut stats: Vec<(SourceKey, StatsSnapshot)> = self
            .inner
            .stats
            .lock()
            .iter()
            .map(|(key, stats)| (key.clone(), stats.snapshot()))
            .collect();
        stats.sort_by(|a, b| a.0.cmp(&b.0));
        stats
    }

    fn start_group(&self, source: Arc<dyn Source>) -> Arc<Group> {
        let inner = &self.inner;
        let key = source.key().clone();
        let bucket = inner
            .buckets
            .lock()
            .entry(key.endpoint.clone())
            .or_insert_with(|| {
                Arc::new(TokenBucket::new(
                    inner.config.requests_per_second,
                    inner.config.burst,
                ))
            })
            .clone();
        let stats = inner.stats.lock().entry(key.clone()).or_default().clone();
        let group = Arc::new(Group::new(
            source,
            Budget::new(bucket, stats.clone()),
            stats,
        ));

        let rng = StdRng::seed_from_u64(inner.rng.lock().random());
        let mut poller = Poller::new(group.clone(), inner.config.clone(), rng);
        let (inner, running) = (self.inner.clone(), group.clone());
        tracing::info!(source = %key, "poll loop started");
        tokio::spawn(async move {
            loop {
                let run = AssertUnwindSafe(poller.run_until_idle())
                    .catch_unwind()
                    .await;
                let mut groups = inner.groups.lock();
                if run.is_err() {
                    // Waiters must never hang on a loop that died: tell them, and let the next
                    // wait start a fresh loop.
                    groups.remove(&key);
                    running.fail_all("the poll loop failed unexpectedly (please report it)");
                    tracing::error!(source = %key, "poll loop panicked");
                    return;
                }
                // New waits subscribe while holding the map's lock, so none can slip in
                // between this check and the removal.
                if running.is_empty() {
                    groups.remove(&key);
                    tracing::info!(source = %key, "poll loop ended: nothing to wait on");
                    return;
                }
            }
        });
        group
    }
}

/// A wait on one object; await [`Wait::outcome`]. Dropping it leaves the other waiters of the
/// object waiting; the object is forgotten when its last waiter leaves.
#[derive(Debug)]
pub struct Wait {
    key: SourceKey,
    id: String,
    progress: watch::Receiver<Progress>,
}

impl Wait {
    /// The object's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Where the object is polled.
    pub fn key(&self) -> &SourceKey {
        &self.key
    }

    /// The object's last known state.
    pub fn state(&self) -> Option<String> {
        self.progress.borrow().state.clone()
    }

    /// How the wait ended, if it has.
    pub fn peek(&self) -> Option<Outcome> {
        self.progress.borrow().outcome.clone()
    }

    /// Waits until the object reaches a terminal state, is gone, or cannot be asked about.
    pub async fn outcome(&mut self) -> Outcome {
        match self.progress.wait_for(|p| p.outcome.is_some()).await {
            Ok(progress) => progress
                .outcome
                .clone()
                .expect("wait_for checked it is set"),
            Err(_) => Outcome::Failed {
                kind: ErrorKind::Internal,
                message: format!(
                    "the watcher stopped before {} {} ended",
                    self.key.kind, self.id
                ),
            },
        }
    }
}

/// Waits until at least one of `waits` ended; returns the index and outcome of every wait
/// that has ended by then. Returns at once, with nothing, for an empty slice.
pub async fn first_outcomes(waits: &mut [Wait]) -> Vec<(usize, Outcome)> {
    if waits.is_empty() {
        return Vec::new();
    }
    let pending = waits.iter_mut().map(|wait| Box::pin(wait.outcome()));
    let (first, first_index, rest) = futures::future::select_all(pending).await;
    drop(rest);

    let mut ended: Vec<(usize, Outcome)> = waits
        .iter()
        .enumerate()
        .filter_map(|(index, wait)| wait.peek().map(|outcome| (index, outcome)))
        .collect();
    // A loop that stopped without an outcome shows only in the awaited result.
    if !ended.iter().any(|(index, _)| *index == first_index) {
        ended.push((first_index, first));
        ended.sort_by_key(|(index, _)| *index);
    }
    ended
}
