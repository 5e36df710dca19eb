//! The outcome of each file of a bulk transfer, read from the file rows of terminal FTS jobs,
//! and the counts over them.

use std::collections::HashMap;

use serde::Serialize;

use super::classify::{classify, Failure};
use super::model::{FileState, FileStatus, JobStatus};
use super::planner::{Plan, PlannedJob};

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
pub(crate) fn recoverable_rows(plan: &Plan, job: &PlannedJob, status: &JobStatus) -> Vec<usize> {
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
pub(crate) fn file_results(plan: &Plan, job: &PlannedJob, status: &JobStatus) -> Vec<FileResult> {
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
