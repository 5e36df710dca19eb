//! PanDA tasks: what changed through `get_tasks_modified_since`, and bounded concurrent
//! `get_status` calls for new tasks and full reads.

use std::path::PathBuf;
use std::time::SystemTime;

use futures::future::BoxFuture;
use serde_json::json;
use time::macros::format_description;
use time::OffsetDateTime;

use super::{config_error, digest, read_each, watcher_retry};
use crate::error::ErrorKind;
use crate::panda::{
    is_final_task_status, PandaAuth, PandaClient, PandaConfig, TaskSummary, TokenSource,
};
use crate::watch::{
    Answer, Budget, Changes, Connection, ObjectKind, Observation, Source, SourceError, SourceKey,
};
use crate::{Secret, ServiceError};

/// Status calls in flight at once, by default.
const CONCURRENCY: usize = 8;

/// The PanDA tasks of one server and identity.
pub struct PandaSource {
    key: SourceKey,
    client: PandaClient,
    concurrency: usize,
    source_label: String,
    monitor_url: Option<String>,
}

impl PandaSource {
    /// A source for an Airflow connection of type `panda`, read as the PanDA hook reads it:
    /// the host is the server URL; an OIDC token is the password or the file of extra
    /// `token_file`, sent with extras `vo` and `role`; else extra `proxy` is an X.509 proxy
    /// (with `ca_dir`). Also `verify_tls`, `prod_source_label` (default `user`),
    /// `concurrency` and `monitor_url`.
    pub fn from_connection(connection: &Connection) -> Result<Self, SourceError> {
        let url = connection.url("https")?;
        // As the PanDA hook decides: a token (file or password) with its VO, else a proxy,
        // else no credentials.
        let password = connection
            .password
            .clone()
            .filter(|token| !token.is_empty());
        let token = match (connection.extra_str("token_file"), password) {
            (Some(file), _) => Some((
                TokenSource::File(PathBuf::from(&file)),
                format!("file:{file}"),
            )),
            (None, Some(token)) => Some((
                TokenSource::Value(Secret::new(token.expose())),
                digest(token.expose()),
            )),
            (None, None) => None,
        };
        let (auth, identity) = if let Some((token, who)) = token {
            let vo = connection
                .extra_str("vo")
                .ok_or_else(|| config_error(connection, "an OIDC token needs the vo extra"))?;
            let role = connection.extra_str("role");
            let identity = format!("token:{vo}:{who}");
            (PandaAuth::Token { token, vo, role }, identity)
        } else if let Some(proxy) = connection.extra_str("proxy") {
            let identity = format!("x509:{proxy}");
            let auth = PandaAuth::X509 {
                proxy: PathBuf::from(proxy),
                ca_dir: connection.extra_str("ca_dir").map(PathBuf::from),
            };
            (auth, identity)
        } else {
            (PandaAuth::Anonymous, "anonymous".to_owned())
        };

        let mut config = PandaConfig::new(&url, auth).map_err(|e| SourceError::from_service(&e))?;
        config.endpoint.verify_tls = connection.extra_flag("verify_tls", true);
        config.endpoint.retry = watcher_retry();
        let client = PandaClient::new(config).map_err(|e| SourceError::from_service(&e))?;
        let concurrency = match connection.extra_str("concurrency") {
            None => CONCURRENCY,
            Some(text) => text
                .parse()
                .map_err(|_| config_error(connection, "concurrency must be a number"))?,
        };
        Ok(Self {
            key: SourceKey::new(ObjectKind::PandaTask, url, identity),
            client,
            concurrency,
            source_label: connection
                .extra_str("prod_source_label")
                .unwrap_or_else(|| "user".into()),
            monitor_url: connection.extra_str("monitor_url"),
        })
    }

    async fn ask(&self, task_id: &str) -> Result<Option<Observation>, SourceError> {
        let number: u64 = task_id
            .parse()
            .map_err(|_| SourceError::new(ErrorKind::InvalidInput, "not a task id"))?;
        match self.client.task_status(number).await {
            Ok(status) => Ok(Some(observe(status))),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(Some(Observation::Gone {
                message: error.to_string(),
            })),
            Err(error) => Err(SourceError::from_service(&error)),
        }
    }

    async fn list(&self, since: SystemTime, budget: &Budget) -> Result<Changes, SourceError> {
        let since = OffsetDateTime::from(since)
            .format(format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .map_err(|e| SourceError::new(ErrorKind::Internal, e.to_string()))?;
        budget.acquire().await;
        let tasks = self
            .client
            .tasks_modified_since(&since, &self.source_label, false, None)
            .await
            .map_err(|e| SourceError::from_service(&e))?;
        Ok(Changes {
            observations: tasks.into_iter().map(summary_observation).collect(),
            complete: true,
        })
    }
}

impl Source for PandaSource {
    fn key(&self) -> &SourceKey {
        &self.key
    }

    fn validate(&self, id: &str) -> Result<(), String> {
        id.parse::<u64>()
            .map(drop)
            .map_err(|_| "a PanDA task id (jediTaskID) is a positive number".into())
    }

    fn read<'a>(&'a self, ids: &'a [String], budget: &'a Budget) -> BoxFuture<'a, Answer> {
        Box::pin(read_each(
            ids,
            self.concurrency,
            budget,
            move |id| async move {
                let result = self.ask(&id).await;
                (id, result)
            },
        ))
    }

    fn changed_since<'a>(
        &'a self,
        since: SystemTime,
        budget: &'a Budget,
    ) -> BoxFuture<'a, Result<Option<Changes>, SourceError>> {
        Box::pin(async move { self.list(since, budget).await.map(Some) })
    }

    fn link(&self, id: &str) -> Option<String> {
        let base = self.monitor_url.as_deref()?.trim_end_matches('/');
        Some(format!("{base}/task/{id}/"))
    }
}

fn observe(status: String) -> Observation {
    if is_final_task_status(&status) {
        Observation::Terminal {
            state: status,
            detail: json!({}),
        }
    } else {
        Observation::Active { state: status }
    }
}

fn summary_observation(task: TaskSummary) -> (String, Observation) {
    (task.task_id.to_string(), observe(task.status))
}
