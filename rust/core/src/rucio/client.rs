//! The Rucio client: its configuration, authenticated requests and newline-delimited JSON.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::{Method, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::auth::{Authenticator, Credentials};
use super::RucioError;
use crate::http::{Backoff, BackoffConfig, Endpoint, EndpointConfig, HttpError, Idempotency};

/// The largest number of files or DIDs the client sends in one request: the server's schema
/// caps lists at 1000, and on SQLite a single insert of about 1000 replicas fails.
pub const MAX_CHUNK: usize = 990;

/// Times an idempotent request is sent again after the server's `DatabaseException`.
const BUSY_RETRIES: u32 = 4;

/// How to reach and authenticate to a Rucio server.
#[derive(Debug, Clone)]
pub struct RucioConfig {
    /// The server's base URL, such as `https://rucio.jinr.ru`.
    pub url: String,
    /// The Rucio account acting.
    pub account: String,
    /// How the account authenticates.
    pub credentials: Credentials,
    /// The VO of a multi-VO server; unset for a single-VO one.
    pub vo: Option<String>,
    /// A grid CA folder to trust, such as `/etc/grid-security/certificates`.
    pub ca_dir: Option<PathBuf>,
    /// The client certificate (an X.509 proxy holds the key too), for X.509 authentication.
    pub client_cert: Option<PathBuf>,
    /// The client key, when not in `client_cert`.
    pub client_key: Option<PathBuf>,
    /// Whether the server's certificate is verified. Default true.
    pub verify_tls: bool,
    /// Files or DIDs per bulk request, at most [`MAX_CHUNK`]. Default 500.
    pub chunk_size: usize,
    /// Bulk requests in flight at once. Default 4.
    pub concurrency: usize,
    /// Time allowed for one request and its answer. Default 120 s.
    pub request_timeout: Duration,
    /// Time allowed for a listing answered as a stream, such as the replicas of a large
    /// dataset, which the server produces slowly. Default 1 hour.
    pub listing_timeout: Duration,
}

impl RucioConfig {
    /// A configuration with defaults for everything but the server, account and credentials.
    pub fn new(
        url: impl Into<String>,
        account: impl Into<String>,
        credentials: Credentials,
    ) -> Self {
        Self {
            url: url.into(),
            account: account.into(),
            credentials,
            vo: None,
            ca_dir: None,
            client_cert: None,
            client_key: None,
            verify_tls: true,
            chunk_size: 500,
            concurrency: 4,
            request_timeout: Duration::from_secs(120),
            listing_timeout: Duration::from_secs(3600),
        }
    }
}

/// A Rucio client; cheap to clone, and all clones share the connection pool and token.
#[derive(Debug, Clone)]
pub struct RucioClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    endpoint: Endpoint,
    auth: Authenticator,
    account: String,
    vo: Option<String>,
    chunk_size: usize,
    concurrency: usize,
    listing_timeout: Duration,
}

impl RucioClient {
    /// Builds the client; nothing is sent until the first call.
    pub fn new(config: RucioConfig) -> Result<Self, RucioError> {
        if config.account.is_empty() {
            return Err(RucioError::Invalid("the Rucio account is empty".to_owned()));
        }
        if let Credentials::UserPass { username, password } = &config.credentials {
            if username.is_empty() || password.is_empty() {
                return Err(RucioError::Invalid(
                    "userpass authentication needs a user name and a password".to_owned(),
                ));
            }
        }
        if !(1..=MAX_CHUNK).contains(&config.chunk_size) {
            return Err(RucioError::Invalid(format!(
                "chunk_size {} must be between 1 and {MAX_CHUNK}",
                config.chunk_size
            )));
        }
        let is_x509 = matches!(config.credentials, Credentials::X509);
        if is_x509 && config.client_cert.is_none() {
            return Err(RucioError::Invalid(
                "X.509 authentication needs a client certificate".to_owned(),
            ));
        }

        let mut endpoint = EndpointConfig::parse(&config.url)?;
        endpoint.ca_dir = config.ca_dir;
        endpoint.client_cert = config.client_cert;
        endpoint.client_key = config.client_key;
        endpoint.verify_tls = config.verify_tls;
        endpoint.request_timeout = config.request_timeout;
        let endpoint = Endpoint::new(endpoint)?;

        let auth = Authenticator::new(
            config.credentials,
            config.account.clone(),
            config.vo.clone(),
        );
        Ok(Self {
            inner: Arc::new(Inner {
                endpoint,
                auth,
                account: config.account,
                vo: config.vo,
                chunk_size: config.chunk_size,
                concurrency: config.concurrency.max(1),
                listing_timeout: config.listing_timeout,
            }),
        })
    }

    /// The account this client acts as.
    pub fn account(&self) -> &str {
        &self.inner.account
    }

    pub(crate) fn chunk_size(&self) -> usize {
        self.inner.chunk_size
    }

    pub(crate) fn concurrency(&self) -> usize {
        self.inner.concurrency
    }

    /// Sends one authenticated request; a refused token is replaced and the request sent once
    /// more. Error answers become [`RucioError::Server`] with the server's exception class.
    pub(crate) async fn send(
        &self,
        idempotency: Idempotency,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Response, RucioError> {
        self.send_with(idempotency, method, path, query, body, None)
            .await
    }

    /// [`Self::send`] with a time limit of its own for the whole answer.
    async fn send_with(
        &self,
        idempotency: Idempotency,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        timeout: Option<Duration>,
    ) -> Result<Response, RucioError> {
        let request = format!("{method} /{}", path.trim_start_matches('/'));
        let body = body.map(|b| Bytes::from(b.to_string()));
        let inner = &self.inner;

        let mut refreshed = false;
        // A DatabaseException is how Rucio reports a lock timeout or deadlock between
        // concurrent writers (SQLite, Oracle); an idempotent request may simply be sent again.
        let mut busy_retries = BUSY_RETRIES;
        let mut backoff = Backoff::new(&BackoffConfig::default());
        loop {
            let token = inner.auth.token(&inner.endpoint).await?;
            let outcome = inner
                .endpoint
                .send(idempotency, |client| {
                    let mut builder = client
                        .request(method.clone(), inner.endpoint.url(path))
                        .header("X-Rucio-Auth-Token", token.expose())
                        .header("Accept", "*/*");
                    if !query.is_empty() {
                        builder = builder.query(query);
                    }
                    if let Some(vo) = &inner.vo {
                        builder = builder.header("X-Rucio-VO", vo);
                    }
                    if let Some(body) = &body {
                        builder = builder
                            .header("Content-Type", "application/json")
                            .body(body.clone());
                    }
                    if let Some(timeout) = timeout {
                        builder = builder.timeout(timeout);
                    }
                    builder
                })
                .await;

            match outcome {
                Ok(response) => return Ok(response),
                Err(HttpError::Status { status: 401, .. })
                    if !refreshed && inner.auth.can_refresh() =>
                {
                    tracing::info!(%request, "Rucio refused the token; authenticating again");
                    inner.auth.invalidate(&token).await;
                    refreshed = true;
                }
                Err(error) => {
                    let error = RucioError::from_http(&request, error);
                    let busy = error.is_class("DatabaseException");
                    if !(busy && idempotency == Idempotency::Idempotent && busy_retries > 0) {
                        return Err(error);
                    }
                    busy_retries -= 1;
                    let delay = backoff.next_delay();
                    tracing::warn!(%request, delay_ms = delay.as_millis() as u64,
                        "Rucio database busy, retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Sends a request and decodes its JSON answer.
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        idempotency: Idempotency,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, RucioError> {
        let request = format!("{method} {path}");
        let response = self.send(idempotency, method, path, &[], body).await?;
        let text = response.bytes().await.map_err(|e| decode(&request, e))?;
        serde_json::from_slice(&text).map_err(|e| decode(&request, e))
    }

    /// Sends a request whose answer is newline-delimited JSON and hands each object to `each`
    /// as soon as its line has arrived.
    pub(crate) async fn stream<T, F>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        mut each: F,
    ) -> Result<(), RucioError>
    where
        T: DeserializeOwned,
        F: FnMut(T) -> Result<(), RucioError>,
    {
        let request = format!("{method} {path}");
        let timeout = Some(self.inner.listing_timeout);
        let response = self
            .send_with(Idempotency::Idempotent, method, path, query, body, timeout)
            .await?;
        let mut chunks = response.bytes_stream();
        let mut pending: Vec<u8> = Vec::new();

        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|e| decode(&request, with_causes(&e)))?;
            pending.extend_from_slice(&chunk);
            let mut start = 0;
            while let Some(offset) = pending[start..].iter().position(|&b| b == b'\n') {
                let line = &pending[start..start + offset];
                start += offset + 1;
                if !line.iter().all(u8::is_ascii_whitespace) {
                    each(serde_json::from_slice(line).map_err(|e| decode(&request, e))?)?;
                }
            }
            pending.drain(..start);
        }
        if !pending.iter().all(u8::is_ascii_whitespace) {
            each(serde_json::from_slice(&pending).map_err(|e| decode(&request, e))?)?;
        }
        Ok(())
    }

    /// Collects a newline-delimited JSON answer.
    pub(crate) async fn collect<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Vec<T>, RucioError> {
        let mut items = Vec::new();
        self.stream(method, path, query, body, |item| {
            items.push(item);
            Ok(())
        })
        .await?;
        Ok(items)
    }
}

/// The error and its causes in one line: reqwest puts "timed out" in a cause.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

fn decode(request: &str, error: impl std::fmt::Display) -> RucioError {
    RucioError::Decode {
        request: request.to_owned(),
        message: error.to_string(),
    }
}

/// Everything but the unreserved characters of RFC 3986 is encoded in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'.')
    .remove(b'-')
    .remove(b'_')
    .remove(b'~');

/// A path segment with everything but unreserved characters percent-encoded.
pub(crate) fn segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// The index ranges of consecutive chunks of at most `size` items out of `len`.
///
/// Bulk calls map these ranges, not `&[T]` slices, to futures: a closure taking a borrowed
/// argument makes the futures fail the `Send` check of a spawned task (rust-lang/rust#64552).
pub(crate) fn chunk_ranges(len: usize, size: usize) -> impl Iterator<Item = Range<usize>> {
    let size = size.max(1);
    (0..len)
        .step_by(size)
        .map(move |start| start..(start + size).min(len))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::get;
    use axum::Router;

    use super::*;
    use crate::{ErrorKind, Secret, ServiceError};

    /// A loopback server that issues `token-<n>` and accepts only the newest token, so that
    /// a token cached by the client is refused once a second one has been issued.
    async fn server() -> (String, Arc<AtomicU32>) {
        let issued = Arc::new(AtomicU32::new(0));
        let (auth, check) = (issued.clone(), issued.clone());
        let app = Router::new()
            .route(
                "/auth/userpass",
                get(move || {
                    let n = auth.fetch_add(1, Ordering::SeqCst) + 1;
                    async move { ([("X-Rucio-Auth-Token", format!("token-{n}"))], "") }
                }),
            )
            .route(
                "/subscriptions/root",
                get(move |headers: HeaderMap| {
                    let newest = format!("token-{}", check.load(Ordering::SeqCst));
                    async move {
                        if headers["X-Rucio-Auth-Token"] == newest.as_str() {
                            (StatusCode::OK, "").into_response()
                        } else {
                            let body = r#"{"ExceptionClass": "CannotAuthenticate",
                                "ExceptionMessage": "Cannot authenticate with given token"}"#;
                            (StatusCode::UNAUTHORIZED, body).into_response()
                        }
                    }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{address}"), issued)
    }

    fn userpass(url: &str) -> RucioClient {
        let credentials = Credentials::UserPass {
            username: "root".into(),
            password: Secret::new("secret"),
        };
        RucioClient::new(RucioConfig::new(url, "root", credentials)).unwrap()
    }

    #[tokio::test]
    async fn a_refused_token_is_replaced_once_and_the_call_repeated() {
        let (url, issued) = server().await;
        let client = userpass(&url);
        client.list_subscriptions(None).await.unwrap();
        client.list_subscriptions(None).await.unwrap();
        assert_eq!(issued.load(Ordering::SeqCst), 1, "the token is cached");

        // Another client authenticates: the server now refuses the first client's token.
        userpass(&url).list_subscriptions(None).await.unwrap();
        client.list_subscriptions(None).await.unwrap();
        assert_eq!(issued.load(Ordering::SeqCst), 3, "one re-authentication");
    }

    #[tokio::test]
    async fn a_refused_jwt_is_an_authentication_error_without_retry() {
        let (url, issued) = server().await;
        let credentials = Credentials::Jwt(Secret::new("eyJ.not.valid"));
        let client = RucioClient::new(RucioConfig::new(&url, "root", credentials)).unwrap();
        let error = client.list_subscriptions(None).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Authentication);
        assert_eq!(error.server_class(), Some("CannotAuthenticate"));
        assert!(!error.to_string().contains("eyJ"), "{error}");
        assert_eq!(issued.load(Ordering::SeqCst), 0);
    }

    /// A loopback server whose attachments fail with `DatabaseException` `failures` times.
    async fn busy_server(failures: u32) -> (RucioClient, Arc<AtomicU32>) {
        let calls = Arc::new(AtomicU32::new(0));
        let counter = calls.clone();
        let app = Router::new().route(
            "/dids/attachments",
            axum::routing::post(move || {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < failures {
                        let body = r#"{"ExceptionClass": "DatabaseException",
                            "ExceptionMessage": "database is locked"}"#;
                        (StatusCode::INTERNAL_SERVER_ERROR, body).into_response()
                    } else {
                        (StatusCode::CREATED, "Created").into_response()
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let credentials = Credentials::Jwt(Secret::new("token"));
        let config = RucioConfig::new(format!("http://{address}"), "root", credentials);
        (RucioClient::new(config).unwrap(), calls)
    }

    #[tokio::test]
    async fn only_idempotent_calls_are_repeated_after_a_database_exception() {
        let body = serde_json::json!({"attachments": []});
        let path = "dids/attachments";

        let (client, calls) = busy_server(2).await;
        client
            .send(
                Idempotency::Idempotent,
                Method::POST,
                path,
                &[],
                Some(&body),
            )
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        let (client, calls) = busy_server(2).await;
        let error = client
            .send(
                Idempotency::NotIdempotent,
                Method::POST,
                path,
                &[],
                Some(&body),
            )
            .await
            .unwrap_err();
        assert_eq!(error.server_class(), Some("DatabaseException"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn chunks_cover_every_item_once() {
        let ranges: Vec<_> = chunk_ranges(2500, 990).collect();
        assert_eq!(ranges, vec![0..990, 990..1980, 1980..2500]);
        assert_eq!(chunk_ranges(0, 990).count(), 0);
    }
}
