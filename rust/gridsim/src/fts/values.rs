//! FTS's reading of the loosely typed values of a submission (flags, integers, intervals, URLs,
//! metadata), with the refusals and messages of its job builder.

use serde_json::{Map, Value};
use url::Url;

use super::error::FtsError;

/// The size limit of job, file, staging and archive metadata, in bytes of JSON.
pub const METADATA_LIMIT: usize = 1024;

/// FTS's URL checks, with its messages.
pub(super) fn validate_url(text: &str) -> Result<(), FtsError> {
    let url = match Url::parse(text) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Err(FtsError::invalid_value(format!("Missing scheme ({text})")))
        }
        Err(_) => return Err(FtsError::invalid_value(format!("Missing host ({text})"))),
    };
    if url.scheme() == "file" {
        return Err(FtsError::invalid_value(format!(
            "Can not transfer local files ({text})"
        )));
    }
    if url.path().is_empty() || (url.path() == "/" && url.query().is_none()) {
        return Err(FtsError::invalid_value(format!("Missing path ({text})")));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(FtsError::invalid_value(format!("Missing host ({text})")));
    }
    Ok(())
}

/// FTS's metadata rule: a JSON object, or a string wrapped as `{"label": ...}`, at most
/// [`METADATA_LIMIT`] bytes once serialised.
pub(super) fn metadata(
    value: &Value,
    require_dict: bool,
    hint: Option<&str>,
) -> Result<Map<String, Value>, FtsError> {
    // Python's json.dumps puts a space after ':' and ','; measure the same text.
    let size = python_json_len(value);
    if size > METADATA_LIMIT {
        return Err(FtsError::invalid_value(format!(
            "Job Submission Refused, metadata exceeds size limit of {METADATA_LIMIT}"
        )));
    }
    match value {
        Value::Object(map) => Ok(map.clone()),
        Value::String(label) if !require_dict => Ok(Map::from_iter([(
            "label".to_owned(),
            Value::from(label.clone()),
        )])),
        Value::String(_) => Err(FtsError::invalid_value(format!(
            "{} not in JSON format",
            hint.unwrap_or("Metadata")
        ))),
        _ => Err(FtsError::invalid_value("Metadata neither JSON nor String")),
    }
}

/// The length of `json.dumps(value)` in Python: separators `, ` and `: `, non-ASCII escaped.
fn python_json_len(value: &Value) -> usize {
    match value {
        Value::Object(map) => {
            2 + map
                .iter()
                .map(|(k, v)| string_len(k) + 2 + python_json_len(v))
                .sum::<usize>()
                + 2 * map.len().saturating_sub(1)
        }
        Value::Array(items) => {
            2 + items.iter().map(python_json_len).sum::<usize>() + 2 * items.len().saturating_sub(1)
        }
        Value::String(s) => string_len(s),
        other => other.to_string().len(),
    }
}

fn string_len(s: &str) -> usize {
    let escaped: usize = s
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c if c.is_ascii() => 1,
            c => 6 * c.len_utf16(),
        })
        .sum();
    escaped + 2
}

/// FTS's `safe_flag`: booleans, numbers, and strings starting with `Y`/`y`.
pub(super) fn flag(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => s.starts_with(['Y', 'y']),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// An integer parameter, `default` when absent; strings of digits are accepted as Python's
/// `int()` does.
pub(super) fn int(value: Option<&Value>, default: i64) -> Result<i64, FtsError> {
    match value {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .ok_or_else(|| FtsError::invalid_value(format!("invalid literal for int(): {n}"))),
        Some(Value::Bool(b)) => Ok(i64::from(*b)),
        Some(Value::String(s)) => s.trim().parse().map_err(|_| {
            FtsError::invalid_value(format!("invalid literal for int() with base 10: '{s}'"))
        }),
        Some(other) => Err(FtsError::bad_request(format!("Malformed request: {other}"))),
    }
}

pub(super) fn text(value: Option<&Value>) -> Option<Box<str>> {
    value
        .map(python_str)
        .filter(|s| !s.is_empty())
        .map(String::into_boxed_str)
}

/// A JSON value as Python's `str()` would print the decoded value (strings unquoted).
pub(super) fn python_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `max_time_in_queue`: an integer is hours; a string takes an `s`, `m` or `h` suffix.
pub(super) fn seconds_from_value(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64().filter(|h| *h != 0).map(|h| h * 3600),
        Value::String(s) => {
            let (number, suffix) = s.split_at(s.len().checked_sub(1)?);
            let number: i64 = number.parse().ok()?;
            match suffix.to_ascii_lowercase().as_str() {
                "s" => Some(number),
                "m" => Some(number * 60),
                "h" => Some(number * 3600),
                _ => None,
            }
        }
        _ => None,
    }
}
