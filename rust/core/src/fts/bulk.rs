//! The entry points of a bulk transfer from an Arrow table: one step of it (for a deferrable
//! task that comes back between steps), or the whole of it.

use arrow_array::RecordBatch;

use super::client::FtsClient;
use super::error::FtsError;
use super::outcome::{summarize, Summary};
use super::planner::{Plan, PlanConfig};
use super::run::{PollConfig, Progress, TransferRun};
use super::table::{outcomes_to_batch, transfers_from_batches};

/// Where a bulk transfer stands after a step or a run.
#[derive(Debug, Clone)]
pub struct BulkReport {
    /// What the last step did; `None` after a whole run.
    pub progress: Option<Progress>,
    /// Counts over every file.
    pub summary: Summary,
    /// One row per file (see [`super::table::outcome_schema`]).
    pub table: RecordBatch,
    /// Every FTS job submitted so far, for cancellation and links.
    pub job_ids: Vec<String>,
}

/// Validates and plans the transfers of `batches`; nothing is sent.
pub fn plan_batches(
    batches: &[RecordBatch],
    config: PlanConfig,
    request_key: &str,
) -> Result<Plan, FtsError> {
    Plan::new(transfers_from_batches(batches)?, config, request_key)
}

/// One step: finds what earlier steps (or crashed runs) submitted, resubmits recoverable
/// failures, submits what the per-link limits allow, and reports.
pub async fn step(client: &FtsClient, plan: Plan) -> Result<BulkReport, FtsError> {
    let mut run = TransferRun::new(plan, client).await?;
    let progress = run.advance(client).await?;
    report(&run, Some(progress))
}

/// Runs the transfers to their end, polling as `poll` says.
pub async fn run_to_end(
    client: &FtsClient,
    plan: Plan,
    poll: &PollConfig,
) -> Result<BulkReport, FtsError> {
    let mut run = TransferRun::new(plan, client).await?;
    run.run(client, poll).await?;
    report(&run, None)
}

fn report(run: &TransferRun, progress: Option<Progress>) -> Result<BulkReport, FtsError> {
    let outcomes = run.outcomes();
    let job_ids = run.submitted_job_ids();
    Ok(BulkReport {
        progress,
        summary: summarize(&outcomes, job_ids.len()),
        table: outcomes_to_batch(&outcomes, &run.plan().transfers)?,
        job_ids,
    })
}
