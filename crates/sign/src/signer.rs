//! The pluggable signer: anything that holds a signature key and its certificate.
//!
//! Implementations: the CNS signature DF ([`crate::card::CardSigner`]), a PKCS#11 token
//! ([`crate::pkcs11::Pkcs11Signer`]), and keys in memory ([`SoftwareSigner`], for tests and for
//! servers). The remote signature service does not fit a synchronous call (the OTP authorises
//! the hash before it is signed): it drives [`crate::cades::prepare`] and
//! [`crate::cades::Prepared::finish`] itself ([`crate::csc`]).

use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use x509_cert::Certificate;

use crate::asn1::OID_RSA_ENCRYPTION;
use crate::cades::ToBeSigned;
use crate::error::SignError;

/// The signer's certificate and the CA certificates to ship with it (issuer first; the root may
/// be left out, the verifier has it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerCertificate {
    /// DER of the signer's certificate.
    pub der: Vec<u8>,
    /// DER of the intermediate certificates, issuer first.
    pub chain: Vec<Vec<u8>>,
}

/// A signature device.
pub trait Signer {
    /// The signing certificate (read from the device; may cost APDUs or a module call).
    fn certificate(&mut self) -> Result<SignerCertificate, SignError>;

    /// Signs once: RSASSA-PKCS1-v1_5 with SHA-256 over `tbs.der()`. Implementations take
    /// whichever form their interface needs (`der`, `sha256` or `digest_info`). A device that
    /// needs a PIN presents it exactly once here and never again by itself.
    fn sign(&mut self, tbs: &ToBeSigned) -> Result<Vec<u8>, SignError>;
}

/// An RSA key in memory with its certificate.
pub struct SoftwareSigner {
    key: SigningKey<Sha256>,
    certificate: SignerCertificate,
}

impl SoftwareSigner {
    /// Wraps `key` (which must be the certificate's key: checked at every signature by
    /// [`crate::cades::Prepared::finish`]).
    pub fn new(key: RsaPrivateKey, certificate: SignerCertificate) -> SoftwareSigner {
        SoftwareSigner {
            key: SigningKey::new(key),
            certificate,
        }
    }
}

impl std::fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftwareSigner").finish_non_exhaustive()
    }
}

impl Signer for SoftwareSigner {
    fn certificate(&mut self) -> Result<SignerCertificate, SignError> {
        Ok(self.certificate.clone())
    }

    fn sign(&mut self, tbs: &ToBeSigned) -> Result<Vec<u8>, SignError> {
        let sig: Signature = self
            .key
            .sign_prehash(&tbs.sha256())
            .map_err(|e| SignError::Encoding(e.to_string()))?;
        Ok(Box::<[u8]>::from(sig).into_vec())
    }
}

/// The RSA public key of `cert`; refuses other key types.
pub(crate) fn rsa_public_key(cert: &Certificate) -> Result<RsaPublicKey, SignError> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    if spki.algorithm.oid != OID_RSA_ENCRYPTION {
        return Err(SignError::Certificate(format!(
            "key algorithm {} is not RSA",
            spki.algorithm.oid
        )));
    }
    let der = der::Encode::to_der(spki).map_err(|e| SignError::Certificate(e.to_string()))?;
    RsaPublicKey::from_public_key_der(&der).map_err(|e| SignError::Certificate(e.to_string()))
}

/// Checks an RSASSA-PKCS1-v1_5 signature over a SHA-256 digest.
pub(crate) fn verify_rsa_sha256_prehash(
    key: &RsaPublicKey,
    digest: &[u8; 32],
    signature: &[u8],
) -> Result<(), SignError> {
    let sig = Signature::try_from(signature).map_err(|_| SignError::SignatureMismatch)?;
    VerifyingKey::<Sha256>::new(key.clone())
        .verify_prehash(digest, &sig)
        .map_err(|_| SignError::SignatureMismatch)
}
