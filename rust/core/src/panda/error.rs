//! The error type of the PanDA client.

use crate::error::{ErrorKind, ServiceError};
use crate::http::HttpError;

/// A PanDA call that failed, a task specification that was refused before sending, or
/// credentials that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PandaError {
    /// The request did not get a usable HTTP answer.
    #[error(transparent)]
    Http(#[from] HttpError),

    /// The server answered `success: false`; `code` is the return code in `data`, if any.
    #[error("PanDA {call} refused: {message}")]
    Refused {
        call: &'static str,
        message: String,
        code: Option<i64>,
        kind: ErrorKind,
    },

    /// The answer was not the `{success, message, data}` JSON the call expects.
    #[error("PanDA {call}: unexpected answer: {message}")]
    Decode { call: &'static str, message: String },

    /// The task specification breaks a rule; nothing was sent.
    #[error("invalid PanDA task specification: {}", problems.join("; "))]
    InvalidSpec { problems: Vec<String> },

    /// A bad argument to a client call; nothing was sent.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The credentials cannot be used: unreadable token file, expired token, ...
    #[error("{0}")]
    Credentials(String),

    /// The client configuration is unusable.
    #[error("invalid PanDA configuration: {0}")]
    Config(String),
}

impl PandaError {
    /// A refusal whose kind follows from the message and return code of the server.
    pub(crate) fn refused(call: &'static str, message: String, code: Option<i64>) -> Self {
        let kind = refusal_kind(call, &message, code);
        Self::Refused {
            call,
            message,
            code,
            kind,
        }
    }
}

/// What a `success: false` answer means: the server reports authentication problems,
/// missing tasks and bad arguments all the same way, so the message and code tell them apart.
fn refusal_kind(call: &str, message: &str, code: Option<i64>) -> ErrorKind {
    let lower = message.to_ascii_lowercase();
    if lower.contains("ssl secure connection is required")
        || lower.contains("role required")
        || lower.contains("permission denied")
        || lower.contains("is banned")
    {
        return ErrorKind::Authentication;
    }
    if lower.contains("not found") {
        return ErrorKind::NotFound;
    }
    if lower.contains("type error") || lower.contains("must be an integer") {
        return ErrorKind::InvalidInput;
    }
    match (call, code) {
        ("task/submit", Some(1 | 2)) => ErrorKind::AlreadyExists,
        ("task/submit", Some(11)) => ErrorKind::NotFound,
        ("task/submit", _) => ErrorKind::Server,
        (_, Some(2)) => ErrorKind::NotFound,
        (_, Some(3 | 100)) => ErrorKind::Authentication,
        (_, Some(4 | 101)) => ErrorKind::InvalidInput,
        _ => ErrorKind::Server,
    }
}

impl ServiceError for PandaError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Http(error) => error.kind(),
            Self::Refused { kind, .. } => *kind,
            Self::Decode { .. } => ErrorKind::Server,
            Self::InvalidSpec { .. } | Self::InvalidArgument(_) => ErrorKind::InvalidInput,
            Self::Credentials(_) => ErrorKind::Authentication,
            Self::Config(_) => ErrorKind::Configuration,
        }
    }

    fn service(&self) -> &'static str {
        "panda"
    }

    fn status(&self) -> Option<u16> {
        match self {
            Self::Http(error) => error.status(),
            Self::Refused { .. } | Self::Decode { .. } => Some(200),
            _ => None,
        }
    }

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            Self::Refused { call, code, .. } => {
                Some(serde_json::json!({ "call": call, "code": code }))
            }
            Self::InvalidSpec { problems } => Some(serde_json::json!({ "problems": problems })),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_classified_by_message_and_code() {
        let kind =
            |call, message: &str, code| PandaError::refused(call, message.into(), code).kind();
        assert_eq!(
            kind("task/get_status", "SSL secure connection is required", None),
            ErrorKind::Authentication
        );
        assert_eq!(
            kind("task/get_status", "Task not found", None),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind("task/submit", "jediTaskID=4 is in the running", Some(2)),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            kind("task/kill", "jediTaskID=9 not found", Some(2)),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind("task/kill", "Command rejected: the kill", Some(4)),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            kind("task/submit", "failed to register task", Some(4)),
            ErrorKind::Server
        );
    }
}
