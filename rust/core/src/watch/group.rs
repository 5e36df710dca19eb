//! The objects of one [`SourceKey`] and the shared state their waiters subscribe to.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use tokio::sync::{watch, Notify};

use super::{Budget, Observation, Outcome, Source, Stats};
use crate::error::ErrorKind;

/// What the waiters of one object see: its last known state, then how the wait ended.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// The service's state name at the latest poll that answered for the object.
    pub state: Option<String>,
    /// Set once, when the wait ends.
    pub outcome: Option<Outcome>,
}

/// One object being waited on, shared by all its waiters.
#[derive(Debug)]
struct Entry {
    progress: watch::Sender<Progress>,
    /// Whether a read has answered for it; new objects are read at once, apart from the
    /// regular polls.
    read: bool,
    registered: SystemTime,
}

/// Every object waited on under one key, with the counters of the loop that polls them.
pub(crate) struct Group {
    pub(crate) source: Arc<dyn Source>,
    pub(crate) budget: Budget,
    pub(crate) stats: Arc<Stats>,
    pub(crate) wake: Notify,
    entries: Mutex<HashMap<String, Entry>>,
    interval_millis: AtomicU64,
}

/// One object as the status page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectSnapshot {
    /// The object's id.
    pub id: String,
    /// Its last known state; `None` before the first answer.
    pub state: Option<String>,
    /// How many waits share it.
    pub waiters: usize,
    /// When the first of them started.
    pub since: SystemTime,
    /// A page about it for people, when the service has one.
    pub link: Option<String>,
}

impl Group {
    pub(crate) fn new(source: Arc<dyn Source>, budget: Budget, stats: Arc<Stats>) -> Self {
        Self {
            source,
            budget,
            stats,
            wake: Notify::new(),
            entries: Mutex::new(HashMap::new()),
            interval_millis: AtomicU64::new(0),
        }
    }

    /// Joins the wait on `id`, starting it if nobody waits on it yet.
    pub(crate) fn subscribe(&self, id: &str) -> watch::Receiver<Progress> {
        let mut entries = self.entries.lock();
        if let Some(entry) = entries.get(id) {
            return entry.progress.subscribe();
        }
        let (progress, receiver) = watch::channel(Progress::default());
        entries.insert(
            id.to_owned(),
            Entry {
                progress,
                read: false,
                registered: SystemTime::now(),
            },
        );
        self.wake.notify_one();
        receiver
    }

    /// Forgets objects whose waiters all left, and returns the ids never read and the rest.
    pub(crate) fn pending(&self) -> (Vec<String>, Vec<String>) {
        let mut entries = self.entries.lock();
        entries.retain(|_, entry| entry.progress.receiver_count() > 0);
        let (mut fresh, mut known) = (Vec::new(), Vec::new());
        for (id, entry) in entries.iter() {
            if entry.read {
                known.push(id.clone());
            } else {
                fresh.push(id.clone());
            }
        }
        (fresh, known)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.lock().is_empty()
    }

    /// Hands the observations to the waiters; returns whether any object changed.
    ///
    /// `answered` lists ids whose read succeeded even if the service said nothing about them.
    pub(crate) fn apply(
        &self,
        observations: Vec<(String, Observation)>,
        answered: &[String],
    ) -> bool {
        let key = self.source.key();
        let mut entries = self.entries.lock();
        for id in answered {
            if let Some(entry) = entries.get_mut(id) {
                entry.read = true;
            }
        }

        let mut changed = false;
        for (id, observation) in observations {
            let Some(entry) = entries.get_mut(&id) else {
                continue;
            };
            entry.read = true;
            let outcome = match observation {
                Observation::Active { state } => {
                    if entry.progress.borrow().state.as_deref() != Some(state.as_str()) {
                        tracing::debug!(kind = %key.kind, id = %id, state = %state,
                            "watched object changed state");
                        entry.progress.send_modify(|p| p.state = Some(state));
                        changed = true;
                    }
                    continue;
                }
                Observation::Terminal { state, detail } => {
                    tracing::info!(kind = %key.kind, id = %id, state = %state,
                        "watched object reached a terminal state");
                    Outcome::Terminal { state, detail }
                }
                Observation::Gone { message } => {
                    tracing::warn!(kind = %key.kind, id = %id, message = %message,
                        "watched object is gone");
                    Outcome::Gone { message }
                }
            };
            changed = true;
            if let Some(entry) = entries.remove(&id) {
                finish(&entry, outcome);
            }
        }
        changed
    }

    /// Ends the waits on `ids` with a permanent error.
    pub(crate) fn fail(&self, ids: &[String], kind: ErrorKind, message: &str) {
        let key = self.source.key();
        let mut entries = self.entries.lock();
        for id in ids {
            if let Some(entry) = entries.remove(id) {
                tracing::warn!(kind = %key.kind, id = %id, error = %message,
                    "wait ended by a permanent error");
                finish(
                    &entry,
                    Outcome::Failed {
                        kind,
                        message: message.to_owned(),
                    },
                );
            }
        }
    }

    /// Ends every wait; used when the poll loop itself fails.
    pub(crate) fn fail_all(&self, message: &str) {
        let ids: Vec<String> = self.entries.lock().keys().cloned().collect();
        self.fail(&ids, ErrorKind::Internal, message);
    }

    pub(crate) fn set_interval(&self, interval: Duration) {
        self.interval_millis
            .store(interval.as_millis() as u64, Ordering::Relaxed);
    }

    pub(crate) fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_millis.load(Ordering::Relaxed))
    }

    pub(crate) fn objects(&self) -> Vec<ObjectSnapshot> {
        let entries = self.entries.lock();
        let mut objects: Vec<_> = entries
            .iter()
            .map(|(id, entry)| ObjectSnapshot {
                id: id.clone(),
                state: entry.progress.borrow().state.clone(),
                waiters: entry.progress.receiver_count(),
                since: entry.registered,
                link: self.source.link(id),
            })
            .collect();
        objects.sort_by(|a, b| a.since.cmp(&b.since).then_with(|| a.id.cmp(&b.id)));
        objects
    }
}

fn finish(entry: &Entry, outcome: Outcome) {
    entry.progress.send_modify(|p| p.outcome = Some(outcome));
}
