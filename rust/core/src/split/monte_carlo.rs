//! Jobs without input: a Monte Carlo task's total events cut into jobs, each with its first
//! event and a random seed that a re-run reproduces.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema};

use super::error::SplitError;

/// A Monte Carlo task's events and how to number them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonteCarlo {
    /// Events of the whole task.
    pub n_events: i64,
    /// Events per job; the last job takes what is left.
    pub n_events_per_job: i64,
    /// Number of the task's first event. JEDI's default: 1.
    pub first_event: i64,
    /// Added to each job's seed; JEDI's `randomSeed` offset. Job `i` gets seed
    /// `seed_offset + i + 1`, as JEDI numbers its seeds from 1.
    pub seed_offset: i64,
}

impl Default for MonteCarlo {
    fn default() -> Self {
        Self {
            n_events: 0,
            n_events_per_job: 0,
            first_event: 1,
            seed_offset: 0,
        }
    }
}

/// Cuts `mc.n_events` into jobs: columns `job` (u32), `first_event`, `n_events`, `seed` (u64).
pub fn monte_carlo(mc: &MonteCarlo) -> Result<RecordBatch, SplitError> {
    let total = positive("n_events", mc.n_events)?;
    let per_job = positive("n_events_per_job", mc.n_events_per_job)?;
    let first = non_negative("first_event", mc.first_event)?;
    let offset = non_negative("seed_offset", mc.seed_offset)?;
    let jobs = total.div_ceil(per_job);
    if jobs > u64::from(u32::MAX) {
        return Err(SplitError::Overflow(format!(
            "{jobs} jobs; job indexes are 32-bit"
        )));
    }
    if first.checked_add(total).is_none() || offset.checked_add(jobs).is_none() {
        return Err(SplitError::Overflow(
            "the last event number or seed passes 2^64".into(),
        ));
    }

    let job = UInt32Array::from_iter_values(0..jobs as u32);
    let first_event = UInt64Array::from_iter_values((0..jobs).map(|i| first + i * per_job));
    let n_events =
        UInt64Array::from_iter_values((0..jobs).map(|i| per_job.min(total - i * per_job)));
    let seed = UInt64Array::from_iter_values((0..jobs).map(|i| offset + i + 1));
    let schema = Arc::new(Schema::new(vec![
        Field::new("job", DataType::UInt32, false),
        Field::new("first_event", DataType::UInt64, false),
        Field::new("n_events", DataType::UInt64, false),
        Field::new("seed", DataType::UInt64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(job),
        Arc::new(first_event),
        Arc::new(n_events),
        Arc::new(seed),
    ];
    tracing::info!(n_events = total, jobs, "cut Monte Carlo events into jobs");
    Ok(RecordBatch::try_new(schema, columns).expect("columns match the schema"))
}

fn positive(rule: &'static str, value: i64) -> Result<u64, SplitError> {
    if value > 0 {
        Ok(value as u64)
    } else {
        Err(SplitError::NotPositive {
            rule,
            value: value.to_string(),
        })
    }
}

fn non_negative(rule: &'static str, value: i64) -> Result<u64, SplitError> {
    u64::try_from(value).map_err(|_| SplitError::NotPositive {
        rule,
        value: value.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use arrow_array::cast::AsArray;
    use arrow_array::types::UInt64Type;

    use super::*;

    #[test]
    fn events_are_numbered_from_the_first_and_seeds_are_reproducible() {
        let mc = MonteCarlo {
            n_events: 250,
            n_events_per_job: 100,
            first_event: 1,
            seed_offset: 1000,
        };
        let jobs = monte_carlo(&mc).unwrap();
        let column = |name: &str| -> Vec<u64> {
            jobs.column_by_name(name)
                .unwrap()
                .as_primitive::<UInt64Type>()
                .values()
                .to_vec()
        };
        assert_eq!(column("first_event"), [1, 101, 201]);
        assert_eq!(column("n_events"), [100, 100, 50]);
        assert_eq!(column("seed"), [1001, 1002, 1003]);
        assert_eq!(monte_carlo(&mc).unwrap(), jobs);
    }

    #[test]
    fn zero_events_per_job_is_refused() {
        let mc = MonteCarlo {
            n_events: 10,
            ..MonteCarlo::default()
        };
        let error = monte_carlo(&mc).unwrap_err();
        assert_eq!(
            error.to_string(),
            "n_events_per_job must be a positive number, got 0"
        );
    }
}
