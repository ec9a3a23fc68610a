//! The test CIE PKI: a "CIE root" that issues the holders' authentication certificates and
//! the document signer of the SOD, and the EF.SOD itself.
//!
//! Real CIE certificates chain to the "National root CA for the Italian Electronic Identity
//! Card" (Ministero dell'Interno); ours chain to a test root that says it is not valid. The
//! keys are fixed test keys (`test-keys/cie/`), the certificates and the SOD are issued when a
//! virtual CIE starts.

use std::time::{Duration, SystemTime};

use cms::builder::{SignedDataBuilder, SignerInfoBuilder};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Any, Decode, Encode, Sequence};
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::builder::Profile as BuildProfile;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};

use crate::SimError;
use crate::pki::{
    OID_CN, OID_COUNTRY, OID_GIVEN_NAME, OID_KP_CLIENT_AUTH, OID_ORG, OID_ORG_UNIT, OID_SURNAME,
    build, load_key, name, oid, pki_err, policies, serial_from, validity,
};
use crate::profile::{CertValidity, Holder};

/// Certificate policy of CIE authentication certificates.
pub const OID_POLICY_CIE: &str = "1.3.76.47.4";
const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
const OID_LDS_SECURITY_OBJECT: &str = "2.23.136.1.1.1";

const ROOT_KEY: &str = include_str!("../../test-keys/cie/cie-root-2048.pem");
const DS_KEY: &str = include_str!("../../test-keys/cie/cie-ds-2048.pem");
/// Chip-authentication key (EF.IntAuth, key 0x82).
pub const CHIP_KEY: &str = include_str!("../../test-keys/cie/cie-chip-2048.pem");
/// "Servizi" key (EF.IntAuthServizi, key 0x83).
pub const SERVIZI_KEY: &str = include_str!("../../test-keys/cie/cie-servizi-2048.pem");
const HOLDER_KEY_A: &str = include_str!("../../test-keys/cie/cie-holder-a-2048.pem");
const HOLDER_KEY_B: &str = include_str!("../../test-keys/cie/cie-holder-b-2048.pem");

/// The holder's key and certificate, the root, and the document signer.
#[derive(Clone)]
pub struct CieCredentials {
    /// The holder's signing key (key 0x81).
    pub holder_key: RsaPrivateKey,
    /// DER of the holder's authentication certificate (EF.CertCIE).
    pub holder_cert: Vec<u8>,
    /// DER of the test CIE root.
    pub root_cert: Vec<u8>,
    /// The document signer's key and DER certificate.
    pub ds: (RsaPrivateKey, Vec<u8>),
}

impl std::fmt::Debug for CieCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CieCredentials").finish_non_exhaustive()
    }
}

/// Issues the root, the document signer and the holder's certificate.
pub fn issue(
    holder: &Holder,
    serial: &str,
    validity_kind: CertValidity,
) -> Result<CieCredentials, SimError> {
    let root_key = load_key(ROOT_KEY)?;
    let root_name = name(&[
        (OID_COUNTRY, "IT", true),
        (OID_ORG, "PEC Desktop Test (non valida)", false),
        (OID_ORG_UNIT, "Prova CIE", false),
        (OID_CN, "PEC Desktop Test root CA for the CIE", false),
    ])?;
    let now = SystemTime::now();
    let day = Duration::from_secs(86_400);
    let ca_ext = |b: &mut x509_cert::builder::CertificateBuilder<'_, SigningKey<Sha256>>| {
        b.add_extension(&BasicConstraints {
            ca: true,
            path_len_constraint: Some(0),
        })?;
        b.add_extension(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))
    };
    let root_cert = build(
        BuildProfile::Manual { issuer: None },
        1,
        validity(now - day, now + 3650 * day)?,
        root_name.clone(),
        &root_key.to_public_key(),
        &root_key,
        ca_ext,
    )?;

    let ds_key = load_key(DS_KEY)?;
    let ds_cert = build(
        BuildProfile::Manual {
            issuer: Some(root_name.clone()),
        },
        2,
        validity(now - day, now + 3650 * day)?,
        name(&[
            (OID_COUNTRY, "IT", true),
            (OID_ORG, "PEC Desktop Test (non valida)", false),
            (OID_CN, "PEC Desktop Test CIE document signer", false),
        ])?,
        &ds_key.to_public_key(),
        &root_key,
        |b| b.add_extension(&KeyUsage(KeyUsages::DigitalSignature.into())),
    )?;

    let holder_key = if holder.surname == "Rossi" {
        load_key(HOLDER_KEY_A)?
    } else {
        load_key(HOLDER_KEY_B)?
    };
    let (from, to) = match validity_kind {
        CertValidity::Valid => (now - day, now + 5 * 365 * day),
        CertValidity::Expired => (now - 5 * 365 * day, now - day),
    };
    // The codice fiscale is the first 16 characters of the CN (the reference Apache setup of
    // italia/cie-cns-apache-docker reads it so); the rest of our CN is the card number.
    let cn = format!("{}/{}", holder.codice_fiscale, serial);
    let holder_cert = build(
        BuildProfile::Manual {
            issuer: Some(root_name),
        },
        serial_from(serial, 3),
        validity(from, to)?,
        name(&[
            (OID_COUNTRY, "IT", true),
            (OID_ORG, "Ministero dell'Interno (prova)", false),
            (OID_SURNAME, holder.surname, false),
            (OID_GIVEN_NAME, holder.given_name, false),
            (OID_CN, &cn, false),
        ])?,
        &holder_key.to_public_key(),
        &root_key,
        |b| {
            b.add_extension(&KeyUsage(KeyUsages::DigitalSignature.into()))?;
            b.add_extension(&ExtendedKeyUsage(vec![oid(OID_KP_CLIENT_AUTH)?]))?;
            b.add_extension(&policies(&[OID_POLICY_CIE])?)
        },
    )?;
    Ok(CieCredentials {
        holder_key,
        holder_cert,
        root_cert,
        ds: (ds_key, ds_cert),
    })
}

#[derive(Sequence)]
struct LdsSecurityObject {
    version: der::asn1::Int,
    hash_algorithm: AlgorithmIdentifierOwned,
    hashes: Vec<DataGroupHash>,
}

#[derive(Sequence)]
struct DataGroupHash {
    number: der::asn1::Int,
    hash: OctetString,
}

/// EF.SOD over `files` (data-group number, bytes): `77 L ContentInfo(SignedData)` with an LDS
/// security object of SHA-256 hashes, signed by the document signer (RSA PKCS#1 v1.5,
/// SHA-256), its certificate included.
pub fn sod(ds: &(RsaPrivateKey, Vec<u8>), files: &[(u8, &[u8])]) -> Result<Vec<u8>, SimError> {
    let sha256 = AlgorithmIdentifierOwned {
        oid: ObjectIdentifier::new(OID_SHA256).map_err(pki_err)?,
        parameters: None,
    };
    let hashes = files
        .iter()
        .map(|(n, data)| {
            Ok(DataGroupHash {
                // One content byte, as the middleware reads it (`02 01 A1`): for the CIE's
                // numbers above 0x7F that is a negative INTEGER in strict DER terms, which
                // is what real SODs must carry for the middleware's RSA-PSS check to pass.
                number: der::asn1::Int::new(&[*n]).map_err(pki_err)?,
                hash: OctetString::new(Sha256::digest(data).to_vec()).map_err(pki_err)?,
            })
        })
        .collect::<Result<Vec<_>, SimError>>()?;
    let lds = LdsSecurityObject {
        version: der::asn1::Int::new(&[0]).map_err(pki_err)?,
        hash_algorithm: sha256.clone(),
        hashes,
    }
    .to_der()
    .map_err(pki_err)?;
    let econtent = EncapsulatedContentInfo {
        econtent_type: ObjectIdentifier::new(OID_LDS_SECURITY_OBJECT).map_err(pki_err)?,
        econtent: Some(
            Any::encode_from(&OctetString::new(lds).map_err(pki_err)?).map_err(pki_err)?,
        ),
    };
    let ds_cert = x509_cert::Certificate::from_der(&ds.1).map_err(pki_err)?;
    let signer = SigningKey::<Sha256>::new(ds.0.clone());
    let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: ds_cert.tbs_certificate.issuer.clone(),
        serial_number: ds_cert.tbs_certificate.serial_number.clone(),
    });
    let si =
        SignerInfoBuilder::new(&signer, sid, sha256.clone(), &econtent, None).map_err(pki_err)?;
    let ci = SignedDataBuilder::new(&econtent)
        .add_digest_algorithm(sha256)
        .map_err(pki_err)?
        .add_certificate(CertificateChoices::Certificate(ds_cert))
        .map_err(pki_err)?
        .add_signer_info::<SigningKey<Sha256>, rsa::pkcs1v15::Signature>(si)
        .map_err(pki_err)?
        .build()
        .map_err(pki_err)?;
    let inner = ci.to_der().map_err(pki_err)?;
    let mut out = vec![0x77];
    super::sm::push_len(&mut out, inner.len());
    out.extend_from_slice(&inner);
    Ok(out)
}
