//! Tests of the HTTP API over loopback, with scripted sources (test doubles of the `Source`
//! trait, not of any service).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bmnflow_core::watch::{
    Answer, Budget, ObjectKind, Observation, Outcome, Source, SourceError, SourceKey, WaitReport,
    WatchConfig, Watcher,
};
use bmnflow_core::ErrorKind;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use serde_json::{json, Value};

use crate::app::{router, AppState};
use crate::sources::Sources;

/// FTS jobs whose states the test sets; every read is counted.
struct Jobs {
    key: SourceKey,
    states: Mutex<HashMap<String, Observation>>,
    reads: Mutex<u64>,
}

impl Source for Jobs {
    fn key(&self) -> &SourceKey {
        &self.key
    }

    fn read<'a>(&'a self, ids: &'a [String], budget: &'a Budget) -> BoxFuture<'a, Answer> {
        Box::pin(async move {
            budget.acquire().await;
            *self.reads.lock() += 1;
            let states = self.states.lock();
            Answer::complete(
                ids.iter()
                    .filter_map(|id| states.get(id).map(|o| (id.clone(), o.clone())))
                    .collect(),
            )
        })
    }

    fn link(&self, id: &str) -> Option<String> {
        Some(format!("https://fts.example:8449/fts3/ftsmon/#/job/{id}"))
    }
}

struct OneConnection(Arc<Jobs>);

impl Sources for OneConnection {
    fn source(&self, kind: ObjectKind, conn_id: &str) -> Result<Arc<dyn Source>, SourceError> {
        match (kind, conn_id) {
            (ObjectKind::FtsJob, "fts_default") => Ok(self.0.clone()),
            _ => Err(SourceError::new(
                ErrorKind::NotFound,
                format!("no connection {conn_id}"),
            )),
        }
    }
}

async fn start() -> (String, Arc<Jobs>) {
    let jobs = Arc::new(Jobs {
        key: SourceKey::new(ObjectKind::FtsJob, "http://fts", "none"),
        states: Mutex::new(HashMap::new()),
        reads: Mutex::new(0),
    });
    let config = WatchConfig {
        min_interval: Duration::from_millis(50),
        max_interval: Duration::from_millis(200),
        gather: Duration::from_millis(10),
        ..WatchConfig::default()
    };
    let state = AppState {
        watcher: Watcher::with_seed(config, 1),
        sources: Arc::new(OneConnection(jobs.clone())),
        metrics: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    (format!("http://{address}"), jobs)
}

fn set(jobs: &Jobs, id: &str, observation: Observation) {
    jobs.states.lock().insert(id.to_owned(), observation);
}

async fn post(base: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}/v1/wait"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_long_poll_returns_the_ended_objects_and_the_states_of_the_rest() {
    let (base, jobs) = start().await;
    set(
        &jobs,
        "j1",
        Observation::Active {
            state: "ACTIVE".into(),
        },
    );
    set(
        &jobs,
        "j2",
        Observation::Terminal {
            state: "FAILED".into(),
            detail: json!({"reason": "x"}),
        },
    );

    let request = json!({"conn_id": "fts_default", "kind": "fts_job", "ids": ["j1", "j2"],
        "timeout": 30});
    let (status, body) = post(&base, request).await;
    assert_eq!(status, 200, "{body}");
    let answer: WaitReport = serde_json::from_value(body).unwrap();
    assert_eq!(
        answer.ended.get("j2"),
        Some(&Outcome::Terminal {
            state: "FAILED".into(),
            detail: json!({"reason": "x"})
        })
    );
    assert_eq!(answer.pending.get("j1"), Some(&Some("ACTIVE".to_owned())));
}

#[tokio::test]
async fn a_long_poll_ends_at_its_timeout_with_nothing_ended() {
    let (base, jobs) = start().await;
    set(
        &jobs,
        "j1",
        Observation::Active {
            state: "SUBMITTED".into(),
        },
    );
    let request = json!({"conn_id": "fts_default", "kind": "fts_job", "ids": ["j1"],
        "timeout": 0.3});
    let (status, body) = post(&base, request).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"ended": {}, "pending": {"j1": "SUBMITTED"}}));
}

#[tokio::test]
async fn a_purged_job_is_a_typed_gone_outcome() {
    let (base, jobs) = start().await;
    set(
        &jobs,
        "old",
        Observation::Gone {
            message: "404 Not Found".into(),
        },
    );
    let request = json!({"conn_id": "fts_default", "kind": "fts_job", "ids": ["old"]});
    let (_, body) = post(&base, request).await;
    assert_eq!(
        body["ended"]["old"],
        json!({"outcome": "gone", "message": "404 Not Found"})
    );
}

#[tokio::test]
async fn bad_requests_are_refused_with_a_kind_and_a_reason() {
    let (base, _) = start().await;
    let cases = [
        (
            json!({"conn_id": "fts_default", "kind": "fts", "ids": ["a"]}),
            400,
            "invalid_input",
        ),
        (
            json!({"conn_id": "fts_default", "kind": "fts_job", "ids": []}),
            400,
            "invalid_input",
        ),
        (
            json!({"conn_id": "fts_default", "kind": "fts_job", "ids": ["a,b"]}),
            400,
            "invalid_input",
        ),
        (
            json!({"conn_id": "nope", "kind": "fts_job", "ids": ["a"]}),
            404,
            "not_found",
        ),
    ];
    for (request, expected_status, expected_kind) in cases {
        let (status, body) = post(&base, request.clone()).await;
        assert_eq!(status, expected_status, "{request} -> {body}");
        assert_eq!(body["kind"], expected_kind, "{request} -> {body}");
    }
}

#[tokio::test]
async fn concurrent_long_polls_on_the_same_jobs_share_the_reads() {
    let (base, jobs) = start().await;
    set(
        &jobs,
        "j",
        Observation::Active {
            state: "ACTIVE".into(),
        },
    );
    let request = json!({"conn_id": "fts_default", "kind": "fts_job", "ids": ["j"],
        "timeout": 10});
    let polls: Vec<_> = (0..20)
        .map(|_| tokio::spawn(post_owned(base.clone(), request.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    set(
        &jobs,
        "j",
        Observation::Terminal {
            state: "FINISHED".into(),
            detail: json!({}),
        },
    );
    for poll in polls {
        let (_, body) = poll.await.unwrap();
        assert_eq!(body["ended"]["j"]["state"], "FINISHED", "{body}");
    }
    let reads = *jobs.reads.lock();
    assert!(
        reads < 40,
        "20 waiters on one job were read {reads} times, not once per poll each"
    );
}

async fn post_owned(base: String, body: Value) -> (u16, Value) {
    post(&base, body).await
}

#[tokio::test]
async fn metrics_and_status_show_what_is_in_flight() {
    let (base, jobs) = start().await;
    set(
        &jobs,
        "j9",
        Observation::Active {
            state: "ACTIVE".into(),
        },
    );
    let request = json!({"conn_id": "fts_default", "kind": "fts_job", "ids": ["j9"],
        "timeout": 5});
    let poll = tokio::spawn(post_owned(base.clone(), request));
    tokio::time::sleep(Duration::from_millis(300)).await;

    let client = reqwest::Client::new();
    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert!(metrics.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(r#"bmnflow_watch_objects{kind="fts_job",state="ACTIVE"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("bmnflow_sidecar_wait_requests_total 1"),
        "{text}"
    );

    let page = client
        .get(format!("{base}/status"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("https://fts.example:8449/fts3/ftsmon/#/job/j9"),
        "{page}"
    );
    assert!(page.contains("ACTIVE"), "{page}");

    set(
        &jobs,
        "j9",
        Observation::Terminal {
            state: "FINISHED".into(),
            detail: json!({}),
        },
    );
    let (_, body) = poll.await.unwrap();
    assert_eq!(body["ended"]["j9"]["outcome"], "terminal");
}
