//! `bmnflow._core.diagnostics`: self-checks of the bridge between Rust and Python, used by
//! `python -m bmnflow doctor` and by the tests of the bridge itself.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bmnflow_core::http::{Endpoint, EndpointConfig, HttpError, Idempotency};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::bridge;
use crate::errors::CoreError;

/// How many diagnostic sleeps were dropped before their end (cancelled from Python).
static SLEEPS_DROPPED: AtomicU64 = AtomicU64::new(0);

pub fn register(parent: &Bound<'_, PyModule>) -> PyResult<()> {
    let module = PyModule::new(parent.py(), "diagnostics")?;
    module.add_function(wrap_pyfunction!(panic, &module)?)?;
    module.add_function(wrap_pyfunction!(panic_blocking, &module)?)?;
    module.add_function(wrap_pyfunction!(panic_async, &module)?)?;
    module.add_function(wrap_pyfunction!(sleep, &module)?)?;
    module.add_function(wrap_pyfunction!(sleep_blocking, &module)?)?;
    module.add_function(wrap_pyfunction!(sleeps_dropped, &module)?)?;
    module.add_function(wrap_pyfunction!(log, &module)?)?;
    module.add_function(wrap_pyfunction!(http_get, &module)?)?;
    parent.add_submodule(&module)?;
    Ok(())
}

/// Panics on the calling thread; must surface as `bmnflow.errors.InternalError`.
#[pyfunction]
fn panic(message: String) -> Result<(), CoreError> {
    bridge::guard(|| panic!("{message}"))
}

/// Panics inside a runtime task that the calling thread blocks on.
#[pyfunction]
fn panic_blocking(py: Python<'_>, message: String) -> Result<(), CoreError> {
    bridge::block_on(py, async move { panic!("{message}") })
}

/// Panics inside an awaited Rust future when `message` is not empty; else resolves to true.
#[pyfunction]
fn panic_async(py: Python<'_>, message: String) -> PyResult<Bound<'_, PyAny>> {
    bridge::awaitable(py, async move {
        if !message.is_empty() {
            panic!("{message}");
        }
        Ok(true)
    })
}

/// Sleeps in Rust for `seconds`, as an awaitable; a cancelled sleep is counted.
#[pyfunction]
fn sleep(py: Python<'_>, seconds: f64) -> PyResult<Bound<'_, PyAny>> {
    bridge::awaitable(py, async move {
        let guard = CountIfDropped;
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        std::mem::forget(guard);
        Ok(seconds)
    })
}

/// Sleeps in Rust for `seconds` with the interpreter released.
#[pyfunction]
fn sleep_blocking(py: Python<'_>, seconds: f64) -> Result<f64, CoreError> {
    bridge::block_on(py, async move {
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        Ok(seconds)
    })
}

/// How many `sleep` awaitables were cancelled before they ended.
#[pyfunction]
fn sleeps_dropped() -> u64 {
    SLEEPS_DROPPED.load(Ordering::SeqCst)
}

/// Emits one tracing event at `level` from a runtime thread, with `fields` as key-values.
#[pyfunction]
#[pyo3(signature = (level, message, fields=None))]
fn log(
    py: Python<'_>,
    level: &str,
    message: String,
    fields: Option<Bound<'_, PyDict>>,
) -> Result<(), CoreError> {
    let pairs: Vec<(String, String)> = fields
        .map(|d| {
            d.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let level = level.to_ascii_lowercase();
    bridge::block_on(py, async move {
        let fields = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>();
        let fields = fields.join(" ");
        match level.as_str() {
            "debug" => tracing::debug!(fields = %fields, "{message}"),
            "info" => tracing::info!(fields = %fields, "{message}"),
            "warning" => tracing::warn!(fields = %fields, "{message}"),
            _ => tracing::error!(fields = %fields, "{message}"),
        }
        Ok(())
    })
}

/// Fetches `url` through the core's HTTP layer; returns `(status, body)`.
#[pyfunction]
#[pyo3(signature = (url, *, timeout=10.0, verify_tls=true, ca_dir=None, retries=0))]
fn http_get(
    py: Python<'_>,
    url: &str,
    timeout: f64,
    verify_tls: bool,
    ca_dir: Option<std::path::PathBuf>,
    retries: u32,
) -> Result<(u16, String), CoreError> {
    let mut config = EndpointConfig::parse(url)?;
    config.request_timeout = Duration::from_secs_f64(timeout);
    config.verify_tls = verify_tls;
    config.ca_dir = ca_dir;
    config.retry.max_retries = retries;
    let endpoint = Endpoint::new(config)?;

    bridge::block_on(py, async move {
        let response = endpoint
            .send(Idempotency::Idempotent, |client| {
                client.get(endpoint.config().base_url.clone())
            })
            .await?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(|e| HttpError::Decode {
            method: "GET".into(),
            url: endpoint.config().base_url.to_string(),
            message: e.to_string(),
        })?;
        Ok((status, body))
    })
}

struct CountIfDropped;

impl Drop for CountIfDropped {
    fn drop(&mut self) {
        SLEEPS_DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}
