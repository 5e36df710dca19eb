//! Injected faults, reproducible from one seed: HTTP errors, slow answers and dropped
//! connections per API, and transfer failures with the reasons real FTS reports.
//!
//! Every decision is a pure function of the seed and of what is decided on: the n-th request
//! to an API, or a transfer's destination and attempt. The same seed and the same sequence of
//! requests give the same faults, whatever the timing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use regex::Regex;
use serde::Deserialize;

/// The reason of a transfer failed by rate: what FTS reports when a copy times out.
pub const DEFAULT_TRANSFER_REASON: &str =
    "TRANSFER [110] TRANSFER  Transfer failed: Connection timed out (copy stalled)";

/// The `[faults]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsConfig {
    /// The seed of every decision. Default 0.
    #[serde(default)]
    pub seed: u64,
    /// Faults of the FTS3 REST API (`[faults.fts]`).
    #[serde(default)]
    pub fts: HttpFaultsConfig,
    /// Faults of the PanDA API (`[faults.panda]`).
    #[serde(default)]
    pub panda: HttpFaultsConfig,
    /// Faults of the storage endpoints' GET/HEAD (`[faults.storage]`).
    #[serde(default)]
    pub storage: HttpFaultsConfig,
    /// Failures of FTS transfers (`[faults.transfers]`).
    #[serde(default)]
    pub transfers: TransferFaultsConfig,
    /// Failures of PanDA jobs (`[faults.jobs]`), decided by the PanDA service.
    #[serde(default)]
    pub jobs: crate::panda::JobFaultsConfig,
}

/// HTTP-level faults of one API; rates are probabilities in 0..=1, all 0 by default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpFaultsConfig {
    /// Share of requests answered with `error_status` instead of being handled.
    pub error_rate: f64,
    /// The status of those answers. Default 503.
    pub error_status: u16,
    /// Share of requests delayed by `slow_ms` before being handled.
    pub slow_rate: f64,
    /// The delay of a slow answer in milliseconds. Default 2000.
    pub slow_ms: u64,
    /// Share of requests whose connection is dropped without a complete answer.
    pub drop_rate: f64,
}

impl Default for HttpFaultsConfig {
    fn default() -> Self {
        Self {
            error_rate: 0.0,
            error_status: 503,
            slow_rate: 0.0,
            slow_ms: 2000,
            drop_rate: 0.0,
        }
    }
}

/// Transfer failures: by rate, and by a pattern on the file's source or destination URL.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferFaultsConfig {
    /// Share of transfer attempts that fail with `reason`.
    #[serde(default)]
    pub failure_rate: f64,
    /// The reason of failures by rate. Default [`DEFAULT_TRANSFER_REASON`].
    #[serde(default)]
    pub reason: Option<String>,
    /// Files whose URL matches a rule always fail with its reason (`[[faults.transfers.rules]]`).
    #[serde(default)]
    pub rules: Vec<TransferRuleConfig>,
}

/// One pattern rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRuleConfig {
    /// A regular expression searched in the source and destination URLs.
    pub pattern: String,
    /// The FTS reason reported, e.g. `SOURCE [2] ... No such file or directory`.
    pub reason: String,
    /// Only attempts below this number fail (1: the first attempt fails, a retry succeeds).
    /// Default: every attempt fails.
    #[serde(default)]
    pub attempts: Option<u32>,
}

impl FaultsConfig {
    /// Checks rates and patterns, so that a typo fails at startup.
    pub fn check(&self) -> Result<(), String> {
        for (api, http) in [
            ("fts", &self.fts),
            ("panda", &self.panda),
            ("storage", &self.storage),
        ] {
            for (name, rate) in [
                ("error_rate", http.error_rate),
                ("slow_rate", http.slow_rate),
                ("drop_rate", http.drop_rate),
            ] {
                check_rate(&format!("faults.{api}.{name}"), rate)?;
            }
            if !(500..=599).contains(&http.error_status) {
                return Err(format!("faults.{api}.error_status must be a 5xx status"));
            }
        }
        check_rate("faults.transfers.failure_rate", self.transfers.failure_rate)?;
        for rule in &self.transfers.rules {
            Regex::new(&rule.pattern).map_err(|e| format!("faults.transfers.rules: {e}"))?;
        }
        Ok(())
    }
}

fn check_rate(name: &str, rate: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&rate) {
        Ok(())
    } else {
        Err(format!("{name} must be between 0 and 1, not {rate}"))
    }
}

/// The API a request belongs to; each has its own counter and settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// FTS3 REST under `/fts`.
    Fts,
    /// PanDA under `/api/v1`.
    Panda,
    /// Storage GET/HEAD under `/storage`.
    Storage,
}

impl Api {
    fn salt(self) -> u64 {
        match self {
            Self::Fts => 0x0f75,
            Self::Panda => 0x9a4d,
            Self::Storage => 0x5708,
        }
    }
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpFault {
    /// Answer with this 5xx status.
    Error(u16),
    /// Handle it after this delay.
    Slow(Duration),
    /// Break the connection.
    Drop,
}

/// The faults of one API, with its request counter; a layer's state.
#[derive(Debug)]
pub struct ApiFaults {
    api: Api,
    seed: u64,
    config: HttpFaultsConfig,
    requests: AtomicU64,
}

impl ApiFaults {
    /// The faults of `api` under `seed`.
    pub fn new(api: Api, seed: u64, config: HttpFaultsConfig) -> Self {
        Self {
            api,
            seed,
            config,
            requests: AtomicU64::new(0),
        }
    }

    /// Decides the fate of the next request (the n-th since startup).
    pub fn next(&self) -> Option<HttpFault> {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        self.decide(n)
    }

    /// The fate of the n-th request: one uniform draw split into error, drop and slow bands.
    pub fn decide(&self, n: u64) -> Option<HttpFault> {
        let draw = unit(mix(self.seed ^ self.api.salt().rotate_left(32), n));
        let c = &self.config;
        if draw < c.error_rate {
            Some(HttpFault::Error(c.error_status))
        } else if draw < c.error_rate + c.drop_rate {
            Some(HttpFault::Drop)
        } else if draw < c.error_rate + c.drop_rate + c.slow_rate {
            Some(HttpFault::Slow(Duration::from_millis(c.slow_ms)))
        } else {
            None
        }
    }
}

/// The axum middleware applying [`ApiFaults`]; use it as
/// `.layer(axum::middleware::from_fn_with_state(faults, faults::inject))`.
pub async fn inject(
    State(faults): State<Arc<ApiFaults>>,
    request: Request,
    next: Next,
) -> Response {
    match faults.next() {
        None => next.run(request).await,
        Some(HttpFault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Some(HttpFault::Error(status)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            tracing::info!(api = ?faults.api, %status, "injected HTTP error");
            let body = serde_json::json!({
                "status": format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("")),
                "message": "gridsim injected fault",
            });
            (status, axum::Json(body)).into_response()
        }
        Some(HttpFault::Drop) => {
            tracing::info!(api = ?faults.api, "injected dropped connection");
            // A body that fails before its first byte makes hyper abort the connection, so the
            // client sees a connection reset or an incomplete answer, as with a crashed server.
            let failing = futures::stream::once(async {
                Err::<bytes::Bytes, std::io::Error>(std::io::Error::other("dropped"))
            });
            Response::new(Body::from_stream(failing))
        }
    }
}

/// Decides which transfer attempts fail, and with which reason.
#[derive(Debug)]
pub struct TransferFaults {
    seed: u64,
    rate: f64,
    reason: String,
    rules: Vec<(Regex, String, Option<u32>)>,
}

impl TransferFaults {
    /// Compiles the `[faults.transfers]` section; patterns were checked at load.
    pub fn new(seed: u64, config: &TransferFaultsConfig) -> Self {
        let rules = config
            .rules
            .iter()
            .filter_map(|r| Some((Regex::new(&r.pattern).ok()?, r.reason.clone(), r.attempts)))
            .collect();
        Self {
            seed,
            rate: config.failure_rate,
            reason: config
                .reason
                .clone()
                .unwrap_or_else(|| DEFAULT_TRANSFER_REASON.to_owned()),
            rules,
        }
    }

    /// The reason attempt `attempt` (0 first) of the transfer `source` -> `destination`
    /// fails with, or `None` when it is left to succeed or fail on its own.
    pub fn failure(&self, source: &str, destination: &str, attempt: u32) -> Option<String> {
        for (pattern, reason, attempts) in &self.rules {
            let applies = attempts.is_none_or(|limit| attempt < limit);
            if applies && (pattern.is_match(source) || pattern.is_match(destination)) {
                return Some(reason.clone());
            }
        }
        // The URL's path only: the same files fail whatever port the grid listens on.
        let path = destination
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or(destination);
        let key = fnv1a(path.as_bytes()) ^ u64::from(attempt).rotate_left(48);
        (unit(mix(self.seed, key)) < self.rate).then(|| self.reason.clone())
    }
}

/// SplitMix64's finaliser over `seed + n`: a well-spread hash that needs no state, so every
/// fault decision of the grid is a pure function of the seed and the object it concerns.
pub(crate) fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed.wrapping_add(n.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A hash in [0, 1) from its top 53 bits.
pub(crate) fn unit(hash: u64) -> f64 {
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

/// FNV-1a, stable across platforms and releases, unlike the standard library's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(error_rate: f64, drop_rate: f64, slow_rate: f64) -> HttpFaultsConfig {
        HttpFaultsConfig {
            error_rate,
            drop_rate,
            slow_rate,
            ..HttpFaultsConfig::default()
        }
    }

    #[test]
    fn same_seed_same_faults_other_seed_other_faults() {
        let decide = |seed| {
            let faults = ApiFaults::new(Api::Fts, seed, http(0.3, 0.1, 0.1));
            (0..200).map(|_| faults.next()).collect::<Vec<_>>()
        };
        assert_eq!(decide(7), decide(7));
        assert_ne!(decide(7), decide(8));
    }

    #[test]
    fn rates_are_honoured_over_many_requests() {
        let faults = ApiFaults::new(Api::Panda, 1, http(0.2, 0.0, 0.0));
        let errors = (0..10_000).filter(|&n| faults.decide(n).is_some()).count();
        assert!((1_700..2_300).contains(&errors), "{errors} errors in 10000");
        let none = ApiFaults::new(Api::Panda, 1, HttpFaultsConfig::default());
        assert!((0..10_000).all(|n| none.decide(n).is_none()));
    }

    #[test]
    fn apis_draw_independently() {
        let fts = ApiFaults::new(Api::Fts, 3, http(0.5, 0.0, 0.0));
        let panda = ApiFaults::new(Api::Panda, 3, http(0.5, 0.0, 0.0));
        let a: Vec<_> = (0..64).map(|n| fts.decide(n)).collect();
        let b: Vec<_> = (0..64).map(|n| panda.decide(n)).collect();
        assert_ne!(a, b);
    }

    #[test]
    fn transfer_rules_match_names_and_limit_attempts() {
        let config = TransferFaultsConfig {
            failure_rate: 0.0,
            reason: None,
            rules: vec![TransferRuleConfig {
                pattern: r"broken_\d+$".to_owned(),
                reason: "SOURCE [2] No such file or directory".to_owned(),
                attempts: Some(1),
            }],
        };
        let faults = TransferFaults::new(0, &config);
        let reason = faults.failure("http://h/s/a/broken_1", "http://h/s/b/broken_1", 0);
        assert_eq!(
            reason.as_deref(),
            Some("SOURCE [2] No such file or directory")
        );
        assert_eq!(
            faults.failure("http://h/s/a/broken_1", "http://h/s/b/broken_1", 1),
            None
        );
        assert_eq!(
            faults.failure("http://h/s/a/fine", "http://h/s/b/fine", 0),
            None
        );
    }

    #[test]
    fn transfer_rate_failures_depend_on_file_and_attempt_only() {
        let config = TransferFaultsConfig {
            failure_rate: 0.5,
            ..TransferFaultsConfig::default()
        };
        let a = TransferFaults::new(11, &config);
        let b = TransferFaults::new(11, &config);
        let names: Vec<String> = (0..100).map(|i| format!("http://h:1/s/b/f{i}")).collect();
        let first: Vec<_> = names.iter().map(|n| a.failure("src", n, 0)).collect();
        let moved = |n: &String| n.replace("h:1", "127.0.0.1:2");
        let again: Vec<_> = names
            .iter()
            .rev()
            .map(|n| b.failure("src", &moved(n), 0))
            .collect();
        assert_eq!(first, again.into_iter().rev().collect::<Vec<_>>());
        let failed = first.iter().filter(|r| r.is_some()).count();
        assert!((30..70).contains(&failed));
        assert_eq!(
            first.iter().flatten().next().map(String::as_str),
            Some(DEFAULT_TRANSFER_REASON)
        );
    }

    #[test]
    fn bad_rates_and_patterns_are_refused() {
        let mut config = FaultsConfig::default();
        config.fts.error_rate = 1.5;
        assert!(config
            .check()
            .unwrap_err()
            .contains("faults.fts.error_rate"));
        let mut config = FaultsConfig::default();
        config.transfers.rules.push(TransferRuleConfig {
            pattern: "(".to_owned(),
            reason: String::new(),
            attempts: None,
        });
        assert!(config.check().is_err());
    }
}
