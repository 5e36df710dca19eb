//! `POST /v1/wait`: the long poll. It returns when any of the objects ended, or at its
//! timeout with none ended; the client asks again for the rest.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bmnflow_core::watch::{first_outcomes, ObjectKind, Outcome, SourceError, Wait};
use bmnflow_core::ErrorKind;
use serde::{Deserialize, Serialize};
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

/// The answer of `POST /v1/wait`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct WaitResponse {
    /// The objects that ended, with their outcome.
    pub ended: BTreeMap<String, Outcome>,
    /// The others, with their last known state.
    pub pending: BTreeMap<String, Option<String>>,
}

/// Waits on the objects of the request; see the module documentation.
pub async fn wait(State(state): State<AppState>, Json(request): Json<WaitRequest>) -> Response {
    state.metrics.count_wait_request();
    match run(&state, request).await {
        Ok(answer) => Json(answer).into_response(),
        Err(error) => error_response(&error),
    }
}

async fn run(state: &AppState, request: WaitRequest) -> Result<WaitResponse, SourceError> {
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
    let mut ids = request.ids;
    ids.sort();
    ids.dedup();
    let mut waits: Vec<Wait> = ids
        .iter()
        .map(|id| state.watcher.wait(source.clone(), id))
        .collect::<Result<_, _>>()?;

    let ended = tokio::time::timeout(timeout, first_outcomes(&mut waits))
        .await
        .unwrap_or_default();
    let mut response = WaitResponse {
        ended: BTreeMap::new(),
        pending: BTreeMap::new(),
    };
    for (index, outcome) in ended {
        response.ended.insert(ids[index].clone(), outcome);
    }
    for wait in &waits {
        if !response.ended.contains_key(wait.id()) {
            response.pending.insert(wait.id().to_owned(), wait.state());
        }
    }
    Ok(response)
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
