//! The adaptive poll interval: quick after a change, growing while nothing changes, capped,
//! with jitter.

use std::time::Duration;

use rand::Rng;

use super::WatchConfig;

/// The running interval of one poll loop.
#[derive(Debug, Clone)]
pub(crate) struct Pacer {
    min: Duration,
    max: Duration,
    growth: f64,
    jitter: f64,
    current: Duration,
}

impl Pacer {
    pub(crate) fn new(config: &WatchConfig) -> Self {
        Self {
            min: config.min_interval,
            max: config.max_interval.max(config.min_interval),
            growth: config.growth.max(1.0),
            jitter: config.jitter.clamp(0.0, 0.5),
            current: config.min_interval,
        }
    }

    /// The delay until the next poll, after a poll that did or did not see a change.
    pub(crate) fn next(&mut self, changed: bool, rng: &mut impl Rng) -> Duration {
        self.current = if changed {
            self.min
        } else {
            self.current.mul_f64(self.growth).min(self.max)
        };
        let factor = if self.jitter > 0.0 {
            rng.random_range(1.0 - self.jitter..1.0 + self.jitter)
        } else {
            1.0
        };
        self.current.mul_f64(factor).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    fn pacer() -> Pacer {
        Pacer::new(&WatchConfig {
            min_interval: Duration::from_secs(2),
            max_interval: Duration::from_secs(30),
            growth: 2.0,
            jitter: 0.1,
            ..WatchConfig::default()
        })
    }

    #[test]
    fn grows_while_quiet_up_to_the_cap() {
        let mut pacer = pacer();
        let mut rng = StdRng::seed_from_u64(1);
        let delays: Vec<_> = (0..8).map(|_| pacer.next(false, &mut rng)).collect();
        assert!(
            delays[0] >= Duration::from_millis(3600) && delays[0] <= Duration::from_millis(4400)
        );
        assert!(
            delays.iter().all(|d| *d <= Duration::from_secs(30)),
            "{delays:?}"
        );
        assert!(delays[7] >= Duration::from_secs(27), "{delays:?}");
    }

    #[test]
    fn a_change_returns_to_the_quick_interval() {
        let mut pacer = pacer();
        let mut rng = StdRng::seed_from_u64(2);
        for _ in 0..6 {
            pacer.next(false, &mut rng);
        }
        let after_change = pacer.next(true, &mut rng);
        assert!(
            after_change <= Duration::from_millis(2200),
            "{after_change:?}"
        );
    }

    #[test]
    fn jitter_is_deterministic_for_a_seed_and_spreads_loops() {
        let draw = |seed| {
            let mut pacer = pacer();
            let mut rng = StdRng::seed_from_u64(seed);
            (0..5)
                .map(|_| pacer.next(true, &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(9), draw(9));
        assert_ne!(draw(9), draw(10));
    }
}
