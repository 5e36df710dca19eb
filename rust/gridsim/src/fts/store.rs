//! The FTS job table and its link queues: the state machine of jobs and file rows.
//!
//! Queued rows wait in per-link queues (one per priority) as 20-byte entries; only running
//! transfers have a task. A queue entry can go stale (its row was canceled, or its job's
//! priority changed and the row was queued again): stale entries are skipped when popped.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use uuid::Uuid;

use super::model::{FileState, Job, JobState, JobType};
use crate::storage::Storage;

#[path = "store_user.rs"]
mod user;

/// The reason of files left in the queue past the job's `max_time_in_queue`.
pub const EXPIRED_REASON: &str =
    "Job has been canceled because it stayed in the queue for too long";
/// The reason of canceled jobs and files.
pub const CANCELED_REASON: &str = "Job canceled by the user";
/// The job reason when some of its files failed.
pub const FILES_FAILED_REASON: &str =
    "One or more files failed. Please have a look at the details for more information";

/// A source storage -> destination storage pair; `u16::MAX` stands for a URL no endpoint
/// serves (it fails when run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Link {
    pub source: u16,
    pub destination: u16,
}

/// A queued file row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub job: Uuid,
    pub row: u32,
}

/// The queue of one link: one FIFO per priority, and its running transfers.
#[derive(Debug, Default)]
struct LinkQueue {
    by_priority: [VecDeque<Entry>; 5],
    active: usize,
}

/// A transfer to start: what the transfer task needs, copied out of the table.
#[derive(Debug, Clone)]
pub struct Order {
    pub entry: Entry,
    pub link: Link,
    pub source: Box<str>,
    pub destination: Box<str>,
    pub checksum: Box<str>,
    pub verify: super::model::ChecksumCheck,
    /// Whether an existing destination may be replaced on this attempt.
    pub overwrite: bool,
    /// 0 for the first attempt.
    pub attempt: u32,
    /// Whether the file must be staged (brought online) first.
    pub staging: bool,
}

/// How a transfer ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The bytes are at the destination.
    Done { size: u64, seconds: f32 },
    /// The transfer failed with an FTS reason.
    Failed { reason: String, recoverable: bool },
}

/// The job table.
#[derive(Debug)]
pub struct Store {
    storage: Arc<Storage>,
    jobs: HashMap<Uuid, Job>,
    queues: HashMap<Link, LinkQueue>,
    /// Rows waiting for their retry delay: (not before, link, entry).
    delayed: Vec<(i64, Link, Entry)>,
    /// Terminal jobs in the order they ended, for purging.
    ended: VecDeque<(i64, Uuid)>,
    next_file_id: u64,
}

/// Why a submission was not stored.
#[derive(Debug, PartialEq, Eq)]
pub struct Duplicate;

impl Store {
    /// An empty table whose rows are placed on links between the endpoints of `storage`.
    pub fn new(storage: Arc<Storage>) -> Self {
        Self {
            storage,
            jobs: HashMap::new(),
            queues: HashMap::new(),
            delayed: Vec::new(),
            ended: VecDeque::new(),
            next_file_id: 0,
        }
    }

    /// The link a transfer runs on: its source and destination endpoints.
    fn link_of(&self, source: &str, destination: &str) -> Link {
        let end = |url: &str| {
            self.storage
                .resolve(url)
                .map_or(u16::MAX, |r| u16::try_from(r.endpoint).unwrap_or(u16::MAX))
        };
        Link {
            source: end(source),
            destination: end(destination),
        }
    }

    /// Stores a new job and queues its startable rows.
    pub fn insert(&mut self, mut job: Job) -> Result<(), Duplicate> {
        if self.jobs.contains_key(&job.id) {
            return Err(Duplicate);
        }
        for row in &mut job.files {
            self.next_file_id += 1;
            row.file_id = self.next_file_id;
        }
        for (index, row) in job.files.iter().enumerate() {
            if row.state.is_active() {
                let link = self.link_of(&row.source_surl, &row.dest_surl);
                self.push(
                    link,
                    job.priority,
                    Entry {
                        job: job.id,
                        row: index as u32,
                    },
                );
            }
        }
        self.jobs.insert(job.id, job);
        Ok(())
    }

    fn push(&mut self, link: Link, priority: u8, entry: Entry) {
        let queue = self.queues.entry(link).or_default();
        queue.by_priority[usize::from(priority.clamp(1, 5) - 1)].push_back(entry);
    }

    /// A job, if it exists (and was not purged).
    pub fn get(&self, id: &Uuid) -> Option<&Job> {
        self.jobs.get(id)
    }

    /// All jobs, in no particular order.
    pub fn jobs(&self) -> impl Iterator<Item = &Job> {
        self.jobs.values()
    }

    /// How many jobs and file rows are stored.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.jobs.len(),
            self.jobs.values().map(|j| j.files.len()).sum(),
        )
    }

    /// Starts what the links have room for, highest priority first, and returns the orders.
    pub fn dispatch(&mut self, concurrency: usize, now: i64) -> Vec<Order> {
        let mut orders = Vec::new();
        let links: Vec<Link> = self.queues.keys().copied().collect();
        for link in links {
            while let Some(queue) = self.queues.get_mut(&link) {
                if queue.active >= concurrency {
                    break;
                }
                let Some((priority, entry)) = pop_highest(queue) else {
                    break;
                };
                if let Some(order) = self.start(link, priority, entry, now) {
                    if let Some(queue) = self.queues.get_mut(&link) {
                        queue.active += 1;
                    }
                    orders.push(order);
                }
            }
        }
        self.queues
            .retain(|_, q| q.active > 0 || q.by_priority.iter().any(|d| !d.is_empty()));
        orders
    }

    /// Marks a popped entry as running, unless it went stale or its job expired.
    fn start(&mut self, link: Link, priority: u8, entry: Entry, now: i64) -> Option<Order> {
        let job = self.jobs.get_mut(&entry.job)?;
        if job.priority != priority || job.is_terminal() {
            return None;
        }
        let expired = job.params.expires.is_some_and(|at| at < now);
        let row = job.files.get_mut(entry.row as usize)?;
        if !matches!(row.state, FileState::Submitted | FileState::Staging) {
            return None;
        }
        if expired {
            row.state = FileState::Canceled;
            row.reason = Some(EXPIRED_REASON.into());
            row.finish_time = Some(now);
            self.settle(entry.job, now);
            return None;
        }
        let staging = row.state == FileState::Staging;
        if staging {
            row.staging_start = Some(now);
        } else {
            row.state = FileState::Active;
            row.start_time = Some(now);
        }
        let attempt = u32::from(row.attempts);
        row.attempts += 1;
        let order = Order {
            entry,
            link,
            source: row.source_surl.clone(),
            destination: row.dest_surl.clone(),
            checksum: row.checksum.clone(),
            verify: job.params.verify,
            overwrite: match job.params.overwrite_flag {
                Some('Y') => true,
                Some('R') => attempt > 0,
                Some('M' | 'Q') => {
                    job.job_type == JobType::Multihop && !is_last_hop(job, entry.row)
                }
                _ => false,
            },
            attempt,
            staging,
        };
        if !staging && job.state == JobState::Submitted {
            job.state = JobState::Active;
        }
        Some(order)
    }

    /// A staged row starts its copy; false when it was canceled meanwhile.
    pub fn staged(&mut self, entry: Entry, now: i64) -> bool {
        let Some(job) = self.jobs.get_mut(&entry.job) else {
            return false;
        };
        let Some(row) = job.files.get_mut(entry.row as usize) else {
            return false;
        };
        if row.state != FileState::Staging {
            return false;
        }
        row.staging_finished = Some(now);
        row.state = FileState::Active;
        row.start_time = Some(now);
        if matches!(job.state, JobState::Staging | JobState::Submitted) {
            job.state = JobState::Active;
        }
        true
    }

    /// Records how a transfer ended. `commit` moves the copied bytes into place and runs only
    /// when the row is still running (not canceled meanwhile); its failure fails the row.
    pub fn complete(
        &mut self,
        order: &Order,
        outcome: Outcome,
        now: i64,
        retry_at: i64,
        commit: impl FnOnce(bool) -> Result<(), String>,
    ) {
        if let Some(queue) = self.queues.get_mut(&order.link) {
            queue.active = queue.active.saturating_sub(1);
        }
        let entry = order.entry;
        let Some(job) = self.jobs.get_mut(&entry.job) else {
            let _ = commit(false);
            return;
        };
        let retry = job.params.retry;
        let Some(row) = job.files.get_mut(entry.row as usize) else {
            return;
        };
        if !matches!(row.state, FileState::Active | FileState::Staging) {
            let _ = commit(false);
            return;
        }
        let outcome = match outcome {
            Outcome::Done { size, seconds } => match commit(true) {
                Ok(()) => Outcome::Done { size, seconds },
                Err(reason) => Outcome::Failed {
                    reason,
                    recoverable: true,
                },
            },
            failed => {
                let _ = commit(false);
                failed
            }
        };
        match outcome {
            Outcome::Done { size, seconds } => {
                row.state = FileState::Finished;
                row.filesize = Some(size);
                row.finish_time = Some(now);
                row.tx_duration = seconds;
                row.throughput = if seconds > 0.0 {
                    size as f32 / 1e6 / seconds
                } else {
                    0.0
                };
                row.reason = None;
            }
            Outcome::Failed {
                reason,
                recoverable,
            } => {
                row.reason = Some(reason.into());
                row.recoverable = recoverable;
                if recoverable && u32::from(row.attempts) <= retry {
                    row.state = FileState::Submitted;
                    self.delayed.push((retry_at, order.link, entry));
                    return;
                }
                row.state = FileState::Failed;
                row.finish_time = Some(now);
            }
        }
        self.activate_next(entry);
        self.settle(entry.job, now);
    }

    /// After a row ended: a multiple-replica job tries its next source when the row failed;
    /// a multihop job starts its next hop when the row finished.
    fn activate_next(&mut self, entry: Entry) {
        let Some(job) = self.jobs.get(&entry.job) else {
            return;
        };
        let finished = job.files[entry.row as usize].state == FileState::Finished;
        let next = match job.job_type {
            JobType::MultipleReplicas if !finished => {
                job.files.iter().position(|f| f.state == FileState::NotUsed)
            }
            JobType::Multihop if finished => {
                let next = entry.row as usize + 1;
                (next < job.files.len() && job.files[next].state == FileState::NotUsed)
                    .then_some(next)
            }
            _ => None,
        };
        let Some(next) = next else { return };
        // Only the first hop of a multihop job is staged; every alternative source may be.
        let staging = (job.params.bring_online > 0 || job.params.copy_pin_lifetime > 0)
            && job.job_type != JobType::Multihop;
        let priority = job.priority;
        let link = self.link_of(&job.files[next].source_surl, &job.files[next].dest_surl);
        if let Some(job) = self.jobs.get_mut(&entry.job) {
            job.files[next].state = if staging {
                FileState::Staging
            } else {
                FileState::Submitted
            };
        }
        self.push(
            link,
            priority,
            Entry {
                job: entry.job,
                row: next as u32,
            },
        );
    }

    /// Moves a job to its terminal state once its rows are all over.
    fn settle(&mut self, id: Uuid, now: i64) {
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        if job.is_terminal() {
            return;
        }
        if let Some(state) = job.settled_state() {
            job.state = state;
            job.finished = Some(now);
            job.reason = match state {
                JobState::Failed | JobState::FinishedDirty => Some(FILES_FAILED_REASON.into()),
                JobState::Canceled => Some(CANCELED_REASON.into()),
                _ => None,
            };
            self.ended.push_back((now, id));
            tracing::info!(fts_job_id = %id, state = state.as_str(), "FTS job ended");
        }
    }

    /// Queues again the rows whose retry delay is over.
    pub fn release_delayed(&mut self, now: i64) {
        let (due, waiting): (Vec<_>, Vec<_>) =
            self.delayed.drain(..).partition(|(at, _, _)| *at <= now);
        self.delayed = waiting;
        for (_, link, entry) in due {
            if let Some(priority) = self.jobs.get(&entry.job).map(|j| j.priority) {
                self.push(link, priority, entry);
            }
        }
    }

    /// Forgets jobs that ended more than `retention` seconds ago; returns how many.
    pub fn purge(&mut self, now: i64, retention: i64) -> usize {
        let mut purged = 0;
        while let Some(&(ended, id)) = self.ended.front() {
            if ended + retention > now {
                break;
            }
            self.ended.pop_front();
            if self
                .jobs
                .get(&id)
                .is_some_and(|j| j.finished == Some(ended))
            {
                self.jobs.remove(&id);
                purged += 1;
            }
        }
        purged
    }
}

fn pop_highest(queue: &mut LinkQueue) -> Option<(u8, Entry)> {
    (0..5)
        .rev()
        .find_map(|p| queue.by_priority[p].pop_front().map(|e| (p as u8 + 1, e)))
}

fn is_last_hop(job: &Job, row: u32) -> bool {
    row as usize + 1 == job.files.len()
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
