//! A client for the Rucio REST API: DIDs, replicas, rules and subscriptions.
//!
//! Every call validates its input before sending anything, bulk calls are split below the
//! server's limits and run a few chunks at a time, and a failure names exactly which items
//! were stored and which were not.
//!
//! Limitation: Kerberos (`/auth/gss`) is not offered; it needs a GSSAPI system library and a
//! web server that sets `REMOTE_USER`, and neither exists in the embedded grid.

mod auth;
mod bulk;
mod client;
mod dids;
mod error;
mod replicas;
mod rules;
mod subscriptions;
mod table;
pub mod validate;
mod wait;

pub use auth::Credentials;
pub use client::{RucioClient, RucioConfig};
pub use dids::{Did, DidType, NewDid};
pub use error::RucioError;
pub use replicas::{FileSpec, RegisterReport};
pub use rules::{Rule, RuleSpec};
pub use subscriptions::SubscriptionSpec;
pub use table::{file_schema, files_from_batch, FileRow};
pub use wait::WaitOptions;
