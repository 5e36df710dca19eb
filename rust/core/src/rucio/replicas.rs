//! File replicas: register them (alone or into a dataset) and list where files are.

use std::collections::HashMap;

use futures::StreamExt;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use super::bulk::BulkOutcome;
use super::client::chunk_ranges;
use super::dids::ATTACHMENTS;
use super::table::FileRow;
use super::{validate, Did, RucioClient, RucioError};
use crate::http::Idempotency;

/// A file to register, with the checksum and size the storage holds.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSpec {
    /// Its DID.
    pub did: Did,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its adler32, 8 lowercase hexadecimal digits.
    pub adler32: String,
    /// Its md5, when known.
    pub md5: Option<String>,
    /// Its PFN, when it is not where the RSE's deterministic path puts it.
    pub pfn: Option<String>,
    /// How many events it holds, when known (stored as DID metadata).
    pub events: Option<u64>,
}

impl FileSpec {
    fn validate(&self) -> Result<(), RucioError> {
        self.did.validate()?;
        let did = self.did.to_string();
        validate::adler32(&did, &self.adler32)?;
        validate::size(&did, self.bytes, &self.adler32)?;
        if let Some(md5) = &self.md5 {
            validate::md5(&did, md5)?;
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        let mut file = json!({
            "scope": self.did.scope,
            "name": self.did.name,
            "bytes": self.bytes,
            "adler32": self.adler32,
        });
        if let Some(md5) = &self.md5 {
            file["md5"] = json!(md5);
        }
        if let Some(pfn) = &self.pfn {
            file["pfn"] = json!(pfn);
        }
        if let Some(events) = self.events {
            file["meta"] = json!({"events": events});
        }
        file
    }
}

/// What a registration did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisterReport {
    /// Files whose replica is now registered (new, or present already with the same checksum).
    pub registered: usize,
}

/// When registration looks for files registered already with another size or checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConflictCheck {
    /// Before sending each chunk: the endpoint would accept the conflict silently.
    First,
    /// After the server refused a chunk for one: saves a request per chunk.
    OnRefusal,
}

/// What happened to one chunk of a registration.
struct ChunkResult<'a> {
    /// The files sent (all but the conflicts).
    sent: Vec<&'a FileSpec>,
    /// Files held already with another size or checksum, and why they were not sent.
    conflicts: Vec<(String, String)>,
    /// The answer to sending them.
    result: Result<(), RucioError>,
}

impl<'a> ChunkResult<'a> {
    fn failed(chunk: &'a [FileSpec], error: RucioError) -> Self {
        Self {
            sent: chunk.iter().collect(),
            conflicts: Vec::new(),
            result: Err(error),
        }
    }
}

/// A file DID as the server holds it.
#[derive(Debug, Deserialize)]
struct RegisteredFile {
    scope: String,
    name: String,
    bytes: Option<u64>,
    adler32: Option<String>,
}

/// One line of `POST /replicas/list`.
#[derive(Debug, Deserialize)]
struct ReplicaLine {
    scope: String,
    name: String,
    bytes: Option<u64>,
    adler32: Option<String>,
    #[serde(default)]
    rses: HashMap<String, Vec<String>>,
    #[serde(default)]
    states: HashMap<String, String>,
}

/// One line of `GET /dids/{scope}/{name}/files`.
#[derive(Debug, Deserialize)]
struct FileLine {
    scope: String,
    name: String,
    bytes: Option<u64>,
    adler32: Option<String>,
    events: Option<u64>,
}

impl RucioClient {
    /// Registers replicas of `files` on `rse` without attaching them to a dataset.
    ///
    /// A file registered already with the same size and checksum counts as registered; one
    /// registered with a different checksum fails with `FileConsistencyMismatch`. Failures
    /// are reported together in a [`RucioError::Partial`] naming every failed file.
    pub async fn add_replicas(
        &self,
        rse: &str,
        files: &[FileSpec],
    ) -> Result<RegisterReport, RucioError> {
        validate::rse(rse)?;
        check_files(files)?;
        self.register_chunks(
            files,
            &format!("registering replicas on {rse}"),
            |chunk| {
                json!({
                    "rse": rse,
                    "files": chunk.iter().map(|f| f.to_json()).collect::<Vec<_>>(),
                    "ignore_availability": true,
                })
            },
            "replicas",
            // The server would silently keep the first checksum of a known file.
            ConflictCheck::First,
        )
        .await
    }

    /// Registers replicas of `files` on `rse` and attaches them to `dataset`, one request per
    /// chunk. Re-running after a partial failure registers and attaches only what is missing.
    pub async fn register_files(
        &self,
        dataset: &Did,
        rse: &str,
        files: &[FileSpec],
    ) -> Result<RegisterReport, RucioError> {
        dataset.validate()?;
        validate::rse(rse)?;
        check_files(files)?;
        let what = format!("registering files on {rse} into {dataset}");
        self.register_chunks(
            files,
            &what,
            |chunk| {
                json!({
                    "attachments": [{
                        "scope": dataset.scope,
                        "name": dataset.name,
                        "rse": rse,
                        "dids": chunk.iter().map(|f| f.to_json()).collect::<Vec<_>>(),
                    }],
                    "ignore_duplicate": true,
                })
            },
            ATTACHMENTS,
            // The server refuses a whole chunk with FileConsistencyMismatch: look only then.
            ConflictCheck::OnRefusal,
        )
        .await
    }

    /// Sends `body(chunk)` to `path` for each chunk, leaving out files registered already
    /// with another size or checksum.
    async fn register_chunks<B>(
        &self,
        files: &[FileSpec],
        what: &str,
        body: B,
        path: &str,
        check: ConflictCheck,
    ) -> Result<RegisterReport, RucioError>
    where
        B: Fn(&[&FileSpec]) -> Value,
    {
        let body = &body;
        let results: Vec<ChunkResult<'_>> =
            futures::stream::iter(chunk_ranges(files.len(), self.chunk_size()).map(|range| {
                let chunk = &files[range];
                self.register_chunk(chunk, body, path, check)
            }))
            .buffer_unordered(self.concurrency())
            .collect()
            .await;

        let mut outcome = BulkOutcome::default();
        for chunk in results {
            let names = chunk.sent.iter().map(|f| f.did.to_string());
            match chunk.result {
                Ok(()) => outcome.stored(names),
                Err(error) => outcome.failed(names, &error),
            }
            for (name, message) in chunk.conflicts {
                outcome.conflict(name, "FileConsistencyMismatch", message);
            }
        }
        let registered = outcome.stored_count();
        outcome.finish(what)?;
        tracing::info!(count = registered, "{what}: done");
        Ok(RegisterReport { registered })
    }

    async fn register_chunk<'a, B>(
        &self,
        chunk: &'a [FileSpec],
        body: &B,
        path: &str,
        check: ConflictCheck,
    ) -> ChunkResult<'a>
    where
        B: Fn(&[&FileSpec]) -> Value,
    {
        let send = |files: Vec<&'a FileSpec>| async move {
            let result = if files.is_empty() {
                Ok(())
            } else {
                let body = body(&files);
                self.send(
                    Idempotency::Idempotent,
                    Method::POST,
                    path,
                    &[],
                    Some(&body),
                )
                .await
                .map(drop)
            };
            (files, result)
        };

        if check == ConflictCheck::OnRefusal {
            let (sent, result) = send(chunk.iter().collect()).await;
            match result {
                Err(error) if error.is_class("FileConsistencyMismatch") => {}
                result => {
                    return ChunkResult {
                        sent,
                        conflicts: Vec::new(),
                        result,
                    }
                }
            }
        }
        let (fresh, conflicts) = match self.split_conflicts(chunk).await {
            Ok(split) => split,
            Err(error) => return ChunkResult::failed(chunk, error),
        };
        let (sent, result) = send(fresh).await;
        ChunkResult {
            sent,
            conflicts,
            result,
        }
    }

    /// Splits a chunk into files that may be sent and files registered already with another
    /// size or checksum (which the server would refuse, failing the whole chunk).
    async fn split_conflicts<'a>(
        &self,
        chunk: &'a [FileSpec],
    ) -> Result<(Vec<&'a FileSpec>, Vec<(String, String)>), RucioError> {
        let body = json!({
            "dids": chunk.iter().map(|f| f.did.to_json()).collect::<Vec<_>>(),
            "inherit": false,
        });
        let mut known: HashMap<(String, String), RegisteredFile> = HashMap::new();
        self.stream(
            Method::POST,
            "dids/bulkmeta",
            &[],
            Some(&body),
            |file: RegisteredFile| {
                known.insert((file.scope.clone(), file.name.clone()), file);
                Ok(())
            },
        )
        .await?;

        let mut fresh = Vec::with_capacity(chunk.len());
        let mut conflicts = Vec::new();
        for file in chunk {
            let key = (file.did.scope.clone(), file.did.name.clone());
            match known.get(&key) {
                Some(held) if !same_content(file, held) => conflicts.push((
                    file.did.to_string(),
                    format!(
                        "{} is registered with {} bytes and adler32 {}, not {} bytes and {}",
                        file.did,
                        held.bytes.map_or("?".to_owned(), |b| b.to_string()),
                        held.adler32.as_deref().unwrap_or("?"),
                        file.bytes,
                        file.adler32
                    ),
                )),
                _ => fresh.push(file),
            }
        }
        Ok((fresh, conflicts))
    }

    /// The replicas of `dids` (files, or datasets and containers, which are expanded), one row
    /// per file and RSE; a file without replicas gives one row without RSE.
    pub async fn list_replicas(
        &self,
        dids: &[Did],
        rse_expression: Option<&str>,
        all_states: bool,
    ) -> Result<Vec<FileRow>, RucioError> {
        for did in dids {
            did.validate()?;
        }
        let names: Vec<String> = dids.iter().map(Did::to_string).collect();
        validate::unique("the list of DIDs", names.iter().map(String::as_str))?;
        if let Some(expression) = rse_expression {
            validate::rse_expression(expression)?;
        }

        let mut rows = Vec::new();
        for chunk in dids.chunks(super::client::MAX_CHUNK) {
            let mut body = json!({
                "dids": chunk.iter().map(Did::to_json).collect::<Vec<_>>(),
                "all_states": all_states,
            });
            if let Some(expression) = rse_expression {
                body["rse_expression"] = json!(expression);
            }
            self.stream(
                Method::POST,
                "replicas/list",
                &[],
                Some(&body),
                |line: ReplicaLine| {
                    push_replica_rows(&mut rows, line);
                    Ok(())
                },
            )
            .await?;
        }
        Ok(rows)
    }

    /// The files inside a dataset or container, with their events when known; no replicas.
    pub async fn list_files(&self, did: &Did) -> Result<Vec<FileRow>, RucioError> {
        did.validate()?;
        let path = format!("dids/{}/files", did.path());
        let mut rows = Vec::new();
        self.stream(Method::GET, &path, &[], None, |line: FileLine| {
            rows.push(FileRow {
                scope: line.scope,
                name: line.name,
                bytes: line.bytes,
                adler32: line.adler32,
                events: line.events,
                ..FileRow::default()
            });
            Ok(())
        })
        .await?;
        Ok(rows)
    }
}

fn same_content(file: &FileSpec, held: &RegisteredFile) -> bool {
    held.bytes == Some(file.bytes) && held.adler32.as_deref() == Some(file.adler32.as_str())
}

fn push_replica_rows(rows: &mut Vec<FileRow>, line: ReplicaLine) {
    let file = FileRow {
        scope: line.scope,
        name: line.name,
        bytes: line.bytes,
        adler32: line.adler32,
        ..FileRow::default()
    };
    if line.rses.is_empty() {
        rows.push(file);
        return;
    }
    let mut rses: Vec<(String, Vec<String>)> = line.rses.into_iter().collect();
    rses.sort();
    for (rse, pfns) in rses {
        rows.push(FileRow {
            state: line.states.get(&rse).cloned(),
            pfn: pfns.into_iter().next(),
            rse: Some(rse),
            ..file.clone()
        });
    }
}

fn check_files(files: &[FileSpec]) -> Result<(), RucioError> {
    for file in files {
        file.validate()?;
    }
    let names: Vec<String> = files.iter().map(|f| f.did.to_string()).collect();
    validate::unique("the list of files", names.iter().map(String::as_str))
}
