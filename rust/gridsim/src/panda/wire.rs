//! The HTTP side of the embedded PanDA: authentication, the request encodings the real
//! server accepts, and its answers (JSON only when asked for, a Python `repr` otherwise).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use base64::Engine;
use serde_json::{Map, Value};

use super::api::{self, Caller};
use super::Panda;

/// The largest request body accepted: task parameters are small, job id lists are not.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// The `/api/v1` router; nest it at `/api/v1`.
pub fn router(panda: Arc<Panda>) -> Router {
    Router::new()
        .route("/{module}/{method}", any(handle))
        .with_state(panda)
}

async fn handle(
    State(panda): State<Arc<Panda>>,
    Path((module, method)): Path<(String, String)>,
    request: Request,
) -> Response {
    let http_method = request.method().clone();
    let headers = request.headers().clone();
    let query = request.uri().query().unwrap_or_default().to_owned();

    let Some(call) = api::lookup(&module, &method) else {
        return plain(
            StatusCode::FORBIDDEN,
            format!("ERROR : method {method} is forbidden"),
        );
    };
    let caller = match authenticate(&panda, &headers) {
        Ok(caller) => caller,
        Err(message) => {
            return plain(
                StatusCode::FORBIDDEN,
                format!("ERROR : Token authentication failed. {message}"),
            )
        }
    };

    // The server compares the header strings exactly: `application/json; charset=utf-8`
    // is not JSON to it.
    let content_type = header_str(&headers, header::CONTENT_TYPE);
    let accept = header_str(&headers, header::ACCEPT);
    let json_reply = content_type == Some("application/json") || accept == Some("application/json");
    let json_body = content_type == Some("application/json")
        && (http_method == Method::POST || http_method == Method::PUT);

    let body = match axum::body::to_bytes(request.into_body(), MAX_BODY).await {
        Ok(body) => body,
        Err(e) => {
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("partial read: {e}"),
            )
        }
    };
    if header_str(&headers, header::CONTENT_ENCODING).is_some_and(|e| e != "identity") {
        // Limitation: gzip-encoded request bodies are refused; the real server accepts them.
        return plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ERROR : compressed request bodies are not supported by gridsim".into(),
        );
    }

    let (arguments, from_query) = if json_body {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => (map, false),
            Ok(_) => (Map::new(), false),
            Err(e) => {
                return plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("ERROR : received invalid JSON : {e}"),
                )
            }
        }
    } else if http_method == Method::GET || http_method == Method::HEAD {
        (parse_qsl(query.as_bytes()), true)
    } else {
        (parse_qsl(&body), true)
    };

    let answer = api::call(
        &panda,
        &caller,
        call,
        http_method.as_str(),
        arguments,
        from_query,
    );
    if json_reply {
        // The real server labels its JSON answers text/plain; clients go by what they asked.
        let text = serde_json::to_string(&answer).unwrap_or_default();
        plain(StatusCode::OK, text)
    } else {
        plain(StatusCode::OK, python_repr(&answer))
    }
}

fn plain(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain")],
        Bytes::from(body),
    )
        .into_response()
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Who is calling: the open-mode user, or the holder of an accepted bearer token, with the
/// VO and role from `Origin` (`<vo>`, `<vo>:<role>` or `<vo>.<role>`).
fn authenticate(panda: &Panda, headers: &HeaderMap) -> Result<Caller, String> {
    let origin = header_str(headers, header::ORIGIN).unwrap_or_default();
    let (vo, role) = match origin.split_once(':') {
        Some((vo, role)) => (vo.to_owned(), Some(role.to_owned())),
        None => match origin.rsplit_once('.') {
            Some((vo, role)) if panda.config.vos.iter().any(|v| v == vo) => {
                (vo.to_owned(), Some(role.to_owned()))
            }
            _ => (origin.to_owned(), None),
        },
    };
    let production = role.as_deref() == Some("production");

    if panda.auth.is_open() {
        let vo = if vo.is_empty() {
            panda.config.vos.first().cloned().unwrap_or_default()
        } else {
            vo
        };
        return Ok(Caller {
            user: panda.config.user.clone(),
            vo,
            production,
            secure: true,
        });
    }

    // Without any credentials the request goes on, as an insecure one that only the open
    // calls (`system/is_alive`, `task/get_task_parameters`) answer.
    if headers.get(header::AUTHORIZATION).is_none() {
        return Ok(Caller {
            user: String::new(),
            vo,
            production: false,
            secure: false,
        });
    }
    panda.auth.check(headers).map_err(str::to_owned)?;
    if !panda.config.vos.contains(&vo) {
        return Err(format!("Unknown vo : {vo}"));
    }
    let token = header_str(headers, header::AUTHORIZATION)
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let user = token_user(token).unwrap_or_else(|| "unknown".into());
    Ok(Caller {
        user,
        vo,
        production,
        secure: true,
    })
}

/// The user name the server derives from an id token: `name`, else `sub`.
fn token_user(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    if let Some(name) = claims.get("name").and_then(Value::as_str) {
        let words: Vec<String> = name
            .split_whitespace()
            .map(|w| {
                let mut chars = w.chars();
                chars.next().map_or_else(String::new, |c| {
                    c.to_uppercase().collect::<String>() + &chars.as_str().to_lowercase()
                })
            })
            .collect();
        return Some(words.join(" "));
    }
    claims.get("sub").and_then(Value::as_str).map(str::to_owned)
}

/// `parse_qsl` with blank values kept: a key given once is a string, several times a list.
fn parse_qsl(bytes: &[u8]) -> Map<String, Value> {
    let mut map = Map::new();
    for (key, value) in url::form_urlencoded::parse(bytes) {
        let value = Value::String(value.into_owned());
        match map.get_mut(key.as_ref()) {
            Some(Value::Array(list)) => list.push(value),
            Some(single) => {
                let first = single.take();
                *single = Value::Array(vec![first, value]);
            }
            None => {
                map.insert(key.into_owned(), value);
            }
        }
    }
    map
}

/// What Python's `str()` of the answer dict prints, the body of answers not asked as JSON.
pub fn python_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
            )
        }
        Value::Object(map) => {
            if let Some(Value::String(at)) = map.get("__datetime__") {
                return format!("datetime.datetime.fromisoformat('{at}')");
            }
            // The envelope's keys in the order the server builds it; JSON objects here are
            // sorted otherwise.
            let first = ["success", "message", "data"];
            let mut keys: Vec<&String> =
                map.keys().filter(|k| first.contains(&k.as_str())).collect();
            keys.sort_by_key(|k| first.iter().position(|f| f == k));
            keys.extend(map.keys().filter(|k| !first.contains(&k.as_str())));
            let pairs: Vec<String> = keys
                .iter()
                .map(|k| format!("'{k}': {}", python_repr(&map[k.as_str()])))
                .collect();
            format!("{{{}}}", pairs.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn repeated_keys_become_lists() {
        let map = parse_qsl(b"job_ids=1&job_ids=2&task_id=7&flag=");
        assert_eq!(map["job_ids"], json!(["1", "2"]));
        assert_eq!(map["task_id"], "7");
        assert_eq!(map["flag"], "");
    }

    #[test]
    fn answers_not_asked_as_json_are_python_reprs() {
        let answer = json!({"success": true, "message": "it's", "data": null});
        assert_eq!(
            python_repr(&answer),
            r#"{'success': True, 'message': 'it\'s', 'data': None}"#
        );
    }
}
