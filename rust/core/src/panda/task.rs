//! Task calls: submit, status, details, parameters, jobs, bulk polling, kill, finish, retry.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::client::{flag, PandaClient};
use super::datetime::PandaTime;
use super::render::render_task_parameters;
use super::spec::TaskSpec;
use super::PandaError;
use crate::http::Idempotency;

/// Where the server's message names a task: `jediTaskID=123`.
static TASK_ID_IN_MESSAGE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"jediTaskID=(\d+)").expect("a valid regular expression"));

/// The task states after which nothing more happens without a command.
pub const TERMINAL_TASK_STATES: [&str; 5] = ["done", "finished", "failed", "aborted", "broken"];

/// Whether a task in `status` will not change again by itself (`exhausted` needs a person).
pub fn is_final_task_status(status: &str) -> bool {
    TERMINAL_TASK_STATES.contains(&status) || status == "exhausted"
}

/// What `task/submit` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Submission {
    /// The `jediTaskID` of the new task, or of the existing task with the same unique name.
    pub task_id: u64,
    /// False when the server answered with an existing task (a duplicate, or an incremental
    /// execution of a finished one) instead of creating a task.
    pub created: bool,
    /// The submission return code: 0 ok, 1/2 duplicate, 3 incremental execution.
    pub code: i64,
    /// The server's message.
    pub message: String,
}

/// The answer of `task/get_details`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct TaskDetails {
    /// The task status, when asked for with `include_status`.
    #[serde(default)]
    pub status: Option<String>,
    /// Input datasets, comma-separated.
    #[serde(rename = "inDS", default)]
    pub in_ds: String,
    /// Output and log datasets, comma-separated.
    #[serde(rename = "outDS", default)]
    pub out_ds: String,
    /// Files by state, such as `finished*3,failed*1`; known to undercount, do not rely on it.
    #[serde(default)]
    pub statistics: String,
    /// The PanDA ids of the task's jobs known to the server.
    #[serde(rename = "PandaID", default)]
    pub panda_ids: Vec<u64>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// One task of `task/get_tasks_modified_since`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TaskSummary {
    /// The task id.
    #[serde(rename = "jediTaskID")]
    pub task_id: u64,
    /// The task status.
    pub status: String,
    /// The task name.
    #[serde(rename = "taskName", default)]
    pub task_name: Option<String>,
    /// When the task last changed.
    #[serde(rename = "modificationTime", default)]
    pub modification_time: Option<PandaTime>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Options of `task/retry`.
#[derive(Debug, Clone, Default)]
pub struct RetryOptions {
    /// Task parameters to change before the retry, merged into the existing ones.
    pub new_parameters: Option<Map<String, Value>>,
    /// Do not retry the child tasks.
    pub no_child_retry: bool,
    /// Discard the events of event-service jobs.
    pub discard_events: bool,
}

impl PandaClient {
    /// Submits a task; with `uniqueTaskName` on, a duplicate answer yields the existing task.
    ///
    /// The request is repeated after a transport failure only when the task name is unique:
    /// then a repeat cannot create a second task, the server names the first one instead.
    pub async fn submit_task(
        &self,
        task_parameters: &Map<String, Value>,
        parent_task_id: Option<u64>,
    ) -> Result<Submission, PandaError> {
        let call = "task/submit";
        let unique = task_parameters.get("uniqueTaskName") == Some(&Value::Bool(true));
        let idempotency = if unique {
            Idempotency::Idempotent
        } else {
            Idempotency::NotIdempotent
        };
        let body = json!({ "task_parameters": task_parameters, "parent_tid": parent_task_id });
        let envelope = self.post(call, &body, idempotency).await?;

        // On success `data` is the task id, and only the message tells a new task (0) from
        // an incremental execution of a finished one (3); on refusal `data` is the code.
        let code = match (envelope.success, envelope.code()) {
            (true, _) if envelope.message.contains("reactivation accepted") => 3,
            (true, _) => 0,
            (false, code) => code.unwrap_or(4),
        };
        let named = task_id_in(&envelope.message);
        let task_name = task_parameters
            .get("taskName")
            .and_then(Value::as_str)
            .unwrap_or("");
        match (envelope.success, code, named) {
            (true, _, _) => {
                let task_id =
                    envelope
                        .data
                        .as_u64()
                        .or(named)
                        .ok_or_else(|| PandaError::Decode {
                            call,
                            message: format!("no jediTaskID in {:?}", envelope.message),
                        })?;
                let created = code == 0;
                tracing::info!(task_id, task_name, created, "submitted PanDA task");
                Ok(Submission {
                    task_id,
                    created,
                    code,
                    message: envelope.message,
                })
            }
            (false, 1 | 2, Some(task_id)) => {
                tracing::info!(task_id, task_name, "PanDA task exists already, reusing it");
                Ok(Submission {
                    task_id,
                    created: false,
                    code,
                    message: envelope.message,
                })
            }
            (false, _, _) => Err(PandaError::refused(call, envelope.message, Some(code))),
        }
    }

    /// Validates and renders `spec`, then submits it; an invalid spec sends nothing.
    pub async fn submit_spec(&self, spec: &TaskSpec) -> Result<Submission, PandaError> {
        let parameters = render_task_parameters(spec)?;
        self.submit_task(&parameters, None).await
    }

    /// The status of a task.
    pub async fn task_status(&self, task_id: u64) -> Result<String, PandaError> {
        let call = "task/get_status";
        self.get(call, &[("task_id", task_id.to_string())])
            .await?
            .into_data(call)
    }

    /// The details of a task: datasets, statistics, PanDA ids, and its status when asked.
    pub async fn task_details(
        &self,
        task_id: u64,
        include_parameters: bool,
        include_status: bool,
    ) -> Result<TaskDetails, PandaError> {
        let call = "task/get_details";
        let mut query = vec![("task_id", task_id.to_string())];
        flag(&mut query, "include_parameters", include_parameters);
        flag(&mut query, "include_status", include_status);
        self.get(call, &query).await?.into_data(call)
    }

    /// The task parameters the task was submitted with.
    pub async fn task_parameters(&self, task_id: u64) -> Result<Map<String, Value>, PandaError> {
        let call = "task/get_task_parameters";
        self.get(call, &[("task_id", task_id.to_string())])
            .await?
            .into_data(call)
    }

    /// The PanDA ids of every job of a task, in any state, retries included.
    pub async fn task_job_ids(&self, task_id: u64) -> Result<Vec<u64>, PandaError> {
        let call = "task/get_job_ids";
        self.get(call, &[("task_id", task_id.to_string())])
            .await?
            .into_data(call)
    }

    /// The caller's tasks of `source_label` modified since `since` (`%Y-%m-%d %H:%M:%S`, UTC):
    /// one call instead of one per task.
    pub async fn tasks_modified_since(
        &self,
        since: &str,
        source_label: &str,
        full: bool,
        min_task_id: Option<u64>,
    ) -> Result<Vec<TaskSummary>, PandaError> {
        let call = "task/get_tasks_modified_since";
        if !is_panda_timestamp(since) {
            return Err(PandaError::InvalidArgument(format!(
                "since must look like 2026-12-03 16:00:00, got {since:?}"
            )));
        }
        let mut query = vec![
            ("since", since.to_owned()),
            ("prod_source_label", source_label.to_owned()),
        ];
        flag(&mut query, "full", full);
        if let Some(min) = min_task_id {
            query.push(("min_task_id", min.to_string()));
        }
        // The server keys the tasks by request id; the keys carry nothing the tasks lack.
        let tasks: BTreeMap<String, TaskSummary> = self.get(call, &query).await?.into_data(call)?;
        let mut tasks: Vec<TaskSummary> = tasks.into_values().collect();
        tasks.sort_by_key(|task| task.task_id);
        Ok(tasks)
    }

    /// Asks the server to kill a task; `broadcast` also tells the pilots at once.
    pub async fn kill_task(&self, task_id: u64, broadcast: bool) -> Result<String, PandaError> {
        let body = json!({ "task_id": task_id, "broadcast": broadcast });
        self.command("task/kill", task_id, body).await
    }

    /// Asks the server to finish a task; `soft` lets running jobs end first.
    pub async fn finish_task(
        &self,
        task_id: u64,
        soft: bool,
        broadcast: bool,
    ) -> Result<String, PandaError> {
        let body = json!({ "task_id": task_id, "soft": soft, "broadcast": broadcast });
        self.command("task/finish", task_id, body).await
    }

    /// Asks the server to retry the failed part of a finished or failed task.
    pub async fn retry_task(
        &self,
        task_id: u64,
        options: &RetryOptions,
    ) -> Result<String, PandaError> {
        let mut body = json!({ "task_id": task_id });
        if let Some(parameters) = &options.new_parameters {
            body["new_parameters"] = Value::Object(parameters.clone());
        }
        if options.no_child_retry {
            body["no_child_retry"] = Value::Bool(true);
        }
        if options.discard_events {
            body["discard_events"] = Value::Bool(true);
        }
        self.command("task/retry", task_id, body).await
    }

    /// Whether the server answers at all.
    pub async fn is_alive(&self) -> Result<(), PandaError> {
        let call = "system/is_alive";
        let envelope = self.get(call, &[]).await?;
        envelope.into_data::<Value>(call).map(|_| ())
    }

    /// A task command: code 0 means registered; the message is returned.
    async fn command(
        &self,
        call: &'static str,
        task_id: u64,
        body: Value,
    ) -> Result<String, PandaError> {
        // Commands are safe to repeat: a second kill of a task being killed is refused with
        // code 4 rather than acting twice.
        let envelope = self.post(call, &body, Idempotency::Idempotent).await?;
        if envelope.success && envelope.code().unwrap_or(0) == 0 {
            tracing::info!(task_id, call, "PanDA command registered");
            return Ok(envelope.message);
        }
        let code = envelope.code();
        Err(PandaError::refused(call, envelope.message, code))
    }
}

/// The task id named in a server message, such as a duplicate-submission answer.
pub fn task_id_in(message: &str) -> Option<u64> {
    TASK_ID_IN_MESSAGE
        .captures(message)
        .and_then(|captures| captures[1].parse().ok())
}

fn is_panda_timestamp(text: &str) -> bool {
    static FORMAT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$").expect("a valid regular expression")
    });
    FORMAT.is_match(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_are_found_in_duplicate_messages() {
        let message = "jediTaskID=4242 is in the running state for outDS=bmn.run8.digi. \
                       You can re-submit the task with new parameters";
        assert_eq!(task_id_in(message), Some(4242));
        assert_eq!(task_id_in("succeeded. new jediTaskID=7"), Some(7));
        assert_eq!(task_id_in("failed to register task"), None);
    }

    #[test]
    fn timestamps_are_checked() {
        assert!(is_panda_timestamp("2026-12-03 16:00:00"));
        assert!(!is_panda_timestamp("2026-12-03T16:00:00"));
    }
}
