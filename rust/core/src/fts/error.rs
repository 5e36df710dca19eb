//! The one error type of the FTS client, carrying what FTS itself said.

use serde_json::{json, Value};

use crate::error::{ErrorKind, ServiceError};
use crate::http::HttpError;

/// One refused row of a transfer list, found before anything was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputProblem {
    /// The row of the input (0-based).
    pub row: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// A failure of the FTS client.
#[derive(Debug, thiserror::Error)]
pub enum FtsError {
    /// Transfers or parameters refused before anything was sent.
    #[error("{}", invalid_message(.problems))]
    InvalidInput { problems: Vec<InputProblem> },

    /// A setting of the client is unusable (URL, credentials, options).
    #[error("invalid FTS configuration: {0}")]
    Config(String),

    /// FTS answered with an error status; `message` is FTS's own `message` field.
    #[error("FTS {method} {path}: HTTP {status} {server_class}: {message}")]
    Server {
        method: String,
        path: String,
        status: u16,
        server_class: String,
        message: String,
    },

    /// No usable answer arrived (connection, timeout, TLS).
    #[error(transparent)]
    Http(HttpError),

    /// FTS answered, but not with what its API promises.
    #[error("FTS {what}: unexpected answer: {message}")]
    Decode { what: String, message: String },

    /// Part of a bulk operation was done and part was not; `details` says which.
    #[error("{message}")]
    Partial {
        message: String,
        kind: ErrorKind,
        details: Value,
    },
}

fn invalid_message(problems: &[InputProblem]) -> String {
    let shown: Vec<String> = problems
        .iter()
        .take(5)
        .map(|p| format!("row {}: {}", p.row, p.reason))
        .collect();
    let more = problems.len().saturating_sub(shown.len());
    let tail = if more > 0 {
        format!("; and {more} more")
    } else {
        String::new()
    };
    format!(
        "{} invalid transfer(s), nothing was sent: {}{tail}",
        problems.len(),
        shown.join("; ")
    )
}

impl FtsError {
    /// A refusal of the input as a whole (not tied to one row).
    pub fn invalid(reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            problems: vec![InputProblem {
                row: 0,
                reason: reason.into(),
            }],
        }
    }

    /// Whether a deterministic submission met a job that exists already.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Server { status: 409, .. })
    }

    /// Whether the server does not know the object.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Server { status: 404, .. })
    }
}

impl From<HttpError> for FtsError {
    fn from(error: HttpError) -> Self {
        match error {
            HttpError::Status {
                method,
                url,
                status,
                body,
            } => {
                // FTS answers errors as {"status": "409 Conflict", "message": "..."}.
                let parsed: Option<Value> = serde_json::from_str(&body).ok();
                let field = |name: &str| {
                    parsed
                        .as_ref()
                        .and_then(|v| v.get(name))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                let server_class = field("status")
                    .and_then(|s| s.split_once(' ').map(|(_, text)| text.to_owned()))
                    .unwrap_or_else(|| status_text(status).to_owned());
                let message = field("message").unwrap_or(body);
                let path = url::Url::parse(&url)
                    .map(|u| u.path().to_owned())
                    .unwrap_or(url);
                Self::Server {
                    method,
                    path,
                    status,
                    server_class,
                    message,
                }
            }
            other => Self::Http(other),
        }
    }
}

fn status_text(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        419 => "Authentication Timeout",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

impl ServiceError for FtsError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidInput { .. } => ErrorKind::InvalidInput,
            Self::Config(_) => ErrorKind::Configuration,
            Self::Server { status, .. } => ErrorKind::from_status(*status),
            Self::Http(error) => error.kind(),
            Self::Decode { .. } => ErrorKind::Server,
            Self::Partial { kind, .. } => *kind,
        }
    }

    fn service(&self) -> &'static str {
        "fts"
    }

    fn server_class(&self) -> Option<&str> {
        match self {
            Self::Server { server_class, .. } => Some(server_class),
            _ => None,
        }
    }

    fn status(&self) -> Option<u16> {
        match self {
            Self::Server { status, .. } => Some(*status),
            Self::Http(error) => error.status(),
            _ => None,
        }
    }

    fn details(&self) -> Option<Value> {
        match self {
            Self::InvalidInput { problems } => Some(json!({
                "sent": false,
                "invalid": problems
                    .iter()
                    .map(|p| json!({"row": p.row, "reason": p.reason}))
                    .collect::<Vec<_>>(),
            })),
            Self::Partial { details, .. } => Some(details.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_error_bodies_keep_the_server_message_and_class() {
        let error = FtsError::from(HttpError::Status {
            method: "POST".into(),
            url: "http://127.0.0.1:1/fts/jobs".into(),
            status: 409,
            body: r#"{"status": "409 Conflict", "message": "The sid provided is duplicated"}"#
                .into(),
        });
        assert!(error.is_conflict());
        assert_eq!(error.kind(), ErrorKind::AlreadyExists);
        assert_eq!(error.server_class(), Some("Conflict"));
        assert_eq!(
            error.to_string(),
            "FTS POST /fts/jobs: HTTP 409 Conflict: The sid provided is duplicated"
        );
    }

    #[test]
    fn invalid_input_lists_rows_and_says_nothing_was_sent() {
        let problems = (0..7)
            .map(|row| InputProblem {
                row,
                reason: "no sources".into(),
            })
            .collect();
        let error = FtsError::InvalidInput { problems };
        let text = error.to_string();
        assert!(
            text.starts_with("7 invalid transfer(s), nothing was sent: row 0"),
            "{text}"
        );
        assert!(text.ends_with("and 2 more"), "{text}");
        assert_eq!(
            error.details().unwrap()["invalid"]
                .as_array()
                .unwrap()
                .len(),
            7
        );
    }
}
