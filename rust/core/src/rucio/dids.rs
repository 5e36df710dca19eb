//! Data identifiers: create datasets and containers, attach and detach, list, metadata.

use std::fmt;

use futures::{StreamExt, TryStreamExt};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::bulk::BulkOutcome;
use super::client::{chunk_ranges, segment};
use super::{validate, RucioClient, RucioError};
use crate::http::Idempotency;

/// The bulk attachment endpoint, which can skip children attached already.
pub(crate) const ATTACHMENTS: &str = "dids/attachments";

/// A data identifier, `scope:name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Did {
    /// The scope, such as `bmn.run8`.
    pub scope: String,
    /// The name within the scope, such as `raw.run8123`.
    pub name: String,
}

impl Did {
    /// A DID from its parts, validated.
    pub fn new(scope: impl Into<String>, name: impl Into<String>) -> Result<Self, RucioError> {
        let did = Self {
            scope: scope.into(),
            name: name.into(),
        };
        did.validate()?;
        Ok(did)
    }

    /// Parses `scope:name`.
    pub fn parse(text: &str) -> Result<Self, RucioError> {
        let (scope, name) = text.split_once(':').ok_or_else(|| {
            RucioError::Invalid(format!("DID {text:?} must be written scope:name"))
        })?;
        Self::new(scope, name)
    }

    /// Checks the scope and name against the server's rules.
    pub fn validate(&self) -> Result<(), RucioError> {
        validate::scope(&self.scope)?;
        validate::did_name(&self.name)
    }

    /// The URL path of the DID: `scope/name`, each part encoded.
    pub(crate) fn path(&self) -> String {
        format!("{}/{}", segment(&self.scope), segment(&self.name))
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({"scope": self.scope, "name": self.name})
    }
}

impl fmt::Display for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.scope, self.name)
    }
}

/// The collection types a client creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DidType {
    /// A set of files.
    Dataset,
    /// A set of datasets and containers.
    Container,
}

impl DidType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Dataset => "DATASET",
            Self::Container => "CONTAINER",
        }
    }
}

/// A dataset or container to create.
#[derive(Debug, Clone)]
pub struct NewDid {
    /// Its DID.
    pub did: Did,
    /// Dataset or container.
    pub did_type: DidType,
    /// Metadata to set at creation, such as `{"run_number": 8123}`.
    pub meta: Map<String, Value>,
    /// Seconds until the server deletes it; never when unset.
    pub lifetime: Option<u64>,
}

/// One entry of a collection's content.
#[derive(Debug, Clone, Deserialize)]
pub struct ContentEntry {
    /// Its scope.
    pub scope: String,
    /// Its name.
    pub name: String,
    /// `FILE`, `DATASET` or `CONTAINER`.
    #[serde(rename = "type")]
    pub did_type: String,
    /// Its size, for files.
    pub bytes: Option<u64>,
    /// Its adler32, for files.
    pub adler32: Option<String>,
}

impl RucioClient {
    /// Creates a dataset or container; `AlreadyExists` (`DataIdentifierAlreadyExists`) if it
    /// exists.
    pub async fn create_did(&self, new: &NewDid) -> Result<(), RucioError> {
        new.did.validate()?;
        let mut body = json!({"type": new.did_type.as_str()});
        if !new.meta.is_empty() {
            body["meta"] = Value::Object(new.meta.clone());
        }
        if let Some(lifetime) = new.lifetime {
            body["lifetime"] = json!(lifetime);
        }
        let path = format!("dids/{}", new.did.path());
        self.send(
            Idempotency::NotIdempotent,
            Method::POST,
            &path,
            &[],
            Some(&body),
        )
        .await?;
        tracing::info!(did = %new.did, kind = new.did_type.as_str(), "created");
        Ok(())
    }

    /// Attaches `children` (files to a dataset, datasets or containers to a container).
    ///
    /// Children attached already are skipped, so a re-run after a partial failure completes.
    pub async fn attach(&self, parent: &Did, children: &[Did]) -> Result<(), RucioError> {
        parent.validate()?;
        check_children(children)?;

        let results: Vec<(&[Did], Result<(), RucioError>)> = futures::stream::iter(
            chunk_ranges(children.len(), self.chunk_size()).map(|range| {
                let chunk = &children[range];
                async move {
                    let body = json!({
                        "attachments": [{
                            "scope": parent.scope,
                            "name": parent.name,
                            "dids": chunk.iter().map(Did::to_json).collect::<Vec<_>>(),
                        }],
                        // Children attached already are not an error: a re-run completes.
                        "ignore_duplicate": true,
                    });
                    let sent = self
                        .send(
                            Idempotency::Idempotent,
                            Method::POST,
                            ATTACHMENTS,
                            &[],
                            Some(&body),
                        )
                        .await;
                    (chunk, sent.map(drop))
                }
            }),
        )
        .buffer_unordered(self.concurrency())
        .collect()
        .await;

        let mut outcome = BulkOutcome::default();
        for (chunk, result) in results {
            let names = chunk.iter().map(Did::to_string);
            match result {
                Ok(()) => outcome.stored(names),
                Err(error) => outcome.failed(names, &error),
            }
        }
        outcome.finish(&format!("attaching to {parent}"))?;
        tracing::info!(did = %parent, count = children.len(), "attached");
        Ok(())
    }

    /// Detaches `children` from `parent`.
    pub async fn detach(&self, parent: &Did, children: &[Did]) -> Result<(), RucioError> {
        parent.validate()?;
        check_children(children)?;
        let path = format!("dids/{}/dids", parent.path());
        futures::stream::iter(
            chunk_ranges(children.len(), self.chunk_size()).map(|range| {
                let chunk = &children[range];
                let body = json!({"dids": chunk.iter().map(Did::to_json).collect::<Vec<_>>()});
                let path = path.clone();
                async move {
                    self.send(
                        Idempotency::Idempotent,
                        Method::DELETE,
                        &path,
                        &[],
                        Some(&body),
                    )
                    .await
                }
            }),
        )
        .buffer_unordered(self.concurrency())
        .try_collect::<Vec<_>>()
        .await?;
        tracing::info!(did = %parent, count = children.len(), "detached");
        Ok(())
    }

    /// Closes a dataset or container: nothing more can be attached, and rules and
    /// subscriptions treat it as complete.
    pub async fn close(&self, did: &Did) -> Result<(), RucioError> {
        did.validate()?;
        let path = format!("dids/{}/status", did.path());
        let body = json!({"open": false});
        self.send(
            Idempotency::Idempotent,
            Method::PUT,
            &path,
            &[],
            Some(&body),
        )
        .await?;
        tracing::info!(%did, "closed");
        Ok(())
    }

    /// The DIDs directly inside a dataset or container.
    pub async fn list_content(&self, did: &Did) -> Result<Vec<ContentEntry>, RucioError> {
        did.validate()?;
        let path = format!("dids/{}/dids", did.path());
        self.collect(Method::GET, &path, &[], None).await
    }

    /// The metadata of a DID (the server's own columns, such as `bytes`, `length`, `events`,
    /// and custom keys).
    pub async fn get_metadata(&self, did: &Did) -> Result<Map<String, Value>, RucioError> {
        did.validate()?;
        let path = format!("dids/{}/meta", did.path());
        self.json(Idempotency::Idempotent, Method::GET, &path, None)
            .await
    }

    /// Sets several metadata keys of a DID at once.
    pub async fn set_metadata(
        &self,
        did: &Did,
        meta: &Map<String, Value>,
    ) -> Result<(), RucioError> {
        did.validate()?;
        if meta.is_empty() {
            return Err(RucioError::Invalid(format!("no metadata given for {did}")));
        }
        let path = format!("dids/{}/meta", did.path());
        let body = json!({"meta": meta});
        self.send(
            Idempotency::Idempotent,
            Method::POST,
            &path,
            &[],
            Some(&body),
        )
        .await?;
        tracing::info!(%did, keys = meta.len(), "metadata set");
        Ok(())
    }
}

fn check_children(children: &[Did]) -> Result<(), RucioError> {
    for child in children {
        child.validate()?;
    }
    let names: Vec<String> = children.iter().map(Did::to_string).collect();
    validate::unique("the list of DIDs", names.iter().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dids_parse_and_encode() {
        let did = Did::parse("bmn.run8:raw.run8123").unwrap();
        assert_eq!(did.to_string(), "bmn.run8:raw.run8123");
        assert_eq!(did.path(), "bmn.run8/raw.run8123");
        assert_eq!(Did::new("s", "a/b").unwrap().path(), "s/a%2Fb");
        assert!(Did::parse("no-colon").is_err());
        assert!(Did::parse("bmn.run8:bad name").is_err());
    }

    #[test]
    fn children_must_be_unique() {
        let a = Did::new("s", "a").unwrap();
        assert!(check_children(&[a.clone(), a]).is_err());
        assert!(check_children(&[]).is_err());
    }
}
