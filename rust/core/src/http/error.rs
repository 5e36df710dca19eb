//! Failures of the HTTP layer, before any service gives them meaning.

use crate::error::{ErrorKind, ServiceError};

/// A request that did not produce a usable answer.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The endpoint's configuration is unusable.
    #[error("invalid endpoint configuration: {0}")]
    Config(String),

    /// No answer arrived: connection refused or reset, DNS, TLS.
    #[error("{method} {url}: no answer after {attempts} attempt(s): {message}")]
    Transport {
        method: String,
        url: String,
        attempts: u32,
        message: String,
    },

    /// The request took longer than its timeout.
    #[error("{method} {url}: timed out after {attempts} attempt(s)")]
    Timeout {
        method: String,
        url: String,
        attempts: u32,
    },

    /// The server answered with an error status; the body is kept for the service to parse.
    #[error("{method} {url}: HTTP {status}: {body}")]
    Status {
        method: String,
        url: String,
        status: u16,
        body: String,
    },

    /// The answer arrived but could not be decoded.
    #[error("{method} {url}: undecodable answer: {message}")]
    Decode {
        method: String,
        url: String,
        message: String,
    },
}

impl ServiceError for HttpError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Config(_) => ErrorKind::Configuration,
            Self::Transport { .. } => ErrorKind::Transport,
            Self::Timeout { .. } => ErrorKind::Timeout,
            Self::Status { status, .. } => ErrorKind::from_status(*status),
            Self::Decode { .. } => ErrorKind::Server,
        }
    }

    fn service(&self) -> &'static str {
        "http"
    }

    fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}
