//! The tasks and jobs the embedded PanDA holds, and how they are shown to clients.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use tokio::sync::{watch, Notify};

/// The task states from which nothing more happens without a command.
pub const FINAL_TASK_STATES: [&str; 5] = ["done", "finished", "failed", "aborted", "broken"];

/// The job states that end a job.
pub const FINAL_JOB_STATES: [&str; 4] = ["finished", "failed", "closed", "cancelled"];

/// One input file of a chunk, with where a replica of it can be read.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub scope: String,
    pub lfn: String,
    pub dataset: String,
    pub bytes: u64,
    pub adler32: Option<String>,
    /// The local file of a replica, resolved through the storage endpoints.
    pub path: Option<std::path::PathBuf>,
}

/// What one job does: its inputs and event range; retries redo the same chunk.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// The serial number `${SN}`, from 1.
    pub serial: u64,
    pub inputs: Vec<InputFile>,
    pub first_event: u64,
    pub events: u64,
    pub skip_events: u64,
    /// The random seed `${RNDMSEED}`.
    pub seed: u64,
    /// Attempts made so far.
    pub attempts: u32,
    /// Attempts allowed; a task retry raises it.
    pub max_attempts: u32,
    pub state: ChunkState,
}

/// Where a chunk stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkState {
    /// Waiting for a job.
    Ready,
    /// A job is working on it.
    Running(u64),
    /// Its job finished.
    Done,
    /// Every allowed attempt failed.
    Failed,
    /// The task was killed or finished before it was done.
    Dropped,
}

/// One task.
#[derive(Debug)]
pub struct Task {
    pub id: u64,
    pub params: Map<String, Value>,
    pub name: String,
    pub user: String,
    pub vo: String,
    pub source_label: String,
    pub status: String,
    pub created: OffsetDateTime,
    pub modified: OffsetDateTime,
    pub chunks: Vec<Chunk>,
    pub job_ids: Vec<u64>,
    /// A serial for log files: every attempt writes its own log.
    pub next_log_serial: u64,
    /// Why the task failed or was broken, for `errorDialog`.
    pub diagnostic: String,
    /// How the task is being ended by a command, if it is.
    pub ending: Option<Ending>,
    /// Whether a driver is working on the task; a retry of a final task starts a new one.
    pub driving: bool,
    /// Wakes the task's driver when one of its jobs ends or a command arrives.
    pub wake: Arc<Notify>,
}

/// How a command ends a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// `kill`: running payloads are terminated, the task ends aborted.
    Abort,
    /// `finish`: running payloads are terminated, the task ends with what is done.
    Finish,
    /// `finish` with `soft`: running jobs may end, no new ones start.
    SoftFinish,
}

impl Task {
    pub fn set_status(&mut self, status: &str) {
        if self.status != status {
            tracing::info!(task_id = self.id, from = %self.status, to = status, "task status");
            self.status = status.to_owned();
        }
        self.modified = OffsetDateTime::now_utc();
    }

    pub fn is_final(&self) -> bool {
        FINAL_TASK_STATES.contains(&self.status.as_str()) || self.status == "exhausted"
    }

    pub fn param_str(&self, key: &str) -> Option<&str> {
        self.params.get(key).and_then(Value::as_str)
    }

    pub fn param_u64(&self, key: &str) -> Option<u64> {
        self.params
            .get(key)
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
    }

    /// The task's datasets of one template type (`output`, `log`), in order.
    pub fn datasets(&self, param_type: &str) -> Vec<String> {
        let mut names: Vec<String> = template_items(&self.params)
            .filter(|item| item.get("param_type").and_then(Value::as_str) == Some(param_type))
            .filter_map(|item| {
                item.get("dataset")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .collect();
        names.dedup();
        names
    }
}

/// The template items of a task: `jobParameters` and the `log` item.
pub fn template_items(params: &Map<String, Value>) -> impl Iterator<Item = &Map<String, Value>> {
    let job = params
        .get("jobParameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    job.chain(params.get("log")).filter_map(Value::as_object)
}

/// One file of a job, as its description lists it.
#[derive(Debug, Clone)]
pub struct JobFile {
    pub lfn: String,
    pub file_type: &'static str,
    pub scope: String,
    pub dataset: String,
    pub status: String,
    pub bytes: Option<u64>,
    pub adler32: Option<String>,
}

/// One job: one attempt at one chunk.
#[derive(Debug)]
pub struct Job {
    pub panda_id: u64,
    pub task_id: u64,
    pub chunk: usize,
    pub attempt: u32,
    pub max_attempt: u32,
    pub status: String,
    pub command: Option<String>,
    pub parameters: String,
    pub transformation: String,
    pub files: Vec<JobFile>,
    pub site: String,
    pub events: u64,
    pub created: OffsetDateTime,
    pub modified: OffsetDateTime,
    pub started: Option<OffsetDateTime>,
    pub ended: Option<OffsetDateTime>,
    pub exit_code: Option<i64>,
    pub pilot_error_code: i64,
    pub pilot_error_diag: Option<String>,
    pub exe_error_diag: Option<String>,
    pub task_buffer_error_diag: Option<String>,
    /// Set to true to make the pilot kill the payload.
    pub kill: watch::Sender<bool>,
}

impl Job {
    pub fn set_status(&mut self, status: &str) {
        tracing::info!(
            panda_id = self.panda_id,
            task_id = self.task_id,
            status,
            "job status"
        );
        self.status = status.to_owned();
        self.modified = OffsetDateTime::now_utc();
    }

    pub fn is_final(&self) -> bool {
        FINAL_JOB_STATES.contains(&self.status.as_str())
    }

    /// The description of `job/get_description`: the JobSpec attributes and `Files`.
    pub fn description(&self, task: Option<&Task>) -> Value {
        let files: Vec<Value> = self
            .files
            .iter()
            .enumerate()
            .map(|(row, file)| {
                json!({
                    "row_ID": row as u64 + 1, "PandaID": self.panda_id, "GUID": null,
                    "lfn": file.lfn, "type": file.file_type, "dataset": file.dataset,
                    "status": file.status, "prodDBlock": file.dataset,
                    "destinationDBlock": file.dataset, "fsize": file.bytes,
                    "checksum": file.adler32.as_ref().map(|a| format!("ad:{a}")),
                    "scope": file.scope, "jediTaskID": self.task_id,
                    "attemptNr": self.attempt,
                })
            })
            .collect();
        let label = task.map(|t| t.source_label.as_str()).unwrap_or("user");
        json!({
            "PandaID": self.panda_id,
            "jobDefinitionID": self.task_id,
            "creationTime": datetime(self.created),
            "modificationTime": datetime(self.modified),
            "startTime": self.started.map(datetime),
            "endTime": self.ended.map(datetime),
            "transformation": self.transformation,
            "prodSourceLabel": label,
            "prodUserName": task.map(|t| t.user.clone()),
            "attemptNr": self.attempt,
            "maxAttempt": self.max_attempt,
            "jobStatus": self.status,
            "jobName": format!("{}.{}", task.map(|t| t.name.as_str()).unwrap_or(""), self.panda_id),
            "commandToPilot": self.command,
            "transExitCode": self.exit_code,
            "pilotErrorCode": self.pilot_error_code,
            "pilotErrorDiag": self.pilot_error_diag,
            "exeErrorCode": 0,
            "exeErrorDiag": self.exe_error_diag,
            "ddmErrorCode": 0,
            "ddmErrorDiag": null,
            "taskBufferErrorCode": 0,
            "taskBufferErrorDiag": self.task_buffer_error_diag,
            "computingSite": self.site,
            "jobParameters": self.parameters,
            "nEvents": self.events,
            "VO": task.map(|t| t.vo.clone()),
            "processingType": task.and_then(|t| t.param_str("processingType")),
            "jediTaskID": self.task_id,
            "taskID": self.task_id,
            "reqID": self.task_id,
            "coreCount": task.and_then(|t| t.param_u64("coreCount")).unwrap_or(1),
            "Files": files,
        })
    }
}

/// Everything the embedded PanDA knows.
#[derive(Debug, Default)]
pub struct Store {
    pub tasks: BTreeMap<u64, Task>,
    pub jobs: HashMap<u64, Job>,
    pub last_task_id: u64,
    pub last_panda_id: u64,
}

/// A datetime as the server encodes it: `{"__datetime__": "<naive ISO 8601>"}` in UTC.
pub fn datetime(at: OffsetDateTime) -> Value {
    json!({ "__datetime__": naive_iso(at) })
}

/// `2026-12-03T16:00:00.123456`, Python's `isoformat()` of a naive UTC datetime.
pub fn naive_iso(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]"
    );
    at.format(&format).unwrap_or_default()
}
