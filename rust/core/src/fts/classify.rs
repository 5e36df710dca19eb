//! Whether a failed file transfer is worth submitting again, judged from FTS's reason string.
//!
//! FTS reports a failure as free text from gfal2 and the storage (`SOURCE [2] ... No such file
//! or directory`, `TRANSFER [110] ... Connection timed out`). The patterns below name the
//! failures that another attempt cannot fix; everything else (timeouts, refused connections,
//! overloaded storage, unknown text) is worth another attempt, which `max_attempts` bounds.

use std::sync::LazyLock;

use regex::RegexSet;

use super::model::FileState;

/// What another attempt can do about a failed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Transient: the same transfer may succeed later.
    Recoverable,
    /// Another attempt would fail the same way, or nobody wants one (cancelled).
    Final,
}

impl Failure {
    /// The lowercase name used in the result table.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recoverable => "recoverable",
            Self::Final => "final",
        }
    }
}

static FINAL: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        // The source replica is gone or unreadable for good.
        r"(?i)no such file or directory",
        r"(?i)\bENOENT\b",
        r"(?i)file not found",
        r"(?i)(source|file) does not exist",
        r"(?i)\b404\b.*not found",
        // The caller may not read the source or write the destination.
        r"(?i)permission denied",
        r"(?i)\bEACCES\b",
        r"(?i)\bEPERM\b",
        r"(?i)operation not permitted",
        r"(?i)\b403\b.*forbidden",
        // The destination exists and the job forbids overwriting it.
        r"(?i)destination (file )?exists",
        r"(?i)\bEEXIST\b",
        // The source does not have the checksum the caller stated: the replica is bad.
        r"(?i)^\s*source\s+(\[\d+\]\s*)?checksum mismatch",
        r"(?i)user defined checksum and source checksum do not match",
        // The request itself is wrong.
        r"(?i)invalid (source|destination)? ?(url|surl)",
        r"(?i)protocol not supported",
        r"(?i)\bEINVAL\b",
        // The destination has no room and another attempt will not make some.
        r"(?i)no space left",
        r"(?i)\bENOSPC\b",
        r"(?i)quota exceeded",
    ])
    .expect("the final-failure patterns are valid regular expressions")
});

/// Classifies a file that ended in `state` with FTS's `reason`.
///
/// A cancelled file is final: someone decided it should not be copied. A failed file is final
/// when its reason matches a known permanent failure, and recoverable otherwise.
pub fn classify(state: FileState, reason: &str) -> Failure {
    match state {
        FileState::Canceled => Failure::Final,
        _ if FINAL.is_match(reason) => Failure::Final,
        _ => Failure::Recoverable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(reason: &str) -> Failure {
        classify(FileState::Failed, reason)
    }

    #[test]
    fn missing_sources_are_final() {
        assert_eq!(
            failed("SOURCE [2] Result HTTP 404 : File not found  after 1 attempts"),
            Failure::Final
        );
        assert_eq!(
            failed("SOURCE [2] srm-ifce err: No such file or directory, err: [SE][Ls]"),
            Failure::Final
        );
    }

    #[test]
    fn refused_permissions_full_storage_and_bad_checksums_are_final() {
        assert_eq!(failed("DESTINATION [13] Permission denied"), Failure::Final);
        assert_eq!(
            failed("DESTINATION [17] Destination file exists and overwrite is not enabled"),
            Failure::Final
        );
        assert_eq!(
            failed("DESTINATION [28] No space left on device"),
            Failure::Final
        );
        assert_eq!(
            failed("SOURCE CHECKSUM MISMATCH User defined checksum and source checksum do not match 0cc737eb != 12345678"),
            Failure::Final
        );
    }

    #[test]
    fn timeouts_and_transient_errors_are_recoverable() {
        for reason in [
            "TRANSFER [110] Connection timed out",
            "TRANSFER [70] globus_xio: System error in connect: Connection refused",
            "DESTINATION [70] Result HTTP 503 : Service Unavailable",
            "DESTINATION CHECKSUM MISMATCH Source and destination checksums do not match",
            "Transfer canceled because the gsiftp performance marker timeout of 360 seconds has been exceeded",
            "",
            "something nobody has seen before",
        ] {
            assert_eq!(failed(reason), Failure::Recoverable, "{reason}");
        }
    }

    #[test]
    fn cancelled_files_are_final_whatever_the_reason() {
        assert_eq!(
            classify(FileState::Canceled, "TRANSFER [110] Connection timed out"),
            Failure::Final
        );
    }
}
