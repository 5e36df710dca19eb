//! FTS3: bulk file transfers, from a list of files to well-formed FTS jobs and back to an
//! exact per-file outcome.
//!
//! [`planner`] validates and cuts transfers into jobs with deterministic ids, [`run`] submits
//! them within per-link limits and resubmits recoverable failures ([`classify`]), [`client`]
//! speaks the REST API, [`table`] reads and writes the Arrow tables at both ends.

pub mod auth;
pub mod bulk;
pub mod classify;
pub mod client;
pub mod error;
pub mod model;
pub mod outcome;
pub mod planner;
pub mod run;
pub mod table;
pub mod validate;
pub mod wait;

pub use auth::Credentials;
pub use bulk::{plan_batches, run_to_end, step, BulkReport};
pub use classify::{classify, Failure};
pub use client::{FtsClient, Submitted};
pub use error::{FtsError, InputProblem};
pub use model::{FileState, JobParams, JobState, JobStatus, JobSubmission, Whoami};
pub use outcome::{FileOutcome, Summary};
pub use planner::{Plan, PlanConfig, PlannedJob, Transfer};
pub use run::{PollConfig, Progress, TransferRun};
pub use wait::{wait_for_jobs, WaitFor, WaitOutcome};
