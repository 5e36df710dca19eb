//! The splitter's result: one Arrow row per job and file piece, and one row per job.

use std::sync::{Arc, OnceLock};

use arrow_array::cast::AsArray;
use arrow_array::types::UInt32Type;
use arrow_array::{ArrayRef, RecordBatch, UInt16Array, UInt32Array, UInt64Array};
use arrow_buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use super::error::SplitError;

/// The jobs of a file list, as two tables that share the `job` column.
#[derive(Debug, Clone)]
pub struct Split {
    /// One row per job and file piece, in job order: `job` (u32), `dataset` (u16, 0 for the
    /// primary file list, k for the k-th secondary dataset), `file` (u32, row of that dataset),
    /// `first_event` and `n_events` (u64; null when the events are not known) and `bytes`
    /// (u64, the size of the file, which the job reads even when it processes only a piece).
    pub pieces: RecordBatch,
    /// One row per job: `job`, `first_file` (primary row of its first piece), `n_files`
    /// (primary pieces), `n_secondary_files`, `first_event`, `n_events` (null when unknown)
    /// and `bytes` (primary and secondary).
    pub jobs: RecordBatch,
}

/// The schema of [`Split::pieces`].
pub fn pieces_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("job", DataType::UInt32, false),
                Field::new("dataset", DataType::UInt16, false),
                Field::new("file", DataType::UInt32, false),
                Field::new("first_event", DataType::UInt64, true),
                Field::new("n_events", DataType::UInt64, true),
                Field::new("bytes", DataType::UInt64, false),
            ]))
        })
        .clone()
}

/// The schema of [`Split::jobs`].
pub fn jobs_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("job", DataType::UInt32, false),
                Field::new("first_file", DataType::UInt32, false),
                Field::new("n_files", DataType::UInt32, false),
                Field::new("n_secondary_files", DataType::UInt32, false),
                Field::new("first_event", DataType::UInt64, true),
                Field::new("n_events", DataType::UInt64, true),
                Field::new("bytes", DataType::UInt64, false),
            ]))
        })
        .clone()
}

/// Column vectors of the pieces table, grown once per piece without other allocation.
pub(crate) struct PieceColumns {
    /// Whether rows of secondary datasets are added; without them `dataset` is all zero and
    /// is made at the end instead of row by row.
    secondaries: bool,
    job: Vec<u32>,
    dataset: Vec<u16>,
    file: Vec<u32>,
    first_event: Vec<u64>,
    n_events: Vec<u64>,
    bytes: Vec<u64>,
}

impl PieceColumns {
    pub fn with_capacity(rows: usize, secondaries: bool) -> Self {
        Self {
            secondaries,
            job: Vec::with_capacity(rows),
            dataset: Vec::with_capacity(if secondaries { rows } else { 0 }),
            file: Vec::with_capacity(rows),
            first_event: Vec::with_capacity(rows),
            n_events: Vec::with_capacity(rows),
            bytes: Vec::with_capacity(rows),
        }
    }

    #[inline]
    pub fn push(&mut self, job: u32, dataset: u16, file: u32, events: (u64, u64), bytes: u64) {
        self.job.push(job);
        if self.secondaries {
            self.dataset.push(dataset);
        }
        self.file.push(file);
        self.first_event.push(events.0);
        self.n_events.push(events.1);
        self.bytes.push(bytes);
    }

    /// The table; events are valid on primary rows when the primary list had them.
    pub fn finish(mut self, primary_events: bool) -> RecordBatch {
        if !self.secondaries {
            // Zeroed memory comes from the allocator untouched: no pass over the rows.
            self.dataset = vec![0; self.job.len()];
        }
        let events_valid = match (primary_events, self.secondaries) {
            (false, _) => Some(NullBuffer::new_null(self.job.len())),
            (true, false) => None,
            (true, true) => {
                let dataset = &self.dataset;
                Some(NullBuffer::new(BooleanBuffer::collect_bool(
                    dataset.len(),
                    |i| dataset[i] == 0,
                )))
            }
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(UInt32Array::from(self.job)),
            Arc::new(UInt16Array::from(self.dataset)),
            Arc::new(UInt32Array::from(self.file)),
            Arc::new(UInt64Array::new(
                ScalarBuffer::from(self.first_event),
                events_valid.clone(),
            )),
            Arc::new(UInt64Array::new(
                ScalarBuffer::from(self.n_events),
                events_valid,
            )),
            Arc::new(UInt64Array::from(self.bytes)),
        ];
        RecordBatch::try_new(pieces_schema(), columns).expect("columns match the pieces schema")
    }
}

/// What the summary table records of one job.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct JobTotals {
    pub first_file: u32,
    pub n_files: u32,
    pub n_secondary_files: u32,
    pub first_event: u64,
    pub n_events: u64,
    pub bytes: u64,
}

/// Column vectors of the jobs table.
#[derive(Default)]
pub(crate) struct JobColumns {
    first_file: Vec<u32>,
    n_files: Vec<u32>,
    n_secondary_files: Vec<u32>,
    first_event: Vec<u64>,
    n_events: Vec<u64>,
    bytes: Vec<u64>,
}

impl JobColumns {
    pub fn with_capacity(jobs: usize) -> Self {
        Self {
            first_file: Vec::with_capacity(jobs),
            n_files: Vec::with_capacity(jobs),
            n_secondary_files: Vec::with_capacity(jobs),
            first_event: Vec::with_capacity(jobs),
            n_events: Vec::with_capacity(jobs),
            bytes: Vec::with_capacity(jobs),
        }
    }

    pub fn len(&self) -> usize {
        self.n_files.len()
    }

    /// Appends a job and returns its index, refusing more jobs than a u32 counts.
    pub fn push(&mut self, totals: JobTotals) -> Result<u32, SplitError> {
        let index = u32::try_from(self.n_files.len())
            .map_err(|_| SplitError::Overflow("more than 2^32 jobs".into()))?;
        self.first_file.push(totals.first_file);
        self.n_files.push(totals.n_files);
        self.n_secondary_files.push(totals.n_secondary_files);
        self.first_event.push(totals.first_event);
        self.n_events.push(totals.n_events);
        self.bytes.push(totals.bytes);
        Ok(index)
    }

    pub fn finish(self, events: bool) -> RecordBatch {
        let n = self.n_files.len();
        let valid = (!events).then(|| NullBuffer::new_null(n));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(UInt32Array::from_iter_values(0..n as u32)),
            Arc::new(UInt32Array::from(self.first_file)),
            Arc::new(UInt32Array::from(self.n_files)),
            Arc::new(UInt32Array::from(self.n_secondary_files)),
            Arc::new(UInt64Array::new(
                ScalarBuffer::from(self.first_event),
                valid.clone(),
            )),
            Arc::new(UInt64Array::new(ScalarBuffer::from(self.n_events), valid)),
            Arc::new(UInt64Array::from(self.bytes)),
        ];
        RecordBatch::try_new(jobs_schema(), columns).expect("columns match the jobs schema")
    }
}

/// The pieces table when every piece is a whole primary file, in order, as without events
/// per job and secondaries: `bytes` and `n_events` are the input's own buffers, not copies.
pub(crate) fn whole_file_pieces(
    jobs: &RecordBatch,
    sizes: &[&ScalarBuffer<u64>],
    events: Option<EventCounts<'_>>,
) -> RecordBatch {
    let n_files = jobs.column(2).as_primitive::<UInt32Type>().values();
    let rows: usize = sizes.iter().map(|chunk| chunk.len()).sum();
    let mut job = Vec::with_capacity(rows);
    for (index, &files) in n_files.iter().enumerate() {
        job.resize(job.len() + files as usize, index as u32);
    }
    let joined = |chunks: &[&ScalarBuffer<u64>]| -> ScalarBuffer<u64> {
        match chunks {
            [one] => (*one).clone(),
            many => many
                .iter()
                .flat_map(|chunk| chunk.iter().copied())
                .collect(),
        }
    };
    let (n_events, valid) = match events {
        Some(EventCounts::PerFile(n)) => (ScalarBuffer::from(vec![n; rows]), None),
        Some(EventCounts::Column(chunks)) => (joined(&chunks), None),
        None => (
            ScalarBuffer::from(vec![0; rows]),
            Some(NullBuffer::new_null(rows)),
        ),
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from(job)),
        Arc::new(UInt16Array::from(vec![0; rows])),
        Arc::new(UInt32Array::from_iter_values(0..rows as u32)),
        Arc::new(UInt64Array::new(
            ScalarBuffer::from(vec![0; rows]),
            valid.clone(),
        )),
        Arc::new(UInt64Array::new(n_events, valid)),
        Arc::new(UInt64Array::new(joined(sizes), None)),
    ];
    RecordBatch::try_new(pieces_schema(), columns).expect("columns match the pieces schema")
}

/// Where the event counts of whole files come from.
pub(crate) enum EventCounts<'a> {
    /// The same count for every file.
    PerFile(u64),
    /// The input's `nevents` column, chunk by chunk.
    Column(Vec<&'a ScalarBuffer<u64>>),
}
