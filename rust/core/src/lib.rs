//! bmnflow-core: the logic of bmnflow, free of Python.
//!
//! Every service client (Rucio, PanDA, FTS), the job splitter and the batched watcher live
//! here and are tested here; the PyO3 layer, the sidecar and the embedded grid only call in.

pub mod error;
pub mod fts;
pub mod http;
pub mod panda;
pub mod rucio;
pub mod runtime;
pub mod secret;
pub mod split;
pub mod watch;

pub use error::{ErrorKind, ServiceError};
pub use secret::Secret;
