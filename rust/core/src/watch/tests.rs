//! Tests of the watcher engine with scripted sources and paused time.
//!
//! The sources here are test doubles of the `Source` trait, not of any service: each object
//! follows a script of states over (virtual) time, and every call is logged.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use parking_lot::Mutex;
use serde_json::json;
use tokio::time::Instant;

use super::*;
use crate::error::ErrorKind;

#[derive(Debug, Clone, PartialEq)]
enum Call {
    Read(Vec<String>),
    List,
}

struct Scripted {
    key: SourceKey,
    start: Instant,
    // Per object, the observations in force from each moment on.
    script: Mutex<HashMap<String, Vec<(Duration, Observation)>>>,
    failures: Mutex<VecDeque<SourceError>>,
    lists_changes: bool,
    ids_per_request: usize,
    panics: bool,
    log: Mutex<Vec<(Duration, Call)>>,
}

impl Scripted {
    fn new(kind: ObjectKind, endpoint: &str) -> Self {
        Self {
            key: SourceKey::new(kind, endpoint, "userpass:root"),
            start: Instant::now(),
            script: Mutex::new(HashMap::new()),
            failures: Mutex::new(VecDeque::new()),
            lists_changes: false,
            ids_per_request: 100,
            panics: false,
            log: Mutex::new(Vec::new()),
        }
    }

    /// Object `id` is active from the start and ends `after` with `state`.
    fn ends(&self, id: &str, after: Duration, state: &str) -> &Self {
        self.script.lock().insert(
            id.to_owned(),
            vec![
                (Duration::ZERO, active("SUBMITTED")),
                (after, terminal(state)),
            ],
        );
        self
    }

    fn follows(&self, id: &str, steps: Vec<(Duration, Observation)>) -> &Self {
        self.script.lock().insert(id.to_owned(), steps);
        self
    }

    fn fail_next(&self, error: SourceError) -> &Self {
        self.failures.lock().push_back(error);
        self
    }

    fn observe(&self, id: &str) -> Option<Observation> {
        let now = self.start.elapsed();
        let script = self.script.lock();
        let steps = script.get(id)?;
        steps
            .iter()
            .rev()
            .find(|(from, _)| *from <= now)
            .map(|(_, observation)| observation.clone())
    }

    fn calls(&self) -> Vec<(Duration, Call)> {
        self.log.lock().clone()
    }

    fn reads(&self) -> Vec<Vec<String>> {
        self.calls()
            .into_iter()
            .filter_map(|(_, call)| match call {
                Call::Read(ids) => Some(ids),
                Call::List => None,
            })
            .collect()
    }
}

impl Source for Scripted {
    fn key(&self) -> &SourceKey {
        &self.key
    }

    fn read<'a>(&'a self, ids: &'a [String], budget: &'a Budget) -> BoxFuture<'a, Answer> {
        Box::pin(async move {
            assert!(!self.panics, "scripted panic");
            for _ in ids.chunks(self.ids_per_request) {
                budget.acquire().await;
            }
            let mut sorted = ids.to_vec();
            sorted.sort();
            self.log
                .lock()
                .push((self.start.elapsed(), Call::Read(sorted)));
            if let Some(error) = self.failures.lock().pop_front() {
                return Answer::failed(error);
            }
            let observations = ids
                .iter()
                .filter_map(|id| self.observe(id).map(|o| (id.clone(), o)))
                .collect();
            Answer::complete(observations)
        })
    }

    fn changed_since<'a>(
        &'a self,
        _since: SystemTime,
        budget: &'a Budget,
    ) -> BoxFuture<'a, Result<Option<Changes>, SourceError>> {
        Box::pin(async move {
            if !self.lists_changes {
                return Ok(None);
            }
            budget.acquire().await;
            self.log.lock().push((self.start.elapsed(), Call::List));
            // Lists every terminal object: a real listing would also hold unwatched ones.
            let ids: Vec<String> = self.script.lock().keys().cloned().collect();
            let observations = ids
                .into_iter()
                .filter_map(|id| match self.observe(&id) {
                    Some(o @ Observation::Terminal { .. }) => Some((id, o)),
                    _ => None,
                })
                .collect();
            Ok(Some(Changes {
                observations,
                complete: true,
            }))
        })
    }
}

fn active(state: &str) -> Observation {
    Observation::Active {
        state: state.into(),
    }
}

fn terminal(state: &str) -> Observation {
    Observation::Terminal {
        state: state.into(),
        detail: json!({}),
    }
}

fn config() -> WatchConfig {
    WatchConfig {
        min_interval: Duration::from_secs(5),
        max_interval: Duration::from_secs(40),
        growth: 2.0,
        jitter: 0.0,
        ..WatchConfig::default()
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn terminal_state(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Terminal { state, .. } => state,
        other => panic!("expected a terminal outcome, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn identical_waits_collapse_into_one_entry_and_one_read() {
    let source = Arc::new(Scripted::new(ObjectKind::FtsJob, "http://fts"));
    source
        .ends("a", secs(12), "FINISHED")
        .ends("b", secs(3), "FAILED");
    let watcher = Watcher::with_seed(config(), 1);

    let mut waits: Vec<Wait> = (0..50)
        .map(|i| {
            watcher
                .wait(source.clone(), if i % 2 == 0 { "a" } else { "b" })
                .unwrap()
        })
        .collect();
    tokio::task::yield_now().await;
    assert_eq!(
        watcher.snapshot()[0].objects.len(),
        2,
        "50 waits, 2 objects"
    );

    for (i, wait) in waits.iter_mut().enumerate() {
        let expected = if i % 2 == 0 { "FINISHED" } else { "FAILED" };
        assert_eq!(terminal_state(&wait.outcome().await), expected);
    }
    let reads = source.reads();
    assert_eq!(
        reads[0],
        vec!["a", "b"],
        "the first read asks both objects once"
    );
    assert!(reads.iter().all(|ids| ids.len() <= 2), "{reads:?}");
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_new_waits_becomes_one_bulk_read() {
    let source = Arc::new(Scripted::new(ObjectKind::PandaTask, "http://panda"));
    let ids: Vec<String> = (0..500).map(|i| i.to_string()).collect();
    for id in &ids {
        source.ends(id, secs(30), "done");
    }
    let watcher = Watcher::with_seed(config(), 2);

    let mut waits = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        waits.push(watcher.wait(source.clone(), id).unwrap());
        // Registrations spread over 100 ms, less than the gathering time.
        if i % 5 == 4 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    for wait in &mut waits {
        assert_eq!(terminal_state(&wait.outcome().await), "done");
    }
    assert_eq!(
        source.reads()[0].len(),
        500,
        "one first read for the whole burst"
    );
    assert!(source.reads().len() < 10, "{} reads", source.reads().len());
}

#[tokio::test(start_paused = true)]
async fn the_endpoint_budget_holds_across_kinds_and_identities() {
    let mut config = config();
    config.requests_per_second = 2.0;
    config.burst = 4;
    let watcher = Watcher::with_seed(config, 3);

    // Three loops on one endpoint, each object read alone: one request per object.
    let sources: Vec<Arc<Scripted>> = ObjectKind::ALL
        .into_iter()
        .map(|kind| {
            let mut source = Scripted::new(kind, "http://grid");
            source.ids_per_request = 1;
            Arc::new(source)
        })
        .collect();
    let mut waits = Vec::new();
    for source in &sources {
        for i in 0..30 {
            let id = format!("{}-{i}", source.key.kind);
            source.ends(&id, secs(20 + i), "done");
            waits.push(watcher.wait(source.clone(), &id).unwrap());
        }
    }
    for wait in &mut waits {
        assert_eq!(terminal_state(&wait.outcome().await), "done");
    }

    // Every read of n objects took n tokens; the log holds when each read ended.
    let mut spent: Vec<(Duration, usize)> = sources
        .iter()
        .flat_map(|source| source.calls())
        .map(|(at, call)| match call {
            Call::Read(ids) => (at, ids.len()),
            Call::List => (at, 1),
        })
        .collect();
    spent.sort();
    let mut total = 0;
    for (at, requests) in spent {
        total += requests;
        let allowed = 4.0 + 2.0 * at.as_secs_f64();
        assert!(total as f64 <= allowed + 1e-6, "{total} requests by {at:?}");
    }
    assert!(total >= 90, "every object was read at least once: {total}");
}

#[tokio::test(start_paused = true)]
async fn intervals_grow_while_nothing_changes_and_reset_after_a_change() {
    let source = Arc::new(Scripted::new(ObjectKind::RucioRule, "http://rucio"));
    source.follows(
        "r1",
        vec![
            (Duration::ZERO, active("REPLICATING")),
            (secs(200), active("STUCK")),
            (secs(400), terminal("OK")),
        ],
    );
    let watcher = Watcher::with_seed(config(), 4);
    let mut wait = watcher.wait(source.clone(), "r1").unwrap();
    assert_eq!(terminal_state(&wait.outcome().await), "OK");

    let times: Vec<Duration> = source.calls().into_iter().map(|(at, _)| at).collect();
    let gaps: Vec<u64> = times.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
    // 5 s after the first state is seen, then 10, 20 and 40 (the cap) while nothing changes.
    assert_eq!(&gaps[..5], &[5, 10, 20, 40, 40], "{gaps:?}");
    assert!(gaps.iter().all(|gap| *gap <= 40), "{gaps:?}");
    // The poll that saw STUCK is followed by the quick interval again.
    let stuck_seen = times.iter().position(|t| *t >= secs(200)).unwrap();
    assert_eq!(gaps[stuck_seen], 5, "{gaps:?}");
}

#[tokio::test(start_paused = true)]
async fn transient_errors_back_off_and_the_wait_still_ends() {
    let source = Arc::new(Scripted::new(ObjectKind::FtsJob, "http://fts"));
    source.ends("j", secs(1), "FINISHED");
    for _ in 0..4 {
        source.fail_next(SourceError::new(ErrorKind::Server, "HTTP 503"));
    }
    let watcher = Watcher::with_seed(config(), 5);
    let mut wait = watcher.wait(source.clone(), "j").unwrap();

    assert_eq!(terminal_state(&wait.outcome().await), "FINISHED");
    let times: Vec<Duration> = source.calls().into_iter().map(|(at, _)| at).collect();
    assert_eq!(times.len(), 5, "four failures, then the answer");
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|gap| *gap >= secs(1)),
        "retries wait at least 1 s: {gaps:?}"
    );
    let stats = &watcher.snapshot()[0].stats;
    assert_eq!(stats.errors.get("server"), Some(&4));
    assert_eq!(stats.last_error.as_deref(), Some("HTTP 503"));
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_reach_waiters_as_typed_outcomes() {
    let source = Arc::new(Scripted::new(ObjectKind::FtsJob, "http://fts"));
    source.follows(
        "purged",
        vec![(
            Duration::ZERO,
            Observation::Gone {
                message: "404 Not Found".into(),
            },
        )],
    );
    let watcher = Watcher::with_seed(config(), 6);
    let mut gone = watcher.wait(source.clone(), "purged").unwrap();
    assert_eq!(
        gone.outcome().await,
        Outcome::Gone {
            message: "404 Not Found".into()
        }
    );

    let refusing = Arc::new(Scripted::new(ObjectKind::RucioRule, "http://rucio"));
    refusing
        .ends("r1", secs(50), "OK")
        .ends("r2", secs(50), "OK");
    refusing.fail_next(SourceError::new(
        ErrorKind::Authentication,
        "CannotAuthenticate",
    ));
    let mut waits = vec![
        watcher.wait(refusing.clone(), "r1").unwrap(),
        watcher.wait(refusing.clone(), "r2").unwrap(),
    ];
    for wait in &mut waits {
        assert_eq!(
            wait.outcome().await,
            Outcome::Failed {
                kind: ErrorKind::Authentication,
                message: "CannotAuthenticate".into()
            }
        );
    }
    assert_eq!(refusing.calls().len(), 1, "a refusal is not retried");
}

#[tokio::test(start_paused = true)]
async fn invalid_ids_are_refused_before_anything_is_sent() {
    let source = Arc::new(Scripted::new(ObjectKind::FtsJob, "http://fts"));
    let watcher = Watcher::with_seed(config(), 7);
    for id in ["", "  ", "a,b"] {
        let error = watcher.wait(source.clone(), id).unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidInput);
    }
    tokio::time::sleep(secs(10)).await;
    assert!(source.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_waiter_leaves_the_others_waiting() {
    let source = Arc::new(Scripted::new(ObjectKind::PandaTask, "http://panda"));
    source
        .ends("7", secs(60), "done")
        .ends("8", secs(60), "done");
    let watcher = Watcher::with_seed(config(), 8);

    let cancelled = watcher.wait(source.clone(), "7").unwrap();
    let mut kept = watcher.wait(source.clone(), "7").unwrap();
    let abandoned = watcher.wait(source.clone(), "8").unwrap();
    // A trigger cancelled mid-wait drops its future.
    let task = tokio::spawn(async move {
        let mut cancelled = cancelled;
        cancelled.outcome().await
    });
    tokio::time::sleep(secs(10)).await;
    task.abort();
    drop(abandoned);

    assert_eq!(terminal_state(&kept.outcome().await), "done");
    let late_reads: Vec<Vec<String>> = source
        .calls()
        .into_iter()
        .filter(|(at, _)| *at > secs(15))
        .filter_map(|(_, call)| match call {
            Call::Read(ids) => Some(ids),
            Call::List => None,
        })
        .collect();
    assert!(!late_reads.is_empty());
    assert!(
        late_reads.iter().all(|ids| ids == &["7"]),
        "an object without waiters is no longer asked about: {late_reads:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn change_listings_replace_full_reads_between_sweeps() {
    let mut config = config();
    config.full_read_every = secs(300);
    let mut scripted = Scripted::new(ObjectKind::FtsJob, "http://fts");
    scripted.lists_changes = true;
    let source = Arc::new(scripted);
    source.ends("j1", secs(700), "FINISHED");
    let watcher = Watcher::with_seed(config, 9);
    let mut wait = watcher.wait(source.clone(), "j1").unwrap();

    assert_eq!(terminal_state(&wait.outcome().await), "FINISHED");
    let calls = source.calls();
    let reads: Vec<Duration> = calls
        .iter()
        .filter(|(_, call)| matches!(call, Call::Read(_)))
        .map(|(at, _)| *at)
        .collect();
    let lists = calls.iter().filter(|(_, call)| *call == Call::List).count();
    assert!(lists >= 10, "{lists} listings");
    // The first read, then a full read about every 300 s: at 700 s that is at most three.
    assert!(reads.len() <= 3, "{reads:?}");
    assert!(
        reads.windows(2).all(|w| w[1] - w[0] >= secs(300)),
        "{reads:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_panicking_source_fails_its_waiters_instead_of_hanging() {
    let mut scripted = Scripted::new(ObjectKind::RucioRule, "http://rucio");
    scripted.panics = true;
    let source = Arc::new(scripted);
    let watcher = Watcher::with_seed(config(), 10);
    let mut wait = watcher.wait(source.clone(), "r").unwrap();

    match wait.outcome().await {
        Outcome::Failed { kind, .. } => assert_eq!(kind, ErrorKind::Internal),
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(watcher.snapshot().is_empty(), "the dead loop is gone");
}

#[tokio::test(start_paused = true)]
async fn first_outcomes_returns_as_soon_as_one_object_ends() {
    let source = Arc::new(Scripted::new(ObjectKind::FtsJob, "http://fts"));
    source
        .ends("slow", secs(500), "FINISHED")
        .ends("quick", secs(8), "FAILED");
    let watcher = Watcher::with_seed(config(), 11);
    let mut waits = vec![
        watcher.wait(source.clone(), "slow").unwrap(),
        watcher.wait(source.clone(), "quick").unwrap(),
    ];

    let started = Instant::now();
    let ended = first_outcomes(&mut waits).await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].0, 1);
    assert_eq!(terminal_state(&ended[0].1), "FAILED");
    assert!(
        started.elapsed() < secs(60),
        "returned after {:?}",
        started.elapsed()
    );
    assert_eq!(waits[0].state().as_deref(), Some("SUBMITTED"));
}

#[tokio::test(start_paused = true)]
async fn an_idle_loop_ends_and_a_new_wait_starts_another() {
    let source = Arc::new(Scripted::new(ObjectKind::FtsJob, "http://fts"));
    source
        .ends("a", secs(1), "FINISHED")
        .ends("b", secs(1), "FINISHED");
    let watcher = Watcher::with_seed(config(), 12);

    let mut first = watcher.wait(source.clone(), "a").unwrap();
    first.outcome().await;
    tokio::time::sleep(watcher.config().idle_linger + secs(1)).await;
    assert!(watcher.snapshot().is_empty(), "the idle loop ended");

    let mut second = watcher.wait(source.clone(), "b").unwrap();
    assert_eq!(terminal_state(&second.outcome().await), "FINISHED");
}
