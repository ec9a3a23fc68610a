//! Building a CAdES-BES signature: CMS SignedData, content attached, SHA-256, RSA PKCS#1 v1.5,
//! signed attributes content-type, message-digest, signing-time and signing-certificate-v2
//! (ETSI EN 319 122-1 §5.2, the baseline B-B profile; RFC 5652; RFC 5035).
//!
//! The signature is made in two steps, because the devices differ in what they sign and when:
//!
//! 1. [`prepare`] takes the content, the signer's certificate (and its chain) and the signing
//!    time, and builds the signed attributes. [`Prepared::to_be_signed`] gives their DER (what a
//!    PKCS#11 `CKM_SHA256_RSA_PKCS` token hashes itself), their SHA-256 (what a CSC service's
//!    `signatures/signHash` and a smart card's PSO take) and the DigestInfo (`CKM_RSA_PKCS`).
//! 2. [`Prepared::finish`] takes the signature value, checks it against the certificate's key
//!    (a device that signed something else is caught here, not by the provider), and assembles
//!    the `.p7m`.
//!
//! Between the two steps the caller may wait for a person (a remote-signature OTP) or a network;
//! [`sign`] does both steps at once with a synchronous [`crate::Signer`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Any, GeneralizedTime, OctetString, SetOfVec, UtcTime};
use der::{Decode, Encode, Tag};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::{Attribute, AttributeValue};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::time::Time;

use crate::asn1::{
    EssCertIdV2, IssuerSerial, OID_CONTENT_TYPE, OID_DATA, OID_MESSAGE_DIGEST, OID_SHA256,
    OID_SHA256_WITH_RSA, OID_SIGNED_DATA, OID_SIGNING_CERTIFICATE_V2, OID_SIGNING_TIME,
    SigningCertificateV2,
};
use crate::error::SignError;
use crate::signer::{Signer, SignerCertificate, rsa_public_key, verify_rsa_sha256_prehash};

/// DigestInfo prefix for SHA-256 (RFC 8017 §9.2 note 1).
pub const SHA256_DIGEST_INFO_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// What the device signs: the DER of the signed attributes, and what each interface derives
/// from it.
#[derive(Clone, Debug)]
pub struct ToBeSigned {
    der: Vec<u8>,
    digest: [u8; 32],
}

impl ToBeSigned {
    /// DER of the SET OF signed attributes (RFC 5652 §5.4: the `SET OF` tag, not `[0]`).
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// SHA-256 of [`ToBeSigned::der`].
    pub fn sha256(&self) -> [u8; 32] {
        self.digest
    }

    /// DigestInfo { sha256, H }: the input of a raw PKCS#1 v1.5 signature (`CKM_RSA_PKCS`).
    pub fn digest_info(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(51);
        v.extend_from_slice(&SHA256_DIGEST_INFO_PREFIX);
        v.extend_from_slice(&self.digest);
        v
    }
}

/// A signature waiting for its value (see the module documentation).
#[derive(Clone, Debug)]
pub struct Prepared {
    content: Vec<u8>,
    signer: Certificate,
    signer_der: Vec<u8>,
    chain: Vec<Certificate>,
    signed_attrs: SetOfVec<Attribute>,
    tbs: ToBeSigned,
}

/// Builds the signed attributes over `content` for `certificate`, signing time `signing_time`.
pub fn prepare(
    content: &[u8],
    certificate: &SignerCertificate,
    signing_time: SystemTime,
) -> Result<Prepared, SignError> {
    let signer = Certificate::from_der(&certificate.der)
        .map_err(|e| SignError::Certificate(e.to_string()))?;
    // Fails early for keys this crate cannot finish (non-RSA).
    rsa_public_key(&signer)?;
    let chain = certificate
        .chain
        .iter()
        .map(|der| Certificate::from_der(der).map_err(|e| SignError::Certificate(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;

    let content_digest = Sha256::digest(content);
    let cert_hash = Sha256::digest(&certificate.der);
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            // Absent = SHA-256, the DEFAULT (DER leaves defaults out).
            hash_algorithm: None,
            cert_hash: OctetString::new(cert_hash.as_slice()).map_err(enc)?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(
                    signer.tbs_certificate.issuer.clone(),
                )],
                serial_number: signer.tbs_certificate.serial_number.clone(),
            }),
        }],
        policies: None,
    };

    let attrs = vec![
        attribute(OID_CONTENT_TYPE, Any::encode_from(&OID_DATA).map_err(enc)?)?,
        attribute(
            OID_MESSAGE_DIGEST,
            Any::new(Tag::OctetString, content_digest.as_slice()).map_err(enc)?,
        )?,
        attribute(
            OID_SIGNING_TIME,
            Any::encode_from(&signing_time_value(signing_time)?).map_err(enc)?,
        )?,
        attribute(
            OID_SIGNING_CERTIFICATE_V2,
            Any::encode_from(&ess).map_err(enc)?,
        )?,
    ];
    // SetOfVec sorts into DER order, the order the signature covers.
    let signed_attrs = SetOfVec::try_from(attrs).map_err(enc)?;
    let der = signed_attrs.to_der().map_err(enc)?;
    let digest: [u8; 32] = Sha256::digest(&der).into();
    Ok(Prepared {
        content: content.to_vec(),
        signer,
        signer_der: certificate.der.clone(),
        chain,
        signed_attrs,
        tbs: ToBeSigned { der, digest },
    })
}

impl Prepared {
    /// What the device must sign.
    pub fn to_be_signed(&self) -> &ToBeSigned {
        &self.tbs
    }

    /// The signer's certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.signer_der
    }

    /// Checks `signature` (RSASSA-PKCS1-v1_5 / SHA-256 over the signed attributes) against the
    /// certificate and assembles the `.p7m` (DER).
    pub fn finish(self, signature: &[u8]) -> Result<Vec<u8>, SignError> {
        let key = rsa_public_key(&self.signer)?;
        verify_rsa_sha256_prehash(&key, &self.tbs.digest, signature)?;

        let sha256 = AlgorithmIdentifierOwned {
            oid: OID_SHA256,
            parameters: None,
        };
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: self.signer.tbs_certificate.issuer.clone(),
                serial_number: self.signer.tbs_certificate.serial_number.clone(),
            }),
            digest_alg: sha256.clone(),
            signed_attrs: Some(self.signed_attrs),
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: OID_SHA256_WITH_RSA,
                parameters: Some(Any::null()),
            },
            signature: OctetString::new(signature).map_err(enc)?,
            unsigned_attrs: None,
        };
        let mut certs = vec![CertificateChoices::Certificate(self.signer)];
        certs.extend(self.chain.into_iter().map(CertificateChoices::Certificate));
        let signed_data = SignedData {
            version: CmsVersion::V1,
            digest_algorithms: SetOfVec::try_from(vec![sha256]).map_err(enc)?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: OID_DATA,
                econtent: Some(Any::new(Tag::OctetString, self.content).map_err(enc)?),
            },
            certificates: Some(CertificateSet::try_from(certs).map_err(enc)?),
            crls: None,
            signer_infos: SignerInfos::try_from(vec![signer_info]).map_err(enc)?,
        };
        let content_info = ContentInfo {
            content_type: OID_SIGNED_DATA,
            content: Any::encode_from(&signed_data).map_err(enc)?,
        };
        content_info.to_der().map_err(enc)
    }
}

/// Signs `content` with `signer` in one go: certificate, signed attributes, one signature.
pub fn sign(
    content: &[u8],
    signer: &mut dyn Signer,
    signing_time: SystemTime,
) -> Result<Vec<u8>, SignError> {
    let certificate = signer.certificate()?;
    let prepared = prepare(content, &certificate, signing_time)?;
    let signature = signer.sign(prepared.to_be_signed())?;
    prepared.finish(&signature)
}

fn attribute(
    oid: der::asn1::ObjectIdentifier,
    value: AttributeValue,
) -> Result<Attribute, SignError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value]).map_err(enc)?,
    })
}

/// RFC 5652 §11.3: UTCTime for 1950–2049, GeneralizedTime otherwise; whole seconds.
fn signing_time_value(t: SystemTime) -> Result<Time, SignError> {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map_err(|_| SignError::Encoding("signing time before 1970".into()))?
        .as_secs();
    let d = Duration::from_secs(secs);
    Ok(match UtcTime::from_unix_duration(d) {
        Ok(utc) => Time::UtcTime(utc),
        Err(_) => Time::GeneralTime(GeneralizedTime::from_unix_duration(d).map_err(enc)?),
    })
}

fn enc(e: der::Error) -> SignError {
    SignError::Encoding(e.to_string())
}
