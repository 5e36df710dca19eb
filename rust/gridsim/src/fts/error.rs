//! FTS's error answers: an HTTP status with `{"status": "400 Bad Request", "message": ...}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error answer of the FTS3 REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtsError {
    pub status: StatusCode,
    pub message: String,
}

impl FtsError {
    /// 400, the answer to every malformed submission.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 400 for a value FTS's job builder refuses (`ValueError` in the real service).
    pub fn invalid_value(message: impl std::fmt::Display) -> Self {
        Self::bad_request(format!("Invalid value within the request: {message}"))
    }

    /// 404 for an unknown (or purged) job.
    pub fn job_not_found(job_id: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: format!("No job with the id \"{job_id}\" has been found"),
        }
    }

    /// The `http_status` text of an element of a multi-job answer (`404 Not Found`).
    pub fn status_line(&self) -> String {
        status_line(self.status)
    }
}

/// `200 Ok`-style status lines, spelled as FTS spells them in `http_status`.
pub fn status_line(status: StatusCode) -> String {
    let reason = match status {
        StatusCode::OK => "Ok",
        other => other.canonical_reason().unwrap_or(""),
    };
    format!("{} {reason}", status.as_u16())
}

impl IntoResponse for FtsError {
    fn into_response(self) -> Response {
        let status = format!(
            "{} {}",
            self.status.as_u16(),
            self.status.canonical_reason().unwrap_or("")
        );
        let body = serde_json::json!({"status": status, "message": self.message});
        (self.status, axum::Json(body)).into_response()
    }
}
