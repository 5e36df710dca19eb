//! `bmnflow._core.PandaClient`: the PanDA client and task builder of the core, for Python.

use std::path::PathBuf;
use std::time::Duration;

use bmnflow_core::panda::{
    render_task_parameters, validate, PandaAuth, PandaClient as Core, PandaConfig, PandaError,
    PollConfig, RetryOptions, TaskSpec, TokenSource,
};
use bmnflow_core::Secret;
use pyo3::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::bridge::{awaitable, block_on};
use crate::errors::CoreError;

/// A PanDA client; blocking methods, and async twins for what triggers await.
#[pyclass(module = "bmnflow._core", name = "PandaClient", frozen)]
pub struct PandaClient {
    core: Core,
}

fn error(error: PandaError) -> PyErr {
    CoreError::from(error).into()
}

/// A Python object as JSON, through the json module.
fn to_json(value: &Bound<'_, PyAny>) -> PyResult<Value> {
    let text: String = value
        .py()
        .import("json")?
        .call_method1("dumps", (value,))?
        .extract()?;
    serde_json::from_str(&text).map_err(|e| {
        error(PandaError::InvalidArgument(format!(
            "not JSON-serialisable: {e}"
        )))
    })
}

fn to_object(value: &Bound<'_, PyAny>) -> PyResult<Map<String, Value>> {
    match to_json(value)? {
        Value::Object(map) => Ok(map),
        _ => Err(error(PandaError::InvalidArgument("expected a dict".into()))),
    }
}

fn to_spec(value: &Bound<'_, PyAny>) -> PyResult<TaskSpec> {
    serde_json::from_value(to_json(value)?).map_err(|e| {
        error(PandaError::InvalidSpec {
            problems: vec![e.to_string()],
        })
    })
}

/// A core value as a Python object (dicts and lists), through the json module.
fn to_py<'py>(py: Python<'py>, value: &impl Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value)
        .map_err(|e| CoreError::internal(format!("cannot encode a PanDA answer: {e}")))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// A core result as JSON text, to cross from an async task back to Python.
fn encoded<T: Serialize>(result: Result<T, PandaError>) -> Result<String, CoreError> {
    let value = result?;
    serde_json::to_string(&value)
        .map_err(|e| CoreError::internal(format!("cannot encode a PanDA answer: {e}")))
}

#[pymethods]
impl PandaClient {
    #[new]
    #[pyo3(signature = (
        url, *, vo = None, role = None, token = None, token_file = None, proxy = None,
        ca_dir = None, verify_tls = true, timeout = 120.0, retries = 5,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        url: &str,
        vo: Option<String>,
        role: Option<String>,
        token: Option<String>,
        token_file: Option<PathBuf>,
        proxy: Option<PathBuf>,
        ca_dir: Option<PathBuf>,
        verify_tls: bool,
        timeout: f64,
        retries: u32,
    ) -> PyResult<Self> {
        let source = match (token, token_file) {
            (Some(_), Some(_)) => {
                return Err(error(PandaError::Config(
                    "give either token or token_file, not both".into(),
                )))
            }
            (Some(token), None) => Some(TokenSource::Value(Secret::new(token))),
            (None, Some(path)) => Some(TokenSource::File(path)),
            (None, None) => None,
        };
        let auth = match (source, proxy) {
            (Some(_), Some(_)) => {
                return Err(error(PandaError::Config(
                    "give either a token or an X.509 proxy, not both".into(),
                )))
            }
            (Some(token), None) => PandaAuth::Token {
                token,
                vo: vo.unwrap_or_default(),
                role,
            },
            (None, Some(proxy)) => PandaAuth::X509 {
                proxy,
                ca_dir: ca_dir.clone(),
            },
            (None, None) => PandaAuth::Anonymous,
        };
        let mut config = PandaConfig::new(url, auth).map_err(error)?;
        config.endpoint.verify_tls = verify_tls;
        config.endpoint.request_timeout = Duration::from_secs_f64(timeout.max(0.001));
        config.endpoint.retry.max_retries = retries;
        if config.endpoint.ca_dir.is_none() {
            config.endpoint.ca_dir = ca_dir;
        }
        Ok(Self {
            core: Core::new(config).map_err(error)?,
        })
    }

    /// Validates and renders a task spec, then submits it; returns the submission.
    fn submit_spec<'py>(
        &self,
        py: Python<'py>,
        spec: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let spec = to_spec(spec)?;
        let core = self.core.clone();
        let submission = block_on(py, async move { Ok(core.submit_spec(&spec).await?) })?;
        to_py(py, &submission)
    }

    /// Submits task parameters as they are; returns the submission.
    #[pyo3(signature = (task_parameters, parent_task_id = None))]
    fn submit_task<'py>(
        &self,
        py: Python<'py>,
        task_parameters: &Bound<'py, PyAny>,
        parent_task_id: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let parameters = to_object(task_parameters)?;
        let core = self.core.clone();
        let submission = block_on(py, async move {
            Ok(core.submit_task(&parameters, parent_task_id).await?)
        })?;
        to_py(py, &submission)
    }

    /// The status of a task.
    fn task_status(&self, py: Python<'_>, task_id: u64) -> Result<String, CoreError> {
        let core = self.core.clone();
        block_on(py, async move { Ok(core.task_status(task_id).await?) })
    }

    /// The status of a task, as an awaitable.
    fn task_status_async<'py>(&self, py: Python<'py>, task_id: u64) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        awaitable(py, async move { Ok(core.task_status(task_id).await?) })
    }

    /// The details of a task.
    #[pyo3(signature = (task_id, include_parameters = false, include_status = true))]
    fn task_details<'py>(
        &self,
        py: Python<'py>,
        task_id: u64,
        include_parameters: bool,
        include_status: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        let details = block_on(py, async move {
            Ok(core
                .task_details(task_id, include_parameters, include_status)
                .await?)
        })?;
        to_py(py, &details)
    }

    /// The task parameters a task was submitted with.
    fn task_parameters<'py>(&self, py: Python<'py>, task_id: u64) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        let parameters = block_on(py, async move { Ok(core.task_parameters(task_id).await?) })?;
        to_py(py, &parameters)
    }

    /// The PanDA ids of every job of a task.
    fn task_job_ids(&self, py: Python<'_>, task_id: u64) -> Result<Vec<u64>, CoreError> {
        let core = self.core.clone();
        block_on(py, async move { Ok(core.task_job_ids(task_id).await?) })
    }

    /// The caller's tasks modified since `since` (`YYYY-MM-DD HH:MM:SS`, UTC).
    #[pyo3(signature = (since, source_label = String::from("user"), full = false, min_task_id = None))]
    fn tasks_modified_since<'py>(
        &self,
        py: Python<'py>,
        since: String,
        source_label: String,
        full: bool,
        min_task_id: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        let tasks = block_on(py, async move {
            Ok(core
                .tasks_modified_since(&since, &source_label, full, min_task_id)
                .await?)
        })?;
        to_py(py, &tasks)
    }

    /// Asks the server to kill a task; returns its message.
    #[pyo3(signature = (task_id, broadcast = false))]
    fn kill_task(
        &self,
        py: Python<'_>,
        task_id: u64,
        broadcast: bool,
    ) -> Result<String, CoreError> {
        let core = self.core.clone();
        block_on(
            py,
            async move { Ok(core.kill_task(task_id, broadcast).await?) },
        )
    }

    /// Asks the server to kill a task, as an awaitable (for a trigger's `on_kill`).
    #[pyo3(signature = (task_id, broadcast = false))]
    fn kill_task_async<'py>(
        &self,
        py: Python<'py>,
        task_id: u64,
        broadcast: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        awaitable(
            py,
            async move { Ok(core.kill_task(task_id, broadcast).await?) },
        )
    }

    /// Asks the server to finish a task; returns its message.
    #[pyo3(signature = (task_id, soft = false, broadcast = false))]
    fn finish_task(
        &self,
        py: Python<'_>,
        task_id: u64,
        soft: bool,
        broadcast: bool,
    ) -> Result<String, CoreError> {
        let core = self.core.clone();
        block_on(py, async move {
            Ok(core.finish_task(task_id, soft, broadcast).await?)
        })
    }

    /// Asks the server to retry a finished or failed task; returns its message.
    #[pyo3(signature = (task_id, new_parameters = None))]
    fn retry_task(
        &self,
        py: Python<'_>,
        task_id: u64,
        new_parameters: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        let options = RetryOptions {
            new_parameters: new_parameters.map(to_object).transpose()?,
            ..RetryOptions::default()
        };
        let core = self.core.clone();
        Ok(block_on(py, async move {
            Ok(core.retry_task(task_id, &options).await?)
        })?)
    }

    /// Job descriptions, in order; `None` for unknown ids.
    fn job_descriptions<'py>(
        &self,
        py: Python<'py>,
        job_ids: Vec<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        let jobs = block_on(
            py,
            async move { Ok(core.job_descriptions(&job_ids).await?) },
        )?;
        to_py(py, &jobs)
    }

    /// The light status of jobs, in order.
    fn job_statuses<'py>(&self, py: Python<'py>, job_ids: Vec<u64>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        let statuses = block_on(py, async move { Ok(core.job_statuses(&job_ids).await?) })?;
        to_py(py, &statuses)
    }

    /// Kills jobs; one flag per job.
    #[pyo3(signature = (job_ids, code = None))]
    fn kill_jobs(
        &self,
        py: Python<'_>,
        job_ids: Vec<u64>,
        code: Option<i64>,
    ) -> Result<Vec<bool>, CoreError> {
        let core = self.core.clone();
        block_on(py, async move { Ok(core.kill_jobs(&job_ids, code).await?) })
    }

    /// Raises unless the server answers.
    fn is_alive(&self, py: Python<'_>) -> Result<(), CoreError> {
        let core = self.core.clone();
        block_on(py, async move { Ok(core.is_alive().await?) })
    }

    /// The outcome of a task: status, jobs by state, datasets, errors of failed jobs.
    fn task_outcome<'py>(&self, py: Python<'py>, task_id: u64) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        let outcome = block_on(py, async move { Ok(core.task_outcome(task_id).await?) })?;
        to_py(py, &outcome)
    }

    /// The outcome of a task as JSON text, as an awaitable.
    fn task_outcome_async<'py>(
        &self,
        py: Python<'py>,
        task_id: u64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        awaitable(py, async move { encoded(core.task_outcome(task_id).await) })
    }

    /// Waits for a task's final status, polling from `initial` up to `max_interval` seconds;
    /// an awaitable whose cancellation stops the polling.
    #[pyo3(signature = (task_id, initial = 5.0, max_interval = 60.0))]
    fn wait_for_task<'py>(
        &self,
        py: Python<'py>,
        task_id: u64,
        initial: f64,
        max_interval: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let poll = PollConfig {
            initial: Duration::from_secs_f64(initial.max(0.01)),
            max: Duration::from_secs_f64(max_interval.max(initial).max(0.01)),
            ..PollConfig::default()
        };
        let core = self.core.clone();
        awaitable(
            py,
            async move { Ok(core.wait_for_task(task_id, &poll).await?) },
        )
    }
}

/// Checks a task spec; raises `InvalidInputError` listing every problem.
#[pyfunction]
fn validate_task_spec(spec: &Bound<'_, PyAny>) -> PyResult<()> {
    validate(&to_spec(spec)?).map_err(error)
}

/// The task parameters of a task spec, after validating it.
#[pyfunction]
fn render_task_spec<'py>(py: Python<'py>, spec: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let parameters = render_task_parameters(&to_spec(spec)?).map_err(error)?;
    to_py(py, &parameters)
}

pub fn register(parent: &Bound<'_, PyModule>) -> PyResult<()> {
    parent.add_class::<PandaClient>()?;
    parent.add_function(wrap_pyfunction!(validate_task_spec, parent)?)?;
    parent.add_function(wrap_pyfunction!(render_task_spec, parent)?)?;
    Ok(())
}
