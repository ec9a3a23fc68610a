//! The provider API's wire types: what travels as JSON between the app and a provider.
//!
//! The server (`pec-sandbox`) serialises these and generates its OpenAPI document from them, and
//! this crate's client deserialises them, so client and document cannot drift apart.
//!
//! Inputs carry plain strings rather than `pec_domain` newtypes on purpose: a malformed codice
//! fiscale must come back as a problem with the domain's stable code (`cf.checksum`, ...) and both
//! messages, which a serde failure inside a newtype cannot give. [`HolderData::to_domain`] and
//! [`ContactData::to_domain`] run the domain validators and return that [`Localized`] error.

use chrono::{DateTime, NaiveDate, Utc};
use pec_domain::{
    CodiceFiscale, Contact, DomainError, EmailAddress, Holder, HolderDraft, HolderKind,
    IdentificationMethod, IdentityState, Localized, MobileNumber, Name, NaturalPerson, PartitaIva,
    Role, TaxCode,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zeroize::Zeroizing;

mod cieid;
mod portals;
pub use cieid::*;
pub use portals::*;

/// Header carrying the client's idempotency key on every creating POST.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// Header carrying the sandbox's per-run back-office secret on `/sandbox/*` calls. Only a
/// sandbox-mode server has those routes; it answers them only with the secret of its run.
pub const SANDBOX_SECRET_HEADER: &str = "Sandbox-Secret";

/// Media type of every error body (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

// ---------------------------------------------------------------------------------------------
// Errors

/// An error body (`application/problem+json`, RFC 9457) with the domain's stable code and both
/// messages, so the app can show it without a table of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct Problem {
    /// `urn:pec:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short English summary (the English message).
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// Stable machine code, e.g. `cf.checksum` or `auth.locked`.
    pub code: String,
    /// Message for people, in Italian.
    pub message_it: String,
    /// Message for people, in English.
    pub message_en: String,
    /// Seconds to wait before trying again (rate limits and lock-outs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl Problem {
    /// The code and messages as the domain's boundary shape.
    pub fn localized(&self) -> Localized {
        Localized::new(&self.code, &self.message_it, &self.message_en)
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions

/// A session token (bearer or refresh): wiped from memory when dropped, redacted in `Debug`
/// (audit L5). On the wire a plain string. The copies serde and reqwest make while a request
/// or an answer is (de)serialised are not wiped: an accepted residual risk, see
/// ARCHITECTURE.md ("Secrets in memory").
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Token(Zeroizing<String>);

impl Token {
    /// The token itself, for the one place that needs it (a header, a request body).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Token {
    fn from(value: String) -> Self {
        // Moved, not copied: the one buffer is the one wiped.
        Self(Zeroizing::new(value))
    }
}

impl From<&str> for Token {
    fn from(value: &str) -> Self {
        Self(Zeroizing::new(value.to_owned()))
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Sign in with a mailbox address or an account id.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct SignInRequest {
    /// A PEC address of the account, or the account id.
    #[schema(min_length = 1, max_length = 254, pattern = r"\S")]
    pub login: String,
    /// The account password.
    #[schema(max_length = 1024)]
    pub password: String,
    /// Current two-step code, required when two-step login is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_code: Option<String>,
}

impl std::fmt::Debug for SignInRequest {
    // The password and the two-step code must never reach a log, even through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInRequest")
            .field("login", &self.login)
            .field("totp_code", &self.totp_code.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

/// Exchange a refresh token for a new pair (the old pair stops working).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct RefreshRequest {
    /// The refresh token of the current session.
    #[schema(value_type = String)]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub refresh_token: Token,
}

impl std::fmt::Debug for RefreshRequest {
    // The token must never reach a log, even through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshRequest").finish_non_exhaustive()
    }
}

/// Tokens of a session. Both are opaque; the server keeps only their hashes.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct SessionTokens {
    /// Bearer token for the `Authorization` header.
    #[schema(value_type = String)]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub access_token: Token,
    /// Token for [`RefreshRequest`].
    #[schema(value_type = String)]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub refresh_token: Token,
    /// Always `Bearer`.
    pub token_type: String,
    /// When the access token stops working.
    pub expires_at: DateTime<Utc>,
    /// When the refresh token stops working.
    pub refresh_expires_at: DateTime<Utc>,
    /// The account signed in.
    pub account_id: String,
}

impl std::fmt::Debug for SessionTokens {
    // Tokens must never reach a log, even through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionTokens")
            .field("account_id", &self.account_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// Holder, contact, mailbox

/// A natural person (private holder or legal representative).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct PersonData {
    /// Nome.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub first_name: String,
    /// Cognome.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub last_name: String,
    /// Codice fiscale (16 characters).
    #[schema(format = "codice-fiscale")]
    pub tax_code: String,
}

/// The holder of a mailbox, tagged by `kind` (same JSON as `pec_domain::Holder`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HolderData {
    /// Impresa / società.
    Company {
        /// Ragione sociale.
        #[schema(
            min_length = 1,
            max_length = 200,
            pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
        )]
        business_name: String,
        /// Codice fiscale dell'impresa.
        #[schema(format = "tax-code")]
        tax_code: String,
        /// The legale rappresentante.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        legal_representative: Option<PersonData>,
    },
    /// Professionista / ditta individuale / artigiano.
    Professional {
        /// Name or trading name.
        #[schema(
            min_length = 1,
            max_length = 200,
            pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
        )]
        name: String,
        /// Codice fiscale.
        #[schema(format = "tax-code")]
        tax_code: String,
        /// Partita IVA.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(format = "partita-iva")]
        vat_number: Option<String>,
    },
    /// Privato cittadino.
    PrivateCitizen {
        /// Nome.
        #[schema(
            min_length = 1,
            max_length = 200,
            pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
        )]
        first_name: String,
        /// Cognome.
        #[schema(
            min_length = 1,
            max_length = 200,
            pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
        )]
        last_name: String,
        /// Codice fiscale.
        #[schema(format = "codice-fiscale")]
        tax_code: String,
    },
}

/// Contact data: where the OTP and the notices go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct ContactData {
    /// Ordinary e-mail address.
    #[schema(format = "email-address")]
    pub email: String,
    /// Italian mobile number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = "mobile-it")]
    pub mobile: Option<String>,
}

/// Identity-confirmation state, as the providers name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum IdentityStateData {
    /// "Da confermare".
    ToConfirm,
    /// "Verifiche in corso".
    ChecksInProgress,
    /// "Documenti mancanti".
    DocumentsMissing,
    /// "Completato".
    Completed,
}

/// Kind of holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum HolderKindData {
    /// Impresa / società.
    Company,
    /// Professionista / ditta individuale / artigiano.
    Professional,
    /// Privato cittadino.
    PrivateCitizen,
}

/// Identification method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MethodData {
    /// SPID.
    Spid,
    /// CIE.
    Cie,
    /// CNS / Tessera Sanitaria.
    Cns,
    /// Firma digitale on a card.
    DigitalSignature,
    /// Firma remota.
    RemoteSignature,
    /// Webcam with an operator.
    Webcam,
}

/// Who is going through the confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RoleData {
    /// "Sono il legale rappresentante o l'intestatario della casella".
    HolderOrLegalRepresentative,
    /// "Non sono il legale rappresentante o l'intestatario della casella".
    Other,
}

/// A mailbox of the signed-in account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct MailboxView {
    /// The PEC address.
    pub address: String,
    /// The holder on record.
    pub holder: HolderData,
    /// The contact data on record.
    pub contact: ContactData,
    /// Where the identity confirmation stands.
    pub identity_state: IdentityStateData,
    /// Italian label of the state ("Da confermare", ...).
    pub identity_state_label_it: String,
    /// The European star: qualified and identified.
    pub qualified: bool,
    /// Last day of the paid period.
    pub expires_on: NaiveDate,
    /// Two-step login on.
    pub two_step_login: bool,
    /// Where the mailbox's messages are read over IMAPS. The app backs the mailbox up from
    /// this host only.
    // Not in the page's bindings: the app's core keeps it and prefills the backup form with
    // it (audit M6: a compromised page must not point a backup at a host of its choosing).
    #[cfg_attr(feature = "ts", ts(skip))]
    pub imap: ImapServer,
    /// The identity request in progress, to resume it from any entry point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_identity_request: Option<String>,
}

/// The IMAPS server (implicit TLS) of a mailbox, as the provider publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct ImapServer {
    /// A host name or an IPv4 address: dot-separated labels of letters, digits and inner
    /// hyphens, each 1 to 63 characters.
    #[schema(
        min_length = 1,
        max_length = 253,
        pattern = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
    )]
    pub host: String,
    /// TCP port (993 as a rule).
    #[schema(minimum = 1, maximum = 65535)]
    #[serde(deserialize_with = "whole_port")]
    pub port: u16,
}

/// A port as JSON Schema counts integers: `993`, or `993.0` (a whole number written with a
/// fraction is an integer to the document, so a client generated from it may send one).
fn whole_port<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    let n = f64::deserialize(d)?;
    if n.fract() == 0.0 && (0.0..=f64::from(u16::MAX)).contains(&n) {
        // Whole and in range: the conversion is exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(n as u16)
    } else {
        Err(serde::de::Error::custom(
            "a port is a whole number from 0 to 65535",
        ))
    }
}

impl ImapServer {
    /// Whether `host` is what [`ImapServer::host`]'s pattern allows (the same rule, so a
    /// provider refuses exactly what its document calls invalid).
    pub fn host_is_valid(host: &str) -> bool {
        let label = |l: &str| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        !host.is_empty() && host.len() <= 253 && host.split('.').all(label)
    }
}

/// A notification for the bell, or the "adegua la PEC" banner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct NotificationView {
    /// Identifier (banners: `banner:<address>`).
    pub id: String,
    /// What it is about.
    pub kind: NotificationKind,
    /// The mailbox concerned.
    pub mailbox: String,
    /// Title in Italian.
    pub title_it: String,
    /// Title in English.
    pub title_en: String,
    /// Text in Italian.
    pub body_it: String,
    /// Text in English.
    pub body_en: String,
    /// When it was raised.
    pub created_at: DateTime<Utc>,
    /// Whether the user has read it.
    pub read: bool,
}

/// Kinds of notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// "Adegua la PEC": identity confirmation needed (shown as a banner too).
    IdentityBanner,
    /// An identity-request outcome or state change.
    IdentityOutcome,
    /// Security: two-step login, app passwords.
    Security,
}

// ---------------------------------------------------------------------------------------------
// Identity requests

/// The steps of an identity request (the domain state machine's `step` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum StepData {
    ChoosingRole,
    AwaitingHolderEmail,
    DelegationLinkSent,
    ChoosingHolderKind,
    EnteringData,
    Summary,
    ChoosingMethod,
    Identifying,
    Identified,
    AcceptingTerms,
    OtpSent,
    Completed,
    DataMismatch,
    LegalPersonCeased,
    DocumentsMissing,
    ChecksInProgress,
    HolderChangeRequired,
}

/// Outcomes other than plain success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum OutcomeData {
    /// "Dati non corrispondenti".
    DataMismatch,
    /// "Persona giuridica cancellata".
    LegalPersonCeased,
    /// Legal-representative check failed: send documents.
    LegalRepresentativeCheckFailed,
    /// Documents under review.
    ChecksInProgress,
}

/// Holder and contact data as on the summary page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct DraftData {
    /// Holder.
    pub holder: HolderData,
    /// Contact.
    pub contact: ContactData,
}

/// An identity request, flattened for clients: which fields are set depends on `step`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct IdentityRequestView {
    /// Identifier.
    pub id: String,
    /// The mailbox being confirmed.
    pub mailbox: String,
    /// The step reached.
    pub step: StepData,
    /// The provider-facing state.
    pub state: IdentityStateData,
    /// Italian label of the state.
    pub state_label_it: String,
    /// The outcome to show, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<OutcomeData>,
    /// Italian heading of the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_label_it: Option<String>,
    /// Numero di pratica (documents review).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practice_number: Option<String>,
    /// Holder kind chosen (entering data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_kind: Option<HolderKindData>,
    /// Data collected (or entered before, to prefill the form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft: Option<DraftData>,
    /// Identification method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<MethodData>,
    /// Delegation: where the link went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_email: Option<String>,
    /// When the current OTP stops working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp_expires_at: Option<DateTime<Utc>>,
    /// Wrong codes still allowed for the current OTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp_attempts_left: Option<u32>,
    /// When "invia di nuovo" becomes available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resend_available_at: Option<DateTime<Utc>>,
    /// The texts to read before accepting them (step `accepting_terms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<ConditionsData>,
    /// Documents uploaded for the review.
    pub documents: Vec<DocumentView>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// What the holder declares to have read at "condizioni di servizio": the provider's own
/// texts, so the app shows them before the two checkboxes instead of a bare promise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct ConditionsData {
    /// Version of the texts the acceptance refers to.
    #[schema(min_length = 1, max_length = 40)]
    pub version: String,
    /// Condizioni di servizio.
    pub service_conditions: ConditionsText,
    /// Informativa contrattuale.
    pub contract_information: ConditionsText,
}

/// One of the texts of [`ConditionsData`], in both languages; paragraphs are separated by a
/// blank line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct ConditionsText {
    /// Heading in Italian.
    #[schema(max_length = 200)]
    pub title_it: String,
    /// Heading in English.
    #[schema(max_length = 200)]
    pub title_en: String,
    /// Text in Italian.
    #[schema(max_length = 20000)]
    pub body_it: String,
    /// Text in English.
    #[schema(max_length = 20000)]
    pub body_en: String,
}

/// Terms the holder accepts before "completa la richiesta di identificazione".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct TermsData {
    /// Condizioni di servizio.
    pub service_conditions: bool,
    /// Presa visione dell'informativa contrattuale.
    pub contract_information: bool,
}

/// A user action on an identity request, tagged by `type`. Provider results (identification,
/// checks) are not actions: the server applies them itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum IdentityAction {
    /// Answer "holder or legal representative?".
    ChooseRole {
        /// The answer.
        role: RoleData,
    },
    /// Delegation: send the holder a link.
    SubmitHolderEmail {
        /// The holder's e-mail address.
        #[schema(format = "email-address")]
        holder_email: String,
    },
    /// Choose the kind of holder.
    ChooseHolderKind {
        /// The kind.
        kind: HolderKindData,
    },
    /// Holder and contact data.
    SubmitData {
        /// Holder.
        holder: HolderData,
        /// Contact.
        contact: ContactData,
    },
    /// "Salva e procedi" on the summary.
    ConfirmSummary,
    /// Go back one page.
    Back,
    /// Choose the identification method.
    ChooseMethod {
        /// The method.
        method: MethodData,
    },
    /// Leave the identification and choose another method.
    AbandonIdentification,
    /// "PROCEDI" after a successful identification.
    Proceed,
    /// Accept the terms and "completa la richiesta": the OTP is e-mailed.
    CompleteRequest {
        /// The checkboxes.
        terms: TermsData,
    },
    /// "Invia di nuovo".
    ResendOtp,
    /// "Conferma" with the e-mailed code.
    ConfirmOtp {
        /// The code.
        #[schema(value_type = String)]
        code: OtpCode,
    },
    /// "Ricomincia la procedura" at the OTP step (e.g. its resends are used up): back to the
    /// role question, to identify again.
    StartOver,
    /// After a mismatch: identify again.
    Retry,
    /// "Cambia titolare PEC".
    ChangeHolder,
    /// "Cambia legale rappresentante".
    ChangeLegalRepresentative,
    /// "Invia documenti": submit the uploaded documents for review.
    SubmitDocuments,
}

/// A one-time code as the user typed it: plain text on the wire, hidden from `{:?}`, so no
/// request that carries one can print it to a log.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(transparent)]
pub struct OtpCode(String);

impl OtpCode {
    /// The code itself.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for OtpCode {
    fn from(code: String) -> Self {
        Self(code)
    }
}

impl From<&str> for OtpCode {
    fn from(code: &str) -> Self {
        Self(code.to_owned())
    }
}

impl std::fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpCode(…)")
    }
}

/// Public view of a delegation link (the holder opens it without signing in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct DelegationView {
    /// The mailbox whose identity must be confirmed.
    pub mailbox: String,
    /// Valid until 24:00 Europe/Rome of the day after it was sent.
    pub expires_at: DateTime<Utc>,
    /// Whether it can still be used.
    pub valid: bool,
}

/// An uploaded document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct DocumentView {
    /// Identifier.
    pub id: String,
    /// File name as sent.
    pub filename: String,
    /// Media type found by looking at the content.
    pub media_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Upload time.
    pub uploaded_at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------
// Methods

/// A card challenge: a 32-byte nonce. The card never signs the nonce itself: the client signs,
/// with RSA PKCS#1 v1.5 SHA-256, the message
/// `"PEC-Desktop/card-identification/v1" 0x00 || u16be(len(origin)) || origin ||
/// u16be(len(request id)) || request id || nonce`, where origin is the provider's
/// `scheme://host[:port]` as the client reached it and request id is the `{id}` of the path;
/// the provider rebuilds that message and verifies the signature over it. A client refuses a
/// nonce of any other length, so the card cannot be made to sign bytes of the provider's choosing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct CardChallenge {
    /// Identifier to send back.
    pub challenge_id: String,
    /// The nonce: exactly 32 random bytes, base64 (standard alphabet, padded: 44 characters).
    #[schema(min_length = 44, max_length = 44, pattern = "^[A-Za-z0-9+/]{43}=$")]
    pub challenge: String,
    /// Single use, and only until then.
    pub expires_at: DateTime<Utc>,
}

/// The card's answer to a challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct CardResponse {
    /// The challenge answered.
    pub challenge_id: String,
    /// Certificates, DER in base64, the card's own first, then its issuers.
    pub certificate_chain: Vec<String>,
    /// The signature over the message built from the challenge (see [`CardChallenge`]), base64.
    pub signature: String,
}

/// A SPID login started for a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct SpidLogin {
    /// Handle to poll.
    pub handle: String,
    /// Page to open in a browser (or as a QR code on a phone).
    pub login_url: String,
    /// When the login stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// State of a SPID login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SpidStatus {
    /// Waiting for the user at the identity provider.
    Pending,
    /// Authorised: the request moved on.
    Authorised,
    /// The user refused.
    Denied,
    /// Not completed in time.
    Expired,
}

/// Poll answer for a SPID login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct SpidPoll {
    /// The login's state.
    pub status: SpidStatus,
    /// The request after the login, once authorised or denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<IdentityRequestView>,
}

/// A webcam appointment slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct WebcamSlot {
    /// Start of the call.
    pub starts_at: DateTime<Utc>,
    /// Length in minutes.
    pub minutes: u32,
}

/// Identity documents accepted in a video call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum IdDocumentKind {
    /// Carta d'identità elettronica.
    Cie,
    /// Paper identity card (also needs a codice fiscale document).
    PaperIdentityCard,
    /// Driving licence.
    DrivingLicence,
    /// Passport (Italian or foreign).
    Passport,
}

/// Book a webcam slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct WebcamBookingRequest {
    /// A slot's `starts_at`.
    pub starts_at: DateTime<Utc>,
    /// The document the holder will show.
    pub document: IdDocumentKind,
    /// Language of the call: `it` or `en`.
    #[schema(pattern = "^(it|en)$")]
    pub language: String,
}

/// A booked video call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct WebcamBooking {
    /// Identifier.
    pub id: String,
    /// The request.
    pub request_id: String,
    /// Start of the call.
    pub starts_at: DateTime<Utc>,
    /// Booked, approved or rejected.
    pub status: WebcamStatus,
}

/// State of a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum WebcamStatus {
    /// Waiting for the call.
    Booked,
    /// The operator identified the holder.
    Approved,
    /// The operator could not identify the holder.
    Rejected,
}

// ---------------------------------------------------------------------------------------------
// Two-step login and app passwords

/// A two-step enrolment: add the secret to an authenticator app, then confirm a code. The
/// recovery codes work once each, in place of a code, to turn two-step login off or move it
/// to a new phone; they are shown only here (the server keeps their hashes) and become valid
/// when the enrolment is confirmed.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct TwoStepEnrolment {
    /// Base32 secret.
    pub secret: String,
    /// `otpauth://totp/...` URI for a QR code.
    pub otpauth_uri: String,
    /// Single-use recovery codes (`XXXX-XXXX-XXXX-XXXX`), to keep somewhere safe.
    #[serde(default)]
    pub recovery_codes: Vec<String>,
}

/// Proof of the current second factor, for changing it (replacing the authenticator, turning
/// two-step login off): a code of the authenticator, or one of the recovery codes.
#[derive(Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct SecondFactorProof {
    /// A current code of the authenticator (six digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// One of the recovery codes (used up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_code: Option<String>,
}

impl SecondFactorProof {
    /// A proof by a code of the authenticator.
    pub fn code(code: &str) -> Self {
        Self {
            code: Some(code.to_owned()),
            recovery_code: None,
        }
    }

    /// A proof by a recovery code.
    pub fn recovery_code(code: &str) -> Self {
        Self {
            code: None,
            recovery_code: Some(code.to_owned()),
        }
    }
}

impl std::fmt::Debug for SecondFactorProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecondFactorProof { .. }")
    }
}

impl std::fmt::Debug for TwoStepEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TwoStepEnrolment { .. }")
    }
}

/// A code from the authenticator app.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct CodeRequest {
    /// Six digits.
    #[schema(pattern = r"^\s*[0-9]{6}\s*$")]
    pub code: String,
}

impl std::fmt::Debug for CodeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeRequest { .. }")
    }
}

/// Create an app password for a mail program. An app password opens the mailbox over IMAP,
/// so it needs a fresh code of the mailbox's two-step login (which it presupposes).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct AppPasswordRequest {
    /// What it is for ("Thunderbird on the office PC").
    pub label: String,
    /// A current code of the mailbox's authenticator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_code: Option<String>,
}

impl std::fmt::Debug for AppPasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppPasswordRequest")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// An app password. `password` is present only in the answer that created it.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct AppPasswordView {
    /// Identifier.
    pub id: String,
    /// Label.
    pub label: String,
    /// The password, shown once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for AppPasswordView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppPasswordView")
            .field("id", &self.id)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// Sandbox-only

/// An e-mail the sandbox "sent".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct OutboxMessage {
    /// Identifier, increasing.
    pub id: i64,
    /// Recipient.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// When it was sent (sandbox clock).
    pub sent_at: DateTime<Utc>,
}

/// The sandbox clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct ClockView {
    /// The server's current time.
    pub now: DateTime<Utc>,
    /// Offset from the real time, in seconds.
    pub offset_seconds: i64,
}

/// Move the sandbox clock forward.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct ClockAdvance {
    /// Seconds to add (0 ..= 31,622,400, one leap year).
    pub seconds: u32,
}

/// The operator's decision on a documents review.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct ChecksDecision {
    /// Documents accepted.
    pub passed: bool,
}

/// The operator's decision after a video call.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct WebcamDecision {
    /// Whether the person was identified.
    pub approved: bool,
    /// The codice fiscale read on the documents (required when approved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_code: Option<String>,
}

/// A test account to seed.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct SeedAccountRequest {
    /// Password (8 to 256 characters).
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
    /// Its mailboxes (1..=20).
    #[schema(min_items = 1, max_items = 20)]
    pub mailboxes: Vec<SeedMailbox>,
}

impl std::fmt::Debug for SeedAccountRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedAccountRequest")
            .field("mailboxes", &self.mailboxes)
            .finish_non_exhaustive()
    }
}

/// A mailbox of a seeded account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct SeedMailbox {
    /// PEC address.
    #[schema(format = "email-address")]
    pub address: String,
    /// Holder.
    pub holder: HolderData,
    /// Contact.
    pub contact: ContactData,
    /// Its IMAPS server, when not the provider's usual one (a test's own IMAP server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imap: Option<ImapServer>,
}

/// The seeded account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct SeededAccount {
    /// Account id, usable as login.
    pub account_id: String,
}

/// Liveness answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// `sandbox` or `production`.
    pub mode: String,
}

// ---------------------------------------------------------------------------------------------
// Conversions to and from the domain

fn loc(e: &impl DomainError) -> Localized {
    e.to_localized()
}

impl PersonData {
    /// Validates into the domain type.
    pub fn to_domain(&self) -> Result<NaturalPerson, Localized> {
        Ok(NaturalPerson {
            first_name: Name::parse(&self.first_name).map_err(|e| loc(&e))?,
            last_name: Name::parse(&self.last_name).map_err(|e| loc(&e))?,
            tax_code: CodiceFiscale::parse(&self.tax_code).map_err(|e| loc(&e))?,
        })
    }
}

impl From<&NaturalPerson> for PersonData {
    fn from(p: &NaturalPerson) -> Self {
        Self {
            first_name: p.first_name.as_str().to_owned(),
            last_name: p.last_name.as_str().to_owned(),
            tax_code: p.tax_code.as_str().to_owned(),
        }
    }
}

impl HolderData {
    /// Validates into the domain type, with the domain's error codes.
    pub fn to_domain(&self) -> Result<Holder, Localized> {
        Ok(match self {
            Self::Company {
                business_name,
                tax_code,
                legal_representative,
            } => Holder::Company {
                business_name: Name::parse(business_name).map_err(|e| loc(&e))?,
                tax_code: TaxCode::parse(tax_code).map_err(|e| loc(&e))?,
                legal_representative: legal_representative
                    .as_ref()
                    .map(PersonData::to_domain)
                    .transpose()?,
            },
            Self::Professional {
                name,
                tax_code,
                vat_number,
            } => Holder::Professional {
                name: Name::parse(name).map_err(|e| loc(&e))?,
                tax_code: TaxCode::parse(tax_code).map_err(|e| loc(&e))?,
                vat_number: vat_number
                    .as_deref()
                    .map(PartitaIva::parse)
                    .transpose()
                    .map_err(|e| loc(&e))?,
            },
            Self::PrivateCitizen {
                first_name,
                last_name,
                tax_code,
            } => Holder::PrivateCitizen {
                person: PersonData {
                    first_name: first_name.clone(),
                    last_name: last_name.clone(),
                    tax_code: tax_code.clone(),
                }
                .to_domain()?,
            },
        })
    }
}

impl From<&Holder> for HolderData {
    fn from(h: &Holder) -> Self {
        match h {
            Holder::Company {
                business_name,
                tax_code,
                legal_representative,
            } => Self::Company {
                business_name: business_name.as_str().to_owned(),
                tax_code: tax_code.as_str().to_owned(),
                legal_representative: legal_representative.as_ref().map(PersonData::from),
            },
            Holder::Professional {
                name,
                tax_code,
                vat_number,
            } => Self::Professional {
                name: name.as_str().to_owned(),
                tax_code: tax_code.as_str().to_owned(),
                vat_number: vat_number.as_ref().map(|v| v.as_str().to_owned()),
            },
            Holder::PrivateCitizen { person } => Self::PrivateCitizen {
                first_name: person.first_name.as_str().to_owned(),
                last_name: person.last_name.as_str().to_owned(),
                tax_code: person.tax_code.as_str().to_owned(),
            },
        }
    }
}

impl ContactData {
    /// Validates into the domain type.
    pub fn to_domain(&self) -> Result<Contact, Localized> {
        Ok(Contact {
            email: EmailAddress::parse(&self.email).map_err(|e| loc(&e))?,
            mobile: self
                .mobile
                .as_deref()
                .map(MobileNumber::parse)
                .transpose()
                .map_err(|e| loc(&e))?,
        })
    }
}

impl From<&Contact> for ContactData {
    fn from(c: &Contact) -> Self {
        Self {
            email: c.email.as_str().to_owned(),
            mobile: c.mobile.as_ref().map(|m| m.as_str().to_owned()),
        }
    }
}

impl From<&HolderDraft> for DraftData {
    fn from(d: &HolderDraft) -> Self {
        Self {
            holder: HolderData::from(&d.holder),
            contact: ContactData::from(&d.contact),
        }
    }
}

impl From<IdentityState> for IdentityStateData {
    fn from(s: IdentityState) -> Self {
        match s {
            IdentityState::ToConfirm => Self::ToConfirm,
            IdentityState::ChecksInProgress => Self::ChecksInProgress,
            IdentityState::DocumentsMissing => Self::DocumentsMissing,
            IdentityState::Completed => Self::Completed,
        }
    }
}

impl From<HolderKind> for HolderKindData {
    fn from(k: HolderKind) -> Self {
        match k {
            HolderKind::Company => Self::Company,
            HolderKind::Professional => Self::Professional,
            HolderKind::PrivateCitizen => Self::PrivateCitizen,
        }
    }
}

impl From<HolderKindData> for HolderKind {
    fn from(k: HolderKindData) -> Self {
        match k {
            HolderKindData::Company => Self::Company,
            HolderKindData::Professional => Self::Professional,
            HolderKindData::PrivateCitizen => Self::PrivateCitizen,
        }
    }
}

impl From<IdentificationMethod> for MethodData {
    fn from(m: IdentificationMethod) -> Self {
        match m {
            IdentificationMethod::Spid => Self::Spid,
            IdentificationMethod::Cie => Self::Cie,
            IdentificationMethod::Cns => Self::Cns,
            IdentificationMethod::DigitalSignature => Self::DigitalSignature,
            IdentificationMethod::RemoteSignature => Self::RemoteSignature,
            IdentificationMethod::Webcam => Self::Webcam,
        }
    }
}

impl From<MethodData> for IdentificationMethod {
    fn from(m: MethodData) -> Self {
        match m {
            MethodData::Spid => Self::Spid,
            MethodData::Cie => Self::Cie,
            MethodData::Cns => Self::Cns,
            MethodData::DigitalSignature => Self::DigitalSignature,
            MethodData::RemoteSignature => Self::RemoteSignature,
            MethodData::Webcam => Self::Webcam,
        }
    }
}

impl From<RoleData> for Role {
    fn from(r: RoleData) -> Self {
        match r {
            RoleData::HolderOrLegalRepresentative => Self::HolderOrLegalRepresentative,
            RoleData::Other => Self::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the document calls an integer port is read, fraction-less `.0` included
    /// (schemathesis sends `1717.0`); anything else is refused.
    #[test]
    fn an_imap_port_is_a_whole_number_in_range() {
        let port = |json: &str| {
            serde_json::from_str::<ImapServer>(&format!(
                r#"{{"host":"imap.example.test","port":{json}}}"#
            ))
            .map(|s| s.port)
        };
        assert_eq!(port("993").unwrap(), 993);
        assert_eq!(port("1717.0").unwrap(), 1717);
        assert_eq!(port("65535").unwrap(), 65535);
        for bad in ["993.5", "65536", "-1", "\"993\"", "1e10"] {
            assert!(port(bad).is_err(), "{bad}");
        }
        assert!(ImapServer::host_is_valid("127.0.0.1"));
        assert!(ImapServer::host_is_valid(&format!("{}.it", "a".repeat(63))));
        for bad in [
            "",
            "a..b",
            "-a.it",
            "a-.it",
            "a.it.",
            "imaps://a.it",
            "a.it:993",
            "à.it",
        ] {
            assert!(!ImapServer::host_is_valid(bad), "{bad}");
        }
        assert!(!ImapServer::host_is_valid(&format!(
            "{}.it",
            "a".repeat(64)
        )));
    }

    #[test]
    fn secrets_never_reach_debug_output() {
        let sign_in = SignInRequest {
            login: "mario.rossi@pec.example.it".into(),
            password: "Segreta-Password-1".into(),
            totp_code: Some("482915".into()),
        };
        let shown = format!("{sign_in:?}");
        assert!(shown.contains("mario.rossi@pec.example.it"), "{shown}");
        assert!(
            !shown.contains("Segreta") && !shown.contains("482915"),
            "{shown}"
        );

        let refresh = RefreshRequest {
            refresh_token: "rt-0123456789abcdef".into(),
        };
        assert!(!format!("{refresh:?}").contains("0123456789"));

        // L5: the token-bearing types (tokens wiped on drop) never show a token.
        let tokens = SessionTokens {
            access_token: "at-a1b2c3d4e5f6".into(),
            refresh_token: String::from("rt-f6e5d4c3b2a1").into(),
            token_type: "Bearer".into(),
            expires_at: Utc::now(),
            refresh_expires_at: Utc::now(),
            account_id: "acc-demo-mario".into(),
        };
        let shown = format!("{tokens:?}");
        assert!(shown.contains("acc-demo-mario"), "{shown}");
        assert!(
            !shown.contains("a1b2c3d4e5f6") && !shown.contains("f6e5d4c3b2a1"),
            "{shown}"
        );
        let token = Token::from("at-a1b2c3d4e5f6");
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
        assert_eq!(token.expose(), "at-a1b2c3d4e5f6");
        let portal = PortalSession {
            access_token: "pt-0a1b2c3d4e5f".into(),
            expires_at: Utc::now(),
        };
        assert!(!format!("{portal:?}").contains("0a1b2c3d4e5f"));
        // On the wire the tokens are plain strings, as before.
        let wire = serde_json::to_value(&tokens).unwrap();
        assert_eq!(wire["access_token"], "at-a1b2c3d4e5f6");
        assert_eq!(wire["refresh_token"], "rt-f6e5d4c3b2a1");

        let otp = IdentityAction::ConfirmOtp {
            code: "731904".into(),
        };
        let shown = format!("{otp:?}");
        assert!(
            shown.starts_with("ConfirmOtp") && !shown.contains("731904"),
            "{shown}"
        );
        // The other actions still show what they carry.
        let role = format!(
            "{:?}",
            IdentityAction::SubmitHolderEmail {
                holder_email: "titolare@example.it".into()
            }
        );
        assert!(role.contains("titolare@example.it"), "{role}");
    }

    #[test]
    fn holder_json_matches_the_domain_shape() {
        let wire = HolderData::PrivateCitizen {
            first_name: "Mario".into(),
            last_name: "Rossi".into(),
            tax_code: "RSSMRA45C12F205C".into(),
        };
        let domain = wire.to_domain().unwrap();
        assert_eq!(
            serde_json::to_value(&wire).unwrap(),
            serde_json::to_value(&domain).unwrap()
        );
        assert_eq!(HolderData::from(&domain), wire);
    }

    #[test]
    fn invalid_codice_fiscale_keeps_the_domain_code() {
        let wire = HolderData::PrivateCitizen {
            first_name: "Mario".into(),
            last_name: "Rossi".into(),
            tax_code: "RSSMRA45C12F205A".into(),
        };
        let err = wire.to_domain().unwrap_err();
        assert!(err.code.starts_with("cf."), "{}", err.code);
        assert!(!err.message_it.is_empty() && !err.message_en.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// The signed request form (firma digitale, firma remota)

/// The "Modulo di richiesta di identificazione del titolare" the provider issued for a request
/// identified by firma digitale or firma remota: the holder signs exactly [`Self::pdf`]'s bytes
/// (CAdES-BES, `.p7m`). The same bytes come back until the request's data or method change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct SignatureForm {
    /// The request the form is for.
    pub request_id: String,
    /// "Modulo di richiesta di identificazione del titolare".
    pub title: String,
    /// The form's text, paragraph by paragraph (what the PDF says), for showing it readably.
    pub paragraphs: Vec<String>,
    /// A file name for saving it (`modulo-<request>.pdf`).
    pub filename: String,
    /// The PDF, base64 (standard alphabet, padded).
    pub pdf: String,
    /// SHA-256 of the PDF, lowercase hex.
    pub sha256: String,
    /// When the provider issued it.
    pub issued_at: DateTime<Utc>,
    /// Firma remota: the base URI (ending in `/csc/v2`) of the remote-signature service whose
    /// Cloud Signature Consortium API the app signs through, from the provider's configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_signature_url: Option<String>,
}

/// The signed form the holder sends back.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct SignedFormUpload {
    /// The `.p7m` (CAdES-BES, DER, content attached), base64.
    #[schema(min_length = 1, max_length = 62_000)]
    pub p7m: String,
}

impl std::fmt::Debug for SignedFormUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedFormUpload")
            .field("p7m_len", &self.p7m.len())
            .finish()
    }
}

/// The signed form the provider kept, for the holder to save a copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct SignedFormView {
    /// The request.
    pub request_id: String,
    /// A file name for saving it (`modulo-<request>.pdf.p7m`).
    pub filename: String,
    /// The `.p7m` as received, base64.
    pub p7m: String,
    /// The signer's name, from the certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// The codice fiscale of the signing certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codice_fiscale: Option<String>,
    /// When the provider accepted it.
    pub received_at: DateTime<Utc>,
}
