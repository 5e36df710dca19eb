//! Jobs and file rows as the FTS REST API writes them: every column under its attribute
//! name, dates as `%Y-%m-%dT%H:%M:%S`, metadata as JSON objects.

use serde_json::{Map, Value};
use time::macros::format_description;
use time::OffsetDateTime;

use super::model::{FileRow, Job};
use super::submit::storage_element;

/// The host name FTS reports as `submit_host` and `transfer_host`.
const HOST: &str = "gridsim.localhost";

/// A Unix time as FTS prints dates; `null` when unset.
pub fn date(seconds: Option<i64>) -> Value {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    seconds
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|d| d.format(&format).ok())
        .map_or(Value::Null, Value::from)
}

fn opt(text: Option<&str>) -> Value {
    text.map_or(Value::Null, Value::from)
}

fn json_text(text: Option<&str>) -> Value {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null)
}

/// A job's own row, without its files.
pub fn job(job: &Job) -> Map<String, Value> {
    let p = &job.params;
    let mut map = Map::new();
    let mut put = |key: &str, value: Value| {
        map.insert(key.to_owned(), value);
    };
    put("job_id", Value::from(job.id.to_string()));
    put("source_se", opt(p.source_se.as_deref()));
    put("dest_se", opt(p.dest_se.as_deref()));
    put("job_state", Value::from(job.state.as_str()));
    put("job_type", Value::from(job.job_type.as_str()));
    put(
        "cancel_job",
        if job.cancel_job {
            Value::from(true)
        } else {
            Value::Null
        },
    );
    put("submit_host", Value::from(HOST));
    put("user_dn", Value::from(&*p.user_dn));
    put("cred_id", Value::from(&*p.cred_id));
    put("vo_name", Value::from(&*p.vo));
    put("reason", opt(job.reason.as_deref()));
    put("submit_time", date(Some(job.submit_time)));
    put("priority", Value::from(job.priority));
    put(
        "max_time_in_queue",
        p.expires.map_or(Value::Null, Value::from),
    );
    put(
        "destination_spacetoken",
        opt(p.destination_spacetoken.as_deref()),
    );
    put("internal_job_params", opt(p.internal_job_params.as_deref()));
    put("dst_file_report", Value::from(p.dst_file_report));
    put(
        "overwrite_flag",
        p.overwrite_flag
            .map_or(Value::Null, |c| Value::from(c.to_string())),
    );
    put("job_finished", date(job.finished));
    put("source_spacetoken", opt(p.source_spacetoken.as_deref()));
    put("copy_pin_lifetime", Value::from(p.copy_pin_lifetime));
    put("verify_checksum", Value::from(p.verify.as_str()));
    put("bring_online", Value::from(p.bring_online));
    put("archive_timeout", Value::from(p.archive_timeout));
    put("target_qos", Value::Null);
    put("job_metadata", json_text(Some(&p.job_metadata)));
    put("retry", Value::from(p.retry));
    put("retry_delay", Value::from(p.retry_delay));
    put("os_project_id", Value::Null);
    map
}

/// One file row with all its columns.
pub fn file(job: &Job, row: &FileRow) -> Map<String, Value> {
    let started = row.start_time.is_some();
    let mut map = Map::new();
    let mut put = |key: &str, value: Value| {
        map.insert(key.to_owned(), value);
    };
    put("file_id", Value::from(row.file_id));
    put("hashed_id", Value::from(row.file_id % 65_536));
    put("file_index", Value::from(row.file_index));
    put("job_id", Value::from(job.id.to_string()));
    put("dest_surl_uuid", Value::Null);
    put("vo_name", Value::from(&*job.params.vo));
    put(
        "source_se",
        opt(storage_element(&row.source_surl).as_deref()),
    );
    put("dest_se", opt(storage_element(&row.dest_surl).as_deref()));
    put("priority", Value::from(job.priority));
    put("file_state", Value::from(row.state.as_str()));
    put(
        "transfer_host",
        if started {
            Value::from(HOST)
        } else {
            Value::Null
        },
    );
    put("source_surl", Value::from(&*row.source_surl));
    put("dest_surl", Value::from(&*row.dest_surl));
    put(
        "staging_host",
        if row.staging_start.is_some() {
            Value::from(HOST)
        } else {
            Value::Null
        },
    );
    put("reason", opt(row.reason.as_deref()));
    put("recoverable", Value::from(row.recoverable));
    put(
        "filesize",
        Value::from(row.filesize.unwrap_or(row.user_filesize)),
    );
    put("checksum", Value::from(&*row.checksum));
    put("finish_time", date(row.finish_time));
    put("start_time", date(row.start_time));
    put("archive_start_time", Value::Null);
    put("archive_finish_time", Value::Null);
    put(
        "internal_file_params",
        opt(job.params.internal_job_params.as_deref()),
    );
    put("pid", Value::Null);
    put(
        "tx_duration",
        if row.state.is_terminal() {
            Value::from(row.tx_duration)
        } else {
            Value::Null
        },
    );
    put(
        "throughput",
        if row.state.is_terminal() {
            Value::from(row.throughput)
        } else {
            Value::Null
        },
    );
    put("retry", Value::from(row.attempts.saturating_sub(1)));
    put("user_filesize", Value::from(row.user_filesize));
    put("file_metadata", json_text(row.file_metadata.as_deref()));
    put(
        "staging_metadata",
        json_text(row.staging_metadata.as_deref()),
    );
    put(
        "archive_metadata",
        json_text(row.archive_metadata.as_deref()),
    );
    put("staging_start", date(row.staging_start));
    put("staging_finished", date(row.staging_finished));
    put("selection_strategy", Value::from(&*row.selection_strategy));
    put("bringonline_token", Value::Null);
    put("log_file", Value::Null);
    put("log_debug", Value::Null);
    put("activity", Value::from(&*row.activity));
    put("scitag", row.scitag.map_or(Value::Null, Value::from));
    put("src_token_id", Value::Null);
    put("dst_token_id", Value::Null);
    put("file_state_initial", Value::from(""));
    map
}

/// A file row with only the requested fields (`?files=a,b`); unknown names are skipped, as
/// FTS skips attributes its model lacks.
pub fn file_fields(job: &Job, row: &FileRow, fields: &[&str]) -> Map<String, Value> {
    let mut all = file(job, row);
    fields.iter().filter_map(|f| all.remove_entry(*f)).collect()
}

#[cfg(test)]
mod tests {
    use super::super::model::tests::{job as test_job, row};
    use super::super::model::{FileState, JobType};
    use super::*;

    #[test]
    fn dates_are_printed_as_fts_prints_them() {
        assert_eq!(date(Some(0)), Value::from("1970-01-01T00:00:00"));
        assert_eq!(
            date(Some(1_700_000_000)),
            Value::from("2023-11-14T22:13:20")
        );
        assert_eq!(date(None), Value::Null);
    }

    #[test]
    fn rucio_poller_fields_are_all_present() {
        let mut row = row(0, FileState::Submitted);
        row.file_metadata = Some(r#"{"request_id": "r1"}"#.into());
        let job = test_job(JobType::Regular, vec![]);
        let wanted = [
            "file_state",
            "dest_surl",
            "finish_time",
            "start_time",
            "staging_start",
            "staging_finished",
            "reason",
            "source_surl",
            "file_metadata",
        ];
        let selected = file_fields(&job, &row, &wanted);
        assert_eq!(selected.len(), wanted.len());
        assert_eq!(selected["file_metadata"]["request_id"], "r1");
        assert_eq!(selected["finish_time"], Value::Null);
        assert!(file_fields(&job, &row, &["no_such_field"]).is_empty());
        let job_row = super::job(&job);
        for key in ["job_id", "job_state", "job_type", "job_metadata"] {
            assert!(job_row.contains_key(key), "{key}");
        }
    }
}
