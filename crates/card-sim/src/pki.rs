//! The test CA and the certificates it issues when an emulated card starts.
//!
//! Certificates follow the Italian profiles closely enough that a real parser has something to
//! chew on: the CNS authentication certificate carries the AgID-style CN
//! (`<codice fiscale>/<card id>.<hash>`), serialNumber `TINIT-<CF>`, givenName, surname, key
//! usage digitalSignature (critical, no nonRepudiation), EKU clientAuth and policy 1.3.76.16.2.1;
//! the qualified signature certificate (DF_DS) is issued by a separate test *qualified* CA, as
//! real ones are (a QTSP's CA, not the CNS issuer's), with nonRepudiation only (critical), the
//! ETSI/AgID policies, QC statements (QcCompliance, QcSSCD, QcType esign: ETSI EN 319 412-5)
//! and `serialNumber=TINIT-<CF>` (ETSI EN 319 412-1).
//! Keys are fixed test keys (see `test-keys/README.md`); only the certificates are fresh.
//!
//! The root allows one intermediate (pathLenConstraint 1). A profile may have its authentication
//! certificate issued by an intermediate CA under the root ([`AuthIssuer::Intermediate`]) or
//! with another key usage ([`AuthKeyUsage`]), for tests of a verifier's chain and key-usage
//! rules.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::asn1::{
    Any, Ia5String, ObjectIdentifier, PrintableStringRef, SetOfVec, UtcTime, Utf8StringRef,
};
use der::{Encode, Tag};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, CertificateBuilder, Profile as BuildProfile};
use x509_cert::ext::pkix::certpolicy::{CertificatePolicies, PolicyInformation};
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, BasicConstraints, CrlDistributionPoints,
    ExtendedKeyUsage, KeyUsage, KeyUsages,
};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::SimError;
use crate::profile::{AuthIssuer, AuthKeyUsage, CertValidity, Holder, Profile, RevocationUrls};

/// CNS authentication certificate policy (AgID).
pub const OID_POLICY_CNS_AUTH: &str = "1.3.76.16.2.1";
/// ETSI QCP-n-qscd (qualified certificate, key on a QSCD).
pub const OID_POLICY_QCP_N_QSCD: &str = "0.4.0.194112.1.2";
/// AgID policy for qualified signature certificates.
pub const OID_POLICY_AGID_QUALIFIED: &str = "1.3.76.16.6";
/// id-pe-qcStatements (RFC 3739).
pub const OID_QC_STATEMENTS: &str = "1.3.6.1.5.5.7.1.3";
/// esi4-qcStatement-1: QcCompliance, the certificate is qualified (ETSI EN 319 412-5).
pub const OID_QC_COMPLIANCE: &str = "0.4.0.1862.1.1";
/// esi4-qcStatement-4: QcSSCD, the key is on a qualified signature creation device.
pub const OID_QC_SSCD: &str = "0.4.0.1862.1.4";
/// esi4-qcStatement-6: QcType.
pub const OID_QC_TYPE: &str = "0.4.0.1862.1.6";
/// id-etsi-qct-esign: QcType for electronic signatures.
pub const OID_QC_TYPE_ESIGN: &str = "0.4.0.1862.1.6.1";

pub(crate) const OID_CN: &str = "2.5.4.3";
pub(crate) const OID_SURNAME: &str = "2.5.4.4";
pub(crate) const OID_SERIAL_NUMBER: &str = "2.5.4.5";
pub(crate) const OID_COUNTRY: &str = "2.5.4.6";
pub(crate) const OID_ORG: &str = "2.5.4.10";
pub(crate) const OID_ORG_UNIT: &str = "2.5.4.11";
pub(crate) const OID_GIVEN_NAME: &str = "2.5.4.42";
const OID_DN_QUALIFIER: &str = "2.5.4.46";
const OID_ORG_IDENTIFIER: &str = "2.5.4.97";
pub(crate) const OID_KP_CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";
const OID_KP_EMAIL: &str = "1.3.6.1.5.5.7.3.4";
const OID_AD_OCSP: &str = "1.3.6.1.5.5.7.48.1";

const CA_KEY: &str = include_str!("../test-keys/ca-2048.pem");
/// The test CA's private key (PKCS#8 PEM; a committed test key, see `test-keys/README.md`):
/// for rigs where real OpenSSL acts as the CA (a CRL, an OCSP responder).
pub const TEST_CA_KEY_PEM: &str = CA_KEY;
const AUTH_KEY_A: &str = include_str!("../test-keys/card-a-2048.pem");
const AUTH_KEY_B: &str = include_str!("../test-keys/card-b-2048.pem");
const SIGN_KEY: &str = include_str!("../test-keys/card-sig-2048.pem");
const AUTH_KEY_1024: &str = include_str!("../test-keys/card-c-1024.pem");
const INTERMEDIATE_KEY: &str = include_str!("../test-keys/intermediate-2048.pem");
const QUALIFIED_CA_KEY: &str = include_str!("../test-keys/qualified-ca-2048.pem");

/// Keys and certificates of one emulated card.
#[derive(Clone)]
pub struct CardCredentials {
    /// Authentication key (CNS0 / IDEMIA key 0x02).
    pub auth_key: RsaPrivateKey,
    /// DER of the authentication certificate.
    pub auth_cert: Vec<u8>,
    /// Signature key and DER certificate, for profiles with the classic DF_DS keyset.
    pub signature: Option<(RsaPrivateKey, Vec<u8>)>,
    /// DER of the test CA certificate (self-signed), for chain checks in tests.
    pub ca_cert: Vec<u8>,
    /// DER of the CA certificates between the authentication certificate and the root, the
    /// issuer of the card certificate first; empty when the root issued it.
    pub intermediates: Vec<Vec<u8>>,
    /// DER of the test qualified CA (self-signed) that issues the signature certificate.
    pub qualified_ca_cert: Vec<u8>,
}

impl std::fmt::Debug for CardCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Private keys stay out of debug output even in a test tool.
        f.debug_struct("CardCredentials")
            .field("auth_cert_len", &self.auth_cert.len())
            .field("has_signature_keyset", &self.signature.is_some())
            .finish_non_exhaustive()
    }
}

/// Issues the credentials for `profile`, `personal_data_hash` being the base64 SHA-256 of
/// EF_DatiPersonali that the AgID CN embeds.
pub fn issue(profile: &Profile, personal_data_hash: &str) -> Result<CardCredentials, SimError> {
    let ca_key = load_key(CA_KEY)?;
    let ca_name = name(&[
        (OID_COUNTRY, "IT", true),
        (OID_ORG, "PEC Desktop Test CA (non valida)", false),
        (OID_ORG_UNIT, "Certificati di prova", false),
        (OID_CN, "PEC Desktop Test CNS CA", false),
    ])?;
    let now = SystemTime::now();
    let day = Duration::from_secs(86_400);
    // Manual profiles: the builder's Root/SubCA profiles add their own basicConstraints, and a
    // second one would make a certificate strict parsers refuse (RFC 5280 §4.2).
    let ca_cert = build(
        BuildProfile::Manual { issuer: None },
        1,
        validity(now - day, now + 3650 * day)?,
        ca_name.clone(),
        &ca_key.to_public_key(),
        &ca_key,
        |b| {
            b.add_extension(&BasicConstraints {
                ca: true,
                path_len_constraint: Some(1),
            })?;
            b.add_extension(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))
        },
    )?;

    // The authentication certificate's issuer: the root, or an intermediate under it.
    let (auth_issuer_key, auth_issuer_name, intermediates) = match profile.auth_issuer {
        AuthIssuer::Root => (ca_key.clone(), ca_name.clone(), Vec::new()),
        AuthIssuer::Intermediate => {
            let key = load_key(INTERMEDIATE_KEY)?;
            let int_name = name(&[
                (OID_COUNTRY, "IT", true),
                (OID_ORG, "PEC Desktop Test CA (non valida)", false),
                (OID_ORG_UNIT, "Certificati di prova", false),
                (OID_CN, "PEC Desktop Test CNS Sub CA", false),
            ])?;
            let cert = build(
                BuildProfile::Manual {
                    issuer: Some(ca_name.clone()),
                },
                2,
                validity(now - day, now + 1825 * day)?,
                int_name.clone(),
                &key.to_public_key(),
                &ca_key,
                |b| {
                    b.add_extension(&BasicConstraints {
                        ca: true,
                        path_len_constraint: Some(0),
                    })?;
                    b.add_extension(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))?;
                    add_revocation(b, profile.revocation.as_ref())
                },
            )?;
            (key, int_name, vec![cert])
        }
    };
    let auth_usage = match profile.auth_key_usage {
        AuthKeyUsage::Cns => KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment,
        AuthKeyUsage::NonRepudiationOnly => KeyUsages::NonRepudiation.into(),
        AuthKeyUsage::KeyEnciphermentOnly => KeyUsages::KeyEncipherment.into(),
    };

    let auth_key = match (profile.key_bits, profile.holder.surname) {
        (1024, _) => load_key(AUTH_KEY_1024)?,
        (_, "Rossi") => load_key(AUTH_KEY_A)?,
        _ => load_key(AUTH_KEY_B)?,
    };
    let (not_before, not_after) = match profile.cert_validity {
        CertValidity::Valid => (now - day, now + 3 * 365 * day),
        CertValidity::Expired => (now - 3 * 365 * day, now - day),
    };
    let h = &profile.holder;
    let subject = auth_subject(h, profile.serial, personal_data_hash, profile.cf_in_cert)?;
    let auth_cert = build(
        BuildProfile::Manual {
            issuer: Some(auth_issuer_name),
        },
        serial_from(profile.serial, 1),
        validity(not_before, not_after)?,
        subject,
        &auth_key.to_public_key(),
        &auth_issuer_key,
        |b| {
            b.add_extension(&KeyUsage(auth_usage))?;
            b.add_extension(&ExtendedKeyUsage(vec![
                oid(OID_KP_CLIENT_AUTH)?,
                oid(OID_KP_EMAIL)?,
            ]))?;
            b.add_extension(&policies(&[OID_POLICY_CNS_AUTH])?)?;
            add_revocation(b, profile.revocation.as_ref())
        },
    )?;

    let qualified_ca_key = load_key(QUALIFIED_CA_KEY)?;
    let qualified_ca_name = name(&[
        (OID_COUNTRY, "IT", true),
        (OID_ORG, "PEC Desktop Test QTSP (non valido)", false),
        (OID_ORG_IDENTIFIER, "VATIT-00000000000", false),
        (OID_CN, "PEC Desktop Test Qualified CA", false),
    ])?;
    let qualified_ca_cert = build(
        BuildProfile::Manual { issuer: None },
        3,
        validity(now - day, now + 3650 * day)?,
        qualified_ca_name.clone(),
        &qualified_ca_key.to_public_key(),
        &qualified_ca_key,
        |b| {
            b.add_extension(&BasicConstraints {
                ca: true,
                path_len_constraint: Some(0),
            })?;
            b.add_extension(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))
        },
    )?;

    let signature = if profile.signature_df {
        let sign_key = load_key(SIGN_KEY)?;
        let subject = qualified_subject(h, profile.serial)?;
        let cert = build(
            BuildProfile::Manual {
                issuer: Some(qualified_ca_name),
            },
            serial_from(profile.serial, 2),
            validity(not_before, not_after)?,
            subject,
            &sign_key.to_public_key(),
            &qualified_ca_key,
            |b| {
                b.add_extension(&KeyUsage(KeyUsages::NonRepudiation.into()))?;
                b.add_extension(&policies(&[
                    OID_POLICY_QCP_N_QSCD,
                    OID_POLICY_AGID_QUALIFIED,
                ])?)?;
                b.add_extension(&qc_statements()?)
            },
        )?;
        Some((sign_key, cert))
    } else {
        None
    };

    Ok(CardCredentials {
        auth_key,
        auth_cert,
        signature,
        ca_cert,
        intermediates,
        qualified_ca_cert,
    })
}

/// The subject of a qualified signature certificate, shaped like a real Italian one: C, SN, GN,
/// `serialNumber=TINIT-<CF>`, CN "given surname", dnQualifier.
fn qualified_subject(h: &Holder, card_id: &str) -> Result<Name, SimError> {
    let full_name = format!("{} {}", h.given_name, h.surname);
    name(&[
        (OID_COUNTRY, "IT", true),
        (OID_SURNAME, h.surname, false),
        (OID_GIVEN_NAME, h.given_name, false),
        (
            OID_SERIAL_NUMBER,
            &format!("TINIT-{}", h.codice_fiscale),
            true,
        ),
        (OID_CN, &full_name, false),
        (OID_DN_QUALIFIER, &format!("TEST-{card_id}"), true),
    ])
}

/// One statement of the qcStatements extension (RFC 3739 §3.2.6).
#[derive(Clone, Debug, Eq, PartialEq, der::Sequence)]
struct QcStatement {
    statement_id: ObjectIdentifier,
    #[asn1(optional = "true")]
    statement_info: Option<Any>,
}

/// The qcStatements extension: QCStatements ::= SEQUENCE OF QCStatement.
#[derive(Clone, Debug, Eq, PartialEq)]
struct QcStatements(Vec<QcStatement>);

impl der::EncodeValue for QcStatements {
    fn value_len(&self) -> der::Result<der::Length> {
        self.0.value_len()
    }
    fn encode_value(&self, writer: &mut impl der::Writer) -> der::Result<()> {
        self.0.encode_value(writer)
    }
}

impl der::FixedTag for QcStatements {
    const TAG: Tag = Tag::Sequence;
}

impl der::oid::AssociatedOid for QcStatements {
    const OID: ObjectIdentifier = ObjectIdentifier::new_unwrap(OID_QC_STATEMENTS);
}

impl x509_cert::ext::AsExtension for QcStatements {
    fn critical(&self, _: &Name, _: &[x509_cert::ext::Extension]) -> bool {
        false
    }
}

/// QcCompliance, QcSSCD and QcType = esign: what an Italian qualified signature certificate on
/// a card carries.
fn qc_statements() -> Result<QcStatements, x509_cert::builder::Error> {
    let esign = vec![oid(OID_QC_TYPE_ESIGN)?];
    let qc_type = Any::encode_from(&esign)?;
    Ok(QcStatements(vec![
        QcStatement {
            statement_id: oid(OID_QC_COMPLIANCE)?,
            statement_info: None,
        },
        QcStatement {
            statement_id: oid(OID_QC_SSCD)?,
            statement_info: None,
        },
        QcStatement {
            statement_id: oid(OID_QC_TYPE)?,
            statement_info: Some(qc_type),
        },
    ]))
}

/// The CRL distribution point and the OCSP responder (authority information access), when the
/// profile has them.
fn add_revocation(
    b: &mut CertificateBuilder<'_, SigningKey<Sha256>>,
    urls: Option<&RevocationUrls>,
) -> Result<(), x509_cert::builder::Error> {
    let Some(urls) = urls else {
        return Ok(());
    };
    let uri = |u: &str| -> Result<GeneralName, x509_cert::builder::Error> {
        Ok(GeneralName::UniformResourceIdentifier(Ia5String::new(u)?))
    };
    b.add_extension(&CrlDistributionPoints(vec![DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![uri(&urls.crl)?])),
        reasons: None,
        crl_issuer: None,
    }]))?;
    b.add_extension(&AuthorityInfoAccessSyntax(vec![AccessDescription {
        access_method: oid(OID_AD_OCSP)?,
        access_location: uri(&urls.ocsp)?,
    }]))
}

/// The test CA's database in the `index.txt` format of `openssl ca` (what `openssl ca
/// -gencrl` and `openssl ocsp -index` read): one line per issued certificate, `V` (valid) or
/// `R` (revoked, here revoked one hour before `now`), its expiry, serial and subject.
/// Each entry is a certificate's DER and whether it is revoked.
pub fn openssl_ca_database(entries: &[(&[u8], bool)], now: SystemTime) -> Result<String, SimError> {
    use der::Decode;
    let mut out = String::new();
    let revoked_at = validity(now - Duration::from_secs(3600), now)?.not_before;
    for (der, revoked) in entries {
        let cert = x509_cert::Certificate::from_der(der).map_err(pki_err)?;
        let tbs = &cert.tbs_certificate;
        let expiry = openssl_time(tbs.validity.not_after);
        let serial: String = tbs
            .serial_number
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        // The responder and `-gencrl` match on the serial only; the subject is a label.
        let subject = format!("/CN=card-{serial}");
        if *revoked {
            out.push_str(&format!(
                "R\t{expiry}\t{},keyCompromise\t{serial}\tunknown\t{subject}\n",
                openssl_time(revoked_at)
            ));
        } else {
            out.push_str(&format!("V\t{expiry}\t\t{serial}\tunknown\t{subject}\n"));
        }
    }
    Ok(out)
}

/// `YYMMDDHHMMSSZ`, as `openssl ca` writes times into its database.
fn openssl_time(t: Time) -> String {
    let d = t.to_date_time();
    format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}Z",
        d.year() % 100,
        d.month(),
        d.day(),
        d.hour(),
        d.minutes(),
        d.seconds()
    )
}

/// Base64 (standard alphabet, padded) of SHA-256 over `data`; the AgID CN carries a hash of
/// EF_DatiPersonali in this form (its exact algorithm is not public, SHA-256 is our choice).
pub fn personal_data_hash(data: &[u8]) -> String {
    base64(&Sha256::digest(data))
}

fn auth_subject(h: &Holder, card_id: &str, hash: &str, with_cf: bool) -> Result<Name, SimError> {
    if with_cf {
        let cn = format!("{}/{}.{}", h.codice_fiscale, card_id, hash);
        name(&[
            (OID_COUNTRY, "IT", true),
            (OID_ORG_UNIT, "Regione di Prova", false),
            (OID_SURNAME, h.surname, false),
            (OID_GIVEN_NAME, h.given_name, false),
            (
                OID_SERIAL_NUMBER,
                &format!("TINIT-{}", h.codice_fiscale),
                true,
            ),
            (OID_CN, &cn, false),
        ])
    } else {
        // A "CNS-like" certificate from a private CA that identifies the person by name only.
        let cn = format!("{} {}", h.given_name, h.surname);
        name(&[
            (OID_COUNTRY, "IT", true),
            (OID_ORG_UNIT, "Regione di Prova", false),
            (OID_SURNAME, h.surname, false),
            (OID_GIVEN_NAME, h.given_name, false),
            (OID_CN, &cn, false),
        ])
    }
}

pub(crate) fn build(
    profile: BuildProfile,
    serial: u64,
    validity: Validity,
    subject: Name,
    subject_key: &RsaPublicKey,
    ca_key: &RsaPrivateKey,
    extend: impl FnOnce(
        &mut CertificateBuilder<'_, SigningKey<Sha256>>,
    ) -> Result<(), x509_cert::builder::Error>,
) -> Result<Vec<u8>, SimError> {
    let signer = SigningKey::<Sha256>::new(ca_key.clone());
    let spki_der = subject_key
        .to_public_key_der()
        .map_err(|e| SimError::Pki(e.to_string()))?;
    let spki = SubjectPublicKeyInfoOwned::try_from(spki_der.as_bytes()).map_err(pki_err)?;
    let serial = SerialNumber::new(&serial.to_be_bytes()).map_err(pki_err)?;
    let mut builder = CertificateBuilder::new(profile, serial, validity, subject, spki, &signer)
        .map_err(pki_err)?;
    extend(&mut builder).map_err(pki_err)?;
    let cert = builder
        .build::<rsa::pkcs1v15::Signature>()
        .map_err(pki_err)?;
    cert.to_der().map_err(pki_err)
}

pub(crate) fn pki_err(e: impl std::fmt::Display) -> SimError {
    SimError::Pki(e.to_string())
}

pub(crate) fn load_key(pem: &str) -> Result<RsaPrivateKey, SimError> {
    RsaPrivateKey::from_pkcs8_pem(pem).map_err(pki_err)
}

pub(crate) fn oid(s: &str) -> Result<ObjectIdentifier, x509_cert::builder::Error> {
    ObjectIdentifier::new(s).map_err(|e| x509_cert::builder::Error::Asn1(e.into()))
}

pub(crate) fn policies(oids: &[&str]) -> Result<CertificatePolicies, x509_cert::builder::Error> {
    oids.iter()
        .map(|o| {
            Ok(PolicyInformation {
                policy_identifier: oid(o)?,
                policy_qualifiers: None,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(CertificatePolicies)
}

/// One attribute per RDN, in order; `printable` picks PrintableString (C, serialNumber,
/// dnQualifier per X.520) over UTF8String.
pub(crate) fn name(attrs: &[(&str, &str, bool)]) -> Result<Name, SimError> {
    let mut rdns = Vec::with_capacity(attrs.len());
    for (o, value, printable) in attrs {
        let value = if *printable {
            let s = PrintableStringRef::new(value).map_err(pki_err)?;
            Any::new(Tag::PrintableString, s.as_bytes()).map_err(pki_err)?
        } else {
            let s = Utf8StringRef::new(value).map_err(pki_err)?;
            Any::new(Tag::Utf8String, s.as_bytes()).map_err(pki_err)?
        };
        let atv = AttributeTypeAndValue {
            oid: ObjectIdentifier::new(o).map_err(pki_err)?,
            value,
        };
        let set = SetOfVec::try_from(vec![atv]).map_err(pki_err)?;
        rdns.push(RelativeDistinguishedName(set));
    }
    Ok(RdnSequence(rdns))
}

pub(crate) fn validity(from: SystemTime, to: SystemTime) -> Result<Validity, SimError> {
    let t = |s: SystemTime| -> Result<Time, SimError> {
        let d = s.duration_since(UNIX_EPOCH).map_err(pki_err)?;
        // Whole seconds: DER times have no fractions.
        let d = Duration::from_secs(d.as_secs());
        Ok(Time::UtcTime(
            UtcTime::from_unix_duration(d).map_err(pki_err)?,
        ))
    };
    Ok(Validity {
        not_before: t(from)?,
        not_after: t(to)?,
    })
}

/// A positive serial derived from the card id, so two runs of the same card get distinct but
/// related certificate serials.
pub(crate) fn serial_from(card_id: &str, n: u64) -> u64 {
    let digits: u64 = card_id
        .bytes()
        .filter(u8::is_ascii_digit)
        .fold(0u64, |acc, d| {
            acc.wrapping_mul(10).wrapping_add(u64::from(d - b'0'))
        });
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // Keep the top bit clear so the DER INTEGER stays positive without a leading zero dance.
    ((digits ^ (now << 8)) & 0x7FFF_FFFF_FFFF_FF00) | n
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ProfileName;
    use der::Decode;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn issues_parseable_certificates() {
        let creds = issue(&ProfileName::Stincard2048.profile(), "abc=").expect("issue");
        let cert = x509_cert::Certificate::from_der(&creds.auth_cert).expect("parse");
        let subject = cert.tbs_certificate.subject.to_string();
        assert!(subject.contains("TINIT-RSSMRA80A01H501U"), "{subject}");
        assert!(creds.signature.is_some());
        assert!(creds.intermediates.is_empty());
    }

    fn extension_oids(der: &[u8]) -> Vec<String> {
        let cert = x509_cert::Certificate::from_der(der).expect("parse");
        cert.tbs_certificate
            .extensions
            .unwrap_or_default()
            .iter()
            .map(|e| e.extn_id.to_string())
            .collect()
    }

    #[test]
    fn every_extension_appears_once() {
        let mut p = ProfileName::Stincard2048.profile();
        p.auth_issuer = AuthIssuer::Intermediate;
        let creds = issue(&p, "abc=").expect("issue");
        for der in [&creds.ca_cert, &creds.auth_cert, &creds.intermediates[0]] {
            let oids = extension_oids(der);
            let mut unique = oids.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(oids.len(), unique.len(), "{oids:?}");
        }
    }

    #[test]
    fn issues_through_an_intermediate_on_request() {
        let mut p = ProfileName::Athena2048.profile();
        p.auth_issuer = AuthIssuer::Intermediate;
        p.auth_key_usage = AuthKeyUsage::NonRepudiationOnly;
        let creds = issue(&p, "abc=").expect("issue");
        let leaf = x509_cert::Certificate::from_der(&creds.auth_cert).expect("leaf");
        let [int] = creds.intermediates.as_slice() else {
            panic!("one intermediate expected");
        };
        let int = x509_cert::Certificate::from_der(int).expect("intermediate");
        let root = x509_cert::Certificate::from_der(&creds.ca_cert).expect("root");
        assert_eq!(leaf.tbs_certificate.issuer, int.tbs_certificate.subject);
        assert_eq!(int.tbs_certificate.issuer, root.tbs_certificate.subject);
        assert_ne!(int.tbs_certificate.subject, root.tbs_certificate.subject);
        let ku = leaf
            .tbs_certificate
            .extensions
            .unwrap_or_default()
            .into_iter()
            .find(|e| e.extn_id.to_string() == "2.5.29.15")
            .expect("key usage");
        let ku = KeyUsage::from_der(ku.extn_value.as_bytes()).expect("ku");
        assert!(ku.non_repudiation() && !ku.digital_signature());
    }
}
