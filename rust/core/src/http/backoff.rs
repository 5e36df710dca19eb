//! Exponential backoff with decorrelated jitter.
//!
//! The algorithm is the one described in "Exponential Backoff And Jitter" (AWS Architecture
//! Blog, 2015): each delay is drawn uniformly between the initial delay and three times the
//! previous one, capped. The random source is injected so that tests are deterministic.

use std::time::Duration;

use rand::Rng;

/// The shape of a backoff sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct BackoffConfig {
    /// The first delay, and the lower bound of every later one. Default 100 ms.
    pub init_backoff: Duration,
    /// The largest delay ever returned. Default 15 s.
    pub max_backoff: Duration,
    /// How fast the upper bound grows from one delay to the next. Default 3.
    pub base: f64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(15),
            base: 3.0,
        }
    }
}

/// A running backoff sequence; call [`Backoff::next_with`] for each delay.
#[derive(Debug, Clone)]
pub struct Backoff {
    config: BackoffConfig,
    previous: f64,
}

impl Backoff {
    /// Starts a sequence.
    pub fn new(config: &BackoffConfig) -> Self {
        Self {
            config: config.clone(),
            previous: config.init_backoff.as_secs_f64(),
        }
    }

    /// The next delay, drawn from `rng`.
    pub fn next_with(&mut self, rng: &mut impl Rng) -> Duration {
        let low = self.config.init_backoff.as_secs_f64();
        let cap = self.config.max_backoff.as_secs_f64();
        let high = (self.previous * self.config.base).min(cap);

        let delay = if high > low {
            rng.random_range(low..high)
        } else {
            low.min(cap)
        };
        self.previous = delay;
        Duration::from_secs_f64(delay)
    }

    /// The next delay, drawn from the thread's random source.
    pub fn next_delay(&mut self) -> Duration {
        self.next_with(&mut rand::rng())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn config() -> BackoffConfig {
        BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            base: 3.0,
        }
    }

    #[test]
    fn delays_stay_between_init_and_cap() {
        let mut backoff = Backoff::new(&config());
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..1000 {
            let delay = backoff.next_with(&mut rng);
            assert!(
                delay >= Duration::from_millis(100),
                "{delay:?} below the initial delay"
            );
            assert!(delay <= Duration::from_secs(2), "{delay:?} above the cap");
        }
    }

    #[test]
    fn each_delay_is_bounded_by_three_times_the_previous() {
        let mut backoff = Backoff::new(&config());
        let mut rng = StdRng::seed_from_u64(11);
        let mut previous = Duration::from_millis(100);
        for _ in 0..100 {
            let delay = backoff.next_with(&mut rng);
            assert!(delay.as_secs_f64() <= previous.as_secs_f64() * 3.0 + 1e-9);
            previous = delay;
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let draw = |seed| {
            let mut backoff = Backoff::new(&config());
            let mut rng = StdRng::seed_from_u64(seed);
            (0..20)
                .map(|_| backoff.next_with(&mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(3), draw(3));
        assert_ne!(draw(3), draw(4));
    }

    #[test]
    fn sequences_grow_towards_the_cap() {
        // With base 3 the expected delay grows; after 30 steps the mean must be near the cap.
        let mut rng = StdRng::seed_from_u64(5);
        let mut late = Duration::ZERO;
        for _ in 0..200 {
            let mut backoff = Backoff::new(&config());
            let sequence: Vec<_> = (0..30).map(|_| backoff.next_with(&mut rng)).collect();
            late += sequence[29];
        }
        assert!(
            late / 200 > Duration::from_millis(700),
            "mean late delay {:?}",
            late / 200
        );
    }
}
