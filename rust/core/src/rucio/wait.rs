//! Waiting for a rule to reach OK by polling it, more slowly the longer it takes.

use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use super::{RucioClient, RucioError, Rule};

/// How a wait for a rule polls and when it gives up.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitOptions {
    /// The first interval between polls. Default 2 s.
    pub poll_min: Duration,
    /// The longest interval; each poll waits 1.5 times longer, up to this. Default 60 s.
    pub poll_max: Duration,
    /// How long a rule may stay STUCK (the judge may still repair it) before the wait fails.
    /// Default 10 minutes.
    pub stuck_grace: Duration,
    /// The whole wait's limit; none when unset.
    pub timeout: Option<Duration>,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            poll_min: Duration::from_secs(2),
            poll_max: Duration::from_secs(60),
            stuck_grace: Duration::from_secs(600),
            timeout: None,
        }
    }
}

impl RucioClient {
    /// Polls a rule until it is OK and returns it; fails when it is SUSPENDED, STUCK for
    /// longer than the grace, or the timeout passes.
    pub async fn wait_rule(
        &self,
        rule_id: &str,
        options: &WaitOptions,
    ) -> Result<Rule, RucioError> {
        let started = Instant::now();
        let mut interval = options.poll_min;
        let mut stuck_since: Option<Instant> = None;
        let mut last_state = String::new();

        loop {
            let rule = self.get_rule(rule_id).await?;
            if rule.state != last_state {
                tracing::info!(rule_id, state = %rule.state, locks_ok = rule.locks_ok_cnt,
                    locks_replicating = rule.locks_replicating_cnt,
                    locks_stuck = rule.locks_stuck_cnt, "rule state");
                last_state.clone_from(&rule.state);
            }
            match rule.state.as_str() {
                "OK" => return Ok(rule),
                "SUSPENDED" => return Err(failed(rule)),
                "STUCK" => {
                    let since = *stuck_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= options.stuck_grace {
                        return Err(failed(rule));
                    }
                }
                _ => stuck_since = None,
            }

            if let Some(timeout) = options.timeout {
                if started.elapsed() >= timeout {
                    return Err(RucioError::WaitTimeout {
                        rule_id: rule_id.to_owned(),
                        state: rule.state,
                        waited_s: started.elapsed().as_secs(),
                    });
                }
            }
            tokio::time::sleep(interval).await;
            interval = interval.mul_f64(1.5).min(options.poll_max);
        }
    }
}

fn failed(rule: Rule) -> RucioError {
    let details = json!({
        "rule_id": rule.id,
        "state": rule.state,
        "error": rule.error,
        "locks_ok_cnt": rule.locks_ok_cnt,
        "locks_replicating_cnt": rule.locks_replicating_cnt,
        "locks_stuck_cnt": rule.locks_stuck_cnt,
    });
    RucioError::RuleFailed {
        message: format!(
            "{} (locks: {} ok, {} replicating, {} stuck)",
            rule.error.as_deref().unwrap_or("no error given"),
            rule.locks_ok_cnt,
            rule.locks_replicating_cnt,
            rule.locks_stuck_cnt
        ),
        rule_id: rule.id,
        state: rule.state,
        details,
    }
}
