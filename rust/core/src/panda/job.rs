//! Job calls: descriptions (fetched in chunks below the server's cap), light status, kill.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::client::PandaClient;
use super::datetime::PandaTime;
use super::PandaError;
use crate::http::Idempotency;

/// The server truncates `job/get_description` to 5500 ids without saying so; stay below.
pub const DESCRIPTION_CHUNK: usize = 5000;

/// `job/get_status` takes its ids in the query string; keep URLs short.
const STATUS_CHUNK: usize = 500;

/// One file of a job description.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct JobFile {
    /// The logical file name.
    pub lfn: String,
    /// `input`, `output` or `log`.
    #[serde(rename = "type")]
    pub file_type: String,
    /// The Rucio scope.
    #[serde(default)]
    pub scope: Option<String>,
    /// The dataset the file belongs to.
    #[serde(default)]
    pub dataset: Option<String>,
    /// The file status within the job.
    #[serde(default)]
    pub status: Option<String>,
    /// The size in bytes.
    #[serde(default)]
    pub fsize: Option<u64>,
    /// The checksum, such as `ad:0a1b2c3d`.
    #[serde(default)]
    pub checksum: Option<String>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A job description as `job/get_description` returns it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct JobDescription {
    /// The PanDA id.
    #[serde(rename = "PandaID")]
    pub panda_id: u64,
    /// The task the job belongs to.
    #[serde(rename = "jediTaskID", default)]
    pub task_id: Option<u64>,
    /// The job status.
    #[serde(rename = "jobStatus")]
    pub status: String,
    /// The attempt number of the job's inputs (1 for the first).
    #[serde(rename = "attemptNr", default)]
    pub attempt: Option<u32>,
    /// The payload's exit code.
    #[serde(rename = "transExitCode", default)]
    pub exit_code: Option<Value>,
    /// The pilot error code.
    #[serde(rename = "pilotErrorCode", default)]
    pub pilot_error_code: Option<i64>,
    /// The pilot's explanation of a failure.
    #[serde(rename = "pilotErrorDiag", default)]
    pub pilot_error_diag: Option<String>,
    /// The payload's explanation of a failure.
    #[serde(rename = "exeErrorDiag", default)]
    pub exe_error_diag: Option<String>,
    /// The data management explanation of a failure.
    #[serde(rename = "ddmErrorDiag", default)]
    pub ddm_error_diag: Option<String>,
    /// The server's explanation of a failure (kills among them).
    #[serde(rename = "taskBufferErrorDiag", default)]
    pub task_buffer_error_diag: Option<String>,
    /// When the job ended.
    #[serde(rename = "endTime", default)]
    pub end_time: Option<PandaTime>,
    /// The job's files.
    #[serde(rename = "Files", default)]
    pub files: Vec<JobFile>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl JobDescription {
    /// The first non-empty error explanation, for summaries of failed jobs.
    pub fn error(&self) -> Option<String> {
        [
            &self.pilot_error_diag,
            &self.exe_error_diag,
            &self.ddm_error_diag,
            &self.task_buffer_error_diag,
        ]
        .into_iter()
        .flatten()
        .find(|diag| !diag.is_empty() && diag.as_str() != "NULL")
        .cloned()
    }
}

/// The light status of one job.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct JobStatus {
    /// The job status, or `unknown` for jobs archived over an hour ago.
    pub status: Option<String>,
    /// The command waiting for the pilot, such as `tobekilled`.
    pub command: Option<String>,
}

impl PandaClient {
    /// The descriptions of `job_ids`, in order; `None` for ids the server does not know.
    pub async fn job_descriptions(
        &self,
        job_ids: &[u64],
    ) -> Result<Vec<Option<JobDescription>>, PandaError> {
        let call = "job/get_description";
        let mut descriptions = Vec::with_capacity(job_ids.len());
        for chunk in job_ids.chunks(DESCRIPTION_CHUNK) {
            let body = json!({ "job_ids": chunk });
            let envelope = self.post(call, &body, Idempotency::Idempotent).await?;
            let part: Vec<Option<JobDescription>> = envelope.into_data(call)?;
            if part.len() != chunk.len() {
                return Err(PandaError::Decode {
                    call,
                    message: format!("asked for {} jobs, got {}", chunk.len(), part.len()),
                });
            }
            descriptions.extend(part);
        }
        Ok(descriptions)
    }

    /// The light status of `job_ids`, in order.
    pub async fn job_statuses(&self, job_ids: &[u64]) -> Result<Vec<JobStatus>, PandaError> {
        let call = "job/get_status";
        let mut statuses = Vec::with_capacity(job_ids.len());
        for chunk in job_ids.chunks(STATUS_CHUNK) {
            let query: Vec<(&str, String)> =
                chunk.iter().map(|id| ("job_ids", id.to_string())).collect();
            let part: Vec<JobStatus> = self.get(call, &query).await?.into_data(call)?;
            statuses.extend(part);
        }
        Ok(statuses)
    }

    /// Kills jobs; one flag per job says whether the server accepted the kill.
    pub async fn kill_jobs(
        &self,
        job_ids: &[u64],
        code: Option<i64>,
    ) -> Result<Vec<bool>, PandaError> {
        let call = "job/kill";
        let mut body = json!({ "job_ids": job_ids });
        if let Some(code) = code {
            body["code"] = json!(code);
        }
        let accepted: Vec<Value> = self
            .post(call, &body, Idempotency::Idempotent)
            .await?
            .into_data(call)?;
        tracing::info!(jobs = job_ids.len(), "asked PanDA to kill jobs");
        Ok(accepted
            .iter()
            .map(|flag| flag.as_bool().unwrap_or(false))
            .collect())
    }
}
