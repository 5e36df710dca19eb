//! The sidecar's HTTP service: the long poll, metrics, status page and health check.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::Router;
use bmnflow_core::watch::Watcher;

use crate::metrics::{self, Metrics};
use crate::sources::Sources;
use crate::status;
use crate::wait;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The one watcher of the deployment.
    pub watcher: Watcher,
    /// Where sources come from.
    pub sources: Arc<dyn Sources>,
    /// The sidecar's own counters.
    pub metrics: Arc<Metrics>,
}

/// The routes: `POST /v1/wait`, `GET /metrics`, `GET /status`, `GET /healthz`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/wait", post(wait::wait))
        .route("/metrics", get(metrics_page))
        .route("/status", get(status_page))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

async fn metrics_page(State(state): State<AppState>) -> impl IntoResponse {
    let text = metrics::render(
        &state.watcher.snapshot(),
        &state.watcher.stats(),
        &state.metrics,
    );
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
}

async fn status_page(State(state): State<AppState>) -> Html<String> {
    Html(status::render(
        &state.watcher.snapshot(),
        &state.watcher.stats(),
    ))
}
