//! The JEDI side: a task is refined into chunks, each chunk gets a job, failed jobs are
//! retried with new PanDA ids up to `maxAttempt`, and the task ends done, finished, failed
//! or aborted. Commands (kill, finish, retry) reach the driver through the task.

use std::sync::Arc;
use std::time::Duration;

use bmnflow_core::split::Rules;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use tokio::sync::watch;

use super::pilot;
use super::split;
use super::store::{template_items, ChunkState, Ending, Job, JobFile, Task};
use super::template::{expand_parameters, output_templates, substitute, JobValues};
use super::Panda;

/// Attempts per chunk when the task does not say (JEDI's default for user tasks).
const DEFAULT_MAX_ATTEMPT: u32 = 3;

/// Starts the driver of a newly registered task.
pub fn start(panda: Arc<Panda>, task_id: u64) {
    tokio::spawn(drive(panda, task_id, true));
}

async fn drive(panda: Arc<Panda>, task_id: u64, refine_first: bool) {
    if refine_first {
        if let Err(diagnostic) = refine(&panda, task_id).await {
            let mut store = panda.store.lock();
            if let Some(task) = store.tasks.get_mut(&task_id) {
                tracing::warn!(task_id, %diagnostic, "task broken");
                task.diagnostic = diagnostic;
                task.driving = false;
                task.set_status("broken");
            }
            return;
        }
    }
    loop {
        let Some((new_jobs, wake, finished)) = step(&panda, task_id) else {
            return;
        };
        for panda_id in new_jobs {
            tokio::spawn(pilot::run(panda.clone(), panda_id));
        }
        if finished {
            return;
        }
        // The timeout only guards against a lost wake-up; jobs and commands wake the driver.
        let _ = tokio::time::timeout(Duration::from_secs(2), wake.notified()).await;
    }
}

/// Checks the task parameters, creates the output datasets in Rucio, and cuts the task
/// into chunks.
async fn refine(panda: &Panda, task_id: u64) -> Result<(), String> {
    let params = {
        let mut store = panda.store.lock();
        let task = store.tasks.get_mut(&task_id).ok_or("task vanished")?;
        task.set_status("defined");
        task.params.clone()
    };
    for key in [
        "taskName",
        "vo",
        "prodSourceLabel",
        "transPath",
        "jobParameters",
        "log",
    ] {
        if !params.contains_key(key) {
            return Err(format!("{key} is missing in the task parameters"));
        }
    }
    let number = |key: &str| {
        params
            .get(key)
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
    };
    let max_attempts = number("maxAttempt").map_or(DEFAULT_MAX_ATTEMPT, |n| n.clamp(1, 100) as u32);

    if let Some(catalog) = &panda.catalog {
        let outputs = datasets_of(&params, "output");
        for dataset in outputs.iter().chain(&datasets_of(&params, "log")) {
            catalog.ensure_dataset(dataset).await?;
        }
    }

    let chunks = if params.get("noInput") == Some(&Value::Bool(true)) {
        let total = number("nEvents").ok_or("noInput needs nEvents")?;
        let per_job = number("nEventsPerJob").unwrap_or(total).max(1);
        split::monte_carlo(total, per_job, max_attempts)?
    } else {
        let dataset = datasets_of(&params, "input")
            .into_iter()
            .next()
            .ok_or("the task has neither noInput nor an input template")?;
        let catalog = panda
            .catalog
            .as_ref()
            .ok_or("tasks with an input dataset need Rucio ([panda.rucio])")?;
        let mut files = catalog.input_files(&dataset, &panda.storage).await?;
        if let Some(limit) = number("nFiles") {
            files.truncate(limit as usize);
        }
        if files.is_empty() {
            return Err(format!("the input dataset {dataset} has no files"));
        }
        let signed = |key: &str| number(key).and_then(|n| i64::try_from(n).ok());
        let rules = Rules {
            n_files_per_job: signed("nFilesPerJob"),
            n_gb_per_job: number("nGBPerJob").map(|n| n as f64),
            n_events_per_job: signed("nEventsPerJob"),
            max_files_per_job: signed("nMaxFilesPerJob"),
            n_events_per_file: signed("nEventsPerInputFile"),
            ..Rules::default()
        };
        split::input_files(&dataset, &files, &rules, max_attempts)?
    };

    let mut store = panda.store.lock();
    let task = store.tasks.get_mut(&task_id).ok_or("task vanished")?;
    tracing::info!(task_id, jobs = chunks.len(), "task refined");
    task.chunks = chunks;
    task.set_status("ready");
    Ok(())
}

/// The datasets of the task's templates of one type, in order, once each.
fn datasets_of(params: &Map<String, Value>, param_type: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for item in template_items(params) {
        if item.get("param_type").and_then(Value::as_str) != Some(param_type) {
            continue;
        }
        if let Some(name) = item.get("dataset").and_then(Value::as_str) {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
    }
    names
}

/// One pass of the driver: applies commands, accounts ended jobs, makes new ones, and
/// decides the final status. Returns the new PanDA ids, the wake-up and whether it ended.
fn step(panda: &Panda, task_id: u64) -> Option<(Vec<u64>, Arc<tokio::sync::Notify>, bool)> {
    let mut guard = panda.store.lock();
    let store = &mut *guard;
    let task = store.tasks.get_mut(&task_id)?;
    let wake = task.wake.clone();

    for chunk in &mut task.chunks {
        let ChunkState::Running(panda_id) = chunk.state else {
            continue;
        };
        let Some(job) = store.jobs.get(&panda_id) else {
            continue;
        };
        if !job.is_final() {
            continue;
        }
        chunk.state = if job.status == "finished" {
            ChunkState::Done
        } else if task.ending.is_some() {
            ChunkState::Dropped
        } else if chunk.attempts < chunk.max_attempts {
            ChunkState::Ready
        } else {
            ChunkState::Failed
        };
    }

    if let Some(ending) = task.ending {
        for chunk in &mut task.chunks {
            if chunk.state == ChunkState::Ready {
                chunk.state = ChunkState::Dropped;
            }
            if let (ChunkState::Running(id), Ending::Abort | Ending::Finish) = (chunk.state, ending)
            {
                if let Some(job) = store.jobs.get_mut(&id) {
                    signal_kill(job, "killed by the task command");
                }
            }
        }
    }

    let mut new_jobs = Vec::new();
    let ready: Vec<usize> = (0..task.chunks.len())
        .filter(|i| task.chunks[*i].state == ChunkState::Ready)
        .collect();
    for index in ready {
        store.last_panda_id += 1;
        let panda_id = store.last_panda_id;
        let job = make_job(panda, task, index, panda_id);
        task.chunks[index].attempts += 1;
        task.chunks[index].state = ChunkState::Running(panda_id);
        task.job_ids.push(panda_id);
        store.jobs.insert(panda_id, job);
        new_jobs.push(panda_id);
    }
    if !new_jobs.is_empty() && task.status != "running" {
        task.set_status("running");
    }

    let busy = task
        .chunks
        .iter()
        .any(|c| matches!(c.state, ChunkState::Ready | ChunkState::Running(_)));
    if busy {
        return Some((new_jobs, wake, false));
    }
    let done = task
        .chunks
        .iter()
        .filter(|c| c.state == ChunkState::Done)
        .count();
    let status = match task.ending {
        Some(Ending::Abort) => "aborted",
        _ if done == task.chunks.len() => "done",
        _ if done > 0 => "finished",
        _ => "failed",
    };
    task.driving = false;
    task.set_status(status);
    Some((new_jobs, wake, true))
}

/// A new job for chunk `index`: its command line, files, and kill switch.
fn make_job(panda: &Panda, task: &mut Task, index: usize, panda_id: u64) -> Job {
    let chunk = &task.chunks[index];
    let attempt = chunk.attempts + 1;
    let mut values = JobValues {
        inputs: chunk.inputs.iter().map(|f| f.lfn.clone()).collect(),
        outputs: Vec::new(),
        serial: chunk.serial,
        random_seed: chunk.seed,
        max_events: chunk.events,
        skip_events: chunk.skip_events,
        first_event: chunk.first_event,
        attempt,
    };

    let mut files: Vec<JobFile> = chunk
        .inputs
        .iter()
        .map(|f| JobFile {
            lfn: f.lfn.clone(),
            file_type: "input",
            scope: f.scope.clone(),
            dataset: f.dataset.clone(),
            status: "ready".into(),
            bytes: Some(f.bytes),
            adler32: f.adler32.clone(),
        })
        .collect();
    for (dataset, template) in output_templates(&task.params) {
        let lfn = substitute(&template, &values);
        values.outputs.push(lfn.clone());
        files.push(new_output(&dataset, lfn, "output", &task.vo));
    }
    if let Some(log) = task.params.get("log").and_then(Value::as_object) {
        let log_values = JobValues {
            serial: task.next_log_serial,
            ..values.clone()
        };
        task.next_log_serial += 1;
        let template = log
            .get("value")
            .and_then(Value::as_str)
            .unwrap_or("log.${SN}.tgz");
        let dataset = log
            .get("dataset")
            .and_then(Value::as_str)
            .unwrap_or_default();
        files.push(new_output(
            dataset,
            substitute(template, &log_values),
            "log",
            &task.vo,
        ));
    }

    let now = OffsetDateTime::now_utc();
    let (kill, _) = watch::channel(false);
    tracing::info!(
        panda_id,
        task_id = task.id,
        serial = chunk.serial,
        attempt,
        "job defined"
    );
    Job {
        panda_id,
        task_id: task.id,
        chunk: index,
        attempt,
        max_attempt: chunk.max_attempts,
        status: "activated".into(),
        command: None,
        parameters: expand_parameters(&task.params, &values),
        transformation: task.param_str("transPath").unwrap_or_default().to_owned(),
        files,
        site: task
            .param_str("site")
            .map_or_else(|| panda.config.site.clone(), str::to_owned),
        events: chunk.events,
        created: now,
        modified: now,
        started: None,
        ended: None,
        exit_code: None,
        pilot_error_code: 0,
        pilot_error_diag: None,
        exe_error_diag: None,
        task_buffer_error_diag: None,
        kill,
    }
}

fn new_output(dataset: &str, lfn: String, file_type: &'static str, vo: &str) -> JobFile {
    let scope = dataset
        .split_once(':')
        .map_or(vo, |(scope, _)| scope)
        .to_owned();
    JobFile {
        lfn,
        file_type,
        scope,
        dataset: dataset.to_owned(),
        status: "unknown".into(),
        bytes: None,
        adler32: None,
    }
}

/// Tells a job's pilot to kill its payload; a job still waiting for a slot ends at once.
fn signal_kill(job: &mut Job, diagnostic: &str) -> bool {
    if job.is_final() {
        return false;
    }
    job.command = Some("tobekilled".into());
    job.task_buffer_error_diag
        .get_or_insert_with(|| diagnostic.to_owned());
    if job.status == "activated" {
        job.ended = Some(OffsetDateTime::now_utc());
        job.set_status("cancelled");
    }
    let _ = job.kill.send(true);
    true
}

/// `job/kill` of one job; true when the kill was accepted.
pub fn kill_job(panda: &Panda, panda_id: u64, diagnostic: &str) -> bool {
    let mut store = panda.store.lock();
    let Some(job) = store.jobs.get_mut(&panda_id) else {
        return false;
    };
    let accepted = signal_kill(job, diagnostic);
    let task_id = job.task_id;
    if let Some(task) = store.tasks.get(&task_id) {
        task.wake.notify_one();
    }
    accepted
}

/// A task command (`kill`, `finish`, `softfinish`) with the server's codes and messages.
pub fn command(panda: &Panda, task_id: u64, user: &str, command: &str) -> Value {
    let name = if command == "softfinish" {
        "finish"
    } else {
        command
    };
    let mut store = panda.store.lock();
    let Some(task) = store.tasks.get_mut(&task_id) else {
        return json!({"success": false, "message": format!("jediTaskID={task_id} not found"), "data": 2});
    };
    let refused = [
        "finished", "done", "prepared", "broken", "aborted", "toabort", "aborting", "failed",
    ];
    if refused.contains(&task.status.as_str()) || task.ending == Some(Ending::Abort) {
        let message = format!(
            "Command rejected: the {name} command is not accepted if the task is in {} status ",
            task.status
        );
        return json!({"success": false, "message": message, "data": 4});
    }
    let (ending, status) = match command {
        "kill" => (Ending::Abort, "aborting"),
        "finish" => (Ending::Finish, "finishing"),
        _ => (Ending::SoftFinish, "finishing"),
    };
    tracing::info!(task_id, user, command, "task command");
    task.ending = Some(ending);
    task.set_status(status);
    task.wake.notify_one();
    let message = format!(
        "command={name} is registered for task ID {task_id}. will be executed in a few minutes"
    );
    json!({"success": true, "message": message, "data": 0})
}

/// Retries the failed and dropped chunks of a task, with fresh attempts; parameters given
/// are merged first.
pub fn retry(panda: &Arc<Panda>, task_id: u64, new_parameters: Option<Map<String, Value>>) {
    let mut store = panda.store.lock();
    let Some(task) = store.tasks.get_mut(&task_id) else {
        return;
    };
    if let Some(parameters) = new_parameters {
        task.params.extend(parameters);
    }
    let max_attempt = task
        .param_u64("maxAttempt")
        .map_or(DEFAULT_MAX_ATTEMPT, |n| n.clamp(1, 100) as u32);
    for chunk in &mut task.chunks {
        if matches!(chunk.state, ChunkState::Failed | ChunkState::Dropped) {
            chunk.state = ChunkState::Ready;
            chunk.max_attempts = chunk.attempts + max_attempt;
        }
    }
    task.ending = None;
    task.set_status("ready");
    tracing::info!(task_id, "task retried");
    if task.driving {
        task.wake.notify_one();
    } else {
        task.driving = true;
        tokio::spawn(drive(panda.clone(), task_id, false));
    }
}
