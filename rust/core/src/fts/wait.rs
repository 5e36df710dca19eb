//! Waiting for FTS jobs submitted earlier: one bulk query per round for all of them, with a
//! delay that grows while nothing changes.

use std::collections::HashSet;

use serde::Serialize;
use tokio::time::Instant;

use super::client::FtsClient;
use super::error::FtsError;
use super::run::PollConfig;
use crate::error::ErrorKind;

/// When a wait ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitFor {
    /// Every job is terminal (or unknown to FTS).
    All,
    /// At least one job is terminal (or unknown to FTS).
    Any,
}

/// The jobs at the end of a wait.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WaitOutcome {
    /// Job id and state (`FINISHED`, `FAILED`, ...) of the terminal jobs.
    pub terminal: Vec<(String, String)>,
    /// Ids of the jobs still active.
    pub active: Vec<String>,
    /// Ids FTS does not know (never submitted, or purged).
    pub missing: Vec<String>,
}

/// Polls `job_ids` until `wait_for` holds; a timeout in `poll` ends it with an error.
pub async fn wait_for_jobs(
    client: &FtsClient,
    job_ids: &[String],
    wait_for: WaitFor,
    poll: &PollConfig,
) -> Result<WaitOutcome, FtsError> {
    if job_ids.is_empty() {
        return Ok(WaitOutcome::default());
    }
    let started = Instant::now();
    let mut delay = poll.initial;
    let mut seen_terminal: HashSet<String> = HashSet::new();

    loop {
        let mut outcome = WaitOutcome::default();
        for status in client.job_statuses(job_ids, false).await? {
            match status.job_state {
                _ if status.is_missing() => outcome.missing.push(status.job_id),
                Some(state) if state.is_terminal() => {
                    let name = serde_json::to_value(state)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    outcome.terminal.push((status.job_id, name));
                }
                _ => outcome.active.push(status.job_id),
            }
        }

        let done = match wait_for {
            WaitFor::All => outcome.active.is_empty(),
            WaitFor::Any => outcome.active.len() < job_ids.len(),
        };
        if done {
            return Ok(outcome);
        }
        if poll.timeout.is_some_and(|limit| started.elapsed() >= limit) {
            return Err(FtsError::Partial {
                message: format!(
                    "{} of {} FTS jobs still active after the timeout",
                    outcome.active.len(),
                    job_ids.len()
                ),
                kind: ErrorKind::Timeout,
                details: serde_json::to_value(&outcome).unwrap_or_default(),
            });
        }

        let before = seen_terminal.len();
        seen_terminal.extend(outcome.terminal.iter().map(|(id, _)| id.clone()));
        delay = if seen_terminal.len() > before {
            poll.initial
        } else {
            poll.grow(delay)
        };
        tokio::time::sleep(delay).await;
    }
}
