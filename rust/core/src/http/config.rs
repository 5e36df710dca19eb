//! How to reach one service endpoint: URL, timeouts, TLS material, retries.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::retry::RetryConfig;

/// The settings of one endpoint; one [`super::Endpoint`] (and one connection pool) is built
/// from each.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Base URL; request paths are appended to its path.
    pub base_url: Url,
    /// Time allowed to open a connection. Default 10 s.
    pub connect_timeout: Duration,
    /// Time allowed for a whole request and its answer. Default 120 s.
    pub request_timeout: Duration,
    /// Whether server certificates are verified. Default true; turn off only for tests.
    pub verify_tls: bool,
    /// A folder of trusted CA certificates, such as `/etc/grid-security/certificates`.
    pub ca_dir: Option<PathBuf>,
    /// A PEM file of trusted CA certificates.
    pub ca_file: Option<PathBuf>,
    /// A PEM file with the client certificate chain, and the key when `client_key` is unset
    /// (an X.509 proxy holds both).
    pub client_cert: Option<PathBuf>,
    /// A PEM file with the client key, when it is not in `client_cert`.
    pub client_key: Option<PathBuf>,
    /// When and how often failed requests are tried again.
    pub retry: RetryConfig,
    /// The `User-Agent` header. Default `bmnflow/<version>`.
    pub user_agent: String,
}

impl EndpointConfig {
    /// A configuration with defaults for everything but the URL.
    pub fn new(base_url: Url) -> Self {
        Self {
            base_url,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            verify_tls: true,
            ca_dir: None,
            ca_file: None,
            client_cert: None,
            client_key: None,
            retry: RetryConfig::default(),
            user_agent: concat!("bmnflow/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }

    /// Parses `url` and returns a default configuration for it.
    pub fn parse(url: &str) -> Result<Self, super::HttpError> {
        let base_url = Url::parse(url)
            .map_err(|e| super::HttpError::Config(format!("invalid URL {url:?}: {e}")))?;
        if !matches!(base_url.scheme(), "http" | "https") {
            return Err(super::HttpError::Config(format!(
                "URL {url:?} must start with http:// or https://"
            )));
        }
        Ok(Self::new(base_url))
    }
}
