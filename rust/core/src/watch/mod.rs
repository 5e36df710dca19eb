//! Batched waiting: one poller for every object a process waits on.
//!
//! A [`Watcher`] holds every waited-on object, grouped by [`SourceKey`] (kind, endpoint and
//! identity). Identical waits share one entry. Each group has one poll loop that asks its
//! [`Source`] about all objects at once, through a change listing where the service has one,
//! at an interval that is quick after a change and grows while nothing changes. Each endpoint
//! has a request budget ([`TokenBucket`]) that no loop exceeds. A wait ends with an
//! [`Outcome`]: terminal, gone, or failed with a typed error; transient errors only delay it.

mod budget;
mod config;
mod connection;
mod group;
mod interval;
mod key;
mod long_poll;
mod outcome;
mod poller;
pub mod services;
mod shared;
mod source;
mod stats;
mod watcher;

#[cfg(test)]
mod tests;

pub use budget::{Budget, TokenBucket};
pub use config::WatchConfig;
pub use connection::{Connection, ENV_PREFIX};
pub use group::{ObjectSnapshot, Progress};
pub use key::{ObjectKind, SourceKey};
pub use long_poll::{wait_some, WaitReport};
pub use outcome::{Observation, Outcome};
pub use shared::{cached_source, shared};
pub use source::{Answer, Changes, Source, SourceError};
pub use stats::{Stats, StatsSnapshot, LATENCY_BUCKETS};
pub use watcher::{first_outcomes, GroupSnapshot, Wait, Watcher};
