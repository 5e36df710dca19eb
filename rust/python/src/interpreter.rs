//! Calls into Python from the runtime's threads, and the shutdown that ends them.
//!
//! A thread that takes the interpreter lock while Python is finalizing is terminated by
//! CPython in a way Rust frames cannot survive (the process aborts). Every call into Python
//! from a thread that Python did not start goes through [`with_python`], and `shutdown`, run
//! by `atexit` before finalization begins, waits until none is in progress and lets no new one
//! start.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);
static IN_PYTHON: AtomicUsize = AtomicUsize::new(0);

/// Runs `work` with the interpreter; `None` once the interpreter is shutting down.
pub fn with_python<R>(work: impl FnOnce(Python<'_>) -> R) -> Option<R> {
    if SHUTTING_DOWN.load(Ordering::SeqCst) {
        return None;
    }

    IN_PYTHON.fetch_add(1, Ordering::SeqCst);
    // Checked again after announcing ourselves: `shutdown` sets the flag, then waits for the
    // count, so either it sees this call or this call sees the flag.
    let result = if SHUTTING_DOWN.load(Ordering::SeqCst) {
        None
    } else {
        Some(Python::attach(work))
    };
    IN_PYTHON.fetch_sub(1, Ordering::SeqCst);
    result
}

/// Whether the interpreter is shutting down, for callers that would do work only for Python.
pub fn shutting_down() -> bool {
    SHUTTING_DOWN.load(Ordering::SeqCst)
}

/// Stops all calls from Rust threads into Python; registered with `atexit`.
#[pyfunction]
pub fn shutdown(py: Python<'_>) {
    SHUTTING_DOWN.store(true, Ordering::SeqCst);

    // Calls under way may be waiting for the lock this thread holds: release it while waiting.
    // A call that never ends (a hung logging handler) must not hang the exit, hence the bound.
    py.detach(|| {
        let deadline = Instant::now() + Duration::from_secs(2);
        while IN_PYTHON.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}
