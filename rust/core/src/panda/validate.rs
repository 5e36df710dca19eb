//! Checks of a task specification before anything is sent, each with a clear message.

use std::sync::LazyLock;

use regex::Regex;

use super::spec::TaskSpec;
use super::PandaError;

/// Placeholders JEDI expands per job, besides `${OUTPUT<n>}` for each declared output.
pub const KNOWN_PLACEHOLDERS: [&str; 9] = [
    "IN",
    "IN/T",
    "SN",
    "SN/P",
    "RNDMSEED",
    "MAXEVENTS",
    "SKIPEVENTS",
    "FIRSTEVENT",
    "ATTEMPTNR",
];

/// Rucio's default schema: scopes and names (DIDs and file names).
const SCOPE_MAX: usize = 25;
const NAME_MAX: usize = 250;
static SCOPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z_\-.0-9]+$").expect("a valid regular expression"));
static NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[/A-Za-z0-9][/A-Za-z0-9.\-_]*$").expect("a valid regular expression")
});
static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\{([^}]*)\}").expect("a valid regular expression"));

/// Every rule `spec` breaks, or `Ok` when none; nothing is sent either way.
pub fn validate(spec: &TaskSpec) -> Result<(), PandaError> {
    let mut problems = Vec::new();
    required_fields(spec, &mut problems);
    placeholders(spec, &mut problems);
    input_consistency(spec, &mut problems);
    split_rules(spec, &mut problems);
    names(spec, &mut problems);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(PandaError::InvalidSpec { problems })
    }
}

fn required_fields(spec: &TaskSpec, problems: &mut Vec<String>) {
    for (field, value) in [
        ("name", &spec.name),
        ("vo", &spec.vo),
        ("source_label", &spec.source_label),
        ("processing_type", &spec.processing_type),
        ("task_type", &spec.task_type),
        ("architecture", &spec.architecture),
        ("job_parameters", &spec.job_parameters),
    ] {
        if value.trim().is_empty() {
            problems.push(format!("{field} must not be empty"));
        }
    }
    if spec.cores == 0 {
        problems.push("cores must be at least 1".into());
    }
    if spec.max_attempts == 0 {
        problems.push("max_attempts must be at least 1".into());
    }
}

fn placeholders(spec: &TaskSpec, problems: &mut Vec<String>) {
    let text = &spec.job_parameters;
    let opened = text.matches("${").count();
    let closed = PLACEHOLDER.find_iter(text).count();
    if opened != closed {
        problems.push(format!(
            "job_parameters has an unclosed placeholder: {text:?}"
        ));
    }
    for captures in PLACEHOLDER.captures_iter(text) {
        let name = &captures[1];
        if KNOWN_PLACEHOLDERS.contains(&name) {
            continue;
        }
        match name.strip_prefix("OUTPUT").map(str::parse::<usize>) {
            Some(Ok(index)) if index < spec.outputs.len() => {}
            Some(Ok(index)) => problems.push(format!(
                "job_parameters uses ${{OUTPUT{index}}} but only {} output(s) are declared",
                spec.outputs.len()
            )),
            _ => problems.push(format!(
                "job_parameters uses the unknown placeholder ${{{name}}}; known: {}, OUTPUT<n>",
                KNOWN_PLACEHOLDERS.join(", ")
            )),
        }
    }
}

fn uses_input(spec: &TaskSpec) -> bool {
    spec.job_parameters.contains("${IN}") || spec.job_parameters.contains("${IN/T}")
}

fn input_consistency(spec: &TaskSpec, problems: &mut Vec<String>) {
    match (&spec.input_dataset, uses_input(spec)) {
        (None, true) => {
            problems.push("job_parameters uses ${IN} but the task has no input_dataset".into())
        }
        (Some(dataset), false) => problems.push(format!(
            "the task reads {dataset} but job_parameters never uses ${{IN}}"
        )),
        _ => {}
    }
    if spec.input_dataset.is_none() {
        // Without input, JEDI makes jobs from the event counts alone.
        if spec.split.total_events.is_none() || spec.split.events_per_job.is_none() {
            problems.push(
                "a task without input_dataset (Monte Carlo) needs split.total_events and \
                 split.events_per_job"
                    .into(),
            );
        }
        for (field, set) in [
            ("files_per_job", spec.split.files_per_job.is_some()),
            ("gb_per_job", spec.split.gb_per_job.is_some()),
            ("max_files_per_job", spec.split.max_files_per_job.is_some()),
            (
                "events_per_input_file",
                spec.split.events_per_input_file.is_some(),
            ),
            ("total_files", spec.split.total_files.is_some()),
        ] {
            if set {
                problems.push(format!("split.{field} needs an input_dataset"));
            }
        }
    }
}

fn split_rules(spec: &TaskSpec, problems: &mut Vec<String>) {
    let split = &spec.split;
    let zero = [
        ("files_per_job", split.files_per_job.map(u64::from)),
        ("gb_per_job", split.gb_per_job.map(u64::from)),
        ("events_per_job", split.events_per_job),
        ("events_per_input_file", split.events_per_input_file),
        ("max_files_per_job", split.max_files_per_job.map(u64::from)),
        ("total_events", split.total_events),
        ("total_files", split.total_files.map(u64::from)),
    ];
    for (field, value) in zero {
        if value == Some(0) {
            problems.push(format!("split.{field} must be positive"));
        }
    }

    // JEDI silently obeys the first of nEventsPerJob > nFilesPerJob > nGBPerJob; a second
    // sizing rule would be ignored, which is never what its author meant.
    let sizing: Vec<&str> = [
        ("events_per_job", split.events_per_job.is_some()),
        ("files_per_job", split.files_per_job.is_some()),
        ("gb_per_job", split.gb_per_job.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    if sizing.len() > 1 {
        problems.push(format!(
            "conflicting split rules {}: JEDI would use only {}",
            sizing.join(" and "),
            sizing[0]
        ));
    }
    if let (Some(max), Some(per_job)) = (split.max_files_per_job, split.files_per_job) {
        if max < per_job {
            problems.push(format!(
                "conflicting split rules: max_files_per_job {max} < files_per_job {per_job}"
            ));
        }
    }
    if let (Some(total), Some(per_job)) = (split.total_events, split.events_per_job) {
        if per_job > total {
            problems.push(format!(
                "conflicting split rules: events_per_job {per_job} > total_events {total}"
            ));
        }
    }
}

fn names(spec: &TaskSpec, problems: &mut Vec<String>) {
    let datasets = [
        ("input_dataset", spec.input_dataset.as_deref()),
        ("output_dataset", Some(spec.output_dataset.as_str())),
        ("log_dataset", Some(spec.log_dataset.as_str())),
    ];
    for (field, did) in datasets {
        if let Some(did) = did {
            check_did(field, did, problems);
        }
    }
    if spec.output_dataset == spec.log_dataset {
        problems.push("output_dataset and log_dataset must differ".into());
    }

    if !spec.name.is_empty() {
        check_name("name", &spec.name, problems);
    }
    let mut seen = std::collections::HashSet::new();
    for (index, output) in spec.outputs.iter().enumerate() {
        if !seen.insert(output) {
            problems.push(format!("outputs[{index}] {output:?} is declared twice"));
        }
        let example =
            super::render::output_file_template(spec, output).replace("${SN/P}", "000001");
        check_name(&format!("outputs[{index}] file name"), &example, problems);
    }
}

fn check_did(field: &str, did: &str, problems: &mut Vec<String>) {
    let Some((scope, name)) = did.split_once(':') else {
        problems.push(format!("{field} {did:?} must be a DID scope:name"));
        return;
    };
    if scope.len() > SCOPE_MAX || !SCOPE.is_match(scope) {
        problems.push(format!(
            "{field} scope {scope:?} is not a valid Rucio scope (letters, digits, -_. at most \
             {SCOPE_MAX})"
        ));
    }
    check_name(&format!("{field} name"), name, problems);
}

fn check_name(field: &str, name: &str, problems: &mut Vec<String>) {
    if name.len() > NAME_MAX {
        problems.push(format!(
            "{field} is {} characters long; Rucio accepts at most {NAME_MAX}",
            name.len()
        ));
    }
    if !NAME.is_match(name) {
        problems.push(format!(
            "{field} {name:?} would be refused by Rucio (letters, digits, / . - _, starting \
             with a letter, digit or /)"
        ));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::panda::spec::{Split, Transformation};
    use crate::{ErrorKind, ServiceError};

    pub(crate) fn digi_spec() -> TaskSpec {
        TaskSpec {
            name: "bmn.run8.digi.v1".into(),
            vo: "bmn".into(),
            source_label: "user".into(),
            processing_type: "digi".into(),
            task_type: "anal".into(),
            priority: 1000,
            transformation: Transformation::Script {
                path: "/opt/bmn/digi.sh".into(),
            },
            architecture: "x86_64-el9".into(),
            input_dataset: Some("bmn.run8:raw.run8".into()),
            output_dataset: "bmn.run8:digi.run8.v1".into(),
            log_dataset: "bmn.run8:digi.run8.v1.log".into(),
            outputs: vec!["digi.root".into()],
            job_parameters: "--in ${IN} --out ${OUTPUT0} --seed ${RNDMSEED}".into(),
            split: Split {
                files_per_job: Some(2),
                ..Split::default()
            },
            site: None,
            cores: 1,
            memory_mb: None,
            walltime_s: None,
            max_attempts: 3,
            working_group: None,
            campaign: None,
        }
    }

    fn problems(spec: &TaskSpec) -> Vec<String> {
        match validate(spec) {
            Ok(()) => vec![],
            Err(PandaError::InvalidSpec { problems }) => problems,
            Err(other) => panic!("unexpected error {other}"),
        }
    }

    fn has(spec: &TaskSpec, fragment: &str) {
        let found = problems(spec);
        assert!(
            found.iter().any(|p| p.contains(fragment)),
            "{fragment:?} not in {found:?}"
        );
    }

    #[test]
    fn a_good_spec_passes() {
        assert_eq!(problems(&digi_spec()), Vec::<String>::new());
    }

    #[test]
    fn unknown_placeholders_are_named() {
        let mut spec = digi_spec();
        spec.job_parameters = "--in ${IN} --out ${OUTPUT0} --x ${INPUT} --y ${OUTPUT1}".into();
        has(&spec, "unknown placeholder ${INPUT}");
        has(&spec, "${OUTPUT1} but only 1 output");
        spec.job_parameters = "--in ${IN} --out ${OUTPUT0".into();
        has(&spec, "unclosed placeholder");
    }

    #[test]
    fn input_and_template_must_agree() {
        let mut spec = digi_spec();
        spec.input_dataset = None;
        has(&spec, "uses ${IN} but the task has no input_dataset");

        let mut spec = digi_spec();
        spec.job_parameters = "--out ${OUTPUT0}".into();
        has(&spec, "never uses ${IN}");
    }

    #[test]
    fn monte_carlo_needs_event_counts_and_no_file_rules() {
        let mut spec = digi_spec();
        spec.input_dataset = None;
        spec.job_parameters = "--out ${OUTPUT0} --events ${MAXEVENTS}".into();
        has(&spec, "needs split.total_events and split.events_per_job");
        has(&spec, "split.files_per_job needs an input_dataset");
    }

    #[test]
    fn conflicting_split_rules_are_refused() {
        let mut spec = digi_spec();
        spec.split.gb_per_job = Some(10);
        has(
            &spec,
            "conflicting split rules files_per_job and gb_per_job",
        );
        spec.split = Split {
            files_per_job: Some(5),
            max_files_per_job: Some(4),
            ..Split::default()
        };
        has(&spec, "max_files_per_job 4 < files_per_job 5");
        spec.split = Split {
            files_per_job: Some(0),
            ..Split::default()
        };
        has(&spec, "split.files_per_job must be positive");
    }

    #[test]
    fn names_rucio_would_refuse_are_refused() {
        let mut spec = digi_spec();
        spec.output_dataset = "digi.run8".into();
        has(&spec, "must be a DID scope:name");
        spec.output_dataset = "bmn.run8:digi run8".into();
        has(&spec, "would be refused by Rucio");
        spec.output_dataset = "a-scope-name-longer-than-25:x".into();
        has(&spec, "not a valid Rucio scope");
        spec.output_dataset = spec.log_dataset.clone();
        has(&spec, "must differ");
        let mut spec = digi_spec();
        spec.outputs = vec!["digi root".into()];
        has(&spec, "outputs[0] file name");
        let mut spec = digi_spec();
        spec.name = "x".repeat(251);
        has(&spec, "at most 250");
    }

    #[test]
    fn all_problems_come_back_at_once_as_invalid_input() {
        let mut spec = digi_spec();
        spec.vo = String::new();
        spec.job_parameters = "--in ${IN} ${BOGUS}".into();
        let error = validate(&spec).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(problems(&spec).len() >= 2);
    }
}
