//! The interface a service offers the watcher: answer many objects at once, and, where the
//! service can, say which objects changed since a moment.

use std::time::SystemTime;

use futures::future::BoxFuture;

use super::{Budget, Observation, SourceKey};
use crate::error::{ErrorKind, ServiceError};

/// A service that reports on many objects of one kind in bulk.
///
/// Implementations take one token from the [`Budget`] before each request they send, so that
/// the endpoint's request budget holds whatever the batch size.
pub trait Source: Send + Sync + 'static {
    /// The endpoint, identity and kind this source answers for.
    fn key(&self) -> &SourceKey;

    /// Refuses an id the service could never know (a PanDA task id that is not a number),
    /// before anything is sent.
    fn validate(&self, id: &str) -> Result<(), String> {
        let _ = id;
        Ok(())
    }

    /// Reads the current state of `ids`, as few requests as the service allows.
    ///
    /// Ids missing from the answer are taken as not yet known and asked again later.
    fn read<'a>(&'a self, ids: &'a [String], budget: &'a Budget) -> BoxFuture<'a, Answer>;

    /// The objects that changed since `since` (terminal ones at least), or `None` when the
    /// service cannot list changes; then the watcher reads every object instead.
    fn changed_since<'a>(
        &'a self,
        since: SystemTime,
        budget: &'a Budget,
    ) -> BoxFuture<'a, Result<Option<Changes>, SourceError>> {
        let _ = (since, budget);
        Box::pin(async { Ok(None) })
    }

    /// A web page about the object for people (a monitor, a web UI), when there is one.
    fn link(&self, id: &str) -> Option<String> {
        let _ = id;
        None
    }
}

/// The answer to a bulk read: what was learnt, and the error that stopped the rest, if any.
#[derive(Debug, Default)]
pub struct Answer {
    /// One observation per object the service answered for.
    pub observations: Vec<(String, Observation)>,
    /// Why some objects got no answer; `None` when every request succeeded.
    pub error: Option<SourceError>,
}

impl Answer {
    /// A complete answer.
    pub fn complete(observations: Vec<(String, Observation)>) -> Self {
        Self {
            observations,
            error: None,
        }
    }

    /// An answer where nothing could be read.
    pub fn failed(error: SourceError) -> Self {
        Self {
            observations: Vec::new(),
            error: Some(error),
        }
    }
}

/// Objects that changed in a window, as listed by the service.
#[derive(Debug, Default)]
pub struct Changes {
    /// What the listing said; objects not waited on are ignored by the watcher.
    pub observations: Vec<(String, Observation)>,
    /// False when the listing hit a server limit and may miss changes; the watcher then
    /// reads every object instead.
    pub complete: bool,
}

/// A failed request of a source, reduced to what the watcher decides on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SourceError {
    /// The classification; it decides between retrying and telling the waiters.
    pub kind: ErrorKind,
    /// What went wrong, as the service client said it.
    pub message: String,
}

impl SourceError {
    /// An error from its parts.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The watcher's view of a service client error.
    pub fn from_service(error: &impl ServiceError) -> Self {
        Self::new(error.kind(), error.to_string())
    }

    /// Whether asking again later may succeed: overloaded or unreachable servers, timeouts.
    ///
    /// Refused credentials and unusable configuration are told to the waiters instead, so
    /// that a task fails with the reason rather than waiting until its timeout.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Server | ErrorKind::Transport | ErrorKind::Timeout
        )
    }
}

impl ServiceError for SourceError {
    fn kind(&self) -> ErrorKind {
        self.kind
    }

    fn service(&self) -> &'static str {
        "watch"
    }
}
