//! Tests of the submission rules, kept apart from `submit.rs` for its length.

use serde_json::json;

use super::*;

fn user(method: &'static str) -> Submitter {
    Submitter {
        user_dn: "/CN=test".into(),
        vo: "bmn".into(),
        delegation_id: "d".into(),
        method,
    }
}

fn build_ok(body: Value) -> Job {
    build(&body, &user("unauthenticated"), 1_000, 0).unwrap()
}

fn build_err(body: Value) -> FtsError {
    build(&body, &user("unauthenticated"), 1_000, 0).unwrap_err()
}

fn file(source: &str, destination: &str) -> Value {
    json!({"sources": [source], "destinations": [destination]})
}

#[test]
fn rucio_submission_is_accepted_with_its_fields() {
    let job = build_ok(json!({
        "files": [{
            "sources": ["http://127.0.0.1:1/storage/a/f1"],
            "destinations": ["http://127.0.0.1:1/storage/b/f1"],
            "metadata": {"request_id": "8ba1", "scope": "bmn.run8", "name": "f1"},
            "filesize": 100, "checksum": "ADLER32:0cc737eb",
            "selection_strategy": "orderly", "activity": "User Subscriptions"}],
        "params": {"account": "root", "verify_checksum": "both", "copy_pin_lifetime": null,
            "bring_online": null, "job_metadata": {"issuer": "rucio", "multi_sources": false},
            "overwrite": true, "priority": 3, "s3alternate": true, "max_time_in_queue": 168}
    }));
    assert_eq!(job.state, JobState::Submitted);
    assert_eq!(job.job_type, JobType::Regular);
    assert_eq!(job.params.verify, ChecksumCheck::Both);
    assert_eq!(job.params.overwrite_flag, Some('Y'));
    assert_eq!(job.params.expires, Some(1_000 + 168 * 3600));
    assert_eq!(job.params.source_se.as_deref(), Some("http://127.0.0.1"));
    let metadata: Value = serde_json::from_str(&job.params.job_metadata).unwrap();
    assert_eq!(metadata["issuer"], "rucio");
    assert_eq!(metadata["auth_method"], "unauthenticated");
    let row = &job.files[0];
    assert_eq!(row.state, FileState::Submitted);
    assert_eq!(row.user_filesize, 100);
    assert_eq!(&*row.activity, "User Subscriptions");
    assert!(row.file_metadata.as_deref().unwrap().contains("8ba1"));
}

#[test]
fn deterministic_ids_match_fts_and_need_a_sid() {
    // The value Python computes with uuid5(uuid5(BASE_ID, "bmn"), "req-1").
    assert_eq!(
        deterministic_id("bmn", "req-1").to_string(),
        "9e118ed6-4372-5391-bc81-09e6ee5c2fed"
    );
    let body =
        |params: Value| json!({"files": [file("http://h/a/f", "http://h/b/f")], "params": params});
    let job = build_ok(body(
        json!({"id_generator": "deterministic", "sid": "req-1"}),
    ));
    assert_eq!(job.id, deterministic_id("bmn", "req-1"));
    let error = build_err(body(json!({"id_generator": "deterministic"})));
    assert_eq!(
        error.message,
        "Need sid for deterministic job id generation"
    );
    let a = build_ok(body(json!({})));
    let b = build_ok(body(json!({})));
    assert_ne!(a.id, b.id);
}

#[test]
fn metadata_over_1024_bytes_is_refused_as_fts_does() {
    let big = "x".repeat(1_020);
    let error = build_err(json!({"files": [file("http://h/a/f", "http://h/b/f")],
        "params": {"job_metadata": {"k": big}}}));
    assert_eq!(error.status, axum::http::StatusCode::BAD_REQUEST);
    assert_eq!(
        error.message,
        "Invalid value within the request: Job Submission Refused, metadata exceeds size limit \
         of 1024"
    );
    let mut entry = file("http://h/a/f", "http://h/b/f");
    entry["metadata"] = json!({"k": "y".repeat(1_016)});
    assert!(build_err(json!({"files": [entry.clone()]}))
        .message
        .contains("size limit"));
    entry["metadata"] = json!({"k": "y".repeat(1_015)});
    build_ok(json!({"files": [entry]}));
    let label = build_ok(json!({"files": [file("http://h/a/f", "http://h/b/f")],
        "params": {"job_metadata": "run 8"}}));
    assert!(label.params.job_metadata.contains("\"label\":\"run 8\""));
}

#[test]
fn malformed_files_get_fts_messages() {
    assert_eq!(
        build_err(json!({"params": {}})).message,
        "No transfers operations specified"
    );
    assert_eq!(
        build_err(json!({"files": [{"destinations": ["http://h/b/f"]}]})).message,
        "Missing parameter: 'sources'"
    );
    assert_eq!(
        build_err(json!({"files": [file("/no/scheme", "http://h/b/f")]})).message,
        "Invalid value within the request: Missing scheme (/no/scheme)"
    );
    assert_eq!(
        build_err(json!({"files": [file("file:///etc/passwd", "http://h/b/f")]})).message,
        "Invalid value within the request: Can not transfer local files (file:///etc/passwd)"
    );
    assert_eq!(
        build_err(json!({"files": [file("http://h/", "http://h/b/f")]})).message,
        "Invalid value within the request: Missing path (http://h/)"
    );
    assert_eq!(
        build_err(json!({"files": [{"sources": [], "destinations": ["http://h/b/f"]}]})).message,
        "No valid pairs available"
    );
    let deletion = build_err(json!({"files": [], "delete": ["http://h/b/f"]}));
    assert_eq!(deletion.status, axum::http::StatusCode::METHOD_NOT_ALLOWED);
}

#[test]
fn job_types_and_initial_states() {
    let replicas = build_ok(
        json!({"files": [{"sources": ["http://a/x/f", "http://b/x/f"],
        "destinations": ["http://c/x/f"], "selection_strategy": "orderly"}]}),
    );
    assert_eq!(replicas.job_type, JobType::MultipleReplicas);
    let states: Vec<_> = replicas.files.iter().map(|f| f.state).collect();
    assert_eq!(states, [FileState::Submitted, FileState::NotUsed]);

    let two_files_many_sources = json!({"files": [
        {"sources": ["http://a/x/f", "http://b/x/f"], "destinations": ["http://c/x/f"]},
        file("http://a/x/g", "http://c/x/g")]});
    assert_eq!(
        build_err(two_files_many_sources).message,
        "Multiple replica jobs must only have one unique file"
    );

    let hops = build_ok(json!({"files": [file("http://a/x/f", "http://b/x/f"),
        file("http://b/x/f", "http://c/x/f")], "params": {"multihop": true}}));
    assert_eq!(hops.job_type, JobType::Multihop);
    let states: Vec<_> = hops.files.iter().map(|f| f.state).collect();
    assert_eq!(states, [FileState::Submitted, FileState::NotUsed]);

    let staging = build_ok(json!({"files": [file("http://a/x/f", "http://b/x/f")],
        "params": {"bring_online": 3600}}));
    assert_eq!(staging.state, JobState::Staging);
    assert_eq!(staging.files[0].state, FileState::Staging);
    let token = build(
        &json!({"files": [file("http://a/x/f", "http://b/x/f")], "params": {"bring_online": 60}}),
        &user("oauth2"),
        0,
        0,
    );
    assert!(token
        .unwrap_err()
        .message
        .contains("token authentication are not supported"));
}

#[test]
fn parameters_are_checked_and_defaulted() {
    let one = || json!([file("http://a/x/f", "http://b/x/f")]);
    let flags = build_err(json!({"files": one(), "params": {"overwrite": true,
        "overwrite_on_retry": true}}));
    assert_eq!(
        flags.message,
        "Incompatible overwrite flags used at the same time"
    );
    let job = build_ok(json!({"files": one(), "params": {"priority": 9, "retry": -1}}));
    assert_eq!(job.priority, 5);
    assert_eq!(job.params.retry, 0);
    assert_eq!(job.params.verify, ChecksumCheck::None);
    assert_eq!(&*job.files[0].checksum, "ADLER32");
    let mut with_checksum = file("http://a/x/f", "http://b/x/f");
    with_checksum["checksum"] = json!("ADLER32:0cc737eb");
    let job = build_ok(json!({"files": [with_checksum], "params": {"verify_checksum": false}}));
    assert_eq!(job.params.verify, ChecksumCheck::Target);
    let job = build_ok(
        json!({"files": one(), "params": {"verify_checksum": "source",
        "max_time_in_queue": "30m", "nostreams": 1, "timeout": 60}}),
    );
    assert_eq!(job.params.verify, ChecksumCheck::Source);
    assert_eq!(job.params.expires, Some(1_000 + 1_800));
    assert_eq!(
        job.params.internal_job_params.as_deref(),
        Some("nostreams:1,timeout:60")
    );
    let bad_tag = json!({"files": [{"sources": ["http://a/x/f"], "destinations": ["http://b/x/f"],
        "scitag": 7}]});
    assert!(build_err(bad_tag)
        .message
        .contains("Invalid SciTag value: 7"));
}
