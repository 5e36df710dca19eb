//! The poll loop of one group: read new objects at once, then poll everything at an adaptive
//! interval, through the change listing where the service has one.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use rand::rngs::StdRng;
use tokio::time::{sleep, sleep_until, Instant};

use super::group::Group;
use super::interval::Pacer;
use super::{Answer, Observation, SourceError, WatchConfig};
use crate::http::Backoff;

/// The state of a poll loop that outlives idle spells.
pub(crate) struct Poller {
    group: Arc<Group>,
    config: WatchConfig,
    rng: StdRng,
    pacer: Pacer,
    backoff: Option<Backoff>,
    next_poll: Instant,
    last_full_read: Option<Instant>,
    // The wall-clock start of the latest successful poll of every object: the next change
    // listing starts there (less the overlap).
    listed_from: Option<SystemTime>,
}

impl Poller {
    pub(crate) fn new(group: Arc<Group>, config: WatchConfig, rng: StdRng) -> Self {
        Self {
            group,
            pacer: Pacer::new(&config),
            config,
            rng,
            backoff: None,
            next_poll: Instant::now(),
            last_full_read: None,
            listed_from: None,
        }
    }

    /// Polls until nothing has been waited on for the idle linger.
    pub(crate) async fn run_until_idle(&mut self) {
        loop {
            let (fresh, known) = self.group.pending();
            if fresh.is_empty() && known.is_empty() {
                tokio::select! {
                    _ = sleep(self.config.idle_linger) => return,
                    _ = self.group.wake.notified() => continue,
                }
            }

            if !fresh.is_empty() && self.backoff.is_none() {
                // New waits often come in bursts (a task group deferring): one read for all.
                sleep(self.config.gather).await;
            } else if Instant::now() < self.next_poll {
                tokio::select! {
                    _ = sleep_until(self.next_poll) => {}
                    _ = self.group.wake.notified() => {}
                }
                continue;
            }

            let (fresh, known) = self.group.pending();
            let due = Instant::now() >= self.next_poll;
            self.poll(fresh, known, due).await;
        }
    }

    async fn poll(&mut self, fresh: Vec<String>, known: Vec<String>, due: bool) {
        let started = Instant::now();
        let started_wall = SystemTime::now();
        let mut observations = Vec::new();
        let mut answered = Vec::new();
        // The error that stopped a call, and the ids that call was about.
        let mut failure: Option<(SourceError, Vec<String>)> = None;

        if !fresh.is_empty() {
            let answer = self.read(&fresh).await;
            observations.extend(answer.observations);
            match answer.error {
                Some(error) => failure = Some((error, fresh)),
                None => {
                    answered = fresh;
                    // Before any poll of the known objects, all of them came from fresh reads:
                    // the first of those is where change listings can start.
                    if self.listed_from.is_none() {
                        self.listed_from = Some(started_wall);
                        self.last_full_read = Some(started);
                    }
                }
            }
        }

        if due && !known.is_empty() && failure.is_none() {
            match self.poll_known(&known, started).await {
                Ok(found) => {
                    observations.extend(found);
                    self.listed_from = Some(started_wall);
                }
                Err((found, error)) => {
                    observations.extend(found);
                    failure = Some((error, known));
                }
            }
        }

        let observed: HashSet<String> = observations.iter().map(|(id, _)| id.clone()).collect();
        let changed = self.group.apply(observations, &answered);

        match failure {
            Some((error, ids)) if error.is_transient() => {
                let delay = self
                    .backoff
                    .get_or_insert_with(|| Backoff::new(&self.config.error_backoff))
                    .next_with(&mut self.rng);
                tracing::warn!(source = %self.group.source.key(), error = %error,
                    delay_ms = delay.as_millis() as u64, objects = ids.len(),
                    "poll failed, retrying later");
                self.next_poll = Instant::now() + delay;
                self.group.set_interval(delay);
                return;
            }
            Some((error, ids)) => {
                let unanswered: Vec<String> = ids
                    .into_iter()
                    .filter(|id| !observed.contains(id))
                    .collect();
                self.group.fail(&unanswered, error.kind, &error.message);
            }
            None => {}
        }

        self.backoff = None;
        if due {
            let interval = self.pacer.next(changed, &mut self.rng);
            self.next_poll = Instant::now() + interval;
            self.group.set_interval(interval);
        }
    }

    /// Polls the objects read before: a change listing when one is possible and a full read
    /// is not due, else a bulk read of all of them.
    async fn poll_known(
        &mut self,
        known: &[String],
        now: Instant,
    ) -> Result<Vec<(String, Observation)>, (Vec<(String, Observation)>, SourceError)> {
        let full_read_due = self
            .last_full_read
            .is_none_or(|at| now.duration_since(at) >= self.config.full_read_every);

        if let (false, Some(from)) = (full_read_due, self.listed_from) {
            let since = from
                .checked_sub(self.config.listing_overlap)
                .unwrap_or(SystemTime::UNIX_EPOCH);
            let group = self.group.clone();
            let listing = timed(&group, group.source.changed_since(since, &group.budget)).await;
            match listing {
                Ok(Some(changes)) if changes.complete => return Ok(changes.observations),
                Ok(_) => {}
                Err(error) => {
                    self.group
                        .stats
                        .record_error(error.kind.as_str(), &error.message);
                    return Err((Vec::new(), error));
                }
            }
        }

        let answer = self.read(known).await;
        match answer.error {
            None => {
                self.last_full_read = Some(now);
                Ok(answer.observations)
            }
            Some(error) => Err((answer.observations, error)),
        }
    }

    async fn read(&self, ids: &[String]) -> Answer {
        let group = &self.group;
        let answer = timed(group, group.source.read(ids, &group.budget)).await;
        if let Some(error) = &answer.error {
            group
                .stats
                .record_error(error.kind.as_str(), &error.message);
        }
        answer
    }
}

/// Runs one source call and records how long it took.
async fn timed<T>(group: &Group, call: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let result = call.await;
    group.stats.record_call(started.elapsed());
    result
}
