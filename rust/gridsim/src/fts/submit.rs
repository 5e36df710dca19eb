//! `POST /jobs`: a submission checked and turned into a job the way FTS's job builder does it,
//! with the same defaults, the same refusals and the same messages.

use std::sync::Arc;

use serde_json::{Map, Value};
use url::Url;
use uuid::Uuid;

use super::error::FtsError;
use super::model::{ChecksumCheck, FileRow, FileState, Job, JobParams, JobState, JobType};
use super::values::{flag, int, metadata, python_str, seconds_from_value, text, validate_url};

/// FTS's root of deterministic job ids: `uuid5(uuid5(BASE_ID, vo), sid)`. `whoami` reports it
/// as `base_id`, so that clients (Rucio) can predict the id of a submission.
pub const BASE_ID: Uuid = Uuid::from_u128(0x01874efb_4735_4595_bc9c_591aef8240c9);

const STRATEGIES: &[&str] = &[
    "orderly",
    "auto",
    "queue",
    "success",
    "throughput",
    "file-throughput",
    "pending-data",
    "waiting-time",
    "waiting-time-with-error",
    "duration",
];

/// Who submits, as authentication established it.
#[derive(Debug, Clone)]
pub struct Submitter {
    pub user_dn: Arc<str>,
    pub vo: Arc<str>,
    pub delegation_id: Arc<str>,
    /// `oauth2` or `unauthenticated`, recorded in the job metadata as FTS does.
    pub method: &'static str,
}

/// The id a deterministic submission with `sid` gets from a user of `vo`.
pub fn deterministic_id(vo: &str, sid: &str) -> Uuid {
    let vo_id = Uuid::new_v5(&BASE_ID, vo.as_bytes());
    Uuid::new_v5(&vo_id, sid.as_bytes())
}

/// The id of `vo` as `whoami` lists it in `vos_id`.
pub fn vo_id(vo: &str) -> Uuid {
    Uuid::new_v5(&BASE_ID, vo.as_bytes())
}

/// Builds the job of a submission body; file ids are left 0 for the store to assign.
pub fn build(
    body: &Value,
    user: &Submitter,
    now: i64,
    default_retry: u32,
) -> Result<Job, FtsError> {
    let body = body
        .as_object()
        .ok_or_else(|| FtsError::bad_request("Expecting a dictionary"))?;
    let params = params(body.get("params"))?;
    let param = |key: &str| params.get(key).filter(|v| !v.is_null());

    let mut job_metadata = match param("job_metadata") {
        Some(value) => metadata(value, false, None)?,
        None => Map::new(),
    };
    job_metadata.insert("auth_method".to_owned(), Value::from(user.method));

    if body.get("delete").is_some_and(|v| !v.is_null()) {
        return Err(FtsError {
            status: axum::http::StatusCode::METHOD_NOT_ALLOWED,
            message: "Deletion jobs are no longer supported by FTS".to_owned(),
        });
    }
    let files = match body.get("files") {
        Some(Value::Array(files)) => files,
        Some(Value::Null) | None => {
            return Err(FtsError::bad_request("No transfers operations specified"))
        }
        Some(_) => {
            return Err(FtsError::bad_request(
                "Malformed request: files must be a list",
            ))
        }
    };

    let id = match param("id_generator").and_then(Value::as_str) {
        Some("deterministic") => match param("sid") {
            Some(sid) => deterministic_id(&user.vo, &python_str(sid)),
            None => {
                return Err(FtsError::bad_request(
                    "Need sid for deterministic job id generation",
                ))
            }
        },
        _ => Uuid::new_v4(),
    };

    let multihop = flag(param("multihop"));
    let reuse = flag(param("reuse"));
    let mut job_type = if multihop {
        JobType::Multihop
    } else if reuse {
        JobType::Reuse
    } else {
        JobType::Regular
    };
    let bring_online = int(param("bring_online"), -1)?;
    let copy_pin_lifetime = int(param("copy_pin_lifetime"), -1)?;
    let archive_timeout = int(param("archive_timeout"), -1)?;
    let staging = bring_online > 0 || copy_pin_lifetime > 0;
    if user.method == "oauth2" && archive_timeout > 0 {
        return Err(FtsError::bad_request(
            "Requests to archive to tape using token authentication are not supported",
        ));
    }
    if user.method == "oauth2" && bring_online > 0 {
        return Err(FtsError::bad_request(
            "Requests to retrieve from tape using token authentication are not supported",
        ));
    }
    let overwrite_flag = overwrite_flag(&params, archive_timeout)?;
    if matches!(overwrite_flag, Some('M' | 'Q')) && job_type != JobType::Multihop {
        return Err(FtsError::bad_request(
            "'overwrite-hop' requires multihop job submission",
        ));
    }

    let mut rows = Vec::new();
    for (index, file) in files.iter().enumerate() {
        file_rows(file, index as u32, staging, multihop, &mut rows)?;
    }
    if rows.is_empty() {
        return Err(FtsError::bad_request("No valid pairs available"));
    }

    let verify = checksum_check(param("verify_checksum"), files)?;
    let (source_se, dest_se) = job_storage_elements(job_type, &rows);
    let unique = {
        let mut indices: Vec<u32> = rows.iter().map(|r| r.file_index).collect();
        indices.dedup();
        indices.len()
    };
    let multiple_replicas = unique != rows.len();
    if multiple_replicas {
        if matches!(job_type, JobType::Multihop | JobType::Reuse) {
            return Err(FtsError::bad_request(
                "Can not request multiple replica job together with multihop or session reuse \
                 at the same time",
            ));
        }
        if unique > 1 {
            return Err(FtsError::bad_request(
                "Multiple replica jobs must only have one unique file",
            ));
        }
    }
    if job_type == JobType::Reuse && (source_se.is_none() || dest_se.is_none()) {
        return Err(FtsError::bad_request(
            "Reuse jobs must only contain transfers for the same source ad destination storage",
        ));
    }
    let entry = if staging {
        FileState::Staging
    } else {
        FileState::Submitted
    };
    if multiple_replicas {
        job_type = JobType::MultipleReplicas;
        let strategy = rows[0].selection_strategy.to_string();
        if !STRATEGIES.contains(&strategy.as_str()) {
            return Err(FtsError::bad_request(format!(
                "{strategy} algorithm is not supported by Scheduler"
            )));
        }
        // Limitation: every strategy ranks sources in the order given, as `orderly` does;
        // gridsim keeps no link statistics to rank them by.
        rows[0].state = entry;
    } else if multihop {
        rows[0].state = entry;
    }

    let retry = match int(param("retry"), 0)? {
        n if n < 0 => 0,
        0 => default_retry,
        n => n as u32,
    };
    let priority = int(param("priority"), 3)?.clamp(1, 5) as u8;
    let job_metadata = Value::Object(job_metadata).to_string();
    Ok(Job {
        id,
        state: if staging {
            JobState::Staging
        } else {
            JobState::Submitted
        },
        job_type,
        priority,
        submit_time: now,
        finished: None,
        reason: None,
        cancel_job: false,
        params: Box::new(JobParams {
            user_dn: user.user_dn.clone(),
            vo: user.vo.clone(),
            cred_id: user.delegation_id.clone(),
            source_se,
            dest_se,
            verify,
            overwrite_flag,
            retry,
            retry_delay: int(param("retry_delay"), 0)?.max(0) as u32,
            bring_online,
            copy_pin_lifetime,
            archive_timeout,
            expires: seconds_from_value(param("max_time_in_queue")).map(|s| now + s),
            dst_file_report: flag(param("dst_file_report")),
            source_spacetoken: text(param("source_spacetoken")),
            destination_spacetoken: text(param("destination_spacetoken"))
                .or_else(|| text(param("spacetoken"))),
            internal_job_params: internal_job_params(&params)?,
            job_metadata: job_metadata.into(),
        }),
        files: rows,
    })
}

fn params(value: Option<&Value>) -> Result<Map<String, Value>, FtsError> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(_) => Err(FtsError::bad_request(
            "Malformed request: params must be a dictionary",
        )),
    }
}

/// One entry of `files`: a row per source-destination pair.
fn file_rows(
    file: &Value,
    index: u32,
    staging: bool,
    multihop: bool,
    rows: &mut Vec<FileRow>,
) -> Result<(), FtsError> {
    let file = file
        .as_object()
        .ok_or_else(|| FtsError::bad_request("Expecting a dictionary"))?;
    let list = |key: &str| -> Result<Vec<String>, FtsError> {
        let value = file.get(key).ok_or_else(|| missing(key))?;
        let items = value.as_array().ok_or_else(|| {
            FtsError::bad_request(format!("Malformed request: {key} must be a list"))
        })?;
        items
            .iter()
            .map(|v| v.as_str().map(|s| s.trim().to_owned()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                FtsError::bad_request(format!("Malformed request: {key} must be strings"))
            })
    };
    let sources = list("sources")?;
    let destinations = list("destinations")?;
    for url in sources.iter().chain(&destinations) {
        validate_url(url)?;
    }
    let get = |key: &str| file.get(key).filter(|v| !v.is_null());
    let user_filesize = match get("filesize") {
        None => 0,
        Some(v) => v
            .as_f64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .ok_or_else(|| FtsError::invalid_value(format!("could not convert to float: {v}")))?
            .max(0.0) as u64,
    };
    let checksum = match get("checksum") {
        None => "ADLER32".to_owned(),
        Some(v) => python_str(v),
    };
    let optional_metadata = |key: &str, require_dict: bool, hint: &str| {
        get(key)
            .map(|v| metadata(v, require_dict, Some(hint)).map(|m| Value::Object(m).to_string()))
            .transpose()
    };
    let file_metadata = optional_metadata("metadata", false, "Metadata")?;
    let staging_metadata = optional_metadata("staging_metadata", true, "Staging metadata")?;
    let archive_metadata = optional_metadata("archive_metadata", true, "Archive metadata")?;
    let scitag = match get("scitag") {
        None => None,
        Some(v) => match v.as_u64().filter(|t| (65..=65_535).contains(t)) {
            Some(tag) => Some(tag as u32),
            None if v.is_u64() || v.is_i64() => {
                return Err(FtsError::invalid_value(format!(
                    "Invalid SciTag value: {v} (not in [65, 65535] range)"
                )))
            }
            None => {
                return Err(FtsError::invalid_value(format!(
                    "Invalid SciTag value: {}. Must be an integer in the [65, 65535] range!",
                    python_str(v)
                )))
            }
        },
    };
    let activity = get("activity")
        .map(python_str)
        .unwrap_or_else(|| "default".to_owned());
    let strategy = get("selection_strategy")
        .map(python_str)
        .unwrap_or_else(|| "auto".to_owned());
    let state = if sources.len() > 1 || multihop {
        FileState::NotUsed
    } else if staging {
        FileState::Staging
    } else {
        FileState::Submitted
    };
    for source in &sources {
        for destination in &destinations {
            rows.push(FileRow {
                file_id: 0,
                file_index: index,
                state,
                source_surl: source.as_str().into(),
                dest_surl: destination.as_str().into(),
                user_filesize,
                filesize: None,
                checksum: checksum.as_str().into(),
                file_metadata: file_metadata.as_deref().map(Into::into),
                staging_metadata: staging_metadata.as_deref().map(Into::into),
                archive_metadata: archive_metadata.as_deref().map(Into::into),
                activity: activity.as_str().into(),
                selection_strategy: strategy.as_str().into(),
                scitag,
                reason: None,
                start_time: None,
                finish_time: None,
                staging_start: None,
                staging_finished: None,
                tx_duration: 0.0,
                throughput: 0.0,
                attempts: 0,
                recoverable: false,
            });
        }
    }
    Ok(())
}

fn missing(key: &str) -> FtsError {
    FtsError::bad_request(format!("Missing parameter: '{key}'"))
}

/// The storage element of a URL, as FTS names it: `scheme://host`.
pub fn storage_element(url: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    Some(format!("{}://{}", url.scheme(), url.host_str()?))
}

fn job_storage_elements(
    job_type: JobType,
    rows: &[FileRow],
) -> (Option<Box<str>>, Option<Box<str>>) {
    let se = |url: &str| storage_element(url).map(String::into_boxed_str);
    let first = &rows[0];
    if job_type == JobType::Multihop {
        return (se(&first.source_surl), se(&rows[rows.len() - 1].dest_surl));
    }
    let mut source = se(&first.source_surl);
    let mut dest = se(&first.dest_surl);
    for row in rows {
        if source.is_some() && se(&row.source_surl) != source {
            source = None;
        }
        if dest.is_some() && se(&row.dest_surl) != dest {
            dest = None;
        }
    }
    (source, dest)
}

/// FTS's overwrite flag letter; refuses incompatible combinations.
fn overwrite_flag(
    params: &Map<String, Value>,
    archive_timeout: i64,
) -> Result<Option<char>, FtsError> {
    let set = |key: &str| flag(params.get(key).filter(|v| !v.is_null()));
    let (overwrite, on_retry, on_disk, hop) = (
        set("overwrite"),
        set("overwrite_on_retry"),
        set("overwrite_when_only_on_disk"),
        set("overwrite_hop"),
    );
    let count = [overwrite, on_retry, on_disk, hop]
        .iter()
        .filter(|f| **f)
        .count();
    if count > 1 && !(count == 2 && hop && on_disk) {
        return Err(FtsError::bad_request(
            "Incompatible overwrite flags used at the same time",
        ));
    }
    if on_disk && archive_timeout <= 0 {
        return Err(FtsError::bad_request(
            "'overwrite-when-only-on-disk' requires 'archive-timeout' to be set",
        ));
    }
    Ok(if overwrite {
        Some('Y')
    } else if on_retry {
        Some('R')
    } else if hop && on_disk {
        Some('Q')
    } else if hop {
        Some('M')
    } else if on_disk {
        Some('D')
    } else {
        None
    })
}

/// `verify_checksum`: a boolean (false with a checksum given means `target`), or a word
/// whose first letter is kept, as FTS does.
fn checksum_check(value: Option<&Value>, files: &[Value]) -> Result<ChecksumCheck, FtsError> {
    let has_checksum = files
        .iter()
        .rev()
        .find_map(|f| f.get("checksum").filter(|c| !c.is_null()))
        .is_some_and(|c| !python_str(c).is_empty());
    let word = match value {
        None | Some(Value::Bool(false)) => {
            if has_checksum {
                "target".to_owned()
            } else {
                "none".to_owned()
            }
        }
        Some(Value::Bool(true)) => "both".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(FtsError::invalid_value(format!("verify_checksum: {other}"))),
    };
    Ok(match word.chars().next() {
        Some('s') => ChecksumCheck::Source,
        Some('t') => ChecksumCheck::Target,
        Some('b') => ChecksumCheck::Both,
        _ => ChecksumCheck::None,
    })
}

fn internal_job_params(params: &Map<String, Value>) -> Result<Option<Box<str>>, FtsError> {
    let get = |key: &str| {
        params
            .get(key)
            .filter(|v| !v.is_null() && v != &&Value::from(0))
    };
    let mut list = Vec::new();
    if let Some(v) = get("nostreams") {
        list.push(format!("nostreams:{}", int(Some(v), 0)?));
    }
    if let Some(v) = get("timeout") {
        list.push(format!("timeout:{}", int(Some(v), 0)?));
    }
    if let Some(v) = get("buffer_size") {
        list.push(format!("buffersize:{}", int(Some(v), 0)?));
    }
    for (key, word) in [
        ("strict_copy", "strict"),
        ("disable_cleanup", "disable-cleanup"),
    ] {
        if flag(params.get(key)) {
            list.push(word.to_owned());
        }
    }
    if flag(params.get("ipv4")) {
        list.push("ipv4".to_owned());
    } else if flag(params.get("ipv6")) {
        list.push("ipv6".to_owned());
    }
    if flag(params.get("s3alternate")) {
        list.push("s3alternate".to_owned());
    }
    Ok((!list.is_empty()).then(|| list.join(",").into_boxed_str()))
}

#[cfg(test)]
#[path = "submit_tests.rs"]
mod tests;
