//! Counters of one poll loop, read by the sidecar's `/metrics` and `/status`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

/// Upper bounds, in seconds, of the latency histogram buckets of source calls.
pub const LATENCY_BUCKETS: [f64; 10] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Counters of one poll loop; all only grow.
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    calls: AtomicU64,
    latency_micros: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    errors: Mutex<BTreeMap<&'static str, u64>>,
    last_error: Mutex<Option<String>>,
}

/// A copy of [`Stats`] at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsSnapshot {
    /// HTTP requests sent (tokens taken from the budget).
    pub requests: u64,
    /// Source calls made (a bulk read or a change listing, each one or more requests).
    pub calls: u64,
    /// Total time spent in source calls.
    pub latency_total: Duration,
    /// Source calls that took at most each bound of [`LATENCY_BUCKETS`], cumulatively.
    pub latency_buckets: [u64; LATENCY_BUCKETS.len()],
    /// Failed source calls by error kind.
    pub errors: BTreeMap<&'static str, u64>,
    /// The message of the latest failure, for the status page.
    pub last_error: Option<String>,
}

impl Stats {
    pub(crate) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_call(&self, took: Duration) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.latency_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        let seconds = took.as_secs_f64();
        for (bound, count) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            if seconds <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn record_error(&self, kind: &'static str, message: &str) {
        *self.errors.lock().entry(kind).or_default() += 1;
        *self.last_error.lock() = Some(message.to_owned());
    }

    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            calls: self.calls.load(Ordering::Relaxed),
            latency_total: Duration::from_micros(self.latency_micros.load(Ordering::Relaxed)),
            latency_buckets: std::array::from_fn(|i| {
                self.latency_buckets[i].load(Ordering::Relaxed)
            }),
            errors: self.errors.lock().clone(),
            last_error: self.last_error.lock().clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_buckets_are_cumulative() {
        let stats = Stats::default();
        stats.record_call(Duration::from_millis(30));
        stats.record_call(Duration::from_secs(3));
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.calls, 2);
        assert_eq!(snapshot.latency_buckets[0], 0, "nothing took under 10 ms");
        assert_eq!(snapshot.latency_buckets[1], 1, "one call took under 50 ms");
        assert_eq!(snapshot.latency_buckets[7], 2, "both took under 5 s");
        assert_eq!(snapshot.latency_total, Duration::from_millis(3030));
    }
}
