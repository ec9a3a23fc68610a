//! *Firma remota*: a client of the Cloud Signature Consortium API v2 (wire types in
//! [`crate::csc_api`]), and the CAdES-BES assembled here from the service's signature.
//!
//! The flow ([`sign_cades`]): `credentials/info` gives the certificate chain; the signed
//! attributes are built locally ([`crate::cades::prepare`]); `credentials/authorize` sends the
//! OTP with the SHA-256 of those attributes and gets the Signature Activation Data (SAD), bound
//! to that hash; `signatures/signHash` signs the hash; the `.p7m` is finished and checked
//! locally. The service never sees the document, only one hash.
//!
//! Secrets: the password, the OTP, the access token and the SAD live in types whose `Debug`
//! prints `***`, that have no `Display`, and are zeroized on drop; none is logged or put in an
//! error. A [`Sad`] is consumed by [`CscClient::sign_hash`]: it cannot be used twice.

use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::cades::prepare;
use crate::csc_api::{
    AuthData, AuthorizeRequest, AuthorizeResponse, CredentialInfo, CredentialInfoRequest,
    CredentialsListRequest, CredentialsListResponse, CscError, InfoRequest, InfoResponse,
    LoginRequest, LoginResponse, OID_SHA256, OID_SHA256_WITH_RSA, SignHashRequest,
    SignHashResponse,
};
use crate::error::SignError;
use crate::signer::SignerCertificate;

/// A secret string (password, OTP): zeroized on drop, `***` in `Debug`.
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Takes the value (a trailing newline from a terminal or a pipe is dropped).
    pub fn new(value: String) -> Secret {
        let mut v = Zeroizing::new(value);
        let len = v.trim_end_matches(['\r', '\n']).len();
        v.truncate(len);
        Secret(v)
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Signature Activation Data: single use (consumed by [`CscClient::sign_hash`]).
pub struct Sad {
    value: Zeroizing<String>,
    credential_id: String,
    hashes: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Sad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sad")
            .field("value", &"***")
            .field("credential_id", &self.credential_id)
            .finish_non_exhaustive()
    }
}

/// A CSC service at a base URI (ending in `/csc/v2`).
pub struct CscClient {
    http: reqwest::Client,
    base: String,
    token: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for CscClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CscClient")
            .field("base", &self.base)
            .field("signed_in", &self.token.is_some())
            .finish()
    }
}

/// Requests to a signing service are small and answered at once; a minute covers a slow
/// network without leaving the holder waiting forever.
const TIMEOUT: Duration = Duration::from_secs(60);

impl CscClient {
    /// A client for the service whose base URI is `base_uri` (e.g.
    /// `https://firma.example/csc/v2`). Only `https`, or `http` to a loopback address (tests,
    /// the embedded sandbox).
    pub fn new(base_uri: &str) -> Result<CscClient, SignError> {
        let url = reqwest::Url::parse(base_uri)
            .map_err(|e| SignError::RemoteUnreachable(format!("base URI: {e}")))?;
        let host = url.host_str().unwrap_or("");
        let loopback = host == "localhost"
            || host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(SignError::RemoteUnreachable(
                "the signing service must use https".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| SignError::RemoteUnreachable(e.to_string()))?;
        Ok(CscClient {
            http,
            base: base_uri.trim_end_matches('/').to_owned(),
            token: None,
        })
    }

    /// `info`: what the service is and which methods it has.
    pub async fn info(&self) -> Result<InfoResponse, SignError> {
        self.post("info", &InfoRequest { lang: None }, false).await
    }

    /// `auth/login` with HTTP Basic: keeps the access token for the other calls.
    pub async fn login(&mut self, user: &str, password: &Secret) -> Result<(), SignError> {
        let basic = Zeroizing::new(B64.encode(format!("{user}:{}", password.expose())));
        let resp = self
            .http
            .post(self.url("auth/login"))
            .header(
                reqwest::header::AUTHORIZATION,
                Zeroizing::new(format!("Basic {}", basic.as_str())).as_str(),
            )
            .json(&LoginRequest::default())
            .send()
            .await
            .map_err(unreachable)?;
        let login: LoginResponse = decode(resp).await?;
        self.token = Some(Zeroizing::new(login.access_token));
        Ok(())
    }

    /// `credentials/list`: the user's credential ids.
    pub async fn credentials_list(&self) -> Result<Vec<String>, SignError> {
        let r: CredentialsListResponse = self
            .post("credentials/list", &CredentialsListRequest::default(), true)
            .await?;
        Ok(r.credential_ids)
    }

    /// `credentials/info` with the certificate chain and the authorisation objects.
    pub async fn credential_info(&self, credential_id: &str) -> Result<CredentialInfo, SignError> {
        self.post(
            "credentials/info",
            &CredentialInfoRequest {
                credential_id: credential_id.to_owned(),
                certificates: Some("chain".into()),
                cert_info: Some(true),
                auth_info: Some(true),
            },
            true,
        )
        .await
    }

    /// `credentials/authorize`: the OTP authorises signing exactly `hashes` (SHA-256).
    pub async fn authorize(
        &self,
        credential_id: &str,
        hashes: &[[u8; 32]],
        otp: Secret,
    ) -> Result<Sad, SignError> {
        let count = u32::try_from(hashes.len())
            .map_err(|_| SignError::Encoding("too many hashes".into()))?;
        let req = AuthorizeRequest {
            credential_id: credential_id.to_owned(),
            num_signatures: count,
            hashes: Some(hashes.iter().map(|h| B64.encode(h)).collect()),
            hash_algorithm_oid: Some(OID_SHA256.into()),
            auth_data: Some(vec![AuthData {
                id: "OTP".into(),
                value: otp.expose().to_owned(),
            }]),
            description: Some("Modulo di richiesta di identificazione del titolare".into()),
        };
        let result: Result<AuthorizeResponse, SignError> =
            self.post("credentials/authorize", &req, true).await;
        // The request held a copy of the OTP: wipe it (the Secret wipes its own on drop).
        let mut req = req;
        if let Some(data) = req.auth_data.as_mut() {
            for d in data.iter_mut() {
                zeroize::Zeroize::zeroize(&mut d.value);
            }
        }
        let resp = result?;
        Ok(Sad {
            value: Zeroizing::new(resp.sad),
            credential_id: credential_id.to_owned(),
            hashes: hashes.to_vec(),
        })
    }

    /// `signatures/signHash`: signs the hashes the SAD was issued for, consuming it.
    pub async fn sign_hash(&self, sad: Sad) -> Result<Vec<Vec<u8>>, SignError> {
        let req = SignHashRequest {
            credential_id: sad.credential_id.clone(),
            sad: sad.value.as_str().to_owned(),
            hashes: sad.hashes.iter().map(|h| B64.encode(h)).collect(),
            hash_algorithm_oid: Some(OID_SHA256.into()),
            sign_algo: OID_SHA256_WITH_RSA.into(),
        };
        let result: Result<SignHashResponse, SignError> =
            self.post("signatures/signHash", &req, true).await;
        let mut req = req;
        zeroize::Zeroize::zeroize(&mut req.sad);
        let resp = result?;
        if resp.signatures.len() != sad.hashes.len() {
            return Err(SignError::RemoteMalformed(format!(
                "{} signatures for {} hashes",
                resp.signatures.len(),
                sad.hashes.len()
            )));
        }
        resp.signatures
            .iter()
            .map(|s| {
                B64.decode(s)
                    .map_err(|_| SignError::RemoteMalformed("signature is not base64".into()))
            })
            .collect()
    }

    fn url(&self, method: &str) -> String {
        format!("{}/{method}", self.base)
    }

    async fn post<Q: Serialize, R: DeserializeOwned>(
        &self,
        method: &str,
        body: &Q,
        authed: bool,
    ) -> Result<R, SignError> {
        let mut req = self.http.post(self.url(method)).json(body);
        if authed {
            let token = self.token.as_ref().ok_or(SignError::RemoteRefused)?;
            req = req.bearer_auth(token.as_str());
        }
        decode(req.send().await.map_err(unreachable)?).await
    }
}

/// The certificate and chain of a credential, from `credentials/info`.
pub fn signer_certificate(info: &CredentialInfo) -> Result<SignerCertificate, SignError> {
    let mut ders = info.cert.certificates.iter().map(|c| {
        B64.decode(c)
            .map_err(|_| SignError::RemoteMalformed("certificate is not base64".into()))
    });
    let der = ders
        .next()
        .ok_or_else(|| SignError::RemoteMalformed("no certificate in credentials/info".into()))??;
    let chain = ders.collect::<Result<Vec<_>, _>>()?;
    Ok(SignerCertificate { der, chain })
}

/// Signs `content` with the remote credential `credential_id`, authorised by `otp`; see the
/// module documentation. The client must be logged in.
pub async fn sign_cades(
    client: &CscClient,
    credential_id: &str,
    otp: Secret,
    content: &[u8],
    signing_time: SystemTime,
) -> Result<Vec<u8>, SignError> {
    let info = client.credential_info(credential_id).await?;
    let certificate = signer_certificate(&info)?;
    let prepared = prepare(content, &certificate, signing_time)?;
    let hash = prepared.to_be_signed().sha256();
    let sad = client.authorize(credential_id, &[hash], otp).await?;
    let signatures = client.sign_hash(sad).await?;
    let [signature] = signatures.as_slice() else {
        return Err(SignError::RemoteMalformed("expected one signature".into()));
    };
    prepared.finish(signature)
}

async fn decode<R: DeserializeOwned>(resp: reqwest::Response) -> Result<R, SignError> {
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    // Answers are small JSON objects; a signature service that sends megabytes is broken.
    let bytes = resp.bytes().await.map_err(unreachable)?;
    if bytes.len() > 1 << 20 {
        return Err(SignError::RemoteMalformed("answer too large".into()));
    }
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|e| SignError::RemoteMalformed(e.to_string()));
    }
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Err(SignError::RemoteLocked { retry_after });
    }
    let err: Option<CscError> = serde_json::from_slice(&bytes).ok();
    let code = err
        .as_ref()
        .map(|e| e.error.clone())
        .unwrap_or_else(|| format!("http_{}", status.as_u16()));
    if matches!(
        code.as_str(),
        "invalid_otp" | "invalid_grant" | "access_denied" | "invalid_token"
    ) || status == reqwest::StatusCode::UNAUTHORIZED
    {
        return Err(SignError::RemoteRefused);
    }
    Err(SignError::Remote {
        code,
        description: err.and_then(|e| e.error_description),
    })
}

fn unreachable(e: reqwest::Error) -> SignError {
    // Without the URL: it is ours, but the error text stays short and free of query strings.
    SignError::RemoteUnreachable(e.without_url().to_string())
}
