//! Tests of the job table's state machine, kept apart from `store.rs` for its length.

use serde_json::json;

use super::super::submit::{build, Submitter};
use super::*;

fn store() -> Store {
    Store::new(Arc::new(Storage::default()))
}

fn submit(store: &mut Store, body: serde_json::Value) -> Uuid {
    let user = Submitter {
        user_dn: "/CN=t".into(),
        vo: "bmn".into(),
        delegation_id: "d".into(),
        method: "unauthenticated",
    };
    let job = build(&body, &user, 0, 0).unwrap();
    let id = job.id;
    store.insert(job).unwrap();
    id
}

fn files(n: usize) -> serde_json::Value {
    let list: Vec<_> = (0..n)
        .map(|i| json!({"sources": [format!("http://a/x/f{i}")], "destinations": [format!("http://b/x/f{i}")]}))
        .collect();
    json!(list)
}

fn done() -> Outcome {
    Outcome::Done {
        size: 10,
        seconds: 1.0,
    }
}

fn failed(recoverable: bool) -> Outcome {
    Outcome::Failed {
        reason: "TRANSFER [110] timed out".to_owned(),
        recoverable,
    }
}

fn finish(store: &mut Store, order: &Order, outcome: Outcome) {
    store.complete(order, outcome, 5, 5, |_| Ok(()));
}

fn state(store: &Store, id: Uuid) -> JobState {
    store.get(&id).unwrap().state
}

#[test]
fn links_run_at_most_their_concurrency_and_jobs_finish() {
    let mut store = store();
    let id = submit(&mut store, json!({"files": files(3)}));
    let first = store.dispatch(2, 1);
    assert_eq!(first.len(), 2);
    assert_eq!(state(&store, id), JobState::Active);
    assert!(store.dispatch(2, 1).is_empty());
    finish(&mut store, &first[0], done());
    let next = store.dispatch(2, 2);
    assert_eq!(next.len(), 1);
    finish(&mut store, &first[1], done());
    finish(&mut store, &next[0], done());
    let job = store.get(&id).unwrap();
    assert_eq!(job.state, JobState::Finished);
    assert_eq!(job.finished, Some(5));
    assert!(job
        .files
        .iter()
        .all(|f| f.state == FileState::Finished && f.filesize == Some(10)));
}

#[test]
fn some_failed_files_make_finisheddirty_all_failed_make_failed() {
    let mut store = store();
    let dirty = submit(&mut store, json!({"files": files(2)}));
    let orders = store.dispatch(4, 0);
    finish(&mut store, &orders[0], done());
    finish(&mut store, &orders[1], failed(false));
    assert_eq!(state(&store, dirty), JobState::FinishedDirty);
    let row = &store.get(&dirty).unwrap().files[1];
    assert_eq!(row.reason.as_deref(), Some("TRANSFER [110] timed out"));

    let bad = submit(&mut store, json!({"files": files(1)}));
    let orders = store.dispatch(4, 0);
    finish(&mut store, &orders[0], failed(false));
    assert_eq!(state(&store, bad), JobState::Failed);
}

#[test]
fn recoverable_failures_are_retried_after_the_delay() {
    let mut store = store();
    let id = submit(
        &mut store,
        json!({"files": files(1), "params": {"retry": 1, "retry_delay": 10}}),
    );
    let orders = store.dispatch(4, 0);
    store.complete(&orders[0], failed(true), 1, 11, |_| Ok(()));
    assert_eq!(store.get(&id).unwrap().files[0].state, FileState::Submitted);
    store.release_delayed(5);
    assert!(store.dispatch(4, 5).is_empty(), "retried before its delay");
    store.release_delayed(11);
    let retry = store.dispatch(4, 11);
    assert_eq!(retry[0].attempt, 1);
    finish(&mut store, &retry[0], failed(true));
    assert_eq!(
        state(&store, id),
        JobState::Failed,
        "only one retry was asked for"
    );
}

#[test]
fn multiple_replicas_try_sources_in_order() {
    let mut store = store();
    let id = submit(
        &mut store,
        json!({"files": [{"sources": ["http://a/x/f", "http://c/x/f"],
        "destinations": ["http://b/x/f"]}], "params": {"job_metadata": {"multi_sources": true}}}),
    );
    let first = store.dispatch(4, 0);
    assert_eq!(&*first[0].source, "http://a/x/f");
    finish(&mut store, &first[0], failed(false));
    assert_eq!(state(&store, id), JobState::Active);
    let second = store.dispatch(4, 1);
    assert_eq!(&*second[0].source, "http://c/x/f");
    finish(&mut store, &second[0], done());
    assert_eq!(state(&store, id), JobState::Finished);
}

#[test]
fn multihop_runs_hops_in_order_and_stops_at_a_failure() {
    let mut store = store();
    let id = submit(
        &mut store,
        json!({"files": [
        {"sources": ["http://a/x/f"], "destinations": ["http://b/x/f"]},
        {"sources": ["http://b/x/f"], "destinations": ["http://c/x/f"]}],
        "params": {"multihop": true}}),
    );
    let hop = store.dispatch(4, 0);
    assert_eq!(hop.len(), 1);
    finish(&mut store, &hop[0], done());
    let hop = store.dispatch(4, 1);
    assert_eq!(&*hop[0].destination, "http://c/x/f");
    finish(&mut store, &hop[0], failed(false));
    assert_eq!(state(&store, id), JobState::Failed);
}

#[test]
fn cancel_stops_queued_and_running_rows_and_not_twice() {
    let mut store = store();
    let id = submit(&mut store, json!({"files": files(3)}));
    let running = store.dispatch(1, 0);
    assert!(store.cancel(&id, 1));
    assert!(!store.cancel(&id, 2), "a terminal job is not modified");
    let job = store.get(&id).unwrap();
    assert_eq!(job.state, JobState::Canceled);
    assert!(job.files.iter().all(|f| f.state == FileState::Canceled));
    let mut committed = None;
    store.complete(&running[0], done(), 3, 3, |keep| {
        committed = Some(keep);
        Ok(())
    });
    assert_eq!(
        committed,
        Some(false),
        "a canceled transfer's bytes are discarded"
    );
    assert!(store.dispatch(4, 3).is_empty());
}

#[test]
fn cancel_files_of_a_regular_job() {
    let mut store = store();
    let id = submit(&mut store, json!({"files": files(2)}));
    let ids: Vec<String> = store
        .get(&id)
        .unwrap()
        .files
        .iter()
        .map(|f| f.file_id.to_string())
        .collect();
    let answer = store.cancel_files(&id, &[ids[0].as_str(), "999999"], 1);
    assert_eq!(answer, ["CANCELED", "File does not belong to the job"]);
    assert_eq!(state(&store, id), JobState::Submitted);
    let answer = store.cancel_files(&id, &[ids[1].as_str()], 2);
    assert_eq!(answer, ["CANCELED"]);
    assert_eq!(state(&store, id), JobState::Canceled);
}

#[test]
fn terminal_jobs_are_purged_after_the_retention_only() {
    let mut store = store();
    let id = submit(&mut store, json!({"files": files(1)}));
    let active = submit(&mut store, json!({"files": files(1)}));
    // One link, one slot: the first job submitted runs, the other waits.
    let orders = store.dispatch(1, 0);
    assert_eq!(orders[0].entry.job, id);
    store.complete(&orders[0], done(), 100, 100, |_| Ok(()));
    assert_eq!(store.purge(150, 60), 0);
    assert!(store.get(&id).is_some());
    assert_eq!(store.purge(160, 60), 1);
    assert!(store.get(&id).is_none());
    assert!(store.get(&active).is_some(), "unfinished jobs are kept");
}

#[test]
fn duplicate_ids_are_refused() {
    let mut store = store();
    let body = json!({"files": files(1), "params": {"id_generator": "deterministic", "sid": "x"}});
    submit(&mut store, body.clone());
    let user = Submitter {
        user_dn: "/CN=t".into(),
        vo: "bmn".into(),
        delegation_id: "d".into(),
        method: "unauthenticated",
    };
    assert_eq!(
        store.insert(build(&body, &user, 0, 0).unwrap()),
        Err(Duplicate)
    );
}

#[test]
fn higher_priority_goes_first_and_priority_changes_do_not_duplicate() {
    let mut store = store();
    let low = submit(
        &mut store,
        json!({"files": files(1), "params": {"priority": 1}}),
    );
    let high = submit(
        &mut store,
        json!({"files": files(1), "params": {"priority": 5}}),
    );
    store.set_priority(&low, 5);
    store.set_priority(&low, 1);
    let first = store.dispatch(1, 0);
    assert_eq!(first[0].entry.job, high);
    finish(&mut store, &first[0], done());
    let second = store.dispatch(4, 1);
    assert_eq!(second.len(), 1, "a row queued twice runs once");
    assert_eq!(second[0].entry.job, low);
}

#[test]
fn queued_rows_past_max_time_in_queue_are_canceled() {
    let mut store = store();
    let id = submit(
        &mut store,
        json!({"files": files(1), "params": {"max_time_in_queue": "10s"}}),
    );
    assert!(store.dispatch(4, 11).is_empty());
    let job = store.get(&id).unwrap();
    assert_eq!(job.state, JobState::Canceled);
    assert_eq!(job.files[0].reason.as_deref(), Some(EXPIRED_REASON));
}
