//! Wire types of the two portals that are not the PEC provider: a public **registry** where a
//! professional keeps the PEC address on record (OAM-style registries: *Modifica dati di
//! registrazione*, confirmation link to the new PEC, support tickets), and a trade association's
//! **renewal** portal (company codice fiscale, registration with e-mail and SMS codes and
//! a captcha, mailbox choice, legal representative, price, payment).
//!
//! They live beside the provider's types because one sandbox serves all three, but each portal has
//! its own accounts and sessions ([`PortalSession`]): a registry is not the PEC provider.

use chrono::{DateTime, NaiveDate, Utc};
use pec_domain::{ExpiryStatus, LinkDeadline, RenewalPolicy};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{DocumentView, PersonData};

/// Header carrying the follow-up secret of a support ticket (users without a private area have
/// no session; the secret is shown once, when the ticket is opened).
pub const TICKET_TOKEN_HEADER: &str = "Ticket-Token";

// ---------------------------------------------------------------------------------------------
// Shared

/// A session of a portal (registry or renewal), separate from the provider's sessions.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct PortalSession {
    /// Bearer token for the portal's calls.
    #[schema(value_type = String)]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub access_token: super::Token,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for PortalSession {
    // The token must not reach a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalSession")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// "Valid until 24:00 Europe/Rome of the day after receipt" (wire form of
/// `pec_domain::LinkDeadline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct LinkDeadlineData {
    /// When the PEC carrying the link was received.
    pub received_at: DateTime<Utc>,
    /// The last Italian calendar day on which the link works.
    pub valid_through: NaiveDate,
    /// The first instant at which the link no longer works (00:00 Europe/Rome after
    /// `valid_through`).
    pub expires_at: DateTime<Utc>,
}

impl From<LinkDeadline> for LinkDeadlineData {
    fn from(d: LinkDeadline) -> Self {
        Self {
            received_at: d.received_at,
            valid_through: d.valid_through,
            expires_at: d.expires_at,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Registry: sign in and the registration record

/// Sign in to the registry's private area.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct RegistrySignInRequest {
    /// User name of the private area.
    pub username: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for RegistrySignInRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrySignInRequest")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The user's registration record (form "Modifica dati di registrazione").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct RegistrationRecord {
    /// User name.
    pub username: String,
    /// Cognome.
    pub last_name: String,
    /// Nome.
    pub first_name: String,
    /// Telefono.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Cellulare.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    /// Fax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fax: Option<String>,
    /// E-Mail (ordinary).
    pub email: String,
    /// Vecchia PEC: the address on record until a change is confirmed.
    pub pec: String,
    /// The change waiting for its confirmation link, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_change: Option<PecChangeView>,
}

/// "Nuova PEC" and "Conferma Nuova PEC", sent with "Invia dati".
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct PecChangeRequest {
    /// Nuova PEC.
    #[schema(format = "email-address")]
    pub new_pec: String,
    /// Conferma Nuova PEC (must equal `new_pec`).
    #[schema(format = "email-address")]
    pub confirm_new_pec: String,
}

/// Where a change of PEC address stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PecChangeState {
    /// Link sent to the new PEC, not clicked yet.
    Pending,
    /// Link clicked in time: the new PEC is on record.
    Confirmed,
    /// The link's validity ended: a new request is needed.
    Expired,
    /// A newer request replaced this one (its link no longer works).
    Superseded,
}

impl PecChangeState {
    /// Italian label.
    pub fn label_it(self) -> &'static str {
        match self {
            Self::Pending => "In attesa di conferma",
            Self::Confirmed => "Confermata",
            Self::Expired => "Scaduta",
            Self::Superseded => "Sostituita da una richiesta successiva",
        }
    }
}

/// A change of the PEC address on record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct PecChangeView {
    /// Identifier.
    pub id: String,
    /// Vecchia PEC.
    pub old_pec: String,
    /// Nuova PEC, where the confirmation link was sent.
    pub new_pec: String,
    /// State.
    pub state: PecChangeState,
    /// Italian label of the state.
    pub state_label_it: String,
    /// The link's deadline (exact instant and Italian calendar day).
    pub deadline: LinkDeadlineData,
    /// When the link was used, for a confirmed change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<DateTime<Utc>>,
    /// What to do now (e.g. "check the spam folder of the PEC too"), in Italian.
    pub notice_it: String,
    /// The same, in English.
    pub notice_en: String,
}

// ---------------------------------------------------------------------------------------------
// Registry: support for users without access to the private area

/// "Seleziona la tipologia di problema tecnico".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SupportCategory {
    /// Registrazione.
    Registration,
    /// Area privata.
    PrivateArea,
    /// Procedimenti.
    Proceedings,
    /// Modifica anagrafica.
    PersonalDataChange,
    /// Esami e prova valutativa.
    Exams,
    /// Elenchi/Registri.
    ListsAndRegisters,
    /// Altro.
    Other,
}

/// "Quali informazioni desideri in particolare?"
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SupportTopic {
    /// Servizi non disponibili.
    ServicesUnavailable,
    /// Account bloccato.
    AccountLocked,
    /// Cambio PEC.
    PecChange,
    /// Problema software.
    SoftwareProblem,
}

/// The questionnaire of a change of PEC for a user who cannot reach the private area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct PecChangeQuestionnaire {
    /// Why the private area is out of reach (credentials no longer valid or forgotten...).
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reason: String,
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
    /// Telefono: 6 to 15 digits, a leading `+`, spaces, `-` and `/` allowed.
    #[schema(pattern = r"^[\s/-]*\+?([\s/-]*[0-9]){6,15}[\s/-]*$")]
    pub phone: String,
    /// The new PEC address.
    #[schema(format = "email-address")]
    pub new_pec: String,
}

/// A support request (Assistenza, "problemi tecnici").
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct SupportTicketRequest {
    /// Type of technical problem.
    pub category: SupportCategory,
    /// What the request is about.
    pub topic: SupportTopic,
    /// "Accedi all'Area privata?" For a change of PEC, *Sì* means: use "Modifica dati di
    /// registrazione" there; *No* opens the questionnaire.
    pub private_area_access: bool,
    /// Required for a change of PEC without access to the private area.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub questionnaire: Option<PecChangeQuestionnaire>,
    /// Free text, required for the other topics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 4000, pattern = r"\S")]
    pub description: Option<String>,
}

/// Where a support ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SupportTicketState {
    /// Waiting for a valid identity document.
    AwaitingDocument,
    /// With the technical service.
    InReview,
    /// Done (for a change of PEC: the confirmation link was sent to the new PEC).
    Resolved,
    /// Refused (e.g. the document is not valid).
    Rejected,
}

impl SupportTicketState {
    /// Italian label.
    pub fn label_it(self) -> &'static str {
        match self {
            Self::AwaitingDocument => "In attesa del documento di riconoscimento",
            Self::InReview => "In lavorazione",
            Self::Resolved => "Risolta",
            Self::Rejected => "Respinta",
        }
    }
}

/// A support ticket as its author follows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct SupportTicketView {
    /// Ticket number, e.g. `OAM-2026-000001`.
    pub number: String,
    /// Type of technical problem.
    pub category: SupportCategory,
    /// Topic.
    pub topic: SupportTopic,
    /// State.
    pub state: SupportTicketState,
    /// Italian label of the state.
    pub state_label_it: String,
    /// The identity document attached, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<DocumentView>,
    /// Opened at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// What happens next, in Italian.
    pub notice_it: String,
    /// The same, in English.
    pub notice_en: String,
}

/// A new ticket and the secret to follow it (shown only here).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct SupportTicketCreated {
    /// The ticket.
    pub ticket: SupportTicketView,
    /// Send it in the `Ticket-Token` header to read the ticket or attach the document.
    pub follow_token: String,
}

impl std::fmt::Debug for SupportTicketCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupportTicketCreated")
            .field("ticket", &self.ticket)
            .finish_non_exhaustive()
    }
}

/// The technical service's decision on a ticket (sandbox back office).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct SupportDecision {
    /// Accepted (for a change of PEC: the confirmation link goes to the new PEC).
    pub approved: bool,
}

// ---------------------------------------------------------------------------------------------
// Renewal: entry, captcha, registration

/// Entry of the renewal portal: the company's codice fiscale.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct RenewalLookupRequest {
    /// Codice fiscale of the company holding the PEC, as typed (11 digits are padded).
    #[schema(format = "tax-code")]
    pub company_tax_code: String,
}

/// What the portal knows about a codice fiscale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct RenewalLookup {
    /// The codice fiscale as the portal wants it typed (16 characters, zeros on the
    /// left, letters uppercase).
    pub tax_code: String,
    /// Whether the company already has portal credentials (then: sign in; else: register).
    pub registered: bool,
    /// Ragione sociale on record, if the company holds PEC mailboxes here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_name: Option<String>,
    /// The contact e-mail given at activation, masked (`c***@example.com`), to be confirmed or
    /// changed during registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_email_masked: Option<String>,
}

/// A captcha to solve (the image is at `image_path`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct CaptchaChallenge {
    /// Identifier, sent back with the answer.
    pub id: String,
    /// Path of the PNG image on this server.
    pub image_path: String,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
    /// The text alternative of the image, in Italian, for those who cannot see it: a
    /// question whose answer the server accepts in place of the image's digits.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub question_it: String,
    /// The text alternative in English.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub question_en: String,
}

/// A captcha's answer (sandbox back office, for tests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct CaptchaAnswer {
    /// The digits in the image.
    pub answer: String,
}

/// Simplified registration of an association member (no invoice data).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct RenewalRegistrationRequest {
    /// Codice fiscale of the company.
    #[schema(format = "tax-code")]
    pub company_tax_code: String,
    /// E-mail of the portal account, for the renewal confirmations. Not where the
    /// verification code goes: anyone can type an address, so the code goes to the contacts
    /// on record for the company (its PEC mailboxes and their activation e-mail), which is
    /// what proves the registrant is the company.
    #[schema(format = "email-address")]
    pub email: String,
    /// Mobile number for the SMS code (used only for identification).
    #[schema(format = "mobile-it")]
    pub mobile: String,
    /// Password of the portal account (8 to 256 characters).
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
    /// The captcha shown.
    #[schema(min_length = 1, max_length = 64)]
    pub captcha_id: String,
    /// What the user read in it.
    #[schema(max_length = 64)]
    pub captcha_answer: String,
}

impl std::fmt::Debug for RenewalRegistrationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenewalRegistrationRequest")
            .field("company_tax_code", &self.company_tax_code)
            .finish_non_exhaustive()
    }
}

/// Where a registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RegistrationStep {
    /// Code e-mailed; type it and click "Verifica".
    AwaitingEmailCode,
    /// Code sent by SMS; type it or close the pop-up (skip).
    AwaitingSmsCode,
    /// Registered.
    Completed,
}

/// A registration in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct RenewalRegistrationView {
    /// Identifier.
    pub id: String,
    /// Normalised codice fiscale.
    pub tax_code: String,
    /// E-mail given.
    pub email: String,
    /// Mobile given.
    pub mobile: String,
    /// Step.
    pub step: RegistrationStep,
    /// Whether the mobile number was verified (false when the SMS step was skipped).
    pub mobile_verified: bool,
    /// Where the e-mail code went, masked: the company's PEC mailboxes and the activation
    /// e-mail on record. Completing the registration of a company already registered takes
    /// its portal account back (the old password and sessions stop working).
    #[serde(default)]
    pub code_sent_to: Vec<String>,
    /// The portal session, once completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<PortalSession>,
}

/// A verification code (e-mail or SMS).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct VerificationCode {
    /// The code received.
    pub code: String,
}

impl std::fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerificationCode { .. }")
    }
}

/// Sign in to the renewal portal.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct RenewalSignInRequest {
    /// Codice fiscale of the company (the user id).
    pub company_tax_code: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for RenewalSignInRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenewalSignInRequest")
            .field("company_tax_code", &self.company_tax_code)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// Renewal: mailboxes, expiry, price, orders, payment

/// Where a mailbox stands with respect to its expiry (wire form of `pec_domain::ExpiryStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ExpiryStatusData {
    /// More than the reminder window left.
    Active,
    /// Within the reminder window: renew now.
    ExpiringSoon,
    /// Expired, still renewable until `renewable_until`.
    Expired,
    /// Ceased: messages no longer recoverable.
    Ceased,
}

/// The expiry of one mailbox of the account, in the list the app shows beside the mailboxes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct MailboxExpiryView {
    /// PEC address.
    pub address: String,
    /// Its expiry awareness.
    pub expiry: ExpiryView,
}

/// Expiry awareness for a mailbox: what the app shows and when it reminds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct ExpiryView {
    /// Last day of the paid period.
    pub expires_on: NaiveDate,
    /// Today in Europe/Rome (server clock).
    pub today: NaiveDate,
    /// Days from today to `expires_on` (negative once expired).
    pub days_to_expiry: i64,
    /// Status.
    pub status: ExpiryStatusData,
    /// First day of the renewal reminder.
    pub reminder_from: NaiveDate,
    /// Last day on which an expired mailbox can still be renewed (end of the grace period).
    pub renewable_until: NaiveDate,
    /// The day the mailbox is ceased and its messages are lost, if not renewed.
    pub ceases_on: NaiveDate,
    /// Whether the app should offer to save the messages now (expiring soon, expired).
    pub offer_backup: bool,
}

impl ExpiryView {
    /// Computes the view with the provider's windows.
    pub fn compute(expires_on: NaiveDate, today: NaiveDate, policy: RenewalPolicy) -> Self {
        let status = pec_domain::expiry_status(expires_on, today, policy);
        let data = match status {
            ExpiryStatus::Active { .. } => ExpiryStatusData::Active,
            ExpiryStatus::ExpiringSoon { .. } => ExpiryStatusData::ExpiringSoon,
            ExpiryStatus::Expired { .. } => ExpiryStatusData::Expired,
            ExpiryStatus::Ceased => ExpiryStatusData::Ceased,
        };
        let day = |n: i64| {
            expires_on
                .checked_add_signed(chrono::TimeDelta::days(n))
                .unwrap_or(expires_on)
        };
        Self {
            expires_on,
            today,
            days_to_expiry: (expires_on - today).num_days(),
            status: data,
            reminder_from: day(-i64::from(policy.warn_days)),
            renewable_until: day(i64::from(policy.grace_days)),
            ceases_on: day(i64::from(policy.grace_days) + 1),
            offer_backup: matches!(
                data,
                ExpiryStatusData::ExpiringSoon | ExpiryStatusData::Expired
            ),
        }
    }
}

/// A price with VAT shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct PriceView {
    /// Net amount, euro cents.
    pub net_cents: u64,
    /// VAT rate, percent.
    pub vat_rate_percent: u32,
    /// VAT, euro cents.
    pub vat_cents: u64,
    /// Total, euro cents.
    pub total_cents: u64,
    /// `EUR`.
    pub currency: String,
    /// E.g. "9,00 € + IVA 22% (1,98 €) = 10,98 €".
    pub label_it: String,
}

/// A mailbox of the signed-in company, renewable here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct RenewableMailbox {
    /// PEC address.
    pub address: String,
    /// Ragione sociale of the holder.
    pub business_name: String,
    /// Expiry awareness.
    pub expiry: ExpiryView,
    /// Price of a 12-month renewal.
    pub price: PriceView,
}

/// Wallets accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum WalletKind {
    /// PayPal.
    Paypal,
    /// PostePay.
    Postepay,
}

/// How the renewal is paid, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PaymentMethodData {
    /// Charge on the next bill of a landline held by the company.
    PhoneLine {
        /// The landline number.
        line_number: String,
    },
    /// Credit or debit card (Visa, MasterCard, Maestro, Diners, American Express).
    Card,
    /// A wallet.
    Wallet {
        /// Which one.
        wallet: WalletKind,
    },
}

/// Order a renewal.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct RenewalOrderRequest {
    /// The mailbox to renew.
    pub mailbox: String,
    /// Legal representative / owner of the company, to whom the PEC is registered.
    pub legal_representative: PersonData,
    /// Payment method.
    pub payment_method: PaymentMethodData,
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RenewalOrderState {
    /// Not paid yet (also after a declined or timed-out attempt).
    AwaitingPayment,
    /// Paid: the mailbox is renewed.
    Paid,
}

/// A renewal order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct RenewalOrderView {
    /// Identifier.
    pub id: String,
    /// Mailbox renewed.
    pub mailbox: String,
    /// Normalised codice fiscale of the company.
    pub tax_code: String,
    /// Legal representative.
    pub legal_representative: PersonData,
    /// Payment method.
    pub payment_method: PaymentMethodData,
    /// Price.
    pub price: PriceView,
    /// State.
    pub state: RenewalOrderState,
    /// When it was paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<DateTime<Utc>>,
    /// New last day of the paid period (payment day in Europe/Rome + 12 months).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_expires_on: Option<NaiveDate>,
}

/// Card data for the (simulated) gateway. Never logged.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct CardData {
    /// Card number (spaces allowed; 12 to 19 digits with a valid Luhn check digit).
    #[schema(format = "card-number")]
    pub number: String,
    /// Expiry month, 1..=12.
    #[schema(minimum = 1, maximum = 12)]
    #[serde(deserialize_with = "integral::deserialize")]
    pub expiry_month: u32,
    /// Expiry year, four digits. A card whose month has passed is refused with 402.
    #[schema(minimum = 1000, maximum = 9999)]
    #[serde(deserialize_with = "integral::deserialize")]
    pub expiry_year: i32,
    /// Security code: three or four digits.
    #[schema(pattern = "^[0-9]{3,4}$")]
    pub cvc: String,
    /// Name on the card.
    #[schema(min_length = 1, pattern = r"\S")]
    pub holder_name: String,
}

/// JSON Schema's `integer` is any number without a fraction, `12.0` included (draft 2020-12
/// §6.1.1); serde's integers refuse that spelling. These take it, and nothing with a fraction.
mod integral {
    use serde::{Deserialize, Deserializer, de::Error};

    pub fn deserialize<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: TryFrom<i64>,
    {
        let n = serde_json::Number::deserialize(d)?;
        let whole = n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                // In range and without a fraction: the cast is exact.
                .map(|f| f as i64)
        });
        whole
            .and_then(|i| T::try_from(i).ok())
            .ok_or_else(|| D::Error::custom("expected an integer in range"))
    }
}

impl std::fmt::Debug for CardData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardData { .. }")
    }
}

/// Pay an order. Send an `Idempotency-Key`: a retry with the same key never charges twice.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct PaymentRequest {
    /// Required when the order is paid by card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardData>,
    /// Wallet account (e-mail), required when the order is paid by wallet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_account: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Sandbox back office of the portals

/// An SMS the sandbox "sent".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct SmsMessage {
    /// Identifier, increasing.
    pub id: i64,
    /// Recipient mobile number.
    pub to: String,
    /// Text.
    pub body: String,
    /// When it was sent (sandbox clock).
    pub sent_at: DateTime<Utc>,
}

/// A charge attempt seen by the simulated gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct ChargeView {
    /// Identifier.
    pub id: String,
    /// The order.
    pub order_id: String,
    /// `card`, `wallet` or `phone_line`.
    pub method: String,
    /// Amount, euro cents.
    pub amount_cents: u64,
    /// `succeeded`, `declined` or `timed_out` (only `succeeded` moves money).
    pub outcome: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Set the sandbox clock to an instant (forwards or backwards).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct ClockSet {
    /// The instant the server should consider "now" (within ten years of the real time).
    pub now: DateTime<Utc>,
}
