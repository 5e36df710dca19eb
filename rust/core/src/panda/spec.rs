//! A typed BM@N task specification, the input of the task builder.

use serde::{Deserialize, Serialize};

/// What a BM@N processing task does, in the terms of the experiment rather than of JEDI.
///
/// [`super::render_task_parameters`] turns it into PanDA task parameters after
/// [`super::validate`] has checked it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// The task name, unique per user: resubmitting the same name finds the existing task.
    pub name: String,
    /// The virtual organisation, such as `bmn`.
    pub vo: String,
    /// The PanDA source label. Default `user`.
    #[serde(default = "defaults::source_label")]
    pub source_label: String,
    /// What the task does: `digi`, `reco`, `mcgen`, `simul`, ...
    pub processing_type: String,
    /// The JEDI task type. Default `anal`, the only type the server checks for duplicates.
    #[serde(default = "defaults::task_type")]
    pub task_type: String,
    /// The task priority. Default 1000, what the server forces without the production role.
    #[serde(default = "defaults::priority")]
    pub priority: i64,
    /// The program that runs each job.
    pub transformation: Transformation,
    /// The platform, such as `x86_64-el9-gcc13-opt`. Default `x86_64-el9`.
    #[serde(default = "defaults::architecture")]
    pub architecture: String,
    /// The input dataset `scope:name`; none for Monte Carlo generation.
    #[serde(default)]
    pub input_dataset: Option<String>,
    /// The dataset `scope:name` that receives the output files.
    pub output_dataset: String,
    /// The dataset `scope:name` that receives the log tarballs.
    pub log_dataset: String,
    /// The output file types, such as `digi.root`; `${OUTPUT0}` is the first one's file name.
    #[serde(default)]
    pub outputs: Vec<String>,
    /// The job command line with placeholders: `${IN}`, `${OUTPUT0}`, `${SN}`,
    /// `${RNDMSEED}`, `${MAXEVENTS}`, `${SKIPEVENTS}`, `${FIRSTEVENT}`, ...
    pub job_parameters: String,
    /// How the task is cut into jobs.
    #[serde(default)]
    pub split: Split,
    /// The site (PanDA queue) to run at; the broker chooses when unset.
    #[serde(default)]
    pub site: Option<String>,
    /// Cores per job. Default 1.
    #[serde(default = "defaults::cores")]
    pub cores: u32,
    /// Memory per job in MB.
    #[serde(default)]
    pub memory_mb: Option<u64>,
    /// Wall time per job in seconds.
    #[serde(default)]
    pub walltime_s: Option<u64>,
    /// Attempts per job before its input is given up. Default 3.
    #[serde(default = "defaults::max_attempts")]
    pub max_attempts: u32,
    /// The working group that owns the task.
    #[serde(default)]
    pub working_group: Option<String>,
    /// The campaign the task belongs to, such as `run8`.
    #[serde(default)]
    pub campaign: Option<String>,
}

/// The program a job runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Transformation {
    /// A script, by URL or path on the worker node.
    Script {
        /// The script, such as `https://.../digi.sh` or `/cvmfs/.../digi.sh`.
        path: String,
    },
    /// A program of a software release on CVMFS.
    Release {
        /// The release, such as `BmnRoot-24.12.0` (sent as `transHome` and `transUses`).
        release: String,
        /// The program within the release.
        path: String,
    },
    /// A program inside a container image.
    Container {
        /// The image, such as `docker://jinr/bmnroot:24.12`.
        image: String,
        /// The program within the image.
        path: String,
    },
}

/// How a task is cut into jobs; each field maps to one JEDI split rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Split {
    /// Input files per job (`nFilesPerJob`).
    #[serde(default)]
    pub files_per_job: Option<u32>,
    /// Input GB per job (`nGBPerJob`).
    #[serde(default)]
    pub gb_per_job: Option<u32>,
    /// Events per job (`nEventsPerJob`); the Monte Carlo job size.
    #[serde(default)]
    pub events_per_job: Option<u64>,
    /// Events in each input file, when the catalogue does not know (`nEventsPerInputFile`).
    #[serde(default)]
    pub events_per_input_file: Option<u64>,
    /// The most input files a job may take (`nMaxFilesPerJob`).
    #[serde(default)]
    pub max_files_per_job: Option<u32>,
    /// The events to generate or process in all (`nEvents`).
    #[serde(default)]
    pub total_events: Option<u64>,
    /// The input files to use at most (`nFiles`).
    #[serde(default)]
    pub total_files: Option<u32>,
}

mod defaults {
    pub fn source_label() -> String {
        "user".into()
    }
    pub fn task_type() -> String {
        "anal".into()
    }
    pub fn priority() -> i64 {
        1000
    }
    pub fn architecture() -> String {
        "x86_64-el9".into()
    }
    pub fn cores() -> u32 {
        1
    }
    pub fn max_attempts() -> u32 {
        3
    }
}
