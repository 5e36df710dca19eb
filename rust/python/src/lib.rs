//! bmnflow._core: the thin PyO3 layer over bmnflow-core.
//!
//! Each file converts arguments, calls the core and converts the result; no logic lives here.

mod bridge;
mod diagnostics;
mod errors;
mod fts;
mod interpreter;
mod logging;
mod panda;
mod rucio;
mod split;
mod watch;

use pyo3::prelude::*;

/// The extension module `bmnflow._core`.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    logging::install();

    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(logging::set_log_level, m)?)?;
    m.add_function(wrap_pyfunction!(interpreter::shutdown, m)?)?;
    diagnostics::register(m)?;
    fts::register(m)?;
    panda::register(m)?;
    rucio::register(m)?;
    split::register(m)?;
    watch::register(m)?;
    Ok(())
}
