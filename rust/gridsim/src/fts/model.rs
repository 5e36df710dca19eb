//! FTS jobs and their file rows, kept compact: 100k files and 10k jobs must fit in a few
//! hundred megabytes. Strings are boxed slices, metadata stays serialised JSON text, and the
//! rarely read job parameters sit behind one box.

use std::sync::Arc;

use uuid::Uuid;

/// The state of an FTS job, as the real service names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Staging,
    Submitted,
    Active,
    Finished,
    FinishedDirty,
    Failed,
    Canceled,
}

impl JobState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staging => "STAGING",
            Self::Submitted => "SUBMITTED",
            Self::Active => "ACTIVE",
            Self::Finished => "FINISHED",
            Self::FinishedDirty => "FINISHEDDIRTY",
            Self::Failed => "FAILED",
            Self::Canceled => "CANCELED",
        }
    }

    /// Whether the job is over (FTS's `JobTerminalStates`).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Finished | Self::FinishedDirty | Self::Failed | Self::Canceled
        )
    }
}

/// The state of one file row (one source-destination pair) of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    Staging,
    Submitted,
    Active,
    Finished,
    Failed,
    Canceled,
    /// An alternative source or a later hop that has not been tried (yet).
    NotUsed,
}

impl FileState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staging => "STAGING",
            Self::Submitted => "SUBMITTED",
            Self::Active => "ACTIVE",
            Self::Finished => "FINISHED",
            Self::Failed => "FAILED",
            Self::Canceled => "CANCELED",
            Self::NotUsed => "NOT_USED",
        }
    }

    /// FTS's `FileActiveStates`: queued or running. `NOT_USED` is neither active nor terminal.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Staging | Self::Submitted | Self::Active)
    }

    /// Whether the row is over.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Finished | Self::Failed | Self::Canceled)
    }
}

/// The kind of job, FTS's one-letter `job_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobType {
    /// Regular: independent files.
    Regular,
    /// Multihop: the files are hops, run in order.
    Multihop,
    /// Session reuse: regular, run by one process in the real service.
    Reuse,
    /// Multiple replicas: one file, alternative sources tried in turn.
    MultipleReplicas,
}

impl JobType {
    /// The wire letter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Regular => "N",
            Self::Multihop => "H",
            Self::Reuse => "Y",
            Self::MultipleReplicas => "R",
        }
    }
}

/// Which checksums a job compares (`verify_checksum`), FTS's one-letter `checksum_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumCheck {
    /// Compare nothing.
    None,
    /// The user's checksum with the source's.
    Source,
    /// The user's checksum with the destination's.
    Target,
    /// Source with destination, and the user's checksum with both.
    Both,
}

impl ChecksumCheck {
    /// The wire letter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "n",
            Self::Source => "s",
            Self::Target => "t",
            Self::Both => "b",
        }
    }
}

/// One FTS job; fields not documented here are FTS's `t_job` columns of the same name.
#[derive(Debug)]
pub struct Job {
    pub id: Uuid,
    pub state: JobState,
    pub job_type: JobType,
    /// 1 (lowest) to 5.
    pub priority: u8,
    /// Unix seconds.
    pub submit_time: i64,
    /// Unix seconds, once terminal.
    pub finished: Option<i64>,
    pub reason: Option<Box<str>>,
    pub cancel_job: bool,
    pub params: Box<JobParams>,
    pub files: Vec<FileRow>,
}

/// The parameters of a job that are stored and reported but rarely read; undocumented fields
/// are FTS's `t_job` columns of the same name.
#[derive(Debug)]
pub struct JobParams {
    pub user_dn: Arc<str>,
    pub vo: Arc<str>,
    pub cred_id: Arc<str>,
    pub source_se: Option<Box<str>>,
    pub dest_se: Option<Box<str>>,
    pub verify: ChecksumCheck,
    /// `Y` overwrite, `R` only on retries, `M`/`D`/`Q` hop and disk variants.
    pub overwrite_flag: Option<char>,
    /// Retries allowed per file after its first attempt.
    pub retry: u32,
    /// Seconds between attempts.
    pub retry_delay: u32,
    pub bring_online: i64,
    pub copy_pin_lifetime: i64,
    pub archive_timeout: i64,
    /// Unix seconds after which queued files are not started any more.
    pub expires: Option<i64>,
    pub dst_file_report: bool,
    pub source_spacetoken: Option<Box<str>>,
    pub destination_spacetoken: Option<Box<str>>,
    pub internal_job_params: Option<Box<str>>,
    /// Serialised JSON object.
    pub job_metadata: Box<str>,
}

/// One source-destination pair of a job; undocumented fields are FTS's `t_file` columns of the
/// same name.
#[derive(Debug)]
pub struct FileRow {
    pub file_id: u64,
    /// Which file of the job this row copies; alternative sources share it.
    pub file_index: u32,
    pub state: FileState,
    pub source_surl: Box<str>,
    pub dest_surl: Box<str>,
    /// The size the user announced.
    pub user_filesize: u64,
    /// The size transferred, once known.
    pub filesize: Option<u64>,
    /// `ALG[:value]`; `ADLER32` when the user gave none, as in FTS.
    pub checksum: Box<str>,
    pub file_metadata: Option<Box<str>>,
    pub staging_metadata: Option<Box<str>>,
    pub archive_metadata: Option<Box<str>>,
    pub activity: Box<str>,
    pub selection_strategy: Box<str>,
    pub scitag: Option<u32>,
    pub reason: Option<Box<str>>,
    pub start_time: Option<i64>,
    pub finish_time: Option<i64>,
    pub staging_start: Option<i64>,
    pub staging_finished: Option<i64>,
    /// Seconds the copy took.
    pub tx_duration: f32,
    /// MB/s.
    pub throughput: f32,
    /// Attempts made so far (FTS's `retry` column counts the retries).
    pub attempts: u16,
    /// Whether the last failure may succeed on a retry.
    pub recoverable: bool,
}

impl Job {
    /// Whether the job is in a terminal state.
    pub fn is_terminal(&self) -> bool {
        self.state.is_terminal()
    }

    /// The state the job's files add up to, when none of them is queued or running any more;
    /// `None` while some are.
    ///
    /// A file (a `file_index`) succeeded when one of its rows finished. All succeeded is
    /// FINISHED, none FAILED (CANCELED when the user canceled them all), some FINISHEDDIRTY.
    /// A multihop job needs every hop.
    pub fn settled_state(&self) -> Option<JobState> {
        if self.files.iter().any(|f| f.state.is_active()) {
            return None;
        }
        let mut indices: Vec<(u32, bool, bool)> = Vec::new();
        for file in &self.files {
            let finished = file.state == FileState::Finished;
            let canceled = file.state == FileState::Canceled;
            match indices.iter_mut().find(|(i, _, _)| *i == file.file_index) {
                Some(entry) => {
                    entry.1 |= finished;
                    entry.2 |= canceled;
                }
                None => indices.push((file.file_index, finished, canceled)),
            }
        }
        let succeeded = indices.iter().filter(|(_, ok, _)| *ok).count();
        let canceled = indices.iter().filter(|(_, ok, c)| !*ok && *c).count();
        Some(if succeeded == indices.len() {
            JobState::Finished
        } else if self.job_type == JobType::Multihop || succeeded == 0 {
            if canceled == indices.len() {
                JobState::Canceled
            } else {
                JobState::Failed
            }
        } else {
            JobState::FinishedDirty
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn row(file_index: u32, state: FileState) -> FileRow {
        FileRow {
            file_id: u64::from(file_index),
            file_index,
            state,
            source_surl: "http://h/s/a/f".into(),
            dest_surl: "http://h/s/b/f".into(),
            user_filesize: 0,
            filesize: None,
            checksum: "ADLER32".into(),
            file_metadata: None,
            staging_metadata: None,
            archive_metadata: None,
            activity: "default".into(),
            selection_strategy: "auto".into(),
            scitag: None,
            reason: None,
            start_time: None,
            finish_time: None,
            staging_start: None,
            staging_finished: None,
            tx_duration: 0.0,
            throughput: 0.0,
            attempts: 0,
            recoverable: false,
        }
    }

    pub(crate) fn job(job_type: JobType, files: Vec<FileRow>) -> Job {
        Job {
            id: Uuid::nil(),
            state: JobState::Submitted,
            job_type,
            priority: 3,
            submit_time: 0,
            finished: None,
            reason: None,
            cancel_job: false,
            params: Box::new(JobParams {
                user_dn: "dn".into(),
                vo: "bmn".into(),
                cred_id: "c".into(),
                source_se: None,
                dest_se: None,
                verify: ChecksumCheck::None,
                overwrite_flag: None,
                retry: 0,
                retry_delay: 0,
                bring_online: -1,
                copy_pin_lifetime: -1,
                archive_timeout: -1,
                expires: None,
                dst_file_report: false,
                source_spacetoken: None,
                destination_spacetoken: None,
                internal_job_params: None,
                job_metadata: "{}".into(),
            }),
            files,
        }
    }

    use FileState::*;

    #[test]
    fn settled_state_follows_fts() {
        let settled = |t, rows: Vec<FileRow>| job(t, rows).settled_state();
        assert_eq!(
            settled(JobType::Regular, vec![row(0, Finished), row(1, Active)]),
            None
        );
        assert_eq!(
            settled(JobType::Regular, vec![row(0, Finished), row(1, Finished)]),
            Some(JobState::Finished)
        );
        assert_eq!(
            settled(JobType::Regular, vec![row(0, Finished), row(1, Failed)]),
            Some(JobState::FinishedDirty)
        );
        assert_eq!(
            settled(JobType::Regular, vec![row(0, Failed), row(1, Failed)]),
            Some(JobState::Failed)
        );
        assert_eq!(
            settled(JobType::Regular, vec![row(0, Canceled), row(1, Canceled)]),
            Some(JobState::Canceled)
        );
        let replicas = vec![row(0, Failed), row(0, Finished), row(0, NotUsed)];
        assert_eq!(
            settled(JobType::MultipleReplicas, replicas),
            Some(JobState::Finished)
        );
        let replicas = vec![row(0, Failed), row(0, Failed)];
        assert_eq!(
            settled(JobType::MultipleReplicas, replicas),
            Some(JobState::Failed)
        );
        let hops = vec![row(0, Finished), row(1, Failed)];
        assert_eq!(settled(JobType::Multihop, hops), Some(JobState::Failed));
    }
}
