//! The request budget of an endpoint: a token bucket shared by every poll loop that asks it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::Stats;

/// A token bucket: `burst` requests at once, then `rate` requests a second, never more.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    // An async lock held while sleeping for a token: callers are served one at a time, in
    // order, and none can take a token another is waiting for.
    state: Mutex<Level>,
}

#[derive(Debug)]
struct Level {
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket; `rate` is in requests per second, `burst` at least one request.
    pub fn new(rate: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            rate: rate.max(f64::MIN_POSITIVE),
            burst,
            state: Mutex::new(Level {
                tokens: burst,
                at: Instant::now(),
            }),
        }
    }

    /// Waits until a request may be sent, and takes its token.
    pub async fn take(&self) {
        let mut level = self.state.lock().await;
        self.refill(&mut level);
        if level.tokens < 1.0 {
            let missing = 1.0 - level.tokens;
            tokio::time::sleep(Duration::from_secs_f64(missing / self.rate)).await;
            self.refill(&mut level);
        }
        level.tokens = (level.tokens - 1.0).max(0.0);
    }

    fn refill(&self, level: &mut Level) {
        let now = Instant::now();
        let earned = now.duration_since(level.at).as_secs_f64() * self.rate;
        level.tokens = (level.tokens + earned).min(self.burst);
        level.at = now;
    }
}

/// What a source draws on for each request: the endpoint's bucket, and the counters of the
/// poll loop it serves.
#[derive(Debug, Clone)]
pub struct Budget {
    bucket: Arc<TokenBucket>,
    stats: Arc<Stats>,
}

impl Budget {
    /// A budget drawing on `bucket` and counting into `stats`.
    pub fn new(bucket: Arc<TokenBucket>, stats: Arc<Stats>) -> Self {
        Self { bucket, stats }
    }

    /// A budget of its own, for a source used outside a watcher (tests, one-off reads).
    pub fn unlimited() -> Self {
        Self::new(
            Arc::new(TokenBucket::new(f64::MAX, u32::MAX)),
            Arc::new(Stats::default()),
        )
    }

    /// Waits for permission to send one request, and counts it.
    pub async fn acquire(&self) {
        self.bucket.take().await;
        self.stats.count_request();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_passes_then_the_rate_holds() {
        let bucket = TokenBucket::new(2.0, 3);
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..9 {
            bucket.take().await;
            times.push(start.elapsed());
        }
        assert!(times[..3].iter().all(|t| *t == Duration::ZERO), "{times:?}");
        // Six more tokens at two a second take three seconds.
        assert_eq!(times[8], Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_takers_never_exceed_the_budget() {
        let bucket = Arc::new(TokenBucket::new(5.0, 5));
        let start = Instant::now();
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let bucket = bucket.clone();
                tokio::spawn(async move {
                    bucket.take().await;
                    start.elapsed()
                })
            })
            .collect();
        let mut times = Vec::new();
        for task in tasks {
            times.push(task.await.unwrap());
        }
        for window_end in 0..=8 {
            let window = Duration::from_secs(window_end);
            let sent = times.iter().filter(|t| **t <= window).count() as f64;
            assert!(
                sent <= 5.0 + 5.0 * window.as_secs_f64() + 1e-9,
                "{sent} by {window:?}"
            );
        }
    }
}
