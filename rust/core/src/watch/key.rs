//! What identifies a waited-on object: the service kind, the endpoint, whose credentials ask,
//! and the object's own id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The kinds of remote object the watcher waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// An FTS job, by its job id (a UUID).
    FtsJob,
    /// A PanDA task, by its `jediTaskID`.
    PandaTask,
    /// A Rucio replication rule, by its rule id.
    RucioRule,
}

impl ObjectKind {
    /// Every kind, in a stable order (for metrics that list all kinds).
    pub const ALL: [ObjectKind; 3] = [Self::FtsJob, Self::PandaTask, Self::RucioRule];

    /// The stable name used in APIs, logs and metrics: `fts_job`, `panda_task`, `rucio_rule`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FtsJob => "fts_job",
            Self::PandaTask => "panda_task",
            Self::RucioRule => "rucio_rule",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ObjectKind {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| {
                format!("unknown object kind {name:?}: expected fts_job, panda_task or rucio_rule")
            })
    }
}

/// One service endpoint as seen with one set of credentials, for one kind of object.
///
/// Two waits share a poll loop exactly when their keys are equal: the same objects asked of the
/// same server by the same identity give the same answers. The identity is a description such
/// as `userpass:root` or a digest of a token, never the credential itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SourceKey {
    /// What is waited on.
    pub kind: ObjectKind,
    /// The service's base URL; the per-endpoint request budget is keyed by it.
    pub endpoint: String,
    /// Who asks, without any secret.
    pub identity: String,
}

impl SourceKey {
    /// A key from its parts.
    pub fn new(kind: ObjectKind, endpoint: impl Into<String>, identity: impl Into<String>) -> Self {
        Self {
            kind,
            endpoint: endpoint.into(),
            identity: identity.into(),
        }
    }
}

impl fmt::Display for SourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {} as {}", self.kind, self.endpoint, self.identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in ObjectKind::ALL {
            assert_eq!(kind.as_str().parse::<ObjectKind>(), Ok(kind));
        }
        let error = "fts".parse::<ObjectKind>().unwrap_err();
        assert!(error.contains("fts_job"), "{error}");
    }
}
