//! The sandbox's remote signature service: the Cloud Signature Consortium API v2 (wire types in
//! `pec_sign::csc_api`, shared with the app's client) for the test remote-signature accounts
//! of [`crate::seed`] (`firma.mario`, `firma.chiara`; password
//! [`crate::seed::REMOTE_SIGNATURE_PASSWORD`], OTP = the TOTP of the account's secret at the
//! sandbox's clock, see [`crate::totp::code`]).
//!
//! | method | what it does here |
//! |---|---|
//! | `POST /csc/v2/info` | service description (no authentication) |
//! | `POST /csc/v2/auth/login` | HTTP Basic with the account's credentials → a bearer token (1 h) |
//! | `POST /csc/v2/credentials/list` | the account's one credential, `<user>-qes` |
//! | `POST /csc/v2/credentials/info` | key, certificate chain, `auth` = explicit, object `OTP` (TOTP) |
//! | `POST /csc/v2/credentials/authorize` | checks the OTP, binds a SAD (5 min, single use) to the SHA-256 hashes given (SCAL 2) |
//! | `POST /csc/v2/signatures/signHash` | consumes the SAD and signs those hashes (RSASSA-PKCS1-v1_5) |
//!
//! Each account's key is a fixed test key (`test-keys/csc-*.pem`, NOT SECRET); its qualified
//! certificate (nonRepudiation, QC statements, QCP-n-qscd and AgID policies,
//! `serialNumber=TINIT-<CF>`) and the test QTSP CA are issued when first needed in a process,
//! with the same keys every time, so a verifier that trusts [`ca_certificate`] from any run
//! trusts them all.
//!
//! Errors carry both the CSC shape (`error`, `error_description`) and the sandbox's problem
//! fields (`code` = `csc.<error>`, `message_it`, `message_en`), as `application/problem+json`.
//! Access tokens and SADs live in memory only, by SHA-256 digest. Wrong passwords and wrong
//! OTPs are counted per account in the database ([`crate::throttle::CREDENTIALS`]: locked after
//! 5, with back-off; only a signature authorised with the right OTP clears the count), and an
//! OTP is accepted once (its time step is remembered in the database, across restarts).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, TimeDelta, Utc};
use der::asn1::{Any, ObjectIdentifier, PrintableStringRef, SetOfVec, UtcTime, Utf8StringRef};
use der::{Encode, Tag};
use pec_provider::api::PROBLEM_JSON;
use pec_sign::asn1::{OID_QC_COMPLIANCE, OID_QC_SSCD, QcStatement};
use pec_sign::csc_api::{
    AuthInfo, AuthObject, AuthorizeRequest, AuthorizeResponse, CertInfo, CredentialInfo,
    CredentialInfoRequest, CredentialsListRequest, CredentialsListResponse, CscError, InfoRequest,
    InfoResponse, KeyInfo, LoginRequest, LoginResponse, OID_RSA, OID_SHA256, OID_SHA256_WITH_RSA,
    SignHashRequest, SignHashResponse,
};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::signature::hazmat::PrehashSigner;
use rsa::{RsaPrivateKey, RsaPublicKey};
use rusqlite::{OptionalExtension, params};
use sha2::Sha256;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::certpolicy::{CertificatePolicies, PolicyInformation};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::seed::SPID_IDENTITIES;
use crate::state::{AppState, new_token, sha256, verify_password};
use crate::throttle::{CREDENTIALS, Failure, Gate};

/// Specification version implemented.
pub const SPECS: &str = "2.0.0.2";
/// Lifetime of an access token.
const TOKEN_TTL: TimeDelta = TimeDelta::hours(1);
/// Lifetime of a SAD.
const SAD_TTL: TimeDelta = TimeDelta::minutes(5);
/// Sign-ins per address per minute (the provider API's own limit).
const LOGIN_PER_MINUTE: usize = 20;
/// Bound on what the in-memory store holds.
const MAX_ENTRIES: usize = 10_000;

/// Test keys of the remote-signature accounts (NOT SECRET): user → key.
const ACCOUNT_KEYS: &[(&str, &str)] = &[
    (
        "firma.mario",
        include_str!("../test-keys/csc-mario-2048.pem"),
    ),
    (
        "firma.chiara",
        include_str!("../test-keys/csc-chiara-2048.pem"),
    ),
];
const CA_KEY: &str = include_str!("../test-keys/csc-ca-2048.pem");

/// The id of `user`'s one credential.
pub fn credential_id(user: &str) -> String {
    format!("{user}-qes")
}

/// DER of the test QTSP CA that issues the remote-signature certificates: what a verifier of
/// the sandbox's remote signatures must trust.
pub fn ca_certificate() -> Result<Vec<u8>, String> {
    issued().map(|i| i.ca_der.clone())
}

// ---------------------------------------------------------------------------------------------
// Handlers

/// CSC `info`: the service.
#[utoipa::path(post, path = "/csc/v2/info", tag = "csc",
    request_body = InfoRequest,
    responses((status = 200, description = "The service", body = InfoResponse)))]
pub(crate) async fn info(
    State(_st): State<Arc<AppState>>,
    Json(req): Json<serde_json::Value>,
) -> Result<Json<InfoResponse>, CscApiError> {
    object_body::<InfoRequest>(req)?;
    Ok(Json(InfoResponse {
        specs: SPECS.into(),
        name: "PEC Sandbox firma remota (test)".into(),
        logo: String::new(),
        region: "IT".into(),
        lang: "it-IT".into(),
        description: "Servizio di firma remota di prova del sandbox: certificati di test, non \
                      validi per firme reali."
            .into(),
        auth_type: vec!["basic".into()],
        methods: [
            "auth/login",
            "credentials/list",
            "credentials/info",
            "credentials/authorize",
            "signatures/signHash",
        ]
        .map(String::from)
        .to_vec(),
    }))
}

/// CSC `auth/login` with HTTP Basic (`Authorization: Basic base64(user:password)`).
#[utoipa::path(post, path = "/csc/v2/auth/login", tag = "csc",
    security(("csc_basic" = [])),
    request_body = LoginRequest,
    responses((status = 200, description = "Access token", body = LoginResponse)))]
pub(crate) async fn login(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(req): Json<serde_json::Value>,
) -> Result<Json<LoginResponse>, CscApiError> {
    object_body::<LoginRequest>(req)?;
    // No credentials at all is a plain 401 and costs nothing: only attempts count.
    let (user, password) = basic_credentials(&headers).ok_or_else(CscApiError::bad_login)?;
    if user.is_empty() || user.len() > 254 || password.len() > 1024 {
        return Err(CscApiError::bad_login());
    }
    if let Err(wait) = st.signin_allowed(peer.ip(), LOGIN_PER_MINUTE) {
        return Err(CscApiError::rate_limited(wait));
    }
    // Counted per user, whoever asks and from wherever (M2): the service is not an oracle for
    // someone's password. An unknown user is counted the same way, so both answer alike.
    let key = throttle_key(&user);
    let (u, k) = (user.clone(), key.clone());
    let hash: Option<String> = st
        .read(move |ctx| {
            if let Gate::Locked(wait) = CREDENTIALS.gate(ctx, &k)? {
                return Ok(Err(wait));
            }
            Ok(Ok(ctx
                .tx
                .query_row(
                    "SELECT password_hash FROM remote_signature_accounts WHERE username = ?1",
                    params![u],
                    |r| r.get(0),
                )
                .optional()?))
        })
        .await
        .map_err(CscApiError::from_api)?
        .map_err(CscApiError::locked)?;
    let dummy = st.dummy_hash.clone();
    let known = hash.is_some();
    let ok = st
        .password_work(move || {
            // An unknown user costs the same hash check: no timing difference.
            verify_password(&password, hash.as_deref().unwrap_or(&dummy)) && known
        })
        .await
        .map_err(CscApiError::from_api)?;
    if !ok {
        return Err(count_failure(&st, key, CscApiError::bad_login()).await);
    }
    let token = new_token();
    let expires = st.now() + TOKEN_TTL;
    let mut store = lock();
    store.prune(st.now());
    if store.tokens.len() >= MAX_ENTRIES {
        return Err(CscApiError::busy());
    }
    store.tokens.insert(
        sha256(&[instance(&st).as_bytes(), token.as_bytes()]),
        TokenEntry { user, expires },
    );
    Ok(Json(LoginResponse {
        access_token: token,
        expires_in: u64::try_from(TOKEN_TTL.num_seconds()).ok(),
    }))
}

/// CSC `credentials/list`: the account's credential.
#[utoipa::path(post, path = "/csc/v2/credentials/list", tag = "csc",
    security(("bearer" = [])),
    request_body = CredentialsListRequest,
    responses((status = 200, description = "Credential ids", body = CredentialsListResponse)))]
pub(crate) async fn credentials_list(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Json(req): Json<serde_json::Value>,
) -> Result<Json<CredentialsListResponse>, CscApiError> {
    object_body::<CredentialsListRequest>(req)?;
    let user = bearer_user(&st, &headers)?;
    let ids = issued()
        .map_err(CscApiError::internal)?
        .accounts
        .contains_key(user.as_str())
        .then(|| credential_id(&user))
        .into_iter()
        .collect();
    Ok(Json(CredentialsListResponse {
        credential_ids: ids,
    }))
}

/// CSC `credentials/info`: key, certificate chain and how to authorise (the OTP).
#[utoipa::path(post, path = "/csc/v2/credentials/info", tag = "csc",
    security(("bearer" = [])),
    request_body = CredentialInfoRequest,
    responses((status = 200, description = "The credential", body = CredentialInfo)))]
pub(crate) async fn credentials_info(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Json(req): Json<CredentialInfoRequest>,
) -> Result<Json<CredentialInfo>, CscApiError> {
    let user = bearer_user(&st, &headers)?;
    let account = own_credential(&user, &req.credential_id)?;
    let ca = &issued().map_err(CscApiError::internal)?.ca_der;
    let certificates = match req.certificates.as_deref() {
        None | Some("single") => vec![B64.encode(&account.cert_der)],
        Some("chain") => vec![B64.encode(&account.cert_der), B64.encode(ca)],
        Some("none") => Vec::new(),
        Some(_) => {
            return Err(CscApiError::invalid(
                "invalid_request",
                "Invalid parameter certificates",
            ));
        }
    };
    let with_cert_info = req.cert_info == Some(true);
    let with_auth_info = req.auth_info == Some(true);
    Ok(Json(CredentialInfo {
        description: Some("Firma remota qualificata di prova".into()),
        signature_qualifier: Some("eu_eidas_qes".into()),
        key: KeyInfo {
            status: "enabled".into(),
            algo: vec![OID_SHA256_WITH_RSA.into(), OID_RSA.into()],
            len: 2048,
        },
        cert: CertInfo {
            status: Some("valid".into()),
            certificates,
            issuer_dn: with_cert_info.then(|| account.issuer_dn.clone()),
            subject_dn: with_cert_info.then(|| account.subject_dn.clone()),
            serial_number: with_cert_info.then(|| account.serial_hex.clone()),
            valid_from: with_cert_info.then(|| account.valid_from.clone()),
            valid_to: with_cert_info.then(|| account.valid_to.clone()),
        },
        auth: with_auth_info.then(|| AuthInfo {
            mode: "explicit".into(),
            expression: Some("OTP".into()),
            objects: vec![AuthObject {
                kind: "Password".into(),
                id: "OTP".into(),
                format: "N".into(),
                label: Some("Codice OTP dell'app di firma remota".into()),
                generator: Some("totp".into()),
            }],
        }),
        scal: Some("2".into()),
        multisign: 1,
    }))
}

/// CSC `credentials/authorize`: the OTP authorises signing the given hashes once.
#[utoipa::path(post, path = "/csc/v2/credentials/authorize", tag = "csc",
    security(("bearer" = [])),
    request_body = AuthorizeRequest,
    responses((status = 200, description = "Signature Activation Data", body = AuthorizeResponse)))]
pub(crate) async fn credentials_authorize(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Json(req): Json<AuthorizeRequest>,
) -> Result<Json<AuthorizeResponse>, CscApiError> {
    let user = bearer_user(&st, &headers)?;
    own_credential(&user, &req.credential_id)?;
    if req.num_signatures != 1 {
        return Err(CscApiError::invalid(
            "invalid_request",
            "numSignatures must be 1 (multisign = 1)",
        ));
    }
    if req.hash_algorithm_oid.as_deref() != Some(OID_SHA256) {
        return Err(CscApiError::invalid(
            "invalid_request",
            "hashAlgorithmOID must be SHA-256",
        ));
    }
    let hashes = decode_hashes(req.hashes.as_deref().unwrap_or_default())?;
    if hashes.len() != 1 {
        return Err(CscApiError::invalid(
            "invalid_request",
            "SCAL 2: exactly numSignatures hashes are required",
        ));
    }
    let otp = req
        .auth_data
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|d| d.id == "OTP")
        .map(|d| d.value.clone())
        .ok_or_else(|| CscApiError::invalid("invalid_request", "Missing authData OTP"))?;
    // The code is checked against the account's last accepted time step and failures are
    // counted per user, both in the database (M2): a restart forgets neither, so a code cannot
    // be replayed after one and a guesser does not get fresh tries.
    let key = throttle_key(&user);
    let u = user.clone();
    st.run(move |ctx| {
        if let Gate::Locked(wait) = CREDENTIALS.gate(ctx, &key)? {
            return Ok(Err(CscApiError::locked(wait)));
        }
        let (secret, last): (String, Option<i64>) = ctx.tx.query_row(
            "SELECT totp_secret, last_step FROM remote_signature_accounts WHERE username = ?1",
            params![u],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let Some(step) = crate::totp::verify_step(&secret, ctx.now.timestamp(), &otp, last) else {
            return Ok(Err(match CREDENTIALS.fail(ctx, &key)? {
                Failure::Locked(wait) => CscApiError::locked(wait),
                Failure::Counted => CscApiError::invalid_otp(),
            }));
        };
        CREDENTIALS.clear(ctx, &key)?;
        ctx.tx.execute(
            "UPDATE remote_signature_accounts SET last_step = ?1 WHERE username = ?2",
            params![step, u],
        )?;
        Ok(Ok(()))
    })
    .await
    .map_err(CscApiError::from_api)??;
    let now = st.now();
    let mut store = lock();
    store.prune(now);
    if store.sads.len() >= MAX_ENTRIES {
        return Err(CscApiError::busy());
    }
    let sad = new_token();
    store.sads.insert(
        sha256(&[instance(&st).as_bytes(), sad.as_bytes()]),
        SadEntry {
            user,
            credential_id: req.credential_id,
            hashes,
            expires: now + SAD_TTL,
        },
    );
    Ok(Json(AuthorizeResponse {
        sad,
        expires_in: u64::try_from(SAD_TTL.num_seconds()).ok(),
    }))
}

/// CSC `signatures/signHash`: signs the hashes a SAD authorised, and forgets the SAD.
#[utoipa::path(post, path = "/csc/v2/signatures/signHash", tag = "csc",
    security(("bearer" = [])),
    request_body = SignHashRequest,
    responses((status = 200, description = "Signatures, in the order of the hashes", body = SignHashResponse)))]
pub(crate) async fn sign_hash(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Json(req): Json<SignHashRequest>,
) -> Result<Json<SignHashResponse>, CscApiError> {
    let user = bearer_user(&st, &headers)?;
    let account = own_credential(&user, &req.credential_id)?;
    let algo_ok = req.sign_algo == OID_SHA256_WITH_RSA
        || (req.sign_algo == OID_RSA && req.hash_algorithm_oid.as_deref() == Some(OID_SHA256));
    if !algo_ok {
        return Err(CscApiError::invalid(
            "invalid_request",
            "signAlgo must be sha256WithRSAEncryption",
        ));
    }
    let hashes = decode_hashes(&req.hashes)?;
    let sad = {
        let mut store = lock();
        // Removed before anything else is checked: a SAD is used once, even by a bad request.
        store
            .sads
            .remove(&sha256(&[instance(&st).as_bytes(), req.sad.as_bytes()]))
    };
    let now = st.now();
    let sad = sad
        .filter(|s| s.expires > now && s.user == user && s.credential_id == req.credential_id)
        .ok_or_else(|| CscApiError::invalid("invalid_request", "Invalid SAD"))?;
    if hashes.is_empty() || hashes.iter().any(|h| !sad.hashes.contains(h)) {
        return Err(CscApiError::invalid(
            "invalid_request",
            "The hashes were not authorised by this SAD",
        ));
    }
    let signer = SigningKey::<Sha256>::new(account.key.clone());
    let signatures = hashes
        .iter()
        .map(|h| {
            let sig: rsa::pkcs1v15::Signature =
                signer.sign_prehash(h).map_err(CscApiError::internal)?;
            Ok(B64.encode(Box::<[u8]>::from(sig)))
        })
        .collect::<Result<Vec<_>, CscApiError>>()?;
    Ok(Json(SignHashResponse { signatures }))
}

/// The body of a method whose fields are all optional, read as `T`. serde reads a struct from
/// a JSON array too (`[]` would pass as an empty request): the body must be the object the
/// document describes.
fn object_body<T: serde::de::DeserializeOwned>(body: serde_json::Value) -> Result<T, CscApiError> {
    if !body.is_object() {
        return Err(CscApiError::invalid(
            "invalid_request",
            "The body must be a JSON object",
        ));
    }
    serde_json::from_value(body)
        .map_err(|_| CscApiError::invalid("invalid_request", "The body must be a JSON object"))
}

/// The failure counter of a remote-signature user (passwords and OTPs together).
fn throttle_key(user: &str) -> String {
    format!("remote-signature:{}", user.trim().to_lowercase())
}

/// Counts a failure of `user`'s key and answers `err`, or the lock it caused.
async fn count_failure(st: &Arc<AppState>, key: String, err: CscApiError) -> CscApiError {
    match st.run(move |ctx| CREDENTIALS.fail(ctx, &key)).await {
        Ok(Failure::Locked(wait)) => CscApiError::locked(wait),
        Ok(Failure::Counted) => err,
        Err(e) => CscApiError::from_api(e),
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions and SADs in memory

struct TokenEntry {
    user: String,
    expires: DateTime<Utc>,
}

struct SadEntry {
    user: String,
    credential_id: String,
    hashes: Vec<[u8; 32]>,
    expires: DateTime<Utc>,
}

#[derive(Default)]
struct Store {
    tokens: HashMap<[u8; 32], TokenEntry>,
    sads: HashMap<[u8; 32], SadEntry>,
}

impl Store {
    fn prune(&mut self, now: DateTime<Utc>) {
        self.tokens.retain(|_, t| t.expires > now);
        self.sads.retain(|_, s| s.expires > now);
    }
}

/// One store for the process; entries are keyed by the server instance too (tests run several
/// sandboxes in one process, and a token of one must mean nothing to another).
static STORE: LazyLock<Mutex<Store>> = LazyLock::new(|| Mutex::new(Store::default()));

fn instance(st: &AppState) -> String {
    format!("{:p}|{}", st as *const AppState, st.base_url)
}

fn lock() -> std::sync::MutexGuard<'static, Store> {
    STORE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn bearer_user(st: &AppState, headers: &HeaderMap) -> Result<String, CscApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(CscApiError::invalid_token)?;
    let now = st.now();
    let store = lock();
    store
        .tokens
        .get(&sha256(&[instance(st).as_bytes(), token.trim().as_bytes()]))
        .filter(|t| t.expires > now)
        .map(|t| t.user.clone())
        .ok_or_else(CscApiError::invalid_token)
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(B64.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    if user.is_empty() || user.len() > 254 || password.len() > 1024 {
        return None;
    }
    Some((user.trim().to_owned(), password.to_owned()))
}

fn own_credential(user: &str, credential: &str) -> Result<&'static Account, CscApiError> {
    let issued = issued().map_err(CscApiError::internal)?;
    match issued.accounts.get(user) {
        Some(account) if credential == credential_id(user) => Ok(account),
        _ => Err(CscApiError::invalid(
            "invalid_request",
            "Invalid parameter credentialID",
        )),
    }
}

fn decode_hashes(hashes: &[String]) -> Result<Vec<[u8; 32]>, CscApiError> {
    if hashes.len() > 16 {
        return Err(CscApiError::invalid("invalid_request", "Too many hashes"));
    }
    hashes
        .iter()
        .map(|h| {
            B64.decode(h)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| {
                    CscApiError::invalid("invalid_request", "Invalid hash: base64 SHA-256 expected")
                })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Errors: the CSC shape plus the sandbox's problem fields

/// An error of the CSC routes.
#[derive(Debug)]
pub(crate) struct CscApiError {
    status: StatusCode,
    error: &'static str,
    description: &'static str,
    message_it: &'static str,
    retry_after: Option<u64>,
}

impl CscApiError {
    fn invalid(error: &'static str, description: &'static str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description,
            message_it: "Richiesta di firma remota non valida.",
            retry_after: None,
        }
    }

    fn invalid_otp() -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_otp",
            description: "The OTP is invalid",
            message_it: "Codice OTP della firma remota non valido.",
            retry_after: None,
        }
    }

    fn bad_login() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_grant",
            description: "Invalid username or password",
            message_it: "Credenziali della firma remota non valide.",
            retry_after: None,
        }
    }

    fn invalid_token() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_token",
            description: "Invalid or expired access token",
            message_it: "Sessione di firma remota assente o scaduta.",
            retry_after: None,
        }
    }

    /// The account is locked after too many wrong passwords or OTPs.
    fn locked(seconds: i64) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            error: "access_denied",
            description: "Too many failed attempts for this account: try again later",
            message_it: "Troppi tentativi errati per questa firma remota: riprova più tardi.",
            retry_after: Some(u64::try_from(seconds).unwrap_or(1).max(1)),
        }
    }

    fn rate_limited(seconds: u64) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            error: "access_denied",
            description: "Too many attempts: try again later",
            message_it: "Troppi tentativi: riprova più tardi.",
            retry_after: Some(seconds),
        }
    }

    fn busy() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: "temporarily_unavailable",
            description: "Too many open sessions",
            message_it: "Servizio di firma remota momentaneamente non disponibile.",
            retry_after: Some(60),
        }
    }

    fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "csc: internal error");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "Internal error",
            message_it: "Errore interno del servizio di firma remota.",
            retry_after: None,
        }
    }

    fn from_api(e: crate::problem::ApiError) -> Self {
        Self::internal(e.localized)
    }
}

impl IntoResponse for CscApiError {
    fn into_response(self) -> Response {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            #[serde(flatten)]
            csc: CscError,
            #[serde(rename = "type")]
            type_uri: String,
            title: &'a str,
            status: u16,
            code: String,
            message_it: &'a str,
            message_en: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            retry_after: Option<u64>,
        }
        let code = format!("csc.{}", self.error);
        let body = Body {
            csc: CscError {
                error: self.error.into(),
                error_description: Some(self.description.into()),
            },
            type_uri: format!("urn:pec:problem:{code}"),
            title: self.description,
            status: self.status.as_u16(),
            code,
            message_it: self.message_it,
            message_en: self.description,
            retry_after: self.retry_after,
        };
        let mut resp = (self.status, serde_json::to_vec(&body).unwrap_or_default()).into_response();
        let headers = resp.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(s) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

// ---------------------------------------------------------------------------------------------
// The test QTSP and its certificates

struct Account {
    key: RsaPrivateKey,
    cert_der: Vec<u8>,
    issuer_dn: String,
    subject_dn: String,
    serial_hex: String,
    valid_from: String,
    valid_to: String,
}

struct Issued {
    ca_der: Vec<u8>,
    accounts: HashMap<&'static str, Account>,
}

fn issued() -> Result<&'static Issued, String> {
    static ISSUED: OnceLock<Result<Issued, String>> = OnceLock::new();
    ISSUED.get_or_init(issue).as_ref().map_err(Clone::clone)
}

fn issue() -> Result<Issued, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let ca_key = RsaPrivateKey::from_pkcs8_pem(CA_KEY).map_err(|e| err(&e))?;
    let ca_name = name(&[
        ("2.5.4.6", "IT", true),
        ("2.5.4.10", "PEC Sandbox Test QTSP (non valido)", false),
        ("2.5.4.97", "VATIT-00000000001", false),
        ("2.5.4.3", "PEC Sandbox Test Remote Signature CA", false),
    ])?;
    let now = SystemTime::now();
    let day = Duration::from_secs(86_400);
    let ca_der = build(
        Profile::Manual { issuer: None },
        1,
        validity(now - day, now + 3650 * day)?,
        ca_name.clone(),
        &ca_key.to_public_key(),
        &ca_key,
        |b| {
            b.add_extension(&BasicConstraints {
                ca: true,
                path_len_constraint: Some(0),
            })?;
            b.add_extension(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))
        },
    )?;
    let mut accounts = HashMap::new();
    for (serial, (user, pem)) in (2u64..).zip(ACCOUNT_KEYS) {
        let Some((_, _, cf)) = crate::seed::REMOTE_SIGNATURE_ACCOUNTS
            .iter()
            .find(|(u, _, _)| u == user)
        else {
            continue;
        };
        let (given, surname) = SPID_IDENTITIES
            .iter()
            .find(|(c, _, _)| c == cf)
            .map(|(_, g, s)| (*g, *s))
            .unwrap_or(("Titolare", "Firma"));
        let key = RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| err(&e))?;
        let subject = name(&[
            ("2.5.4.6", "IT", true),
            ("2.5.4.4", surname, false),
            ("2.5.4.42", given, false),
            ("2.5.4.5", &format!("TINIT-{cf}"), true),
            ("2.5.4.3", &format!("{given} {surname}"), false),
        ])?;
        let (from, to) = (now - day, now + 730 * day);
        let cert_der = build(
            Profile::Manual {
                issuer: Some(ca_name.clone()),
            },
            serial,
            validity(from, to)?,
            subject.clone(),
            &key.to_public_key(),
            &ca_key,
            |b| {
                b.add_extension(&KeyUsage(KeyUsages::NonRepudiation.into()))?;
                b.add_extension(&CertificatePolicies(vec![
                    policy("0.4.0.194112.1.2")?,
                    policy("1.3.76.16.6")?,
                ]))?;
                b.add_extension(&QcStatementsExt::qualified()?)
            },
        )?;
        accounts.insert(
            *user,
            Account {
                key,
                cert_der,
                issuer_dn: ca_name.to_string(),
                subject_dn: subject.to_string(),
                serial_hex: format!("{serial:02X}"),
                valid_from: generalized(from),
                valid_to: generalized(to),
            },
        );
    }
    Ok(Issued { ca_der, accounts })
}

/// The qcStatements extension (RFC 3739; ETSI EN 319 412-5): QcCompliance and QcSSCD.
struct QcStatementsExt(Vec<QcStatement>);

impl QcStatementsExt {
    fn qualified() -> Result<Self, x509_cert::builder::Error> {
        Ok(Self(vec![
            QcStatement {
                statement_id: OID_QC_COMPLIANCE,
                statement_info: None,
            },
            QcStatement {
                statement_id: OID_QC_SSCD,
                statement_info: None,
            },
        ]))
    }
}

impl der::EncodeValue for QcStatementsExt {
    fn value_len(&self) -> der::Result<der::Length> {
        self.0.value_len()
    }
    fn encode_value(&self, writer: &mut impl der::Writer) -> der::Result<()> {
        self.0.encode_value(writer)
    }
}

impl der::FixedTag for QcStatementsExt {
    const TAG: Tag = Tag::Sequence;
}

impl der::oid::AssociatedOid for QcStatementsExt {
    const OID: ObjectIdentifier = pec_sign::asn1::OID_QC_STATEMENTS;
}

impl x509_cert::ext::AsExtension for QcStatementsExt {
    fn critical(&self, _: &Name, _: &[x509_cert::ext::Extension]) -> bool {
        false
    }
}

fn policy(oid: &str) -> Result<PolicyInformation, x509_cert::builder::Error> {
    Ok(PolicyInformation {
        policy_identifier: ObjectIdentifier::new(oid)
            .map_err(|e| x509_cert::builder::Error::Asn1(e.into()))?,
        policy_qualifiers: None,
    })
}

fn build(
    profile: Profile,
    serial: u64,
    validity: Validity,
    subject: Name,
    subject_key: &RsaPublicKey,
    ca_key: &RsaPrivateKey,
    extend: impl FnOnce(
        &mut CertificateBuilder<'_, SigningKey<Sha256>>,
    ) -> Result<(), x509_cert::builder::Error>,
) -> Result<Vec<u8>, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let signer = SigningKey::<Sha256>::new(ca_key.clone());
    let spki_der = subject_key.to_public_key_der().map_err(|e| err(&e))?;
    let spki = SubjectPublicKeyInfoOwned::try_from(spki_der.as_bytes()).map_err(|e| err(&e))?;
    let serial = SerialNumber::new(&serial.to_be_bytes()).map_err(|e| err(&e))?;
    let mut builder = CertificateBuilder::new(profile, serial, validity, subject, spki, &signer)
        .map_err(|e| err(&e))?;
    extend(&mut builder).map_err(|e| err(&e))?;
    let cert = builder
        .build::<rsa::pkcs1v15::Signature>()
        .map_err(|e| err(&e))?;
    cert.to_der().map_err(|e| err(&e))
}

/// One attribute per RDN; `printable` picks PrintableString (C, serialNumber) over UTF8String.
fn name(attrs: &[(&str, &str, bool)]) -> Result<Name, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let mut rdns = Vec::with_capacity(attrs.len());
    for (oid, value, printable) in attrs {
        let value = if *printable {
            let s = PrintableStringRef::new(value).map_err(|e| err(&e))?;
            Any::new(Tag::PrintableString, s.as_bytes()).map_err(|e| err(&e))?
        } else {
            let s = Utf8StringRef::new(value).map_err(|e| err(&e))?;
            Any::new(Tag::Utf8String, s.as_bytes()).map_err(|e| err(&e))?
        };
        let atv = AttributeTypeAndValue {
            oid: ObjectIdentifier::new(oid).map_err(|e| err(&e))?,
            value,
        };
        rdns.push(RelativeDistinguishedName(
            SetOfVec::try_from(vec![atv]).map_err(|e| err(&e))?,
        ));
    }
    Ok(RdnSequence(rdns))
}

fn validity(from: SystemTime, to: SystemTime) -> Result<Validity, String> {
    let t = |s: SystemTime| -> Result<Time, String> {
        let d = s.duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?;
        UtcTime::from_unix_duration(Duration::from_secs(d.as_secs()))
            .map(Time::UtcTime)
            .map_err(|e| e.to_string())
    };
    Ok(Validity {
        not_before: t(from)?,
        not_after: t(to)?,
    })
}

/// `YYYYMMDDHHMMSSZ`, the CSC format of validFrom / validTo.
fn generalized(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    DateTime::<Utc>::from_timestamp(i64::try_from(secs).unwrap_or(0), 0)
        .map(|d| d.format("%Y%m%d%H%M%SZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_qualified_certificates_for_each_account() {
        let issued = issued().expect("issue");
        assert_eq!(issued.accounts.len(), 2);
        let mario = &issued.accounts["firma.mario"];
        assert!(
            mario.subject_dn.contains("TINIT-RSSMRA45C12F205C"),
            "{}",
            mario.subject_dn
        );
        assert_eq!(credential_id("firma.mario"), "firma.mario-qes");
    }

    #[test]
    fn basic_credentials_are_parsed_strictly() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {}", B64.encode("firma.mario:pw:x")))
                .expect("header"),
        );
        assert_eq!(
            basic_credentials(&h),
            Some(("firma.mario".into(), "pw:x".into()))
        );
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert_eq!(basic_credentials(&h), None);
    }
}
