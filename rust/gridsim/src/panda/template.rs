//! Expands a task's `jobParameters` into one job's command line, as JEDI's job generator does.

use serde_json::Value;

use super::store::template_items;

/// The per-job values placeholders stand for.
#[derive(Debug, Clone, Default)]
pub struct JobValues {
    /// Input file names, in order (`${IN}`).
    pub inputs: Vec<String>,
    /// Output file names, one per output template (`${OUTPUT<n>}`).
    pub outputs: Vec<String>,
    pub serial: u64,
    pub random_seed: u64,
    pub max_events: u64,
    pub skip_events: u64,
    pub first_event: u64,
    pub attempt: u32,
}

/// The command line of one job: constants and visible templates joined by spaces, then
/// every placeholder replaced.
pub fn expand_parameters(params: &serde_json::Map<String, Value>, values: &JobValues) -> String {
    let words: Vec<&str> = params
        .get("jobParameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .filter(|item| item.get("hidden") != Some(&Value::Bool(true)))
        .filter_map(|item| item.get("value").and_then(Value::as_str))
        .collect();
    substitute(&words.join(" "), values)
}

/// The file name templates of the task's output items, in order.
pub fn output_templates(params: &serde_json::Map<String, Value>) -> Vec<(String, String)> {
    template_items(params)
        .filter(|item| item.get("param_type").and_then(Value::as_str) == Some("output"))
        .filter_map(|item| {
            let value = item.get("value")?.as_str()?;
            let dataset = item.get("dataset")?.as_str()?;
            Some((dataset.to_owned(), value.to_owned()))
        })
        .collect()
}

/// Replaces every placeholder in `text`.
pub fn substitute(text: &str, values: &JobValues) -> String {
    let mut text = text
        .replace("${IN/T}", &values.inputs.join(","))
        .replace("${IN}", &values.inputs.join(","))
        .replace("${SN/P}", &format!("{:06}", values.serial))
        .replace("${SN}", &values.serial.to_string())
        .replace("${RNDMSEED}", &values.random_seed.to_string())
        .replace("${MAXEVENTS}", &values.max_events.to_string())
        .replace("${SKIPEVENTS}", &values.skip_events.to_string())
        .replace("${FIRSTEVENT}", &values.first_event.to_string())
        .replace("${ATTEMPTNR}", &values.attempt.to_string());
    // Highest index first, so that ${OUTPUT1} is not read as ${OUTPUT1} inside ${OUTPUT10}.
    for (index, name) in values.outputs.iter().enumerate().rev() {
        text = text.replace(&format!("${{OUTPUT{index}}}"), name);
    }
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn expands_every_placeholder_and_hides_hidden_items() {
        let params = json!({"jobParameters": [
            {"type": "constant", "value": "--in"},
            {"type": "template", "param_type": "input", "value": "${IN}"},
            {"type": "constant", "value": "--out"},
            {"type": "constant", "value": "${OUTPUT0}"},
            {"type": "template", "param_type": "number", "value": "--first=${FIRSTEVENT}"},
            {"type": "template", "param_type": "output", "value": "d.${SN/P}.root",
             "dataset": "bmn.mc:d", "hidden": true},
        ]});
        let values = JobValues {
            inputs: vec!["a.raw".into(), "b.raw".into()],
            outputs: vec!["d.000003.root".into()],
            serial: 3,
            first_event: 201,
            ..JobValues::default()
        };
        let line = expand_parameters(params.as_object().unwrap(), &values);
        assert_eq!(line, "--in a.raw,b.raw --out d.000003.root --first=201");
        assert_eq!(output_templates(params.as_object().unwrap()).len(), 1);
    }
}
