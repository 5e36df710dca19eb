//! The one error type of the Rucio client, keeping the server's `ExceptionClass`.

use serde_json::Value;

use crate::error::{ErrorKind, ServiceError};
use crate::http::HttpError;

/// A failed Rucio call, or one refused before it was sent.
#[derive(Debug, thiserror::Error)]
pub enum RucioError {
    /// The input was refused by bmnflow; nothing was sent.
    #[error("invalid input (nothing sent): {0}")]
    Invalid(String),

    /// The server refused the request and said why.
    #[error("Rucio {class} (HTTP {status}) on {request}: {message}")]
    Server {
        /// Method and path of the failing request.
        request: String,
        /// The HTTP status.
        status: u16,
        /// The server's `ExceptionClass`, such as `DataIdentifierNotFound`.
        class: String,
        /// The server's `ExceptionMessage`.
        message: String,
    },

    /// The request got no usable answer.
    #[error(transparent)]
    Http(#[from] HttpError),

    /// Part of a bulk call failed: `details` lists what was stored and what failed.
    #[error("{message}")]
    Partial {
        /// A summary naming the failed items.
        message: String,
        /// The kind of the first underlying failure.
        kind: ErrorKind,
        /// The first underlying server exception class, if any.
        class: Option<String>,
        /// `{"stored": [...], "failed": [{"did", "class", "message"}]}`.
        details: Value,
    },

    /// A rule reached a state it will not leave by itself (STUCK past the grace, SUSPENDED).
    #[error("rule {rule_id} is {state}: {message}")]
    RuleFailed {
        /// The rule.
        rule_id: String,
        /// Its state.
        state: String,
        /// The rule's own error text and lock counts.
        message: String,
        /// The rule's lock counts and error, for the caller to act upon.
        details: Value,
    },

    /// Waiting for a rule took longer than allowed.
    #[error("rule {rule_id} still {state} after {waited_s} s")]
    WaitTimeout {
        /// The rule.
        rule_id: String,
        /// The last state seen.
        state: String,
        /// Seconds waited.
        waited_s: u64,
    },

    /// The server's answer could not be decoded.
    #[error("undecodable Rucio answer to {request}: {message}")]
    Decode {
        /// Method and path of the request.
        request: String,
        /// What was wrong.
        message: String,
    },
}

impl RucioError {
    /// The error the server described in its body (or headers), or the HTTP error as is.
    pub(crate) fn from_http(request: &str, error: HttpError) -> Self {
        let HttpError::Status { status, body, .. } = &error else {
            return Self::Http(error);
        };
        let parsed: Option<Value> = serde_json::from_str(body).ok();
        let field = |key: &str| {
            parsed
                .as_ref()
                .and_then(|v| v.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        match field("ExceptionClass") {
            Some(class) => Self::Server {
                request: request.to_owned(),
                status: *status,
                class,
                message: field("ExceptionMessage").unwrap_or_default(),
            },
            None => Self::Http(error),
        }
    }

    /// The server's exception class, when the server sent one.
    pub fn class(&self) -> Option<&str> {
        match self {
            Self::Server { class, .. } => Some(class),
            Self::Partial { class, .. } => class.as_deref(),
            _ => None,
        }
    }

    /// Whether the server answered with the exception class `class`.
    pub fn is_class(&self, class: &str) -> bool {
        self.class() == Some(class)
    }
}

/// The kind of a Rucio exception class; the HTTP status decides for classes not listed.
fn kind_of_class(class: &str, status: u16) -> ErrorKind {
    match class {
        "DataIdentifierNotFound"
        | "ScopeNotFound"
        | "RSENotFound"
        | "RuleNotFound"
        | "SubscriptionNotFound"
        | "AccountNotFound"
        | "ReplicaNotFound" => ErrorKind::NotFound,
        "DataIdentifierAlreadyExists"
        | "Duplicate"
        | "DuplicateRule"
        | "DuplicateContent"
        | "SubscriptionDuplicate"
        | "FileAlreadyExists"
        | "ScopeAlreadyExists" => ErrorKind::AlreadyExists,
        "InvalidObject"
        | "InvalidRSEExpression"
        | "InvalidPath"
        | "InvalidType"
        | "FileConsistencyMismatch"
        | "UnsupportedOperation"
        | "InvalidValueForKey"
        | "KeyNotFound"
        | "InvalidMetadata"
        | "InvalidReplicationRule"
        | "InvalidRuleWeight"
        | "StagingAreaRuleRequiresLifetime"
        | "InsufficientTargetRSEs" => ErrorKind::InvalidInput,
        "CannotAuthenticate" | "AccessDenied" | "CannotAuthorize" => ErrorKind::Authentication,
        "InsufficientAccountLimit" | "RSEWriteBlocked" => ErrorKind::InvalidInput,
        _ => ErrorKind::from_status(status),
    }
}

impl ServiceError for RucioError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) => ErrorKind::InvalidInput,
            Self::Server { status, class, .. } => kind_of_class(class, *status),
            Self::Http(error) => error.kind(),
            Self::Partial { kind, .. } => *kind,
            Self::RuleFailed { .. } => ErrorKind::Server,
            Self::WaitTimeout { .. } => ErrorKind::Timeout,
            Self::Decode { .. } => ErrorKind::Server,
        }
    }

    fn service(&self) -> &'static str {
        "rucio"
    }

    fn server_class(&self) -> Option<&str> {
        self.class()
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
            Self::Partial { details, .. } | Self::RuleFailed { details, .. } => {
                Some(details.clone())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, body: &str) -> HttpError {
        HttpError::Status {
            method: "POST".into(),
            url: "http://x/rules/".into(),
            status,
            body: body.into(),
        }
    }

    #[test]
    fn the_server_class_decides_the_kind() {
        let body = r#"{"ExceptionClass": "InvalidObject", "ExceptionMessage": "too long"}"#;
        let error = RucioError::from_http("POST /dids/attachments", status(500, body));
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert_eq!(error.server_class(), Some("InvalidObject"));
        assert!(error.to_string().contains("too long"), "{error}");
    }

    #[test]
    fn an_answer_without_class_stays_an_http_error() {
        let error = RucioError::from_http("GET /ping", status(502, "bad gateway"));
        assert!(matches!(error, RucioError::Http(_)));
        assert_eq!(error.kind(), ErrorKind::Server);
        assert_eq!(error.status(), Some(502));
    }
}
