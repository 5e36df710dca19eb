//! What a source reports about one object, and what a wait finally yields.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ErrorKind;

/// One answer of a service about one object.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// Still on its way; `state` is the service's own state name (`ACTIVE`, `running`, ...).
    Active {
        /// The service's state name.
        state: String,
    },
    /// In a state it will not leave by itself (`FINISHED`, `done`, `OK`, ...).
    Terminal {
        /// The service's state name.
        state: String,
        /// What the caller needs besides the state (failure reason, file counts, ...).
        detail: Value,
    },
    /// The service does not know the object: purged, deleted, or never created.
    Gone {
        /// The service's own words.
        message: String,
    },
}

impl Observation {
    /// The service's state name; `None` for a gone object.
    pub fn state(&self) -> Option<&str> {
        match self {
            Self::Active { state } | Self::Terminal { state, .. } => Some(state),
            Self::Gone { .. } => None,
        }
    }
}

/// How a wait ended. Every wait ends with one of these, never with a hang.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The object reached a terminal state, which may be a failure of the object itself.
    Terminal {
        /// The service's state name.
        state: String,
        /// What the caller needs besides the state.
        detail: Value,
    },
    /// The object no longer exists (an FTS job purged, a rule deleted) or never did.
    Gone {
        /// The service's own words.
        message: String,
    },
    /// The service refused to answer in a way that retrying cannot fix (credentials,
    /// configuration, an id it rejects), or the watcher itself failed.
    Failed {
        /// The classification, as in every other bmnflow error.
        #[serde(with = "kind_name")]
        kind: ErrorKind,
        /// What went wrong.
        message: String,
    },
}

impl Outcome {
    /// The short name of the outcome: `terminal`, `gone` or `failed`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Terminal { .. } => "terminal",
            Self::Gone { .. } => "gone",
            Self::Failed { .. } => "failed",
        }
    }
}

/// [`ErrorKind`] as its stable lowercase name in JSON.
mod kind_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::error::ErrorKind;

    const KINDS: [ErrorKind; 9] = [
        ErrorKind::Configuration,
        ErrorKind::Authentication,
        ErrorKind::NotFound,
        ErrorKind::AlreadyExists,
        ErrorKind::InvalidInput,
        ErrorKind::Server,
        ErrorKind::Transport,
        ErrorKind::Timeout,
        ErrorKind::Internal,
    ];

    pub fn serialize<S: Serializer>(kind: &ErrorKind, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(kind.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ErrorKind, D::Error> {
        let name = String::deserialize(deserializer)?;
        KINDS
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown error kind {name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn outcomes_are_tagged_json_and_read_back() {
        let failed = Outcome::Failed {
            kind: ErrorKind::Authentication,
            message: "token refused".into(),
        };
        let text = serde_json::to_value(&failed).unwrap();
        assert_eq!(
            text,
            json!({"outcome": "failed", "kind": "authentication", "message": "token refused"})
        );
        assert_eq!(serde_json::from_value::<Outcome>(text).unwrap(), failed);

        let terminal = json!({"outcome": "terminal", "state": "FINISHED", "detail": {"n": 1}});
        let parsed: Outcome = serde_json::from_value(terminal).unwrap();
        assert_eq!(parsed.name(), "terminal");
    }
}
