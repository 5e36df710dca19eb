//! The checks a transfer list and its options pass before anything is sent to FTS: every
//! wrong row is named, and one wrong row stops the whole list.

use std::collections::HashMap;
use std::io;

use serde_json::Value;
use url::Url;

use super::error::{FtsError, InputProblem};
use super::planner::{PlanConfig, Transfer};

/// FTS refuses file, staging, archive and job metadata longer than this once serialised.
pub const METADATA_LIMIT: usize = 1024;

/// Refuses options FTS or the planner cannot work with.
pub fn validate_config(config: &PlanConfig, request_key: &str) -> Result<(), FtsError> {
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

/// Why `text` is no usable transfer URL (`scheme://host[:port]/path`), if it is not.
fn url_problem(text: &str) -> Option<String> {
    // The plain shape of nearly every storage URL is recognised without a full parse, which
    // would dominate the planning of large lists; anything else gets the full parse.
    if plain_url(text) {
        return None;
    }
    match Url::parse(text) {
        Err(e) => Some(format!("is not a valid URL ({e})")),
        Ok(url) if url.host_str().is_none_or(str::is_empty) => Some("has no host".to_owned()),
        Ok(url) if url.path().is_empty() || url.path() == "/" => Some("has no path".to_owned()),
        Ok(_) => None,
    }
}

/// `scheme://host[:port]/path` with a plain host, a port below 65536 and a path of printable
/// characters: a subset of what [`Url::parse`] accepts with a host and a path.
fn plain_url(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once("://") else {
        return false;
    };
    let mut scheme_chars = scheme.bytes();
    let scheme_ok = scheme_chars.next().is_some_and(|b| b.is_ascii_alphabetic())
        && scheme_chars.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    let Some(slash) = rest.find('/') else {
        return false;
    };
    let (authority, path) = rest.split_at(slash);
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok());
    let path_ok = path.len() > 1 && path.bytes().all(|b| b.is_ascii_graphic());
    scheme_ok && plain_host(host) && port_ok && path_ok
}

/// A DNS name whose last label starts with a letter, or a dotted-quad IPv4 address. Other
/// hosts (IPv6, hexadecimal or short IPv4 forms) are left to the full parse.
fn plain_host(host: &str) -> bool {
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
    {
        return false;
    }
    let last = host
        .trim_end_matches('.')
        .rsplit('.')
        .next()
        .unwrap_or_default();
    if last.bytes().next().is_some_and(|b| b.is_ascii_alphabetic()) {
        return true;
    }
    let octets: Vec<&str> = host.split('.').collect();
    octets.len() == 4
        && octets
            .iter()
            .all(|o| o.parse::<u8>().is_ok() && (o.len() == 1 || !o.starts_with('0')))
}

fn checksum_problem(checksum: &str) -> Option<String> {
    let (algorithm, value) = match checksum.split_once(':') {
        Some((algorithm, value)) => (algorithm, Some(value)),
        None => (checksum, None),
    };
    let digits = [
        ("adler32", 8),
        ("crc32", 8),
        ("md5", 32),
        ("sha1", 40),
        ("sha256", 64),
    ]
    .iter()
    .find(|(name, _)| algorithm.eq_ignore_ascii_case(name))
    .map(|(_, digits)| *digits);
    let Some(digits) = digits else {
        return Some(format!(
            "checksum {checksum:?}: algorithm must be ADLER32, CRC32, MD5, SHA1 or SHA256"
        ));
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
    let mut size = ByteCount(0);
    // Writing to a counter cannot fail; the size is what FTS measures, compact JSON.
    serde_json::to_writer(&mut size, metadata).ok()?;
    (size.0 > METADATA_LIMIT).then(|| format!("is {} bytes, over FTS's {METADATA_LIMIT}", size.0))
}

/// Counts the bytes written to it, to size JSON without building it.
struct ByteCount(usize);

impl io::Write for ByteCount {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::fts::model::JobParams;
    use crate::fts::planner::Plan;
    use crate::ServiceError;

    fn two_links(n: usize) -> Vec<Transfer> {
        (0..2 * n)
            .map(|i| Transfer {
                sources: vec![format!("https://lhep.example/online/run8/f{}", i / 2)],
                destination: format!("https://dlnp.example/{}/run8/f{}", i % 2, i / 2),
                ..Transfer::default()
            })
            .collect()
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
    fn the_quick_url_check_accepts_only_what_the_full_parse_accepts() {
        let accepted = [
            "https://eos.jinr.ru:443/eos/bmn/run8/f.data",
            "root://eos.jinr.ru//eos/bmn/run8/f.data",
            "srm://se.jinr.ru:8443/srm/managerv2?SFN=/pnfs/bmn/f",
            "davs://10.0.0.1:1094/data/f",
            "http://127.0.0.1:8446/storage/lhep_disk/bmn.run8/f%20x",
        ];
        for url in accepted {
            assert!(plain_url(url), "{url}");
            assert!(url_problem(url).is_none(), "{url}");
            assert!(Url::parse(url).is_ok(), "{url}");
        }
        let refused_quickly = [
            "https://[::1]:443/data/f",
            "https://user@host/data/f",
            "http://host:99999/f",
            "http://host/a b",
            "http://host/",
            "http://host",
            "http//host/f",
            "://host/f",
            "https://1.2.3/f",
            "https://999.1.1.1/f",
            "https://a.0x1/f",
        ];
        for url in refused_quickly {
            assert!(!plain_url(url), "{url}");
        }
        // The full parse still judges them.
        assert!(url_problem("https://[::1]:443/data/f").is_none());
        assert!(url_problem("https://user@host/data/f").is_none());
        assert!(url_problem("https://999.1.1.1/f")
            .unwrap()
            .contains("not a valid URL"));
        assert!(url_problem("http://host:99999/f")
            .unwrap()
            .contains("not a valid URL"));
        assert!(url_problem("http://host/").unwrap().contains("no path"));
        assert!(url_problem("http//host/f")
            .unwrap()
            .contains("not a valid URL"));
    }

    #[test]
    fn checksums_are_checked_by_algorithm_and_length() {
        assert_eq!(checksum_problem("ADLER32:0cc737eb"), None);
        assert_eq!(checksum_problem("adler32"), None);
        assert_eq!(checksum_problem(&format!("MD5:{}", "a".repeat(32))), None);
        assert!(checksum_problem("MD5:0cc737eb")
            .unwrap()
            .contains("32 hexadecimal"));
        assert!(checksum_problem("ADLER32:0cc737eg").is_some());
        assert!(checksum_problem("XXH64:00").unwrap().contains("algorithm"));
    }

    #[test]
    fn metadata_of_exactly_the_limit_is_accepted() {
        let filler = "x".repeat(METADATA_LIMIT - r#"{"a":""}"#.len());
        let exact = json!({ "a": filler });
        assert_eq!(exact.to_string().len(), 1024);
        assert_eq!(metadata_problem(&exact), None);
        let over = json!({ "a": format!("{filler}y") });
        assert_eq!(
            metadata_problem(&over).unwrap(),
            "is 1025 bytes, over FTS's 1024"
        );
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
        let empty = problems(Plan::new(vec![], PlanConfig::default(), "k").unwrap_err());
        assert!(empty[0].1.contains("empty"));
    }
}
