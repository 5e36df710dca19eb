//! The job splitter: a file list (an Arrow table) cut into jobs the way PanDA's JEDI cuts a
//! task's input, in one pass over its columns.
//!
//! The rules are JEDI's split rules ([`Rules`]): files per job, GiB per job with the output
//! allowance, events per job with ranges that carry across file ends, a maximum of files per
//! job, events per input file, boundary columns, secondary datasets ([`Secondary`]) with a
//! ratio, `nosplit` or `repeat`; with none set, JEDI's defaults (200 files, 20 GiB a job).
//! [`monte_carlo`] cuts a task without input. `docs/splitter.md` lists where bmnflow
//! intentionally differs from JEDI.

mod cutter;
mod error;
mod events;
mod input;
mod monte_carlo;
mod output;
mod rules;
mod secondary;

#[cfg(test)]
mod tests;

pub use error::SplitError;
pub use input::{FileTable, LFN, NEVENTS, SIZE};
pub use monte_carlo::{monte_carlo, MonteCarlo};
pub use output::{jobs_schema, pieces_schema, Split};
pub use rules::{Rules, SecondaryRules, DEFAULT_OUTPUT_ALLOWANCE, GIB};
pub use secondary::Secondary;

use cutter::{JobCutter, Piece};
use events::EventsCutter;
use input::{Chunk, Reading};
use output::EventCounts;
use rules::Limits;
use secondary::SecondaryCursor;

/// Cuts `files` (with optional `secondaries`) into jobs according to `rules`.
///
/// Every primary file, and with an events rule every event, lands in exactly one job, in
/// order. Bad input or rules fail before any job is cut, with [`SplitError`].
pub fn split(
    files: &FileTable,
    secondaries: &[Secondary],
    rules: &Rules,
) -> Result<Split, SplitError> {
    let limits = rules.limits()?;
    if !rules.boundaries.is_empty() && !secondaries.is_empty() {
        // Limitation: secondary files are not matched to the primary's boundaries, as JEDI's
        // boundaryID grouping would; the two are refused together rather than mismatched.
        return Err(SplitError::Conflict(
            "boundaries together with secondary datasets are not supported".into(),
        ));
    }
    let events_required = limits.events_per_job.is_some() && limits.events_per_file.is_none();
    let columns = Reading {
        dataset: "primary file list".into(),
        events_required_by: events_required.then_some("n_events_per_job"),
        boundaries: &rules.boundaries,
    }
    .read(files)?;
    let cursors = secondaries
        .iter()
        .enumerate()
        .map(|(index, secondary)| SecondaryCursor::new(index + 1, secondary))
        .collect::<Result<Vec<_>, _>>()?;
    let events_known = columns.events || limits.events_per_file.is_some();

    // Without events per job or secondaries, pieces are the files themselves: only where
    // jobs end is worked out here, and the pieces table is made from the input's columns.
    let record = limits.events_per_job.is_some() || !cursors.is_empty();
    let capacity = match limits.events_per_job {
        // Each piece ends at a file's end or at a job's worth of events.
        Some(per_job) => columns.len + (total_events(&columns, &limits) / per_job) as usize + 1,
        None => columns.len,
    };
    let mut cutter = JobCutter::new(&limits, cursors, capacity, record);
    let mut events = limits.events_per_job.map(EventsCutter::new);
    let mut file = 0u32;
    for chunk in &columns.chunks {
        match &mut events {
            Some(events) => cut_events(chunk, &mut file, events, &limits, &mut cutter)?,
            None => cut_files(chunk, &mut file, &limits, &mut cutter)?,
        }
    }
    let (jobs, pieces) = cutter.finish(events_known)?;
    let pieces = pieces.unwrap_or_else(|| {
        let sizes: Vec<_> = columns.chunks.iter().map(|chunk| &chunk.sizes).collect();
        let events = match (limits.events_per_file, columns.events) {
            (Some(n), _) => Some(EventCounts::PerFile(n)),
            (None, true) => Some(EventCounts::Column(
                columns
                    .chunks
                    .iter()
                    .filter_map(|chunk| chunk.events.as_ref())
                    .collect(),
            )),
            (None, false) => None,
        };
        output::whole_file_pieces(&jobs, &sizes, events)
    });
    let split = Split { pieces, jobs };
    tracing::info!(
        files = columns.len,
        jobs = split.jobs.num_rows(),
        pieces = split.pieces.num_rows(),
        "split file list into jobs"
    );
    Ok(split)
}

/// Whole files as pieces: every rule but events per job.
fn cut_files(
    chunk: &Chunk,
    file: &mut u32,
    limits: &Limits,
    cutter: &mut JobCutter<'_>,
) -> Result<(), SplitError> {
    for (row, &bytes) in chunk.sizes.iter().enumerate() {
        let n_events = events_of(chunk, row, limits);
        let new_group = chunk
            .group_starts
            .as_ref()
            .is_some_and(|starts| starts.value(row));
        let piece = Piece {
            file: *file,
            first_event: 0,
            n_events,
            bytes,
        };
        cutter.push(piece, new_group)?;
        *file += 1;
    }
    Ok(())
}

/// Files cut into event ranges first, then the ranges into jobs.
fn cut_events(
    chunk: &Chunk,
    file: &mut u32,
    events: &mut EventsCutter,
    limits: &Limits,
    cutter: &mut JobCutter<'_>,
) -> Result<(), SplitError> {
    for (row, &bytes) in chunk.sizes.iter().enumerate() {
        let n_events = events_of(chunk, row, limits);
        let new_group = chunk
            .group_starts
            .as_ref()
            .is_some_and(|starts| starts.value(row));
        events.cut(*file, n_events, bytes, new_group, |piece, new_group| {
            cutter.push(piece, new_group)
        })?;
        *file += 1;
    }
    Ok(())
}

/// All events of the list, for sizing the output (saturating: it is only an estimate).
fn total_events(columns: &input::Columns, limits: &Limits) -> u64 {
    match limits.events_per_file {
        Some(n) => n.saturating_mul(columns.len as u64),
        None => columns
            .chunks
            .iter()
            .flat_map(|chunk| chunk.events.iter().flat_map(|events| events.iter()))
            .fold(0u64, |sum, &n| sum.saturating_add(n)),
    }
}

/// A file's events: the rule's count for every file, else its own, else 0 (unknown).
#[inline]
fn events_of(chunk: &Chunk, row: usize, limits: &Limits) -> u64 {
    match (limits.events_per_file, &chunk.events) {
        (Some(n), _) => n,
        (None, Some(events)) => events[row],
        (None, None) => 0,
    }
}
