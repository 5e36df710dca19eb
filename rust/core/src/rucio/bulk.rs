//! The outcome of a bulk call split into chunks: which items were stored, which failed, why.

use serde_json::{json, Value};

use super::RucioError;
use crate::error::{ErrorKind, ServiceError};

/// Collects per-item outcomes of a chunked call and turns failures into one partial error.
#[derive(Debug, Default)]
pub(crate) struct BulkOutcome {
    stored: Vec<String>,
    failed: Vec<Failure>,
}

#[derive(Debug)]
struct Failure {
    item: String,
    kind: ErrorKind,
    class: Option<String>,
    message: String,
}

impl BulkOutcome {
    /// Records items the server stored (or held already, identically).
    pub(crate) fn stored(&mut self, items: impl IntoIterator<Item = String>) {
        self.stored.extend(items);
    }

    /// Records items that failed with `error`.
    pub(crate) fn failed(&mut self, items: impl IntoIterator<Item = String>, error: &RucioError) {
        for item in items {
            self.failed.push(Failure {
                item,
                kind: error.kind(),
                class: error.class().map(str::to_owned),
                message: error.to_string(),
            });
        }
    }

    /// Records one item refused for a reason found by the client, such as a checksum conflict.
    pub(crate) fn conflict(&mut self, item: String, class: &str, message: String) {
        self.failed.push(Failure {
            item,
            kind: ErrorKind::AlreadyExists,
            class: Some(class.to_owned()),
            message,
        });
    }

    /// How many items were stored.
    pub(crate) fn stored_count(&self) -> usize {
        self.stored.len()
    }

    /// `Ok` with the number stored when nothing failed, else a [`RucioError::Partial`] whose
    /// details list every stored and every failed item.
    pub(crate) fn finish(self, what: &str) -> Result<usize, RucioError> {
        let Some(first) = self.failed.first() else {
            return Ok(self.stored.len());
        };
        let mut names: Vec<&str> = self
            .failed
            .iter()
            .take(5)
            .map(|f| f.item.as_str())
            .collect();
        if self.failed.len() > names.len() {
            names.push("...");
        }
        let message = format!(
            "{what}: {} item(s) failed ({}), {} stored; first error: {}",
            self.failed.len(),
            names.join(", "),
            self.stored.len(),
            first.message
        );
        let failed: Vec<Value> = self
            .failed
            .iter()
            .map(|f| json!({"did": f.item, "class": f.class, "message": f.message}))
            .collect();
        Err(RucioError::Partial {
            message,
            kind: first.kind,
            class: first.class.clone(),
            details: json!({"stored": self.stored, "failed": failed}),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_every_item_and_keep_the_first_class() {
        let mut outcome = BulkOutcome::default();
        outcome.stored(["s:a".to_owned(), "s:b".to_owned()]);
        outcome.conflict(
            "s:c".into(),
            "FileConsistencyMismatch",
            "adler32 differs".into(),
        );
        let error = outcome.finish("registering files").unwrap_err();

        assert_eq!(error.server_class(), Some("FileConsistencyMismatch"));
        assert_eq!(error.kind(), ErrorKind::AlreadyExists);
        let details = error.details().unwrap();
        assert_eq!(details["stored"], json!(["s:a", "s:b"]));
        assert_eq!(details["failed"][0]["did"], "s:c");
        assert!(
            error
                .to_string()
                .contains("1 item(s) failed (s:c), 2 stored"),
            "{error}"
        );
    }

    #[test]
    fn nothing_failed_is_success() {
        let mut outcome = BulkOutcome::default();
        outcome.stored(["s:a".to_owned()]);
        assert_eq!(outcome.finish("x").unwrap(), 1);
    }
}
