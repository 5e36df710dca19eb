//! Subscriptions: standing orders that give new datasets rules when they match a filter.

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::client::segment;
use super::{validate, RucioClient, RucioError};
use crate::http::Idempotency;

/// A subscription to create.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionSpec {
    /// Which new DIDs match: `scope` (list of regexes), `pattern`, `did_type`, metadata keys.
    pub filter: Map<String, Value>,
    /// The rules to create for each match, as Rucio rule dictionaries
    /// (`copies`, `rse_expression`, `lifetime`, `activity`, ...).
    pub replication_rules: Vec<Value>,
    /// A free comment.
    pub comments: Option<String>,
    /// Seconds until the subscription ends; never when unset.
    pub lifetime: Option<u64>,
    /// Whether existing DIDs are matched too.
    pub retroactive: bool,
}

impl SubscriptionSpec {
    fn options(&self) -> Value {
        json!({
            "filter": self.filter,
            "replication_rules": self.replication_rules,
            "comments": self.comments,
            "lifetime": self.lifetime,
            "retroactive": self.retroactive,
            "dry_run": false,
        })
    }

    fn validate(&self, name: &str) -> Result<(), RucioError> {
        if name.trim().is_empty() {
            return Err(RucioError::Invalid(
                "the subscription name is empty".to_owned(),
            ));
        }
        if self.filter.is_empty() {
            return Err(RucioError::Invalid(format!(
                "subscription {name} has an empty filter, which would match every new DID"
            )));
        }
        if self.replication_rules.is_empty() {
            return Err(RucioError::Invalid(format!(
                "subscription {name} has no rules"
            )));
        }
        for rule in &self.replication_rules {
            let expression = rule
                .get("rse_expression")
                .and_then(Value::as_str)
                .unwrap_or("");
            validate::rse_expression(expression)?;
        }
        Ok(())
    }
}

impl RucioClient {
    /// Creates a subscription of the client's account and returns its id; `AlreadyExists`
    /// (`SubscriptionDuplicate`) if the account has one of that name.
    pub async fn add_subscription(
        &self,
        name: &str,
        spec: &SubscriptionSpec,
    ) -> Result<String, RucioError> {
        spec.validate(name)?;
        let path = format!(
            "subscriptions/{}/{}",
            segment(self.account()),
            segment(name)
        );
        let body = json!({"options": spec.options()});
        let response = self
            .send(
                Idempotency::NotIdempotent,
                Method::POST,
                &path,
                &[],
                Some(&body),
            )
            .await?;
        let id = response.text().await.map_err(|e| RucioError::Decode {
            request: format!("POST {path}"),
            message: e.to_string(),
        })?;
        let id = id.trim().trim_matches('"').to_owned();
        tracing::info!(subscription_id = %id, name, "subscription added");
        Ok(id)
    }

    /// Replaces the filter, rules and options of a subscription of the client's account.
    pub async fn update_subscription(
        &self,
        name: &str,
        spec: &SubscriptionSpec,
    ) -> Result<(), RucioError> {
        spec.validate(name)?;
        let path = format!(
            "subscriptions/{}/{}",
            segment(self.account()),
            segment(name)
        );
        let body = json!({"options": spec.options()});
        self.send(
            Idempotency::Idempotent,
            Method::PUT,
            &path,
            &[],
            Some(&body),
        )
        .await?;
        tracing::info!(name, "subscription updated");
        Ok(())
    }

    /// One subscription of `account` (the client's own when unset) by name.
    pub async fn get_subscription(
        &self,
        name: &str,
        account: Option<&str>,
    ) -> Result<Map<String, Value>, RucioError> {
        let account = account.unwrap_or(self.account());
        let path = format!("subscriptions/{}/{}", segment(account), segment(name));
        let mut found: Vec<Map<String, Value>> =
            self.collect(Method::GET, &path, &[], None).await?;
        found.pop().ok_or_else(|| RucioError::Server {
            request: format!("GET {path}"),
            status: 404,
            class: "SubscriptionNotFound".to_owned(),
            message: format!("no subscription {name} of account {account}"),
        })
    }

    /// The subscriptions of `account` (the client's own when unset).
    pub async fn list_subscriptions(
        &self,
        account: Option<&str>,
    ) -> Result<Vec<Map<String, Value>>, RucioError> {
        let account = account.unwrap_or(self.account());
        let path = format!("subscriptions/{}", segment(account));
        match self.collect(Method::GET, &path, &[], None).await {
            // The server answers an account without subscriptions with SubscriptionNotFound.
            Err(error) if error.is_class("SubscriptionNotFound") => Ok(Vec::new()),
            other => other,
        }
    }
}
