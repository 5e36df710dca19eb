//! Seeing a plan through: submit FTS jobs within the per-link limit, follow them, and resubmit
//! the files that failed for a recoverable reason, until every file has its final outcome.
//!
//! A run keeps no state that FTS does not keep too. Every job id is deterministic, so a new
//! run of the same plan (a retried Airflow task, a resumed deferral) finds the jobs submitted
//! before by querying their ids, follows each job's chain of retries the same way, and
//! submits only what was never submitted.

use std::collections::HashMap;
use std::time::Duration;

use futures::{stream, StreamExt};
use tokio::time::Instant;

use super::classify::classify;
use super::client::FtsClient;
use super::error::FtsError;
use super::model::{FileState, JobStatus};
use super::outcome::{file_results, recoverable_rows, summarize, FileOutcome, Summary};
use super::planner::{Link, Plan, PlannedJob};
use crate::error::ErrorKind;

/// Submissions sent at once.
const SUBMIT_CONCURRENCY: usize = 8;

/// How often a run or a wait asks FTS for news.
#[derive(Debug, Clone, PartialEq)]
pub struct PollConfig {
    /// The first delay, and the delay after any change. Default 2 s.
    pub initial: Duration,
    /// The longest delay. Default 60 s.
    pub max: Duration,
    /// Growth of the delay while nothing changes. Default 1.5.
    pub factor: f64,
    /// Give up after this long; none by default.
    pub timeout: Option<Duration>,
}

impl Default for PollConfig {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(2),
            max: Duration::from_secs(60),
            factor: 1.5,
            timeout: None,
        }
    }
}

impl PollConfig {
    /// The delay after `delay` when nothing changed.
    pub(crate) fn grow(&self, delay: Duration) -> Duration {
        delay.mul_f64(self.factor).min(self.max)
    }
}

/// What is known of one planned FTS job.
#[derive(Debug, Clone)]
enum JobKnowledge {
    /// Not yet asked: it may have been submitted by an earlier run.
    Unknown,
    /// FTS does not know it: it waits for its link to have room.
    Waiting,
    /// Submitted and not yet terminal.
    Active,
    /// Terminal, with its file rows.
    Done(JobStatus),
}

#[derive(Debug, Clone)]
struct Node {
    job: PlannedJob,
    job_id: String,
    knowledge: JobKnowledge,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Jobs created by this step.
    pub submitted: usize,
    /// Jobs found existing on submission (409) and adopted.
    pub adopted: usize,
    /// Jobs that turned terminal in this step.
    pub ended: usize,
    /// Ids of the FTS jobs not yet terminal.
    pub active_job_ids: Vec<String>,
    /// Jobs waiting for room on their link.
    pub waiting: usize,
    /// True when every job is terminal and no file is left to resubmit.
    pub complete: bool,
}

/// A plan being seen through.
#[derive(Debug)]
pub struct TransferRun {
    plan: Plan,
    nodes: Vec<Node>,
}

impl TransferRun {
    /// Starts following `plan`; its first-attempt job ids are computed from `whoami` once.
    pub async fn new(plan: Plan, client: &FtsClient) -> Result<Self, FtsError> {
        let mut nodes = Vec::with_capacity(plan.jobs.len());
        for job in &plan.jobs {
            let job_id = client.deterministic_job_id(&job.sid).await?;
            nodes.push(Node {
                job: job.clone(),
                job_id,
                knowledge: JobKnowledge::Unknown,
            });
        }
        Ok(Self { plan, nodes })
    }

    /// The plan followed.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// One step: learn the state of unfinished jobs, plan retries of recoverable failures,
    /// and submit what the per-link limit allows.
    pub async fn advance(&mut self, client: &FtsClient) -> Result<Progress, FtsError> {
        let mut ended = 0;
        let mut asked: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| {
                matches!(
                    self.nodes[i].knowledge,
                    JobKnowledge::Unknown | JobKnowledge::Active
                )
            })
            .collect();

        // Each round may reveal terminal jobs whose retries an earlier run submitted already.
        while !asked.is_empty() {
            let ids: Vec<String> = asked
                .iter()
                .map(|&i| self.nodes[i].job_id.clone())
                .collect();
            let statuses: HashMap<String, JobStatus> = client
                .job_statuses(&ids, true)
                .await?
                .into_iter()
                .map(|status| (status.job_id.clone(), status))
                .collect();

            let mut retries = Vec::new();
            for &index in &asked {
                let Some(status) = statuses.get(&self.nodes[index].job_id) else {
                    continue;
                };
                let node = &mut self.nodes[index];
                node.knowledge = match (&node.knowledge, status) {
                    (JobKnowledge::Active, status) if status.is_missing() => {
                        // Submitting again is safe: a live job answers 409. Limitation: a
                        // terminal job FTS purged (after about 7 days) is submitted anew.
                        tracing::warn!(fts_job_id = %node.job_id, "FTS no longer knows the job");
                        JobKnowledge::Waiting
                    }
                    // Limitation: a purged terminal job looks never submitted, so a re-run
                    // of a request older than FTS's retention copies its files again.
                    (_, status) if status.is_missing() => JobKnowledge::Waiting,
                    (_, status) if status.job_state.is_some_and(|s| s.is_terminal()) => {
                        ended += 1;
                        JobKnowledge::Done(status.clone())
                    }
                    _ => JobKnowledge::Active,
                };
                if let JobKnowledge::Done(status) = &node.knowledge {
                    tracing::debug!(fts_job_id = %node.job_id, state = ?status.job_state,
                        attempt = node.job.attempt, "FTS job ended");
                    let failed = recoverable_rows(&self.plan, &node.job, status);
                    if let Some(retry) = self.plan.retry_of(&node.job, &failed) {
                        retries.push(retry);
                    }
                }
            }

            asked.clear();
            for job in retries {
                let job_id = client.deterministic_job_id(&job.sid).await?;
                asked.push(self.nodes.len());
                self.nodes.push(Node {
                    job,
                    job_id,
                    knowledge: JobKnowledge::Unknown,
                });
            }
        }

        let (submitted, adopted) = self.submit_waiting(client).await?;
        let progress = Progress {
            submitted,
            adopted,
            ended,
            active_job_ids: self.ids_where(|k| matches!(k, JobKnowledge::Active)),
            waiting: self.ids_where(|k| matches!(k, JobKnowledge::Waiting)).len(),
            complete: self
                .nodes
                .iter()
                .all(|node| matches!(node.knowledge, JobKnowledge::Done(_))),
        };
        // One line per step: per-job lines (debug) would flood a task log with hundreds.
        tracing::info!(
            submitted,
            adopted,
            ended,
            active = progress.active_job_ids.len(),
            waiting = progress.waiting,
            complete = progress.complete,
            "FTS bulk transfer step"
        );
        Ok(progress)
    }

    /// Advances until every file has its final outcome, polling with growing delays.
    pub async fn run(
        &mut self,
        client: &FtsClient,
        poll: &PollConfig,
    ) -> Result<Summary, FtsError> {
        let started = Instant::now();
        let mut delay = poll.initial;
        loop {
            let progress = self.advance(client).await?;
            if progress.complete {
                return Ok(self.summary());
            }
            if poll.timeout.is_some_and(|limit| started.elapsed() >= limit) {
                let summary = self.summary();
                return Err(FtsError::Partial {
                    message: format!(
                        "FTS transfers not done in time: {} of {} files finished, {} unfinished",
                        summary.finished, summary.files, summary.unfinished
                    ),
                    kind: ErrorKind::Timeout,
                    details: serde_json::to_value(&summary).unwrap_or_default(),
                });
            }
            let changed = progress.submitted + progress.adopted + progress.ended > 0;
            delay = if changed {
                poll.initial
            } else {
                poll.grow(delay)
            };
            tokio::time::sleep(delay).await;
        }
    }

    /// Submits waiting jobs, oldest first, while their link has fewer active jobs than allowed.
    async fn submit_waiting(&mut self, client: &FtsClient) -> Result<(usize, usize), FtsError> {
        let limit = self.plan.config.max_active_jobs_per_link;
        let mut active: HashMap<&Link, usize> = HashMap::new();
        for node in &self.nodes {
            if matches!(node.knowledge, JobKnowledge::Active) {
                *active.entry(&node.job.link).or_default() += 1;
            }
        }
        let mut chosen = Vec::new();
        for (index, node) in self.nodes.iter().enumerate() {
            if matches!(node.knowledge, JobKnowledge::Waiting) {
                let count = active.entry(&node.job.link).or_default();
                if *count < limit {
                    *count += 1;
                    chosen.push(index);
                }
            }
        }

        let plan = &self.plan;
        let nodes = &self.nodes;
        let results: Vec<(usize, Result<bool, FtsError>)> = stream::iter(chosen)
            .map(|index| async move {
                let submission = plan.submission(&nodes[index].job);
                let outcome = client.submit_deterministic(&submission).await;
                (index, outcome.map(|submitted| submitted.adopted))
            })
            .buffer_unordered(SUBMIT_CONCURRENCY)
            .collect()
            .await;

        let (mut submitted, mut adopted) = (0, 0);
        let mut failures = Vec::new();
        for (index, result) in results {
            match result {
                Ok(was_adopted) => {
                    self.nodes[index].knowledge = JobKnowledge::Active;
                    if was_adopted {
                        adopted += 1
                    } else {
                        submitted += 1
                    }
                }
                Err(error) => failures.push((index, error)),
            }
        }
        if failures.is_empty() {
            return Ok((submitted, adopted));
        }

        // The failed jobs stay waiting: the next step submits them again, under the same ids.
        let kind = crate::ServiceError::kind(&failures[0].1);
        let details = serde_json::json!({
            "submitted": submitted + adopted,
            "not_submitted": failures
                .iter()
                .map(|(index, error)| serde_json::json!({
                    "sid": self.nodes[*index].job.sid,
                    "files": self.nodes[*index].job.files.len(),
                    "error": error.to_string(),
                }))
                .collect::<Vec<_>>(),
        });
        Err(FtsError::Partial {
            message: format!(
                "{} FTS job(s) submitted, {} not: {}",
                submitted + adopted,
                failures.len(),
                failures[0].1
            ),
            kind,
            details,
        })
    }

    fn ids_where(&self, wanted: impl Fn(&JobKnowledge) -> bool) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|node| wanted(&node.knowledge))
            .map(|node| node.job_id.clone())
            .collect()
    }

    /// The FTS job ids submitted so far (active or ended), for cancellation and links.
    pub fn submitted_job_ids(&self) -> Vec<String> {
        self.ids_where(|k| matches!(k, JobKnowledge::Active | JobKnowledge::Done(_)))
    }

    /// One outcome per transfer, in the order of the transfer list.
    pub fn outcomes(&self) -> Vec<FileOutcome> {
        let mut outcomes: Vec<FileOutcome> = (0..self.plan.transfers.len())
            .map(|row| FileOutcome {
                row,
                state: "WAITING".to_owned(),
                failure: None,
                source: None,
                attempts: 0,
                reason: None,
                job_ids: Vec::new(),
                bytes: 0,
                duration: None,
            })
            .collect();

        // Nodes are in submission order, so a later attempt overwrites an earlier one.
        for node in &self.nodes {
            let results = match &node.knowledge {
                JobKnowledge::Unknown | JobKnowledge::Waiting => continue,
                JobKnowledge::Active => None,
                JobKnowledge::Done(status) => Some(file_results(&self.plan, &node.job, status)),
            };
            for (position, &row) in node.job.files.iter().enumerate() {
                let outcome = &mut outcomes[row];
                outcome.attempts += 1;
                outcome.job_ids.push(node.job_id.clone());
                let Some(result) = results.as_ref().map(|r| &r[position]) else {
                    outcome.state = "ACTIVE".to_owned();
                    outcome.failure = None;
                    continue;
                };
                outcome.state = result.state.as_str().to_owned();
                outcome.source = result.source.clone();
                outcome.duration = result.duration;
                if result.state == FileState::Finished {
                    outcome.failure = None;
                    outcome.bytes = result
                        .bytes
                        .or(self.plan.transfers[row].filesize)
                        .unwrap_or(0);
                } else {
                    let reason = result.reason.clone().unwrap_or_default();
                    outcome.failure = Some(classify(result.state, &reason));
                    outcome.reason = Some(reason);
                }
            }
        }
        outcomes
    }

    /// Counts over [`Self::outcomes`].
    pub fn summary(&self) -> Summary {
        summarize(&self.outcomes(), self.submitted_job_ids().len())
    }
}
