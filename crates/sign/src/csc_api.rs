//! Wire types of the Cloud Signature Consortium API v2 (CSC, "Architectures and protocols
//! for remote signature applications", version 2.0.0.2): the JSON of the methods a remote
//! signature needs. The client ([`crate::csc`]) and the sandbox's server share them, so the two
//! cannot drift.
//!
//! Every method is a `POST` of a JSON object to `<base URI>/<method>`, the base URI ending in
//! `/csc/v2`: `info`, `auth/login` (HTTP Basic), `credentials/list`, `credentials/info`,
//! `credentials/authorize` (the OTP, giving the Signature Activation Data) and
//! `signatures/signHash`. Field names are the specification's (`credentialID`, `SAD`,
//! `hashAlgorithmOID`...). Errors are `{"error": ..., "error_description": ...}`.
//!
//! Secrets (access token, OTP, SAD) are plain strings on the wire; the types that carry them
//! print `***` in `Debug`, so they cannot reach a log through `{:?}`.

use serde::{Deserialize, Serialize};

/// OID of SHA-256 (`hashAlgorithmOID`).
pub const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
/// OID of sha256WithRSAEncryption (`signAlgo`).
pub const OID_SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
/// OID of rsaEncryption (`signAlgo` with a separate `hashAlgorithmOID`).
pub const OID_RSA: &str = "1.2.840.113549.1.1.1";

/// `info` input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InfoRequest {
    /// Preferred language (`it-IT`, `en-US`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// `info` output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InfoResponse {
    /// Version of the specification implemented (`2.0.0.2`).
    pub specs: String,
    /// Name of the remote signature service.
    pub name: String,
    /// URI of the service's logo.
    pub logo: String,
    /// ISO 3166-1 country of the service.
    pub region: String,
    /// Language of the answers.
    pub lang: String,
    /// Free description.
    pub description: String,
    /// Authorisation methods to get an access token (`basic`, `oauth2code`...).
    pub auth_type: Vec<String>,
    /// Methods the service implements.
    pub methods: Vec<String>,
}

/// `auth/login` input (the credentials travel in the `Authorization: Basic` header).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    /// Ask for a refresh token too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remember_me: Option<bool>,
}

/// `auth/login` output.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginResponse {
    /// Bearer token for the other methods.
    pub access_token: String,
    /// Lifetime of the token in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

impl std::fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginResponse")
            .field("access_token", &"***")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// `credentials/list` input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CredentialsListRequest {
    /// Only credentials with a valid certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_valid: Option<bool>,
}

/// `credentials/list` output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialsListResponse {
    /// The user's credentials.
    #[serde(rename = "credentialIDs")]
    pub credential_ids: Vec<String>,
}

/// `credentials/info` input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CredentialInfoRequest {
    /// Which credential.
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    /// `none`, `single` or `chain` (the certificate and its CAs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificates: Option<String>,
    /// Add issuer, subject, serial and validity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_info: Option<bool>,
    /// Add the authorisation mode and its objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_info: Option<bool>,
}

/// `credentials/info` output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CredentialInfo {
    /// Free description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `eu_eidas_qes` for a qualified electronic signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_qualifier: Option<String>,
    /// The key.
    pub key: KeyInfo,
    /// The certificate.
    pub cert: CertInfo,
    /// How a signature is authorised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthInfo>,
    /// Sole Control Assurance Level: `1` or `2` (hashes bound to the authorisation).
    #[serde(rename = "SCAL", default, skip_serializing_if = "Option::is_none")]
    pub scal: Option<String>,
    /// How many signatures one authorisation allows.
    pub multisign: u32,
}

/// The key of a credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyInfo {
    /// `enabled`, `disabled`.
    pub status: String,
    /// Signature algorithm OIDs the key supports.
    pub algo: Vec<String>,
    /// Key length in bits.
    pub len: u32,
}

/// The certificate of a credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CertInfo {
    /// `valid`, `expired`, `revoked`, `suspended`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Base64 DER: the end-entity certificate first, then its CAs.
    #[serde(default)]
    pub certificates: Vec<String>,
    /// Issuer, RFC 4514.
    #[serde(rename = "issuerDN", default, skip_serializing_if = "Option::is_none")]
    pub issuer_dn: Option<String>,
    /// Subject, RFC 4514.
    #[serde(rename = "subjectDN", default, skip_serializing_if = "Option::is_none")]
    pub subject_dn: Option<String>,
    /// Serial number, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// Start of validity (`YYYYMMDDHHMMSSZ`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    /// End of validity (`YYYYMMDDHHMMSSZ`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<String>,
}

/// How a signature with the credential is authorised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthInfo {
    /// `implicit`, `explicit` (authData in `credentials/authorize`) or `oauth2code`.
    pub mode: String,
    /// Which objects are needed together (`OTP`, `PIN AND OTP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// The objects.
    #[serde(default)]
    pub objects: Vec<AuthObject>,
}

/// One object of an explicit authorisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthObject {
    /// `Password` (PIN, OTP).
    #[serde(rename = "type")]
    pub kind: String,
    /// The id to use in `authData` (`PIN`, `OTP`).
    pub id: String,
    /// `N` numeric, `A` alphanumeric.
    pub format: String,
    /// Label to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Where the value comes from (`totp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
}

/// A count as JSON counts integers: `1`, or `1.0` (a whole number written with a fraction is
/// an integer to JSON Schema, so a client generated from a document may send one).
fn whole_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = f64::deserialize(d)?;
    if n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n) {
        // Whole and in range: the conversion is exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(n as u32)
    } else {
        Err(serde::de::Error::custom(
            "numSignatures is a whole number from 0 to 4294967295",
        ))
    }
}

/// `credentials/authorize` input.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeRequest {
    /// Which credential.
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    /// How many signatures are authorised.
    #[serde(deserialize_with = "whole_count")]
    pub num_signatures: u32,
    /// Base64 hashes to be signed (SCAL 2: the SAD is bound to them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<Vec<String>>,
    /// Their algorithm.
    #[serde(
        rename = "hashAlgorithmOID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub hash_algorithm_oid: Option<String>,
    /// The authorisation objects (the OTP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_data: Option<Vec<AuthData>>,
    /// What is being signed, for the user's records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl std::fmt::Debug for AuthorizeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizeRequest")
            .field("credential_id", &self.credential_id)
            .field("num_signatures", &self.num_signatures)
            .field("hashes", &self.hashes)
            .field("auth_data", &self.auth_data)
            .finish_non_exhaustive()
    }
}

/// One authorisation object's value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthData {
    /// The object's id (`OTP`).
    pub id: String,
    /// Its value (secret).
    pub value: String,
}

impl std::fmt::Debug for AuthData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthData")
            .field("id", &self.id)
            .field("value", &"***")
            .finish()
    }
}

/// `credentials/authorize` output.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeResponse {
    /// Signature Activation Data for `signatures/signHash` (secret, single use).
    #[serde(rename = "SAD")]
    pub sad: String,
    /// Lifetime in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

impl std::fmt::Debug for AuthorizeResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizeResponse")
            .field("sad", &"***")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// `signatures/signHash` input.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignHashRequest {
    /// Which credential.
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    /// The SAD from `credentials/authorize` (secret).
    #[serde(rename = "SAD")]
    pub sad: String,
    /// Base64 hashes to sign.
    pub hashes: Vec<String>,
    /// Their algorithm, when `signAlgo` does not imply it.
    #[serde(
        rename = "hashAlgorithmOID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub hash_algorithm_oid: Option<String>,
    /// Signature algorithm OID.
    #[serde(rename = "signAlgo")]
    pub sign_algo: String,
}

impl std::fmt::Debug for SignHashRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignHashRequest")
            .field("credential_id", &self.credential_id)
            .field("sad", &"***")
            .field("hashes", &self.hashes)
            .field("sign_algo", &self.sign_algo)
            .finish_non_exhaustive()
    }
}

/// `signatures/signHash` output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignHashResponse {
    /// Base64 signatures, in the order of the hashes.
    pub signatures: Vec<String>,
}

/// The CSC error body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CscError {
    /// Error code (`invalid_request`, `invalid_token`, `invalid_otp`, `access_denied`...).
    pub error: String,
    /// Description for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let a = AuthorizeRequest {
            credential_id: "c".into(),
            num_signatures: 1,
            hashes: None,
            hash_algorithm_oid: None,
            auth_data: Some(vec![AuthData {
                id: "OTP".into(),
                value: "123456".into(),
            }]),
            description: None,
        };
        let s = SignHashRequest {
            credential_id: "c".into(),
            sad: "sad-secret".into(),
            hashes: vec![],
            hash_algorithm_oid: None,
            sign_algo: OID_SHA256_WITH_RSA.into(),
        };
        let r = AuthorizeResponse {
            sad: "sad-secret".into(),
            expires_in: None,
        };
        let l = LoginResponse {
            access_token: "tok-secret".into(),
            expires_in: None,
        };
        let all = format!("{a:?}{s:?}{r:?}{l:?}");
        for secret in ["123456", "sad-secret", "tok-secret"] {
            assert!(!all.contains(secret), "{all}");
        }
        let json = serde_json::to_value(&s).expect("json");
        assert_eq!(json["SAD"], "sad-secret");
        assert_eq!(json["credentialID"], "c");
        assert_eq!(json["signAlgo"], OID_SHA256_WITH_RSA);
    }

    #[test]
    fn num_signatures_is_read_as_json_schema_counts_integers() {
        let read = |n: &str| {
            serde_json::from_str::<AuthorizeRequest>(&format!(
                r#"{{"credentialID": "c", "numSignatures": {n}}}"#
            ))
            .map(|r| r.num_signatures)
        };
        assert_eq!(read("1").expect("integer"), 1);
        assert_eq!(read("1.0").expect("whole with a fraction"), 1);
        for bad in ["1.5", "-1", "4294967296", "\"1\"", "null"] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }
}
