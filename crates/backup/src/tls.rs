//! TLS trust for the IMAPS connection.
//!
//! The operating system's roots by default (what the user's mail program trusts too), with
//! Mozilla's roots as a fallback where the OS store cannot be read; plus, on request, one extra
//! CA certificate in PEM, for tests and for providers with a private CA. There is no way to turn
//! verification off: a backup that can be intercepted is not a backup.
//!
//! A certificate given that way is also *pinned*: a server presenting exactly that certificate
//! is accepted even when it is a self-signed one marked CA:TRUE, which `openssl req -x509`
//! writes by default and which webpki otherwise refuses as an end entity
//! ("CaUsedAsEndEntity"). The server's name and the certificate's validity period are still
//! checked, and the handshake signature still proves the server holds its key: only the chain
//! is replaced by the user's explicit choice of that one certificate.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::{
    self, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

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
    let mut pinned = Vec::new();
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
                .add(cert.clone())
                .map_err(|e| BackupError::CaFile(path.to_owned(), e.to_string()))?;
            pinned.push(cert);
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| BackupError::Tls(e.to_string()))?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| BackupError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedOrWebPki { webpki, pinned }))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The usual verification (webpki against the roots), except for a server whose certificate
/// is byte for byte one the user gave: see the module documentation.
#[derive(Debug)]
struct PinnedOrWebPki {
    webpki: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for PinnedOrWebPki {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain = self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        let is_pinned = self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref());
        match chain {
            Ok(ok) => Ok(ok),
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(_)))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
                | rustls::CertificateError::InvalidPurpose
                | rustls::CertificateError::InvalidPurposeContext { .. },
            )) if is_pinned => verify_pinned(end_entity, server_name, now),
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// A pinned certificate still has to name the server and be within its validity period.
fn verify_pinned(
    cert: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<ServerCertVerified, rustls::Error> {
    let parsed = rustls::server::ParsedCertificate::try_from(cert)?;
    rustls::client::verify_server_name(&parsed, server_name)?;
    use x509_cert::der::Decode;
    let x509 = x509_cert::Certificate::from_der(cert.as_ref())
        .map_err(|_| rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding))?;
    let validity = &x509.tbs_certificate.validity;
    let now = now.as_secs();
    if now < validity.not_before.to_unix_duration().as_secs() {
        return Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidYet,
        ));
    }
    if now > validity.not_after.to_unix_duration().as_secs() {
        return Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::Expired,
        ));
    }
    tracing::info!("server certificate accepted as the one pinned with --ca");
    Ok(ServerCertVerified::assertion())
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
