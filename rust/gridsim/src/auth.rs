//! Bearer-token authentication shared by the APIs; open mode when no token is configured.
//!
//! Limitation: no X.509 client certificates (gridsim serves plain http) and no FTS delegation
//! endpoints; tokens are compared as configured, not validated as JWTs (`iss`, `aud`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bmnflow_core::Secret;

/// The accepted tokens. Kept as [`Secret`]s so that they never reach a log.
#[derive(Debug, Default)]
pub struct Auth {
    tokens: Vec<Secret>,
}

/// How a request authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Open mode: no token is configured, everyone is let in.
    Open,
    /// A configured bearer token was presented.
    Token,
}

impl Auth {
    /// Accepts these tokens; none means open mode.
    pub fn new(tokens: &[String]) -> Self {
        Self {
            tokens: tokens.iter().map(|t| Secret::new(t.clone())).collect(),
        }
    }

    /// Whether every request is let in.
    pub fn is_open(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Checks a request's `Authorization` header.
    pub fn check(&self, headers: &HeaderMap) -> Result<Method, &'static str> {
        if self.is_open() {
            return Ok(Method::Open);
        }
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or("No credentials: a bearer token is required")?;
        let known = self
            .tokens
            .iter()
            .any(|t| constant_time_eq(t.expose().as_bytes(), presented.trim().as_bytes()));
        if known {
            Ok(Method::Token)
        } else {
            Err("Invalid credentials: the bearer token is not accepted")
        }
    }
}

/// Compares without an early exit, so that the time taken does not reveal a token's prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The axum middleware refusing unauthenticated requests with 403 and FTS's JSON error body;
/// the accepted [`Method`] is left in the request's extensions.
pub async fn require(State(auth): State<Arc<Auth>>, mut request: Request, next: Next) -> Response {
    match auth.check(request.headers()) {
        Ok(method) => {
            request.extensions_mut().insert(method);
            next.run(request).await
        }
        Err(message) => {
            let body = serde_json::json!({"status": "403 Forbidden", "message": message});
            (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn open_mode_lets_everyone_in() {
        assert_eq!(Auth::new(&[]).check(&HeaderMap::new()), Ok(Method::Open));
    }

    #[test]
    fn only_configured_tokens_are_accepted() {
        let auth = Auth::new(&["s3cret".to_owned()]);
        assert_eq!(auth.check(&headers("Bearer s3cret")), Ok(Method::Token));
        assert!(auth.check(&headers("Bearer s3cre")).is_err());
        assert!(auth.check(&headers("Basic s3cret")).is_err());
        assert!(auth.check(&HeaderMap::new()).is_err());
    }
}
