//! Whether the issuer revoked a card's certificate: OCSP (the responder named in the
//! certificate's authority information access), then the CRL (its distribution points).
//!
//! A lost or stolen card is revoked (or suspended) by its issuer; without this check it would
//! keep identifying its holder until it expires. Answers are verified (signed by the issuer, or
//! for OCSP by a responder the issuer delegated with id-kp-OCSPSigning), must be current, and
//! are cached until their own next update (at most [`MAX_CACHE`]), so a busy server asks each
//! responder about each card once in a while, not at every identification.
//!
//! When no source gives a usable answer (no pointer in the certificate, a responder down, a
//! stale or unverifiable answer), [`Mode`] decides: [`Mode::SoftFail`] accepts the card and
//! logs a warning, [`Mode::HardFail`] refuses it with `card.revocation_unavailable`. A
//! certificate positively revoked is always refused (`card.revoked`).
//!
//! Only `http` and `https` URLs are fetched, and only from certificates whose chain already
//! verified up to a trust anchor: the URLs are the issuing CA's, never the client's.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use der::asn1::{Null, OctetString};
use der::{Decode, Encode};
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::crl::dp::IssuingDistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityInfoAccessSyntax, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage,
};
use x509_cert::time::Time;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    ResponderId, TbsRequest,
};

use crate::card::CardError;

/// What to do when the revocation status cannot be established.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Accept the card, with a warning in the log (what browsers do for TLS certificates).
    SoftFail,
    /// Refuse the card with `card.revocation_unavailable`.
    HardFail,
}

/// Revocation settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Soft or hard failure.
    pub mode: Mode,
    /// Time for one fetch (CRL or OCSP), connection included.
    pub timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mode: Mode::SoftFail,
            timeout: Duration::from_secs(5),
        }
    }
}

/// The longest an answer is cached, whatever its next update says: a card revoked today is
/// refused by tomorrow at the latest.
pub const MAX_CACHE: TimeDelta = TimeDelta::hours(24);
/// How long an OCSP answer without nextUpdate is used.
pub const OCSP_DEFAULT_TTL: TimeDelta = TimeDelta::hours(1);
/// Clock difference tolerated between the server and a responder.
const SKEW: TimeDelta = TimeDelta::minutes(5);
/// Largest CRL downloaded (the national CNS CAs' CRLs are a few MB).
pub const MAX_CRL_BYTES: usize = 32 * 1024 * 1024;
/// Largest OCSP answer read.
pub const MAX_OCSP_BYTES: usize = 64 * 1024;
/// Cached CRLs and OCSP answers, at most (each cache is emptied when full).
const MAX_ENTRIES: usize = 1024;

const OID_AD_OCSP: &str = "1.3.6.1.5.5.7.48.1";
const OID_OCSP_BASIC: &str = "1.3.6.1.5.5.7.48.1.1";
const OID_KP_OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";
const OID_SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
const OID_SHA384_WITH_RSA: &str = "1.2.840.113549.1.1.12";
const OID_SHA512_WITH_RSA: &str = "1.2.840.113549.1.1.13";
const OID_SHA1: &str = "1.3.14.3.2.26";
const OID_KEY_USAGE: &str = "2.5.29.15";
const OID_EXT_KEY_USAGE: &str = "2.5.29.37";
const OID_CRL_DP: &str = "2.5.29.31";
const OID_AIA: &str = "1.3.6.1.5.5.7.1.1";
const OID_CRL_NUMBER: &str = "2.5.29.20";
const OID_AKI: &str = "2.5.29.35";
const OID_IDP: &str = "2.5.29.28";
const OID_CRL_REASON: &str = "2.5.29.21";
const OID_INVALIDITY_DATE: &str = "2.5.29.24";

/// What one source says about one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Not revoked.
    Good,
    /// Revoked or on hold.
    Revoked,
    /// No usable answer.
    Unknown,
}

/// Checks revocation and keeps the answers.
pub struct Checker {
    settings: Settings,
    http: reqwest::Client,
    /// By CRL URL: the revoked serials of a verified, current CRL.
    crls: Mutex<HashMap<String, CachedCrl>>,
    /// By the DER of the OCSP CertID: a verified, current status.
    ocsp: Mutex<HashMap<Vec<u8>, CachedStatus>>,
}

#[derive(Clone)]
struct CachedCrl {
    /// SHA-256 of the issuer's public key the CRL verified with.
    issuer_key: [u8; 32],
    /// DER contents of the revoked serial numbers.
    revoked: HashSet<Vec<u8>>,
    until: DateTime<Utc>,
}

#[derive(Clone, Copy)]
struct CachedStatus {
    status: Status,
    until: DateTime<Utc>,
}

impl std::fmt::Debug for Checker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Checker {
    /// A checker with its own HTTP client.
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(settings.timeout)
            .timeout(settings.timeout)
            // A CA's server may move its files; a few hops, never to a non-http scheme.
            .redirect(reqwest::redirect::Policy::limited(3))
            .user_agent(concat!("pec-sandbox/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            settings,
            http,
            crls: Mutex::new(HashMap::new()),
            ocsp: Mutex::new(HashMap::new()),
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Checks every (certificate, issuer) pair, the card's first: `Ok` when none is revoked and
    /// each status is known (or, in soft-fail mode, could not be known).
    pub async fn check(
        &self,
        issued: &[(Certificate, Certificate)],
        now: DateTime<Utc>,
    ) -> Result<(), CardError> {
        for (cert, issuer) in issued {
            match self.status(cert, issuer, now).await {
                Status::Good => {}
                Status::Revoked => return Err(CardError::Revoked),
                Status::Unknown => match self.settings.mode {
                    Mode::HardFail => return Err(CardError::RevocationUnavailable),
                    Mode::SoftFail => tracing::warn!(
                        serial = %hex(cert.tbs_certificate.serial_number.as_bytes()),
                        "card certificate accepted without a revocation status (soft-fail)"
                    ),
                },
            }
        }
        Ok(())
    }

    /// OCSP first (fresher, smaller), then the CRL.
    async fn status(&self, cert: &Certificate, issuer: &Certificate, now: DateTime<Utc>) -> Status {
        let (ocsp_urls, crl_urls) = match urls(cert) {
            Ok(u) => u,
            Err(()) => return Status::Unknown,
        };
        for url in &ocsp_urls {
            match self.ocsp_status(url, cert, issuer, now).await {
                Status::Unknown => continue,
                known => return known,
            }
        }
        for url in &crl_urls {
            match self.crl_status(url, cert, issuer, now).await {
                Status::Unknown => continue,
                known => return known,
            }
        }
        Status::Unknown
    }

    async fn ocsp_status(
        &self,
        url: &str,
        cert: &Certificate,
        issuer: &Certificate,
        now: DateTime<Utc>,
    ) -> Status {
        let Ok(cert_id) = cert_id(cert, issuer) else {
            return Status::Unknown;
        };
        let Ok(key) = cert_id.to_der() else {
            return Status::Unknown;
        };
        if let Some(hit) = lock(&self.ocsp).get(&key).copied()
            && hit.until > now
        {
            return hit.status;
        }
        let request = OcspRequest {
            tbs_request: TbsRequest {
                version: Default::default(),
                requestor_name: None,
                request_list: vec![Request {
                    req_cert: cert_id.clone(),
                    single_request_extensions: None,
                }],
                request_extensions: None,
            },
            optional_signature: None,
        };
        let Ok(body) = request.to_der() else {
            return Status::Unknown;
        };
        let answer = self
            .fetch(
                self.http
                    .post(url)
                    .header("content-type", "application/ocsp-request")
                    .header("accept", "application/ocsp-response")
                    .body(body),
                MAX_OCSP_BYTES,
            )
            .await;
        let Some(answer) = answer else {
            return Status::Unknown;
        };
        match parse_ocsp(&answer, &cert_id, issuer, now) {
            Ok((status, until)) => {
                let until = until.min(now + MAX_CACHE);
                let mut cache = lock(&self.ocsp);
                if cache.len() >= MAX_ENTRIES {
                    cache.clear();
                }
                cache.insert(key, CachedStatus { status, until });
                status
            }
            Err(why) => {
                tracing::warn!(why, "unusable OCSP answer for a card certificate");
                Status::Unknown
            }
        }
    }

    async fn crl_status(
        &self,
        url: &str,
        cert: &Certificate,
        issuer: &Certificate,
        now: DateTime<Utc>,
    ) -> Status {
        let Ok(issuer_key) = key_fingerprint(issuer) else {
            return Status::Unknown;
        };
        let serial = cert.tbs_certificate.serial_number.as_bytes().to_vec();
        let cached = lock(&self.crls).get(url).cloned();
        let crl = match cached {
            Some(c) if c.until > now && c.issuer_key == issuer_key => c,
            _ => {
                let Some(body) = self.fetch(self.http.get(url), MAX_CRL_BYTES).await else {
                    return Status::Unknown;
                };
                let is_ca = is_ca(cert);
                match parse_crl(&body, cert, issuer, is_ca, now) {
                    Ok(crl) => {
                        let mut cache = lock(&self.crls);
                        if cache.len() >= MAX_ENTRIES {
                            cache.clear();
                        }
                        cache.insert(url.to_owned(), crl.clone());
                        crl
                    }
                    Err(why) => {
                        tracing::warn!(why, "unusable CRL for a card certificate");
                        return Status::Unknown;
                    }
                }
            }
        };
        if crl.revoked.contains(&serial) {
            Status::Revoked
        } else {
            Status::Good
        }
    }

    /// The body of a 200 answer, at most `max` bytes; `None` on any failure.
    async fn fetch(&self, request: reqwest::RequestBuilder, max: usize) -> Option<Vec<u8>> {
        let mut response = match request.send().await {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => {
                tracing::warn!(status = %r.status(), "revocation source answered with an error");
                return None;
            }
            Err(e) => {
                tracing::warn!(error = %e.without_url(), "revocation source unreachable");
                return None;
            }
        };
        if response.content_length().is_some_and(|n| n > max as u64) {
            return None;
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > max {
                        tracing::warn!(max, "revocation answer too large");
                        return None;
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Some(body),
                Err(e) => {
                    tracing::warn!(error = %e.without_url(), "revocation answer cut short");
                    return None;
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding a cache leaves at worst a stale entry: keep serving.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The OCSP responders and CRL locations a certificate names (http and https only).
fn urls(cert: &Certificate) -> Result<(Vec<String>, Vec<String>), ()> {
    let mut ocsp = Vec::new();
    let mut crl = Vec::new();
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        let oid = ext.extn_id.to_string();
        if oid == OID_AIA {
            let aia =
                AuthorityInfoAccessSyntax::from_der(ext.extn_value.as_bytes()).map_err(|_| ())?;
            for ad in aia.0 {
                if ad.access_method.to_string() == OID_AD_OCSP
                    && let Some(u) = http_uri(&ad.access_location)
                {
                    ocsp.push(u);
                }
            }
        } else if oid == OID_CRL_DP {
            let dps = CrlDistributionPoints::from_der(ext.extn_value.as_bytes()).map_err(|_| ())?;
            for dp in dps.0 {
                // A distribution point for some reasons only, or whose CRL another authority
                // issues, is not a complete answer for this certificate: skip it.
                if dp.reasons.is_some() || dp.crl_issuer.is_some() {
                    continue;
                }
                if let Some(DistributionPointName::FullName(names)) = dp.distribution_point {
                    crl.extend(names.iter().filter_map(http_uri));
                }
            }
        }
    }
    Ok((ocsp, crl))
}

fn http_uri(name: &GeneralName) -> Option<String> {
    let GeneralName::UniformResourceIdentifier(uri) = name else {
        return None;
    };
    let uri = uri.as_str();
    let lower = uri.to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://")).then(|| uri.to_owned())
}

fn is_ca(cert: &Certificate) -> bool {
    cert.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id.to_string() == "2.5.29.19")
        .and_then(|e| {
            x509_cert::ext::pkix::BasicConstraints::from_der(e.extn_value.as_bytes()).ok()
        })
        .is_some_and(|bc| bc.ca)
}

/// RFC 6960 CertID with SHA-1, the hash every responder understands (RFC 5019 §2.1.1).
fn cert_id(cert: &Certificate, issuer: &Certificate) -> Result<CertId, der::Error> {
    let name = issuer.tbs_certificate.subject.to_der()?;
    let key = issuer
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    Ok(CertId {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: der::asn1::ObjectIdentifier::new_unwrap(OID_SHA1),
            parameters: Some(Null.into()),
        },
        issuer_name_hash: OctetString::new(Sha1::digest(&name).to_vec())?,
        issuer_key_hash: OctetString::new(Sha1::digest(key).to_vec())?,
        serial_number: cert.tbs_certificate.serial_number.clone(),
    })
}

fn key_fingerprint(cert: &Certificate) -> Result<[u8; 32], der::Error> {
    let spki = cert.tbs_certificate.subject_public_key_info.to_der()?;
    Ok(Sha256::digest(spki).into())
}

/// Verifies an RSA PKCS#1 v1.5 signature with SHA-256/384/512 by `signer`'s key.
fn verify_signed(
    signer: &Certificate,
    algorithm: &AlgorithmIdentifierOwned,
    tbs: &[u8],
    signature: &[u8],
) -> Result<(), &'static str> {
    let spki = signer
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|_| "signer key unreadable")?;
    let key = RsaPublicKey::from_public_key_der(&spki).map_err(|_| "signer key is not RSA")?;
    let ok = match algorithm.oid.to_string().as_str() {
        OID_SHA256_WITH_RSA => key.verify(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(tbs),
            signature,
        ),
        OID_SHA384_WITH_RSA => key.verify(
            Pkcs1v15Sign::new::<Sha384>(),
            &Sha384::digest(tbs),
            signature,
        ),
        OID_SHA512_WITH_RSA => key.verify(
            Pkcs1v15Sign::new::<Sha512>(),
            &Sha512::digest(tbs),
            signature,
        ),
        _ => return Err("unsupported signature algorithm"),
    };
    ok.map_err(|_| "bad signature")
}

fn extension<'a>(cert: &'a Certificate, oid: &str) -> Option<&'a [u8]> {
    cert.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id.to_string() == oid)
        .map(|e| e.extn_value.as_bytes())
}

fn valid_at(cert: &Certificate, now: DateTime<Utc>) -> bool {
    let v = &cert.tbs_certificate.validity;
    let (Some(nb), Some(na)) = (to_chrono(v.not_before), to_chrono(v.not_after)) else {
        return false;
    };
    nb <= now && now <= na
}

fn to_chrono(t: Time) -> Option<DateTime<Utc>> {
    let secs = i64::try_from(t.to_unix_duration().as_secs()).ok()?;
    DateTime::from_timestamp(secs, 0)
}

fn generalized(t: x509_ocsp::OcspGeneralizedTime) -> Option<DateTime<Utc>> {
    let secs = i64::try_from(t.0.to_unix_duration().as_secs()).ok()?;
    DateTime::from_timestamp(secs, 0)
}

/// A verified, current OCSP status for `id`, and until when it may be used.
fn parse_ocsp(
    der: &[u8],
    id: &CertId,
    issuer: &Certificate,
    now: DateTime<Utc>,
) -> Result<(Status, DateTime<Utc>), &'static str> {
    let response = OcspResponse::from_der(der).map_err(|_| "not an OCSP response")?;
    if response.response_status != OcspResponseStatus::Successful {
        return Err("the responder refused the request");
    }
    let bytes = response.response_bytes.ok_or("no response bytes")?;
    if bytes.response_type.to_string() != OID_OCSP_BASIC {
        return Err("not a basic OCSP response");
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())
        .map_err(|_| "unreadable basic OCSP response")?;
    let signer = responder(&basic, issuer, now)?;
    let tbs = basic
        .tbs_response_data
        .to_der()
        .map_err(|_| "unreadable response data")?;
    let sig = basic
        .signature
        .as_bytes()
        .ok_or("signature not whole bytes")?;
    verify_signed(&signer, &basic.signature_algorithm, &tbs, sig)?;
    let single = basic
        .tbs_response_data
        .responses
        .iter()
        .find(|r| same_cert_id(&r.cert_id, id))
        .ok_or("the answer is about another certificate")?;
    let this_update = generalized(single.this_update).ok_or("bad thisUpdate")?;
    if this_update > now + SKEW {
        return Err("answer from the future");
    }
    let until = match single.next_update {
        Some(t) => {
            let next = generalized(t).ok_or("bad nextUpdate")?;
            if next < now {
                return Err("stale answer");
            }
            next
        }
        None => {
            if this_update + OCSP_DEFAULT_TTL < now {
                return Err("stale answer");
            }
            this_update + OCSP_DEFAULT_TTL
        }
    };
    let status = match single.cert_status {
        CertStatus::Good(_) => Status::Good,
        CertStatus::Revoked(_) => Status::Revoked,
        CertStatus::Unknown(_) => return Err("the responder does not know the certificate"),
    };
    Ok((status, until))
}

/// Whether a response's CertID names the certificate asked about: same hash algorithm (by
/// OID: responders differ on whether its NULL parameters are written), hashes and serial.
fn same_cert_id(a: &CertId, b: &CertId) -> bool {
    a.hash_algorithm.oid == b.hash_algorithm.oid
        && a.issuer_name_hash == b.issuer_name_hash
        && a.issuer_key_hash == b.issuer_key_hash
        && a.serial_number == b.serial_number
}

/// Who signed an OCSP answer: the issuer itself, or a responder certificate in the answer that
/// the issuer signed for OCSP signing (RFC 6960 §4.2.2.2).
fn responder(
    basic: &BasicOcspResponse,
    issuer: &Certificate,
    now: DateTime<Utc>,
) -> Result<Certificate, &'static str> {
    let names = |c: &Certificate| -> bool {
        match &basic.tbs_response_data.responder_id {
            ResponderId::ByName(n) => c.tbs_certificate.subject == *n,
            ResponderId::ByKey(h) => {
                Sha1::digest(
                    c.tbs_certificate
                        .subject_public_key_info
                        .subject_public_key
                        .raw_bytes(),
                )
                .as_slice()
                    == h.as_bytes()
            }
        }
    };
    if names(issuer) {
        return Ok(issuer.clone());
    }
    for cert in basic.certs.iter().flatten() {
        if !names(cert) {
            continue;
        }
        if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
            return Err("responder certificate from another issuer");
        }
        let tbs = cert
            .tbs_certificate
            .to_der()
            .map_err(|_| "unreadable responder certificate")?;
        let sig = cert
            .signature
            .as_bytes()
            .ok_or("responder signature not whole bytes")?;
        verify_signed(issuer, &cert.signature_algorithm, &tbs, sig)?;
        if !valid_at(cert, now) {
            return Err("responder certificate expired");
        }
        let delegated = extension(cert, OID_EXT_KEY_USAGE)
            .and_then(|v| ExtendedKeyUsage::from_der(v).ok())
            .is_some_and(|eku| eku.0.iter().any(|o| o.to_string() == OID_KP_OCSP_SIGNING));
        if !delegated {
            return Err("responder certificate not delegated for OCSP signing");
        }
        return Ok(cert.clone());
    }
    Err("answer signed by an unknown responder")
}

/// A verified, current, complete CRL of `issuer` that applies to `cert`.
fn parse_crl(
    der: &[u8],
    cert: &Certificate,
    issuer: &Certificate,
    cert_is_ca: bool,
    now: DateTime<Utc>,
) -> Result<CachedCrl, &'static str> {
    // CAs publish CRLs in DER; some in PEM.
    let der = pem_body(der, "X509 CRL").unwrap_or_else(|| der.to_vec());
    let crl = CertificateList::from_der(&der).map_err(|_| "not a CRL")?;
    let tbs = &crl.tbs_cert_list;
    if tbs.issuer != cert.tbs_certificate.issuer || tbs.issuer != issuer.tbs_certificate.subject {
        return Err("CRL of another issuer");
    }
    if let Some(ku) = extension(issuer, OID_KEY_USAGE)
        .map(|v| KeyUsage::from_der(v).map_err(|_| "issuer key usage unreadable"))
        .transpose()?
        && !ku.crl_sign()
    {
        return Err("the issuer may not sign CRLs");
    }
    let tbs_der = tbs.to_der().map_err(|_| "unreadable CRL")?;
    let sig = crl
        .signature
        .as_bytes()
        .ok_or("CRL signature not whole bytes")?;
    verify_signed(issuer, &crl.signature_algorithm, &tbs_der, sig)?;
    let this_update = to_chrono(tbs.this_update).ok_or("bad thisUpdate")?;
    if this_update > now + SKEW {
        return Err("CRL from the future");
    }
    let next_update = tbs
        .next_update
        .and_then(to_chrono)
        .ok_or("CRL without nextUpdate")?;
    if next_update < now {
        return Err("stale CRL");
    }
    for ext in tbs.crl_extensions.iter().flatten() {
        let oid = ext.extn_id.to_string();
        if oid == OID_IDP {
            let idp = IssuingDistributionPoint::from_der(ext.extn_value.as_bytes())
                .map_err(|_| "unreadable issuing distribution point")?;
            if idp.indirect_crl
                || idp.only_some_reasons.is_some()
                || idp.only_contains_attribute_certs
                || (idp.only_contains_ca_certs && !cert_is_ca)
                || (idp.only_contains_user_certs && cert_is_ca)
            {
                return Err("a partial CRL that does not cover the certificate");
            }
        } else if ext.critical && oid != OID_CRL_NUMBER && oid != OID_AKI {
            // A delta CRL, or anything else this reader does not process.
            return Err("CRL with an unknown critical extension");
        }
    }
    let mut revoked = HashSet::new();
    for entry in tbs.revoked_certificates.iter().flatten() {
        for ext in entry.crl_entry_extensions.iter().flatten() {
            let oid = ext.extn_id.to_string();
            if ext.critical && oid != OID_CRL_REASON && oid != OID_INVALIDITY_DATE {
                // certificateIssuer (indirect CRLs) and the like.
                return Err("CRL entry with an unknown critical extension");
            }
        }
        revoked.insert(entry.serial_number.as_bytes().to_vec());
    }
    Ok(CachedCrl {
        issuer_key: key_fingerprint(issuer).map_err(|_| "issuer key unreadable")?,
        revoked,
        until: next_update.min(now + MAX_CACHE),
    })
}

/// The decoded body of a PEM block labelled `label`, if `data` is one.
fn pem_body(data: &[u8], label: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let text = std::str::from_utf8(data).ok()?;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text.get(start..)?.find(&end)?;
    let b64: String = text
        .get(start..stop)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Entry points for the fuzz targets (`crates/sandbox/fuzz`): the parsers of what a CA's
/// server sends, run against a fixed issuer. Not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    use super::*;

    /// Parses `der` as a CRL and as an OCSP answer about `issuer`'s certificate `cert`.
    pub fn answers(der: &[u8], cert: &Certificate, issuer: &Certificate) {
        let now = Utc::now();
        let _ = parse_crl(der, cert, issuer, false, now);
        if let Ok(id) = cert_id(cert, issuer) {
            let _ = parse_ocsp(der, &id, issuer, now);
        }
        let _ = urls(cert);
    }
}
