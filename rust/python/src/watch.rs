//! `bmnflow._core.watch`: waits through the process's shared watcher.

use std::time::Duration;

use bmnflow_core::watch::{self, Connection, ObjectKind, SourceError};
use bmnflow_core::ErrorKind;
use pyo3::prelude::*;
use serde_json::json;

use crate::bridge::{awaitable, guard};
use crate::errors::CoreError;

pub fn register(parent: &Bound<'_, PyModule>) -> PyResult<()> {
    let module = PyModule::new(parent.py(), "watch")?;
    module.add_function(wrap_pyfunction!(wait_some, &module)?)?;
    module.add_function(wrap_pyfunction!(stats, &module)?)?;
    parent.add_submodule(&module)?;
    Ok(())
}

/// Waits until any of `ids` ended or `timeout` seconds passed; returns the report as JSON
/// (`{"ended": {id: outcome}, "pending": {id: state}}`). `connection` is the Airflow
/// connection in its JSON form.
#[pyfunction]
fn wait_some<'py>(
    py: Python<'py>,
    kind: &str,
    conn_id: &str,
    connection: &str,
    ids: Vec<String>,
    timeout: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let invalid =
        |message: String| CoreError::from(SourceError::new(ErrorKind::InvalidInput, message));
    let kind: ObjectKind = kind.parse().map_err(invalid)?;
    let timeout = Duration::try_from_secs_f64(timeout)
        .map_err(|_| invalid(format!("timeout {timeout} is not a duration")))?;
    let connection = Connection::parse(conn_id, connection).map_err(CoreError::from)?;
    awaitable(py, async move {
        let source = watch::cached_source(kind, &connection)?;
        let report = watch::wait_some(watch::shared(), source, &ids, timeout).await?;
        serde_json::to_string(&report)
            .map_err(|e| CoreError::internal(format!("cannot encode a wait report: {e}")))
    })
}

/// The shared watcher's counters and objects per endpoint and kind, as JSON.
#[pyfunction]
fn stats() -> PyResult<String> {
    Ok(guard(|| {
        let watcher = watch::shared();
        let objects: Vec<_> = watcher
            .snapshot()
            .into_iter()
            .map(|group| ((group.key.kind, group.key.endpoint), group.objects.len()))
            .collect();
        let rows: Vec<_> = watcher
            .stats()
            .into_iter()
            .map(|(key, stats)| {
                let waiting = objects
                    .iter()
                    .find(|((kind, endpoint), _)| *kind == key.kind && *endpoint == key.endpoint)
                    .map_or(0, |(_, count)| *count);
                json!({
                    "kind": key.kind, "endpoint": key.endpoint, "objects": waiting,
                    "requests": stats.requests, "calls": stats.calls, "errors": stats.errors,
                })
            })
            .collect();
        Ok(serde_json::Value::from(rows).to_string())
    })?)
}
