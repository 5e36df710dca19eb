//! Forwards the core's `tracing` events to Python `logging`, under `bmnflow.*` loggers, so
//! they land in Airflow task logs with the ids of the objects concerned.

use std::fmt::Write;
use std::sync::atomic::{AtomicU8, Ordering};

use pyo3::prelude::*;
use pyo3::types::PyDict;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

use crate::interpreter;

/// Python's number for the lowest level forwarded; read without the interpreter lock.
static MIN_LEVEL: AtomicU8 = AtomicU8::new(20);

/// Installs the forwarding layer as the process's tracing subscriber, once.
pub fn install() {
    let subscriber = tracing_subscriber::registry().with(PythonLogging);
    // Fails only when a subscriber is installed already (a second import): keep that one.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// Sets the lowest Python level (10 debug, 20 info, ...) that the core sends to Python.
#[pyfunction]
pub fn set_log_level(level: u8) {
    MIN_LEVEL.store(level, Ordering::Relaxed);
}

struct PythonLogging;

impl<S: Subscriber> Layer<S> for PythonLogging {
    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        !interpreter::shutting_down()
            && python_level(metadata.level()) >= MIN_LEVEL.load(Ordering::Relaxed)
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let metadata = event.metadata();
        let logger = logger_name(metadata.target());
        let level = python_level(metadata.level());

        interpreter::with_python(|py| {
            // A failure to log must never become a failure of the work being logged.
            if let Err(error) = emit(py, &logger, level, &fields) {
                error.print(py);
            }
        });
    }
}

fn emit(py: Python<'_>, logger: &str, level: u8, fields: &Fields) -> PyResult<()> {
    let logger = py.import("logging")?.call_method1("getLogger", (logger,))?;
    let extra = PyDict::new(py);
    let values = PyDict::new(py);
    for (name, value) in &fields.pairs {
        values.set_item(name, value)?;
    }
    extra.set_item("bmnflow", values)?;

    let kwargs = PyDict::new(py);
    kwargs.set_item("extra", extra)?;
    logger.call_method("log", (level, "%s", fields.line()), Some(&kwargs))?;
    Ok(())
}

/// `bmnflow_core::rucio::client` becomes `bmnflow.rucio.client`.
fn logger_name(target: &str) -> String {
    let path = target.split("::").skip(1).collect::<Vec<_>>().join(".");
    if path.is_empty() {
        "bmnflow".to_owned()
    } else {
        format!("bmnflow.{path}")
    }
}

fn python_level(level: &Level) -> u8 {
    match *level {
        Level::TRACE => 5,
        Level::DEBUG => 10,
        Level::INFO => 20,
        Level::WARN => 30,
        Level::ERROR => 40,
    }
}

/// The message and the key-value fields of one event.
#[derive(Default)]
struct Fields {
    message: String,
    pairs: Vec<(&'static str, String)>,
}

impl Fields {
    /// `message key=value key=value`, the form operators grep for.
    fn line(&self) -> String {
        let mut line = self.message.clone();
        for (name, value) in &self.pairs {
            let _ = write!(line, " {name}={value}");
        }
        line
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.pairs.push((field.name(), value.to_owned()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.pairs.push((field.name(), format!("{value:?}")));
        }
    }
}
