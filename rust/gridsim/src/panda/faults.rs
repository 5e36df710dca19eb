//! Injected job failures, reproducible from the seed: by rate, or by a pattern on the job's
//! command line, for the first attempts only when asked.

use regex::Regex;
use serde::Deserialize;

use crate::faults::{mix, unit};

/// The error a job failed by rate reports, like a payload that crashed.
pub const DEFAULT_JOB_ERROR: &str = "gridsim injected failure: payload exited with code 65";

/// The `[faults.jobs]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobFaultsConfig {
    /// Share of job attempts that fail, in 0..=1. Default 0.
    #[serde(default)]
    pub failure_rate: f64,
    /// The error of failures by rate. Default [`DEFAULT_JOB_ERROR`].
    #[serde(default)]
    pub error: Option<String>,
    /// Jobs whose command line matches a rule fail (`[[faults.jobs.rules]]`).
    #[serde(default)]
    pub rules: Vec<JobRuleConfig>,
}

/// One pattern rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobRuleConfig {
    /// A regular expression searched in the expanded job parameters.
    pub pattern: String,
    /// Only attempts up to this number fail (1: the first fails, the retry succeeds).
    /// Default: every attempt fails.
    #[serde(default)]
    pub attempts: Option<u32>,
    /// The error reported. Default [`DEFAULT_JOB_ERROR`].
    #[serde(default)]
    pub error: Option<String>,
}

/// Decides which job attempts fail.
#[derive(Debug)]
pub struct JobFaults {
    seed: u64,
    rate: f64,
    error: String,
    rules: Vec<(Regex, Option<u32>, String)>,
}

impl JobFaults {
    /// Compiles the section; a bad rate or pattern is refused.
    pub fn new(seed: u64, config: &JobFaultsConfig) -> Result<Self, String> {
        if !(0.0..=1.0).contains(&config.failure_rate) {
            return Err("faults.jobs.failure_rate must be between 0 and 1".into());
        }
        let error = config
            .error
            .clone()
            .unwrap_or_else(|| DEFAULT_JOB_ERROR.to_owned());
        let rules = config
            .rules
            .iter()
            .map(|rule| {
                let pattern =
                    Regex::new(&rule.pattern).map_err(|e| format!("faults.jobs.rules: {e}"))?;
                Ok((
                    pattern,
                    rule.attempts,
                    rule.error.clone().unwrap_or_else(|| error.clone()),
                ))
            })
            .collect::<Result<_, String>>()?;
        Ok(Self {
            seed,
            rate: config.failure_rate,
            error,
            rules,
        })
    }

    /// The error attempt `attempt` (1 first) of the job of task `task_id`, serial `serial`,
    /// with command line `parameters` fails with; `None` lets it run.
    pub fn failure(
        &self,
        task_id: u64,
        serial: u64,
        attempt: u32,
        parameters: &str,
    ) -> Option<String> {
        for (pattern, attempts, error) in &self.rules {
            if attempts.is_none_or(|limit| attempt <= limit) && pattern.is_match(parameters) {
                return Some(error.clone());
            }
        }
        let key = task_id.rotate_left(40) ^ serial.rotate_left(8) ^ u64::from(attempt);
        (unit(mix(self.seed, key)) < self.rate).then(|| self.error.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_fail_only_the_attempts_asked_for() {
        let config = JobFaultsConfig {
            rules: vec![JobRuleConfig {
                pattern: "evgen\\.000002".into(),
                attempts: Some(1),
                error: None,
            }],
            ..JobFaultsConfig::default()
        };
        let faults = JobFaults::new(0, &config).unwrap();
        assert!(faults.failure(1, 2, 1, "--out evgen.000002.root").is_some());
        assert!(faults.failure(1, 2, 2, "--out evgen.000002.root").is_none());
        assert!(faults.failure(1, 1, 1, "--out evgen.000001.root").is_none());
    }

    #[test]
    fn rates_are_reproducible_and_roughly_right() {
        let config = JobFaultsConfig {
            failure_rate: 0.3,
            ..JobFaultsConfig::default()
        };
        let faults = JobFaults::new(42, &config).unwrap();
        let failed = (0..1000)
            .filter(|n| faults.failure(7, *n, 1, "").is_some())
            .count();
        assert!((200..400).contains(&failed), "{failed}");
        let again = JobFaults::new(42, &config).unwrap();
        assert!((0..1000).all(|n| faults.failure(7, n, 1, "") == again.failure(7, n, 1, "")));
    }
}
