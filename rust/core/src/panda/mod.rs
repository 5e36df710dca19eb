//! The PanDA workload manager: the `/api/v1` client and the BM@N task builder.
//!
//! A task is submitted with its task parameters, JEDI splits it into jobs, and the task ends
//! done, finished (partly) or failed. Track tasks, not jobs: a retry makes new PanDA ids.

mod auth;
mod client;
mod datetime;
mod envelope;
mod error;
mod job;
mod poll;
mod render;
mod spec;
mod summary;
mod task;
mod validate;

pub use auth::{PandaAuth, TokenSource};
pub use client::{PandaClient, PandaConfig};
pub use datetime::PandaTime;
pub use envelope::Envelope;
pub use error::PandaError;
pub use job::{JobDescription, JobFile, JobStatus, DESCRIPTION_CHUNK};
pub use poll::PollConfig;
pub use render::render_task_parameters;
pub use spec::{Split, TaskSpec, Transformation};
pub use summary::{FailedJob, TaskOutcome};
pub use task::{
    is_final_task_status, task_id_in, RetryOptions, Submission, TaskDetails, TaskSummary,
    TERMINAL_TASK_STATES,
};
pub use validate::{validate, KNOWN_PLACEHOLDERS};
