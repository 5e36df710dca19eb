//! `bmnflow._core.split`: the job splitter over Arrow tables handed in through the PyCapsule
//! interface, without copying them.

use arrow::pyarrow::{FromPyArrow, IntoPyArrow, Table};
use arrow::record_batch::RecordBatch;
use bmnflow_core::split::{self, FileTable, MonteCarlo, Rules, Secondary, SecondaryRules};
use pyo3::intern;
use pyo3::prelude::*;

use crate::bridge::guard;
use crate::errors::CoreError;

/// Above this many files the interpreter is released while splitting.
const DETACH_FILES: usize = 50_000;

pub fn register(parent: &Bound<'_, PyModule>) -> PyResult<()> {
    let module = PyModule::new(parent.py(), "split")?;
    module.add_function(wrap_pyfunction!(split_files, &module)?)?;
    module.add_function(wrap_pyfunction!(monte_carlo, &module)?)?;
    parent.add_submodule(&module)?;
    Ok(())
}

/// Imports a table (`__arrow_c_stream__`) or a record batch (`__arrow_c_array__`).
fn file_table(value: &Bound<'_, PyAny>) -> PyResult<FileTable> {
    if value.hasattr(intern!(value.py(), "__arrow_c_stream__"))? {
        let (batches, schema) = Table::from_pyarrow_bound(value)?.into_inner();
        Ok(FileTable { schema, batches })
    } else {
        Ok(FileTable::from(RecordBatch::from_pyarrow_bound(value)?))
    }
}

fn to_table(py: Python<'_>, batch: RecordBatch) -> PyResult<Bound<'_, PyAny>> {
    let schema = batch.schema();
    Table::try_new(vec![batch], schema)
        .map_err(|e| CoreError::internal(format!("cannot build the result table: {e}")))?
        .into_pyarrow(py)
}

/// Splits `files` into jobs; returns the pieces table and the jobs table.
///
/// `secondaries` holds `(files, ratio, nosplit, repeat)` for each secondary dataset.
#[pyfunction]
#[pyo3(signature = (
    files, secondaries, *, n_files_per_job=None, n_gb_per_job=None, n_events_per_job=None,
    max_files_per_job=None, n_events_per_file=None, output_allowance=None, boundaries=Vec::new()
))]
#[allow(clippy::too_many_arguments)]
fn split_files<'py>(
    py: Python<'py>,
    files: &Bound<'py, PyAny>,
    secondaries: Vec<(Bound<'py, PyAny>, Option<f64>, bool, bool)>,
    n_files_per_job: Option<i64>,
    n_gb_per_job: Option<f64>,
    n_events_per_job: Option<i64>,
    max_files_per_job: Option<i64>,
    n_events_per_file: Option<i64>,
    output_allowance: Option<i64>,
    boundaries: Vec<String>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let files = file_table(files)?;
    let secondaries = secondaries
        .iter()
        .map(|(files, ratio, nosplit, repeat)| {
            Ok(Secondary {
                files: file_table(files)?,
                rules: SecondaryRules {
                    ratio: *ratio,
                    nosplit: *nosplit,
                    repeat: *repeat,
                },
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    let rules = Rules {
        n_files_per_job,
        n_gb_per_job,
        n_events_per_job,
        max_files_per_job,
        n_events_per_file,
        output_allowance,
        boundaries,
    };

    let work = || guard(|| Ok(split::split(&files, &secondaries, &rules)?));
    let result = if files.len() > DETACH_FILES {
        py.detach(work)
    } else {
        work()
    }?;
    Ok((to_table(py, result.pieces)?, to_table(py, result.jobs)?))
}

/// Cuts a Monte Carlo task's events into jobs with first event and seed.
#[pyfunction]
#[pyo3(signature = (n_events, n_events_per_job, *, first_event=1, seed_offset=0))]
fn monte_carlo(
    py: Python<'_>,
    n_events: i64,
    n_events_per_job: i64,
    first_event: i64,
    seed_offset: i64,
) -> PyResult<Bound<'_, PyAny>> {
    let mc = MonteCarlo {
        n_events,
        n_events_per_job,
        first_event,
        seed_offset,
    };
    let jobs = guard(|| Ok(split::monte_carlo(&mc)?))?;
    to_table(py, jobs)
}
