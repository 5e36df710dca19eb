//! `bmnflow._core.RucioClient`: the Rucio client of the core, for Python.

use std::path::PathBuf;
use std::time::Duration;

use arrow::pyarrow::{FromPyArrow, ToPyArrow};
use arrow::record_batch::RecordBatch;
use bmnflow_core::rucio::{
    files_from_batch, Credentials, Did, DidType, FileRow, FileSpec, NewDid, RucioClient as Core,
    RucioConfig, RucioError, RuleSpec, SubscriptionSpec, WaitOptions,
};
use bmnflow_core::Secret;
use pyo3::prelude::*;
use pyo3::types::PyList;
use serde_json::{Map, Value};

use crate::bridge::{awaitable, block_on};
use crate::errors::CoreError;

/// A Rucio client; every method has a blocking form, and the waits an async twin.
#[pyclass(module = "bmnflow._core", name = "RucioClient", frozen)]
pub struct RucioClient {
    core: Core,
}

fn invalid(error: RucioError) -> PyErr {
    CoreError::from(error).into()
}

fn did(text: &str) -> PyResult<Did> {
    Did::parse(text).map_err(invalid)
}

fn dids(texts: &[String]) -> PyResult<Vec<Did>> {
    texts.iter().map(|t| did(t)).collect()
}

/// A Python object (dict, list, ...) as JSON, through the json module.
fn to_json(value: &Bound<'_, PyAny>) -> PyResult<Value> {
    let text: String = value
        .py()
        .import("json")?
        .call_method1("dumps", (value,))?
        .extract()?;
    serde_json::from_str(&text)
        .map_err(|e| invalid(RucioError::Invalid(format!("not JSON-serialisable: {e}"))))
}

fn to_object(value: Option<&Bound<'_, PyAny>>) -> PyResult<Map<String, Value>> {
    match value.map(to_json).transpose()? {
        None => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(invalid(RucioError::Invalid("expected a dict".to_owned()))),
    }
}

/// A serialisable core value as a Python object (dicts and lists), through the json module.
fn to_py<'py>(py: Python<'py>, value: serde_json::Result<Value>) -> PyResult<Bound<'py, PyAny>> {
    let value =
        value.map_err(|e| CoreError::internal(format!("cannot encode a Rucio answer: {e}")))?;
    py.import("json")?
        .call_method1("loads", (value.to_string(),))
}

/// Rows as a `pyarrow.Table`, handed over through the Arrow C data interface (no copy).
fn to_table<'py>(py: Python<'py>, rows: &[FileRow]) -> PyResult<Bound<'py, PyAny>> {
    let batch = FileRow::to_batch(rows).to_pyarrow(py)?;
    let table = py.import("pyarrow")?.getattr("Table")?;
    table.call_method1("from_batches", (PyList::new(py, [batch])?,))
}

/// Files from a `pyarrow.Table` or `RecordBatch`.
fn files(table: &Bound<'_, PyAny>, default_scope: Option<&str>) -> PyResult<Vec<FileSpec>> {
    let batches: Vec<Bound<'_, PyAny>> = if table.hasattr("to_batches")? {
        table.call_method0("to_batches")?.extract()?
    } else {
        vec![table.clone()]
    };
    let mut files = Vec::new();
    for batch in batches {
        let batch = RecordBatch::from_pyarrow_bound(&batch)?;
        files.extend(files_from_batch(&batch, default_scope).map_err(invalid)?);
    }
    Ok(files)
}

#[pymethods]
impl RucioClient {
    #[new]
    #[pyo3(signature = (
        url, account, *, auth_type = "userpass", username = None, password = None, token = None,
        vo = None, ca_dir = None, client_cert = None, client_key = None, verify_tls = true,
        chunk_size = 500, concurrency = 4, timeout = 120.0,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        url: &str,
        account: &str,
        auth_type: &str,
        username: Option<String>,
        password: Option<String>,
        token: Option<String>,
        vo: Option<String>,
        ca_dir: Option<PathBuf>,
        client_cert: Option<PathBuf>,
        client_key: Option<PathBuf>,
        verify_tls: bool,
        chunk_size: usize,
        concurrency: usize,
        timeout: f64,
    ) -> PyResult<Self> {
        let credentials = match auth_type {
            "userpass" => Credentials::UserPass {
                username: username.unwrap_or_default(),
                password: Secret::new(password.unwrap_or_default()),
            },
            "oidc" | "jwt" => Credentials::Jwt(Secret::new(token.ok_or_else(|| {
                invalid(RucioError::Invalid(
                    "auth_type oidc needs a token".to_owned(),
                ))
            })?)),
            "x509" | "x509_proxy" => Credentials::X509,
            other => {
                return Err(invalid(RucioError::Invalid(format!(
                    "auth_type {other:?} must be userpass, oidc or x509"
                ))))
            }
        };
        let mut config = RucioConfig::new(url, account, credentials);
        config.vo = vo;
        config.ca_dir = ca_dir;
        config.client_cert = client_cert;
        config.client_key = client_key;
        config.verify_tls = verify_tls;
        config.chunk_size = chunk_size;
        config.concurrency = concurrency;
        config.request_timeout = Duration::from_secs_f64(timeout.max(0.001));
        Ok(Self {
            core: Core::new(config).map_err(invalid)?,
        })
    }

    /// The account the client acts as.
    #[getter]
    fn account(&self) -> &str {
        self.core.account()
    }

    #[pyo3(signature = (did_text, *, meta = None, lifetime = None))]
    fn create_dataset(
        &self,
        py: Python<'_>,
        did_text: &str,
        meta: Option<&Bound<'_, PyAny>>,
        lifetime: Option<u64>,
    ) -> PyResult<()> {
        self.create(py, did_text, DidType::Dataset, meta, lifetime)
    }

    #[pyo3(signature = (did_text, *, meta = None, lifetime = None))]
    fn create_container(
        &self,
        py: Python<'_>,
        did_text: &str,
        meta: Option<&Bound<'_, PyAny>>,
        lifetime: Option<u64>,
    ) -> PyResult<()> {
        self.create(py, did_text, DidType::Container, meta, lifetime)
    }

    fn attach(&self, py: Python<'_>, parent: &str, children: Vec<String>) -> PyResult<()> {
        let (core, parent, children) = (self.core.clone(), did(parent)?, dids(&children)?);
        Ok(block_on(py, async move {
            Ok(core.attach(&parent, &children).await?)
        })?)
    }

    fn detach(&self, py: Python<'_>, parent: &str, children: Vec<String>) -> PyResult<()> {
        let (core, parent, children) = (self.core.clone(), did(parent)?, dids(&children)?);
        Ok(block_on(py, async move {
            Ok(core.detach(&parent, &children).await?)
        })?)
    }

    fn close(&self, py: Python<'_>, did_text: &str) -> PyResult<()> {
        let (core, target) = (self.core.clone(), did(did_text)?);
        Ok(block_on(py, async move { Ok(core.close(&target).await?) })?)
    }

    fn list_content<'py>(&self, py: Python<'py>, did_text: &str) -> PyResult<Bound<'py, PyAny>> {
        let (core, target) = (self.core.clone(), did(did_text)?);
        let entries = block_on(py, async move { Ok(core.list_content(&target).await?) })?;
        let entries: Vec<Value> = entries
            .into_iter()
            .map(|e| {
                serde_json::json!({"scope": e.scope, "name": e.name, "type": e.did_type,
                    "bytes": e.bytes, "adler32": e.adler32})
            })
            .collect();
        to_py(py, serde_json::to_value(&entries))
    }

    fn get_metadata<'py>(&self, py: Python<'py>, did_text: &str) -> PyResult<Bound<'py, PyAny>> {
        let (core, target) = (self.core.clone(), did(did_text)?);
        let meta = block_on(py, async move { Ok(core.get_metadata(&target).await?) })?;
        to_py(py, serde_json::to_value(&meta))
    }

    fn set_metadata(
        &self,
        py: Python<'_>,
        did_text: &str,
        meta: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let (core, target, meta) = (self.core.clone(), did(did_text)?, to_object(Some(meta))?);
        Ok(block_on(py, async move {
            Ok(core.set_metadata(&target, &meta).await?)
        })?)
    }

    /// Registers replicas on `rse`; returns how many files are registered.
    #[pyo3(signature = (rse, files_table, *, default_scope = None))]
    fn add_replicas(
        &self,
        py: Python<'_>,
        rse: String,
        files_table: &Bound<'_, PyAny>,
        default_scope: Option<&str>,
    ) -> PyResult<usize> {
        let (core, files) = (self.core.clone(), files(files_table, default_scope)?);
        let report = block_on(
            py,
            async move { Ok(core.add_replicas(&rse, &files).await?) },
        )?;
        Ok(report.registered)
    }

    /// Registers replicas on `rse` and attaches the files to `dataset`.
    #[pyo3(signature = (dataset, rse, files_table, *, default_scope = None))]
    fn register_files(
        &self,
        py: Python<'_>,
        dataset: &str,
        rse: String,
        files_table: &Bound<'_, PyAny>,
        default_scope: Option<&str>,
    ) -> PyResult<usize> {
        let scope = default_scope.or_else(|| dataset.split_once(':').map(|(s, _)| s));
        let (core, dataset, files) = (self.core.clone(), did(dataset)?, files(files_table, scope)?);
        let report = block_on(py, async move {
            Ok(core.register_files(&dataset, &rse, &files).await?)
        })?;
        Ok(report.registered)
    }

    #[pyo3(signature = (did_texts, *, rse_expression = None, all_states = false))]
    fn list_replicas<'py>(
        &self,
        py: Python<'py>,
        did_texts: Vec<String>,
        rse_expression: Option<String>,
        all_states: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (core, targets) = (self.core.clone(), dids(&did_texts)?);
        let rows = block_on(py, async move {
            Ok(core
                .list_replicas(&targets, rse_expression.as_deref(), all_states)
                .await?)
        })?;
        to_table(py, &rows)
    }

    fn list_files<'py>(&self, py: Python<'py>, did_text: &str) -> PyResult<Bound<'py, PyAny>> {
        let (core, target) = (self.core.clone(), did(did_text)?);
        let rows = block_on(py, async move { Ok(core.list_files(&target).await?) })?;
        to_table(py, &rows)
    }

    /// Adds a rule per DID (or finds the existing one); returns the rule ids.
    #[pyo3(signature = (
        did_texts, rse_expression, *, copies = 1, lifetime = None, grouping = None,
        weight = None, activity = None, asynchronous = false, comment = None, account = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn add_rule(
        &self,
        py: Python<'_>,
        did_texts: Vec<String>,
        rse_expression: String,
        copies: u32,
        lifetime: Option<u64>,
        grouping: Option<String>,
        weight: Option<String>,
        activity: Option<String>,
        asynchronous: bool,
        comment: Option<String>,
        account: Option<String>,
    ) -> PyResult<Vec<String>> {
        let spec = RuleSpec {
            dids: dids(&did_texts)?,
            copies,
            rse_expression,
            lifetime,
            grouping,
            weight,
            activity,
            asynchronous,
            comment,
            account,
        };
        let core = self.core.clone();
        Ok(block_on(
            py,
            async move { Ok(core.add_rule(&spec).await?) },
        )?)
    }

    fn get_rule<'py>(&self, py: Python<'py>, rule_id: String) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        let rule = block_on(py, async move { Ok(core.get_rule(&rule_id).await?) })?;
        to_py(py, serde_json::to_value(&rule))
    }

    /// `get_rule` as an awaitable, for triggers; the answer is a JSON text.
    fn get_rule_async<'py>(&self, py: Python<'py>, rule_id: String) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        awaitable(py, async move {
            let rule = core.get_rule(&rule_id).await?;
            Ok(serde_json::to_string(&rule).unwrap_or_default())
        })
    }

    fn list_rules<'py>(&self, py: Python<'py>, did_text: &str) -> PyResult<Bound<'py, PyAny>> {
        let (core, target) = (self.core.clone(), did(did_text)?);
        let rules = block_on(py, async move { Ok(core.list_rules(&target).await?) })?;
        to_py(py, serde_json::to_value(&rules))
    }

    #[pyo3(signature = (rule_id, *, purge_replicas = false))]
    fn delete_rule(&self, py: Python<'_>, rule_id: String, purge_replicas: bool) -> PyResult<()> {
        let core = self.core.clone();
        Ok(block_on(py, async move {
            Ok(core.delete_rule(&rule_id, purge_replicas).await?)
        })?)
    }

    fn update_rule_lifetime(
        &self,
        py: Python<'_>,
        rule_id: String,
        lifetime: Option<u64>,
    ) -> PyResult<()> {
        let core = self.core.clone();
        Ok(block_on(py, async move {
            Ok(core.update_rule_lifetime(&rule_id, lifetime).await?)
        })?)
    }

    /// Waits for a rule to be OK; the awaitable's answer is the rule as JSON text.
    #[pyo3(signature = (
        rule_id, *, poll_min = 2.0, poll_max = 60.0, stuck_grace = 600.0, timeout = None,
    ))]
    fn wait_rule_async<'py>(
        &self,
        py: Python<'py>,
        rule_id: String,
        poll_min: f64,
        poll_max: f64,
        stuck_grace: f64,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = wait_options(poll_min, poll_max, stuck_grace, timeout);
        let core = self.core.clone();
        awaitable(py, async move {
            let rule = core.wait_rule(&rule_id, &options).await?;
            Ok(serde_json::to_string(&rule).unwrap_or_default())
        })
    }

    /// Waits for a rule to be OK, with the interpreter released; returns the rule.
    #[pyo3(signature = (
        rule_id, *, poll_min = 2.0, poll_max = 60.0, stuck_grace = 600.0, timeout = None,
    ))]
    fn wait_rule<'py>(
        &self,
        py: Python<'py>,
        rule_id: String,
        poll_min: f64,
        poll_max: f64,
        stuck_grace: f64,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = wait_options(poll_min, poll_max, stuck_grace, timeout);
        let core = self.core.clone();
        let rule = block_on(
            py,
            async move { Ok(core.wait_rule(&rule_id, &options).await?) },
        )?;
        to_py(py, serde_json::to_value(&rule))
    }

    #[pyo3(signature = (
        name, filter, replication_rules, *, comments = None, lifetime = None,
        retroactive = false,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn add_subscription(
        &self,
        py: Python<'_>,
        name: String,
        filter: &Bound<'_, PyAny>,
        replication_rules: &Bound<'_, PyAny>,
        comments: Option<String>,
        lifetime: Option<u64>,
        retroactive: bool,
    ) -> PyResult<String> {
        let spec = subscription(filter, replication_rules, comments, lifetime, retroactive)?;
        let core = self.core.clone();
        Ok(block_on(py, async move {
            Ok(core.add_subscription(&name, &spec).await?)
        })?)
    }

    #[pyo3(signature = (
        name, filter, replication_rules, *, comments = None, lifetime = None,
        retroactive = false,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn update_subscription(
        &self,
        py: Python<'_>,
        name: String,
        filter: &Bound<'_, PyAny>,
        replication_rules: &Bound<'_, PyAny>,
        comments: Option<String>,
        lifetime: Option<u64>,
        retroactive: bool,
    ) -> PyResult<()> {
        let spec = subscription(filter, replication_rules, comments, lifetime, retroactive)?;
        let core = self.core.clone();
        Ok(block_on(py, async move {
            Ok(core.update_subscription(&name, &spec).await?)
        })?)
    }

    #[pyo3(signature = (name, *, account = None))]
    fn get_subscription<'py>(
        &self,
        py: Python<'py>,
        name: String,
        account: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        let found = block_on(py, async move {
            Ok(core.get_subscription(&name, account.as_deref()).await?)
        })?;
        to_py(py, serde_json::to_value(&found))
    }

    #[pyo3(signature = (*, account = None))]
    fn list_subscriptions<'py>(
        &self,
        py: Python<'py>,
        account: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        let found = block_on(py, async move {
            Ok(core.list_subscriptions(account.as_deref()).await?)
        })?;
        to_py(py, serde_json::to_value(&found))
    }
}

impl RucioClient {
    fn create(
        &self,
        py: Python<'_>,
        did_text: &str,
        did_type: DidType,
        meta: Option<&Bound<'_, PyAny>>,
        lifetime: Option<u64>,
    ) -> PyResult<()> {
        let new = NewDid {
            did: did(did_text)?,
            did_type,
            meta: to_object(meta)?,
            lifetime,
        };
        let core = self.core.clone();
        Ok(block_on(
            py,
            async move { Ok(core.create_did(&new).await?) },
        )?)
    }
}

fn subscription(
    filter: &Bound<'_, PyAny>,
    replication_rules: &Bound<'_, PyAny>,
    comments: Option<String>,
    lifetime: Option<u64>,
    retroactive: bool,
) -> PyResult<SubscriptionSpec> {
    let Value::Array(replication_rules) = to_json(replication_rules)? else {
        return Err(invalid(RucioError::Invalid(
            "replication_rules must be a list".into(),
        )));
    };
    Ok(SubscriptionSpec {
        filter: to_object(Some(filter))?,
        replication_rules,
        comments,
        lifetime,
        retroactive,
    })
}

fn wait_options(
    poll_min: f64,
    poll_max: f64,
    stuck_grace: f64,
    timeout: Option<f64>,
) -> WaitOptions {
    let seconds = |s: f64| Duration::from_secs_f64(s.max(0.0));
    WaitOptions {
        poll_min: seconds(poll_min),
        poll_max: seconds(poll_max.max(poll_min)),
        stuck_grace: seconds(stuck_grace),
        timeout: timeout.map(seconds),
    }
}

/// Adds the class to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<RucioClient>()
}
