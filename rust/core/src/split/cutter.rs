//! The job cutter: takes primary file pieces in order and closes a job before the piece that
//! would break a limit, as JEDI's `getSubChunk` does by looking one file ahead.

use super::error::SplitError;
use arrow_array::RecordBatch;

use super::output::{JobColumns, JobTotals, PieceColumns};
use super::rules::Limits;
use super::secondary::{SecondaryCursor, Take};

/// A primary file, or the piece of one that an events rule cut out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Piece {
    /// Row in the primary file list.
    pub file: u32,
    /// First event of the piece, counted from 0 within the file.
    pub first_event: u64,
    /// Events in the piece (0 when unknown).
    pub n_events: u64,
    /// Size of the whole file: a job reads the file even for one piece of it.
    pub bytes: u64,
}

/// Cuts a stream of pieces into jobs.
pub(crate) struct JobCutter<'a> {
    limits: &'a Limits,
    secondaries: Vec<SecondaryCursor>,
    /// Files and bytes of the `nosplit` datasets, which every job starts with.
    whole: Take,
    pieces: PieceColumns,
    jobs: JobColumns,
    /// The open job, if any; its index is `jobs`' length.
    open: Option<JobTotals>,
    /// Files of the open job, primary and secondary, against JEDI's limit of 1000.
    total_files: u64,
    /// Whether pieces are written as they come; when every piece is a whole file the table is
    /// made afterwards from the jobs alone.
    record: bool,
}

impl<'a> JobCutter<'a> {
    /// A cutter for at most `pieces` primary pieces, writing them out if `record`.
    pub fn new(
        limits: &'a Limits,
        secondaries: Vec<SecondaryCursor>,
        pieces: usize,
        record: bool,
    ) -> Self {
        let whole = secondaries.iter().fold(Take::default(), |sum, cursor| {
            let take = cursor.whole();
            Take {
                files: sum.files + take.files,
                bytes: sum.bytes.saturating_add(take.bytes),
            }
        });
        // Capacity is only reserved, not touched: an upper bound costs no memory, while a
        // short guess would cost copies as the columns grow.
        let jobs_bound = pieces + 1;
        let with_secondaries = !secondaries.is_empty();
        let rows = match (record, with_secondaries) {
            (false, _) => 0,
            (true, false) => pieces,
            (true, true) => pieces * 2,
        };
        Self {
            limits,
            secondaries,
            whole,
            pieces: PieceColumns::with_capacity(rows, with_secondaries),
            jobs: JobColumns::with_capacity(jobs_bound),
            open: None,
            total_files: 0,
            record,
        }
    }

    /// Adds the next piece; `new_group` says a boundary column changed at its file.
    #[inline]
    pub fn push(&mut self, piece: Piece, new_group: bool) -> Result<(), SplitError> {
        if let Some(job) = &self.open {
            if new_group || !self.fits(job, &piece) {
                self.close()?;
            }
        }
        let job = match self.open {
            Some(_) => self.jobs_len(),
            None => self.start(&piece)?,
        };

        let totals = self.open.as_mut().expect("a job is open");
        totals.n_files += 1;
        totals.n_events = totals
            .n_events
            .checked_add(piece.n_events)
            .ok_or_else(|| SplitError::Overflow("the events of a job add up past 2^64".into()))?;
        totals.bytes = totals
            .bytes
            .checked_add(piece.bytes)
            .ok_or_else(bytes_overflow)?;
        self.total_files += 1;
        if !self.record {
            return Ok(());
        }
        self.pieces.push(
            job,
            0,
            piece.file,
            (piece.first_event, piece.n_events),
            piece.bytes,
        );

        if !self.secondaries.is_empty() {
            let primary = u64::from(totals.n_files);
            for cursor in &mut self.secondaries {
                let take = cursor.wanted(primary);
                cursor.take(job, take.files, &mut self.pieces);
                totals.n_secondary_files += take.files as u32;
                totals.bytes = totals
                    .bytes
                    .checked_add(take.bytes)
                    .ok_or_else(bytes_overflow)?;
                self.total_files += take.files;
            }
        }
        Ok(())
    }

    /// Whether `piece` can join the open job without breaking a limit.
    #[inline]
    fn fits(&self, job: &JobTotals, piece: &Piece) -> bool {
        let limits = self.limits;
        let files = u64::from(job.n_files) + 1;
        if let Some(per_job) = limits.files_per_job {
            // A fixed number of files per job overrides every size limit, as in JEDI.
            return files <= per_job;
        }
        if files > limits.max_files {
            return false;
        }
        if let Some(max) = limits.events_per_job {
            if job.n_events.saturating_add(piece.n_events) > max {
                return false;
            }
        }
        let secondary = self.secondary_take(files);
        if let Some(max) = limits.max_input_bytes {
            let bytes = job
                .bytes
                .saturating_add(piece.bytes)
                .saturating_add(secondary.bytes);
            if bytes > max {
                return false;
            }
        }
        self.total_files + 1 + secondary.files <= limits.max_total_files
    }

    fn secondary_take(&self, primary: u64) -> Take {
        self.secondaries
            .iter()
            .fold(Take::default(), |sum, cursor| {
                let take = cursor.wanted(primary);
                Take {
                    files: sum.files + take.files,
                    bytes: sum.bytes.saturating_add(take.bytes),
                }
            })
    }

    fn jobs_len(&self) -> u32 {
        // `start` refused any index past u32::MAX.
        self.jobs.len() as u32
    }

    /// Opens a job at `piece`, with every `nosplit` dataset in it.
    fn start(&mut self, piece: &Piece) -> Result<u32, SplitError> {
        let job = u32::try_from(self.jobs.len())
            .map_err(|_| SplitError::Overflow("more than 2^32 jobs".into()))?;
        for cursor in &self.secondaries {
            cursor.take_whole(job, &mut self.pieces);
        }
        self.open = Some(JobTotals {
            first_file: piece.file,
            n_files: 0,
            n_secondary_files: self.whole.files as u32,
            first_event: piece.first_event,
            n_events: 0,
            bytes: self.whole.bytes,
        });
        self.total_files = self.whole.files;
        Ok(job)
    }

    fn close(&mut self) -> Result<(), SplitError> {
        if let Some(totals) = self.open.take() {
            self.jobs.push(totals)?;
            for cursor in &mut self.secondaries {
                cursor.close_job();
            }
        }
        Ok(())
    }

    /// Closes the last job and returns the jobs table, and the pieces table if recorded;
    /// `events` says whether event counts are known.
    pub fn finish(
        mut self,
        events: bool,
    ) -> Result<(RecordBatch, Option<RecordBatch>), SplitError> {
        self.close()?;
        let pieces = self.record.then(|| self.pieces.finish(events));
        Ok((self.jobs.finish(events), pieces))
    }
}

fn bytes_overflow() -> SplitError {
    SplitError::Overflow("the bytes of a job add up past 2^64".into())
}
