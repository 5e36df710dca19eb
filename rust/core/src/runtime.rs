//! The one tokio runtime of a process, created on first use.
//!
//! A process forked from one that had started the runtime (Airflow's LocalExecutor forks
//! its workers from the scheduler, Celery forks from its parent) inherits the runtime's
//! state but none of its threads, so anything run on it would wait forever: the runtime
//! belongs to a process id, and a forked child builds its own on first use.

use std::sync::{Mutex, PoisonError};

use tokio::runtime::{Builder, Runtime};

/// The runtime and the process it was built in.
static RUNTIME: Mutex<Option<(u32, &'static Runtime)>> = Mutex::new(None);

fn build() -> Runtime {
    // Two workers are plenty: the work is waiting on sockets, and Airflow processes are many.
    Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bmnflow-rt")
        .enable_all()
        .build()
        .expect("the tokio runtime must start: the process is out of threads or file handles")
}

/// The shared runtime; every blocking and async entry point of bmnflow runs on it.
pub fn runtime() -> &'static Runtime {
    let pid = std::process::id();
    let mut current = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    match *current {
        Some((owner, runtime)) if owner == pid => runtime,
        _ => {
            // The parent's runtime, if any, is leaked: its threads are not in this process,
            // so it can neither run nor shut down here.
            let runtime: &'static Runtime = Box::leak(Box::new(build()));
            *current = Some((pid, runtime));
            runtime
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_is_built_once_per_process() {
        let first: *const Runtime = runtime();
        let second: *const Runtime = runtime();
        assert_eq!(first, second);
        assert_eq!(runtime().block_on(async { 40 + 2 }), 42);
    }
}
