//! When a failed request is tried again.

use std::time::Duration;

use super::BackoffConfig;

/// The retry policy of an endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryConfig {
    /// Retries after the first attempt; 0 turns retries off. Default 5.
    pub max_retries: u32,
    /// Total time after which no further retry starts. Default 3 minutes.
    pub retry_timeout: Duration,
    /// The delays between attempts.
    pub backoff: BackoffConfig,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 5,
            retry_timeout: Duration::from_secs(180),
            backoff: BackoffConfig::default(),
        }
    }
}

/// Whether an answer with this status is worth trying again: the server was overloaded or a
/// proxy in front of it could not reach it.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}
