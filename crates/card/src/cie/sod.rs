//! Passive authentication: EF.SOD, the Ministry's signature over the card's files.
//!
//! EF.SOD holds (inside an ICAO-style `77` wrapper) a CMS SignedData whose content, of type
//! 2.23.136.1.1.1 (LDS security object), lists a hash per file. The middleware's
//! `VerificaSOD` names them: 0xA1 EF.ID_Servizi (the NIS, 12 bytes), 0xA2 EF.Serial (9 bytes),
//! 0xA3 EF.CertCIE, 0xA4 EF.IntAuth, 0xA5 EF.IntAuthServizi, 0x1B EF.DH; the DER files are
//! hashed up to their encoded length. We check the signature of the document signer (whose
//! certificate is in the SOD), the hashes of what we read, and whether the document signer
//! was issued by one of the configured anchors (the "National root CA for the Italian
//! Electronic Identity Card" in production, the test root in tests). The chain is reported,
//! not required, so test cards work.

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode, Sequence};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use sha2::{Digest, Sha256};
use x509_cert::Certificate as X509;

use crate::error::CardError;

/// OID of the LDS security object (ICAO 9303-10), the SOD's content type.
const OID_LDS_SECURITY_OBJECT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.1");
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const OID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const OID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");

/// Largest EF.SOD accepted.
pub const MAX_SOD: usize = 16 * 1024;

/// The files the SOD covers, by the tag the middleware gives them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SodFile {
    /// 0xA1, EF.ID_Servizi (the NIS).
    IdServizi,
    /// 0xA2, EF.Serial.
    Serial,
    /// 0xA3, EF.CertCIE.
    Certificate,
    /// 0xA4, EF.IntAuth (chip-authentication key).
    IntAuth,
    /// 0xA5, EF.IntAuthServizi.
    IntAuthServizi,
    /// 0x1B, EF.DH.
    Dh,
}

impl SodFile {
    /// The data-group number in the SOD.
    pub fn number(self) -> u8 {
        match self {
            SodFile::IdServizi => 0xA1,
            SodFile::Serial => 0xA2,
            SodFile::Certificate => 0xA3,
            SodFile::IntAuth => 0xA4,
            SodFile::IntAuthServizi => 0xA5,
            SodFile::Dh => 0x1B,
        }
    }
}

#[derive(Sequence)]
struct LdsSecurityObject {
    version: der::asn1::Int,
    hash_algorithm: spki::AlgorithmIdentifierOwned,
    hashes: Vec<DataGroupHash>,
}

#[derive(Sequence)]
struct DataGroupHash {
    number: der::asn1::Int,
    hash: OctetString,
}

/// A parsed EF.SOD whose signature verified.
#[derive(Clone, Debug)]
pub struct Sod {
    hashes: Vec<(u8, Vec<u8>)>,
    signer: X509,
    /// DER of the document signer's certificate.
    pub signer_der: Vec<u8>,
}

/// What passive authentication found, for the pre-flight report.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PassiveAuthentication {
    /// The SOD's signature verified with its document signer's certificate.
    pub signature_valid: bool,
    /// The document signer was issued by a configured anchor: `None` when no anchor is
    /// configured.
    pub signer_chains_to_anchor: Option<bool>,
    /// Subject of the document signer.
    pub signer: String,
    /// Each file we checked against the SOD, and whether its hash matched.
    pub files: Vec<(SodFile, bool)>,
}

impl PassiveAuthentication {
    /// Every checked file matched and the signature is valid (the anchor is not required).
    pub fn ok(&self) -> bool {
        self.signature_valid && self.files.iter().all(|(_, ok)| *ok)
    }
}

fn bad(what: impl std::fmt::Display) -> CardError {
    CardError::Malformed {
        what: format!("EF.SOD: {what}"),
    }
}

impl Sod {
    /// Parses EF.SOD (trailing padding ignored) and verifies the document signer's
    /// signature over its signed attributes, and the message digest over the content.
    pub fn parse(raw: &[u8]) -> Result<Sod, CardError> {
        if raw.len() > MAX_SOD {
            return Err(bad("too long"));
        }
        let inner = unwrap_tag_77(raw)?;
        let ci = ContentInfo::from_der(inner).map_err(bad)?;
        if ci.content_type != OID_SIGNED_DATA {
            return Err(bad("not SignedData"));
        }
        let sd: SignedData = ci.content.decode_as().map_err(bad)?;
        if sd.encap_content_info.econtent_type != OID_LDS_SECURITY_OBJECT {
            return Err(bad("content is not an LDS security object"));
        }
        let econtent = sd
            .encap_content_info
            .econtent
            .as_ref()
            .ok_or_else(|| bad("no content"))?;
        let content: OctetString = econtent.decode_as().map_err(bad)?;
        let lds = LdsSecurityObject::from_der(content.as_bytes()).map_err(bad)?;
        if lds.hash_algorithm.oid != OID_SHA256 {
            return Err(bad("hash algorithm other than SHA-256"));
        }
        let hashes = lds
            .hashes
            .iter()
            .map(|h| {
                let n = h.number.as_bytes();
                match n {
                    [b] => Ok((*b, h.hash.as_bytes().to_vec())),
                    [0, b] => Ok((*b, h.hash.as_bytes().to_vec())),
                    _ => Err(bad("data-group number")),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let signer = sd
            .certificates
            .as_ref()
            .and_then(|set| {
                set.0.iter().find_map(|c| match c {
                    cms::cert::CertificateChoices::Certificate(c) => Some(c.clone()),
                    _ => None,
                })
            })
            .ok_or_else(|| bad("no document signer certificate"))?;
        let si = sd
            .signer_infos
            .0
            .iter()
            .next()
            .ok_or_else(|| bad("no signer"))?;
        verify_signer_info(si, &signer, content.as_bytes())?;
        Ok(Sod {
            hashes,
            signer_der: signer.to_der().map_err(bad)?,
            signer,
        })
    }

    /// Whether `data` (a file as read, DER files cut at their encoded length) has the hash
    /// the SOD lists for `file`; `None` when the SOD lists no hash for it.
    pub fn check(&self, file: SodFile, data: &[u8]) -> Option<bool> {
        let listed = self
            .hashes
            .iter()
            .find(|(n, _)| *n == file.number())
            .map(|(_, h)| h)?;
        Some(Sha256::digest(data).as_slice() == listed.as_slice())
    }

    /// Subject of the document signer.
    pub fn signer_subject(&self) -> String {
        self.signer.tbs_certificate.subject.to_string()
    }

    /// Whether one of `anchors` (DER certificates) issued and signed the document signer.
    pub fn chains_to(&self, anchors: &[Vec<u8>]) -> Option<bool> {
        if anchors.is_empty() {
            return None;
        }
        Some(anchors.iter().any(|a| {
            X509::from_der(a).is_ok_and(|anchor| {
                anchor.tbs_certificate.subject == self.signer.tbs_certificate.issuer
                    && signed_by(&self.signer, &anchor)
            })
        }))
    }
}

/// `77 L ContentInfo` on the card; a bare ContentInfo is accepted too.
fn unwrap_tag_77(raw: &[u8]) -> Result<&[u8], CardError> {
    if raw.first() != Some(&0x77) {
        let len = crate::cert::der_total_len(raw).ok_or_else(|| bad("not DER"))?;
        return raw.get(..len).ok_or_else(|| bad("truncated"));
    }
    let l0 = *raw.get(1).ok_or_else(|| bad("truncated"))?;
    let (len, start) = match l0 {
        0..=0x7F => (usize::from(l0), 2),
        0x81 => (usize::from(*raw.get(2).ok_or_else(|| bad("truncated"))?), 3),
        0x82 => {
            let b = raw.get(2..4).ok_or_else(|| bad("truncated"))?;
            (usize::from(u16::from_be_bytes([b[0], b[1]])), 4)
        }
        _ => return Err(bad("length")),
    };
    raw.get(start..start + len).ok_or_else(|| bad("truncated"))
}

fn verify_signer_info(si: &SignerInfo, signer: &X509, content: &[u8]) -> Result<(), CardError> {
    if si.digest_alg.oid != OID_SHA256 {
        return Err(bad("signer digest other than SHA-256"));
    }
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or_else(|| bad("no signed attributes"))?;
    let digest = attrs
        .iter()
        .find(|a| a.oid == OID_MESSAGE_DIGEST)
        .and_then(|a| a.values.iter().next())
        .ok_or_else(|| bad("no message digest"))?;
    let digest: OctetString = digest.decode_as().map_err(bad)?;
    if digest.as_bytes() != Sha256::digest(content).as_slice() {
        return Err(bad("message digest does not match the content"));
    }
    let content_type = attrs
        .iter()
        .find(|a| a.oid == OID_CONTENT_TYPE)
        .and_then(|a| a.values.iter().next())
        .ok_or_else(|| bad("no content type"))?;
    if content_type.decode_as::<ObjectIdentifier>().ok() != Some(OID_LDS_SECURITY_OBJECT) {
        return Err(bad("signed content type"));
    }
    let signed = attrs.to_der().map_err(bad)?;
    let key = crate::cert::spki_rsa_key(&signer.tbs_certificate.subject_public_key_info)?;
    let sig = Signature::try_from(si.signature.as_bytes()).map_err(|_| bad("signature"))?;
    VerifyingKey::<Sha256>::new(key)
        .verify(&signed, &sig)
        .map_err(|_| bad("the document signer's signature does not verify"))
}

fn signed_by(cert: &X509, issuer: &X509) -> bool {
    let Ok(tbs) = cert.tbs_certificate.to_der() else {
        return false;
    };
    let Ok(key) = crate::cert::spki_rsa_key(&issuer.tbs_certificate.subject_public_key_info) else {
        return false;
    };
    let Some(raw) = cert.signature.as_bytes() else {
        return false;
    };
    let Ok(sig) = Signature::try_from(raw) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key).verify(&tbs, &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error() {
        for raw in [
            &[][..],
            &[0x77],
            &[0x77, 0x82, 0xFF],
            &[0x30, 0x03, 1, 2, 3],
        ] {
            assert!(Sod::parse(raw).is_err());
        }
    }
}
