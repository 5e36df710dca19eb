//! `/metrics` in the Prometheus text exposition format (version 0.0.4), written by hand.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use bmnflow_core::watch::{GroupSnapshot, SourceKey, StatsSnapshot, LATENCY_BUCKETS};

/// The sidecar's own counters, besides the watcher's.
#[derive(Debug, Default)]
pub struct Metrics {
    wait_requests: AtomicU64,
}

impl Metrics {
    /// Counts one long-poll request.
    pub fn count_wait_request(&self) {
        self.wait_requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Long-poll requests served so far.
    pub fn wait_requests(&self) -> u64 {
        self.wait_requests.load(Ordering::Relaxed)
    }
}

/// The whole exposition: objects and waiters now, and the counters of every key.
pub fn render(
    groups: &[GroupSnapshot],
    stats: &[(SourceKey, StatsSnapshot)],
    metrics: &Metrics,
) -> String {
    let mut out = String::new();

    family(
        &mut out,
        "bmnflow_watch_objects",
        "gauge",
        "Objects waited on, by kind and last known state (none before the first answer).",
    );
    let mut objects: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    let mut waiters: BTreeMap<&str, u64> = BTreeMap::new();
    for group in groups {
        let kind = group.key.kind.as_str();
        for object in &group.objects {
            *objects
                .entry((kind, object.state.as_deref().unwrap_or("none")))
                .or_default() += 1;
            *waiters.entry(kind).or_default() += object.waiters as u64;
        }
    }
    for ((kind, state), count) in &objects {
        sample(
            &mut out,
            "bmnflow_watch_objects",
            &[("kind", kind), ("state", state)],
            *count,
        );
    }

    family(
        &mut out,
        "bmnflow_watch_waiters",
        "gauge",
        "Waits in flight, by kind; identical waits share one object.",
    );
    for (kind, count) in &waiters {
        sample(&mut out, "bmnflow_watch_waiters", &[("kind", kind)], *count);
    }

    family(
        &mut out,
        "bmnflow_watch_poll_interval_seconds",
        "gauge",
        "The delay before the next poll of each endpoint and kind.",
    );
    for group in groups {
        let labels = key_labels(&group.key);
        sample_f64(
            &mut out,
            "bmnflow_watch_poll_interval_seconds",
            &labels,
            group.interval.as_secs_f64(),
        );
    }

    family(
        &mut out,
        "bmnflow_watch_requests_total",
        "counter",
        "HTTP requests sent to the services.",
    );
    for (key, snapshot) in stats {
        sample(
            &mut out,
            "bmnflow_watch_requests_total",
            &key_labels(key),
            snapshot.requests,
        );
    }

    family(
        &mut out,
        "bmnflow_watch_errors_total",
        "counter",
        "Failed bulk reads and change listings, by error kind.",
    );
    for (key, snapshot) in stats {
        for (error, count) in &snapshot.errors {
            let mut labels = key_labels(key);
            labels.push(("error", error));
            sample(&mut out, "bmnflow_watch_errors_total", &labels, *count);
        }
    }

    let name = "bmnflow_watch_call_duration_seconds";
    family(
        &mut out,
        name,
        "histogram",
        "Duration of bulk reads and change listings (each one or more requests).",
    );
    for (key, snapshot) in stats {
        let labels = key_labels(key);
        for (bound, count) in LATENCY_BUCKETS.iter().zip(snapshot.latency_buckets) {
            let le = bound.to_string();
            let mut with_le = labels.clone();
            with_le.push(("le", &le));
            sample(&mut out, &format!("{name}_bucket"), &with_le, count);
        }
        let mut with_inf = labels.clone();
        with_inf.push(("le", "+Inf"));
        sample(
            &mut out,
            &format!("{name}_bucket"),
            &with_inf,
            snapshot.calls,
        );
        sample_f64(
            &mut out,
            &format!("{name}_sum"),
            &labels,
            snapshot.latency_total.as_secs_f64(),
        );
        sample(&mut out, &format!("{name}_count"), &labels, snapshot.calls);
    }

    family(
        &mut out,
        "bmnflow_sidecar_wait_requests_total",
        "counter",
        "Long-poll requests received.",
    );
    sample(
        &mut out,
        "bmnflow_sidecar_wait_requests_total",
        &[],
        metrics.wait_requests(),
    );
    out
}

fn key_labels(key: &SourceKey) -> Vec<(&'static str, &str)> {
    vec![("kind", key.kind.as_str()), ("endpoint", &key.endpoint)]
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: u64) {
    let _ = writeln!(out, "{name}{} {value}", label_set(labels));
}

fn sample_f64(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    let _ = writeln!(out, "{name}{} {value}", label_set(labels));
}

fn label_set(labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = labels
        .iter()
        .map(|(name, value)| format!("{name}=\"{}\"", escape(value)))
        .collect();
    format!("{{{}}}", pairs.join(","))
}

/// A label value as the format wants it: backslash, double quote and newline escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use bmnflow_core::watch::{ObjectKind, ObjectSnapshot};

    use super::*;

    fn object(id: &str, state: Option<&str>, waiters: usize) -> ObjectSnapshot {
        ObjectSnapshot {
            id: id.into(),
            state: state.map(str::to_owned),
            waiters,
            since: SystemTime::UNIX_EPOCH,
            link: None,
        }
    }

    #[test]
    fn renders_gauges_counters_and_a_cumulative_histogram() {
        let key = SourceKey::new(ObjectKind::FtsJob, "http://127.0.0.1:9/fts", "none");
        let group = GroupSnapshot {
            key: key.clone(),
            interval: Duration::from_millis(2500),
            stats: StatsSnapshot::default(),
            objects: vec![
                object("a", Some("ACTIVE"), 2),
                object("b", Some("ACTIVE"), 1),
                object("c", None, 1),
            ],
        };
        let mut stats = StatsSnapshot {
            requests: 7,
            calls: 3,
            latency_total: Duration::from_millis(600),
            ..StatsSnapshot::default()
        };
        stats.latency_buckets = [0, 1, 2, 3, 3, 3, 3, 3, 3, 3];
        stats.errors.insert("server", 2);
        let metrics = Metrics::default();
        metrics.count_wait_request();

        let text = render(&[group], &[(key, stats)], &metrics);
        let endpoint = r#"endpoint="http://127.0.0.1:9/fts""#;
        for line in [
            r#"bmnflow_watch_objects{kind="fts_job",state="ACTIVE"} 2"#.to_owned(),
            r#"bmnflow_watch_objects{kind="fts_job",state="none"} 1"#.to_owned(),
            r#"bmnflow_watch_waiters{kind="fts_job"} 4"#.to_owned(),
            format!(r#"bmnflow_watch_poll_interval_seconds{{kind="fts_job",{endpoint}}} 2.5"#),
            format!(r#"bmnflow_watch_requests_total{{kind="fts_job",{endpoint}}} 7"#),
            format!(r#"bmnflow_watch_errors_total{{kind="fts_job",{endpoint},error="server"}} 2"#),
            format!(
                r#"bmnflow_watch_call_duration_seconds_bucket{{kind="fts_job",{endpoint},le="0.05"}} 1"#
            ),
            format!(
                r#"bmnflow_watch_call_duration_seconds_bucket{{kind="fts_job",{endpoint},le="+Inf"}} 3"#
            ),
            format!(r#"bmnflow_watch_call_duration_seconds_sum{{kind="fts_job",{endpoint}}} 0.6"#),
            format!(r#"bmnflow_watch_call_duration_seconds_count{{kind="fts_job",{endpoint}}} 3"#),
            "bmnflow_sidecar_wait_requests_total 1".to_owned(),
            "# TYPE bmnflow_watch_call_duration_seconds histogram".to_owned(),
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(
            label_set(&[("endpoint", "a\"b\\c\nd")]),
            r#"{endpoint="a\"b\\c\nd"}"#
        );
    }
}
