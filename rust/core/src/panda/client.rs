//! The PanDA `/api/v1` client: one endpoint, credentials, and the request encodings the
//! server insists on.

use std::sync::Arc;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, ORIGIN};
use reqwest::RequestBuilder;
use serde_json::Value;

use super::auth::{PandaAuth, TokenHeaders};
use super::envelope::Envelope;
use super::PandaError;
use crate::http::{Endpoint, EndpointConfig, HttpError, Idempotency};

/// The settings of a PanDA client.
#[derive(Debug, Clone)]
pub struct PandaConfig {
    /// The server, such as `https://pandaserver.jinr.ru:25443`; a trailing `/server/panda`
    /// or `/api/v1` is dropped, as calls go to `<server>/api/v1/<module>/<method>`.
    pub endpoint: EndpointConfig,
    /// The credentials.
    pub auth: PandaAuth,
}

impl PandaConfig {
    /// A configuration for `url` with default endpoint settings.
    pub fn new(url: &str, auth: PandaAuth) -> Result<Self, PandaError> {
        Ok(Self {
            endpoint: EndpointConfig::parse(url)?,
            auth,
        })
    }
}

/// A client of one PanDA server; cheap to clone, one connection pool.
#[derive(Debug, Clone)]
pub struct PandaClient {
    endpoint: Endpoint,
    token: Option<Arc<TokenHeaders>>,
}

impl PandaClient {
    /// Builds the client; fails on unusable TLS material or credentials.
    pub fn new(config: PandaConfig) -> Result<Self, PandaError> {
        let PandaConfig { mut endpoint, auth } = config;
        let path = endpoint.base_url.path().trim_end_matches('/').to_owned();
        let root = path
            .strip_suffix("/server/panda")
            .or_else(|| path.strip_suffix("/api/v1"))
            .unwrap_or(&path)
            .to_owned();
        endpoint.base_url.set_path(&format!("{root}/api/v1/"));

        auth.configure(&mut endpoint);
        let token = match auth {
            PandaAuth::Token { token, vo, role } => {
                Some(Arc::new(TokenHeaders::new(token, &vo, role.as_deref())?))
            }
            _ => None,
        };
        Ok(Self {
            endpoint: Endpoint::new(endpoint)?,
            token,
        })
    }

    /// The `/api/v1/` URL that calls are made under.
    pub fn api_url(&self) -> &url::Url {
        &self.endpoint.config().base_url
    }

    /// GET `<call>` with `query`; a key given several times is a list (`job_ids=1&job_ids=2`).
    pub(crate) async fn get(
        &self,
        call: &'static str,
        query: &[(&str, String)],
    ) -> Result<Envelope, PandaError> {
        let auth = self.auth_headers()?;
        let mut url = self.endpoint.url(call);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let response = self
            .endpoint
            .send(Idempotency::Idempotent, |client| {
                with_auth(
                    client.get(url.clone()).header(ACCEPT, "application/json"),
                    &auth,
                )
            })
            .await?;
        read(call, response).await
    }

    /// POST `<call>` with a JSON body.
    pub(crate) async fn post(
        &self,
        call: &'static str,
        body: &Value,
        idempotency: Idempotency,
    ) -> Result<Envelope, PandaError> {
        let auth = self.auth_headers()?;
        let url = self.endpoint.url(call);
        // The server parses the body as JSON only when the content type is exactly this
        // string; a charset suffix makes it fall back to form parsing.
        let bytes = serde_json::to_vec(body).map_err(|e| {
            PandaError::InvalidArgument(format!("cannot encode the {call} body: {e}"))
        })?;
        let response = self
            .endpoint
            .send(idempotency, |client| {
                with_auth(
                    client
                        .post(url.clone())
                        .header(CONTENT_TYPE, "application/json")
                        .header(ACCEPT, "application/json")
                        .body(bytes.clone()),
                    &auth,
                )
            })
            .await?;
        read(call, response).await
    }

    fn auth_headers(&self) -> Result<Option<(String, String)>, PandaError> {
        let Some(token) = &self.token else {
            return Ok(None);
        };
        let (value, origin) = token.headers()?;
        Ok(Some((format!("Bearer {}", value.expose()), origin)))
    }
}

fn with_auth(request: RequestBuilder, auth: &Option<(String, String)>) -> RequestBuilder {
    match auth {
        Some((bearer, origin)) => request.header(AUTHORIZATION, bearer).header(ORIGIN, origin),
        None => request,
    }
}

async fn read(call: &'static str, response: reqwest::Response) -> Result<Envelope, PandaError> {
    let url = response.url().path().to_owned();
    let body = response.bytes().await.map_err(|e| HttpError::Decode {
        method: "GET/POST".into(),
        url,
        message: e.to_string(),
    })?;
    Envelope::parse(call, &body)
}

/// A query value as the server's casting expects it: `True` for a flag that is on.
///
/// The server casts GET parameters with Python's `bool(str)`, for which `"False"` is true;
/// so a flag that is off must be left out of the query rather than sent as `False`.
pub(crate) fn flag(query: &mut Vec<(&'static str, String)>, key: &'static str, on: bool) {
    if on {
        query.push((key, "True".to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::extract::{RawQuery, State};
    use axum::http::HeaderMap;
    use axum::routing::{get, post};
    use axum::{Json, Router};
    use parking_lot::Mutex;
    use serde_json::{json, Map};

    use super::*;
    use crate::panda::auth::tests::jwt;
    use crate::panda::TokenSource;
    use crate::Secret;

    type Seen = Arc<Mutex<Vec<(HeaderMap, Option<String>, Option<Value>)>>>;

    /// A loopback stand-in that records each request and answers like the server would.
    async fn recorder() -> (String, Seen) {
        let seen: Seen = Arc::default();
        let app = Router::new()
            .route(
                "/api/v1/task/submit",
                post(|State(seen): State<Seen>, headers: HeaderMap, Json(body): Json<Value>| async move {
                    seen.lock().push((headers, None, Some(body)));
                    Json(json!({"success": false, "data": 2,
                        "message": "jediTaskID=77 is in the running state for outDS=x. "}))
                }),
            )
            .route(
                "/api/v1/job/get_status",
                get(|State(seen): State<Seen>, headers: HeaderMap, RawQuery(query): RawQuery| async move {
                    seen.lock().push((headers, query, None));
                    Json(json!({"success": true, "message": "", "data": [
                        {"status": "running", "command": null},
                        {"status": "unknown", "command": "tobekilled"}]}))
                }),
            )
            .route(
                "/api/v1/job/get_description",
                post(|State(seen): State<Seen>, headers: HeaderMap, Json(body): Json<Value>| async move {
                    let count = body["job_ids"].as_array().map_or(0, Vec::len);
                    seen.lock().push((headers, None, Some(body)));
                    Json(json!({"success": true, "message": "", "data": vec![Value::Null; count]}))
                }),
            )
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{address}/server/panda"), seen)
    }

    fn client(url: &str) -> PandaClient {
        let auth = PandaAuth::Token {
            token: TokenSource::Value(Secret::new(jwt(i64::MAX / 2))),
            vo: "bmn".into(),
            role: Some("production".into()),
        };
        PandaClient::new(PandaConfig::new(url, auth).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn posts_exact_json_and_reuses_a_duplicate_task() {
        let (url, seen) = recorder().await;
        let mut parameters = Map::new();
        parameters.insert("taskName".into(), json!("t1"));
        parameters.insert("uniqueTaskName".into(), json!(true));

        let submission = client(&url).submit_task(&parameters, None).await.unwrap();
        assert_eq!(submission.task_id, 77);
        assert!(!submission.created);

        let (headers, _, body) = seen.lock().pop().unwrap();
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(headers["accept"], "application/json");
        assert_eq!(headers["origin"], "bmn:production");
        assert!(headers["authorization"]
            .to_str()
            .unwrap()
            .starts_with("Bearer ey"));
        assert_eq!(body.unwrap()["task_parameters"]["taskName"], "t1");
    }

    #[test]
    fn an_unreadable_proxy_is_a_configuration_error_before_any_request() {
        let auth = PandaAuth::X509 {
            proxy: "/nonexistent/x509up_u1000".into(),
            ca_dir: None,
        };
        let config = PandaConfig::new("https://panda.example:25443", auth).unwrap();
        let error = PandaClient::new(config).unwrap_err();
        assert_eq!(
            crate::ServiceError::kind(&error),
            crate::ErrorKind::Configuration
        );
        assert!(error.to_string().contains("x509up_u1000"), "{error}");
    }

    #[test]
    fn calls_go_under_api_v1_whatever_the_configured_path() {
        for url in [
            "https://p.example:25443",
            "https://p.example:25443/server/panda",
        ] {
            let config = PandaConfig::new(url, PandaAuth::Anonymous).unwrap();
            let client = PandaClient::new(config).unwrap();
            assert_eq!(client.api_url().as_str(), "https://p.example:25443/api/v1/");
        }
    }

    #[tokio::test]
    async fn descriptions_are_fetched_in_chunks_below_the_server_cap() {
        let (url, seen) = recorder().await;
        let ids: Vec<u64> = (1..=12_000).collect();
        let jobs = client(&url).job_descriptions(&ids).await.unwrap();
        assert_eq!(jobs.len(), 12_000);
        let sizes: Vec<usize> = seen
            .lock()
            .iter()
            .map(|(_, _, body)| body.as_ref().unwrap()["job_ids"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, vec![5000, 5000, 2000]);
    }

    #[tokio::test]
    async fn lists_go_as_repeated_keys() {
        let (url, seen) = recorder().await;
        let statuses = client(&url).job_statuses(&[11, 12]).await.unwrap();
        assert_eq!(statuses[1].status.as_deref(), Some("unknown"));
        let (headers, query, _) = seen.lock().pop().unwrap();
        assert_eq!(query.as_deref(), Some("job_ids=11&job_ids=12"));
        assert_eq!(headers["accept"], "application/json");
    }
}
