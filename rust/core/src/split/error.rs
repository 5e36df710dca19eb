//! The one error type of the job splitter: every failure is bad input, found before any job.

use crate::error::{ErrorKind, ServiceError};

/// Why a file list, or the rules given for it, cannot be split into jobs.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    /// A column that the rules need is not in the file list.
    #[error("the {dataset} has no column `{column}`{hint}")]
    MissingColumn {
        /// `primary file list` or `secondary dataset N`.
        dataset: String,
        /// The column looked for.
        column: String,
        /// Extra advice, such as the columns that are there.
        hint: String,
    },

    /// A column has a type the splitter cannot read.
    #[error("column `{column}` of the {dataset} has type {found}; expected {expected}")]
    ColumnType {
        /// `primary file list` or `secondary dataset N`.
        dataset: String,
        /// The column concerned.
        column: String,
        /// Its Arrow type.
        found: String,
        /// What the splitter accepts.
        expected: &'static str,
    },

    /// A required column has a null value.
    #[error("column `{column}` of the {dataset} is null at row {row}{hint}")]
    Null {
        /// `primary file list` or `secondary dataset N`.
        dataset: String,
        /// The column concerned.
        column: String,
        /// The first row (0-based, over the whole table) holding a null.
        row: usize,
        /// Extra advice, such as a rule that would make the column unnecessary.
        hint: &'static str,
    },

    /// A size or event count is negative.
    #[error("column `{column}` of the {dataset} is negative ({value}) at row {row}")]
    Negative {
        /// `primary file list` or `secondary dataset N`.
        dataset: String,
        /// The column concerned.
        column: String,
        /// The first row (0-based) holding a negative value.
        row: usize,
        /// The value found there.
        value: i64,
    },

    /// A rule was given a value that is zero, negative or not a number.
    #[error("{rule} must be a positive number, got {value}")]
    NotPositive {
        /// The rule's name as the Python API spells it.
        rule: &'static str,
        /// The value given, as text.
        value: String,
    },

    /// Two rules cannot both hold.
    #[error("conflicting rules: {0}")]
    Conflict(String),

    /// A rule needs event counts that the file list does not give.
    #[error("{rule} needs the number of events of every file: {reason}")]
    MissingEvents {
        /// The rule that needs them.
        rule: &'static str,
        /// What is missing and how to provide it.
        reason: String,
    },

    /// A count or a sum does not fit the output's integer types.
    #[error("overflow: {0}")]
    Overflow(String),
}

impl ServiceError for SplitError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidInput
    }

    fn service(&self) -> &'static str {
        "split"
    }
}
