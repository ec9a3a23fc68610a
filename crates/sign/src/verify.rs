//! Verifying a CAdES-BES `.p7m` the way a PEC provider must before it relies on it.
//!
//! [`inspect`] checks what the file says about itself: one signer, the content attached and
//! matching its message digest, the signature value over the signed attributes with the
//! signer's key, signing-certificate-v2 naming that very certificate, a signing time. It
//! returns the content and the signer's details (who, codice fiscale, validity) even when the
//! certificate is not trusted, for `pec verify` and for support.
//!
//! [`verify`] adds the provider's rules ([`Policy`]): the content is the document the provider
//! issued; the certificate chain ends at a configured trusted CA, every certificate of it valid
//! at the signing time and now, every issuer a CA; the certificate is for signatures (key usage
//! nonRepudiation), qualified (a QcCompliance statement or a qualified policy), and the
//! signing time is not in the future. The codice fiscale (subject serialNumber `TINIT-…`, or
//! the older `IT:…`) comes back for comparison with the declared person
//! ([`VerifiedSignature::check_codice_fiscale`]).
//!
//! Not covered (documented limits): revocation (CRL/OCSP) and time stamps (CAdES-T); a
//! signing time is the signer's own claim, which is why validity is also checked at `now`.
//! Only DER input is accepted, as produced by this crate, OpenSSL and the signing tools of
//! Italian QTSPs; any byte string is safe to pass (the parser has a fuzz target).

use std::time::{Duration, SystemTime};

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{
    Any, ObjectIdentifier, OctetString, PrintableStringRef, TeletexStringRef, Utf8StringRef,
};
use der::{Decode, Encode, Tag, Tagged};
use pec_domain::CodiceFiscale;
use rsa::RsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, CertificatePolicies, KeyUsage};
use x509_cert::name::Name;
use x509_cert::time::Time;

use crate::asn1::{
    OID_COMMON_NAME, OID_CONTENT_TYPE, OID_DATA, OID_GIVEN_NAME, OID_MESSAGE_DIGEST,
    OID_QC_COMPLIANCE, OID_QC_SSCD, OID_QC_STATEMENTS, OID_RSA_ENCRYPTION, OID_SERIAL_NUMBER,
    OID_SHA256, OID_SHA256_WITH_RSA, OID_SHA384_WITH_RSA, OID_SHA512_WITH_RSA, OID_SIGNED_DATA,
    OID_SIGNING_CERTIFICATE_V2, OID_SIGNING_TIME, OID_SURNAME, QUALIFIED_POLICIES, QcStatement,
    SigningCertificateV2,
};
use crate::error::VerifyError;

/// The end line of a PEM certificate block (RFC 7468 §5.1).
const PEM_END: &str = "-----END CERTIFICATE-----";

/// How far in the future a signing time may be (clocks of signer and provider differ).
pub const CLOCK_SKEW: Duration = Duration::from_secs(300);
/// Longest chain walked from the signer to a trusted CA.
const MAX_CHAIN: usize = 6;

/// The CAs a provider trusts for qualified signatures (from the EU trusted lists, in
/// production; the test CAs in the sandbox).
#[derive(Clone, Debug, Default)]
pub struct TrustedCas {
    certs: Vec<Certificate>,
}

impl TrustedCas {
    /// From DER certificates.
    pub fn from_der<'a>(
        ders: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<TrustedCas, VerifyError> {
        let certs = ders
            .into_iter()
            .map(|d| {
                Certificate::from_der(d)
                    .map_err(|e| VerifyError::Malformed(format!("trusted CA: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(TrustedCas { certs })
    }

    /// From a file's bytes: DER, or PEM with one or more `CERTIFICATE` blocks.
    pub fn from_file_bytes(bytes: &[u8]) -> Result<TrustedCas, VerifyError> {
        if bytes.first() == Some(&0x30) {
            return TrustedCas::from_der([bytes]);
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|_| VerifyError::Malformed("trusted CA: neither DER nor PEM".into()))?;
        // Each PEM block is decoded by itself (RFC 7468), then parsed as DER from a slice.
        // x509-cert's `load_pem_chain` is not used: it panics on an empty file and loops
        // forever on a block whose DER is cut short (both found by the `trusted_cas` fuzz
        // target), and a CA file is input the user hands us.
        let mut ders = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("-----BEGIN ") {
            let block = &rest[start..];
            let end = block.find(PEM_END).ok_or_else(|| {
                VerifyError::Malformed("trusted CA: a PEM block has no end line".into())
            })? + PEM_END.len();
            let (label, der) = der::pem::decode_vec(&block.as_bytes()[..end])
                .map_err(|e| VerifyError::Malformed(format!("trusted CA: {e}")))?;
            if label != "CERTIFICATE" {
                return Err(VerifyError::Malformed(format!(
                    "trusted CA: a {label} block, not a certificate"
                )));
            }
            ders.push(der);
            rest = &block[end..];
        }
        if ders.is_empty() {
            return Err(VerifyError::Malformed(
                "trusted CA: neither DER nor PEM".into(),
            ));
        }
        TrustedCas::from_der(ders.iter().map(Vec::as_slice))
    }

    /// Adds the CAs of `other`.
    pub fn extend(&mut self, other: TrustedCas) {
        self.certs.extend(other.certs);
    }

    /// How many CAs are trusted.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    fn is_anchor(&self, cert: &Certificate) -> bool {
        self.certs.iter().any(|a| same_entity(a, cert))
    }
}

/// The provider's rules for [`verify`].
#[derive(Clone, Debug)]
pub struct Policy<'a> {
    /// CAs the chain must end at.
    pub trusted: &'a TrustedCas,
    /// The document the signature must be over (the form the provider issued), if known.
    pub expected_content: Option<&'a [u8]>,
    /// The verification time.
    pub now: SystemTime,
    /// Require a qualified certificate (QC statements or a qualified policy).
    pub require_qualified: bool,
}

impl<'a> Policy<'a> {
    /// The provider's rules: trusted CAs, qualified certificate, at the current time.
    pub fn new(trusted: &'a TrustedCas) -> Policy<'a> {
        Policy {
            trusted,
            expected_content: None,
            now: SystemTime::now(),
            require_qualified: true,
        }
    }

    /// The signed content must be exactly `content`.
    pub fn expecting(mut self, content: &'a [u8]) -> Policy<'a> {
        self.expected_content = Some(content);
        self
    }

    /// Verifies at `now` instead of the clock's time (tests, the sandbox's movable clock).
    pub fn at(mut self, now: SystemTime) -> Policy<'a> {
        self.now = now;
        self
    }
}

/// Who signed, from the signer's certificate.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SignerDetails {
    /// Subject, RFC 4514.
    pub subject: String,
    /// Issuer, RFC 4514.
    pub issuer: String,
    /// Serial number, hex.
    pub serial: String,
    /// commonName.
    pub common_name: Option<String>,
    /// givenName.
    pub given_name: Option<String>,
    /// surname.
    pub surname: Option<String>,
    /// The subject's serialNumber attribute as written.
    pub subject_serial_number: Option<String>,
    /// The codice fiscale from serialNumber (`TINIT-` / `IT:` stripped, check character valid).
    pub codice_fiscale: Option<String>,
    /// notBefore, seconds since the Unix epoch.
    pub not_before: u64,
    /// notAfter, seconds since the Unix epoch.
    pub not_after: u64,
    /// Key usage nonRepudiation.
    pub non_repudiation: bool,
    /// QcCompliance statement present.
    pub qc_compliance: bool,
    /// QcSSCD statement present (key on a qualified device).
    pub qc_sscd: bool,
    /// Qualified certificate policies present.
    pub qualified_policies: Vec<String>,
    /// SHA-256 of the certificate, hex.
    pub sha256: String,
}

/// What [`inspect`] found: the file is internally consistent.
#[derive(Clone, Debug)]
pub struct Inspection {
    /// The signed document.
    pub content: Vec<u8>,
    /// The signing-time attribute.
    pub signing_time: SystemTime,
    /// The signer.
    pub signer: SignerDetails,
    signer_cert: Certificate,
    certs: Vec<Certificate>,
}

/// A signature that passed [`verify`].
#[derive(Clone, Debug)]
pub struct VerifiedSignature {
    /// The signed document.
    pub content: Vec<u8>,
    /// The signing-time attribute.
    pub signing_time: SystemTime,
    /// The signer.
    pub signer: SignerDetails,
    /// Subjects of the chain, signer first, trusted CA last.
    pub chain: Vec<String>,
}

impl VerifiedSignature {
    /// The certificate's codice fiscale must be `declared`'s.
    pub fn check_codice_fiscale(&self, declared: &CodiceFiscale) -> Result<(), VerifyError> {
        match &self.signer.codice_fiscale {
            None => Err(VerifyError::CodiceFiscaleMissing),
            Some(cf) if cf == declared.as_str() => Ok(()),
            Some(cf) => Err(VerifyError::CodiceFiscaleMismatch { found: cf.clone() }),
        }
    }
}

/// Checks the file's own consistency (see the module documentation).
pub fn inspect(p7m: &[u8]) -> Result<Inspection, VerifyError> {
    let ci = ContentInfo::from_der(p7m).map_err(malformed)?;
    if ci.content_type != OID_SIGNED_DATA {
        return Err(VerifyError::Malformed(format!(
            "content type {} is not signedData",
            ci.content_type
        )));
    }
    let sd: SignedData = ci.content.decode_as().map_err(malformed)?;
    let infos = sd.signer_infos.0.as_slice();
    let [si] = infos else {
        return Err(VerifyError::SignerCount(infos.len()));
    };
    if sd.encap_content_info.econtent_type != OID_DATA {
        return Err(VerifyError::Malformed(format!(
            "encapsulated content type {} is not id-data",
            sd.encap_content_info.econtent_type
        )));
    }
    let econtent = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or(VerifyError::Detached)?;
    let content = econtent
        .decode_as::<OctetString>()
        .map_err(malformed)?
        .into_bytes();
    let certs: Vec<Certificate> = sd
        .certificates
        .as_ref()
        .map(|set| {
            set.0
                .iter()
                .filter_map(|c| match c {
                    CertificateChoices::Certificate(c) => Some(c.clone()),
                    CertificateChoices::Other(_) => None,
                })
                .collect()
        })
        .unwrap_or_default();

    if si.digest_alg.oid != OID_SHA256 {
        return Err(VerifyError::UnsupportedAlgorithm(
            si.digest_alg.oid.to_string(),
        ));
    }
    let sig_alg = si.signature_algorithm.oid;
    if sig_alg != OID_RSA_ENCRYPTION && sig_alg != OID_SHA256_WITH_RSA {
        return Err(VerifyError::UnsupportedAlgorithm(sig_alg.to_string()));
    }
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or(VerifyError::MissingAttribute("signed attributes"))?;

    let content_type = single_attr(si, OID_CONTENT_TYPE, "content-type")?;
    if content_type
        .decode_as::<ObjectIdentifier>()
        .map_err(malformed)?
        != OID_DATA
    {
        return Err(VerifyError::Malformed("content-type is not id-data".into()));
    }
    let digest = single_attr(si, OID_MESSAGE_DIGEST, "message-digest")?
        .decode_as::<OctetString>()
        .map_err(malformed)?;
    if digest.as_bytes() != Sha256::digest(&content).as_slice() {
        return Err(VerifyError::ContentAltered);
    }

    let signer_cert = find_signer(si, &certs)?;
    let signer_der = signer_cert.to_der().map_err(malformed)?;
    let key = rsa_key(&signer_cert).map_err(|_| {
        VerifyError::UnsupportedAlgorithm(
            signer_cert
                .tbs_certificate
                .subject_public_key_info
                .algorithm
                .oid
                .to_string(),
        )
    })?;
    let signed = attrs.to_der().map_err(malformed)?;
    let sig =
        Signature::try_from(si.signature.as_bytes()).map_err(|_| VerifyError::SignatureInvalid)?;
    VerifyingKey::<Sha256>::new(key)
        .verify(&signed, &sig)
        .map_err(|_| VerifyError::SignatureInvalid)?;

    check_signing_certificate(si, &signer_cert, &signer_der)?;
    // Time is a CHOICE: decoded from the value's own TLV.
    let time_tlv = single_attr(si, OID_SIGNING_TIME, "signing-time")?
        .to_der()
        .map_err(malformed)?;
    let signing_time = Time::from_der(&time_tlv)
        .map_err(malformed)?
        .to_system_time();

    Ok(Inspection {
        content,
        signing_time,
        signer: details(&signer_cert, &signer_der)?,
        signer_cert,
        certs,
    })
}

/// Checks the file and the provider's rules (see the module documentation).
pub fn verify(p7m: &[u8], policy: &Policy<'_>) -> Result<VerifiedSignature, VerifyError> {
    let ins = inspect(p7m)?;
    if let Some(expected) = policy.expected_content
        && expected != ins.content.as_slice()
    {
        return Err(VerifyError::ContentMismatch);
    }
    if ins.signing_time > policy.now + CLOCK_SKEW {
        return Err(VerifyError::SigningTimeInFuture);
    }
    let chain = build_chain(&ins, policy)?;
    if !ins.signer.non_repudiation {
        return Err(VerifyError::NotSignatureCertificate);
    }
    if policy.require_qualified
        && !ins.signer.qc_compliance
        && ins.signer.qualified_policies.is_empty()
    {
        return Err(VerifyError::NotQualified);
    }
    Ok(VerifiedSignature {
        content: ins.content,
        signing_time: ins.signing_time,
        signer: ins.signer,
        chain,
    })
}

/// From the signer to a trusted CA, each link's signature and validity checked.
fn build_chain(ins: &Inspection, policy: &Policy<'_>) -> Result<Vec<String>, VerifyError> {
    let times = [ins.signing_time, policy.now];
    let mut current = ins.signer_cert.clone();
    let mut subjects = vec![current.tbs_certificate.subject.to_string()];
    check_validity(&current, &times)?;
    for depth in 0..MAX_CHAIN {
        if policy.trusted.is_anchor(&current) {
            return Ok(subjects);
        }
        let issuer_name = &current.tbs_certificate.issuer;
        let candidates = policy.trusted.certs.iter().chain(ins.certs.iter());
        let issuer = candidates
            .filter(|c| &c.tbs_certificate.subject == issuer_name)
            .find(|c| verify_cert_signature(&current, c).is_ok());
        let Some(issuer) = issuer else {
            return Err(VerifyError::Untrusted);
        };
        if same_entity(issuer, &current) {
            // Self-signed and not an anchor: the chain ends at an unknown root.
            return Err(VerifyError::Untrusted);
        }
        let anchor = policy.trusted.is_anchor(issuer);
        if !anchor {
            check_validity(issuer, &times)?;
        }
        check_is_ca(issuer, depth)?;
        subjects.push(issuer.tbs_certificate.subject.to_string());
        if anchor {
            return Ok(subjects);
        }
        current = issuer.clone();
    }
    Err(VerifyError::ChainInvalid("chain too long".into()))
}

fn check_validity(cert: &Certificate, times: &[SystemTime]) -> Result<(), VerifyError> {
    let v = &cert.tbs_certificate.validity;
    let subject = || cert.tbs_certificate.subject.to_string();
    for t in times {
        if *t < v.not_before.to_system_time() {
            return Err(VerifyError::CertificateNotYetValid { subject: subject() });
        }
        if *t > v.not_after.to_system_time() {
            return Err(VerifyError::CertificateExpired { subject: subject() });
        }
    }
    Ok(())
}

fn check_is_ca(issuer: &Certificate, depth: usize) -> Result<(), VerifyError> {
    let tbs = &issuer.tbs_certificate;
    let subject = tbs.subject.to_string();
    match tbs.get::<BasicConstraints>() {
        Ok(Some((_, bc))) if bc.ca => {
            if let Some(max) = bc.path_len_constraint
                && depth > usize::from(max)
            {
                return Err(VerifyError::ChainInvalid(format!(
                    "{subject}: path length constraint exceeded"
                )));
            }
        }
        Ok(_) => {
            return Err(VerifyError::ChainInvalid(format!("{subject} is not a CA")));
        }
        Err(e) => return Err(malformed(e)),
    }
    match tbs.get::<KeyUsage>() {
        Ok(Some((_, ku))) if !ku.key_cert_sign() => Err(VerifyError::ChainInvalid(format!(
            "{subject} may not sign certificates"
        ))),
        Ok(_) => Ok(()),
        Err(e) => Err(malformed(e)),
    }
}

fn verify_cert_signature(child: &Certificate, issuer: &Certificate) -> Result<(), VerifyError> {
    let key = rsa_key(issuer)?;
    let tbs = child.tbs_certificate.to_der().map_err(malformed)?;
    let raw = child
        .signature
        .as_bytes()
        .ok_or_else(|| VerifyError::ChainInvalid("signature bit string".into()))?;
    let sig = Signature::try_from(raw).map_err(|_| VerifyError::SignatureInvalid)?;
    let bad = |_| VerifyError::ChainInvalid("certificate signature".into());
    match child.signature_algorithm.oid {
        o if o == OID_SHA256_WITH_RSA => VerifyingKey::<Sha256>::new(key)
            .verify(&tbs, &sig)
            .map_err(bad),
        o if o == OID_SHA384_WITH_RSA => VerifyingKey::<Sha384>::new(key)
            .verify(&tbs, &sig)
            .map_err(bad),
        o if o == OID_SHA512_WITH_RSA => VerifyingKey::<Sha512>::new(key)
            .verify(&tbs, &sig)
            .map_err(bad),
        o => Err(VerifyError::UnsupportedAlgorithm(o.to_string())),
    }
}

/// signing-certificate-v2 must name the signer's certificate: its hash, and its issuer and
/// serial when given (RFC 5035 §5.4).
fn check_signing_certificate(
    si: &SignerInfo,
    cert: &Certificate,
    cert_der: &[u8],
) -> Result<(), VerifyError> {
    let value = match single_attr(si, OID_SIGNING_CERTIFICATE_V2, "signing-certificate-v2") {
        Err(VerifyError::MissingAttribute(_)) => {
            return Err(VerifyError::SigningCertificateMissing);
        }
        other => other?,
    };
    let ess: SigningCertificateV2 = value.decode_as().map_err(malformed)?;
    let first = ess
        .certs
        .first()
        .ok_or(VerifyError::SigningCertificateMismatch)?;
    let hash_oid = first.hash_algorithm.as_ref().map_or(OID_SHA256, |a| a.oid);
    let hash = if hash_oid == OID_SHA256 {
        Sha256::digest(cert_der).to_vec()
    } else if hash_oid == crate::asn1::OID_SHA384 {
        Sha384::digest(cert_der).to_vec()
    } else if hash_oid == crate::asn1::OID_SHA512 {
        Sha512::digest(cert_der).to_vec()
    } else {
        return Err(VerifyError::UnsupportedAlgorithm(hash_oid.to_string()));
    };
    if first.cert_hash.as_bytes() != hash.as_slice() {
        return Err(VerifyError::SigningCertificateMismatch);
    }
    if let Some(is) = &first.issuer_serial {
        let issuer_matches = is.issuer.iter().any(
            |g| matches!(g, GeneralName::DirectoryName(n) if *n == cert.tbs_certificate.issuer),
        );
        if !issuer_matches || is.serial_number != cert.tbs_certificate.serial_number {
            return Err(VerifyError::SigningCertificateMismatch);
        }
    }
    Ok(())
}

/// The one value of the signed attribute `oid`.
fn single_attr<'a>(
    si: &'a SignerInfo,
    oid: ObjectIdentifier,
    name: &'static str,
) -> Result<&'a Any, VerifyError> {
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or(VerifyError::MissingAttribute("signed attributes"))?;
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    let attr = found.next().ok_or(VerifyError::MissingAttribute(name))?;
    if found.next().is_some() {
        return Err(VerifyError::Malformed(format!("{name} appears twice")));
    }
    match attr.values.as_slice() {
        [v] => Ok(v),
        _ => Err(VerifyError::Malformed(format!(
            "{name} must have one value"
        ))),
    }
}

fn find_signer(si: &SignerInfo, certs: &[Certificate]) -> Result<Certificate, VerifyError> {
    let found = match &si.sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => certs.iter().find(|c| {
            c.tbs_certificate.issuer == ias.issuer
                && c.tbs_certificate.serial_number == ias.serial_number
        }),
        SignerIdentifier::SubjectKeyIdentifier(ski) => certs.iter().find(|c| {
            matches!(
                c.tbs_certificate.get::<x509_cert::ext::pkix::SubjectKeyIdentifier>(),
                Ok(Some((_, k))) if k == *ski
            )
        }),
    };
    found.cloned().ok_or(VerifyError::SignerCertificateMissing)
}

fn details(cert: &Certificate, der: &[u8]) -> Result<SignerDetails, VerifyError> {
    let tbs = &cert.tbs_certificate;
    let subject_serial_number = name_attr(&tbs.subject, OID_SERIAL_NUMBER);
    let codice_fiscale = subject_serial_number.as_deref().and_then(codice_fiscale_of);
    let non_repudiation = match tbs.get::<KeyUsage>() {
        Ok(Some((_, ku))) => ku.non_repudiation(),
        Ok(None) => false,
        Err(e) => return Err(malformed(e)),
    };
    let qualified_policies = match tbs.get::<CertificatePolicies>() {
        Ok(Some((_, p))) => {
            p.0.iter()
                .filter(|pi| QUALIFIED_POLICIES.contains(&pi.policy_identifier))
                .map(|pi| pi.policy_identifier.to_string())
                .collect()
        }
        Ok(None) => Vec::new(),
        Err(e) => return Err(malformed(e)),
    };
    let mut qc_compliance = false;
    let mut qc_sscd = false;
    for ext in tbs.extensions.iter().flatten() {
        if ext.extn_id == OID_QC_STATEMENTS {
            let statements =
                Vec::<QcStatement>::from_der(ext.extn_value.as_bytes()).map_err(malformed)?;
            qc_compliance |= statements
                .iter()
                .any(|s| s.statement_id == OID_QC_COMPLIANCE);
            qc_sscd |= statements.iter().any(|s| s.statement_id == OID_QC_SSCD);
        }
    }
    Ok(SignerDetails {
        subject: tbs.subject.to_string(),
        issuer: tbs.issuer.to_string(),
        serial: hex(tbs.serial_number.as_bytes()),
        common_name: name_attr(&tbs.subject, OID_COMMON_NAME),
        given_name: name_attr(&tbs.subject, OID_GIVEN_NAME),
        surname: name_attr(&tbs.subject, OID_SURNAME),
        subject_serial_number,
        codice_fiscale,
        not_before: unix(tbs.validity.not_before.to_system_time()),
        not_after: unix(tbs.validity.not_after.to_system_time()),
        non_repudiation,
        qc_compliance,
        qc_sscd,
        qualified_policies,
        sha256: hex(&Sha256::digest(der)),
    })
}

/// The codice fiscale in a serialNumber value: `TINIT-` (ETSI EN 319 412-1) or the older `IT:`
/// prefix, then a codice fiscale whose check character is right.
pub fn codice_fiscale_of(serial_number: &str) -> Option<String> {
    let rest = serial_number
        .strip_prefix("TINIT-")
        .or_else(|| serial_number.strip_prefix("IT:"))?;
    CodiceFiscale::parse(rest)
        .ok()
        .map(|cf| cf.as_str().to_owned())
}

fn name_attr(name: &Name, oid: ObjectIdentifier) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == oid)
        .and_then(|atv| any_string(&atv.value))
}

fn any_string(v: &Any) -> Option<String> {
    match v.tag() {
        Tag::Utf8String => Utf8StringRef::try_from(v)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::PrintableString => PrintableStringRef::try_from(v)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::TeletexString => TeletexStringRef::try_from(v)
            .ok()
            .map(|s| s.as_str().to_owned()),
        _ => None,
    }
}

fn rsa_key(cert: &Certificate) -> Result<RsaPublicKey, VerifyError> {
    crate::signer::rsa_public_key(cert).map_err(|_| {
        VerifyError::UnsupportedAlgorithm(
            cert.tbs_certificate
                .subject_public_key_info
                .algorithm
                .oid
                .to_string(),
        )
    })
}

/// Same subject and same public key: the same CA, whatever the certificate's validity dates
/// (test CAs are re-issued at every start with the same key).
fn same_entity(a: &Certificate, b: &Certificate) -> bool {
    a.tbs_certificate.subject == b.tbs_certificate.subject
        && a.tbs_certificate.subject_public_key_info == b.tbs_certificate.subject_public_key_info
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn malformed(e: impl std::fmt::Display) -> VerifyError {
    VerifyError::Malformed(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs the `trusted_cas` fuzz target found: an empty file (a panic in x509-cert's PEM
    /// chain reader) and a block whose DER is cut short after its length byte (a loop that
    /// never ends in the same reader). Both are refused as malformed.
    #[test]
    fn a_pem_file_gives_each_of_its_certificates() {
        let der = include_bytes!("../../card-sim/test-keys/ca-2048.cert.der");
        let pem = der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).unwrap();
        let one = TrustedCas::from_file_bytes(pem.as_bytes()).unwrap();
        assert_eq!(one.len(), 1);
        let two = format!("Comment line\n{pem}\n{pem}");
        assert_eq!(
            TrustedCas::from_file_bytes(two.as_bytes()).unwrap().len(),
            2
        );
        assert_eq!(TrustedCas::from_file_bytes(der).unwrap().len(), 1);
    }

    #[test]
    fn ca_files_found_by_fuzzing_are_refused() {
        for input in [
            &b""[..],
            b"-----BEGIN CERTIFICATE-----\nMIIL\n-----END CERTIFICATE-----\n",
            b"-----BEGIN CERTIFICATE-----\nMIIL\n",
            b"-----BEGIN PRIVATE KEY-----\nMIIL\n-----END PRIVATE KEY-----\n",
        ] {
            assert!(matches!(
                TrustedCas::from_file_bytes(input),
                Err(VerifyError::Malformed(_))
            ));
        }
    }

    #[test]
    fn codice_fiscale_prefixes() {
        assert_eq!(
            codice_fiscale_of("TINIT-RSSMRA80A01H501U").as_deref(),
            Some("RSSMRA80A01H501U")
        );
        assert_eq!(
            codice_fiscale_of("IT:RSSMRA80A01H501U").as_deref(),
            Some("RSSMRA80A01H501U")
        );
        assert_eq!(codice_fiscale_of("RSSMRA80A01H501U"), None);
        assert_eq!(
            codice_fiscale_of("TINIT-RSSMRA80A01H501A"),
            None,
            "check character"
        );
    }

    #[test]
    fn garbage_is_refused_not_panicked_on() {
        for bytes in [&b""[..], b"\x30", b"\x30\x03\x06\x01\x00", b"hello"] {
            assert_eq!(
                inspect(bytes).map(|_| ()).unwrap_err().code_str(),
                "p7m.malformed"
            );
        }
    }

    trait CodeStr {
        fn code_str(&self) -> &'static str;
    }
    impl CodeStr for VerifyError {
        fn code_str(&self) -> &'static str {
            pec_domain::DomainError::code(self)
        }
    }
}
