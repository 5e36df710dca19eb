//! The embedded FTS3: the REST API of FTS 3.13 under `/fts`, moving bytes between storage
//! folders.

pub mod error;
pub mod model;
pub mod routes;
pub mod scheduler;
pub mod store;
pub mod submit;
pub mod transfer;
pub mod values;
pub mod view;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::Router;

pub use scheduler::Fts;

/// The FTS3 REST routes, to be nested under `/fts`.
pub fn router(fts: Arc<Fts>) -> Router {
    Router::new()
        .route("/", get(routes::api_version))
        .route("/whoami", get(routes::whoami))
        .route("/jobs", get(routes::list).post(routes::submit))
        .route(
            "/jobs/{ids}",
            get(routes::get_jobs)
                .delete(routes::cancel)
                .post(routes::modify),
        )
        .route("/jobs/{id}/files", get(routes::get_files))
        .route("/jobs/{id}/dm", get(routes::get_dm))
        .route("/jobs/{id}/files/{file_ids}", delete(routes::cancel_files))
        .route("/jobs/{id}/{field}", get(routes::get_field))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // FTS has no limit on files per job; axum's default of 2 MB would cut jobs of a few
        // thousand files with Rucio's metadata.
        .layer(DefaultBodyLimit::max(256 * 1024 * 1024))
        .with_state(fts)
}

/// Unknown paths get FTS's JSON error (with its web framework's words), not an empty body.
async fn not_found() -> error::FtsError {
    error::FtsError {
        status: StatusCode::NOT_FOUND,
        message: "The requested URL was not found on the server. If you entered the URL \
                  manually please check your spelling and try again."
            .to_owned(),
    }
}

/// A known path with the wrong method, answered as FTS does.
async fn method_not_allowed() -> error::FtsError {
    error::FtsError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        message: "The method is not allowed for the requested URL.".to_owned(),
    }
}
