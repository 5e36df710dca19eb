//! The `/api/v1` calls of the embedded PanDA: signatures, checks and answers as the real
//! server's task, job and system modules give them.

use std::sync::Arc;

use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::jedi;
use super::params::{bind, optional, required, Hint, Param};
use super::store::{datetime, Task};
use super::Panda;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user name tasks are owned by.
    pub user: String,
    /// The VO from `Origin`.
    pub vo: String,
    /// Whether the caller has the production role.
    pub production: bool,
    /// Whether the caller presented credentials (or the server is in open mode).
    pub secure: bool,
}

/// One known call.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    module: &'static str,
    method: &'static str,
    http: Option<&'static str>,
    secure: bool,
}

const CALLS: [Call; 13] = [
    Call {
        module: "task",
        method: "submit",
        http: Some("POST"),
        secure: true,
    },
    Call {
        module: "task",
        method: "get_status",
        http: Some("GET"),
        secure: true,
    },
    Call {
        module: "task",
        method: "get_details",
        http: Some("GET"),
        secure: true,
    },
    Call {
        module: "task",
        method: "get_task_parameters",
        http: Some("GET"),
        secure: false,
    },
    Call {
        module: "task",
        method: "get_job_ids",
        http: Some("GET"),
        secure: true,
    },
    Call {
        module: "task",
        method: "get_tasks_modified_since",
        http: Some("GET"),
        secure: true,
    },
    Call {
        module: "task",
        method: "kill",
        http: Some("POST"),
        secure: true,
    },
    Call {
        module: "task",
        method: "finish",
        http: Some("POST"),
        secure: true,
    },
    Call {
        module: "task",
        method: "retry",
        http: Some("POST"),
        secure: true,
    },
    Call {
        module: "job",
        method: "get_description",
        http: None,
        secure: true,
    },
    Call {
        module: "job",
        method: "get_status",
        http: Some("GET"),
        secure: true,
    },
    Call {
        module: "job",
        method: "kill",
        http: Some("POST"),
        secure: true,
    },
    Call {
        module: "system",
        method: "is_alive",
        http: Some("GET"),
        secure: false,
    },
];

/// The server's longest `job/get_description` list; longer ones are cut without a word.
const MAX_DESCRIPTIONS: usize = 5500;

/// The call behind `/api/v1/<module>/<method>`, if gridsim serves it.
pub fn lookup(module: &str, method: &str) -> Option<Call> {
    CALLS
        .iter()
        .copied()
        .find(|c| c.module == module && c.method == method)
}

fn signature(call: Call) -> Vec<Param> {
    let task_id = || required("task_id", Hint::Int);
    let flag = |name| optional(name, Hint::Bool, json!(false));
    match (call.module, call.method) {
        ("task", "submit") => vec![
            required("task_parameters", Hint::Dict),
            optional("parent_tid", Hint::Int, Value::Null),
        ],
        // The real handler has no type hint here and checks the id itself.
        ("task", "get_status") => vec![required("task_id", Hint::Str)],
        ("task", "get_details") => {
            vec![
                task_id(),
                flag("include_parameters"),
                flag("include_status"),
            ]
        }
        ("task", "get_task_parameters" | "get_job_ids") => vec![task_id()],
        ("task", "get_tasks_modified_since") => vec![
            required("since", Hint::Str),
            optional("dn", Hint::Str, Value::Null),
            flag("full"),
            optional("min_task_id", Hint::Int, Value::Null),
            optional("prod_source_label", Hint::Str, json!("user")),
        ],
        ("task", "kill") => vec![
            optional("task_id", Hint::Int, Value::Null),
            flag("broadcast"),
        ],
        ("task", "finish") => vec![task_id(), flag("soft"), flag("broadcast")],
        ("task", "retry") => vec![
            task_id(),
            optional("new_parameters", Hint::DictOrStr, Value::Null),
            flag("no_child_retry"),
            flag("discard_events"),
            flag("disable_staging_mode"),
            flag("keep_gshare_priority"),
            flag("ignore_hard_exhausted"),
        ],
        ("job", "get_description") => vec![required("job_ids", Hint::ListInt)],
        ("job", "get_status") => vec![
            required("job_ids", Hint::ListInt),
            optional("timeout", Hint::Int, json!(60)),
        ],
        ("job", "kill") => vec![
            required("job_ids", Hint::ListInt),
            optional("code", Hint::Int, Value::Null),
            flag("use_email_as_id"),
            optional("kill_options", Hint::Str, json!([])),
        ],
        _ => vec![],
    }
}

/// `{"success": ..., "message": ..., "data": ...}`.
fn response(success: bool, message: impl Into<String>, data: Value) -> Value {
    json!({ "success": success, "message": message.into(), "data": data })
}

/// Runs one call: the checks of `request_validation`, then the handler.
pub fn call(
    panda: &Arc<Panda>,
    caller: &Caller,
    call: Call,
    http_method: &str,
    arguments: Map<String, Value>,
    from_query: bool,
) -> Value {
    if call.secure && !caller.secure {
        return response(false, "SSL secure connection is required", Value::Null);
    }
    if let Some(expected) = call.http {
        if expected != http_method {
            return response(
                false,
                format!("expecting {expected}, received {http_method}"),
                Value::Null,
            );
        }
    }
    let cast = from_query && http_method == "GET";
    let args = match bind(&signature(call), arguments, cast) {
        Ok(args) => args,
        Err(message) => return response(false, message, Value::Null),
    };
    let int = |key: &str| args.get(key).and_then(Value::as_u64);
    let flag = |key: &str| args.get(key).and_then(Value::as_bool).unwrap_or(false);

    match (call.module, call.method) {
        ("task", "submit") => submit(panda, caller, &args),
        ("task", "get_status") => match args["task_id"].as_str().and_then(|t| t.parse().ok()) {
            None => response(false, "jediTaskID must be an integer", Value::Null),
            Some(id) => match panda.store.lock().tasks.get(&id) {
                Some(task) => response(true, "", json!(task.status)),
                None => response(false, "Task not found", Value::Null),
            },
        },
        ("task", "get_details") => details(
            panda,
            int("task_id").unwrap_or(0),
            flag("include_parameters"),
            flag("include_status"),
        ),
        ("task", "get_task_parameters") => {
            match panda.store.lock().tasks.get(&int("task_id").unwrap_or(0)) {
                Some(task) => response(true, "", Value::Object(task.params.clone())),
                None => response(false, "Task not found", Value::Null),
            }
        }
        ("task", "get_job_ids") => {
            let store = panda.store.lock();
            let ids = store
                .tasks
                .get(&int("task_id").unwrap_or(0))
                .map(|t| t.job_ids.clone());
            response(true, "", json!(ids.unwrap_or_default()))
        }
        ("task", "get_tasks_modified_since") => modified_since(panda, caller, &args),
        ("task", "kill") => match int("task_id") {
            None => response(false, "jediTaskID must be an integer", Value::Null),
            Some(id) => jedi::command(panda, id, &caller.user, "kill"),
        },
        ("task", "finish") => {
            let command = if flag("soft") { "softfinish" } else { "finish" };
            jedi::command(panda, int("task_id").unwrap_or(0), &caller.user, command)
        }
        ("task", "retry") => retry(panda, caller, int("task_id").unwrap_or(0), &args),
        ("job", "get_description") => {
            let store = panda.store.lock();
            let ids = args["job_ids"].as_array().cloned().unwrap_or_default();
            let descriptions: Vec<Value> = ids
                .iter()
                .take(MAX_DESCRIPTIONS)
                .map(|id| {
                    let job = id.as_u64().and_then(|id| store.jobs.get(&id));
                    job.map_or(Value::Null, |job| {
                        job.description(store.tasks.get(&job.task_id))
                    })
                })
                .collect();
            response(true, "", Value::Array(descriptions))
        }
        ("job", "get_status") => {
            let store = panda.store.lock();
            let hour_ago = OffsetDateTime::now_utc() - time::Duration::hours(1);
            let statuses: Vec<Value> = args["job_ids"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|id| match id.as_u64().and_then(|id| store.jobs.get(&id)) {
                    Some(job) if !job.is_final() || job.modified > hour_ago => {
                        json!({ "status": job.status, "command": job.command })
                    }
                    _ => json!({ "status": "unknown", "command": "tobekilled" }),
                })
                .collect();
            response(true, "", Value::Array(statuses))
        }
        ("job", "kill") => {
            let ids: Vec<u64> = args["job_ids"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64)
                .collect();
            let killed: Vec<Value> = ids
                .iter()
                .map(|id| {
                    Value::Bool(jedi::kill_job(
                        panda,
                        *id,
                        &format!("killed by {}", caller.user),
                    ))
                })
                .collect();
            response(true, "", Value::Array(killed))
        }
        ("system", "is_alive") => response(true, "", Value::Null),
        _ => response(false, "unknown call", Value::Null),
    }
}

fn submit(panda: &Arc<Panda>, caller: &Caller, args: &Map<String, Value>) -> Value {
    let mut params = args["task_parameters"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    if !caller.production || !params.contains_key("userName") {
        params.insert("userName".into(), json!(caller.user));
    }
    if !caller.production || !params.contains_key("taskType") {
        params.insert("taskType".into(), json!("anal"));
        params.insert("taskPriority".into(), json!(1000));
    }
    let text = |key: &str| {
        params
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (name, vo, label, user) = (
        text("taskName"),
        text("vo"),
        text("prodSourceLabel"),
        text("userName"),
    );
    if name.is_empty() || vo.is_empty() || label.is_empty() {
        // The real server fails inside its database layer on such parameters.
        return response(false, "failed to register task", json!(4));
    }

    let unique = params.get("uniqueTaskName") == Some(&Value::Bool(true));
    let mut store = panda.store.lock();
    if text("taskType") == "anal" && unique {
        let previous = store
            .tasks
            .values()
            .rev()
            .find(|t| t.vo == vo && t.source_label == label && t.user == user && t.name == name)
            .map(|t| (t.id, t.status.clone(), t.is_final()));
        if let Some((id, status, is_final)) = previous {
            if !is_final {
                let message = format!(
                    "jediTaskID={id} is in the {status} state for outDS={name}. You can re-submit \
                     the task with new parameters for the same or another input once it goes \
                     into finished/failed/done. Or you can retry the task once it goes into \
                     running/finished/failed/done. Note that retry != resubmission according to \
                     https://twiki.cern.ch/twiki/bin/view/PanDA/PandaJEDI#Task_retry_and_resubmission "
                );
                return response(false, message, json!(2));
            }
            drop(store);
            jedi::retry(panda, id, None);
            let message = format!(
                "reactivation accepted. jediTaskID={id} (currently in {status} state) will be \
                 re-executed with old and/or new input"
            );
            return response(true, message, json!(id));
        }
    }

    store.last_task_id += 1;
    let id = store.last_task_id;
    let now = OffsetDateTime::now_utc();
    store.tasks.insert(
        id,
        Task {
            id,
            name: name.clone(),
            user,
            vo,
            source_label: label,
            status: "registered".into(),
            created: now,
            modified: now,
            chunks: Vec::new(),
            job_ids: Vec::new(),
            next_log_serial: 1,
            diagnostic: String::new(),
            ending: None,
            driving: true,
            wake: Arc::default(),
            params,
        },
    );
    drop(store);
    tracing::info!(task_id = id, task_name = %name, vo = %caller.vo, "task registered");
    jedi::start(panda.clone(), id);
    response(true, format!("succeeded. new jediTaskID={id}"), json!(id))
}

fn details(panda: &Panda, id: u64, include_parameters: bool, include_status: bool) -> Value {
    let store = panda.store.lock();
    let Some(task) = store.tasks.get(&id) else {
        return response(
            false,
            "Task not found or error retrieving the details",
            Value::Null,
        );
    };
    let mut data = digest(task, &store);
    if include_status {
        data.insert("status".into(), json!(task.status));
    }
    if include_parameters {
        data.insert(
            "cliParams".into(),
            task.params.get("cliParams").cloned().unwrap_or(json!("")),
        );
    }
    response(true, "", Value::Object(data))
}

/// `inDS`, `outDS`, `statistics` and the PanDA ids of a task, as in its details.
fn digest(task: &Task, store: &super::store::Store) -> Map<String, Value> {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for chunk in &task.chunks {
        let state = match chunk.state {
            super::store::ChunkState::Ready => "tobedone",
            super::store::ChunkState::Running(id) => store
                .jobs
                .get(&id)
                .map_or("picked", |job| job.status.as_str()),
            super::store::ChunkState::Done => "finished",
            super::store::ChunkState::Failed | super::store::ChunkState::Dropped => "failed",
        };
        *counts.entry(state).or_default() += chunk.inputs.len().max(1);
    }
    let statistics: Vec<String> = counts.iter().map(|(k, n)| format!("{k}*{n}")).collect();
    let mut out_ds = task.datasets("output");
    out_ds.extend(task.datasets("log"));
    let mut data = Map::new();
    data.insert("inDS".into(), json!(task.datasets("input").join(",")));
    data.insert("outDS".into(), json!(out_ds.join(",")));
    data.insert("statistics".into(), json!(statistics.join(",")));
    data.insert("PandaID".into(), json!(task.job_ids));
    data.insert("mergeStatus".into(), Value::Null);
    data.insert("mergePandaID".into(), json!([]));
    data
}

fn modified_since(panda: &Panda, caller: &Caller, args: &Map<String, Value>) -> Value {
    let since = args["since"].as_str().unwrap_or_default();
    let user = args["dn"].as_str().map_or(caller.user.as_str(), |dn| dn);
    let label = args["prod_source_label"].as_str().unwrap_or("user");
    let full = args["full"].as_bool().unwrap_or(false);
    let min_task_id = args["min_task_id"].as_u64();
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let Ok(since) = time::PrimitiveDateTime::parse(since, &format) else {
        // The real server answers an unparsable time with no tasks.
        return response(true, "", json!({}));
    };
    let since = since.assume_utc();

    let store = panda.store.lock();
    let mut tasks = Map::new();
    for task in store.tasks.values() {
        if task.user != user || task.source_label != label || task.modified < since {
            continue;
        }
        if min_task_id.is_some_and(|min| task.id <= min) {
            continue;
        }
        let mut entry = Map::new();
        entry.insert("jediTaskID".into(), json!(task.id));
        entry.insert("modificationTime".into(), datetime(task.modified));
        entry.insert("status".into(), json!(task.status));
        for key in [
            "processingType",
            "transUses",
            "transHome",
            "architecture",
            "site",
            "cloud",
        ] {
            entry.insert(
                key.into(),
                task.params.get(key).cloned().unwrap_or(Value::Null),
            );
        }
        entry.insert("reqID".into(), json!(task.id));
        entry.insert("creationDate".into(), datetime(task.created));
        entry.insert("taskName".into(), json!(task.name));
        if full {
            entry.extend(digest(task, &store));
        }
        tasks.insert(task.id.to_string(), Value::Object(entry));
    }
    response(true, "", Value::Object(tasks))
}

fn retry(panda: &Arc<Panda>, caller: &Caller, id: u64, args: &Map<String, Value>) -> Value {
    let new_parameters = match &args["new_parameters"] {
        Value::String(text) => serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| v.as_object().cloned()),
        Value::Object(map) => Some(map.clone()),
        _ => None,
    };
    let status = panda
        .store
        .lock()
        .tasks
        .get(&id)
        .map(|t| (t.status.clone(), t.source_label.clone()));
    let Some((status, label)) = status else {
        return response(false, format!("jediTaskID={id} not found"), json!(2));
    };
    if matches!(status.as_str(), "finished" | "failed")
        || (status == "exhausted" && caller.production)
    {
        jedi::retry(panda, id, new_parameters);
        let message = format!(
            "command=retry is registered for task ID {id}. will be executed in a few minutes"
        );
        return response(true, message, json!(0));
    }
    if matches!(status.as_str(), "running" | "scouting" | "pending") && label == "user" {
        let message =
            format!("retry has been triggered for failed jobs while the task is still {status}");
        return response(true, message, json!(0));
    }
    let message = format!(
        "Command rejected: the retry command is not accepted if the task is in {status} status "
    );
    response(false, message, json!(4))
}
