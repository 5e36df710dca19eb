//! How the client proves who it is: a userpass or X.509 token, cached, or a raw OIDC JWT.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::PrimitiveDateTime;
use tokio::time::Instant;

use super::RucioError;
use crate::http::{CachedToken, Endpoint, Idempotency, TokenCache};
use crate::Secret;

/// The credentials of a Rucio account.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A userpass identity; the token it yields is cached and refreshed before expiry.
    UserPass {
        /// The identity's user name.
        username: String,
        /// Its password.
        password: Secret,
    },
    /// An OIDC access token (JWT) sent as the Rucio token as is; its issuer refreshes it.
    Jwt(Secret),
    /// The client certificate of the endpoint (an X.509 proxy); needs an https server.
    X509,
}

/// Rucio's date format in `X-Rucio-Auth-Token-Expires`: `Thu, 03 Dec 2026 15:30:08 UTC`.
const EXPIRY_FORMAT: &[FormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] UTC"
);

/// Tokens are replaced when less than this much of their life is left.
const MIN_TTL: Duration = Duration::from_secs(300);
/// The life assumed when the server does not say: Rucio's default is one hour.
const DEFAULT_LIFE: Duration = Duration::from_secs(3600);

/// Obtains tokens for one account and keeps the current one.
#[derive(Debug)]
pub(crate) struct Authenticator {
    credentials: Credentials,
    account: String,
    vo: Option<String>,
    cache: TokenCache,
}

impl Authenticator {
    pub(crate) fn new(credentials: Credentials, account: String, vo: Option<String>) -> Self {
        Self {
            credentials,
            account,
            vo,
            cache: TokenCache::new(MIN_TTL),
        }
    }

    /// Whether a refused token can be replaced by authenticating again.
    pub(crate) fn can_refresh(&self) -> bool {
        !matches!(self.credentials, Credentials::Jwt(_))
    }

    /// The token to send: the cached one, or a fresh one when it is missing or expiring.
    pub(crate) async fn token(&self, endpoint: &Endpoint) -> Result<Secret, RucioError> {
        if let Credentials::Jwt(token) = &self.credentials {
            return Ok(token.clone());
        }
        self.cache.get(|| self.authenticate(endpoint)).await
    }

    /// Forgets a token the server refused, so that the next call authenticates again.
    pub(crate) async fn invalidate(&self, stale: &Secret) {
        self.cache.invalidate(stale).await;
    }

    async fn authenticate(&self, endpoint: &Endpoint) -> Result<CachedToken, RucioError> {
        let path = match &self.credentials {
            Credentials::UserPass { .. } => "auth/userpass",
            Credentials::X509 => "auth/x509",
            Credentials::Jwt(_) => unreachable!("a JWT is used as is, never fetched"),
        };
        let request = format!("GET /{path}");
        let response = endpoint
            .send(Idempotency::Idempotent, |client| {
                // No Accept header: the auth endpoints answer 406 to application/json.
                let mut builder = client
                    .get(endpoint.url(path))
                    .header("X-Rucio-Account", &self.account);
                if let Some(vo) = &self.vo {
                    builder = builder.header("X-Rucio-VO", vo);
                }
                if let Credentials::UserPass { username, password } = &self.credentials {
                    builder = builder
                        .header("X-Rucio-Username", username)
                        .header("X-Rucio-Password", password.expose());
                }
                builder
            })
            .await
            .map_err(|e| RucioError::from_http(&request, e))?;

        let headers = response.headers();
        let value = headers
            .get("X-Rucio-Auth-Token")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RucioError::Decode {
                request: request.clone(),
                message: "no X-Rucio-Auth-Token header".to_owned(),
            })?;
        let life = token_life(headers, SystemTime::now());
        tracing::info!(account = %self.account, life_s = life.as_secs(), "authenticated to Rucio");
        Ok(CachedToken {
            value: Secret::new(value),
            expires_at: Instant::now() + life,
        })
    }
}

/// How long the token in `headers` stays valid after `now`.
fn token_life(headers: &HeaderMap, now: SystemTime) -> Duration {
    let expires = headers
        .get("X-Rucio-Auth-Token-Expires")
        .and_then(|v| v.to_str().ok())
        .and_then(|text| PrimitiveDateTime::parse(text, EXPIRY_FORMAT).ok())
        .map(|at| SystemTime::from(at.assume_utc()));
    match expires {
        Some(at) => at.duration_since(now).unwrap_or(Duration::ZERO),
        None => DEFAULT_LIFE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expiry_header_gives_the_remaining_life() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "X-Rucio-Auth-Token-Expires",
            "Thu, 03 Dec 2026 15:30:08 UTC".parse().unwrap(),
        );
        let expires = time::macros::datetime!(2026-12-03 15:30:08 UTC);
        let now = SystemTime::from(expires) - Duration::from_secs(3000);
        assert_eq!(token_life(&headers, now), Duration::from_secs(3000));

        let later = SystemTime::from(expires) + Duration::from_secs(5);
        assert_eq!(token_life(&headers, later), Duration::ZERO);
    }

    #[test]
    fn a_missing_expiry_means_the_default_life() {
        assert_eq!(
            token_life(&HeaderMap::new(), SystemTime::now()),
            DEFAULT_LIFE
        );
    }
}
