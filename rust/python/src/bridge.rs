//! Running core futures from Python: blocking calls release the interpreter, async calls
//! return awaitables, and a panic becomes `bmnflow.errors.InternalError` in both.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use bmnflow_core::runtime::runtime;
use pyo3::prelude::*;
use tokio::task::{JoinError, JoinHandle};

use crate::errors::CoreError;

/// Hands this process's runtime to pyo3-async-runtimes before its first awaitable. Nothing
/// starts at import: a process that only imports bmnflow (Airflow's scheduler, which forks
/// the workers) then has no runtime whose threads its forked children would miss.
fn init_async() {
    // Set once per process; a later call (or a second import) finds it set: that is fine.
    let _ = pyo3_async_runtimes::tokio::init_with_runtime(runtime());
}

/// Runs `future` to completion on the shared runtime with the interpreter released.
pub fn block_on<F, T>(py: Python<'_>, future: F) -> Result<T, CoreError>
where
    F: Future<Output = Result<T, CoreError>> + Send + 'static,
    T: Send + 'static,
{
    // Spawning (rather than block_on of the future itself) confines a panic to its task.
    py.detach(|| match runtime().block_on(runtime().spawn(future)) {
        Ok(result) => result,
        Err(join) => Err(from_join_error(join)),
    })
}

/// Returns an awaitable for `future`; cancelling the awaitable aborts the Rust task.
pub fn awaitable<'py, F, T>(py: Python<'py>, future: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<T, CoreError>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    init_async();
    let task = AbortOnDrop(runtime().spawn(future));
    pyo3_async_runtimes::tokio::future_into_py(py, async move {
        match task.await {
            Ok(result) => result.map_err(PyErr::from),
            Err(join) => Err(from_join_error(join).into()),
        }
    })
}

/// Runs synchronous core code, turning a panic into an exception instead of an abort.
pub fn guard<T>(work: impl FnOnce() -> Result<T, CoreError>) -> Result<T, CoreError> {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| Err(panic_error(panic.as_ref())))
}

/// A join handle that aborts its task when dropped, so a cancelled awaitable stops the work.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn from_join_error(join: JoinError) -> CoreError {
    match join.try_into_panic() {
        Ok(panic) => panic_error(panic.as_ref()),
        Err(join) => CoreError::internal(format!("bmnflow task ended unexpectedly: {join}")),
    }
}

fn panic_error(panic: &(dyn std::any::Any + Send)) -> CoreError {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without message".to_owned());
    CoreError::internal(format!(
        "internal error in bmnflow (please report it): {message}"
    ))
}
