//! The classification every service error shares, so that the Python edge maps errors once.

use std::fmt;

/// What went wrong, independent of the service that reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The caller's configuration is unusable (bad URL, missing certificate file, ...).
    Configuration,
    /// The service refused the credentials, or none could be obtained.
    Authentication,
    /// The object asked for does not exist (or no longer exists).
    NotFound,
    /// The object to be created exists already.
    AlreadyExists,
    /// The request was refused as malformed, before or after sending it.
    InvalidInput,
    /// The service failed while handling a well-formed request.
    Server,
    /// The request never got an answer: connection refused, reset, TLS failure.
    Transport,
    /// The request or the wait took longer than allowed.
    Timeout,
    /// A bug in bmnflow itself, such as a panic; never the caller's fault.
    Internal,
}

impl ErrorKind {
    /// The stable lowercase name used in logs and by the Python exception mapping.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Configuration => "configuration",
            Self::Authentication => "authentication",
            Self::NotFound => "not_found",
            Self::AlreadyExists => "already_exists",
            Self::InvalidInput => "invalid_input",
            Self::Server => "server",
            Self::Transport => "transport",
            Self::Timeout => "timeout",
            Self::Internal => "internal",
        }
    }

    /// The kind that an HTTP error status stands for.
    pub fn from_status(status: u16) -> Self {
        match status {
            400 | 405 | 406 | 411 | 413 | 414 | 415 | 422 => Self::InvalidInput,
            401 | 403 | 419 => Self::Authentication,
            404 | 410 => Self::NotFound,
            409 => Self::AlreadyExists,
            408 | 504 => Self::Timeout,
            _ => Self::Server,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of one service client, with what the server itself said about it.
///
/// Each service module has its own error type implementing this trait; the Python layer turns
/// any of them into the matching `bmnflow.errors` exception without knowing the service.
pub trait ServiceError: std::error::Error + Send + Sync + 'static {
    /// The classification used to choose the Python exception.
    fn kind(&self) -> ErrorKind;

    /// The service that failed: `rucio`, `panda`, `fts`, `http`, `split`, ...
    fn service(&self) -> &'static str;

    /// The server's own exception class (Rucio `ExceptionClass`), when it sent one.
    fn server_class(&self) -> Option<&str> {
        None
    }

    /// The HTTP status of the failing answer, when there was one.
    fn status(&self) -> Option<u16> {
        None
    }

    /// Structured detail for partial failures: what was done and what was not.
    fn details(&self) -> Option<serde_json::Value> {
        None
    }
}
