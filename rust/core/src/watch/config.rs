//! How the watcher polls: intervals, request budget, change listings, error backoff.

use std::time::Duration;

use crate::http::BackoffConfig;

/// The settings shared by every poll loop of a watcher.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchConfig {
    /// The interval after something changed, and the first one. Default 5 s.
    pub min_interval: Duration,
    /// The longest interval, reached while nothing changes. Default 60 s.
    pub max_interval: Duration,
    /// How much the interval grows after each poll that changed nothing. Default 1.5.
    pub growth: f64,
    /// Each interval is moved by up to this fraction either way, so that loops started
    /// together do not stay in step. Default 0.1.
    pub jitter: f64,
    /// How long newly registered objects are gathered before their first read, so that a
    /// burst of waits becomes one bulk read. Default 200 ms.
    pub gather: Duration,
    /// How often every object is read even when the service lists changes, to catch what a
    /// listing cannot show (a purged job). Default 10 minutes.
    pub full_read_every: Duration,
    /// How far before the previous poll a change listing starts, to cover clock skew between
    /// this host and the service. Default 2 minutes.
    pub listing_overlap: Duration,
    /// How long a loop with nothing to wait on stays alive for new waits. Default 60 s.
    pub idle_linger: Duration,
    /// Requests per second allowed to each endpoint, over all kinds and identities.
    /// Default 5.
    pub requests_per_second: f64,
    /// Requests an endpoint may receive at once after a quiet spell. Default 10.
    pub burst: u32,
    /// The delays after failed polls (transient errors only).
    pub error_backoff: BackoffConfig,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            min_interval: Duration::from_secs(5),
            max_interval: Duration::from_secs(60),
            growth: 1.5,
            jitter: 0.1,
            gather: Duration::from_millis(200),
            full_read_every: Duration::from_secs(600),
            listing_overlap: Duration::from_secs(120),
            idle_linger: Duration::from_secs(60),
            requests_per_second: 5.0,
            burst: 10,
            error_backoff: BackoffConfig {
                init_backoff: Duration::from_secs(1),
                max_backoff: Duration::from_secs(120),
                base: 3.0,
            },
        }
    }
}
