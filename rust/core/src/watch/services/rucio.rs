//! Rucio rules: each rule read on its own, a bounded number at a time.
//!
//! Limitation: rules are read one by one; listing an account's rules by state would need a
//! paged listing that Rucio's REST API does not offer for all of an account's rules.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use futures::future::BoxFuture;
use parking_lot::Mutex;
use serde_json::json;
use tokio::time::Instant;

use super::{config_error, digest, read_each};
use crate::error::ErrorKind;
use crate::rucio::{Credentials, RucioClient, RucioConfig, Rule};
use crate::watch::{
    Answer, Budget, Connection, ObjectKind, Observation, Source, SourceError, SourceKey,
};
use crate::{Secret, ServiceError};

/// Rule reads in flight at once, by default.
const CONCURRENCY: usize = 8;

/// How long a rule may stay STUCK before the wait ends, by default: the judge repairs many.
const STUCK_GRACE: Duration = Duration::from_secs(600);

/// The rules of one Rucio server and account.
pub struct RucioSource {
    key: SourceKey,
    client: RucioClient,
    concurrency: usize,
    stuck_grace: Duration,
    // When each rule was first seen STUCK in the current spell.
    stuck_since: Mutex<HashMap<String, Instant>>,
    webui_url: Option<String>,
}

impl RucioSource {
    /// A source for an Airflow connection of type `rucio` (extras as the Rucio hook reads
    /// them: `account`, `auth_type` userpass/oidc/x509, `vo`, `ca_dir`, `client_cert`,
    /// `client_key`, `verify_tls`, `concurrency`, `webui_url`; and `stuck_grace` in seconds).
    pub fn from_connection(connection: &Connection) -> Result<Self, SourceError> {
        let url = connection.url("https")?;
        let account = connection
            .extra_str("account")
            .or_else(|| connection.login.clone())
            .ok_or_else(|| config_error(connection, "it names no Rucio account"))?;
        let auth_type = connection
            .extra_str("auth_type")
            .unwrap_or_else(|| "userpass".into())
            .to_ascii_lowercase();
        let password = connection
            .password
            .as_ref()
            .map(Secret::expose)
            .unwrap_or("");
        let (credentials, identity) = match auth_type.as_str() {
            "userpass" => {
                let username = connection.login.clone().unwrap_or_default();
                let identity = format!("userpass:{username}");
                let credentials = Credentials::UserPass {
                    username,
                    password: Secret::new(password),
                };
                (credentials, identity)
            }
            "oidc" => (
                Credentials::Jwt(Secret::new(password)),
                format!("oidc:{}", digest(password)),
            ),
            "x509" => (
                Credentials::X509,
                format!(
                    "x509:{}",
                    connection.extra_str("client_cert").unwrap_or_default()
                ),
            ),
            other => {
                return Err(config_error(
                    connection,
                    format!("auth_type {other:?} must be userpass, oidc or x509"),
                ))
            }
        };

        let mut config = RucioConfig::new(url.clone(), account.clone(), credentials);
        config.vo = connection.extra_str("vo");
        config.ca_dir = connection.extra_str("ca_dir").map(PathBuf::from);
        config.client_cert = connection.extra_str("client_cert").map(PathBuf::from);
        config.client_key = connection.extra_str("client_key").map(PathBuf::from);
        config.verify_tls = connection.extra_flag("verify_tls", true);
        let client = RucioClient::new(config).map_err(|e| SourceError::from_service(&e))?;

        let number = |key: &str, default: u64| -> Result<u64, SourceError> {
            match connection.extra_str(key) {
                None => Ok(default),
                Some(text) => text
                    .parse()
                    .map_err(|_| config_error(connection, format!("{key} must be a number"))),
            }
        };
        let identity = match connection.extra_str("vo") {
            Some(vo) => format!("{account}@{vo} {identity}"),
            None => format!("{account} {identity}"),
        };
        Ok(Self {
            key: SourceKey::new(ObjectKind::RucioRule, url, identity),
            client,
            concurrency: number("concurrency", CONCURRENCY as u64)? as usize,
            stuck_grace: Duration::from_secs(number("stuck_grace", STUCK_GRACE.as_secs())?),
            stuck_since: Mutex::new(HashMap::new()),
            webui_url: connection.extra_str("webui_url"),
        })
    }

    async fn ask(&self, rule_id: &str) -> Result<Option<Observation>, SourceError> {
        match self.client.get_rule(rule_id).await {
            Ok(rule) => Ok(Some(self.observe(rule))),
            Err(error) if error.kind() == ErrorKind::NotFound => {
                self.stuck_since.lock().remove(rule_id);
                Ok(Some(Observation::Gone {
                    message: error.to_string(),
                }))
            }
            Err(error) => Err(SourceError::from_service(&error)),
        }
    }

    /// OK and SUSPENDED end a wait; STUCK ends it once it lasted the grace.
    fn observe(&self, rule: Rule) -> Observation {
        let detail = json!({
            "error": rule.error,
            "locks_ok_cnt": rule.locks_ok_cnt,
            "locks_replicating_cnt": rule.locks_replicating_cnt,
            "locks_stuck_cnt": rule.locks_stuck_cnt,
        });
        let mut stuck_since = self.stuck_since.lock();
        let terminal = match rule.state.as_str() {
            "OK" | "SUSPENDED" => true,
            "STUCK" => {
                let since = *stuck_since
                    .entry(rule.id.clone())
                    .or_insert_with(Instant::now);
                since.elapsed() >= self.stuck_grace
            }
            _ => false,
        };
        if terminal || rule.state != "STUCK" {
            stuck_since.remove(&rule.id);
        }
        if terminal {
            Observation::Terminal {
                state: rule.state,
                detail,
            }
        } else {
            Observation::Active { state: rule.state }
        }
    }
}

impl Source for RucioSource {
    fn key(&self) -> &SourceKey {
        &self.key
    }

    fn validate(&self, id: &str) -> Result<(), String> {
        let hex = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
        let uuid = uuid::Uuid::parse_str(id).is_ok();
        if hex || uuid {
            Ok(())
        } else {
            Err("a rule id is a UUID (32 hexadecimal digits)".into())
        }
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

    fn link(&self, id: &str) -> Option<String> {
        let base = self.webui_url.as_deref()?.trim_end_matches('/');
        Some(format!("{base}/rule?rule_id={id}"))
    }
}
