//! Replication rules: add (idempotently), get, list for a DID, delete, update the lifetime.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::client::segment;
use super::{validate, Did, RucioClient, RucioError};
use crate::http::Idempotency;

/// A replication rule to create.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    /// The DIDs to replicate; each gets its own rule.
    pub dids: Vec<Did>,
    /// How many copies.
    pub copies: u32,
    /// Where the copies may live, such as `DLNP_TAPE` or `LHEP_DISK|DLNP_DISK`.
    pub rse_expression: String,
    /// Seconds until the rule expires; never when unset.
    pub lifetime: Option<u64>,
    /// `DATASET` (default), `ALL` or `NONE`: how files are kept together on RSEs.
    pub grouping: Option<String>,
    /// The RSE attribute that weighs RSE choice.
    pub weight: Option<String>,
    /// The transfer activity, such as `User Subscriptions`.
    pub activity: Option<String>,
    /// Whether the judge-injector evaluates the rule later instead of at once.
    pub asynchronous: bool,
    /// A free comment.
    pub comment: Option<String>,
    /// The account owning the rule; the client's account when unset.
    pub account: Option<String>,
}

impl RuleSpec {
    /// One copy of `dids` on `rse_expression`, without lifetime.
    pub fn new(dids: Vec<Did>, rse_expression: impl Into<String>) -> Self {
        Self {
            dids,
            copies: 1,
            rse_expression: rse_expression.into(),
            lifetime: None,
            grouping: None,
            weight: None,
            activity: None,
            asynchronous: false,
            comment: None,
            account: None,
        }
    }

    fn validate(&self) -> Result<(), RucioError> {
        for did in &self.dids {
            did.validate()?;
        }
        let names: Vec<String> = self.dids.iter().map(Did::to_string).collect();
        validate::unique("the rule's DIDs", names.iter().map(String::as_str))?;
        validate::rse_expression(&self.rse_expression)?;
        if self.copies == 0 {
            return Err(RucioError::Invalid(
                "a rule needs at least one copy".to_owned(),
            ));
        }
        if let Some(grouping) = &self.grouping {
            if !matches!(grouping.as_str(), "ALL" | "DATASET" | "NONE") {
                return Err(RucioError::Invalid(format!(
                    "grouping {grouping:?} must be ALL, DATASET or NONE"
                )));
            }
        }
        Ok(())
    }

    fn body(&self, dids: &[Did], account: &str) -> Value {
        json!({
            "dids": dids.iter().map(Did::to_json).collect::<Vec<_>>(),
            "copies": self.copies,
            "rse_expression": self.rse_expression,
            "account": self.account.as_deref().unwrap_or(account),
            "lifetime": self.lifetime,
            "grouping": self.grouping.as_deref().unwrap_or("DATASET"),
            "weight": self.weight,
            "activity": self.activity,
            "asynchronous": self.asynchronous,
            "comment": self.comment,
        })
    }
}

/// A replication rule as the server reports it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rule {
    /// The rule id.
    pub id: String,
    /// The DID's scope.
    pub scope: String,
    /// The DID's name.
    pub name: String,
    /// The owning account.
    pub account: String,
    /// The RSE expression.
    pub rse_expression: String,
    /// The number of copies.
    pub copies: u32,
    /// REPLICATING, OK, STUCK, SUSPENDED, WAITING_APPROVAL or INJECT.
    pub state: String,
    /// Locks whose replica is in place.
    #[serde(default)]
    pub locks_ok_cnt: u64,
    /// Locks whose replica is being transferred.
    #[serde(default)]
    pub locks_replicating_cnt: u64,
    /// Locks whose transfer failed for good.
    #[serde(default)]
    pub locks_stuck_cnt: u64,
    /// The rule's last error, such as a transfer failure.
    pub error: Option<String>,
    /// When the rule expires, in Rucio's date format.
    pub expires_at: Option<String>,
    /// Every other field the server sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl RucioClient {
    /// Creates a rule per DID and returns their ids, in the order of `spec.dids`.
    ///
    /// Idempotent: when the server answers `DuplicateRule`, the existing rule of the same DID,
    /// account, RSE expression and copies is found and its id returned.
    pub async fn add_rule(&self, spec: &RuleSpec) -> Result<Vec<String>, RucioError> {
        spec.validate()?;
        match self.post_rule(spec, &spec.dids).await {
            Err(error) if error.is_class("DuplicateRule") => {}
            other => return other,
        }

        // At least one DID has the rule already; the server created none. Settle each DID.
        let mut ids = Vec::with_capacity(spec.dids.len());
        for did in &spec.dids {
            let id = match self.find_rule(spec, did).await? {
                Some(id) => {
                    tracing::info!(rule_id = %id, %did, "rule exists already");
                    id
                }
                None => self
                    .post_rule(spec, std::slice::from_ref(did))
                    .await?
                    .remove(0),
            };
            ids.push(id);
        }
        Ok(ids)
    }

    async fn post_rule(&self, spec: &RuleSpec, dids: &[Did]) -> Result<Vec<String>, RucioError> {
        let body = spec.body(dids, self.account());
        // Not idempotent for the transport layer: a repeat is settled through DuplicateRule.
        let ids: Vec<String> = self
            .json(
                Idempotency::NotIdempotent,
                Method::POST,
                "rules/",
                Some(&body),
            )
            .await?;
        for (id, did) in ids.iter().zip(dids) {
            tracing::info!(rule_id = %id, %did, rse_expression = %spec.rse_expression, "rule added");
        }
        Ok(ids)
    }

    async fn find_rule(&self, spec: &RuleSpec, did: &Did) -> Result<Option<String>, RucioError> {
        let account = spec.account.as_deref().unwrap_or(self.account());
        let rules = self.list_rules(did).await?;
        Ok(rules
            .into_iter()
            .find(|rule| {
                rule.account == account
                    && rule.rse_expression == spec.rse_expression
                    && rule.copies == spec.copies
            })
            .map(|rule| rule.id))
    }

    /// One rule.
    pub async fn get_rule(&self, rule_id: &str) -> Result<Rule, RucioError> {
        let path = format!("rules/{}", rule_path(rule_id)?);
        self.json(Idempotency::Idempotent, Method::GET, &path, None)
            .await
    }

    /// The rules of a DID.
    pub async fn list_rules(&self, did: &Did) -> Result<Vec<Rule>, RucioError> {
        did.validate()?;
        let path = format!("dids/{}/rules", did.path());
        self.collect(Method::GET, &path, &[], None).await
    }

    /// Deletes a rule; with `purge_replicas` its replicas go as soon as no other rule holds
    /// them. The server removes it softly, within the hour.
    pub async fn delete_rule(&self, rule_id: &str, purge_replicas: bool) -> Result<(), RucioError> {
        let path = format!("rules/{}", rule_path(rule_id)?);
        // The server refuses a DELETE without this body.
        let body = json!({"purge_replicas": purge_replicas});
        self.send(
            Idempotency::Idempotent,
            Method::DELETE,
            &path,
            &[],
            Some(&body),
        )
        .await?;
        tracing::info!(rule_id, purge_replicas, "rule deleted");
        Ok(())
    }

    /// Sets the rule's lifetime in seconds from now, or removes it (`None`).
    pub async fn update_rule_lifetime(
        &self,
        rule_id: &str,
        lifetime: Option<u64>,
    ) -> Result<(), RucioError> {
        let path = format!("rules/{}", rule_path(rule_id)?);
        let body = json!({"options": {"lifetime": lifetime}});
        self.send(
            Idempotency::Idempotent,
            Method::PUT,
            &path,
            &[],
            Some(&body),
        )
        .await?;
        tracing::info!(rule_id, ?lifetime, "rule lifetime updated");
        Ok(())
    }
}

/// A rule id checked to be 32 hexadecimal digits (a UUID as Rucio writes it).
fn rule_path(rule_id: &str) -> Result<String, RucioError> {
    let plain = rule_id.replace('-', "");
    if plain.len() != 32 || !plain.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(RucioError::Invalid(format!(
            "rule id {rule_id:?} must be 32 hexadecimal digits"
        )));
    }
    Ok(segment(rule_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_checked_before_sending() {
        let did = Did::new("bmn.run8", "raw.run8123").unwrap();
        let mut spec = RuleSpec::new(vec![did.clone()], "DLNP_TAPE");
        assert!(spec.validate().is_ok());
        spec.copies = 0;
        assert!(spec.validate().is_err());
        spec.copies = 1;
        spec.grouping = Some("SOME".into());
        assert!(spec.validate().is_err());
        let twice = RuleSpec::new(vec![did.clone(), did], "DLNP_TAPE");
        assert!(twice.validate().is_err());
        assert!(RuleSpec::new(vec![], "X").validate().is_err());
    }

    #[test]
    fn rule_ids_are_checked() {
        assert!(rule_path("0123456789abcdef0123456789abcdef").is_ok());
        assert!(rule_path("../rules").is_err());
    }
}
