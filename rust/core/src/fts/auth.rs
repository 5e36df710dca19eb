//! How the FTS client proves who it is: a bearer token, or an X.509 certificate or proxy.
//!
//! Limitation: delegation of an X.509 proxy (`/delegation/{id}/request` and `/credential`) is
//! not done; X.509 users need a proxy delegated by other means, or FTS answers 419.

use std::path::PathBuf;

use reqwest::RequestBuilder;

use super::error::FtsError;
use crate::http::EndpointConfig;
use crate::Secret;

/// The credentials of an FTS client.
#[derive(Debug, Clone, Default)]
pub enum Credentials {
    /// No credentials: only for servers in open mode (gridsim on loopback).
    #[default]
    None,
    /// `Authorization: Bearer <token>`; the token needs an `aud` FTS accepts.
    Token(Secret),
    /// A client certificate and key (PEM), or an X.509 proxy holding both (`key` unset).
    X509 {
        certificate: PathBuf,
        key: Option<PathBuf>,
    },
}

impl Credentials {
    /// Puts certificate credentials into the endpoint configuration the client is built from.
    pub(crate) fn configure(&self, config: &mut EndpointConfig) -> Result<(), FtsError> {
        match self {
            Self::None => Ok(()),
            Self::Token(token) if token.is_empty() => {
                Err(FtsError::Config("the FTS token is empty".to_owned()))
            }
            Self::Token(_) => Ok(()),
            Self::X509 { certificate, key } => {
                if config.base_url.scheme() != "https" {
                    return Err(FtsError::Config(format!(
                        "a client certificate needs an https:// endpoint, not {}",
                        config.base_url
                    )));
                }
                config.client_cert = Some(certificate.clone());
                config.client_key = key.clone();
                Ok(())
            }
        }
    }

    /// Adds the per-request part of the credentials (the bearer header).
    pub(crate) fn apply(&self, request: RequestBuilder) -> RequestBuilder {
        match self {
            Self::Token(token) => request.bearer_auth(token.expose()),
            Self::None | Self::X509 { .. } => request,
        }
    }

    /// The name `whoami` uses for the method, for logs: `token`, `certificate` or `none`.
    pub fn method(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Token(_) => "token",
            Self::X509 { .. } => "certificate",
        }
    }
}

#[cfg(test)]
mod tests {
    use url::Url;

    use super::*;
    use crate::ServiceError;

    #[test]
    fn certificates_need_https_and_tokens_must_not_be_empty() {
        let mut plain = EndpointConfig::new(Url::parse("http://127.0.0.1:1/fts").unwrap());
        let x509 = Credentials::X509 {
            certificate: "/tmp/x509up_u0".into(),
            key: None,
        };
        let error = x509.configure(&mut plain).unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Configuration);

        let mut secure = EndpointConfig::new(Url::parse("https://fts.example:8446").unwrap());
        x509.configure(&mut secure).unwrap();
        assert_eq!(secure.client_cert, Some("/tmp/x509up_u0".into()));

        let empty = Credentials::Token(Secret::new(""));
        assert!(empty.configure(&mut plain).is_err());
    }

    #[test]
    fn tokens_never_show_in_debug_output() {
        let token = Credentials::Token(Secret::new("eyJhbGciOi.secret"));
        assert!(!format!("{token:?}").contains("secret"));
    }
}
