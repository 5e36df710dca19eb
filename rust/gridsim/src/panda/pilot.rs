//! The pilot: runs one job on the local site. It waits for a slot, stages the inputs into a
//! scratch folder, runs the payload as a subprocess, and writes the outputs and a log
//! tarball to the site's storage.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::process::Command;

use super::store::JobFile;
use super::Panda;
use crate::checksum::Adler32;

/// What the payload run came to.
enum Outcome {
    Finished,
    Failed {
        code: i64,
        diagnostic: String,
        exit: Option<i64>,
    },
    Killed,
}

/// Runs job `panda_id` to its end and wakes its task.
pub async fn run(panda: Arc<Panda>, panda_id: u64) {
    let Ok(_slot) = panda.slots.clone().acquire_owned().await else {
        return;
    };
    let Some(job) = snapshot(&panda, panda_id) else {
        return;
    };
    let scratch = panda.scratch.join(panda_id.to_string());

    let outcome = match prepare(&job, &scratch).await {
        Err(diagnostic) => Outcome::Failed {
            code: 1099,
            diagnostic,
            exit: None,
        },
        Ok(()) => match panda
            .faults
            .failure(job.task_id, job.serial, job.attempt, &job.parameters)
        {
            Some(diagnostic) => Outcome::Failed {
                code: 1305,
                diagnostic,
                exit: Some(65),
            },
            None => execute(&panda, &job, &scratch).await,
        },
    };
    let outcome = match outcome {
        Outcome::Finished => match stage_out(&panda, &job, &scratch).await {
            Ok(files) => {
                update_files(&panda, panda_id, files);
                Outcome::Finished
            }
            Err(diagnostic) => Outcome::Failed {
                code: 1137,
                diagnostic,
                exit: Some(0),
            },
        },
        other => other,
    };
    // Every attempt leaves its log, failed and killed ones above all.
    if let Err(diagnostic) = write_log(&panda, &job, &scratch).await {
        tracing::warn!(panda_id, %diagnostic, "log tarball not written");
    }
    let _ = tokio::fs::remove_dir_all(&scratch).await;
    finish(&panda, panda_id, outcome);
}

/// The parts of a job the pilot needs, copied out of the store.
struct JobView {
    panda_id: u64,
    task_id: u64,
    serial: u64,
    attempt: u32,
    parameters: String,
    transformation: String,
    files: Vec<JobFile>,
    inputs: Vec<(String, Option<PathBuf>)>,
    kill: tokio::sync::watch::Receiver<bool>,
}

fn snapshot(panda: &Panda, panda_id: u64) -> Option<JobView> {
    let mut store = panda.store.lock();
    let store = &mut *store;
    let job = store.jobs.get_mut(&panda_id)?;
    if job.is_final() {
        return None;
    }
    let chunk = store
        .tasks
        .get(&job.task_id)
        .and_then(|t| t.chunks.get(job.chunk))?;
    job.started = Some(OffsetDateTime::now_utc());
    job.set_status("starting");
    Some(JobView {
        panda_id,
        task_id: job.task_id,
        serial: chunk.serial,
        attempt: job.attempt,
        parameters: job.parameters.clone(),
        transformation: job.transformation.clone(),
        files: job.files.clone(),
        inputs: chunk
            .inputs
            .iter()
            .map(|f| (f.lfn.clone(), f.path.clone()))
            .collect(),
        kill: job.kill.subscribe(),
    })
}

/// Creates the scratch folder and copies each input from its replica's storage folder.
async fn prepare(job: &JobView, scratch: &Path) -> Result<(), String> {
    tokio::fs::create_dir_all(scratch)
        .await
        .map_err(|e| format!("cannot create scratch folder {}: {e}", scratch.display()))?;
    for (lfn, path) in &job.inputs {
        let source = path.as_ref().ok_or_else(|| {
            format!("stage-in failed: no replica of {lfn} on a storage gridsim serves")
        })?;
        tokio::fs::copy(source, scratch.join(lfn))
            .await
            .map_err(|e| format!("stage-in failed: {lfn} from {}: {e}", source.display()))?;
    }
    Ok(())
}

/// Runs `<transPath> <jobParameters>` through the shell in the scratch folder.
async fn execute(panda: &Panda, job: &JobView, scratch: &Path) -> Outcome {
    set_status(panda, job, "running");
    let command_line = format!("{} {}", job.transformation, job.parameters);
    let stdout = std::fs::File::create(scratch.join("payload.stdout"));
    let stderr = std::fs::File::create(scratch.join("payload.stderr"));
    let (Ok(stdout), Ok(stderr)) = (stdout, stderr) else {
        return Outcome::Failed {
            code: 1099,
            diagnostic: "cannot create payload logs".into(),
            exit: None,
        };
    };
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(&command_line)
        .current_dir(scratch)
        .env("PandaID", job.panda_id.to_string())
        .env("JEDITASKID", job.task_id.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr))
        // Its own process group, so that a kill reaches whatever the payload started.
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            return Outcome::Failed {
                code: 1099,
                diagnostic: format!("cannot start payload: {e}"),
                exit: None,
            }
        }
    };

    let mut kill = job.kill.clone();
    let timeout = Duration::from_secs(panda.config.payload_timeout_secs);
    let status = tokio::select! {
        status = child.wait() => status,
        () = async { drop(kill.wait_for(|killed| *killed).await) } => {
            kill_group(&mut child).await;
            return Outcome::Killed;
        }
        _ = tokio::time::sleep(timeout) => {
            kill_group(&mut child).await;
            return Outcome::Failed {
                code: 1213,
                diagnostic: format!("payload killed after the {}s wall time limit", timeout.as_secs()),
                exit: None,
            };
        }
    };
    match status.map(|s| s.code()) {
        Ok(Some(0)) => Outcome::Finished,
        Ok(code) => Outcome::Failed {
            code: 1305,
            diagnostic: format!(
                "payload exited with code {}",
                code.map_or("signal".into(), |c| c.to_string())
            ),
            exit: code.map(i64::from),
        },
        Err(e) => Outcome::Failed {
            code: 1099,
            diagnostic: format!("payload lost: {e}"),
            exit: None,
        },
    }
}

/// Terminates the payload's whole process group, then reaps the shell.
async fn kill_group(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        // `--` so that the negative process group id is not read as a signal name.
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--"])
            .arg(format!("-{pid}"))
            .status()
            .await;
    }
    let _ = child.kill().await;
}

fn set_status(panda: &Panda, job: &JobView, status: &str) {
    if let Some(record) = panda.store.lock().jobs.get_mut(&job.panda_id) {
        if !record.is_final() {
            record.set_status(status);
        }
    }
}

/// Copies each output to the site's storage; returns the files with size and checksum.
async fn stage_out(panda: &Panda, job: &JobView, scratch: &Path) -> Result<Vec<JobFile>, String> {
    let mut files = job.files.clone();
    for file in files.iter_mut().filter(|f| f.file_type == "output") {
        let produced = scratch.join(&file.lfn);
        let bytes = tokio::fs::read(&produced)
            .await
            .map_err(|_| format!("the payload did not produce the output file {}", file.lfn))?;
        store_file(panda, file, &bytes).await?;
    }
    Ok(files)
}

/// Tars the payload's stdout and stderr into the log file and stores it.
async fn write_log(panda: &Panda, job: &JobView, scratch: &Path) -> Result<(), String> {
    let Some(mut log) = job.files.iter().find(|f| f.file_type == "log").cloned() else {
        return Ok(());
    };
    let tarball = scratch.join(&log.lfn);
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(scratch)
        .args(["--ignore-failed-read", "payload.stdout", "payload.stderr"])
        .stderr(Stdio::null())
        .status()
        .await
        .map_err(|e| format!("cannot run tar: {e}"))?;
    if !status.success() && !tarball.exists() {
        return Err(format!("tar failed for {}", log.lfn));
    }
    let bytes = tokio::fs::read(&tarball).await.map_err(|e| e.to_string())?;
    store_file(panda, &mut log, &bytes).await?;
    if let Some(record) = panda.store.lock().jobs.get_mut(&job.panda_id) {
        if let Some(file) = record.files.iter_mut().find(|f| f.lfn == log.lfn) {
            *file = log;
        }
    }
    Ok(())
}

/// Writes one file to the site's storage. With Rucio, the file is registered in its
/// dataset first and written where Rucio puts its replica; without, under `<scope>/<lfn>`.
async fn store_file(panda: &Panda, file: &mut JobFile, bytes: &[u8]) -> Result<(), String> {
    let rse = panda
        .config
        .storage
        .as_deref()
        .ok_or("no storage is configured for job outputs (panda.storage)")?;
    let mut checksum = Adler32::default();
    checksum.update(bytes);
    let adler32 = checksum.hex();

    // Limitation: the replica is registered before its bytes are written (Rucio computes
    // the deterministic path), so for a moment Rucio lists a replica not yet readable.
    let path = match &panda.catalog {
        Some(catalog) => {
            let size = bytes.len() as u64;
            let pfn = catalog
                .register(&file.dataset, rse, &file.scope, &file.lfn, size, &adler32)
                .await?;
            panda
                .storage
                .resolve(&pfn)
                .ok_or_else(|| format!("Rucio puts {} at {pfn}, not on gridsim storage", file.lfn))?
                .path
        }
        None => {
            let endpoint = panda
                .storage
                .endpoints()
                .iter()
                .find(|e| e.name == rse)
                .ok_or_else(|| format!("storage {rse} is gone"))?;
            endpoint.root.join(&file.scope).join(&file.lfn)
        }
    };
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| format!("stage-out failed: {e}"))?;
    }
    tokio::fs::write(&path, bytes)
        .await
        .map_err(|e| format!("stage-out of {} failed: {e}", file.lfn))?;
    file.bytes = Some(bytes.len() as u64);
    file.adler32 = Some(adler32);
    file.status = "ready".into();
    Ok(())
}

fn update_files(panda: &Panda, panda_id: u64, files: Vec<JobFile>) {
    if let Some(job) = panda.store.lock().jobs.get_mut(&panda_id) {
        for file in files.into_iter().filter(|f| f.file_type == "output") {
            if let Some(slot) = job.files.iter_mut().find(|f| f.lfn == file.lfn) {
                *slot = file;
            }
        }
    }
}

/// Records the job's end and wakes its task's driver.
fn finish(panda: &Panda, panda_id: u64, outcome: Outcome) {
    let mut store = panda.store.lock();
    let Some(job) = store.jobs.get_mut(&panda_id) else {
        return;
    };
    job.ended = Some(OffsetDateTime::now_utc());
    match outcome {
        Outcome::Finished => {
            job.exit_code = Some(0);
            job.set_status("finished");
        }
        Outcome::Failed {
            code,
            diagnostic,
            exit,
        } => {
            job.exit_code = exit;
            job.pilot_error_code = code;
            if exit.is_some() {
                job.exe_error_diag = Some(diagnostic.clone());
            }
            job.pilot_error_diag = Some(diagnostic);
            job.set_status("failed");
        }
        Outcome::Killed => {
            job.task_buffer_error_diag
                .get_or_insert_with(|| "killed".into());
            job.set_status("cancelled");
        }
    }
    let task_id = job.task_id;
    if let Some(task) = store.tasks.get(&task_id) {
        task.wake.notify_one();
    }
}
