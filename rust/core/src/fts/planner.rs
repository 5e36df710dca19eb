//! Turns "copy these files there" into FTS jobs: grouping by link and activity, cutting into
//! jobs, and the deterministic `sid` that makes every submission idempotent.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use url::Url;
use uuid::Uuid;

use super::error::FtsError;
use super::model::{FileSpecRef, JobParams, JobSubmissionRef};
use super::validate::{validate_config, validate_transfers};

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

        // Keys borrow from the transfers: a list of 100k files must not cost 100k key copies.
        let mut groups: HashMap<(&str, &str, &str, bool), Vec<usize>> = HashMap::new();
        let default_storages: Vec<(String, String)> = transfers
            .iter()
            .map(|t| match (&t.source_storage, &t.destination_storage) {
                (Some(_), Some(_)) => (String::new(), String::new()),
                _ => (storage_of(&t.sources[0]), storage_of(&t.destination)),
            })
            .collect();
        for (row, transfer) in transfers.iter().enumerate() {
            let (source, destination) = &default_storages[row];
            let key = (
                transfer.source_storage.as_deref().unwrap_or(source),
                transfer
                    .destination_storage
                    .as_deref()
                    .unwrap_or(destination),
                transfer.activity.as_deref().unwrap_or("default"),
                transfer.sources.len() > 1,
            );
            groups.entry(key).or_default().push(row);
        }
        let groups: BTreeMap<_, _> = groups.into_iter().collect();

        let mut jobs = Vec::new();
        for ((source, destination, activity, multi_source), mut rows) in groups {
            // Ordering by a stable hash of the destination makes the cut independent of the
            // order of the input rows, and is cheaper than comparing long common prefixes.
            rows.sort_by_cached_key(|&row| {
                let destination = transfers[row].destination.as_str();
                (fnv1a(destination.as_bytes()), destination)
            });
            // FTS runs a job with several sources per file as a multiple-replica job, which
            // holds exactly one file.
            let size = if multi_source {
                1
            } else {
                config.max_files_per_job
            };
            let link = Link {
                source: source.to_owned(),
                destination: destination.to_owned(),
            };
            for chunk in rows.chunks(size) {
                let mut files = chunk.to_vec();
                files.sort_unstable();
                let sid = sid_for(request_key, 1, &transfers, &files);
                jobs.push(PlannedJob {
                    sid,
                    link: link.clone(),
                    activity: activity.to_owned(),
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
    pub fn submission<'a>(&'a self, job: &'a PlannedJob) -> JobSubmissionRef<'a> {
        let files = job
            .files
            .iter()
            .map(|&row| {
                let transfer = &self.transfers[row];
                let multi_source = transfer.sources.len() > 1;
                FileSpecRef {
                    sources: &transfer.sources,
                    destinations: [&transfer.destination],
                    filesize: transfer.filesize,
                    checksum: transfer.checksum.as_deref(),
                    metadata: transfer.metadata.as_ref(),
                    activity: &job.activity,
                    selection_strategy: multi_source
                        .then_some(self.config.selection_strategy.as_deref())
                        .flatten(),
                }
            })
            .collect();

        let mut params = self.config.params.clone();
        params.id_generator = Some("deterministic".to_owned());
        params.sid = Some(job.sid.clone());
        JobSubmissionRef { files, params }
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

/// 64-bit FNV-1a: a hash that, unlike std's, is fixed forever, as `sid`s must be.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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

    #[test]
    fn groups_by_link_and_cuts_into_jobs_of_at_most_the_limit() {
        let plan = Plan::new(two_links(450), PlanConfig::default(), "dag/task/run").unwrap();

        let sizes: Vec<usize> = plan.jobs.iter().map(|j| j.files.len()).collect();
        assert_eq!(sizes, vec![200, 200, 50, 200, 200, 50]);
        for job in &plan.jobs {
            let to_tape = job.link.destination == "DLNP_TAPE";
            assert_eq!(job.link.source, "https://lhep.example");
            assert!(to_tape || job.link.destination == "https://dlnp.example");
            assert!(job.files.iter().all(|&row| (row % 2 == 1) == to_tape));
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
}
