//! Verification of a card's answer to a challenge: signature, chain, validity, key usage, and
//! the holder's codice fiscale from the certificate subject.
//!
//! The sandbox accepts what Italian CNS and signature cards produce: RSA keys, PKCS#1 v1.5 with
//! SHA-256, certificates signed with `sha256WithRSAEncryption`. Anything else is refused with its
//! own code rather than half-checked.

use chrono::{DateTime, Utc};
use der::{Decode, Encode};
use pec_domain::CodiceFiscale;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};

/// Longest chain accepted (card certificate plus intermediates).
pub const MAX_CHAIN: usize = 5;

const OID_SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
const OID_KEY_USAGE: &str = "2.5.29.15";
const OID_BASIC_CONSTRAINTS: &str = "2.5.29.19";
const OID_SERIAL_NUMBER: &str = "2.5.4.5";
const OID_COMMON_NAME: &str = "2.5.4.3";

/// Why a card answer was refused. Each has a stable code (`card.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// Not DER certificates, or an empty or too long chain.
    #[error("the certificate chain cannot be read")]
    Encoding,
    /// A key or signature algorithm other than RSA with SHA-256.
    #[error("unsupported key or signature algorithm")]
    UnsupportedAlgorithm,
    /// The challenge signature does not verify with the card certificate's key.
    #[error("the signature does not match the certificate")]
    Signature,
    /// A certificate is expired or not yet valid.
    #[error("a certificate is expired or not yet valid")]
    Expired,
    /// The chain does not end at a configured trust anchor, or a link does not verify.
    #[error("the certificate was not issued by a trusted authority")]
    Untrusted,
    /// The card certificate's key usage lacks digitalSignature (e.g. a qualified signature
    /// certificate, nonRepudiation only), or the certificate states no key usage.
    #[error("the certificate may not be used for this signature")]
    KeyUsage,
    /// No codice fiscale in the subject.
    #[error("the certificate holds no codice fiscale")]
    NoTaxCode,
}

impl CardError {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Encoding => "card.encoding",
            Self::UnsupportedAlgorithm => "card.unsupported_algorithm",
            Self::Signature => "card.signature_invalid",
            Self::Expired => "card.certificate_expired",
            Self::Untrusted => "card.untrusted_issuer",
            Self::KeyUsage => "card.key_usage",
            Self::NoTaxCode => "card.no_tax_code",
        }
    }

    /// English message.
    pub fn message_en(self) -> &'static str {
        match self {
            Self::Encoding => "The certificate chain cannot be read.",
            Self::UnsupportedAlgorithm => "Unsupported key or signature algorithm.",
            Self::Signature => "The signature does not match the certificate.",
            Self::Expired => "A certificate is expired or not yet valid.",
            Self::Untrusted => "The certificate was not issued by a trusted authority.",
            Self::KeyUsage => "The certificate may not be used for this signature.",
            Self::NoTaxCode => "The certificate holds no codice fiscale.",
        }
    }

    /// Italian message.
    pub fn message_it(self) -> &'static str {
        match self {
            Self::Encoding => "La catena di certificati non è leggibile.",
            Self::UnsupportedAlgorithm => "Algoritmo di chiave o di firma non supportato.",
            Self::Signature => "La firma non corrisponde al certificato.",
            Self::Expired => "Un certificato è scaduto o non ancora valido.",
            Self::Untrusted => "Il certificato non è emesso da un'autorità riconosciuta.",
            Self::KeyUsage => "Il certificato non può essere usato per questa firma.",
            Self::NoTaxCode => "Il certificato non contiene il codice fiscale.",
        }
    }
}

/// Verifies `signature` over `challenge` with the chain (card certificate first) against
/// `anchors` (DER) at `now`; returns the codice fiscale of the card's holder.
pub fn verify(
    chain_der: &[Vec<u8>],
    challenge: &[u8],
    signature: &[u8],
    anchors: &[Vec<u8>],
    now: DateTime<Utc>,
) -> Result<CodiceFiscale, CardError> {
    if chain_der.is_empty() || chain_der.len() > MAX_CHAIN {
        return Err(CardError::Encoding);
    }
    let chain = chain_der
        .iter()
        .map(|d| Certificate::from_der(d).map_err(|_| CardError::Encoding))
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = chain.first().ok_or(CardError::Encoding)?;

    // The signature first: a wrong key is the most telling error.
    let key = rsa_key(leaf)?;
    let digest = Sha256::digest(challenge);
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, signature)
        .map_err(|_| CardError::Signature)?;

    for cert in &chain {
        check_validity(cert, now)?;
    }
    check_key_usage(leaf)?;
    check_chain(&chain, anchors, now)?;
    tax_code(leaf)
}

fn rsa_key(cert: &Certificate) -> Result<RsaPublicKey, CardError> {
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|_| CardError::Encoding)?;
    RsaPublicKey::from_public_key_der(&spki).map_err(|_| CardError::UnsupportedAlgorithm)
}

fn check_validity(cert: &Certificate, now: DateTime<Utc>) -> Result<(), CardError> {
    let v = &cert.tbs_certificate.validity;
    let now = u64::try_from(now.timestamp()).map_err(|_| CardError::Expired)?;
    let nb = v.not_before.to_unix_duration().as_secs();
    let na = v.not_after.to_unix_duration().as_secs();
    if now < nb || now > na {
        return Err(CardError::Expired);
    }
    Ok(())
}

/// The value of the extension `oid`, if present. An extension present twice makes the
/// certificate unreadable (RFC 5280 §4.2): which of the two to believe is not ours to guess.
fn extension<'a>(cert: &'a Certificate, oid: &str) -> Result<Option<&'a [u8]>, CardError> {
    let mut found = None;
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        if ext.extn_id.to_string() == oid {
            if found.is_some() {
                return Err(CardError::Encoding);
            }
            found = Some(ext.extn_value.as_bytes());
        }
    }
    Ok(found)
}

fn key_usage(cert: &Certificate) -> Result<Option<KeyUsage>, CardError> {
    extension(cert, OID_KEY_USAGE)?
        .map(|v| KeyUsage::from_der(v).map_err(|_| CardError::Encoding))
        .transpose()
}

/// The card certificate must say its key may sign for authentication: keyUsage present with
/// digitalSignature (CNS authentication certificates are issued so, critical). A certificate
/// with nonRepudiation only is a qualified signature certificate: signing a server-chosen
/// challenge with it would hand the server a qualified signature over bytes of its choosing,
/// so it is refused even though the signature verifies.
fn check_key_usage(cert: &Certificate) -> Result<(), CardError> {
    match key_usage(cert)? {
        Some(ku) if ku.digital_signature() => Ok(()),
        _ => Err(CardError::KeyUsage),
    }
}

/// An issuing certificate must be a CA (basicConstraints cA, keyUsage keyCertSign when the
/// extension is there) whose pathLenConstraint allows `below` intermediates under it.
fn check_issuer(cert: &Certificate, below: usize) -> Result<(), CardError> {
    let bc = extension(cert, OID_BASIC_CONSTRAINTS)?
        .map(|v| BasicConstraints::from_der(v).map_err(|_| CardError::Encoding))
        .transpose()?;
    let Some(bc) = bc.filter(|bc| bc.ca) else {
        return Err(CardError::Untrusted);
    };
    if let Some(max) = bc.path_len_constraint
        && below > usize::from(max)
    {
        return Err(CardError::Untrusted);
    }
    if let Some(ku) = key_usage(cert)?
        && !ku.key_cert_sign()
    {
        return Err(CardError::Untrusted);
    }
    Ok(())
}

/// Whether `child` was signed by `issuer`'s key, with the issuer named as such.
fn signed_by(child: &Certificate, issuer: &Certificate) -> Result<bool, CardError> {
    let child_issuer = child
        .tbs_certificate
        .issuer
        .to_der()
        .map_err(|_| CardError::Encoding)?;
    let issuer_subject = issuer
        .tbs_certificate
        .subject
        .to_der()
        .map_err(|_| CardError::Encoding)?;
    if child_issuer != issuer_subject {
        return Ok(false);
    }
    if child.signature_algorithm.oid.to_string() != OID_SHA256_WITH_RSA {
        return Err(CardError::UnsupportedAlgorithm);
    }
    let key = rsa_key(issuer)?;
    let tbs = child
        .tbs_certificate
        .to_der()
        .map_err(|_| CardError::Encoding)?;
    let sig = child.signature.raw_bytes();
    Ok(key
        .verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(&tbs), sig)
        .is_ok())
}

/// Each certificate of the chain must be signed by the next one, every issuer must be a CA
/// allowed to have the intermediates below it, and the chain must end at a trust anchor: the
/// last certificate is an anchor, or an anchor signed it. A missing or unknown intermediate
/// leaves the chain hanging: untrusted.
fn check_chain(
    chain: &[Certificate],
    anchors: &[Vec<u8>],
    now: DateTime<Utc>,
) -> Result<(), CardError> {
    for (i, pair) in chain.windows(2).enumerate() {
        if let [child, issuer] = pair {
            if !signed_by(child, issuer)? {
                return Err(CardError::Untrusted);
            }
            // `issuer` is chain[i + 1]: chain[1..=i] are the intermediates below it.
            check_issuer(issuer, i)?;
        }
    }
    let last = chain.last().ok_or(CardError::Encoding)?;
    let last_der = last.to_der().map_err(|_| CardError::Encoding)?;
    for anchor_der in anchors {
        let Ok(anchor) = Certificate::from_der(anchor_der) else {
            continue;
        };
        if last_der == *anchor_der {
            return Ok(());
        }
        if signed_by(last, &anchor)? {
            check_validity(&anchor, now)?;
            // Every certificate after the card's is an intermediate under the anchor.
            check_issuer(&anchor, chain.len().saturating_sub(1))?;
            return Ok(());
        }
    }
    Err(CardError::Untrusted)
}

/// The codice fiscale in the subject: serialNumber `TINIT-<cf>` or `IT:<cf>`, else the first 16
/// characters of the common name (CNS style `<cf>/<serial>.<hash>`).
pub fn tax_code(cert: &Certificate) -> Result<CodiceFiscale, CardError> {
    let mut serial = None;
    let mut cn = None;
    for rdn in cert.tbs_certificate.subject.0.iter() {
        for atv in rdn.0.iter() {
            let oid = atv.oid.to_string();
            let text = std::str::from_utf8(atv.value.value()).ok();
            if oid == OID_SERIAL_NUMBER {
                serial = text.map(str::to_owned);
            } else if oid == OID_COMMON_NAME {
                cn = text.map(str::to_owned);
            }
        }
    }
    if let Some(s) = serial {
        let s = s.trim();
        let stripped = s.strip_prefix("TINIT-").or_else(|| s.strip_prefix("IT:"));
        if let Some(cf) = stripped.and_then(|c| CodiceFiscale::parse(c).ok()) {
            return Ok(cf);
        }
    }
    cn.as_deref()
        .and_then(|c| c.get(..16))
        .and_then(|c| CodiceFiscale::parse(c).ok())
        .ok_or(CardError::NoTaxCode)
}
