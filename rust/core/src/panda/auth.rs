//! Credentials for the PanDA server: an OIDC id token (with `Origin: <vo>[:<role>]`), or an
//! X.509 proxy presented as the TLS client certificate.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use base64::Engine;
use parking_lot::Mutex;

use super::PandaError;
use crate::http::EndpointConfig;
use crate::Secret;

/// Where the OIDC id token comes from.
#[derive(Debug, Clone)]
pub enum TokenSource {
    /// The token itself.
    Value(Secret),
    /// A file holding the token, re-read whenever it changes (a token renewer rewrites it).
    File(PathBuf),
}

/// How the client proves who it is.
#[derive(Debug, Clone, Default)]
pub enum PandaAuth {
    /// No credentials: for a server in open mode, such as the embedded grid.
    #[default]
    Anonymous,
    /// An OIDC id token sent as `Authorization: Bearer`, with the VO and role as `Origin`.
    Token {
        token: TokenSource,
        vo: String,
        role: Option<String>,
    },
    /// An X.509 proxy (certificate chain and key in one file), with a grid CA folder.
    X509 {
        proxy: PathBuf,
        ca_dir: Option<PathBuf>,
    },
}

impl PandaAuth {
    /// Puts the X.509 material into the endpoint configuration; tokens go in headers instead.
    pub(crate) fn configure(&self, config: &mut EndpointConfig) {
        if let Self::X509 { proxy, ca_dir } = self {
            config.client_cert = Some(proxy.clone());
            if ca_dir.is_some() {
                config.ca_dir = ca_dir.clone();
            }
        }
    }
}

/// Produces the `Authorization` and `Origin` headers of each request.
#[derive(Debug)]
pub(crate) struct TokenHeaders {
    source: TokenSource,
    origin: String,
    cached: Mutex<Option<LoadedToken>>,
}

#[derive(Debug, Clone)]
struct LoadedToken {
    value: Secret,
    expires_at: Option<i64>,
    file_stamp: Option<(SystemTime, u64)>,
}

impl TokenHeaders {
    /// Headers for `source`; the role, when given, is sent as `<vo>:<role>`.
    pub(crate) fn new(
        source: TokenSource,
        vo: &str,
        role: Option<&str>,
    ) -> Result<Self, PandaError> {
        if vo.is_empty() {
            return Err(PandaError::Config(
                "an OIDC token needs the VO (sent as Origin)".into(),
            ));
        }
        let origin = match role {
            Some(role) if !role.is_empty() => format!("{vo}:{role}"),
            _ => vo.to_owned(),
        };
        Ok(Self {
            source,
            origin,
            cached: Mutex::new(None),
        })
    }

    /// The bearer token and the origin, after checking that the token has not expired.
    pub(crate) fn headers(&self) -> Result<(Secret, String), PandaError> {
        let token = self.current()?;
        if let Some(expires_at) = token.expires_at {
            let now = unix_now();
            if expires_at <= now {
                return Err(PandaError::Credentials(format!(
                    "the OIDC id token {} expired {} s ago (exp={expires_at}); renew it{}",
                    self.describe_source(),
                    now - expires_at,
                    match self.source {
                        TokenSource::File(_) => ", the file is re-read when it changes",
                        TokenSource::Value(_) => "",
                    }
                )));
            }
        }
        Ok((token.value, self.origin.clone()))
    }

    fn current(&self) -> Result<LoadedToken, PandaError> {
        match &self.source {
            TokenSource::Value(value) => {
                let mut cached = self.cached.lock();
                if let Some(token) = cached.as_ref() {
                    return Ok(token.clone());
                }
                let token = LoadedToken {
                    expires_at: jwt_expiry(value.expose(), "given as a string")?,
                    value: value.clone(),
                    file_stamp: None,
                };
                *cached = Some(token.clone());
                Ok(token)
            }
            TokenSource::File(path) => {
                let stamp = file_stamp(path)?;
                let mut cached = self.cached.lock();
                if let Some(token) = cached.as_ref() {
                    if token.file_stamp == Some(stamp) {
                        return Ok(token.clone());
                    }
                }
                let token = read_token_file(path, stamp)?;
                tracing::info!(path = %path.display(), "read the OIDC id token file");
                *cached = Some(token.clone());
                Ok(token)
            }
        }
    }

    fn describe_source(&self) -> String {
        match &self.source {
            TokenSource::Value(_) => "given as a string".to_owned(),
            TokenSource::File(path) => format!("in {}", path.display()),
        }
    }
}

fn file_stamp(path: &Path) -> Result<(SystemTime, u64), PandaError> {
    let metadata = std::fs::metadata(path).map_err(|e| {
        PandaError::Credentials(format!(
            "cannot read the token file {}: {e}",
            path.display()
        ))
    })?;
    let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    Ok((modified, metadata.len()))
}

fn read_token_file(path: &Path, stamp: (SystemTime, u64)) -> Result<LoadedToken, PandaError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        PandaError::Credentials(format!(
            "cannot read the token file {}: {e}",
            path.display()
        ))
    })?;
    let value = text.trim();
    if value.is_empty() {
        return Err(PandaError::Credentials(format!(
            "the token file {} is empty",
            path.display()
        )));
    }
    Ok(LoadedToken {
        expires_at: jwt_expiry(value, &format!("in {}", path.display()))?,
        value: Secret::new(value),
        file_stamp: Some(stamp),
    })
}

/// The `exp` claim of a JWT, read without verifying the signature (the server verifies it);
/// `None` when the token carries no `exp`.
pub(crate) fn jwt_expiry(token: &str, origin: &str) -> Result<Option<i64>, PandaError> {
    let not_a_jwt = |why: &str| {
        PandaError::Credentials(format!("the OIDC id token {origin} is not a JWT: {why}"))
    };
    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(not_a_jwt("expected three dot-separated parts"));
    };

    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| not_a_jwt("the payload is not base64url"))?;
    let claims: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| not_a_jwt("the payload is not JSON"))?;
    Ok(claims.get("exp").and_then(|exp| {
        exp.as_i64()
            .or_else(|| exp.as_f64().map(|seconds| seconds as i64))
    }))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{ErrorKind, ServiceError};

    /// An unsigned JWT with the given `exp`, enough for a client that does not verify.
    pub(crate) fn jwt(exp: i64) -> String {
        let encode = |json: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
        format!(
            "{}.{}.c2ln",
            encode(r#"{"alg":"RS256","typ":"JWT"}"#),
            encode(&format!(r#"{{"sub":"u1","exp":{exp},"groups":["bmn"]}}"#))
        )
    }

    #[test]
    fn reads_exp_without_verifying() {
        assert_eq!(jwt_expiry(&jwt(1234), "t").unwrap(), Some(1234));
        let error = jwt_expiry("opaque-token", "t").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Authentication);
    }

    #[test]
    fn an_expired_token_string_is_refused_clearly() {
        let headers = TokenHeaders::new(
            TokenSource::Value(Secret::new(jwt(unix_now() - 60))),
            "bmn",
            Some("production"),
        )
        .unwrap();
        let error = headers.headers().unwrap_err();
        assert!(error.to_string().contains("expired"), "{error}");
        assert!(
            !error.to_string().contains("c2ln"),
            "the token must not be shown: {error}"
        );
    }

    #[test]
    fn a_token_file_is_reread_when_it_changes() {
        let dir = std::env::temp_dir().join(format!("bmnflow-panda-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token");
        std::fs::write(&path, jwt(unix_now() - 10)).unwrap();

        let headers = TokenHeaders::new(TokenSource::File(path.clone()), "bmn", None).unwrap();
        assert!(headers.headers().is_err(), "expired token accepted");

        // A renewed token has a different length, so the change is seen even within one
        // second of file modification time resolution.
        let fresh = format!("{}\n", jwt(unix_now() + 3600));
        std::fs::write(&path, &fresh).unwrap();
        let (token, origin) = headers.headers().unwrap();
        assert_eq!(token.expose(), fresh.trim());
        assert_eq!(origin, "bmn");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
