//! bmnflow-gridsim: the embedded grid. One process serves FTS3 REST under `/fts`, PanDA under
//! `/api/v1` and storage endpoints under `/storage`, on one loopback port, backed by local
//! folders. The binary (`main.rs`) only parses flags and runs [`server`].

pub mod auth;
pub mod checksum;
pub mod config;
pub mod faults;
pub mod fts;
pub mod panda;
pub mod server;
pub mod storage;
