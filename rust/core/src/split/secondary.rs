//! Secondary datasets: files that join each job in proportion to its primary files, or all of
//! them in every job (`nosplit`), optionally starting over when they run out (`repeat`).

use super::error::SplitError;
use super::input::{Columns, FileTable, Reading};
use super::output::PieceColumns;
use super::rules::SecondaryRules;

/// A secondary dataset and how its files join the jobs.
#[derive(Debug, Clone)]
pub struct Secondary {
    /// Its files; `lfn` and `size` are required.
    pub files: FileTable,
    /// Its ratio, `nosplit` and `repeat`.
    pub rules: SecondaryRules,
}

/// The split's progress through one secondary dataset.
pub(crate) struct SecondaryCursor {
    /// `dataset` column value: 1 for the first secondary dataset.
    dataset: u16,
    /// `prefix[i]` is the size of files `0..i`, so a run of files costs one subtraction.
    prefix: Vec<u64>,
    rules: SecondaryRules,
    /// The next file to hand out.
    next: usize,
    /// Files handed to the open job.
    taken: u64,
}

/// Files and bytes that a job would take from the secondary datasets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Take {
    pub files: u64,
    pub bytes: u64,
}

impl SecondaryCursor {
    /// Reads and checks the `index`-th secondary dataset (counted from 1).
    pub fn new(index: usize, secondary: &Secondary) -> Result<Self, SplitError> {
        secondary.rules.check(index)?;
        let dataset = u16::try_from(index)
            .map_err(|_| SplitError::Overflow(format!("{index} secondary datasets")))?;
        let columns: Columns = Reading {
            dataset: format!("secondary dataset {index}"),
            events_required_by: None,
            boundaries: &[],
        }
        .read(&secondary.files)?;

        let mut prefix = Vec::with_capacity(columns.len + 1);
        let mut total = 0u64;
        prefix.push(0);
        for size in columns.chunks.iter().flat_map(|chunk| chunk.sizes.iter()) {
            total = total.checked_add(*size).ok_or_else(|| {
                SplitError::Overflow(format!(
                    "the sizes of secondary dataset {index} add up past 2^64"
                ))
            })?;
            prefix.push(total);
        }
        Ok(Self {
            dataset,
            prefix,
            rules: secondary.rules,
            next: 0,
            taken: 0,
        })
    }

    fn len(&self) -> usize {
        self.prefix.len() - 1
    }

    /// What a job holding `primary` pieces takes from this dataset beyond what it holds.
    ///
    /// As in JEDI, a job takes `ceil(primary * ratio)` files in all, and no more than remain:
    /// a dataset that runs out gives the job fewer files, whether or not it repeats.
    pub fn wanted(&self, primary: u64) -> Take {
        let Some(ratio) = self.rules.ratio else {
            return Take::default();
        };
        let total = (primary as f64 * ratio).ceil() as u64;
        let files = total
            .saturating_sub(self.taken)
            .min((self.len() - self.next) as u64);
        Take {
            files,
            bytes: self.prefix[self.next + files as usize] - self.prefix[self.next],
        }
    }

    /// A `nosplit` dataset's files and bytes, which every job takes whole.
    pub fn whole(&self) -> Take {
        if !self.rules.nosplit {
            return Take::default();
        }
        Take {
            files: self.len() as u64,
            bytes: self.prefix[self.len()],
        }
    }

    /// Adds the files that `wanted` counted to the open job.
    pub fn take(&mut self, job: u32, files: u64, pieces: &mut PieceColumns) {
        for file in self.next..self.next + files as usize {
            let bytes = self.prefix[file + 1] - self.prefix[file];
            pieces.push(job, self.dataset, file as u32, (0, 0), bytes);
        }
        self.next += files as usize;
        self.taken += files;
    }

    /// Adds every file of a `nosplit` dataset to a job being opened.
    pub fn take_whole(&self, job: u32, pieces: &mut PieceColumns) {
        if self.rules.nosplit {
            for file in 0..self.len() {
                let bytes = self.prefix[file + 1] - self.prefix[file];
                pieces.push(job, self.dataset, file as u32, (0, 0), bytes);
            }
        }
    }

    /// Ends the open job: a repeated dataset that ran out starts again from its first file.
    pub fn close_job(&mut self) {
        self.taken = 0;
        if self.rules.repeat && self.len() > 0 {
            self.next %= self.len();
        }
    }
}
