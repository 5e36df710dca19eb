//! Renders a [`TaskSpec`] into the task parameters of `task/submit`.

use serde_json::{json, Map, Value};

use super::spec::{TaskSpec, Transformation};
use super::validate::validate;
use super::PandaError;

/// Placeholders that make a command-line word a per-job number in JEDI's terms.
const NUMBER_PLACEHOLDERS: [&str; 7] = [
    "${SN}",
    "${SN/P}",
    "${RNDMSEED}",
    "${MAXEVENTS}",
    "${SKIPEVENTS}",
    "${FIRSTEVENT}",
    "${ATTEMPTNR}",
];

/// The task parameters for `spec`, after validating it; nothing is sent.
///
/// The command line becomes `jobParameters`: plain words are constants, words with `${IN}`
/// are the input template of the master dataset, words with per-job numbers are number
/// templates; each declared output adds a hidden output template whose file name
/// `${OUTPUT<n>}` stands for. `uniqueTaskName` is always on, so a resubmission finds the
/// task instead of making a second one.
pub fn render_task_parameters(spec: &TaskSpec) -> Result<Map<String, Value>, PandaError> {
    validate(spec)?;

    let mut params = Map::new();
    let mut set = |key: &str, value: Value| {
        params.insert(key.to_owned(), value);
    };
    set("taskName", json!(spec.name));
    set("vo", json!(spec.vo));
    set("prodSourceLabel", json!(spec.source_label));
    set("taskType", json!(spec.task_type));
    set("taskPriority", json!(spec.priority));
    set("processingType", json!(spec.processing_type));
    set("architecture", json!(spec.architecture));
    set("uniqueTaskName", json!(true));
    set("coreCount", json!(spec.cores));
    set("maxAttempt", json!(spec.max_attempts));

    match &spec.transformation {
        Transformation::Script { path } => {
            set("transUses", json!(""));
            set("transHome", json!(""));
            set("transPath", json!(path));
        }
        Transformation::Release { release, path } => {
            set("transUses", json!(release));
            set("transHome", json!(release));
            set("transPath", json!(path));
        }
        Transformation::Container { image, path } => {
            set("transUses", json!(""));
            set("transHome", json!(""));
            set("transPath", json!(path));
            set("container_name", json!(image));
        }
    }

    let optional = [
        ("site", spec.site.as_ref().map(|v| json!(v))),
        ("ramCount", spec.memory_mb.map(|v| json!(v))),
        ("walltime", spec.walltime_s.map(|v| json!(v))),
        (
            "workingGroup",
            spec.working_group.as_ref().map(|v| json!(v)),
        ),
        ("campaign", spec.campaign.as_ref().map(|v| json!(v))),
        ("nFilesPerJob", spec.split.files_per_job.map(|v| json!(v))),
        ("nGBPerJob", spec.split.gb_per_job.map(|v| json!(v))),
        ("nEventsPerJob", spec.split.events_per_job.map(|v| json!(v))),
        (
            "nEventsPerInputFile",
            spec.split.events_per_input_file.map(|v| json!(v)),
        ),
        (
            "nMaxFilesPerJob",
            spec.split.max_files_per_job.map(|v| json!(v)),
        ),
        ("nEvents", spec.split.total_events.map(|v| json!(v))),
        ("nFiles", spec.split.total_files.map(|v| json!(v))),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            set(key, value);
        }
    }
    if spec.memory_mb.is_some() {
        set("ramUnit", json!("MB"));
    }
    if spec.input_dataset.is_none() {
        set("noInput", json!(true));
    }

    set("jobParameters", Value::Array(job_parameters(spec)));
    set(
        "log",
        json!({
            "type": "template",
            "param_type": "log",
            "dataset": spec.log_dataset,
            "value": log_file_template(spec),
        }),
    );
    Ok(params)
}

/// The file name template of output `file_type`: `<output dataset name>.${SN/P}.<type>`.
pub(crate) fn output_file_template(spec: &TaskSpec, file_type: &str) -> String {
    format!("{}.${{SN/P}}.{file_type}", did_name(&spec.output_dataset))
}

fn log_file_template(spec: &TaskSpec) -> String {
    format!("{}.${{SN/P}}.log.tgz", did_name(&spec.log_dataset))
}

fn did_name(did: &str) -> &str {
    did.split_once(':').map_or(did, |(_, name)| name)
}

fn job_parameters(spec: &TaskSpec) -> Vec<Value> {
    let mut items: Vec<Value> = spec
        .job_parameters
        .split_whitespace()
        .map(|word| {
            if word.contains("${IN}") || word.contains("${IN/T}") {
                json!({
                    "type": "template",
                    "param_type": "input",
                    "dataset": spec.input_dataset,
                    "value": word,
                })
            } else if NUMBER_PLACEHOLDERS.iter().any(|p| word.contains(p)) {
                json!({ "type": "template", "param_type": "number", "value": word })
            } else {
                json!({ "type": "constant", "value": word })
            }
        })
        .collect();

    for file_type in &spec.outputs {
        items.push(json!({
            "type": "template",
            "param_type": "output",
            "dataset": spec.output_dataset,
            "value": output_file_template(spec, file_type),
            "hidden": true,
        }));
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::panda::spec::Split;
    use crate::panda::validate::tests::digi_spec;

    #[test]
    fn an_input_task_renders_the_reference_parameters() {
        let params = render_task_parameters(&digi_spec()).unwrap();
        assert_eq!(params["taskName"], "bmn.run8.digi.v1");
        assert_eq!(params["uniqueTaskName"], true);
        assert_eq!(params["nFilesPerJob"], 2);
        assert_eq!(params["transPath"], "/opt/bmn/digi.sh");
        assert!(params.get("noInput").is_none());

        let items = params["jobParameters"].as_array().unwrap();
        assert_eq!(items[0], json!({"type": "constant", "value": "--in"}));
        assert_eq!(items[1]["param_type"], "input");
        assert_eq!(items[1]["dataset"], "bmn.run8:raw.run8");
        assert_eq!(items[5]["param_type"], "number");
        let output = items.last().unwrap();
        assert_eq!(output["param_type"], "output");
        assert_eq!(output["value"], "digi.run8.v1.${SN/P}.digi.root");
        assert_eq!(params["log"]["value"], "digi.run8.v1.log.${SN/P}.log.tgz");
    }

    #[test]
    fn a_monte_carlo_task_has_no_input() {
        let mut spec = digi_spec();
        spec.input_dataset = None;
        spec.processing_type = "mcgen".into();
        spec.job_parameters = "--out ${OUTPUT0} --events ${MAXEVENTS} --first ${FIRSTEVENT}".into();
        spec.split = Split {
            events_per_job: Some(100),
            total_events: Some(1000),
            ..Split::default()
        };
        let params = render_task_parameters(&spec).unwrap();
        assert_eq!(params["noInput"], true);
        assert_eq!(params["nEvents"], 1000);
        assert_eq!(params["nEventsPerJob"], 100);
    }

    #[test]
    fn an_invalid_spec_renders_nothing() {
        let mut spec = digi_spec();
        spec.job_parameters = "${NOPE}".into();
        assert!(matches!(
            render_task_parameters(&spec),
            Err(PandaError::InvalidSpec { .. })
        ));
    }
}
