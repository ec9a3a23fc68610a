//! What the app needs from a card certificate: who, until when, issued by whom, and for what.
//!
//! The codice fiscale follows the rule that covers CNS, CIE and qualified certificates
//! (AgID / ETSI EN 319 412-1): the subject serialNumber with its `TINIT-` (or legacy `IT:`)
//! prefix stripped; failing that, the first 16 characters of the CN when they have the shape of
//! a codice fiscale (the CNS CN is `<CF>/<card id>.<hash>`). Only the shape is checked here; the
//! check character is the domain crate's job.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::{Decode, Tag, Tagged};
use rsa::RsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::traits::PublicKeyParts;
use sha2::Sha256;
use x509_cert::Certificate as X509;
use x509_cert::ext::pkix::{CertificatePolicies, KeyUsage};
use x509_cert::name::Name;

use crate::error::CardError;

/// AgID CNS authentication policy, and the Lombardy CRS/SISS equivalents.
const CNS_AUTH_POLICIES: &[&str] = &[
    "1.3.76.16.2.1",
    "1.3.159.6.1.3.2.10",
    "1.3.76.12.1.1.10.2.2.10",
];
/// ETSI QCP-n-qscd and AgID qualified-signature policies.
const QUALIFIED_POLICIES: &[&str] = &["0.4.0.194112.1.2", "1.3.76.16.6"];

/// What a certificate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateRole {
    /// CNS authentication certificate (AgID policy): identifies the holder, signs only FEA.
    CnsAuthentication,
    /// Qualified signature certificate (nonRepudiation / QC policies): *firma digitale*.
    QualifiedSignature,
    /// A client-authentication certificate without the CNS policy ("CNS-like").
    Authentication,
    /// Anything else.
    Other,
}

/// Where a moment falls relative to the validity period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ValidityStatus {
    /// Before notBefore.
    NotYetValid,
    /// Within the period.
    Valid,
    /// After notAfter.
    Expired,
}

/// A parsed card certificate.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Certificate {
    /// DER bytes exactly as read (trailing file padding removed).
    #[serde(skip)]
    pub der: Vec<u8>,
    /// Subject, RFC 4514.
    pub subject: String,
    /// Issuer, RFC 4514.
    pub issuer: String,
    /// Issuer's CN or O, for display.
    pub issuer_name: Option<String>,
    /// Serial number, hex.
    pub serial: String,
    /// Subject commonName.
    pub common_name: Option<String>,
    /// Subject givenName.
    pub given_name: Option<String>,
    /// Subject surname.
    pub surname: Option<String>,
    /// Subject serialNumber attribute, as written.
    pub subject_serial_number: Option<String>,
    /// Holder's codice fiscale by the AgID rule, if the certificate carries one.
    pub codice_fiscale: Option<String>,
    /// notBefore, RFC 3339 UTC.
    pub not_before: String,
    /// notAfter, RFC 3339 UTC.
    pub not_after: String,
    /// notBefore, seconds since the Unix epoch.
    pub not_before_unix: u64,
    /// notAfter, seconds since the Unix epoch.
    pub not_after_unix: u64,
    /// Key usage bits set (`digital_signature`, `non_repudiation`, ...).
    pub key_usage: Vec<&'static str>,
    /// Certificate policy OIDs.
    pub policies: Vec<String>,
    /// Role derived from policies and key usage.
    pub role: CertificateRole,
    /// RSA modulus size in bits (0 for non-RSA keys).
    pub key_bits: usize,
    /// SHA-256 of the DER, hex.
    pub sha256: String,
}

impl Certificate {
    /// Parses a DER certificate. Bytes after the outer SEQUENCE (EF padding) are dropped.
    pub fn from_der(raw: &[u8]) -> Result<Certificate, CardError> {
        let bad = |e: &dyn std::fmt::Display| CardError::Malformed {
            what: format!("certificate: {e}"),
        };
        let len = der_total_len(raw).ok_or_else(|| bad(&"not a DER SEQUENCE"))?;
        let der = raw.get(..len).ok_or_else(|| bad(&"truncated"))?.to_vec();
        let x = X509::from_der(&der).map_err(|e| bad(&e))?;
        let tbs = &x.tbs_certificate;

        let key_usage = match tbs.get::<KeyUsage>() {
            Ok(Some((_, ku))) => key_usage_names(&ku),
            Ok(None) => Vec::new(),
            Err(e) => return Err(bad(&e)),
        };
        let policies: Vec<String> = match tbs.get::<CertificatePolicies>() {
            Ok(Some((_, p))) => {
                p.0.iter()
                    .map(|pi| pi.policy_identifier.to_string())
                    .collect()
            }
            Ok(None) => Vec::new(),
            Err(e) => return Err(bad(&e)),
        };
        let role = role(&policies, &key_usage);

        let common_name = attr(&tbs.subject, "2.5.4.3");
        let subject_serial_number = attr(&tbs.subject, "2.5.4.5");
        let codice_fiscale =
            codice_fiscale(subject_serial_number.as_deref(), common_name.as_deref());
        let key_bits = rsa_key(&tbs.subject_public_key_info)
            .map(|k| k.size() * 8)
            .unwrap_or(0);
        let nb = tbs.validity.not_before;
        let na = tbs.validity.not_after;
        Ok(Certificate {
            subject: tbs.subject.to_string(),
            issuer: tbs.issuer.to_string(),
            issuer_name: attr(&tbs.issuer, "2.5.4.3").or_else(|| attr(&tbs.issuer, "2.5.4.10")),
            serial: hex(tbs.serial_number.as_bytes()),
            common_name,
            given_name: attr(&tbs.subject, "2.5.4.42"),
            surname: attr(&tbs.subject, "2.5.4.4"),
            subject_serial_number,
            codice_fiscale,
            not_before: nb.to_date_time().to_string(),
            not_after: na.to_date_time().to_string(),
            not_before_unix: nb.to_unix_duration().as_secs(),
            not_after_unix: na.to_unix_duration().as_secs(),
            key_usage,
            policies,
            role,
            key_bits,
            sha256: hex(&sha2::Digest::finalize(sha2::Digest::chain_update(
                <Sha256 as sha2::Digest>::new(),
                &der,
            ))),
            der,
        })
    }

    /// Validity at `now`.
    pub fn validity_at(&self, now: SystemTime) -> ValidityStatus {
        let t = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        if t < self.not_before_unix {
            ValidityStatus::NotYetValid
        } else if t > self.not_after_unix {
            ValidityStatus::Expired
        } else {
            ValidityStatus::Valid
        }
    }

    /// Whether the certificate is a qualified signature certificate.
    pub fn is_qualified(&self) -> bool {
        self.role == CertificateRole::QualifiedSignature
    }

    /// The certificate's RSA public key.
    pub fn rsa_public_key(&self) -> Result<RsaPublicKey, CardError> {
        let x = X509::from_der(&self.der).map_err(|e| CardError::Malformed {
            what: format!("certificate: {e}"),
        })?;
        rsa_key(&x.tbs_certificate.subject_public_key_info)
    }

    /// Checks an RSASSA-PKCS1-v1_5 / SHA-256 signature over `message` with this certificate.
    pub fn verify_sha256(&self, message: &[u8], signature: &[u8]) -> Result<(), CardError> {
        let key = VerifyingKey::<Sha256>::new(self.rsa_public_key()?);
        let sig = Signature::try_from(signature).map_err(|_| CardError::SignatureMismatch)?;
        key.verify(message, &sig)
            .map_err(|_| CardError::SignatureMismatch)
    }
}

/// The RSA key of a SubjectPublicKeyInfo (the CIE's SOD signer and its anchors use it too).
pub(crate) fn spki_rsa_key(
    spki: &spki::SubjectPublicKeyInfoOwned,
) -> Result<RsaPublicKey, CardError> {
    rsa_key(spki)
}

fn rsa_key(spki: &spki::SubjectPublicKeyInfoOwned) -> Result<RsaPublicKey, CardError> {
    let der = der::Encode::to_der(spki).map_err(|e| CardError::Malformed {
        what: format!("public key: {e}"),
    })?;
    RsaPublicKey::from_public_key_der(&der).map_err(|e| CardError::Malformed {
        what: format!("public key is not RSA: {e}"),
    })
}

/// Codice fiscale by the AgID rule (see the module docs).
pub fn codice_fiscale(serial_number: Option<&str>, common_name: Option<&str>) -> Option<String> {
    if let Some(sn) = serial_number {
        let sn = sn.trim();
        let stripped = sn
            .strip_prefix("TINIT-")
            .or_else(|| sn.strip_prefix("IT:"))
            .unwrap_or(sn)
            .to_ascii_uppercase();
        if looks_like_codice_fiscale(&stripped) {
            return Some(stripped);
        }
    }
    let cn = common_name?;
    let head: String = cn.chars().take(16).collect::<String>().to_ascii_uppercase();
    looks_like_codice_fiscale(&head).then_some(head)
}

/// Shape of a personal codice fiscale: `[A-Z]{6}` + birth data with digits, where omocodia may
/// replace any digit with one of `LMNPQRSTUV`, + a letter.
pub fn looks_like_codice_fiscale(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 16 {
        return false;
    }
    let digitish = |c: u8| c.is_ascii_digit() || b"LMNPQRSTUV".contains(&c);
    b.iter().enumerate().all(|(i, &c)| match i {
        0..=5 | 8 | 11 | 15 => c.is_ascii_uppercase(),
        _ => digitish(c),
    })
}

/// Total length of the DER element at the start of `b` (header + content).
pub(crate) fn der_total_len(b: &[u8]) -> Option<usize> {
    if *b.first()? != 0x30 {
        return None;
    }
    let l0 = *b.get(1)?;
    if l0 < 0x80 {
        return Some(2 + usize::from(l0));
    }
    let n = usize::from(l0 & 0x7F);
    if n == 0 || n > 3 {
        return None;
    }
    let mut len = 0usize;
    for i in 0..n {
        len = (len << 8) | usize::from(*b.get(2 + i)?);
    }
    Some(2 + n + len)
}

fn attr(name: &Name, oid: &str) -> Option<String> {
    name.0.iter().flat_map(|rdn| rdn.0.iter()).find_map(|atv| {
        if atv.oid.to_string() != oid {
            return None;
        }
        let v = atv.value.value();
        match atv.value.tag() {
            Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::VisibleString => {
                std::str::from_utf8(v).ok().map(str::to_owned)
            }
            // Old CAs use T.61 for accented names; Latin-1 is the practical reading.
            Tag::TeletexString => Some(v.iter().map(|&c| char::from(c)).collect()),
            Tag::BmpString => {
                let units: Vec<u16> = v
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16(&units).ok()
            }
            _ => None,
        }
    })
}

fn key_usage_names(ku: &KeyUsage) -> Vec<&'static str> {
    let mut v = Vec::new();
    let flags = [
        (ku.digital_signature(), "digital_signature"),
        (ku.non_repudiation(), "non_repudiation"),
        (ku.key_encipherment(), "key_encipherment"),
        (ku.data_encipherment(), "data_encipherment"),
        (ku.key_agreement(), "key_agreement"),
        (ku.key_cert_sign(), "key_cert_sign"),
        (ku.crl_sign(), "crl_sign"),
    ];
    for (set, name) in flags {
        if set {
            v.push(name);
        }
    }
    v
}

fn role(policies: &[String], key_usage: &[&str]) -> CertificateRole {
    let has = |list: &[&str]| policies.iter().any(|p| list.contains(&p.as_str()));
    if has(QUALIFIED_POLICIES) || key_usage.contains(&"non_repudiation") {
        CertificateRole::QualifiedSignature
    } else if has(CNS_AUTH_POLICIES) {
        CertificateRole::CnsAuthentication
    } else if key_usage.contains(&"digital_signature") {
        CertificateRole::Authentication
    } else {
        CertificateRole::Other
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codice_fiscale_rule() {
        assert_eq!(
            codice_fiscale(Some("TINIT-RSSMRA80A01H501U"), None).as_deref(),
            Some("RSSMRA80A01H501U")
        );
        assert_eq!(
            codice_fiscale(Some("IT:RSSMRA80A01H501U"), None).as_deref(),
            Some("RSSMRA80A01H501U")
        );
        assert_eq!(
            codice_fiscale(None, Some("RSSMRA80A01H501U/7430010024925855.abc=")).as_deref(),
            Some("RSSMRA80A01H501U")
        );
        // Omocodia: digits replaced by letters.
        assert!(looks_like_codice_fiscale("RSSMRAURALMHPRMV"));
        assert_eq!(codice_fiscale(Some("WSREF-123"), Some("Mario Rossi")), None);
        assert_eq!(codice_fiscale(None, Some("short")), None);
        assert_eq!(codice_fiscale(None, Some("àèìòùàèìòùàèìòùàèìòù")), None);
    }

    #[test]
    fn der_length() {
        assert_eq!(der_total_len(&[0x30, 0x03, 1, 2, 3]), Some(5));
        assert_eq!(der_total_len(&[0x30, 0x82, 0x01, 0x00]), Some(260));
        assert_eq!(der_total_len(&[0x30, 0x80]), None);
        assert_eq!(der_total_len(&[0x04, 0x01]), None);
        assert_eq!(der_total_len(&[]), None);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(Certificate::from_der(&[]).is_err());
        assert!(Certificate::from_der(&[0x30, 0x03, 1, 2, 3]).is_err());
        assert!(Certificate::from_der(&[0x30, 0x84, 1, 2, 3]).is_err());
    }
}
