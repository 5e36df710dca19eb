//! The one tokio runtime of a process, created on first use.

use std::sync::LazyLock;

use tokio::runtime::{Builder, Runtime};

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    // Two workers are plenty: the work is waiting on sockets, and Airflow processes are many.
    Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bmnflow-rt")
        .enable_all()
        .build()
        .expect("the tokio runtime must start: the process is out of threads or file handles")
});

/// The shared runtime; every blocking and async entry point of bmnflow runs on it.
pub fn runtime() -> &'static Runtime {
    &RUNTIME
}
