//! `POST /v1/wait`: the long poll. It returns when any of the objects ended, or at its
//! timeout with none ended; the client asks again for the rest.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bmnflow_core::watch::{wait_some, ObjectKind, SourceError, WaitReport};
use bmnflow_core::ErrorKind;
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;

/// The longest a single long poll may last; clients ask again.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(300);

/// The most objects one request may wait on.
pub const MAX_IDS: usize = 10_000;

/// The body of `POST /v1/wait`.
#[derive(Debug, Deserialize)]
pub struct WaitRequest {
    /// The Airflow connection id of the service.
    pub conn_id: String,
    /// `fts_job`, `panda_task` or `rucio_rule`.
    pub kind: String,
    /// The objects' ids.
    pub ids: Vec<String>,
    /// Seconds to wait at most. Default 60, at most 300.
    #[serde(default)]
    pub timeout: Option<f64>,
}

/// Waits on the objects of the request; see the module documentation.
pub async fn wait(State(state): State<AppState>, Json(request): Json<WaitRequest>) -> Response {
    state.metrics.count_wait_request();
    match run(&state, request).await {
        Ok(answer) => Json(answer).into_response(),
        Err(error) => error_response(&error),
    }
}

async fn run(state: &AppState, request: WaitRequest) -> Result<WaitReport, SourceError> {
    let invalid = |message: String| SourceError::new(ErrorKind::InvalidInput, message);
    let kind: ObjectKind = request.kind.parse().map_err(invalid)?;
    if request.ids.is_empty() || request.ids.len() > MAX_IDS {
        return Err(invalid(format!(
            "ids must hold 1 to {MAX_IDS} ids, not {}",
            request.ids.len()
        )));
    }
    let timeout = match request.timeout {
        None => Duration::from_secs(60),
        Some(seconds) if seconds.is_finite() && seconds >= 0.0 => {
            Duration::from_secs_f64(seconds).min(MAX_TIMEOUT)
        }
        Some(seconds) => return Err(invalid(format!("timeout {seconds} is not a duration"))),
    };

    let source = state.sources.source(kind, &request.conn_id)?;
    wait_some(&state.watcher, source, &request.ids, timeout).await
}

/// An error as JSON `{kind, message}`, with the HTTP status of its kind.
pub fn error_response(error: &SourceError) -> Response {
    let status = match error.kind {
        ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let body = json!({"kind": error.kind.as_str(), "message": error.message});
    (status, Json(body)).into_response()
}
