//! TLS trust for the IMAPS connection.
//!
//! The operating system's roots by default (what the user's mail program trusts too), with
//! Mozilla's roots as a fallback where the OS store cannot be read; plus, on request, one extra
//! CA certificate in PEM, for tests and for providers with a private CA. There is no way to turn
//! verification off: a backup that can be intercepted is not a backup.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use crate::BackupError;

pub(crate) fn client_config(extra_ca: Option<&Path>) -> Result<Arc<ClientConfig>, BackupError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        // One unparsable system certificate must not make every server untrusted.
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    if let Some(path) = extra_ca {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| BackupError::CaFile(path.to_owned(), e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| BackupError::CaFile(path.to_owned(), e.to_string()))?;
        if certs.is_empty() {
            return Err(BackupError::CaFile(
                path.to_owned(),
                "no PEM certificate in it".into(),
            ));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| BackupError::CaFile(path.to_owned(), e.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| BackupError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Sorts a failed handshake into "certificate not trusted" and "other TLS trouble".
pub(crate) fn handshake_error(err: &std::io::Error) -> BackupError {
    let inner = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(c)) => BackupError::TlsCertificate(format!("{c:?}")),
        Some(e) => BackupError::Tls(e.to_string()),
        None => BackupError::Tls(err.to_string()),
    }
}
