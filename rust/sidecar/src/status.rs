//! `/status`: an HTML page of what is in flight, with links to each object's monitor page.

use std::fmt::Write;
use std::time::SystemTime;

use bmnflow_core::watch::{GroupSnapshot, SourceKey, StatsSnapshot};

/// The most objects listed per endpoint; the rest are counted.
const MAX_ROWS: usize = 500;

/// The page for these groups and counters.
pub fn render(groups: &[GroupSnapshot], stats: &[(SourceKey, StatsSnapshot)]) -> String {
    let now = SystemTime::now();
    let mut page = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>bmnflow-sidecar</title>\
         <style>body{font-family:sans-serif}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}</style></head><body>\n\
         <h1>bmnflow-sidecar</h1>\n",
    );

    let objects: usize = groups.iter().map(|g| g.objects.len()).sum();
    let _ = writeln!(
        page,
        "<p>{objects} object(s) waited on through {} poll loop(s).</p>",
        groups.len()
    );
    for group in groups {
        let key = &group.key;
        let counters = stats
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, s)| s.clone())
            .unwrap_or_default();
        let _ = writeln!(
            page,
            "<h2>{} at {}</h2>\n<p>as {}; next poll in {:.1} s; {} request(s), {} error(s){}</p>",
            key.kind,
            html(&key.endpoint),
            html(&key.identity),
            group.interval.as_secs_f64(),
            counters.requests,
            counters.errors.values().sum::<u64>(),
            counters
                .last_error
                .map(|e| format!("; last: {}", html(&e)))
                .unwrap_or_default(),
        );
        page.push_str(
            "<table><tr><th>id</th><th>state</th><th>waiters</th><th>waiting for</th></tr>\n",
        );
        for object in group.objects.iter().take(MAX_ROWS) {
            let id = match &object.link {
                Some(link) => format!("<a href=\"{}\">{}</a>", html(link), html(&object.id)),
                None => html(&object.id),
            };
            let age = now
                .duration_since(object.since)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let _ = writeln!(
                page,
                "<tr><td>{id}</td><td>{}</td><td>{}</td><td>{age} s</td></tr>",
                html(object.state.as_deref().unwrap_or("(not yet read)")),
                object.waiters,
            );
        }
        page.push_str("</table>\n");
        if group.objects.len() > MAX_ROWS {
            let _ = writeln!(page, "<p>and {} more</p>", group.objects.len() - MAX_ROWS);
        }
    }
    page.push_str("</body></html>\n");
    page
}

/// Text made safe inside HTML elements and attribute values.
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bmnflow_core::watch::{ObjectKind, ObjectSnapshot};

    use super::*;

    #[test]
    fn lists_objects_with_links_and_escapes_text() {
        let key = SourceKey::new(ObjectKind::PandaTask, "https://panda.example", "anonymous");
        let group = GroupSnapshot {
            key: key.clone(),
            interval: Duration::from_secs(5),
            stats: StatsSnapshot::default(),
            objects: vec![ObjectSnapshot {
                id: "4242".into(),
                state: Some("<running>".into()),
                waiters: 3,
                since: SystemTime::now(),
                link: Some("https://bigpanda.example/task/4242/".into()),
            }],
        };
        let page = render(&[group], &[(key, StatsSnapshot::default())]);
        assert!(
            page.contains("<a href=\"https://bigpanda.example/task/4242/\">4242</a>"),
            "{page}"
        );
        assert!(page.contains("&lt;running&gt;"), "{page}");
        assert!(
            page.contains("1 object(s) waited on through 1 poll loop(s)"),
            "{page}"
        );
    }
}
