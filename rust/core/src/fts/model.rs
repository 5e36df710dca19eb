//! The FTS3 wire types: what a submission carries, and the job and file rows the server sends
//! back, with the job and file states of FTS.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One file of an FTS job submission (an element of `files` in `POST /jobs`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// Source URLs; more than one makes a multi-source transfer.
    pub sources: Vec<String>,
    /// Destination URLs; bmnflow always sends exactly one.
    pub destinations: Vec<String>,
    /// Size in bytes, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesize: Option<u64>,
    /// `ALG:hex` (`ADLER32:0cc737eb`), or `ALG` alone to compute and compare.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// Free JSON kept with the file; at most 1024 bytes once serialised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// The activity share the transfer counts against. FTS default `default`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
    /// How a source is picked among several: `auto` or `orderly`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection_strategy: Option<String>,
    /// Metadata passed to the tape system on staging; at most 1024 bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staging_metadata: Option<Value>,
    /// Metadata passed to the tape system on archiving; at most 1024 bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive_metadata: Option<Value>,
    /// Storage tokens for reading each source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_tokens: Option<Vec<String>>,
    /// Storage tokens for writing each destination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_tokens: Option<Vec<String>>,
    /// The SciTag (experiment and activity marker for network monitoring).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scitag: Option<u32>,
}

/// When checksums are compared: `verify_checksum` of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ChecksumCheck {
    /// `true` compares source and destination, `false` none.
    Flag(bool),
    /// `source`, `target`, `both` or `none`.
    Mode(ChecksumMode),
}

/// The named modes of [`ChecksumCheck`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChecksumMode {
    Source,
    Target,
    Both,
    None,
}

/// A duration FTS accepts either as a number of hours or as `"<n>s|m|h|d"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum QueueTime {
    Hours(u64),
    Text(String),
}

/// The parameters of one FTS job (`params` in `POST /jobs`); unset fields take FTS defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobParams {
    /// Checksum comparison. FTS default false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_checksum: Option<ChecksumCheck>,
    /// Replace an existing destination. FTS default false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overwrite: Option<bool>,
    /// Replace the destination only when retrying.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overwrite_on_retry: Option<bool>,
    /// Replace a destination that is on disk only (not yet on tape).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overwrite_when_only_on_disk: Option<bool>,
    /// Replace the destinations of intermediate hops of a multihop job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overwrite_hop: Option<bool>,
    /// Run the files of the job in one session (session reuse).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reuse: Option<bool>,
    /// The files form one chain of hops. FTS default false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multihop: Option<bool>,
    /// Seconds allowed to stage from tape; -1 (FTS default) means no staging.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bring_online: Option<i64>,
    /// Seconds a staged file stays pinned; -1 (FTS default) means none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy_pin_lifetime: Option<i64>,
    /// Seconds allowed for archiving to tape; -1 (FTS default) means no wait.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive_timeout: Option<i64>,
    /// Report an existing destination file instead of failing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_file_report: Option<bool>,
    /// Space token at the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_spacetoken: Option<String>,
    /// Space token at the destination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_spacetoken: Option<String>,
    /// Free JSON kept with the job; at most 1024 bytes once serialised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_metadata: Option<Value>,
    /// Retries FTS itself makes per file. FTS default 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<i64>,
    /// Seconds between the retries FTS makes. FTS default 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_delay: Option<i64>,
    /// 1 (lowest) to 5 (highest). FTS default 3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    /// How long the job may wait in the queue before FTS cancels it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_time_in_queue: Option<QueueTime>,
    /// Copy exactly, without checking or creating parent folders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict_copy: Option<bool>,
    /// Use the alternate S3 URL style.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3alternate: Option<bool>,
    /// Seconds allowed for one file transfer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    /// Parallel TCP streams per transfer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nostreams: Option<i64>,
    /// TCP buffer size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffer_size: Option<i64>,
    /// Force IPv4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<bool>,
    /// Force IPv6.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<bool>,
    /// `standard` (random job id) or `deterministic` (job id derived from `sid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_generator: Option<String>,
    /// The seed of a deterministic job id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// The body of `POST /jobs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSubmission {
    pub files: Vec<FileSpec>,
    pub params: JobParams,
}

/// A submission whose files borrow from the caller's transfer list, so that large lists are
/// sent without copying them first; it serialises exactly as a [`JobSubmission`].
#[derive(Debug, Clone, Serialize)]
pub struct JobSubmissionRef<'a> {
    pub files: Vec<FileSpecRef<'a>>,
    pub params: JobParams,
}

/// One file of a [`JobSubmissionRef`]: the fields bmnflow's planner sends.
#[derive(Debug, Clone, Serialize)]
pub struct FileSpecRef<'a> {
    pub sources: &'a [String],
    pub destinations: [&'a str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesize: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<&'a Value>,
    pub activity: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection_strategy: Option<&'a str>,
}

/// The state of an FTS job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobState {
    Staging,
    Submitted,
    Ready,
    Active,
    Delete,
    Archiving,
    QosTransition,
    QosRequestSubmitted,
    Finished,
    #[serde(rename = "FINISHEDDIRTY")]
    FinishedDirty,
    Failed,
    Canceled,
    /// A state this client does not know; treated as still active.
    #[serde(other)]
    Unknown,
}

impl JobState {
    /// Whether the job will not change any more.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Finished | Self::FinishedDirty | Self::Failed | Self::Canceled
        )
    }
}

/// The state of one file row of an FTS job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FileState {
    Staging,
    Started,
    Submitted,
    Ready,
    Active,
    Archiving,
    QosTransition,
    QosRequestSubmitted,
    ForceStart,
    Finished,
    Failed,
    Canceled,
    /// An alternative source of a multi-source transfer that was not needed.
    NotUsed,
    OnHold,
    OnHoldStaging,
    TokenPrep,
    /// A state this client does not know.
    #[serde(other)]
    Unknown,
}

impl FileState {
    /// Whether the file row will not change any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Finished | Self::Failed | Self::Canceled)
    }

    /// The name FTS uses for the state.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staging => "STAGING",
            Self::Started => "STARTED",
            Self::Submitted => "SUBMITTED",
            Self::Ready => "READY",
            Self::Active => "ACTIVE",
            Self::Archiving => "ARCHIVING",
            Self::QosTransition => "QOS_TRANSITION",
            Self::QosRequestSubmitted => "QOS_REQUEST_SUBMITTED",
            Self::ForceStart => "FORCE_START",
            Self::Finished => "FINISHED",
            Self::Failed => "FAILED",
            Self::Canceled => "CANCELED",
            Self::NotUsed => "NOT_USED",
            Self::OnHold => "ON_HOLD",
            Self::OnHoldStaging => "ON_HOLD_STAGING",
            Self::TokenPrep => "TOKEN_PREP",
            Self::Unknown => "UNKNOWN",
        }
    }
}

/// The file fields asked for in bulk status queries; every one is present (maybe null).
pub const STATUS_FILE_FIELDS: &str =
    "file_id,file_state,source_surl,dest_surl,reason,filesize,start_time,finish_time";

/// One file row as FTS reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileStatus {
    #[serde(default)]
    pub file_id: Option<u64>,
    pub file_state: FileState,
    #[serde(default)]
    pub source_surl: Option<String>,
    #[serde(default)]
    pub dest_surl: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub filesize: Option<u64>,
    /// `%Y-%m-%dT%H:%M:%S`, UTC.
    #[serde(default)]
    pub start_time: Option<String>,
    /// `%Y-%m-%dT%H:%M:%S`, UTC.
    #[serde(default)]
    pub finish_time: Option<String>,
}

/// One job as FTS reports it; an element of a bulk query may instead say it was not found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStatus {
    pub job_id: String,
    /// `"200 Ok"` or `"404 Not Found"` in bulk answers; absent for single-job answers.
    #[serde(default)]
    pub http_status: Option<String>,
    #[serde(default)]
    pub http_message: Option<String>,
    #[serde(default)]
    pub job_state: Option<JobState>,
    #[serde(default)]
    pub job_type: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub priority: Option<u8>,
    #[serde(default)]
    pub files: Vec<FileStatus>,
}

impl JobStatus {
    /// Whether this element of a bulk answer reports a job the server does not know.
    pub fn is_missing(&self) -> bool {
        self.http_status
            .as_deref()
            .is_some_and(|status| status.starts_with("404"))
            || self.job_state.is_none()
    }
}

/// What `GET /whoami` says about the caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Whoami {
    #[serde(default)]
    pub user_dn: Option<String>,
    #[serde(default)]
    pub dn: Vec<String>,
    #[serde(default)]
    pub vos: Vec<String>,
    /// One namespace UUID per VO: the parent of deterministic job ids.
    #[serde(default)]
    pub vos_id: Vec<String>,
    #[serde(default)]
    pub delegation_id: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
    /// The server's root namespace UUID.
    #[serde(default)]
    pub base_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_fields_are_left_out_of_submissions() {
        let submission = JobSubmission {
            files: vec![FileSpec {
                sources: vec!["https://a.example/f".into()],
                destinations: vec!["https://b.example/f".into()],
                checksum: Some("ADLER32:0cc737eb".into()),
                ..FileSpec::default()
            }],
            params: JobParams {
                verify_checksum: Some(ChecksumCheck::Mode(ChecksumMode::Both)),
                max_time_in_queue: Some(QueueTime::Hours(168)),
                ..JobParams::default()
            },
        };
        let json = serde_json::to_value(&submission).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "files": [{"sources": ["https://a.example/f"],
                           "destinations": ["https://b.example/f"],
                           "checksum": "ADLER32:0cc737eb"}],
                "params": {"verify_checksum": "both", "max_time_in_queue": 168}
            })
        );
    }

    #[test]
    fn unknown_parameters_are_refused() {
        let error =
            serde_json::from_str::<JobParams>(r#"{"overwrite": true, "priorty": 4}"#).unwrap_err();
        assert!(error.to_string().contains("priorty"), "{error}");
    }

    #[test]
    fn bulk_elements_parse_found_and_missing_jobs() {
        let answer = r#"[
            {"job_id": "a", "http_status": "200 Ok", "job_state": "FINISHEDDIRTY",
             "job_type": "N", "files": [{"file_id": 1, "file_state": "FAILED",
             "source_surl": "s", "dest_surl": "d", "reason": "x", "filesize": 3,
             "start_time": null, "finish_time": null}]},
            {"job_id": "b", "http_status": "404 Not Found", "http_message": "No job"}
        ]"#;
        let jobs: Vec<JobStatus> = serde_json::from_str(answer).unwrap();
        assert_eq!(jobs[0].job_state, Some(JobState::FinishedDirty));
        assert!(jobs[0].job_state.unwrap().is_terminal());
        assert_eq!(jobs[0].files[0].file_state, FileState::Failed);
        assert!(!jobs[0].is_missing());
        assert!(jobs[1].is_missing());
    }

    #[test]
    fn unknown_states_are_not_terminal() {
        let state: JobState = serde_json::from_str(r#""SOMETHING_NEW""#).unwrap();
        assert_eq!(state, JobState::Unknown);
        assert!(!state.is_terminal());
        let file: FileState = serde_json::from_str(r#""ON_HOLD_STAGING""#).unwrap();
        assert_eq!(file, FileState::OnHoldStaging);
    }
}
