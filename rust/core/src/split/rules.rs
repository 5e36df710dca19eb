//! The rules a task gives for cutting its input into jobs, as JEDI's split rule names them,
//! and their checked form.

use super::error::SplitError;

/// One gibibyte: JEDI's `nGBPerJob` counts in units of 2^30 bytes.
pub const GIB: u64 = 1 << 30;

/// JEDI's expected output per job when the task gives no output estimate: 1500 MiB.
pub const DEFAULT_OUTPUT_ALLOWANCE: u64 = 1500 << 20;

/// JEDI's limit on input files per job when no rule sets one.
pub const DEFAULT_MAX_FILES_PER_JOB: u64 = 200;

/// JEDI's limit on the bytes of a job when no files, events or size rule is set.
pub const DEFAULT_BYTES_PER_JOB: u64 = 20 * GIB;

/// JEDI's limit on all files of a job, primary pieces and secondaries together.
pub const MAX_TOTAL_FILES_PER_JOB: u64 = 1000;

/// How to cut a file list into jobs; every field is optional, as in a PanDA task's split rule.
///
/// Counts are signed so that a caller's zero or negative value is reported rather than wrapped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules {
    /// Exactly this many files per job (the last job of a boundary group may have fewer);
    /// JEDI's `nFilesPerJob` (`NF`). Takes precedence over every size limit.
    pub n_files_per_job: Option<i64>,
    /// At most this many GiB of input per job; JEDI's `nGBPerJob` (`NG`).
    pub n_gb_per_job: Option<f64>,
    /// Events per job, with event ranges carrying across file ends; JEDI's `nEventsPerJob`.
    pub n_events_per_job: Option<i64>,
    /// At most this many primary files (or file pieces) per job; JEDI's `nMaxFilesPerJob`.
    /// Default: 200.
    pub max_files_per_job: Option<i64>,
    /// Every file counts as holding this many events, whatever its `nevents` column says;
    /// JEDI's `nEventsPerInputFile`.
    pub n_events_per_file: Option<i64>,
    /// Bytes reserved in each job's size limit for its output. Default: 1500 MiB, JEDI's.
    pub output_allowance: Option<i64>,
    /// Columns whose change of value ends a job: a job never spans two runs, for example.
    pub boundaries: Vec<String>,
}

/// How a secondary dataset joins the jobs of the primary file list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SecondaryRules {
    /// Secondary files per primary file: a job with `n` primary files (or pieces) takes the
    /// next `ceil(n * ratio)` files. Required unless `nosplit`.
    pub ratio: Option<f64>,
    /// Every job takes all files of the dataset (pile-up, calibration).
    pub nosplit: bool,
    /// Start again from the first file when the dataset runs out, instead of giving the
    /// remaining jobs fewer files.
    pub repeat: bool,
}

/// The rules after checking: unsigned limits and the mode that decides how jobs close.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Limits {
    pub files_per_job: Option<u64>,
    pub max_files: u64,
    /// The most input bytes a job may take, its output allowance already deducted.
    pub max_input_bytes: Option<u64>,
    pub events_per_job: Option<u64>,
    pub events_per_file: Option<u64>,
    pub max_total_files: u64,
}

impl Rules {
    /// Checks every value and the combination, and derives the limits that JEDI would apply.
    pub(crate) fn limits(&self) -> Result<Limits, SplitError> {
        let files_per_job = positive("n_files_per_job", self.n_files_per_job)?;
        let events_per_job = positive("n_events_per_job", self.n_events_per_job)?;
        let max_files = positive("max_files_per_job", self.max_files_per_job)?;
        let events_per_file = positive("n_events_per_file", self.n_events_per_file)?;
        let allowance = match self.output_allowance {
            None => DEFAULT_OUTPUT_ALLOWANCE,
            Some(value) if value >= 0 => value as u64,
            Some(value) => {
                return Err(SplitError::NotPositive {
                    rule: "output_allowance",
                    value: value.to_string(),
                })
            }
        };
        let gb_bytes = match self.n_gb_per_job {
            None => None,
            Some(gb) if gb.is_finite() && gb > 0.0 => {
                let bytes = gb * GIB as f64;
                if bytes >= u64::MAX as f64 {
                    return Err(SplitError::Overflow(format!("n_gb_per_job={gb} GiB")));
                }
                Some(bytes as u64)
            }
            Some(gb) => {
                return Err(SplitError::NotPositive {
                    rule: "n_gb_per_job",
                    value: gb.to_string(),
                })
            }
        };

        if files_per_job.is_some() && events_per_job.is_some() {
            return Err(SplitError::Conflict(
                "n_files_per_job and n_events_per_job both fix the size of a job; give one".into(),
            ));
        }
        if files_per_job.is_some() && gb_bytes.is_some() {
            return Err(SplitError::Conflict(
                "n_files_per_job fixes the files of a job, so n_gb_per_job would be ignored \
                 (as JEDI does silently); give one"
                    .into(),
            ));
        }
        if let (Some(files), Some(max)) = (files_per_job, max_files) {
            if max < files {
                return Err(SplitError::Conflict(format!(
                    "n_files_per_job={files} is more than max_files_per_job={max}"
                )));
            }
        }

        // JEDI's size check lets a job grow to its limit minus the output it expects; with no
        // output estimate the whole allowance is expected, so `NG` GiB remain for input and
        // the 20 GiB default leaves 20 GiB minus the allowance.
        let max_input_bytes = match (gb_bytes, files_per_job, events_per_job) {
            (Some(bytes), _, _) => Some(bytes),
            (None, None, None) => Some(DEFAULT_BYTES_PER_JOB.saturating_sub(allowance)),
            _ => None,
        };

        Ok(Limits {
            files_per_job,
            max_files: files_per_job
                .or(max_files)
                .unwrap_or(DEFAULT_MAX_FILES_PER_JOB),
            max_input_bytes,
            events_per_job,
            events_per_file,
            max_total_files: MAX_TOTAL_FILES_PER_JOB,
        })
    }
}

impl SecondaryRules {
    /// Checks the ratio against `nosplit`; `index` names the dataset in errors.
    pub(crate) fn check(&self, index: usize) -> Result<(), SplitError> {
        match (self.ratio, self.nosplit) {
            (Some(_), true) => Err(SplitError::Conflict(format!(
                "secondary dataset {index} is nosplit, so every job takes all its files; \
                 a ratio cannot apply"
            ))),
            (None, false) => Err(SplitError::Conflict(format!(
                "secondary dataset {index} needs a ratio (files per primary file) or nosplit"
            ))),
            (Some(ratio), false) if !(ratio.is_finite() && ratio > 0.0) => {
                Err(SplitError::NotPositive {
                    rule: "ratio",
                    value: ratio.to_string(),
                })
            }
            _ => Ok(()),
        }
    }
}

fn positive(rule: &'static str, value: Option<i64>) -> Result<Option<u64>, SplitError> {
    match value {
        None => Ok(None),
        Some(value) if value > 0 => Ok(Some(value as u64)),
        Some(value) => Err(SplitError::NotPositive {
            rule,
            value: value.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_set_gives_jedi_defaults() {
        let limits = Rules::default().limits().unwrap();
        assert_eq!(limits.max_files, 200);
        assert_eq!(
            limits.max_input_bytes,
            Some(20 * GIB - DEFAULT_OUTPUT_ALLOWANCE)
        );
        assert_eq!(limits.files_per_job, None);
    }

    #[test]
    fn gb_per_job_leaves_the_allowance_for_output() {
        let rules = Rules {
            n_gb_per_job: Some(10.0),
            ..Rules::default()
        };
        assert_eq!(rules.limits().unwrap().max_input_bytes, Some(10 * GIB));
    }

    #[test]
    fn zero_and_negative_limits_are_refused() {
        for rules in [
            Rules {
                n_files_per_job: Some(0),
                ..Rules::default()
            },
            Rules {
                n_events_per_job: Some(-5),
                ..Rules::default()
            },
            Rules {
                n_gb_per_job: Some(f64::NAN),
                ..Rules::default()
            },
        ] {
            let error = rules.limits().unwrap_err();
            assert!(matches!(error, SplitError::NotPositive { .. }), "{error}");
        }
    }

    #[test]
    fn files_per_job_conflicts_with_events_and_size() {
        let both = Rules {
            n_files_per_job: Some(5),
            n_gb_per_job: Some(2.0),
            ..Rules::default()
        };
        assert!(matches!(both.limits(), Err(SplitError::Conflict(_))));
        let more_than_max = Rules {
            n_files_per_job: Some(5),
            max_files_per_job: Some(4),
            ..Rules::default()
        };
        assert!(matches!(
            more_than_max.limits(),
            Err(SplitError::Conflict(_))
        ));
    }
}
