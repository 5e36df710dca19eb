//! What became of a task: its status, its jobs by state, its datasets and the errors of its
//! failed jobs, gathered in a few calls.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::client::PandaClient;
use super::PandaError;

/// The errors of at most this many failed jobs are listed; the rest are only counted.
const ERRORS_LISTED: usize = 20;

/// A failed job and why it failed.
#[derive(Debug, Clone, Serialize)]
pub struct FailedJob {
    /// The PanDA id.
    pub panda_id: u64,
    /// The attempt number.
    pub attempt: Option<u32>,
    /// `failed`, `cancelled` or `closed`.
    pub status: String,
    /// The first error explanation the job carries.
    pub error: String,
}

/// The outcome of a task.
#[derive(Debug, Clone, Serialize)]
pub struct TaskOutcome {
    /// The task id.
    pub task_id: u64,
    /// The task status.
    pub status: String,
    /// Every job of the task (retries included) counted by status.
    pub jobs_by_state: BTreeMap<String, usize>,
    /// The output datasets.
    pub output_datasets: Vec<String>,
    /// The log datasets.
    pub log_datasets: Vec<String>,
    /// The failed jobs, newest first, at most twenty.
    pub failed_jobs: Vec<FailedJob>,
    /// How many jobs failed in all.
    pub failed_job_count: usize,
}

impl PandaClient {
    /// The outcome of a task, from its status, parameters and job descriptions.
    pub async fn task_outcome(&self, task_id: u64) -> Result<TaskOutcome, PandaError> {
        let status = self.task_status(task_id).await?;
        let parameters = self.task_parameters(task_id).await?;
        let job_ids = self.task_job_ids(task_id).await?;
        let jobs = self.job_descriptions(&job_ids).await?;

        let mut jobs_by_state = BTreeMap::new();
        let mut failed = Vec::new();
        for job in jobs.into_iter().flatten() {
            *jobs_by_state.entry(job.status.clone()).or_insert(0) += 1;
            if matches!(job.status.as_str(), "failed" | "cancelled" | "closed") {
                failed.push(FailedJob {
                    panda_id: job.panda_id,
                    attempt: job.attempt,
                    status: job.status.clone(),
                    error: job
                        .error()
                        .unwrap_or_else(|| "no error recorded".to_owned()),
                });
            }
        }
        failed.sort_by_key(|job| std::cmp::Reverse(job.panda_id));
        let failed_job_count = failed.len();
        failed.truncate(ERRORS_LISTED);

        Ok(TaskOutcome {
            task_id,
            status,
            jobs_by_state,
            output_datasets: datasets(&parameters, "output"),
            log_datasets: datasets(&parameters, "log"),
            failed_jobs: failed,
            failed_job_count,
        })
    }
}

/// The datasets of the task's templates of `param_type`, in order, once each.
fn datasets(parameters: &Map<String, Value>, param_type: &str) -> Vec<String> {
    let items = parameters
        .get("jobParameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(parameters.get("log"));
    let mut names: Vec<String> = Vec::new();
    for item in items {
        let matches = item.get("param_type").and_then(Value::as_str) == Some(param_type);
        if let (true, Some(name)) = (matches, item.get("dataset").and_then(Value::as_str)) {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn datasets_come_from_the_templates() {
        let parameters = json!({
            "jobParameters": [
                {"type": "template", "param_type": "input", "dataset": "bmn.run8:raw"},
                {"type": "template", "param_type": "output", "dataset": "bmn.run8:digi"},
                {"type": "template", "param_type": "output", "dataset": "bmn.run8:digi"},
            ],
            "log": {"type": "template", "param_type": "log", "dataset": "bmn.run8:digi.log"},
        });
        let parameters = parameters.as_object().unwrap();
        assert_eq!(datasets(parameters, "output"), vec!["bmn.run8:digi"]);
        assert_eq!(datasets(parameters, "log"), vec!["bmn.run8:digi.log"]);
    }
}
