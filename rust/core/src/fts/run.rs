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
use serde::Serialize;
use tokio::time::Instant;

use super::classify::{classify, Failure};
use super::client::FtsClient;
use super::error::FtsError;
use super::model::{FileState, FileStatus, JobStatus};
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

/// The end of one file in one FTS job.
#[derive(Debug, Clone, PartialEq)]
pub struct FileResult {
    pub state: FileState,
    pub source: Option<String>,
    pub reason: Option<String>,
    pub bytes: Option<u64>,
    pub duration: Option<f64>,
}

/// Where one transfer of the plan stands.
#[derive(Debug, Clone, PartialEq)]
pub struct FileOutcome {
    /// The row of the transfer list.
    pub row: usize,
    /// `FINISHED`, `FAILED`, `CANCELED`; `ACTIVE` or `WAITING` while the run goes on.
    pub state: String,
    /// For a failed or cancelled file, whether another attempt could help.
    pub failure: Option<Failure>,
    /// The source FTS copied from (or tried last).
    pub source: Option<String>,
    /// FTS jobs the file was submitted in.
    pub attempts: u32,
    /// FTS's reason of the last failure.
    pub reason: Option<String>,
    /// The FTS job ids, oldest first.
    pub job_ids: Vec<String>,
    /// Bytes copied (0 unless FINISHED).
    pub bytes: u64,
    /// Seconds the last attempt took, when FTS reported both ends.
    pub duration: Option<f64>,
}

/// Counts over a run, small enough for XCom.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub files: usize,
    pub finished: usize,
    pub failed: usize,
    pub canceled: usize,
    /// Files still being copied or waiting for their link.
    pub unfinished: usize,
    /// Failed files whose last failure was recoverable but attempts ran out.
    pub failed_recoverable: usize,
    /// Failed or cancelled files whose failure no attempt can fix.
    pub failed_final: usize,
    pub bytes: u64,
    /// FTS jobs submitted (or adopted) so far.
    pub fts_jobs: usize,
    /// File submissions beyond the first.
    pub resubmissions: usize,
    /// True when no file can change any more.
    pub complete: bool,
}

/// What one [`TransferRun::advance`] did and what remains.
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
                        // Purged or lost: submitting again is safe, a live job answers 409.
                        tracing::warn!(fts_job_id = %node.job_id, "FTS no longer knows the job");
                        JobKnowledge::Waiting
                    }
                    (_, status) if status.is_missing() => JobKnowledge::Waiting,
                    (_, status) if status.job_state.is_some_and(|s| s.is_terminal()) => {
                        ended += 1;
                        JobKnowledge::Done(status.clone())
                    }
                    _ => JobKnowledge::Active,
                };
                if let JobKnowledge::Done(status) = &node.knowledge {
                    tracing::info!(fts_job_id = %node.job_id, state = ?status.job_state,
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
        Ok(Progress {
            submitted,
            adopted,
            ended,
            active_job_ids: self.ids_where(|k| matches!(k, JobKnowledge::Active)),
            waiting: self.ids_where(|k| matches!(k, JobKnowledge::Waiting)).len(),
            complete: self
                .nodes
                .iter()
                .all(|node| matches!(node.knowledge, JobKnowledge::Done(_))),
        })
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

/// Counts over outcomes; `fts_jobs` is the number of FTS jobs submitted.
pub fn summarize(outcomes: &[FileOutcome], fts_jobs: usize) -> Summary {
    let mut summary = Summary {
        files: outcomes.len(),
        fts_jobs,
        ..Summary::default()
    };
    for outcome in outcomes {
        summary.bytes += outcome.bytes;
        summary.resubmissions += outcome.attempts.saturating_sub(1) as usize;
        match outcome.state.as_str() {
            "FINISHED" => summary.finished += 1,
            "FAILED" => summary.failed += 1,
            "CANCELED" => summary.canceled += 1,
            _ => summary.unfinished += 1,
        }
        match outcome.failure {
            Some(Failure::Final) => summary.failed_final += 1,
            Some(Failure::Recoverable) => summary.failed_recoverable += 1,
            _ => {}
        }
    }
    summary.complete = summary.unfinished == 0;
    summary
}

/// Rows of a terminal job that failed for a reason another attempt may fix.
fn recoverable_rows(plan: &Plan, job: &PlannedJob, status: &JobStatus) -> Vec<usize> {
    file_results(plan, job, status)
        .iter()
        .zip(&job.files)
        .filter(|(result, _)| {
            result.state != FileState::Finished
                && classify(result.state, result.reason.as_deref().unwrap_or_default())
                    == Failure::Recoverable
        })
        .map(|(_, &row)| row)
        .collect()
}

/// The result of each file of `job` (in its order) from the rows of its terminal status.
///
/// Rows are matched by destination, unique within a plan. A multi-source transfer has one row
/// per source; the one that FINISHED, or else the last that ended, speaks for the file.
fn file_results(plan: &Plan, job: &PlannedJob, status: &JobStatus) -> Vec<FileResult> {
    let mut by_destination: HashMap<&str, &FileStatus> = HashMap::with_capacity(status.files.len());
    for file in &status.files {
        let Some(destination) = file.dest_surl.as_deref() else {
            continue;
        };
        let better = match by_destination.get(destination) {
            None => true,
            Some(kept) => rank(file.file_state) >= rank(kept.file_state),
        };
        if better {
            by_destination.insert(destination, file);
        }
    }

    job.files
        .iter()
        .map(|&row| {
            let destination = plan.transfers[row].destination.as_str();
            match by_destination.get(destination) {
                Some(file) if file.file_state.is_terminal() => FileResult {
                    state: file.file_state,
                    source: file.source_surl.clone(),
                    reason: file.reason.clone().filter(|r| !r.is_empty()),
                    bytes: file.filesize,
                    duration: duration(file),
                },
                Some(file) => FileResult {
                    state: FileState::Failed,
                    source: file.source_surl.clone(),
                    reason: Some(format!(
                        "left {} by a terminal FTS job",
                        file.file_state.as_str()
                    )),
                    bytes: None,
                    duration: None,
                },
                None => FileResult {
                    state: FileState::Failed,
                    source: None,
                    reason: Some("FTS reported no row for this destination".to_owned()),
                    bytes: None,
                    duration: None,
                },
            }
        })
        .collect()
}

fn rank(state: FileState) -> u8 {
    match state {
        FileState::Finished => 3,
        FileState::Failed | FileState::Canceled => 2,
        FileState::NotUsed => 0,
        _ => 1,
    }
}

fn duration(file: &FileStatus) -> Option<f64> {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let parse = |text: &str| {
        let whole = text.split('.').next().unwrap_or(text);
        time::PrimitiveDateTime::parse(whole, format).ok()
    };
    let start = parse(file.start_time.as_deref()?)?;
    let finish = parse(file.finish_time.as_deref()?)?;
    Some((finish - start).as_seconds_f64().max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fts::model::JobState;
    use crate::fts::planner::{PlanConfig, Transfer};

    fn plan(n: usize) -> Plan {
        let transfers = (0..n)
            .map(|i| Transfer {
                sources: vec![
                    format!("https://a.example/d/f{i}"),
                    format!("https://c.example/d/f{i}"),
                ]
                .into_iter()
                .take(if i == 0 { 2 } else { 1 })
                .collect(),
                destination: format!("https://b.example/d/f{i}"),
                filesize: Some(10),
                ..Transfer::default()
            })
            .collect();
        Plan::new(transfers, PlanConfig::default(), "k").unwrap()
    }

    fn row(destination: &str, source: &str, state: FileState, reason: &str) -> FileStatus {
        FileStatus {
            file_id: None,
            file_state: state,
            source_surl: Some(source.into()),
            dest_surl: Some(destination.into()),
            reason: Some(reason.into()),
            filesize: Some(10),
            start_time: Some("2026-01-01T10:00:00".into()),
            finish_time: Some("2026-01-01T10:00:04".into()),
        }
    }

    fn done(files: Vec<FileStatus>) -> JobStatus {
        JobStatus {
            job_id: "j".into(),
            http_status: Some("200 Ok".into()),
            http_message: None,
            job_state: Some(JobState::FinishedDirty),
            job_type: Some("N".into()),
            reason: None,
            priority: None,
            files,
        }
    }

    #[test]
    fn only_recoverable_failures_are_retried() {
        let plan = plan(4);
        let job = plan.jobs.iter().find(|j| j.files.len() == 3).unwrap();
        let status = done(vec![
            row(
                "https://b.example/d/f1",
                "https://a.example/d/f1",
                FileState::Finished,
                "",
            ),
            row(
                "https://b.example/d/f2",
                "https://a.example/d/f2",
                FileState::Failed,
                "SOURCE [2] No such file or directory",
            ),
            row(
                "https://b.example/d/f3",
                "https://a.example/d/f3",
                FileState::Failed,
                "TRANSFER [110] Connection timed out",
            ),
        ]);
        assert_eq!(recoverable_rows(&plan, job, &status), vec![3]);
        let results = file_results(&plan, job, &status);
        assert_eq!(results[0].duration, Some(4.0));
    }

    #[test]
    fn the_finished_source_speaks_for_a_multi_source_file() {
        let plan = plan(2);
        let job = plan.jobs.iter().find(|j| j.files == vec![0]).unwrap();
        let status = done(vec![
            row(
                "https://b.example/d/f0",
                "https://a.example/d/f0",
                FileState::Failed,
                "timeout",
            ),
            row(
                "https://b.example/d/f0",
                "https://c.example/d/f0",
                FileState::Finished,
                "",
            ),
        ]);
        let results = file_results(&plan, job, &status);
        assert_eq!(results[0].state, FileState::Finished);
        assert_eq!(results[0].source.as_deref(), Some("https://c.example/d/f0"));
    }

    #[test]
    fn a_file_missing_from_a_terminal_job_counts_as_failed() {
        let plan = plan(3);
        let job = plan.jobs.iter().find(|j| j.files.len() == 2).unwrap();
        let results = file_results(&plan, job, &done(vec![]));
        assert!(results.iter().all(|r| r.state == FileState::Failed));
        assert_eq!(recoverable_rows(&plan, job, &done(vec![])), job.files);
    }

    #[test]
    fn summaries_count_each_file_once() {
        let outcome = |state: &str, failure, attempts| FileOutcome {
            row: 0,
            state: state.into(),
            failure,
            source: None,
            attempts,
            reason: None,
            job_ids: vec![],
            bytes: if state == "FINISHED" { 5 } else { 0 },
            duration: None,
        };
        let summary = summarize(
            &[
                outcome("FINISHED", None, 2),
                outcome("FAILED", Some(Failure::Final), 1),
                outcome("FAILED", Some(Failure::Recoverable), 3),
                outcome("ACTIVE", None, 2),
            ],
            6,
        );
        assert_eq!(
            (
                summary.finished,
                summary.failed,
                summary.unfinished,
                summary.bytes
            ),
            (1, 2, 1, 5)
        );
        assert_eq!((summary.failed_final, summary.failed_recoverable), (1, 1));
        assert_eq!(summary.resubmissions, 4);
        assert!(!summary.complete);
    }
}
