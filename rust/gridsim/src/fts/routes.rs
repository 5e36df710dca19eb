//! The FTS3 REST endpoints: submission, queries, cancellation, priority, whoami.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::error::{status_line, FtsError};
use super::model::{Job, JobType};
use super::scheduler::{now, Fts};
use super::store::Duplicate;
use super::submit::{self, Submitter, BASE_ID};
use super::view;
use crate::auth::Method;

/// The most jobs `GET /jobs` lists when a `limit` is given.
const LIST_LIMIT: usize = 500;

fn submitter(fts: &Fts, method: Option<Extension<Method>>) -> Submitter {
    let dn = fts.config.user_dn.as_str();
    Submitter {
        user_dn: dn.into(),
        vo: fts.config.vo.as_str().into(),
        delegation_id: delegation_id(dn).into(),
        method: match method {
            Some(Extension(Method::Token)) => "oauth2",
            _ => "unauthenticated",
        },
    }
}

/// A stable 16-hex-digit delegation id per DN, the shape FTS derives from a DN.
fn delegation_id(dn: &str) -> String {
    Uuid::new_v5(&BASE_ID, dn.as_bytes()).simple().to_string()[..16].to_owned()
}

/// `GET /`: the API version, which the official client reads when it connects.
pub async fn api_version() -> Json<Value> {
    Json(json!({
        "delegation": {"major": 1, "minor": 0, "patch": 0},
        "api": {"major": 3, "minor": 13, "patch": 4},
        "core": {"major": 3, "minor": 13, "patch": 4},
        "schema": {"major": 9, "minor": 0, "patch": 0},
        "_links": {
            "fts:whoami": {"href": "/whoami", "title": "Check user certificate"},
            "fts:jobsubmit": {"href": "/jobs", "hints": {"allow": ["POST"]}},
        },
    }))
}

/// `GET /whoami`: who the caller is, with the `base_id` of deterministic job ids.
pub async fn whoami(State(fts): State<Arc<Fts>>, method: Option<Extension<Method>>) -> Json<Value> {
    let user = submitter(&fts, method);
    Json(json!({
        "user_dn": &*user.user_dn,
        "dn": [&*user.user_dn],
        "base_id": BASE_ID.to_string(),
        "voms_cred": [],
        "vos": [&*user.vo],
        "vos_id": [submit::vo_id(&user.vo).to_string()],
        "roles": [],
        "level": {"transfer": "vo", "deleg": "all", "config": "none", "datamanagement": "vo"},
        "delegation_id": &*user.delegation_id,
        "method": user.method,
        "is_root": false,
    }))
}

/// `POST /jobs`: checks and stores a submission; 200 `{"job_id"}`, 409 on a reused `sid`.
pub async fn submit(
    State(fts): State<Arc<Fts>>,
    method: Option<Extension<Method>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, FtsError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !content_type.is_some_and(|c| c.starts_with("application/json")) {
        return Err(FtsError::bad_request(
            "Expecting application/json or application/x-www-form-urlencoded",
        ));
    }
    let body: Value = serde_json::from_slice(&body)
        .map_err(|_| FtsError::bad_request("Badly formatted JSON request"))?;
    let user = submitter(&fts, method);
    let job = submit::build(&body, &user, now(), fts.config.default_retry)?;
    let (id, files) = (job.id, job.files.len());
    fts.store.lock().insert(job).map_err(|Duplicate| FtsError {
        status: StatusCode::CONFLICT,
        message: "The sid provided by the user is duplicated".to_owned(),
    })?;
    tracing::info!(fts_job_id = %id, files, "FTS job submitted");
    fts.wake.notify_one();
    Ok(Json(json!({"job_id": id.to_string()})))
}

fn parse_id(text: &str) -> Option<Uuid> {
    Uuid::parse_str(text).ok()
}

fn not_found_element(job_id: &str) -> Value {
    let error = FtsError::job_not_found(job_id);
    json!({"job_id": job_id, "http_status": error.status_line(), "http_message": error.message})
}

/// One job with `http_status`, and its files when `?files=` asked for them.
fn job_element(job: &Job, fields: Option<&[&str]>) -> Value {
    let mut map = view::job(job);
    if let Some(fields) = fields {
        let files: Vec<Value> = job
            .files
            .iter()
            .map(|f| Value::Object(view::file_fields(job, f, fields)))
            .collect();
        map.insert("files".to_owned(), Value::Array(files));
    }
    map.insert(
        "http_status".to_owned(),
        Value::from(status_line(StatusCode::OK)),
    );
    Value::Object(map)
}

/// FTS's answer to a list of ids: a single id gives the element (with its own status when
/// missing); several give a list, 207 when some were not found.
fn multistatus(elements: Vec<(bool, Value)>, several: bool) -> Response {
    if !several {
        let Some((missing, element)) = elements.into_iter().next() else {
            return (StatusCode::NOT_FOUND, Json(not_found_element(""))).into_response();
        };
        let status = if missing {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::OK
        };
        return (status, Json(element)).into_response();
    }
    let status = if elements.iter().any(|(missing, _)| *missing) {
        StatusCode::MULTI_STATUS
    } else {
        StatusCode::OK
    };
    let list: Vec<Value> = elements.into_iter().map(|(_, e)| e).collect();
    (status, Json(Value::Array(list))).into_response()
}

/// `GET /jobs/{id[,id...]}`, with `?files=field,...` embedding the files' fields.
pub async fn get_jobs(
    State(fts): State<Arc<Fts>>,
    Path(ids): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let fields: Option<Vec<&str>> = query
        .get("files")
        .map(|f| f.split(',').filter(|s| !s.is_empty()).collect());
    let requested: Vec<&str> = ids.split(',').collect();
    let store = fts.store.lock();
    let elements = requested
        .iter()
        .filter(|id| !id.is_empty())
        .map(|id| match parse_id(id).and_then(|u| store.get(&u)) {
            Some(job) => (false, job_element(job, fields.as_deref())),
            None => (true, not_found_element(id)),
        })
        .collect();
    multistatus(elements, requested.len() > 1)
}

fn find<'a>(store: &'a super::store::Store, id: &str) -> Result<&'a Job, FtsError> {
    parse_id(id)
        .and_then(|u| store.get(&u))
        .ok_or_else(|| FtsError::job_not_found(id))
}

/// `GET /jobs/{id}/files`: every file row of a job.
pub async fn get_files(
    State(fts): State<Arc<Fts>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, FtsError> {
    let store = fts.store.lock();
    let job = find(&store, &id)?;
    Ok(Json(
        job.files
            .iter()
            .map(|f| Value::Object(view::file(job, f)))
            .collect(),
    ))
}

/// `GET /jobs/{id}/dm`: data management operations, which gridsim never has.
pub async fn get_dm(
    State(fts): State<Arc<Fts>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, FtsError> {
    find(&fts.store.lock(), &id)?;
    Ok(Json(json!([])))
}

/// `GET /jobs/{id}/{field}`: one field of a job.
pub async fn get_field(
    State(fts): State<Arc<Fts>>,
    Path((id, field)): Path<(String, String)>,
) -> Result<Json<Value>, FtsError> {
    let store = fts.store.lock();
    let mut job = view::job(find(&store, &id)?);
    job.remove(&field).map(Json).ok_or(FtsError {
        status: StatusCode::NOT_FOUND,
        message: "No such field".to_owned(),
    })
}

fn terminal_element(job: &Job) -> Value {
    let mut map = view::job(job);
    map.insert("http_status".to_owned(), Value::from("304 Not Modified"));
    map.insert(
        "http_message".to_owned(),
        Value::from("The job is in a terminal state"),
    );
    Value::Object(map)
}

fn changed_element(job: &Job) -> Value {
    let mut map = view::job(job);
    map.insert(
        "http_status".to_owned(),
        Value::from(status_line(StatusCode::OK)),
    );
    map.insert("http_message".to_owned(), Value::Null);
    Value::Object(map)
}

/// `DELETE /jobs/{id[,id...]}`: cancels jobs; a terminal one comes back with `http_status`
/// `304 Not Modified`.
pub async fn cancel(State(fts): State<Arc<Fts>>, Path(ids): Path<String>) -> Response {
    let requested: Vec<&str> = ids.split(',').collect();
    let now = now();
    let mut store = fts.store.lock();
    let mut elements = Vec::new();
    for id in requested.iter().filter(|id| !id.is_empty()) {
        let Some(uuid) = parse_id(id).filter(|u| store.get(u).is_some()) else {
            elements.push((true, not_found_element(id)));
            continue;
        };
        let canceled = store.cancel(&uuid, now);
        let Some(job) = store.get(&uuid) else {
            continue;
        };
        let element = if canceled {
            changed_element(job)
        } else {
            terminal_element(job)
        };
        elements.push((false, element));
    }
    drop(store);
    fts.wake.notify_one();
    multistatus(elements, requested.len() > 1)
}

/// `POST /jobs/{id[,id...]}` with `{"params": {"priority": n}}`: changes priorities.
pub async fn modify(
    State(fts): State<Arc<Fts>>,
    Path(ids): Path<String>,
    body: Bytes,
) -> Result<Response, FtsError> {
    let body: Value = serde_json::from_slice(&body)
        .map_err(|_| FtsError::bad_request("Badly formatted JSON request"))?;
    let priority = match body.get("params").and_then(|p| p.get("priority")) {
        None | Some(Value::Null) => None,
        Some(value) => {
            let parsed = value
                .as_i64()
                .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()));
            Some(parsed.ok_or_else(|| FtsError::bad_request("Invalid priority value"))?)
        }
    };
    let requested: Vec<&str> = ids.split(',').collect();
    let mut store = fts.store.lock();
    let mut elements = Vec::new();
    for id in requested.iter().filter(|id| !id.is_empty()) {
        let Some(job) = parse_id(id).and_then(|u| store.get(&u)) else {
            elements.push((true, not_found_element(id)));
            continue;
        };
        if job.is_terminal() {
            elements.push((false, terminal_element(job)));
            continue;
        }
        let uuid = job.id;
        if let Some(priority) = priority.filter(|p| *p != 0) {
            store.set_priority(&uuid, priority.clamp(1, 5) as u8);
            tracing::info!(fts_job_id = %uuid, priority, "FTS job priority changed");
        }
        if let Some(job) = store.get(&uuid) {
            elements.push((false, changed_element(job)));
        }
    }
    drop(store);
    fts.wake.notify_one();
    Ok(multistatus(elements, requested.len() > 1))
}

/// `DELETE /jobs/{id}/files/{file_id[,...]}`: cancels files of a regular job.
pub async fn cancel_files(
    State(fts): State<Arc<Fts>>,
    Path((id, file_ids)): Path<(String, String)>,
) -> Result<Json<Value>, FtsError> {
    let mut store = fts.store.lock();
    let job = find(&store, &id)?;
    if job.job_type != JobType::Regular {
        return Err(FtsError::bad_request(format!(
            "Multihop or reuse jobs must be cancelled at once ({})",
            job.job_type.as_str()
        )));
    }
    let uuid = job.id;
    let file_ids: Vec<&str> = file_ids.split(',').collect();
    let mut changed = store.cancel_files(&uuid, &file_ids, now());
    drop(store);
    fts.wake.notify_one();
    Ok(Json(if changed.len() == 1 {
        Value::from(changed.remove(0))
    } else {
        json!(changed)
    }))
}

/// `GET /jobs?state_in=A,B&time_window=H[:M]&limit=N&fields=a,b`: jobs, newest first when a
/// limit is given; without `state_in`, the unfinished ones.
pub async fn list(
    State(fts): State<Arc<Fts>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, FtsError> {
    let limit = query.get("limit").and_then(|l| l.parse::<i64>().ok());
    if limit.is_some_and(|l| !(0..=LIST_LIMIT as i64).contains(&l)) {
        return Err(FtsError::bad_request(
            "The limit must be positive and less or equal than 500",
        ));
    }
    let window = query.get("time_window").and_then(|w| {
        let mut parts = w.split(':');
        let hours: i64 = parts.next()?.parse().ok()?;
        let minutes: i64 = parts.next().map_or(Some(0), |m| m.parse().ok())?;
        Some(hours * 3600 + minutes * 60)
    });
    let states: Option<Vec<&str>> = query.get("state_in").map(|s| s.split(',').collect());
    let text_filter = |key: &str| query.get(key).map(String::as_str);
    let (vo, dn, source_se, dest_se) = (
        text_filter("vo_name"),
        text_filter("user_dn"),
        text_filter("source_se"),
        text_filter("dest_se"),
    );
    let now = now();

    let store = fts.store.lock();
    let mut jobs: Vec<&Job> = store
        .jobs()
        .filter(|job| match &states {
            Some(states) => {
                let wanted = states.contains(&job.state.as_str());
                let recent = match (limit, window) {
                    (Some(_), _) => true,
                    (None, Some(window)) => job.finished.is_some_and(|f| f >= now - window),
                    (None, None) => job.finished.is_none(),
                };
                wanted && recent
            }
            None => job.finished.is_none(),
        })
        .filter(|job| vo.is_none_or(|v| *job.params.vo == *v))
        .filter(|job| dn.is_none_or(|d| *job.params.user_dn == *d))
        .filter(|job| source_se.is_none_or(|s| job.params.source_se.as_deref() == Some(s)))
        .filter(|job| dest_se.is_none_or(|s| job.params.dest_se.as_deref() == Some(s)))
        .collect();
    if let Some(limit) = limit.filter(|l| *l > 0) {
        jobs.sort_by_key(|job| std::cmp::Reverse(job.submit_time));
        jobs.truncate(limit as usize);
    }
    let fields: Option<Vec<&str>> = query.get("fields").map(|f| f.split(',').collect());
    let rows = jobs.into_iter().map(|job| {
        let map = view::job(job);
        match &fields {
            Some(fields) => {
                let mut map = map;
                Value::Object(
                    fields
                        .iter()
                        .filter_map(|f| map.remove_entry(*f))
                        .collect::<Map<_, _>>(),
                )
            }
            None => Value::Object(map),
        }
    });
    Ok(Json(Value::Array(rows.collect())))
}
