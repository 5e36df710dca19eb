//! Airflow connections as the sidecar and the bindings receive them: the URI or JSON forms of
//! `AIRFLOW_CONN_<ID>`, parsed the way Airflow parses them.

use std::collections::BTreeMap;

use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::SourceError;
use crate::error::ErrorKind;
use crate::Secret;

/// The prefix of environment variables holding Airflow connections.
pub const ENV_PREFIX: &str = "AIRFLOW_CONN_";

/// One Airflow connection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Connection {
    /// The connection id, lowercase (`rucio_default`).
    pub conn_id: String,
    /// The connection type (`fts`, `rucio`, `panda`); dashes become underscores, as in Airflow.
    pub conn_type: String,
    /// The host, with its protocol when the URI carried one (`https://fts.example`).
    pub host: Option<String>,
    /// The port.
    pub port: Option<u16>,
    /// The login.
    pub login: Option<String>,
    /// The password (or token).
    pub password: Option<Secret>,
    /// The schema (the URI's path).
    pub schema: Option<String>,
    /// The extras.
    pub extra: Map<String, Value>,
}

impl Connection {
    /// Parses a connection in either form Airflow accepts: JSON when it starts with `{`,
    /// else a URI such as `rucio://root:secret@rucio.example:443/?account=root`.
    pub fn parse(conn_id: &str, value: &str) -> Result<Self, SourceError> {
        let value = value.trim();
        let mut connection = if value.starts_with('{') {
            parse_json(value)
        } else {
            parse_uri(value)
        }
        .map_err(|reason| invalid(conn_id, &reason))?;
        connection.conn_id = conn_id.to_ascii_lowercase();
        Ok(connection)
    }

    /// Every connection among `AIRFLOW_CONN_<ID>` variables, by lowercase id; a variable that
    /// does not parse is an error naming it (never its value).
    pub fn from_env_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<BTreeMap<String, Connection>, SourceError> {
        let mut connections = BTreeMap::new();
        for (name, value) in vars {
            let Some(id) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let connection = Self::parse(id, &value)?;
            connections.insert(connection.conn_id.clone(), connection);
        }
        Ok(connections)
    }

    /// The base URL of the service: the host, with `default_scheme` when it has no protocol,
    /// and the port when the host does not carry one. The schema is appended as a path.
    pub fn url(&self, default_scheme: &str) -> Result<String, SourceError> {
        let host = self
            .host
            .as_deref()
            .filter(|host| !host.is_empty())
            .ok_or_else(|| invalid(&self.conn_id, "it has no host: set the service URL"))?;
        let mut url = if host.contains("://") {
            host.to_owned()
        } else {
            format!("{default_scheme}://{host}")
        };
        let after_scheme = &url[url.find("://").map_or(0, |i| i + 3)..];
        let authority = after_scheme.split('/').next().unwrap_or("");
        if let (Some(port), false) = (self.port, authority.contains(':')) {
            let end = url.len() - (after_scheme.len() - authority.len());
            url.insert_str(end, &format!(":{port}"));
        }
        if let Some(schema) = self.schema.as_deref().filter(|s| !s.is_empty()) {
            url = format!(
                "{}/{}",
                url.trim_end_matches('/'),
                schema.trim_start_matches('/')
            );
        }
        Ok(url)
    }

    /// An extra as text; numbers and booleans are given as Airflow's URI form would.
    pub fn extra_str(&self, key: &str) -> Option<String> {
        match self.extra.get(key)? {
            Value::Null => None,
            Value::String(text) if text.is_empty() => None,
            Value::String(text) => Some(text.clone()),
            other => Some(other.to_string()),
        }
    }

    /// An extra read as a flag: `false`, `0`, `no` and `off` are false; absent is `default`.
    pub fn extra_flag(&self, key: &str, default: bool) -> bool {
        match self.extra.get(key) {
            None | Some(Value::Null) => default,
            Some(Value::Bool(flag)) => *flag,
            Some(Value::String(text)) => !matches!(
                text.trim().to_ascii_lowercase().as_str(),
                "false" | "0" | "no" | "off"
            ),
            Some(Value::Number(number)) => number.as_f64() != Some(0.0),
            Some(_) => true,
        }
    }
}

fn invalid(conn_id: &str, reason: &str) -> SourceError {
    SourceError::new(
        ErrorKind::Configuration,
        format!("connection {conn_id:?} is unusable: {reason}"),
    )
}

/// The JSON form: `{"conn_type": ..., "host": ..., "extra": {...} or "<json>"}`.
fn parse_json(value: &str) -> Result<Connection, String> {
    #[derive(Deserialize)]
    struct Fields {
        conn_type: Option<String>,
        host: Option<String>,
        port: Option<u16>,
        login: Option<String>,
        password: Option<String>,
        schema: Option<String>,
        #[serde(default)]
        extra: Value,
    }
    let fields: Fields =
        serde_json::from_str(value).map_err(|e| format!("invalid JSON form: {e}"))?;
    Ok(Connection {
        conn_id: String::new(),
        conn_type: normalise_type(fields.conn_type.as_deref().unwrap_or("")),
        host: fields.host,
        port: fields.port,
        login: fields.login,
        password: fields.password.map(Secret::new),
        schema: fields.schema,
        extra: extra_object(fields.extra)?,
    })
}

/// The URI form: `type://login:password@host:port/schema?key=value`, where the host may carry
/// its own protocol (`fts://https://fts.example:8446`) and `__extra__` holds JSON extras.
fn parse_uri(uri: &str) -> Result<Connection, String> {
    let (scheme, rest) = uri
        .split_once("://")
        .ok_or("neither JSON nor a URI of the form type://host")?;
    let (protocol, rest) = match rest.split_once("://") {
        Some((protocol, inner)) if !protocol.contains(['@', ':', '/', '?']) => {
            (Some(protocol), inner)
        }
        Some(_) => return Err("a protocol in the host must directly follow type://".into()),
        None => (None, rest),
    };

    let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = location.split_once('/').unwrap_or((location, ""));
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((userinfo, hostport)) => (Some(userinfo), hostport),
        None => (None, authority),
    };
    let (login, password) = match userinfo {
        Some(info) => match info.split_once(':') {
            Some((login, password)) => (decode(login)?, decode(password)?),
            None => (decode(info)?, String::new()),
        },
        None => (String::new(), String::new()),
    };
    let (host, port) = split_port(hostport)?;
    let host = decode(host)?;

    let mut extra = Map::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if key == "__extra__" {
            let parsed: Value =
                serde_json::from_str(&value).map_err(|e| format!("__extra__ is not JSON: {e}"))?;
            let extra = extra_object(parsed)?;
            return build(scheme, protocol, host, port, login, password, path, extra);
        }
        extra.insert(key.into_owned(), Value::String(value.into_owned()));
    }
    build(scheme, protocol, host, port, login, password, path, extra)
}

#[allow(clippy::too_many_arguments)]
fn build(
    scheme: &str,
    protocol: Option<&str>,
    host: String,
    port: Option<u16>,
    login: String,
    password: String,
    path: &str,
    extra: Map<String, Value>,
) -> Result<Connection, String> {
    let non_empty = |text: String| (!text.is_empty()).then_some(text);
    let host = match (protocol, host.is_empty()) {
        (Some(protocol), false) => Some(format!("{protocol}://{host}")),
        (_, _) => non_empty(host),
    };
    Ok(Connection {
        conn_id: String::new(),
        conn_type: normalise_type(scheme),
        host,
        port,
        login: non_empty(login),
        password: non_empty(password).map(Secret::new),
        schema: non_empty(decode(path)?),
        extra,
    })
}

fn split_port(hostport: &str) -> Result<(&str, Option<u16>), String> {
    // An IPv6 literal keeps its colons inside brackets.
    let colon = match hostport.rfind(']') {
        Some(bracket) => hostport[bracket..].find(':').map(|i| i + bracket),
        None => hostport.rfind(':'),
    };
    match colon {
        Some(at) if at + 1 < hostport.len() => {
            let port = hostport[at + 1..]
                .parse()
                .map_err(|_| format!("invalid port {:?}", &hostport[at + 1..]))?;
            Ok((&hostport[..at], Some(port)))
        }
        Some(at) => Ok((&hostport[..at], None)),
        None => Ok((hostport, None)),
    }
}

fn decode(text: &str) -> Result<String, String> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| "percent-encoded text that is not UTF-8".to_owned())
}

fn extra_object(extra: Value) -> Result<Map<String, Value>, String> {
    match extra {
        Value::Null => Ok(Map::new()),
        Value::Object(map) => Ok(map),
        Value::String(text) if text.trim().is_empty() => Ok(Map::new()),
        Value::String(text) => match serde_json::from_str(&text) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err("extra must be a JSON object".into()),
        },
        _ => Err("extra must be a JSON object".into()),
    }
}

fn normalise_type(conn_type: &str) -> String {
    conn_type.replace('-', "_")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_full_uri_gives_every_field_decoded() {
        let connection = Connection::parse(
            "RUCIO_DEFAULT",
            "rucio://ro%40ot:p%3Ass%2Fw@rucio.example:8443/base?account=root&auth_type=userpass",
        )
        .unwrap();
        assert_eq!(connection.conn_id, "rucio_default");
        assert_eq!(connection.conn_type, "rucio");
        assert_eq!(connection.login.as_deref(), Some("ro@ot"));
        assert_eq!(
            connection.password.as_ref().map(Secret::expose),
            Some("p:ss/w")
        );
        assert_eq!(connection.host.as_deref(), Some("rucio.example"));
        assert_eq!(connection.port, Some(8443));
        assert_eq!(connection.schema.as_deref(), Some("base"));
        assert_eq!(connection.extra_str("account").as_deref(), Some("root"));
        assert_eq!(
            connection.url("https").unwrap(),
            "https://rucio.example:8443/base"
        );
    }

    #[test]
    fn a_host_may_carry_its_own_protocol() {
        let connection = Connection::parse(
            "fts_default",
            "fts://http://127.0.0.1:8700/fts?auth_type=none",
        )
        .unwrap();
        assert_eq!(connection.host.as_deref(), Some("http://127.0.0.1"));
        assert_eq!(connection.port, Some(8700));
        assert_eq!(
            connection.url("https").unwrap(),
            "http://127.0.0.1:8700/fts"
        );
    }

    #[test]
    fn extra_json_in_the_uri_and_the_json_form_are_read() {
        let uri = "panda-server://host?__extra__=%7B%22vo%22%3A+%22bmn%22%2C+%22n%22%3A+3%7D";
        let connection = Connection::parse("p", uri).unwrap();
        assert_eq!(connection.conn_type, "panda_server");
        assert_eq!(
            connection.extra,
            json!({"vo": "bmn", "n": 3}).as_object().unwrap().clone()
        );
        assert_eq!(connection.extra_str("n").as_deref(), Some("3"));

        let text = json!({
            "conn_type": "rucio", "host": "http://127.0.0.1:1234", "login": "root",
            "password": "secret", "extra": {"account": "root", "verify_tls": "false"}
        })
        .to_string();
        let connection = Connection::parse("rucio_default", &text).unwrap();
        assert_eq!(connection.url("https").unwrap(), "http://127.0.0.1:1234");
        assert!(!connection.extra_flag("verify_tls", true));
        assert!(connection.extra_flag("absent", true));

        let as_string = json!({"conn_type": "fts", "extra": "{\"auth_type\": \"token\"}"});
        let connection = Connection::parse("f", &as_string.to_string()).unwrap();
        assert_eq!(connection.extra_str("auth_type").as_deref(), Some("token"));
    }

    #[test]
    fn bad_values_are_configuration_errors_that_never_show_the_secret() {
        for value in [
            "no scheme here",
            "fts://h:notaport",
            "{\"extra\": [1]}",
            "{oops",
        ] {
            let error = Connection::parse("x", value).unwrap_err();
            assert_eq!(error.kind, ErrorKind::Configuration, "{value}");
        }
        let error = Connection::parse("x", "fts://user:hunter2@h:port").unwrap_err();
        assert!(!error.message.contains("hunter2"), "{error}");
        let error = Connection::parse("x", "fts://")
            .unwrap()
            .url("https")
            .unwrap_err();
        assert!(error.message.contains("no host"), "{error}");
    }

    #[test]
    fn only_airflow_conn_variables_are_read() {
        let vars = vec![
            ("PATH".to_owned(), "/usr/bin".to_owned()),
            (
                "AIRFLOW_CONN_FTS_DEFAULT".to_owned(),
                "fts://fts.example:8446".to_owned(),
            ),
        ];
        let connections = Connection::from_env_vars(vars).unwrap();
        assert_eq!(connections.keys().collect::<Vec<_>>(), vec!["fts_default"]);
    }
}
