//! Running core futures from Python: blocking calls release the interpreter, async calls
//! return awaitables, and a panic becomes `bmnflow.errors.InternalError` in both.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};

use bmnflow_core::runtime::runtime;
use pyo3::prelude::*;
use pyo3::types::PyCFunction;
use pyo3::IntoPyObjectExt;
use tokio::task::JoinError;

use crate::errors::CoreError;
use crate::interpreter::with_python;

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

/// Returns an asyncio future for `future`, bound to the running event loop; cancelling it
/// aborts the Rust task.
///
/// The result reaches the loop through `call_soon_threadsafe`, from a runtime thread that
/// calls into Python only through [`with_python`], so nothing touches a finalizing
/// interpreter. A runtime built per process (and not pyo3-async-runtimes' process-wide one)
/// keeps this working in processes forked by Airflow's executors.
pub fn awaitable<'py, F, T>(py: Python<'py>, future: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<T, CoreError>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let py_future = event_loop.call_method0("create_future")?;
    let task = runtime().spawn(future);

    let abort = task.abort_handle();
    let on_done = PyCFunction::new_closure(py, None, None, move |args, _| -> PyResult<()> {
        if args.get_item(0)?.call_method0("cancelled")?.is_truthy()? {
            abort.abort();
        }
        Ok(())
    })?;
    py_future.call_method1("add_done_callback", (on_done,))?;

    let (event_loop, target) = (event_loop.unbind(), py_future.clone().unbind());
    runtime().spawn(async move {
        let outcome = match task.await {
            Ok(result) => result,
            // Aborted because the awaitable was cancelled: nobody waits for a result.
            Err(join) if join.is_cancelled() => return,
            Err(join) => Err(from_join_error(join)),
        };
        with_python(|py| {
            if let Err(error) = resolve(py, &event_loop, &target, outcome) {
                // The loop is closed: its owner went away, and so did the interest in the result.
                tracing::debug!(%error, "could not hand a result to its event loop");
            }
        });
    });
    Ok(py_future)
}

/// Sets the result or exception of `target` on its own loop's thread.
fn resolve<T>(
    py: Python<'_>,
    event_loop: &Py<PyAny>,
    target: &Py<PyAny>,
    outcome: Result<T, CoreError>,
) -> PyResult<()>
where
    T: for<'a> IntoPyObject<'a>,
{
    let (ok, value) = match outcome {
        Ok(value) => (true, value.into_bound_py_any(py)?),
        Err(error) => (
            false,
            PyErr::from(error).into_value(py).into_bound(py).into_any(),
        ),
    };
    let settle = py.import("bmnflow._bridge")?.getattr("settle")?;
    event_loop
        .bind(py)
        .call_method1("call_soon_threadsafe", (settle, target.bind(py), ok, value))?;
    Ok(())
}

/// Runs synchronous core code, turning a panic into an exception instead of an abort.
pub fn guard<T>(work: impl FnOnce() -> Result<T, CoreError>) -> Result<T, CoreError> {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| Err(panic_error(panic.as_ref())))
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
