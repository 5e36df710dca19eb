//! The HTTP layer every service client is built on: one configured client per endpoint,
//! retries with backoff for idempotent requests, and a cache for expiring tokens.

mod backoff;
mod config;
mod endpoint;
mod error;
mod retry;
mod tls;
mod token;

pub use backoff::{Backoff, BackoffConfig};
pub use config::EndpointConfig;
pub use endpoint::{Endpoint, Idempotency};
pub use error::HttpError;
pub use retry::{is_retryable_status, RetryConfig};
pub use token::{CachedToken, TokenCache};
