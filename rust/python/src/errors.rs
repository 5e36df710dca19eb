//! The one place where core errors become Python exceptions of `bmnflow.errors`.

use bmnflow_core::{ErrorKind, ServiceError};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A core error, flattened so that it can cross threads and become a Python exception later.
#[derive(Debug)]
pub struct CoreError {
    kind: ErrorKind,
    service: &'static str,
    message: String,
    server_class: Option<String>,
    status: Option<u16>,
    details: Option<serde_json::Value>,
}

impl CoreError {
    /// A bug in bmnflow, such as a panic: never the caller's fault.
    pub fn internal(message: String) -> Self {
        Self {
            kind: ErrorKind::Internal,
            service: "bmnflow",
            message,
            server_class: None,
            status: None,
            details: None,
        }
    }
}

impl<E: ServiceError> From<E> for CoreError {
    fn from(error: E) -> Self {
        Self {
            kind: error.kind(),
            service: error.service(),
            message: error.to_string(),
            server_class: error.server_class().map(str::to_owned),
            status: error.status(),
            details: error.details(),
        }
    }
}

/// The name of the `bmnflow.errors` class for each kind.
fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Configuration => "ConfigurationError",
        ErrorKind::Authentication => "AuthenticationError",
        ErrorKind::NotFound => "NotFoundError",
        ErrorKind::AlreadyExists => "AlreadyExistsError",
        ErrorKind::InvalidInput => "InvalidInputError",
        ErrorKind::Server => "ServerError",
        ErrorKind::Transport => "TransportError",
        ErrorKind::Timeout => "TimeoutError",
        ErrorKind::Internal => "InternalError",
    }
}

impl From<CoreError> for PyErr {
    fn from(error: CoreError) -> Self {
        Python::attach(|py| match build(py, &error) {
            Ok(exception) => exception,
            // Only reachable when bmnflow.errors cannot be imported; keep the message anyway.
            Err(import_error) => PyRuntimeError::new_err(format!(
                "{} (bmnflow.errors unavailable: {import_error})",
                error.message
            )),
        })
    }
}

fn build(py: Python<'_>, error: &CoreError) -> PyResult<PyErr> {
    let module = py.import("bmnflow.errors")?;
    let class = module.getattr(class_name(error.kind))?;

    let kwargs = PyDict::new(py);
    kwargs.set_item("service", error.service)?;
    kwargs.set_item("server_class", error.server_class.as_deref())?;
    kwargs.set_item("status", error.status)?;
    if let Some(details) = &error.details {
        let json = py.import("json")?;
        kwargs.set_item(
            "details",
            json.call_method1("loads", (details.to_string(),))?,
        )?;
    }

    let instance = class.call((error.message.as_str(),), Some(&kwargs))?;
    Ok(PyErr::from_value(instance))
}
