//! The FTS3 REST client: submission, bulk status, listing, cancellation, priority, whoami.

use bytes::Bytes;
use futures::{stream, StreamExt, TryStreamExt};
use reqwest::{Client, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde_json::json;
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::auth::Credentials;
use super::error::FtsError;
use super::model::{
    FileStatus, JobState, JobStatus, JobSubmission, JobSubmissionRef, Whoami, STATUS_FILE_FIELDS,
};
use crate::http::{Endpoint, EndpointConfig, Idempotency};

/// Job ids in one bulk status query at most, as FTS clients in the field use.
pub const MAX_IDS_PER_QUERY: usize = 100;

/// Bulk queries sent at once.
const QUERY_CONCURRENCY: usize = 4;

/// FTS's root namespace of deterministic job ids, used when `whoami` does not send its own.
const FTS_BASE_ID: Uuid = Uuid::from_u128(0x01874efb_4735_4595_bc9c_591aef8240c9);

/// How a submission ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// The FTS job id.
    pub job_id: String,
    /// True when the job existed already (409) and was adopted instead of created.
    pub adopted: bool,
}

/// A client of one FTS3 REST endpoint (the base URL is the one of `/whoami`).
#[derive(Debug)]
pub struct FtsClient {
    endpoint: Endpoint,
    credentials: Credentials,
    /// The namespace of this user's deterministic job ids, learnt from `whoami` once.
    namespace: OnceCell<Uuid>,
}

impl FtsClient {
    /// Builds the client; fails on an unusable URL or unreadable certificate files.
    pub fn new(mut config: EndpointConfig, credentials: Credentials) -> Result<Self, FtsError> {
        credentials.configure(&mut config)?;
        Ok(Self {
            endpoint: Endpoint::new(config)?,
            credentials,
            namespace: OnceCell::new(),
        })
    }

    /// The base URL of the endpoint.
    pub fn base_url(&self) -> &url::Url {
        &self.endpoint.config().base_url
    }

    /// `GET /whoami`: the identity the server sees.
    pub async fn whoami(&self) -> Result<Whoami, FtsError> {
        let response = self.get("whoami", &[]).await?;
        decode(response, "whoami").await
    }

    /// The job id FTS gives a deterministic submission with this `sid`.
    ///
    /// FTS derives it as UUIDv5 of the `sid` in the namespace of the user's VO, which `whoami`
    /// reports; knowing it lets a client adopt a job it submitted before a crash.
    pub async fn deterministic_job_id(&self, sid: &str) -> Result<String, FtsError> {
        let namespace = self
            .namespace
            .get_or_try_init(|| async {
                let whoami = self.whoami().await?;
                vo_namespace(&whoami)
            })
            .await?;
        Ok(Uuid::new_v5(namespace, sid.as_bytes()).to_string())
    }

    /// `POST /jobs` of a job whose `params.sid` makes its id deterministic; a 409 (the job
    /// exists, submitted earlier by this or a crashed run) adopts the existing job.
    pub async fn submit_deterministic(
        &self,
        submission: &JobSubmissionRef<'_>,
    ) -> Result<Submitted, FtsError> {
        let sid = submission
            .params
            .sid
            .as_deref()
            .filter(|_| submission.params.id_generator.as_deref() == Some("deterministic"))
            .ok_or_else(|| FtsError::invalid("a deterministic submission needs a sid"))?;
        let expected = self.deterministic_job_id(sid).await?;
        let body = Bytes::from(serialize(submission)?);

        // Idempotent: a repeat after a lost answer meets the 409 below, never a second job.
        let sent = self
            .endpoint
            .send(Idempotency::Idempotent, |client| {
                self.request(client, reqwest::Method::POST, "jobs")
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
            })
            .await
            .map_err(FtsError::from);

        match sent {
            Ok(response) => {
                let answer: serde_json::Value = decode(response, "submission").await?;
                let job_id = answer["job_id"].as_str().unwrap_or_default().to_owned();
                if job_id != expected {
                    return Err(FtsError::Decode {
                        what: "submission".into(),
                        message: format!(
                            "job id {job_id:?} is not the deterministic id {expected} of sid {sid}"
                        ),
                    });
                }
                // Debug: a bulk run submits hundreds; it logs one line per step at info.
                tracing::debug!(fts_job_id = %job_id, files = submission.files.len(),
                    "FTS job submitted");
                Ok(Submitted {
                    job_id,
                    adopted: false,
                })
            }
            Err(error) if error.is_conflict() => {
                tracing::debug!(fts_job_id = %expected, sid, "FTS job exists already, adopted");
                Ok(Submitted {
                    job_id: expected,
                    adopted: true,
                })
            }
            Err(error) => Err(error),
        }
    }

    /// `POST /jobs` of any job; returns the new job id. Not retried once the server answered.
    pub async fn submit(&self, submission: &JobSubmission) -> Result<String, FtsError> {
        let body = serialize(submission)?;
        let response = self
            .endpoint
            .send(Idempotency::NotIdempotent, |client| {
                self.request(client, reqwest::Method::POST, "jobs")
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
            })
            .await?;
        let answer: serde_json::Value = decode(response, "submission").await?;
        let job_id = answer["job_id"].as_str().ok_or_else(|| FtsError::Decode {
            what: "submission".into(),
            message: format!("no job_id in {answer}"),
        })?;
        tracing::info!(fts_job_id = %job_id, files = submission.files.len(), "FTS job submitted");
        Ok(job_id.to_owned())
    }

    /// `GET /jobs/a,b,...` in queries of at most 100 ids; jobs the server does not know come
    /// back with `http_status` 404 rather than as an error. With `files`, each job carries its
    /// file rows (the fields of [`STATUS_FILE_FIELDS`]).
    pub async fn job_statuses(
        &self,
        job_ids: &[String],
        files: bool,
    ) -> Result<Vec<JobStatus>, FtsError> {
        // Owned chunks: a closure over borrowed slices makes the future not provably `Send`.
        let chunks: Vec<Vec<String>> = job_ids
            .chunks(MAX_IDS_PER_QUERY)
            .map(<[String]>::to_vec)
            .collect();
        let answers: Vec<Vec<JobStatus>> = stream::iter(chunks)
            .map(|ids| async move { self.status_chunk(&ids, files).await })
            .buffered(QUERY_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(answers.into_iter().flatten().collect())
    }

    async fn status_chunk(&self, ids: &[String], files: bool) -> Result<Vec<JobStatus>, FtsError> {
        let path = format!("jobs/{}", ids.join(","));
        let query: &[(&str, &str)] = if files {
            &[("files", STATUS_FILE_FIELDS)]
        } else {
            &[]
        };
        match self.get(&path, query).await {
            Ok(response) => {
                let answer: OneOrMany<JobStatus> = decode(response, "job status").await?;
                Ok(answer.into_vec())
            }
            // A query of one unknown id is answered 404 as a whole, not as a list element.
            Err(error) if error.is_not_found() && ids.len() == 1 => Ok(vec![JobStatus {
                job_id: ids[0].clone(),
                http_status: Some("404 Not Found".into()),
                http_message: Some(error.to_string()),
                job_state: None,
                job_type: None,
                reason: None,
                priority: None,
                files: Vec::new(),
            }]),
            Err(error) => Err(error),
        }
    }

    /// `GET /jobs/{id}/files`: every file row of a job.
    pub async fn job_files(&self, job_id: &str) -> Result<Vec<FileStatus>, FtsError> {
        let response = self.get(&format!("jobs/{job_id}/files"), &[]).await?;
        decode(response, "job files").await
    }

    /// `GET /jobs?state_in=...&limit=...`: the caller's jobs in these states (FTS's default,
    /// the active states, when `states` is empty).
    pub async fn list_jobs(
        &self,
        states: &[JobState],
        limit: Option<usize>,
    ) -> Result<Vec<JobStatus>, FtsError> {
        let names: Vec<String> = states
            .iter()
            .map(|state| serde_json::to_value(state).map(|v| v.as_str().unwrap_or("").to_owned()))
            .collect::<Result<_, _>>()
            .map_err(|e| FtsError::Config(e.to_string()))?;
        let mut query: Vec<(&str, String)> = Vec::new();
        if !names.is_empty() {
            query.push(("state_in", names.join(",")));
        }
        if let Some(limit) = limit {
            query.push(("limit", limit.to_string()));
        }
        let response = self
            .endpoint
            .send(Idempotency::Idempotent, |client| {
                self.request(client, reqwest::Method::GET, "jobs")
                    .query(&query)
            })
            .await?;
        decode(response, "job list").await
    }

    /// `DELETE /jobs/a,b,...`: cancels jobs; those already terminal are left as they are.
    pub async fn cancel_jobs(&self, job_ids: &[String]) -> Result<Vec<JobStatus>, FtsError> {
        let mut cancelled = Vec::new();
        for ids in job_ids.chunks(MAX_IDS_PER_QUERY) {
            let path = format!("jobs/{}", ids.join(","));
            let response = self.delete(&path).await?;
            // 304 Not Modified (already terminal) comes without a body.
            if response.status().as_u16() == 304 {
                continue;
            }
            let answer: OneOrMany<JobStatus> = decode(response, "job cancellation").await?;
            cancelled.extend(answer.into_vec());
        }
        tracing::info!(jobs = job_ids.len(), "FTS jobs cancelled");
        Ok(cancelled)
    }

    /// `DELETE /jobs/{id}/files/a,b,...`: cancels files of a regular job.
    pub async fn cancel_files(&self, job_id: &str, file_ids: &[u64]) -> Result<(), FtsError> {
        let ids: Vec<String> = file_ids.iter().map(u64::to_string).collect();
        self.delete(&format!("jobs/{job_id}/files/{}", ids.join(",")))
            .await?;
        tracing::info!(fts_job_id = %job_id, files = file_ids.len(), "FTS files cancelled");
        Ok(())
    }

    /// `POST /jobs/{id}` with a new priority (1 lowest to 5 highest).
    pub async fn set_priority(&self, job_id: &str, priority: u8) -> Result<(), FtsError> {
        if !(1..=5).contains(&priority) {
            return Err(FtsError::invalid(format!(
                "priority {priority} is not between 1 and 5"
            )));
        }
        let body = json!({"params": {"priority": priority}}).to_string();
        self.endpoint
            .send(Idempotency::Idempotent, |client| {
                self.request(client, reqwest::Method::POST, &format!("jobs/{job_id}"))
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
            })
            .await?;
        tracing::info!(fts_job_id = %job_id, priority, "FTS job priority changed");
        Ok(())
    }

    fn request(&self, client: &Client, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.credentials
            .apply(client.request(method, self.endpoint.url(path)))
            .header(reqwest::header::ACCEPT, "application/json")
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Response, FtsError> {
        Ok(self
            .endpoint
            .send(Idempotency::Idempotent, |client| {
                self.request(client, reqwest::Method::GET, path)
                    .query(query)
            })
            .await?)
    }

    async fn delete(&self, path: &str) -> Result<Response, FtsError> {
        Ok(self
            .endpoint
            .send(Idempotency::Idempotent, |client| {
                self.request(client, reqwest::Method::DELETE, path)
            })
            .await?)
    }
}

/// FTS answers a list of ids with a list, and a single id with the object alone.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            Self::Many(items) => items,
            Self::One(item) => vec![item],
        }
    }
}

/// The namespace of deterministic job ids: the VO's id from `whoami`, or derived from its name.
fn vo_namespace(whoami: &Whoami) -> Result<Uuid, FtsError> {
    if let Some(id) = whoami.vos_id.first() {
        return Uuid::parse_str(id).map_err(|e| FtsError::Decode {
            what: "whoami".into(),
            message: format!("vos_id {id:?} is not a UUID: {e}"),
        });
    }
    let vo = whoami.vos.first().ok_or_else(|| FtsError::Decode {
        what: "whoami".into(),
        message: "no VO: deterministic job ids cannot be computed".into(),
    })?;
    let base = match &whoami.base_id {
        Some(id) => Uuid::parse_str(id).unwrap_or(FTS_BASE_ID),
        None => FTS_BASE_ID,
    };
    Ok(Uuid::new_v5(&base, vo.as_bytes()))
}

fn serialize(submission: &impl serde::Serialize) -> Result<String, FtsError> {
    serde_json::to_string(submission).map_err(|e| FtsError::invalid(e.to_string()))
}

async fn decode<T: DeserializeOwned>(response: Response, what: &str) -> Result<T, FtsError> {
    let bytes = response.bytes().await.map_err(|e| FtsError::Decode {
        what: what.to_owned(),
        message: format!("reading the body: {e}"),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| FtsError::Decode {
        what: what.to_owned(),
        message: format!(
            "{e}: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whoami(vos: &[&str], vos_id: &[&str]) -> Whoami {
        Whoami {
            user_dn: None,
            dn: vec![],
            vos: vos.iter().map(|s| s.to_string()).collect(),
            vos_id: vos_id.iter().map(|s| s.to_string()).collect(),
            delegation_id: None,
            method: None,
            base_id: None,
        }
    }

    #[test]
    fn the_vo_namespace_comes_from_vos_id_or_from_the_vo_name() {
        let derived = vo_namespace(&whoami(&["bmn"], &[])).unwrap();
        assert_eq!(derived, Uuid::new_v5(&FTS_BASE_ID, b"bmn"));
        let given = vo_namespace(&whoami(&["bmn"], &[&derived.to_string()])).unwrap();
        assert_eq!(given, derived);
        assert!(vo_namespace(&whoami(&[], &[])).is_err());
    }
}
