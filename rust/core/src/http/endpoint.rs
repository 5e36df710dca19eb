//! One configured HTTP client per service endpoint, with retries for idempotent requests.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, RequestBuilder, Response};
use tokio::time::Instant;
use url::Url;

use super::retry::is_retryable_status;
use super::{tls, Backoff, EndpointConfig, HttpError};

/// Whether a request may be sent again after a failure that leaves its effect unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Sending it twice has the effect of sending it once (GET, PUT, DELETE, a deterministic
    /// submission): retried on connection errors, timeouts and 429/502/503/504.
    Idempotent,
    /// Sending it twice may act twice: retried only when it certainly never reached the server.
    NotIdempotent,
}

/// A service endpoint: its configuration and the connection pool built from it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    config: Arc<EndpointConfig>,
    client: Client,
}

impl Endpoint {
    /// Builds the client; fails on unreadable or invalid TLS material.
    pub fn new(config: EndpointConfig) -> Result<Self, HttpError> {
        let mut builder = Client::builder()
            .use_rustls_tls()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(config.user_agent.clone())
            .pool_idle_timeout(Duration::from_secs(60))
            .danger_accept_invalid_certs(!config.verify_tls);

        if let Some(dir) = &config.ca_dir {
            for certificate in tls::load_ca_dir(dir)? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        if let Some(file) = &config.ca_file {
            for certificate in tls::load_ca_file(file)? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        if let Some(cert) = &config.client_cert {
            builder = builder.identity(tls::load_identity(cert, config.client_key.as_deref())?);
        }

        let client = builder
            .build()
            .map_err(|e| HttpError::Config(format!("cannot build HTTP client: {e}")))?;
        Ok(Self {
            config: Arc::new(config),
            client,
        })
    }

    /// The endpoint's configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// The underlying client, for requests that need no retry policy.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The URL of `path` below the base URL (the base URL's own path is kept).
    pub fn url(&self, path: &str) -> Url {
        let mut url = self.config.base_url.clone();
        let joined = format!(
            "{}/{}",
            url.path().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        url.set_path(&joined);
        url
    }

    /// Sends the request that `build` makes, again if the failure and `idempotency` allow.
    ///
    /// `build` is called once per attempt, so the body is rebuilt rather than cloned. Any answer
    /// below 400 is returned; 4xx and 5xx become [`HttpError::Status`] with the body kept.
    pub async fn send<F>(&self, idempotency: Idempotency, build: F) -> Result<Response, HttpError>
    where
        F: Fn(&Client) -> RequestBuilder,
    {
        let policy = &self.config.retry;
        let started = Instant::now();
        let mut backoff = Backoff::new(&policy.backoff);
        let mut attempts = 0u32;

        loop {
            attempts += 1;
            let request = build(&self.client)
                .build()
                .map_err(|e| HttpError::Config(format!("cannot build request: {e}")))?;
            let method = request.method().to_string();
            let url = redact_query(request.url());

            let outcome = self.client.execute(request).await;
            let may_retry =
                attempts <= policy.max_retries && started.elapsed() < policy.retry_timeout;

            let (error, retry_after) = match outcome {
                Ok(response) if response.status().as_u16() < 400 => return Ok(response),
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after = parse_retry_after(&response);
                    let body = response.text().await.unwrap_or_default();
                    let error = HttpError::Status {
                        method,
                        url,
                        status,
                        body,
                    };
                    if !(may_retry
                        && is_retryable_status(status)
                        && idempotency == Idempotency::Idempotent)
                    {
                        return Err(error);
                    }
                    (error, retry_after)
                }
                Err(e) => {
                    // A connect error means the request never left: always safe to repeat.
                    let unsent = e.is_connect();
                    let error = if e.is_timeout() {
                        HttpError::Timeout {
                            method,
                            url,
                            attempts,
                        }
                    } else {
                        HttpError::Transport {
                            method,
                            url,
                            attempts,
                            message: error_chain(&e),
                        }
                    };
                    if !(may_retry && (unsent || idempotency == Idempotency::Idempotent)) {
                        return Err(error);
                    }
                    (error, None)
                }
            };

            let delay = retry_after.unwrap_or_else(|| backoff.next_delay());
            tracing::warn!(attempt = attempts, delay_ms = delay.as_millis() as u64, %error,
                "request failed, retrying");
            tokio::time::sleep(delay).await;
        }
    }
}

/// The server's `Retry-After` in seconds, capped so that a server cannot stall a client.
fn parse_retry_after(response: &Response) -> Option<Duration> {
    let value = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    let seconds: u64 = value.trim().parse().ok()?;
    Some(Duration::from_secs(seconds.min(60)))
}

/// The URL for logs and errors, with the values of credential-like query parameters hidden.
fn redact_query(url: &Url) -> String {
    let is_secret = |key: &str| {
        let key = key.to_ascii_lowercase();
        ["token", "password", "secret", "key"]
            .iter()
            .any(|word| key.contains(word))
    };
    if !url.query_pairs().any(|(key, _)| is_secret(&key)) {
        return url.to_string();
    }

    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let value = if is_secret(&k) {
                "***".to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), value)
        })
        .collect();
    let mut shown = url.clone();
    shown.query_pairs_mut().clear().extend_pairs(pairs);
    shown.to_string()
}

/// The error and its causes in one line: reqwest hides the useful part in the sources.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use axum::http::StatusCode;
    use axum::routing::{get, post};
    use axum::Router;

    use super::*;
    use crate::http::{BackoffConfig, RetryConfig};
    use crate::ErrorKind;
    use crate::ServiceError;

    /// A loopback server whose `/flaky` fails with 503 `failures` times, then answers 200.
    async fn flaky_server(failures: u32) -> (Url, Arc<AtomicU32>) {
        let hits = Arc::new(AtomicU32::new(0));
        let counter = hits.clone();
        let flaky = move || {
            let counter = counter.clone();
            async move {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                if n < failures {
                    (StatusCode::SERVICE_UNAVAILABLE, "busy")
                } else {
                    (StatusCode::OK, "ok")
                }
            }
        };
        let app = Router::new()
            .route("/api/flaky", get(flaky.clone()).post(flaky))
            .route(
                "/api/missing",
                post(|| async { (StatusCode::NOT_FOUND, "no such rule") }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (Url::parse(&format!("http://{address}/api")).unwrap(), hits)
    }

    fn endpoint(url: Url, max_retries: u32) -> Endpoint {
        let mut config = EndpointConfig::new(url);
        config.retry = RetryConfig {
            max_retries,
            retry_timeout: Duration::from_secs(30),
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(5),
                base: 2.0,
            },
        };
        Endpoint::new(config).unwrap()
    }

    #[tokio::test]
    async fn idempotent_requests_are_retried_through_503() {
        let (url, hits) = flaky_server(2).await;
        let endpoint = endpoint(url, 3);
        let response = endpoint
            .send(Idempotency::Idempotent, |c| c.get(endpoint.url("flaky")))
            .await
            .unwrap();
        assert_eq!(response.text().await.unwrap(), "ok");
        assert_eq!(hits.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn non_idempotent_requests_are_not_retried_after_an_answer() {
        let (url, hits) = flaky_server(2).await;
        let endpoint = endpoint(url, 3);
        let error = endpoint
            .send(Idempotency::NotIdempotent, |c| {
                c.post(endpoint.url("flaky"))
            })
            .await
            .unwrap_err();
        assert_eq!(error.status(), Some(503));
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn retries_stop_at_the_limit_and_keep_the_last_error() {
        let (url, hits) = flaky_server(10).await;
        let endpoint = endpoint(url, 2);
        let error = endpoint
            .send(Idempotency::Idempotent, |c| c.get(endpoint.url("flaky")))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Server);
        assert_eq!(hits.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn error_status_keeps_the_body_and_maps_to_a_kind() {
        let (url, _) = flaky_server(0).await;
        let endpoint = endpoint(url, 2);
        let error = endpoint
            .send(Idempotency::Idempotent, |c| c.post(endpoint.url("missing")))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound);
        assert!(error.to_string().contains("no such rule"), "{error}");
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_transport_error() {
        // Bind and drop a listener to find a port where nothing listens.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let endpoint = endpoint(Url::parse(&format!("http://{port}/")).unwrap(), 1);
        let error = endpoint
            .send(Idempotency::NotIdempotent, |c| c.post(endpoint.url("x")))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Transport);
        assert!(
            matches!(error, HttpError::Transport { attempts: 2, .. }),
            "{error:?}"
        );
    }

    #[test]
    fn url_keeps_the_base_path() {
        let endpoint = endpoint(Url::parse("https://fts.example:8446/base/").unwrap(), 0);
        assert_eq!(
            endpoint.url("/jobs/a,b").as_str(),
            "https://fts.example:8446/base/jobs/a,b"
        );
    }

    #[test]
    fn credentials_in_query_strings_are_redacted_in_messages() {
        let url = Url::parse("https://x.example/jobs?access_token=abc&files=a,b").unwrap();
        assert_eq!(
            redact_query(&url),
            "https://x.example/jobs?access_token=***&files=a%2Cb"
        );

        let plain = Url::parse("https://x.example/api/v1/task/get_status?task_id=7").unwrap();
        assert_eq!(redact_query(&plain), plain.as_str());
    }

    #[test]
    fn missing_tls_files_are_configuration_errors() {
        let mut config = EndpointConfig::new(Url::parse("https://x.example").unwrap());
        config.client_cert = Some("/nonexistent/x509up_u0".into());
        let error = Endpoint::new(config).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Configuration);
    }
}
