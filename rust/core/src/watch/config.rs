//! How the watcher polls: intervals, request budget, change listings, error backoff.

use std::time::Duration;

use super::SourceError;
use crate::error::ErrorKind;

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
    /// this host and the service. Default 30 s: a longer overlap lists more jobs than a
    /// listing holds when thousands end within minutes.
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
            listing_overlap: Duration::from_secs(30),
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

impl WatchConfig {
    /// The defaults, changed by `BMNFLOW_WATCH_MIN_INTERVAL` and `BMNFLOW_WATCH_MAX_INTERVAL`
    /// (seconds), `BMNFLOW_WATCH_REQUESTS_PER_SECOND` and `BMNFLOW_WATCH_BURST`; a value
    /// that does not parse is ignored with a warning.
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok()).unwrap_or_else(|error| {
            tracing::warn!(%error, "ignoring the BMNFLOW_WATCH_* settings");
            Self::default()
        })
    }

    /// The defaults, changed by the variables `var` gives.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, SourceError> {
        let number = |name: &str| -> Result<Option<f64>, SourceError> {
            let Some(text) = var(name) else {
                return Ok(None);
            };
            match text.trim().parse::<f64>() {
                Ok(value) if value.is_finite() && value > 0.0 => Ok(Some(value)),
                _ => Err(SourceError::new(
                    ErrorKind::Configuration,
                    format!("{name}={text:?} must be a positive number"),
                )),
            }
        };
        let mut config = Self::default();
        if let Some(seconds) = number("BMNFLOW_WATCH_MIN_INTERVAL")? {
            config.min_interval = Duration::from_secs_f64(seconds);
        }
        if let Some(seconds) = number("BMNFLOW_WATCH_MAX_INTERVAL")? {
            config.max_interval = Duration::from_secs_f64(seconds);
        }
        config.max_interval = config.max_interval.max(config.min_interval);
        if let Some(rate) = number("BMNFLOW_WATCH_REQUESTS_PER_SECOND")? {
            config.requests_per_second = rate;
        }
        if let Some(burst) = number("BMNFLOW_WATCH_BURST")? {
            config.burst = burst as u32;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_change_the_defaults_and_bad_values_are_refused() {
        let vars = |name: &str| match name {
            "BMNFLOW_WATCH_MIN_INTERVAL" => Some("2".to_owned()),
            "BMNFLOW_WATCH_MAX_INTERVAL" => Some("10.5".to_owned()),
            _ => None,
        };
        let config = WatchConfig::from_vars(vars).unwrap();
        assert_eq!(config.min_interval, Duration::from_secs(2));
        assert_eq!(config.max_interval, Duration::from_millis(10500));
        assert_eq!(config.burst, WatchConfig::default().burst);

        let bad = |name: &str| (name == "BMNFLOW_WATCH_BURST").then(|| "-1".to_owned());
        let error = WatchConfig::from_vars(bad).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Configuration);
    }
}
