//! What users do to jobs after submitting them: cancel jobs, cancel files, change priorities.

use uuid::Uuid;

use super::{Entry, Link, Store, CANCELED_REASON};
use crate::fts::model::{FileState, JobState};

impl Store {
    /// Cancels a job: its queued and running rows become CANCELED, the job CANCELED.
    /// Returns false when the job was already terminal.
    pub fn cancel(&mut self, id: &Uuid, now: i64) -> bool {
        let Some(job) = self.jobs.get_mut(id) else {
            return false;
        };
        if job.is_terminal() {
            return false;
        }
        for row in job.files.iter_mut().filter(|r| r.state.is_active()) {
            row.state = FileState::Canceled;
            row.reason = Some(CANCELED_REASON.into());
            row.finish_time = Some(now);
        }
        job.state = JobState::Canceled;
        job.cancel_job = true;
        job.finished = Some(now);
        job.reason = Some(CANCELED_REASON.into());
        self.ended.push_back((now, *id));
        tracing::info!(fts_job_id = %id, "FTS job canceled");
        true
    }

    /// Cancels file rows of a regular job by file id; returns each file's resulting state
    /// (or FTS's complaint), in the order asked.
    pub fn cancel_files(&mut self, id: &Uuid, file_ids: &[&str], now: i64) -> Vec<String> {
        let Some(job) = self.jobs.get_mut(id) else {
            return Vec::new();
        };
        let mut changed = Vec::with_capacity(file_ids.len());
        let mut touched = Vec::new();
        for file_id in file_ids {
            let row = file_id.parse::<u64>().ok().and_then(|fid| {
                job.files
                    .iter_mut()
                    .position(|r| r.file_id == fid)
                    .map(|i| (fid, i))
            });
            let Some((fid, index)) = row else {
                changed.push("File does not belong to the job".to_owned());
                continue;
            };
            touched.push(fid);
            let row = &mut job.files[index];
            if !row.state.is_active() {
                changed.push(row.state.as_str().to_owned());
                continue;
            }
            row.state = FileState::Canceled;
            row.finish_time = Some(now);
            changed.push("CANCELED".to_owned());
        }
        let others_active = job
            .files
            .iter()
            .any(|r| !touched.contains(&r.file_id) && r.state.is_active());
        let untouched = job.files.iter().any(|r| !touched.contains(&r.file_id));
        // As FTS: the job is CANCELED when nothing is left running, even if other files
        // finished before.
        if !untouched || !others_active {
            job.state = JobState::Canceled;
            job.cancel_job = true;
            job.finished = Some(now);
            self.ended.push_back((now, *id));
        }
        changed
    }

    /// Changes a running job's priority, queueing its waiting rows under the new one.
    pub fn set_priority(&mut self, id: &Uuid, priority: u8) {
        let Some(job) = self.jobs.get_mut(id) else {
            return;
        };
        job.priority = priority.clamp(1, 5);
        let Some(job) = self.jobs.get(id) else { return };
        let waiting: Vec<(Link, Entry)> = job
            .files
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.state, FileState::Submitted | FileState::Staging))
            .map(|(i, r)| {
                (
                    self.link_of(&r.source_surl, &r.dest_surl),
                    Entry {
                        job: *id,
                        row: i as u32,
                    },
                )
            })
            .collect();
        let priority = job.priority;
        // Rows waiting for a retry delay are queued when it is over, at the new priority.
        let delayed: Vec<Entry> = self.delayed.iter().map(|(_, _, e)| *e).collect();
        for (link, entry) in waiting.into_iter().filter(|(_, e)| !delayed.contains(e)) {
            self.push(link, priority, entry);
        }
    }
}
