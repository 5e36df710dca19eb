//! Waiting for a task to reach a final state, polling less often as the wait grows.

use std::time::Duration;

use super::client::PandaClient;
use super::task::is_final_task_status;
use super::PandaError;

/// How a wait polls.
#[derive(Debug, Clone, PartialEq)]
pub struct PollConfig {
    /// The first interval. Default 5 s.
    pub initial: Duration,
    /// The longest interval. Default 60 s.
    pub max: Duration,
    /// How much each interval grows while the status does not change. Default 1.5.
    pub growth: f64,
}

impl Default for PollConfig {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(5),
            max: Duration::from_secs(60),
            growth: 1.5,
        }
    }
}

impl PandaClient {
    /// Polls the task's status until it is final and returns that status.
    ///
    /// The interval grows while the status stays the same and falls back to the initial one
    /// when it changes, since a change often announces the next.
    pub async fn wait_for_task(
        &self,
        task_id: u64,
        poll: &PollConfig,
    ) -> Result<String, PandaError> {
        let mut interval = poll.initial;
        let mut last = String::new();
        loop {
            let status = self.task_status(task_id).await?;
            if is_final_task_status(&status) {
                tracing::info!(task_id, status = %status, "PanDA task reached a final state");
                return Ok(status);
            }
            if status != last {
                tracing::info!(task_id, status = %status, "PanDA task status");
                interval = poll.initial;
                last = status;
            } else {
                interval = interval.mul_f64(poll.growth).min(poll.max);
            }
            tokio::time::sleep(interval).await;
        }
    }
}
