//! Turns "copy these files there" into FTS jobs: validation, grouping by link and activity,
//! cutting into jobs, and the deterministic `sid` that makes every submission idempotent.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use url::Url;
use uuid::Uuid;

use super::error::{FtsError, InputProblem};
use super::model::{FileSpec, JobParams, JobSubmission};

/// FTS refuses file, staging, archive and job metadata longer than this once serialised.
pub const METADATA_LIMIT: usize = 1024;

/// The namespace of bmnflow's `sid`s; any fixed UUID works, this one is bmnflow's own.
const SID_NAMESPACE: Uuid = Uuid::from_u128(0x5e0c_2d1a_8b1f_4f0e_9a53_b3f1_7c2e_6a01);

/// One file to copy, as the caller states it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transfer {
    /// Source replicas, in order of preference; more than one makes a multi-source transfer.
    pub sources: Vec<String>,
    /// Where the file goes; unique within a request.
    pub destination: String,
    /// Size in bytes, when known.
    pub filesize: Option<u64>,
    /// `ALG:hex` or `ALG` alone.
    pub checksum: Option<String>,
    /// Free JSON kept with the file by FTS, at most 1024 bytes.
    pub metadata: Option<Value>,
    /// FTS activity share; `default` when unset.
    pub activity: Option<String>,
    /// Name of the source storage (an RSE); the source URL's `scheme://host:port` when unset.
    pub source_storage: Option<String>,
    /// Name of the destination storage; the destination's `scheme://host:port` when unset.
    pub destination_storage: Option<String>,
}

/// How transfers are cut into FTS jobs and seen through.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlanConfig {
    /// Files in one FTS job at most. Default 200.
    pub max_files_per_job: usize,
    /// FTS jobs of one link (source storage to destination storage) active at once. Default 4.
    pub max_active_jobs_per_link: usize,
    /// Submissions of one file at most, the first included. Default 3.
    pub max_attempts: u32,
    /// Parameters of every FTS job; `id_generator` and `sid` are bmnflow's to set.
    pub params: JobParams,
    /// `auto` or `orderly` for multi-source transfers. Default FTS's choice.
    pub selection_strategy: Option<String>,
}

impl PlanConfig {
    /// Reads a configuration from JSON; absent fields keep their defaults, unknown ones are
    /// refused.
    pub fn from_json(text: &str) -> Result<Self, FtsError> {
        serde_json::from_str(text)
            .map_err(|e| FtsError::invalid(format!("invalid FTS transfer options: {e}")))
    }
}

impl Default for PlanConfig {
    fn default() -> Self {
        Self {
            max_files_per_job: 200,
            max_active_jobs_per_link: 4,
            max_attempts: 3,
            params: JobParams::default(),
            selection_strategy: None,
        }
    }
}

/// A source storage and a destination storage: the unit FTS schedules and limits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Link {
    pub source: String,
    pub destination: String,
}

impl std::fmt::Display for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} -> {}", self.source, self.destination)
    }
}

/// One FTS job to submit: which transfers it carries, and the `sid` fixing its job id.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedJob {
    /// Seed of the deterministic job id; the same transfers of the same request give the same.
    pub sid: String,
    /// The link all its files use.
    pub link: Link,
    /// The activity all its files use.
    pub activity: String,
    /// 1 for the first submission of these files, 2 for their first retry, ...
    pub attempt: u32,
    /// Rows of the transfer list, sorted.
    pub files: Vec<usize>,
}

/// Transfers cut into FTS jobs.
#[derive(Debug, Clone)]
pub struct Plan {
    pub transfers: Vec<Transfer>,
    pub config: PlanConfig,
    /// First-attempt jobs, grouped by link, in a stable order.
    pub jobs: Vec<PlannedJob>,
}

impl Plan {
    /// Validates `transfers` and cuts them into first-attempt FTS jobs.
    ///
    /// `request_key` names the request stably (a task of a DAG run, say); with the same key and
    /// transfers the jobs and their `sid`s are the same, whatever the order of the rows.
    pub fn new(
        transfers: Vec<Transfer>,
        config: PlanConfig,
        request_key: &str,
    ) -> Result<Self, FtsError> {
        validate_config(&config, request_key)?;
        validate_transfers(&transfers)?;

        let mut groups: BTreeMap<(Link, String, bool), Vec<usize>> = BTreeMap::new();
        for (row, transfer) in transfers.iter().enumerate() {
            let key = (
                link_of(transfer),
                activity_of(transfer),
                transfer.sources.len() > 1,
            );
            groups.entry(key).or_default().push(row);
        }

        let mut jobs = Vec::new();
        for ((link, activity, multi_source), mut rows) in groups {
            // Sorting by destination makes the cut independent of the order of the input rows.
            rows.sort_by(|a, b| transfers[*a].destination.cmp(&transfers[*b].destination));
            // FTS runs a job with several sources per file as a multiple-replica job, which
            // holds exactly one file.
            let size = if multi_source {
                1
            } else {
                config.max_files_per_job
            };
            for chunk in rows.chunks(size) {
                let mut files = chunk.to_vec();
                files.sort_unstable();
                let sid = sid_for(request_key, 1, &transfers, &files);
                jobs.push(PlannedJob {
                    sid,
                    link: link.clone(),
                    activity: activity.clone(),
                    attempt: 1,
                    files,
                });
            }
        }

        Ok(Self {
            transfers,
            config,
            jobs,
        })
    }

    /// The job that retries `failed` rows of `parent`, or none when attempts are used up.
    pub fn retry_of(&self, parent: &PlannedJob, failed: &[usize]) -> Option<PlannedJob> {
        if failed.is_empty() || parent.attempt >= self.config.max_attempts {
            return None;
        }
        let mut files = failed.to_vec();
        files.sort_unstable();
        // Derived from the parent's sid, so that a re-run that sees the same failures retries
        // them under the same job id.
        let sid = sid_for(&parent.sid, parent.attempt + 1, &self.transfers, &files);
        Some(PlannedJob {
            sid,
            link: parent.link.clone(),
            activity: parent.activity.clone(),
            attempt: parent.attempt + 1,
            files,
        })
    }

    /// The body of `POST /jobs` for `job`.
    pub fn submission(&self, job: &PlannedJob) -> JobSubmission {
        let files = job
            .files
            .iter()
            .map(|&row| {
                let transfer = &self.transfers[row];
                let multi_source = transfer.sources.len() > 1;
                FileSpec {
                    sources: transfer.sources.clone(),
                    destinations: vec![transfer.destination.clone()],
                    filesize: transfer.filesize,
                    checksum: transfer.checksum.clone(),
                    metadata: transfer.metadata.clone(),
                    activity: Some(job.activity.clone()),
                    selection_strategy: multi_source
                        .then(|| self.config.selection_strategy.clone())
                        .flatten(),
                    ..FileSpec::default()
                }
            })
            .collect();

        let mut params = self.config.params.clone();
        params.id_generator = Some("deterministic".to_owned());
        params.sid = Some(job.sid.clone());
        JobSubmission { files, params }
    }
}

/// The `sid` of a job: a UUID over the request (or parent job), the attempt and the files'
/// destinations, which are unique within a request.
fn sid_for(parent: &str, attempt: u32, transfers: &[Transfer], files: &[usize]) -> String {
    let mut destinations: Vec<&str> = files
        .iter()
        .map(|&row| transfers[row].destination.as_str())
        .collect();
    destinations.sort_unstable();
    let mut name = format!("{parent}\n{attempt}");
    for destination in destinations {
        name.push('\n');
        name.push_str(destination);
    }
    Uuid::new_v5(&SID_NAMESPACE, name.as_bytes()).to_string()
}

fn link_of(transfer: &Transfer) -> Link {
    let source = transfer
        .source_storage
        .clone()
        .unwrap_or_else(|| storage_of(&transfer.sources[0]));
    let destination = transfer
        .destination_storage
        .clone()
        .unwrap_or_else(|| storage_of(&transfer.destination));
    Link {
        source,
        destination,
    }
}

fn activity_of(transfer: &Transfer) -> String {
    transfer
        .activity
        .clone()
        .unwrap_or_else(|| "default".to_owned())
}

/// `scheme://host:port` of a URL that validation has accepted.
fn storage_of(url: &str) -> String {
    match Url::parse(url) {
        Ok(url) => format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str().unwrap_or_default(),
            url.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => url.to_owned(),
    }
}

fn validate_config(config: &PlanConfig, request_key: &str) -> Result<(), FtsError> {
    let mut problems = Vec::new();
    if request_key.trim().is_empty() {
        problems.push("the request key is empty".to_owned());
    }
    if config.max_files_per_job == 0 {
        problems.push("max_files_per_job must be at least 1".to_owned());
    }
    if config.max_active_jobs_per_link == 0 {
        problems.push("max_active_jobs_per_link must be at least 1".to_owned());
    }
    if config.max_attempts == 0 {
        problems.push("max_attempts must be at least 1".to_owned());
    }
    let params = &config.params;
    if params.id_generator.is_some() || params.sid.is_some() {
        problems
            .push("id_generator and sid are set by bmnflow to make submissions idempotent".into());
    }
    if params.priority.is_some_and(|p| !(1..=5).contains(&p)) {
        problems.push("priority must be between 1 and 5".to_owned());
    }
    if let Some(reason) = params.job_metadata.as_ref().and_then(metadata_problem) {
        problems.push(format!("job_metadata {reason}"));
    }
    if let Some(strategy) = &config.selection_strategy {
        if !matches!(strategy.as_str(), "auto" | "orderly") {
            problems.push(format!(
                "selection_strategy {strategy:?} is not auto or orderly"
            ));
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(FtsError::InvalidInput {
            problems: problems
                .into_iter()
                .map(|reason| InputProblem { row: 0, reason })
                .collect(),
        }),
    }
}

/// Refuses the whole list when any row is wrong, naming every wrong row.
pub fn validate_transfers(transfers: &[Transfer]) -> Result<(), FtsError> {
    if transfers.is_empty() {
        return Err(FtsError::invalid("the transfer list is empty"));
    }
    let mut problems = Vec::new();
    let mut destinations: HashMap<&str, usize> = HashMap::with_capacity(transfers.len());

    for (row, transfer) in transfers.iter().enumerate() {
        let mut fail = |reason: String| problems.push(InputProblem { row, reason });

        if transfer.sources.is_empty() {
            fail("no sources".to_owned());
        }
        for source in &transfer.sources {
            if let Some(reason) = url_problem(source) {
                fail(format!("source {source:?} {reason}"));
            }
            if source == &transfer.destination {
                fail(format!("destination {source:?} equals its source"));
            }
        }
        if let Some(reason) = url_problem(&transfer.destination) {
            fail(format!("destination {:?} {reason}", transfer.destination));
        }
        if let Some(first) = destinations.insert(&transfer.destination, row) {
            fail(format!(
                "destination {:?} is also the destination of row {first}",
                transfer.destination
            ));
        }
        if let Some(reason) = transfer.checksum.as_deref().and_then(checksum_problem) {
            fail(reason);
        }
        if let Some(reason) = transfer.metadata.as_ref().and_then(metadata_problem) {
            fail(format!("metadata {reason}"));
        }
        if transfer
            .activity
            .as_deref()
            .is_some_and(|a| a.trim().is_empty())
        {
            fail("activity is empty".to_owned());
        }
    }

    match problems.is_empty() {
        true => Ok(()),
        false => Err(FtsError::InvalidInput { problems }),
    }
}

fn url_problem(text: &str) -> Option<String> {
    match Url::parse(text) {
        Err(e) => Some(format!("is not a valid URL ({e})")),
        Ok(url) if url.host_str().is_none_or(str::is_empty) => Some("has no host".to_owned()),
        Ok(url) if url.path().is_empty() || url.path() == "/" => Some("has no path".to_owned()),
        Ok(_) => None,
    }
}

fn checksum_problem(checksum: &str) -> Option<String> {
    let (algorithm, value) = match checksum.split_once(':') {
        Some((algorithm, value)) => (algorithm, Some(value)),
        None => (checksum, None),
    };
    let digits = match algorithm.to_ascii_lowercase().as_str() {
        "adler32" | "crc32" => 8,
        "md5" => 32,
        "sha1" => 40,
        "sha256" => 64,
        _ => {
            return Some(format!(
                "checksum {checksum:?}: algorithm must be ADLER32, CRC32, MD5, SHA1 or SHA256"
            ))
        }
    };
    match value {
        None => None,
        Some(hex) if hex.len() == digits && hex.bytes().all(|b| b.is_ascii_hexdigit()) => None,
        Some(_) => Some(format!(
            "checksum {checksum:?}: {algorithm} needs {digits} hexadecimal digits"
        )),
    }
}

fn metadata_problem(metadata: &Value) -> Option<String> {
    let size = metadata.to_string().len();
    (size > METADATA_LIMIT).then(|| format!("is {size} bytes, over FTS's {METADATA_LIMIT}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ServiceError;

    fn transfer(source: &str, destination: &str) -> Transfer {
        Transfer {
            sources: vec![source.to_owned()],
            destination: destination.to_owned(),
            ..Transfer::default()
        }
    }

    /// `n` files from LHEP online to DLNP disk and `n` more from LHEP to DLNP tape.
    fn two_links(n: usize) -> Vec<Transfer> {
        let mut transfers = Vec::new();
        for i in 0..n {
            transfers.push(transfer(
                &format!("https://lhep.example/online/run8/f{i}"),
                &format!("https://dlnp.example/disk/run8/f{i}"),
            ));
            let mut to_tape = transfer(
                &format!("https://lhep.example/online/run8/f{i}"),
                &format!("https://dlnp.example/tape/run8/f{i}"),
            );
            to_tape.destination_storage = Some("DLNP_TAPE".into());
            transfers.push(to_tape);
        }
        transfers
    }

    fn problems(error: FtsError) -> Vec<(usize, String)> {
        match error {
            FtsError::InvalidInput { problems } => {
                problems.into_iter().map(|p| (p.row, p.reason)).collect()
            }
            other => panic!("expected invalid input, got {other}"),
        }
    }

    #[test]
    fn groups_by_link_and_cuts_into_jobs_of_at_most_the_limit() {
        let plan = Plan::new(two_links(450), PlanConfig::default(), "dag/task/run").unwrap();

        let sizes: Vec<usize> = plan.jobs.iter().map(|j| j.files.len()).collect();
        assert_eq!(sizes, vec![200, 200, 50, 200, 200, 50]);
        for job in &plan.jobs {
            assert!(job
                .files
                .iter()
                .all(|&row| link_of(&plan.transfers[row]) == job.link));
        }
        let mut every_row: Vec<usize> = plan.jobs.iter().flat_map(|j| j.files.clone()).collect();
        every_row.sort_unstable();
        assert_eq!(
            every_row,
            (0..900).collect::<Vec<_>>(),
            "each file in exactly one job"
        );
    }

    #[test]
    fn activities_and_multi_source_transfers_get_their_own_jobs() {
        let mut transfers = two_links(3);
        transfers[0].activity = Some("Data rebalancing".into());
        transfers[2]
            .sources
            .push("https://other.example/online/run8/f1".into());

        let plan = Plan::new(transfers, PlanConfig::default(), "k").unwrap();
        let shapes: Vec<(String, Vec<usize>)> = plan
            .jobs
            .iter()
            .map(|j| (j.activity.clone(), j.files.clone()))
            .collect();
        assert!(shapes.contains(&("Data rebalancing".into(), vec![0])));
        assert!(shapes.contains(&("default".into(), vec![2])), "{shapes:?}");
        assert!(shapes.contains(&("default".into(), vec![4])));

        let multi = plan.jobs.iter().find(|j| j.files == vec![2]).unwrap();
        assert_eq!(plan.submission(multi).files[0].sources.len(), 2);
    }

    #[test]
    fn sids_depend_on_the_request_and_files_not_on_row_order() {
        let forward = Plan::new(two_links(300), PlanConfig::default(), "k").unwrap();
        let mut reversed_rows = two_links(300);
        reversed_rows.reverse();
        let reversed = Plan::new(reversed_rows, PlanConfig::default(), "k").unwrap();
        let other_key = Plan::new(two_links(300), PlanConfig::default(), "k2").unwrap();

        let sids = |plan: &Plan| {
            let mut sids: Vec<String> = plan.jobs.iter().map(|j| j.sid.clone()).collect();
            sids.sort();
            sids
        };
        assert_eq!(sids(&forward), sids(&reversed));
        assert!(sids(&forward).iter().all(|s| !sids(&other_key).contains(s)));
    }

    #[test]
    fn submissions_are_deterministic_and_carry_every_field() {
        let mut transfers = two_links(1);
        transfers[0].filesize = Some(100);
        transfers[0].checksum = Some("ADLER32:0cc737eb".into());
        transfers[0].metadata = Some(json!({"scope": "bmn.run8", "name": "f0"}));
        let config = PlanConfig {
            params: JobParams {
                overwrite: Some(true),
                priority: Some(4),
                ..JobParams::default()
            },
            ..PlanConfig::default()
        };
        let plan = Plan::new(transfers, config, "k").unwrap();
        let job = plan.jobs.iter().find(|j| j.files == vec![0]).unwrap();

        let body = serde_json::to_value(plan.submission(job)).unwrap();
        assert_eq!(body["params"]["id_generator"], "deterministic");
        assert_eq!(body["params"]["sid"], job.sid.as_str());
        assert_eq!(body["params"]["priority"], 4);
        assert_eq!(
            body["files"][0],
            json!({"sources": ["https://lhep.example/online/run8/f0"],
                   "destinations": ["https://dlnp.example/disk/run8/f0"],
                   "filesize": 100, "checksum": "ADLER32:0cc737eb",
                   "metadata": {"scope": "bmn.run8", "name": "f0"}, "activity": "default"})
        );
    }

    #[test]
    fn retries_keep_the_link_and_stop_at_max_attempts() {
        let plan = Plan::new(two_links(10), PlanConfig::default(), "k").unwrap();
        let first = &plan.jobs[0];

        let second = plan
            .retry_of(first, &[first.files[3], first.files[1]])
            .unwrap();
        assert_eq!(second.attempt, 2);
        assert_eq!(second.link, first.link);
        assert_eq!(second.files, vec![first.files[1], first.files[3]]);
        assert_ne!(second.sid, first.sid);
        assert_eq!(
            plan.retry_of(first, &[first.files[1], first.files[3]]),
            Some(second.clone())
        );

        let third = plan.retry_of(&second, &[first.files[1]]).unwrap();
        assert_eq!(third.attempt, 3);
        assert_eq!(
            plan.retry_of(&third, &[first.files[1]]),
            None,
            "3 attempts is the limit"
        );
        assert_eq!(plan.retry_of(first, &[]), None);
    }

    #[test]
    fn bad_rows_are_all_named_before_anything_is_sent() {
        let mut transfers = two_links(4);
        transfers[0].sources.clear();
        transfers[1].destination = transfers[1].sources[0].clone();
        transfers[2].sources[0] = "not a url".into();
        transfers[3].checksum = Some("ADLER32:xyz".into());
        transfers[4].metadata = Some(json!({"blob": "x".repeat(1100)}));
        transfers[5].destination = transfers[6].destination.clone();
        transfers[7].checksum = Some("CRC64:00".into());

        let error = Plan::new(transfers, PlanConfig::default(), "k").unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::InvalidInput);
        let found = problems(error);
        let rows: Vec<usize> = found.iter().map(|(row, _)| *row).collect();
        assert_eq!(rows, vec![0, 1, 2, 3, 4, 6, 7], "{found:?}");
        assert!(found[0].1.contains("no sources"));
        assert!(found[1].1.contains("equals its source"));
        assert!(found[2].1.contains("not a valid URL"));
        assert!(found[3].1.contains("8 hexadecimal digits"));
        assert!(found[4].1.contains("over FTS's 1024"));
        assert!(found[5].1.contains("also the destination of row 5"));
    }

    #[test]
    fn metadata_of_exactly_the_limit_is_accepted() {
        let mut transfers = two_links(1);
        let filler = "x".repeat(METADATA_LIMIT - r#"{"a":""}"#.len());
        transfers[0].metadata = Some(json!({ "a": filler }));
        assert_eq!(
            transfers[0].metadata.as_ref().unwrap().to_string().len(),
            1024
        );
        assert!(Plan::new(transfers, PlanConfig::default(), "k").is_ok());
    }

    #[test]
    fn bad_configuration_is_refused() {
        let config = PlanConfig {
            max_files_per_job: 0,
            params: JobParams {
                sid: Some("mine".into()),
                priority: Some(9),
                ..JobParams::default()
            },
            ..PlanConfig::default()
        };
        let found = problems(Plan::new(two_links(1), config, " ").unwrap_err());
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(
            problems(Plan::new(vec![], PlanConfig::default(), "k").unwrap_err())[0]
                .1
                .contains("empty")
        );
    }
}
