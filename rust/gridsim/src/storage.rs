//! Storage endpoints: URL prefixes served from local folders, the way an RSE's PFNs map to
//! files on its disk servers.
//!
//! A PFN under an endpoint's `url` is the file at the same relative path under its `path`.
//! The host and port are compared, not the scheme, so `http`, `https` and `davs` PFNs of the
//! same endpoint name the same file. Other services stage files through [`Storage::resolve`].

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use url::Url;

use crate::config::StorageConfig;

/// One endpoint, with its URL split for matching.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Its name, usually the RSE's.
    pub name: String,
    /// Its local folder.
    pub root: PathBuf,
    host: String,
    port: Option<u16>,
    /// The URL path prefix, without a trailing slash.
    prefix: String,
}

/// A PFN resolved to a local file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Index of the endpoint in [`Storage::endpoints`]; transfers use it as a link end.
    pub endpoint: usize,
    /// The file on disk.
    pub path: PathBuf,
}

/// All storage endpoints of the configuration.
#[derive(Debug, Default)]
pub struct Storage {
    endpoints: Vec<Endpoint>,
}

impl Storage {
    /// Builds the endpoints and creates their folders.
    pub fn new(configs: &[StorageConfig]) -> Result<Self, String> {
        let mut endpoints = Vec::with_capacity(configs.len());
        for config in configs {
            let url = Url::parse(&config.url)
                .map_err(|e| format!("storage {}: bad url {}: {e}", config.name, config.url))?;
            let host = url
                .host_str()
                .ok_or_else(|| format!("storage {}: no host", config.name))?;
            std::fs::create_dir_all(&config.path)
                .map_err(|e| format!("storage {}: {}: {e}", config.name, config.path.display()))?;
            endpoints.push(Endpoint {
                name: config.name.clone(),
                root: config.path.clone(),
                host: host.to_owned(),
                port: url.port_or_known_default(),
                prefix: url.path().trim_end_matches('/').to_owned(),
            });
        }
        Ok(Self { endpoints })
    }

    /// The endpoints, in configuration order.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The local file of a PFN, or `None` when no endpoint serves it (or it tries to leave
    /// its endpoint's folder with `..`).
    pub fn resolve(&self, pfn: &str) -> Option<Resolved> {
        let url = Url::parse(pfn).ok()?;
        let host = url.host_str()?;
        let port = url.port_or_known_default();
        self.endpoints
            .iter()
            .enumerate()
            .find_map(|(index, endpoint)| {
                if endpoint.host != host || endpoint.port != port {
                    return None;
                }
                self.under(index, endpoint, url.path())
            })
    }

    /// The local file of a request path on this server (`/storage/lhep_disk/...`).
    pub fn resolve_path(&self, path: &str) -> Option<Resolved> {
        self.endpoints
            .iter()
            .enumerate()
            .find_map(|(index, e)| self.under(index, e, path))
    }

    fn under(&self, index: usize, endpoint: &Endpoint, path: &str) -> Option<Resolved> {
        let rest = path.strip_prefix(&endpoint.prefix)?.strip_prefix('/')?;
        let decoded = percent_decode(rest)?;
        let relative = Path::new(&decoded);
        let safe = relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        if !safe || decoded.is_empty() {
            return None;
        }
        Some(Resolved {
            endpoint: index,
            path: endpoint.root.join(relative),
        })
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// GET and HEAD of a stored file; mounted under `/storage`, it sees the full path.
pub async fn serve(State(storage): State<Arc<Storage>>, request: Request) -> Response {
    // Nested under `/storage`, the router sees a stripped path; endpoints match the full one.
    let path = match request.extensions().get::<OriginalUri>() {
        Some(original) => original.path().to_owned(),
        None => request.uri().path().to_owned(),
    };
    let Some(resolved) = storage.resolve_path(&path) else {
        return (
            StatusCode::NOT_FOUND,
            "no storage endpoint serves this path",
        )
            .into_response();
    };
    let metadata = match tokio::fs::metadata(&resolved.path).await {
        Ok(m) if m.is_file() => m,
        _ => return (StatusCode::NOT_FOUND, "No such file or directory").into_response(),
    };
    let builder = Response::builder()
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, metadata.len());
    if request.method() == Method::HEAD {
        return builder.body(Body::empty()).unwrap_or_default();
    }
    // Limitation: files are read whole into memory; the test files are small.
    match tokio::fs::read(&resolved.path).await {
        Ok(bytes) => builder.body(Body::from(bytes)).unwrap_or_default(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage(root: &Path) -> Storage {
        let config = |name: &str| StorageConfig {
            name: name.to_uppercase(),
            url: format!("http://127.0.0.1:8080/storage/{name}/"),
            path: root.join(name),
        };
        Storage::new(&[config("lhep_disk"), config("dlnp_disk")]).unwrap()
    }

    #[test]
    fn pfns_map_to_files_under_their_endpoint() {
        let root = std::env::temp_dir().join(format!("gridsim-storage-{}", std::process::id()));
        let storage = storage(&root);
        let pfn = "http://127.0.0.1:8080/storage/dlnp_disk/bmn.run8/ab/cd/run%201.raw";
        let resolved = storage.resolve(pfn).unwrap();
        assert_eq!(resolved.endpoint, 1);
        assert_eq!(
            resolved.path,
            root.join("dlnp_disk/bmn.run8/ab/cd/run 1.raw")
        );
        let davs = "davs://127.0.0.1:8080/storage/lhep_disk/f";
        assert_eq!(storage.resolve(davs).unwrap().endpoint, 0);
        assert!(root.join("lhep_disk").is_dir());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn foreign_hosts_and_escapes_are_not_served() {
        let root = std::env::temp_dir().join(format!("gridsim-escape-{}", std::process::id()));
        let storage = storage(&root);
        assert_eq!(
            storage.resolve("http://127.0.0.1:9999/storage/lhep_disk/f"),
            None
        );
        assert_eq!(
            storage.resolve("http://127.0.0.1:8080/storage/lhep_disk/../x"),
            None
        );
        assert_eq!(
            storage.resolve("http://127.0.0.1:8080/storage/lhep_disk/%2e%2e/x"),
            None
        );
        assert_eq!(
            storage.resolve("http://127.0.0.1:8080/storage/lhep_disk_x/f"),
            None
        );
        assert_eq!(
            storage.resolve("http://127.0.0.1:8080/storage/lhep_disk/"),
            None
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
