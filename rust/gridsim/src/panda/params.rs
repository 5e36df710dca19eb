//! The argument handling of the server's `request_validation`: signatures, the casting of
//! query-string values by type hint, and the exact messages of its refusals.

use serde_json::{Map, Value};

/// The type hint of one handler parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    Int,
    Bool,
    Str,
    Dict,
    ListInt,
    /// `Dict | str`, as `task/retry`'s `new_parameters`.
    DictOrStr,
}

impl Hint {
    fn name(self) -> &'static str {
        match self {
            Self::Int => "int",
            Self::Bool => "bool",
            Self::Str => "str",
            Self::Dict | Self::DictOrStr => "dict",
            Self::ListInt => "List",
        }
    }
}

/// One parameter: its name, hint, and default (`None` when required).
pub struct Param {
    pub name: &'static str,
    pub hint: Hint,
    pub default: Option<Value>,
}

/// A required parameter.
pub const fn required(name: &'static str, hint: Hint) -> Param {
    Param {
        name,
        hint,
        default: None,
    }
}

/// An optional parameter with its default.
pub fn optional(name: &'static str, hint: Hint, default: Value) -> Param {
    Param {
        name,
        hint,
        default: Some(default),
    }
}

/// Binds the request's arguments to `signature` as the server does.
///
/// `from_query` is true when the values came from a query string or form (all strings, a
/// repeated key a list) and must be cast. The error is the message of the
/// `success: false` answer.
pub fn bind(
    signature: &[Param],
    mut given: Map<String, Value>,
    from_query: bool,
) -> Result<Map<String, Value>, String> {
    // Python's `Signature.bind` reports a missing argument before an unexpected one.
    let missing = signature
        .iter()
        .find(|p| p.default.is_none() && !given.contains_key(p.name));
    if let Some(missing) = missing {
        return Err(format!(
            "Argument error: missing a required argument: '{}'",
            missing.name
        ));
    }
    let unknown = given
        .keys()
        .find(|k| !signature.iter().any(|p| p.name == *k));
    if let Some(unknown) = unknown {
        return Err(format!(
            "Argument error: got an unexpected keyword argument '{unknown}'"
        ));
    }

    let mut bound = Map::new();
    for param in signature {
        let value = match (given.remove(param.name), &param.default) {
            (Some(value), _) => value,
            (None, Some(default)) => {
                bound.insert(param.name.to_owned(), default.clone());
                continue;
            }
            (None, None) => {
                return Err(format!(
                    "Argument error: missing a required argument: '{}'",
                    param.name
                ))
            }
        };
        if param.default.as_ref() == Some(&value) {
            bound.insert(param.name.to_owned(), value);
            continue;
        }
        let value = if from_query {
            cast(param, value)?
        } else {
            value
        };
        check(param, &value)?;
        bound.insert(param.name.to_owned(), value);
    }
    Ok(bound)
}

fn cast(param: &Param, value: Value) -> Result<Value, String> {
    let failed = |value: &Value| {
        format!(
            "Type error: '{}' with value '{}' could not be casted to type {} from {}.",
            param.name,
            plain(value),
            param.hint.name(),
            if value.is_array() { "list" } else { "str" }
        )
    };
    if value == Value::String("None".into()) && param.default == Some(Value::Null) {
        return Ok(Value::Null);
    }
    match param.hint {
        Hint::Str | Hint::DictOrStr => Ok(value),
        Hint::Bool => match &value {
            Value::String(text) => Ok(Value::Bool(matches!(
                text.to_lowercase().as_str(),
                "true" | "1"
            ))),
            _ => Err(failed(&value)),
        },
        Hint::Int => value
            .as_str()
            .and_then(python_int)
            .map(Value::from)
            .ok_or_else(|| failed(&value)),
        Hint::ListInt => {
            let items = match &value {
                Value::Array(items) => items.clone(),
                single => vec![single.clone()],
            };
            items
                .iter()
                .map(|item| item.as_str().and_then(python_int).map(Value::from))
                .collect::<Option<Vec<_>>>()
                .map(Value::Array)
                .ok_or_else(|| failed(&value))
        }
        Hint::Dict => match value
            .as_str()
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
        {
            Some(Value::Object(map)) => Ok(Value::Object(map)),
            _ => Err(failed(&value)),
        },
    }
}

/// `int(float(text))`: the server's courtesy to decimal numbers.
fn python_int(text: &str) -> Option<i64> {
    let number: f64 = text.trim().parse().ok()?;
    number.is_finite().then_some(number.trunc() as i64)
}

fn check(param: &Param, value: &Value) -> Result<(), String> {
    let python_type = |value: &Value| match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() || n.is_u64() => "int",
        Value::Number(_) => "float",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    };
    let matches = match param.hint {
        Hint::Int => value.is_i64() || value.is_u64() || value.is_boolean(),
        Hint::Bool => value.is_boolean(),
        Hint::Str => value.is_string(),
        Hint::Dict => value.is_object(),
        Hint::DictOrStr => value.is_object() || value.is_string(),
        Hint::ListInt => {
            let Some(items) = value.as_array() else {
                return Err(format!(
                    "Type error: '{}' must be of type list, got {}.",
                    param.name,
                    python_type(value)
                ));
            };
            if items.iter().all(|i| i.is_i64() || i.is_u64()) {
                return Ok(());
            }
            return Err(format!(
                "Type error: All elements in '{}' must be int.",
                param.name
            ));
        }
    };
    if matches || (value.is_null() && param.default == Some(Value::Null)) {
        Ok(())
    } else {
        Err(format!(
            "Type error: '{}' must be of type {}, got {}.",
            param.name,
            param.hint.name(),
            python_type(value)
        ))
    }
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn signature() -> Vec<Param> {
        vec![
            required("task_id", Hint::Int),
            optional("include_status", Hint::Bool, json!(false)),
            optional("job_ids", Hint::ListInt, json!(null)),
        ]
    }

    fn query(pairs: &[(&str, Value)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn query_values_are_cast_by_hint() {
        let bound = bind(
            &signature(),
            query(&[
                ("task_id", json!("12.0")),
                ("include_status", json!("True")),
                ("job_ids", json!(["1", "2"])),
            ]),
            true,
        )
        .unwrap();
        assert_eq!(bound["task_id"], 12);
        assert_eq!(bound["include_status"], true);
        assert_eq!(bound["job_ids"], json!([1, 2]));
    }

    #[test]
    fn refusals_use_the_server_messages() {
        let error = bind(&signature(), query(&[("task_id", json!("x"))]), true).unwrap_err();
        assert!(
            error.starts_with("Type error: 'task_id' with value 'x'"),
            "{error}"
        );
        let error = bind(&signature(), Map::new(), true).unwrap_err();
        assert_eq!(
            error,
            "Argument error: missing a required argument: 'task_id'"
        );
        let error = bind(
            &signature(),
            query(&[("task_id", json!(1)), ("x", json!(1))]),
            false,
        )
        .unwrap_err();
        assert!(error.contains("unexpected keyword argument 'x'"), "{error}");
        let error = bind(&signature(), query(&[("task_id", json!("7"))]), false).unwrap_err();
        assert_eq!(error, "Type error: 'task_id' must be of type int, got str.");
    }
}
