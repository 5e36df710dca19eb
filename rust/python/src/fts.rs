//! `bmnflow._core.fts`: the FTS client and bulk transfers. Structured answers cross as JSON
//! text and tables as Arrow record batches.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arrow::pyarrow::PyArrowType;
use arrow::record_batch::RecordBatch;
use bmnflow_core::fts::{self, Credentials, FtsClient, FtsError, PlanConfig, PollConfig, WaitFor};
use bmnflow_core::http::EndpointConfig;
use bmnflow_core::Secret;
use pyo3::prelude::*;
use serde::Serialize;

use crate::bridge;
use crate::errors::CoreError;

pub fn register(parent: &Bound<'_, PyModule>) -> PyResult<()> {
    let module = PyModule::new(parent.py(), "fts")?;
    module.add_class::<Client>()?;
    module.add_function(wrap_pyfunction!(plan, &module)?)?;
    parent.add_submodule(&module)?;
    Ok(())
}

/// A client of one FTS3 REST endpoint.
#[pyclass(module = "bmnflow._core.fts", name = "FtsClient", frozen)]
struct Client {
    inner: Arc<FtsClient>,
}

/// What a bulk step or run reports: `(report_json, table)`.
type Report = (String, PyArrowType<RecordBatch>);

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (url, *, token=None, certificate=None, key=None, ca_dir=None,
        ca_file=None, verify_tls=true, timeout=120.0, retries=5))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        url: &str,
        token: Option<String>,
        certificate: Option<PathBuf>,
        key: Option<PathBuf>,
        ca_dir: Option<PathBuf>,
        ca_file: Option<PathBuf>,
        verify_tls: bool,
        timeout: f64,
        retries: u32,
    ) -> Result<Self, CoreError> {
        let mut config = EndpointConfig::parse(url)?;
        config.request_timeout = Duration::from_secs_f64(timeout);
        config.verify_tls = verify_tls;
        config.ca_dir = ca_dir;
        config.ca_file = ca_file;
        config.retry.max_retries = retries;
        let credentials = match (token, certificate) {
            (Some(_), Some(_)) => {
                return Err(
                    FtsError::Config("give a token or a certificate, not both".into()).into(),
                )
            }
            (Some(token), None) => Credentials::Token(Secret::new(token)),
            (None, Some(certificate)) => Credentials::X509 { certificate, key },
            (None, None) => Credentials::None,
        };
        Ok(Self {
            inner: Arc::new(FtsClient::new(config, credentials)?),
        })
    }

    /// `GET /whoami`, as JSON.
    fn whoami(&self, py: Python<'_>) -> Result<String, CoreError> {
        let client = self.inner.clone();
        bridge::block_on(py, async move { json(&client.whoami().await?) })
    }

    /// `POST /jobs` of a submission given as JSON; returns the job id.
    fn submit(&self, py: Python<'_>, submission: &str) -> Result<String, CoreError> {
        let submission: fts::JobSubmission = serde_json::from_str(submission)
            .map_err(|e| FtsError::invalid(format!("invalid FTS submission: {e}")))?;
        let client = self.inner.clone();
        bridge::block_on(py, async move { Ok(client.submit(&submission).await?) })
    }

    /// `GET /jobs/a,b,...` (100 ids a query); a JSON list, unknown jobs with `http_status` 404.
    #[pyo3(signature = (job_ids, *, files=false))]
    fn job_statuses(
        &self,
        py: Python<'_>,
        job_ids: Vec<String>,
        files: bool,
    ) -> Result<String, CoreError> {
        let client = self.inner.clone();
        bridge::block_on(py, async move {
            json(&client.job_statuses(&job_ids, files).await?)
        })
    }

    /// `GET /jobs/{id}/files`, as JSON.
    fn job_files(&self, py: Python<'_>, job_id: String) -> Result<String, CoreError> {
        let client = self.inner.clone();
        bridge::block_on(py, async move { json(&client.job_files(&job_id).await?) })
    }

    /// `GET /jobs?state_in=...`, as JSON.
    #[pyo3(signature = (states, *, limit=None))]
    fn list_jobs(
        &self,
        py: Python<'_>,
        states: Vec<String>,
        limit: Option<usize>,
    ) -> Result<String, CoreError> {
        let states: Vec<fts::JobState> = states
            .iter()
            .map(|s| serde_json::from_value(serde_json::Value::String(s.to_uppercase())))
            .collect::<Result<_, _>>()
            .map_err(|e| FtsError::invalid(format!("unknown job state: {e}")))?;
        let client = self.inner.clone();
        bridge::block_on(
            py,
            async move { json(&client.list_jobs(&states, limit).await?) },
        )
    }

    /// `DELETE /jobs/a,b,...`; returns the cancelled jobs as JSON.
    fn cancel_jobs(&self, py: Python<'_>, job_ids: Vec<String>) -> Result<String, CoreError> {
        let client = self.inner.clone();
        bridge::block_on(
            py,
            async move { json(&client.cancel_jobs(&job_ids).await?) },
        )
    }

    /// `DELETE /jobs/{id}/files/a,b,...`.
    fn cancel_files(
        &self,
        py: Python<'_>,
        job_id: String,
        file_ids: Vec<u64>,
    ) -> Result<(), CoreError> {
        let client = self.inner.clone();
        bridge::block_on(py, async move {
            Ok(client.cancel_files(&job_id, &file_ids).await?)
        })
    }

    /// `POST /jobs/{id}` with a new priority.
    fn set_priority(&self, py: Python<'_>, job_id: String, priority: u8) -> Result<(), CoreError> {
        let client = self.inner.clone();
        bridge::block_on(py, async move {
            Ok(client.set_priority(&job_id, priority).await?)
        })
    }

    /// One step of a bulk transfer; returns `(report_json, table)`.
    fn transfer_step(
        &self,
        py: Python<'_>,
        transfers: PyArrowType<Vec<RecordBatch>>,
        request_key: &str,
        options: &str,
    ) -> Result<Report, CoreError> {
        let plan = fts::plan_batches(&transfers.0, PlanConfig::from_json(options)?, request_key)?;
        let client = self.inner.clone();
        bridge::block_on(py, async move { report(fts::step(&client, plan).await?) })
    }

    /// A whole bulk transfer, polling every `poll_interval` seconds at first.
    #[pyo3(signature = (transfers, request_key, options, *, poll_interval=2.0, timeout=None))]
    fn transfer(
        &self,
        py: Python<'_>,
        transfers: PyArrowType<Vec<RecordBatch>>,
        request_key: &str,
        options: &str,
        poll_interval: f64,
        timeout: Option<f64>,
    ) -> Result<Report, CoreError> {
        let plan = fts::plan_batches(&transfers.0, PlanConfig::from_json(options)?, request_key)?;
        let poll = poll_config(poll_interval, timeout);
        let client = self.inner.clone();
        bridge::block_on(py, async move {
            report(fts::run_to_end(&client, plan, &poll).await?)
        })
    }

    /// Waits until all (or any) of `job_ids` are terminal; an awaitable of JSON.
    #[pyo3(signature = (job_ids, *, wait_for="all", poll_interval=2.0, timeout=None))]
    fn wait_jobs<'py>(
        &self,
        py: Python<'py>,
        job_ids: Vec<String>,
        wait_for: &str,
        poll_interval: f64,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let wait_for = match wait_for {
            "all" => WaitFor::All,
            "any" => WaitFor::Any,
            other => {
                let error = FtsError::invalid(format!("wait_for {other:?} is not all or any"));
                return Err(CoreError::from(error).into());
            }
        };
        let poll = poll_config(poll_interval, timeout);
        let client = self.inner.clone();
        bridge::awaitable(py, async move {
            json(&fts::wait_for_jobs(&client, &job_ids, wait_for, &poll).await?)
        })
    }
}

/// Validates and plans transfers without sending anything; the FTS jobs as JSON.
#[pyfunction]
fn plan(
    transfers: PyArrowType<Vec<RecordBatch>>,
    request_key: &str,
    options: &str,
) -> Result<String, CoreError> {
    bridge::guard(|| {
        let plan = fts::plan_batches(&transfers.0, PlanConfig::from_json(options)?, request_key)?;
        let jobs: Vec<serde_json::Value> = plan
            .jobs
            .iter()
            .map(|job| {
                serde_json::json!({"sid": job.sid, "source_storage": job.link.source,
                    "destination_storage": job.link.destination, "activity": job.activity,
                    "rows": job.files})
            })
            .collect();
        json(&jobs)
    })
}

fn poll_config(poll_interval: f64, timeout: Option<f64>) -> PollConfig {
    PollConfig {
        initial: Duration::from_secs_f64(poll_interval.max(0.01)),
        timeout: timeout.map(Duration::from_secs_f64),
        ..PollConfig::default()
    }
}

fn report(report: fts::BulkReport) -> Result<Report, CoreError> {
    let progress = report.progress.as_ref().map(|p| {
        serde_json::json!({"submitted": p.submitted, "adopted": p.adopted, "ended": p.ended,
            "active_job_ids": p.active_job_ids, "waiting": p.waiting, "complete": p.complete})
    });
    let text = json(&serde_json::json!({
        "summary": report.summary,
        "progress": progress,
        "job_ids": report.job_ids,
    }))?;
    Ok((text, PyArrowType(report.table)))
}

fn json(value: &impl Serialize) -> Result<String, CoreError> {
    serde_json::to_string(value)
        .map_err(|e| CoreError::internal(format!("cannot encode an FTS answer as JSON: {e}")))
}
