//! Verification of a card's answer to a challenge: signature, chain, validity, key usage,
//! policy, key size, extensions, and the holder's codice fiscale from the certificate subject.
//! Revocation (CRL and OCSP) is checked afterwards, over the network, by
//! [`crate::revocation`], on the pairs [`verify`] returns.
//!
//! The sandbox accepts what Italian CNS and signature cards produce: RSA keys, PKCS#1 v1.5 with
//! SHA-256, certificates signed with `sha256WithRSAEncryption`. Anything else is refused with its
//! own code rather than half-checked.

use chrono::{DateTime, Utc};
use der::{Decode, Encode};
use pec_domain::CodiceFiscale;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, CertificatePolicies, ExtendedKeyUsage, KeyUsage};

/// Longest chain accepted (card certificate plus intermediates).
pub const MAX_CHAIN: usize = 5;
/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// Smallest RSA modulus of a card from an explicitly allowed legacy lot (CNS 1.0 cards were
/// issued with 1024-bit keys; see [`Rules::legacy_key_issuers`]).
pub const LEGACY_MIN_RSA_BITS: usize = 1024;
/// AgID's CNS authentication certificate policy.
pub const OID_POLICY_CNS_AUTH: &str = "1.3.76.16.2.1";
/// id-kp-clientAuth (RFC 5280 §4.2.1.12).
pub const OID_KP_CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";

const OID_SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
const OID_KEY_USAGE: &str = "2.5.29.15";
const OID_BASIC_CONSTRAINTS: &str = "2.5.29.19";
const OID_SERIAL_NUMBER: &str = "2.5.4.5";
pub(crate) const OID_COMMON_NAME: &str = "2.5.4.3";
pub(crate) const OID_EXT_KEY_USAGE: &str = "2.5.29.37";
pub(crate) const OID_CERT_POLICIES: &str = "2.5.29.32";
pub(crate) const OID_ANY_EXT_KEY_USAGE: &str = "2.5.29.37.0";

/// Extensions this verifier understands, in the sense of RFC 5280 §4.2: it either processes
/// them (key usage, basic constraints, extended key usage, policies; distribution points and
/// authority information access, for revocation) or they carry nothing a decision here rests
/// on (key identifiers, alternative names). A certificate with any other extension marked
/// critical is refused: name constraints, policy constraints or inhibitAnyPolicy on an
/// intermediate would otherwise be silently ignored.
const UNDERSTOOD_EXTENSIONS: &[&str] = &[
    OID_KEY_USAGE,
    OID_BASIC_CONSTRAINTS,
    OID_EXT_KEY_USAGE,
    OID_CERT_POLICIES,
    "2.5.29.14",         // subjectKeyIdentifier
    "2.5.29.35",         // authorityKeyIdentifier
    "2.5.29.17",         // subjectAltName
    "2.5.29.18",         // issuerAltName
    "2.5.29.31",         // cRLDistributionPoints
    "1.3.6.1.5.5.7.1.1", // authorityInfoAccess
];

/// Rules a deployment may change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// SHA-256 fingerprints (of the DER) of the issuing CA certificates whose cards may have
    /// RSA keys from [`LEGACY_MIN_RSA_BITS`] up: a lot of older cards the deployment explicitly
    /// accepts. Every other card needs [`MIN_RSA_BITS`].
    pub legacy_key_issuers: Vec<[u8; 32]>,
}

/// A card answer whose signature, chain and certificate rules hold; revocation is still to be
/// checked ([`crate::revocation::Checker::check`]).
#[derive(Debug, Clone)]
pub struct Verified {
    /// The holder's codice fiscale.
    pub codice_fiscale: CodiceFiscale,
    /// Every certificate of the chain that is not a trust anchor itself, with its issuer (the
    /// next certificate of the chain, or the anchor that signed the last one): what
    /// revocation is checked on. The card's certificate first.
    pub issued: Vec<(Certificate, Certificate)>,
}

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
    /// The card's certificate is neither a CNS authentication certificate (policy
    /// 1.3.76.16.2.1) nor one for client authentication (extended key usage clientAuth), or it
    /// restricts its key to other purposes.
    #[error("the certificate is not an authentication certificate")]
    Policy,
    /// An RSA key shorter than the minimum (2048 bits, or 1024 for an allowed legacy lot).
    #[error("the card's key is too short")]
    WeakKey,
    /// A certificate has a critical extension this verifier does not process.
    #[error("a certificate has an unknown critical extension")]
    CriticalExtension,
    /// The issuer revoked (or suspended) a certificate of the chain.
    #[error("the card's certificate was revoked")]
    Revoked,
    /// Revocation could not be checked (no responder reachable, no usable answer) and the
    /// server is configured to refuse cards then.
    #[error("the revocation status cannot be checked")]
    RevocationUnavailable,
    /// The method is the CIE, and the certificate is not a CIE authentication certificate
    /// (policy 1.3.76.47.4; see [`crate::cie`]).
    #[error("the certificate is not a CIE authentication certificate")]
    NotCie,
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
            Self::Policy => "card.not_authentication",
            Self::WeakKey => "card.weak_key",
            Self::CriticalExtension => "card.unknown_critical_extension",
            Self::Revoked => "card.revoked",
            Self::RevocationUnavailable => "card.revocation_unavailable",
            Self::NotCie => "card.not_cie",
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
            Self::Policy => {
                "The card's certificate is not an authentication certificate (CNS): use the card's authentication certificate."
            }
            Self::WeakKey => {
                "The card's key is too short (under 2048 bits) to be accepted: ask the issuer for a new card."
            }
            Self::CriticalExtension => {
                "A certificate contains a critical extension that cannot be checked."
            }
            Self::Revoked => {
                "This card was revoked or suspended by its issuer: it can no longer be used for identification. Use another card or another method."
            }
            Self::RevocationUnavailable => {
                "Whether the card was revoked cannot be checked right now: try again in a few minutes."
            }
            Self::NotCie => {
                "This certificate is not the authentication certificate of an electronic identity card (CIE): use the CIE, or choose the method of your card."
            }
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
            Self::Policy => {
                "Il certificato della carta non è un certificato di autenticazione (CNS): usa il certificato di autenticazione della carta."
            }
            Self::WeakKey => {
                "La chiave della carta è troppo corta (meno di 2048 bit) per essere accettata: chiedi una nuova carta all'ente che l'ha emessa."
            }
            Self::CriticalExtension => {
                "Un certificato contiene un'estensione critica che non può essere verificata."
            }
            Self::Revoked => {
                "Questa carta è stata revocata o sospesa dall'ente che l'ha emessa: non può più essere usata per il riconoscimento. Usa un'altra carta o un altro metodo."
            }
            Self::RevocationUnavailable => {
                "In questo momento non è possibile verificare se la carta è stata revocata: riprova tra qualche minuto."
            }
            Self::NotCie => {
                "Questo certificato non è quello di autenticazione di una Carta d'Identità Elettronica (CIE): usa la CIE, oppure scegli il metodo della tua carta."
            }
        }
    }
}

/// What the card's certificate must be for: the method's own rule on purpose and on where the
/// codice fiscale is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// CNS / signature-card authentication: AgID's CNS policy or clientAuth; codice fiscale
    /// from serialNumber, else from the CN.
    CardAuthentication,
    /// The CIE's authentication certificate: policy 1.3.76.47.4, codice fiscale from the first
    /// 16 characters of the CN (see [`crate::cie`]).
    Cie,
}

/// Verifies `signature` over `message` with the chain (card certificate first) against
/// `anchors` (DER) at `now`, under `rules`. On success, the holder's codice fiscale and the
/// certificates whose revocation is to be checked next.
pub fn verify(
    chain_der: &[Vec<u8>],
    message: &[u8],
    signature: &[u8],
    anchors: &[Vec<u8>],
    rules: &Rules,
    now: DateTime<Utc>,
) -> Result<Verified, CardError> {
    verify_for(
        Purpose::CardAuthentication,
        chain_der,
        message,
        signature,
        anchors,
        rules,
        now,
    )
}

/// [`verify`] under the rule of `purpose`.
pub fn verify_for(
    purpose: Purpose,
    chain_der: &[Vec<u8>],
    message: &[u8],
    signature: &[u8],
    anchors: &[Vec<u8>],
    rules: &Rules,
    now: DateTime<Utc>,
) -> Result<Verified, CardError> {
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
    let digest = Sha256::digest(message);
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, signature)
        .map_err(|_| CardError::Signature)?;

    for cert in &chain {
        check_validity(cert, now)?;
        check_critical_extensions(cert)?;
    }
    // Trust before purpose: a certificate no anchor vouches for says nothing by its content.
    let issued = check_chain(&chain, anchors, now)?;
    check_key_usage(leaf)?;
    let codice_fiscale = match purpose {
        Purpose::CardAuthentication => {
            check_authentication_purpose(leaf)?;
            check_key_sizes(&issued, rules)?;
            tax_code(leaf)?
        }
        Purpose::Cie => {
            crate::cie::check_cie_purpose(leaf)?;
            check_key_sizes(&issued, rules)?;
            crate::cie::tax_code(leaf)?
        }
    };
    Ok(Verified {
        codice_fiscale,
        issued,
    })
}

/// Every extension marked critical must be one this verifier understands.
fn check_critical_extensions(cert: &Certificate) -> Result<(), CardError> {
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        if ext.critical && !UNDERSTOOD_EXTENSIONS.contains(&ext.extn_id.to_string().as_str()) {
            return Err(CardError::CriticalExtension);
        }
    }
    Ok(())
}

/// The card's certificate must be meant for authentication: the AgID CNS authentication
/// policy, or the clientAuth extended key usage. An extended key usage that names other
/// purposes only (e-mail protection, say) restricts the key to them, policy or not.
fn check_authentication_purpose(cert: &Certificate) -> Result<(), CardError> {
    let eku = extension(cert, OID_EXT_KEY_USAGE)?
        .map(|v| ExtendedKeyUsage::from_der(v).map_err(|_| CardError::Encoding))
        .transpose()?;
    let client_auth = match &eku {
        Some(eku) => {
            let purposes: Vec<String> = eku.0.iter().map(ToString::to_string).collect();
            let client_auth = purposes.iter().any(|p| p == OID_KP_CLIENT_AUTH);
            if !client_auth && !purposes.iter().any(|p| p == OID_ANY_EXT_KEY_USAGE) {
                return Err(CardError::Policy);
            }
            client_auth
        }
        None => false,
    };
    let cns_policy = extension(cert, OID_CERT_POLICIES)?
        .map(|v| CertificatePolicies::from_der(v).map_err(|_| CardError::Encoding))
        .transpose()?
        .is_some_and(|p| {
            p.0.iter()
                .any(|i| i.policy_identifier.to_string() == OID_POLICY_CNS_AUTH)
        });
    if client_auth || cns_policy {
        Ok(())
    } else {
        Err(CardError::Policy)
    }
}

/// RSA keys of at least [`MIN_RSA_BITS`]; the card's own key may be as short as
/// [`LEGACY_MIN_RSA_BITS`] when its issuer is an allowed legacy lot.
fn check_key_sizes(issued: &[(Certificate, Certificate)], rules: &Rules) -> Result<(), CardError> {
    for (i, (cert, issuer)) in issued.iter().enumerate() {
        let bits = rsa_key(cert)?.size() * 8;
        if bits >= MIN_RSA_BITS {
            continue;
        }
        let legacy = i == 0
            && bits >= LEGACY_MIN_RSA_BITS
            && issuer
                .to_der()
                .map(|der| {
                    rules
                        .legacy_key_issuers
                        .contains(&Sha256::digest(der).into())
                })
                .unwrap_or(false);
        if !legacy {
            return Err(CardError::WeakKey);
        }
    }
    Ok(())
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
pub(crate) fn extension<'a>(
    cert: &'a Certificate,
    oid: &str,
) -> Result<Option<&'a [u8]>, CardError> {
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
/// leaves the chain hanging: untrusted. Returns each certificate that is not an anchor with
/// its issuer.
fn check_chain(
    chain: &[Certificate],
    anchors: &[Vec<u8>],
    now: DateTime<Utc>,
) -> Result<Vec<(Certificate, Certificate)>, CardError> {
    let mut issued = Vec::with_capacity(chain.len());
    for (i, pair) in chain.windows(2).enumerate() {
        if let [child, issuer] = pair {
            if !signed_by(child, issuer)? {
                return Err(CardError::Untrusted);
            }
            // `issuer` is chain[i + 1]: chain[1..=i] are the intermediates below it.
            check_issuer(issuer, i)?;
            issued.push((child.clone(), issuer.clone()));
        }
    }
    let last = chain.last().ok_or(CardError::Encoding)?;
    let last_der = last.to_der().map_err(|_| CardError::Encoding)?;
    for anchor_der in anchors {
        let Ok(anchor) = Certificate::from_der(anchor_der) else {
            continue;
        };
        if last_der == *anchor_der {
            // The last certificate is the anchor itself: nothing above it to ask.
            return Ok(issued);
        }
        if signed_by(last, &anchor)? {
            check_validity(&anchor, now)?;
            // Every certificate after the card's is an intermediate under the anchor.
            check_issuer(&anchor, chain.len().saturating_sub(1))?;
            issued.push((last.clone(), anchor));
            return Ok(issued);
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
            // The first of each, as the app reads them (pec-card's certificate parser): the
            // holder sees in the app the codice fiscale the provider will compare.
            if oid == OID_SERIAL_NUMBER && serial.is_none() {
                serial = text.map(str::to_owned);
            } else if oid == OID_COMMON_NAME && cn.is_none() {
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
