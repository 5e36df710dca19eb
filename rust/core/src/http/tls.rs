//! Loading trust anchors and client identities from the files grid sites use.

use std::fs;
use std::path::Path;

use reqwest::{Certificate, Identity};

use super::HttpError;

/// Every CA certificate in a grid-style CA folder (`*.pem`, and the hashed `*.0` links).
pub(crate) fn load_ca_dir(dir: &Path) -> Result<Vec<Certificate>, HttpError> {
    let entries = fs::read_dir(dir)
        .map_err(|e| HttpError::Config(format!("cannot read CA folder {}: {e}", dir.display())))?;

    let mut certificates = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let is_certificate = name.ends_with(".pem")
            || name.ends_with(".crt")
            || name
                .rsplit_once('.')
                .is_some_and(|(_, ext)| ext.parse::<u8>().is_ok());
        if is_certificate {
            certificates.extend(load_ca_file(&path)?);
        }
    }
    Ok(certificates)
}

/// Every certificate in one PEM file.
pub(crate) fn load_ca_file(path: &Path) -> Result<Vec<Certificate>, HttpError> {
    let pem = fs::read(path)
        .map_err(|e| HttpError::Config(format!("cannot read CA file {}: {e}", path.display())))?;
    Certificate::from_pem_bundle(&pem)
        .map_err(|e| HttpError::Config(format!("invalid CA file {}: {e}", path.display())))
}

/// The client identity from a certificate chain and key, as in an X.509 proxy file.
pub(crate) fn load_identity(cert: &Path, key: Option<&Path>) -> Result<Identity, HttpError> {
    let mut pem = fs::read(cert).map_err(|e| {
        HttpError::Config(format!(
            "cannot read client certificate {}: {e}",
            cert.display()
        ))
    })?;
    if let Some(key) = key {
        let key_pem = fs::read(key).map_err(|e| {
            HttpError::Config(format!("cannot read client key {}: {e}", key.display()))
        })?;
        pem.push(b'\n');
        pem.extend_from_slice(&key_pem);
    }

    // The error text of the TLS library never contains key material, only its kind.
    Identity::from_pem(&pem).map_err(|e| {
        HttpError::Config(format!(
            "invalid client certificate or key {}: {e}",
            cert.display()
        ))
    })
}
