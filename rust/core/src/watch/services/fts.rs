//! FTS jobs: recently ended jobs through one listing, the rest 100 ids a query.

use std::path::PathBuf;
use std::time::SystemTime;

use futures::future::BoxFuture;
use futures::StreamExt;
use serde_json::json;

use super::{config_error, digest, watcher_retry};
use crate::fts::client::MAX_IDS_PER_QUERY;
use crate::fts::{Credentials, FtsClient, FtsError, JobState, JobStatus};
use crate::http::{Endpoint, EndpointConfig, HttpError, Idempotency};
use crate::watch::{
    Answer, Budget, Changes, Connection, ObjectKind, Observation, Source, SourceError, SourceKey,
};
use crate::Secret;

/// The terminal job states, as the listing asks for them.
const TERMINAL_STATES: &str = "FINISHED,FINISHEDDIRTY,FAILED,CANCELED";

/// The most jobs FTS lists in one answer; a full answer may have left some out.
const LISTING_LIMIT: usize = 500;

/// Bulk status queries in flight at once.
const CONCURRENCY: usize = 4;

/// The port of the FTS web monitor next to the REST port, by FTS convention.
const WEB_MONITOR_PORT: u16 = 8449;

/// FTS jobs of one endpoint and identity.
pub struct FtsSource {
    key: SourceKey,
    client: FtsClient,
    // The listing needs `time_window`, which the client's listing does not take.
    listing: Endpoint,
    credentials: Credentials,
    web_monitor: String,
}

impl FtsSource {
    /// A source for an Airflow connection of type `fts` (extras as the FTS hook reads them:
    /// `auth_type` none/token/certificate, `certificate`, `key`, `ca_dir`, `verify_tls`,
    /// `web_monitor`).
    pub fn from_connection(connection: &Connection) -> Result<Self, SourceError> {
        let url = connection.url("https")?;
        let auth_type = connection
            .extra_str("auth_type")
            .unwrap_or_else(|| "none".into())
            .to_ascii_lowercase();
        let (credentials, identity) = match auth_type.as_str() {
            "none" => (Credentials::None, "none".to_owned()),
            "token" => {
                let token = connection
                    .password
                    .clone()
                    .filter(|token| !token.is_empty())
                    .ok_or_else(|| config_error(connection, "auth_type token needs a password"))?;
                let identity = format!("token:{}", digest(token.expose()));
                (Credentials::Token(Secret::new(token.expose())), identity)
            }
            "certificate" => {
                let certificate = connection.extra_str("certificate").ok_or_else(|| {
                    config_error(
                        connection,
                        "auth_type certificate needs a certificate extra",
                    )
                })?;
                let identity = format!("certificate:{certificate}");
                let credentials = Credentials::X509 {
                    certificate: PathBuf::from(certificate),
                    key: connection.extra_str("key").map(PathBuf::from),
                };
                (credentials, identity)
            }
            other => {
                return Err(config_error(
                    connection,
                    format!("auth_type {other:?} must be none, token or certificate"),
                ))
            }
        };

        let mut config = EndpointConfig::parse(&url).map_err(|e| SourceError::from_service(&e))?;
        config.verify_tls = connection.extra_flag("verify_tls", true);
        config.ca_dir = connection.extra_str("ca_dir").map(PathBuf::from);
        config.retry = watcher_retry();
        let mut listing_config = config.clone();
        credentials
            .configure(&mut listing_config)
            .map_err(|e| SourceError::from_service(&e))?;
        let listing = Endpoint::new(listing_config).map_err(|e| SourceError::from_service(&e))?;
        let client = FtsClient::new(config, credentials.clone())
            .map_err(|e| SourceError::from_service(&e))?;

        let host = listing
            .config()
            .base_url
            .host_str()
            .unwrap_or("localhost")
            .to_owned();
        let web_monitor = connection.extra_str("web_monitor").unwrap_or_else(|| {
            format!("https://{host}:{WEB_MONITOR_PORT}/fts3/ftsmon/#/job/{{job_id}}")
        });
        Ok(Self {
            key: SourceKey::new(ObjectKind::FtsJob, url, identity),
            client,
            listing,
            credentials,
            web_monitor,
        })
    }

    async fn read_chunk(
        &self,
        ids: Vec<String>,
        budget: &Budget,
    ) -> Result<Vec<JobStatus>, FtsError> {
        budget.acquire().await;
        self.client.job_statuses(&ids, false).await
    }

    async fn list_ended(&self, since: SystemTime, budget: &Budget) -> Result<Changes, FtsError> {
        // FTS takes the window as hours:minutes back from its own clock.
        let minutes = SystemTime::now()
            .duration_since(since)
            .map_or(1, |window| window.as_secs().div_ceil(60).max(1));
        let window = format!("{}:{}", minutes / 60, minutes % 60);
        let url = self.listing.url("jobs");
        let query = [
            ("state_in", TERMINAL_STATES),
            ("time_window", window.as_str()),
        ];

        budget.acquire().await;
        let response = self
            .listing
            .send(Idempotency::Idempotent, |client| {
                self.credentials
                    .apply(client.get(url.clone()).query(&query))
            })
            .await?;
        let jobs: Vec<JobStatus> = response.json().await.map_err(|e| HttpError::Decode {
            method: "GET".into(),
            url: url.to_string(),
            message: e.to_string(),
        })?;
        Ok(Changes {
            complete: jobs.len() < LISTING_LIMIT,
            observations: jobs.iter().map(observe).collect(),
        })
    }
}

impl Source for FtsSource {
    fn key(&self) -> &SourceKey {
        &self.key
    }

    fn read<'a>(&'a self, ids: &'a [String], budget: &'a Budget) -> BoxFuture<'a, Answer> {
        Box::pin(async move {
            let chunks: Vec<Vec<String>> = ids
                .chunks(MAX_IDS_PER_QUERY)
                .map(<[String]>::to_vec)
                .collect();
            let results: Vec<Result<Vec<JobStatus>, FtsError>> = futures::stream::iter(chunks)
                .map(|chunk| self.read_chunk(chunk, budget))
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;

            let mut answer = Answer::default();
            for result in results {
                match result {
                    Ok(jobs) => answer.observations.extend(jobs.iter().map(observe)),
                    Err(error) => {
                        answer
                            .error
                            .get_or_insert(SourceError::from_service(&error));
                    }
                }
            }
            answer
        })
    }

    fn changed_since<'a>(
        &'a self,
        since: SystemTime,
        budget: &'a Budget,
    ) -> BoxFuture<'a, Result<Option<Changes>, SourceError>> {
        Box::pin(async move {
            self.list_ended(since, budget)
                .await
                .map(Some)
                .map_err(|e| SourceError::from_service(&e))
        })
    }

    fn link(&self, id: &str) -> Option<String> {
        Some(self.web_monitor.replace("{job_id}", id))
    }
}

/// What a job row says, in the watcher's terms.
fn observe(job: &JobStatus) -> (String, Observation) {
    let observation = match job.job_state.filter(|_| !job.is_missing()) {
        None => Observation::Gone {
            message: job
                .http_message
                .clone()
                .unwrap_or_else(|| "FTS does not know the job (purged?)".into()),
        },
        Some(state) if state.is_terminal() => Observation::Terminal {
            state: state_name(state),
            detail: json!({"reason": job.reason, "job_type": job.job_type}),
        },
        Some(state) => Observation::Active {
            state: state_name(state),
        },
    };
    (job.job_id.clone(), observation)
}

fn state_name(state: JobState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_else(|| "UNKNOWN".into())
}
