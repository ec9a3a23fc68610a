//! Identity confirmation ("conferma identità", "PEC europea"): states, outcomes and the request
//! state machine of the providers' guides (seeds 000, 001, 002).
//!
//! The machine is an enum of steps, each carrying exactly the data collected so far, and an enum
//! of events; [`IdentityRequest::apply`] is the only way to move, and it rejects every event the
//! current step does not expect with a typed [`TransitionError`]. Because each step owns its data,
//! states such as "OTP sent but no identification method" cannot be written down at all.
//!
//! The flow (→ is an event):
//!
//! ```text
//! choosing_role ─ choose_role(other) → awaiting_holder_email ─ submit_holder_email → delegation_link_sent (done)
//!      └ choose_role(holder_or_legal_representative) → choosing_holder_kind ─ choose_holder_kind →
//! entering_data ─ submit_data → summary ─ confirm_summary → choosing_method ─ choose_method →
//! identifying ─ identification_succeeded → identified ─ proceed → accepting_terms ─ complete_request →
//! otp_sent ─ confirm_otp → completed (done)
//! otp_sent ─ start_over → choosing_role   (the codes ran out: "ricomincia la procedura")
//!
//! identifying ─ data_mismatch_found → data_mismatch ─ retry → entering_data
//!                                                   └ change_holder → holder_change_required
//! identifying ─ legal_person_ceased_found → legal_person_ceased ─ change_holder → holder_change_required
//! identifying ─ legal_representative_check_failed → documents_missing ─ upload_documents → checks_in_progress
//!     checks_in_progress ─ checks_passed → completed;  ─ checks_failed → documents_missing
//!     documents_missing ─ change_legal_representative → entering_data;  ─ change_holder → holder_change_required
//! holder_change_required ─ holder_changed → choosing_role
//! back: awaiting_holder_email, choosing_holder_kind → choosing_role; entering_data → choosing_holder_kind;
//!       summary → entering_data (prefilled); choosing_method → summary
//! identifying ─ identification_abandoned → choosing_method
//! ```
//!
//! Everything is serde, so a server can persist a request and a client can resume a draft: the
//! seeds say an interrupted procedure can be resumed later from any entry point. The machine
//! reads no clock: events that depend on time carry their instant.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::contact::EmailAddress;
use crate::error::{DomainError, Lang, pick};
use crate::mailbox::{Contact, Holder, HolderKind, Role};

/// How long the e-mail OTP of the last step is valid (the providers' guide: "validità di 60 secondi").
pub const OTP_VALIDITY: TimeDelta = TimeDelta::seconds(60);

/// The four states of an identity confirmation, named as the providers name them (their identification guide).
///
/// JSON: `"to_confirm"`, `"checks_in_progress"`, `"documents_missing"`, `"completed"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityState {
    /// "Da confermare": recognition not done yet.
    ToConfirm,
    /// "Verifiche in corso": recognition being processed; wait for the outcome.
    ChecksInProgress,
    /// "Documenti mancanti": representation powers could not be verified, or the documents sent
    /// were wrong or incomplete.
    DocumentsMissing,
    /// "Completato": recognition done.
    Completed,
}

impl IdentityState {
    /// All states, in lifecycle order.
    pub const ALL: [IdentityState; 4] = [
        Self::ToConfirm,
        Self::ChecksInProgress,
        Self::DocumentsMissing,
        Self::Completed,
    ];

    /// The provider's label in the requested language.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::ToConfirm, Lang::It) => "Da confermare",
            (Self::ToConfirm, Lang::En) => "To be confirmed",
            (Self::ChecksInProgress, Lang::It) => "Verifiche in corso",
            (Self::ChecksInProgress, Lang::En) => "Checks in progress",
            (Self::DocumentsMissing, Lang::It) => "Documenti mancanti",
            (Self::DocumentsMissing, Lang::En) => "Documents missing",
            (Self::Completed, Lang::It) => "Completato",
            (Self::Completed, Lang::En) => "Completed",
        }
    }
}

/// How the holder proves who they are (the providers' list; Legalmail offers only SPID, CIE, CNS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentificationMethod {
    /// SPID, level 2 (credentials plus app).
    Spid,
    /// CIE 3.0 with PIN and an NFC reader.
    Cie,
    /// CNS or activated Tessera Sanitaria, with PIN and a reader.
    Cns,
    /// Firma digitale on a card or token, with PIN.
    DigitalSignature,
    /// Firma remota, with credentials and an OTP app.
    RemoteSignature,
    /// Video call with an operator and an identity document.
    Webcam,
}

impl IdentificationMethod {
    /// All methods, in the order the providers list them.
    pub const ALL: [IdentificationMethod; 6] = [
        Self::Spid,
        Self::Cie,
        Self::Cns,
        Self::DigitalSignature,
        Self::RemoteSignature,
        Self::Webcam,
    ];

    /// The label in the requested language.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::Spid, _) => "SPID",
            (Self::Cie, Lang::It) => "CIE (Carta d'Identità Elettronica)",
            (Self::Cie, Lang::En) => "CIE (Italian electronic identity card)",
            (Self::Cns, Lang::It) => "CNS / Tessera Sanitaria",
            (Self::Cns, Lang::En) => "CNS / health insurance card",
            (Self::DigitalSignature, Lang::It) => "Firma digitale",
            (Self::DigitalSignature, Lang::En) => "Digital signature",
            (Self::RemoteSignature, Lang::It) => "Firma remota",
            (Self::RemoteSignature, Lang::En) => "Remote signature",
            (Self::Webcam, Lang::It) => "Webcam (videochiamata con operatore)",
            (Self::Webcam, Lang::En) => "Webcam (video call with an operator)",
        }
    }

    /// Whether the method needs a smart card in a local reader: the app runs its card pre-flight
    /// check (reader, certificate, codice fiscale, PIN tries) before these.
    pub fn needs_card_reader(self) -> bool {
        matches!(self, Self::Cie | Self::Cns | Self::DigitalSignature)
    }
}

/// The provider's practice number ("numero di pratica") for a documents review.
///
/// Trimmed, 1–64 characters, no control characters. Serialised as the string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PracticeNumber(String);

impl PracticeNumber {
    /// Validates a practice number.
    pub fn parse(input: &str) -> Result<Self, TransitionError> {
        let s = input.trim();
        if s.is_empty() || s.chars().count() > 64 || s.chars().any(char::is_control) {
            return Err(TransitionError::PracticeNumber);
        }
        Ok(Self(s.to_owned()))
    }

    /// The practice number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PracticeNumber {
    type Error = TransitionError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<PracticeNumber> for String {
    fn from(p: PracticeNumber) -> Self {
        p.0
    }
}

impl fmt::Display for PracticeNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A provider's outcome that is not plain success (the providers' guide, "Esiti comuni").
///
/// JSON is tagged by `outcome`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum IdentityOutcome {
    /// "Dati non corrispondenti": the identified person is not the holder on record.
    /// Offer: identify again, or change the holder.
    DataMismatch,
    /// "Persona giuridica cancellata": the company holding the mailbox is ceased.
    /// Offer: change the holder first.
    LegalPersonCeased,
    /// The legal-representative check failed: documents are needed (visura ≤ 30 days, etc.).
    /// Offer: send documents, change legal representative, change holder.
    LegalRepresentativeCheckFailed {
        /// Numero di pratica.
        practice_number: PracticeNumber,
    },
    /// Documents sent, waiting for the outcome of the checks.
    ChecksInProgress {
        /// Numero di pratica.
        practice_number: PracticeNumber,
    },
}

impl IdentityOutcome {
    /// The provider's heading, in the requested language.
    pub fn label(&self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::DataMismatch, Lang::It) => "Dati non corrispondenti",
            (Self::DataMismatch, Lang::En) => "Data do not match",
            (Self::LegalPersonCeased, Lang::It) => "Persona giuridica cancellata",
            (Self::LegalPersonCeased, Lang::En) => "Legal person ceased",
            (Self::LegalRepresentativeCheckFailed { .. }, Lang::It) => {
                "La verifica del legale rappresentante non è andata a buon fine"
            }
            (Self::LegalRepresentativeCheckFailed { .. }, Lang::En) => {
                "The legal representative check failed"
            }
            (Self::ChecksInProgress { .. }, Lang::It) => "Attesa dell'esito delle verifiche",
            (Self::ChecksInProgress { .. }, Lang::En) => "Waiting for the outcome of the checks",
        }
    }
}

/// Holder and contact data collected by the wizard, as shown on the summary page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderDraft {
    /// The holder ("dati della persona / impresa").
    pub holder: Holder,
    /// The contact data ("dati di contatto").
    pub contact: Contact,
}

/// The service conditions the holder must accept before "completa la richiesta di identificazione".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermsAcceptance {
    /// The service conditions checkbox.
    pub service_conditions: bool,
    /// "Presa visione dell'informativa contrattuale".
    pub contract_information: bool,
}

impl TermsAcceptance {
    /// Both boxes ticked.
    pub const ALL_ACCEPTED: TermsAcceptance = TermsAcceptance {
        service_conditions: true,
        contract_information: true,
    };
}

/// Why the holder must be changed before identifying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HolderChangeReason {
    /// After "dati non corrispondenti": the mailbox belongs to someone else.
    DataMismatch,
    /// After "persona giuridica cancellata".
    LegalPersonCeased,
    /// After a failed legal-representative check ("Cambia titolare").
    LegalRepresentativeCheckFailed,
}

/// An identity-confirmation request: the step reached and the data collected so far.
///
/// JSON is internally tagged by `step`, e.g. `{"step": "summary", "draft": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum IdentityRequest {
    /// "Conferma identità" clicked: are you the holder or legal representative?
    ChoosingRole,
    /// Not the holder: asking for the holder's e-mail to send them a link.
    AwaitingHolderEmail,
    /// Link sent to the holder, who finishes alone. Terminal for this user.
    DelegationLinkSent {
        /// Where the link went.
        holder_email: EmailAddress,
    },
    /// Choosing impresa/società, professionista/…, privato cittadino.
    ChoosingHolderKind,
    /// Entering holder and contact data for the chosen kind.
    EnteringData {
        /// The kind chosen.
        kind: HolderKind,
        /// Data entered before, to prefill the form after "go back" or "retry".
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<HolderDraft>,
    },
    /// The summary page: proceed, or go back and fix.
    Summary {
        /// The data to confirm.
        draft: HolderDraft,
    },
    /// Choosing SPID, CIE, CNS, firma digitale, firma remota or webcam.
    ChoosingMethod {
        /// Confirmed data.
        draft: HolderDraft,
    },
    /// Identification under way at the provider (SPID login, card, video call...).
    Identifying {
        /// Confirmed data.
        draft: HolderDraft,
        /// Method in use.
        method: IdentificationMethod,
    },
    /// Identified "con successo": waiting for "PROCEDI".
    Identified {
        /// Confirmed data.
        draft: HolderDraft,
        /// Method used.
        method: IdentificationMethod,
    },
    /// Reading and ticking the service conditions.
    AcceptingTerms {
        /// Confirmed data.
        draft: HolderDraft,
        /// Method used.
        method: IdentificationMethod,
    },
    /// OTP sent to the contact e-mail; valid [`OTP_VALIDITY`] from `sent_at`.
    OtpSent {
        /// Confirmed data.
        draft: HolderDraft,
        /// Method used.
        method: IdentificationMethod,
        /// When the current OTP was sent.
        sent_at: DateTime<Utc>,
        /// How many times "invia di nuovo" was used.
        resends: u32,
    },
    /// "Identificazione avvenuta con successo". Terminal.
    Completed {
        /// Confirmed data.
        draft: HolderDraft,
        /// Method used.
        method: IdentificationMethod,
    },
    /// Outcome "dati non corrispondenti".
    DataMismatch {
        /// Data that did not match.
        draft: HolderDraft,
        /// Method used.
        method: IdentificationMethod,
    },
    /// Outcome "persona giuridica cancellata".
    LegalPersonCeased {
        /// Data of the ceased company.
        draft: HolderDraft,
    },
    /// Legal-representative check failed: documents needed ("Documenti mancanti").
    DocumentsMissing {
        /// Confirmed data.
        draft: HolderDraft,
        /// Method used.
        method: IdentificationMethod,
        /// Numero di pratica.
        practice_number: PracticeNumber,
    },
    /// Documents sent, under review ("Verifiche in corso").
    ChecksInProgress {
        /// Confirmed data.
        draft: HolderDraft,
        /// Method used.
        method: IdentificationMethod,
        /// Numero di pratica.
        practice_number: PracticeNumber,
    },
    /// A change of holder ("Cambia titolare PEC") must happen before identifying again; that is
    /// a separate provider procedure.
    HolderChangeRequired {
        /// Why.
        reason: HolderChangeReason,
    },
}

/// What can happen to a request: user actions and provider results.
///
/// JSON is internally tagged by `type`, e.g. `{"type": "choose_method", "method": "spid"}`.
/// Events reporting provider results (`identification_succeeded`, `*_found`, `checks_*`,
/// `confirm_otp`) are applied by whoever talks to the provider after it answered; the machine does
/// not check OTP codes or documents itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum IdentityEvent {
    /// Answer to "are you the holder or legal representative?".
    ChooseRole {
        /// The answer.
        role: Role,
    },
    /// Delegation: the holder's e-mail, to which the provider sends a link.
    SubmitHolderEmail {
        /// The holder's e-mail.
        holder_email: EmailAddress,
    },
    /// "Intestatario della casella PEC" chosen, "Conferma".
    ChooseHolderKind {
        /// The kind.
        kind: HolderKind,
    },
    /// Holder and contact data entered, "Conferma".
    SubmitData {
        /// The data; its holder kind must be the one chosen.
        draft: HolderDraft,
    },
    /// Summary accepted ("SALVA E PROCEDI").
    ConfirmSummary,
    /// Go back one page.
    Back,
    /// Identification method chosen.
    ChooseMethod {
        /// The method.
        method: IdentificationMethod,
    },
    /// The provider reports identification "con successo".
    IdentificationSucceeded,
    /// The user left the identification (closed SPID, wrong card...): choose a method again.
    IdentificationAbandoned,
    /// The provider reports "dati non corrispondenti".
    DataMismatchFound,
    /// The provider reports "persona giuridica cancellata" (legal persons only).
    LegalPersonCeasedFound,
    /// The provider reports a failed legal-representative check (legal persons only).
    LegalRepresentativeCheckFailed {
        /// Numero di pratica assigned.
        practice_number: PracticeNumber,
    },
    /// "PROCEDI" after a successful identification.
    Proceed,
    /// Conditions ticked, "completa la richiesta di identificazione": the provider sends the OTP.
    CompleteRequest {
        /// The checkboxes.
        terms: TermsAcceptance,
        /// When the OTP was sent.
        at: DateTime<Utc>,
    },
    /// "Invia di nuovo": a new OTP was sent.
    ResendOtp {
        /// When the new OTP was sent.
        at: DateTime<Utc>,
    },
    /// The provider accepted the OTP ("Conferma").
    ConfirmOtp {
        /// When the OTP was entered.
        at: DateTime<Utc>,
    },
    /// "Ricomincia la procedura": leave the OTP step (its resends are used up, or the
    /// contact address cannot receive it) and start the request again from the role
    /// question. Without it, a request whose resends ran out would stay active for ever and
    /// block a new one for its mailbox. Starting over means identifying again, which bounds
    /// the codes anyone can try.
    StartOver,
    /// After a mismatch: "Conferma di nuovo l'identità".
    Retry,
    /// "Cambia titolare PEC".
    ChangeHolder,
    /// "Cambia legale rappresentante" after a failed check.
    ChangeLegalRepresentative,
    /// "Invia documenti": the documents were uploaded.
    UploadDocuments,
    /// The provider completed the checks successfully.
    ChecksPassed,
    /// The provider found the documents wrong or incomplete.
    ChecksFailed,
    /// The change of holder is done: start again.
    HolderChanged,
}

/// Why an event was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The event is not expected at this step. Code `identity.illegal_transition`.
    #[error("'{event}' is not possible at step '{step}'")]
    Illegal {
        /// The step's JSON name.
        step: &'static str,
        /// The event's JSON name.
        event: &'static str,
    },
    /// The submitted data are for another kind of holder. Code `identity.holder_kind_mismatch`.
    #[error("the data are for '{got}', but '{expected}' was chosen")]
    HolderKindMismatch {
        /// The kind chosen.
        expected: HolderKind,
        /// The kind of the data.
        got: HolderKind,
    },
    /// A legal-person outcome for a natural-person holder. Code `identity.not_legal_person`.
    #[error("this outcome applies only to companies and other legal persons")]
    NotLegalPerson,
    /// Not every condition was accepted. Code `identity.terms_not_accepted`.
    #[error("all the service conditions must be accepted")]
    TermsNotAccepted,
    /// The OTP was entered after its 60 seconds. Code `identity.otp_expired`.
    #[error("the code has expired: ask for a new one")]
    OtpExpired,
    /// An empty or malformed practice number. Code `identity.practice_number`.
    #[error("the practice number is empty or not valid")]
    PracticeNumber,
}

impl DomainError for TransitionError {
    fn code(&self) -> &'static str {
        match self {
            Self::Illegal { .. } => "identity.illegal_transition",
            Self::HolderKindMismatch { .. } => "identity.holder_kind_mismatch",
            Self::NotLegalPerson => "identity.not_legal_person",
            Self::TermsNotAccepted => "identity.terms_not_accepted",
            Self::OtpExpired => "identity.otp_expired",
            Self::PracticeNumber => "identity.practice_number",
        }
    }

    fn message(&self, lang: Lang) -> String {
        let it = match self {
            Self::Illegal { step, event } => {
                format!("L'operazione '{event}' non è possibile al passo '{step}'.")
            }
            Self::HolderKindMismatch { expected, got } => format!(
                "I dati sono per '{}', ma è stato scelto '{}'.",
                got.label(Lang::It),
                expected.label(Lang::It)
            ),
            Self::NotLegalPerson => {
                "Questo esito riguarda solo imprese e altre persone giuridiche.".to_owned()
            }
            Self::TermsNotAccepted => {
                "Occorre accettare tutte le condizioni di servizio.".to_owned()
            }
            Self::OtpExpired => "Il codice è scaduto: richiedine uno nuovo.".to_owned(),
            Self::PracticeNumber => "Il numero di pratica è vuoto o non valido.".to_owned(),
        };
        pick(lang, it, format!("{self}."))
    }
}

impl Default for IdentityRequest {
    fn default() -> Self {
        Self::new()
    }
}

impl IdentityRequest {
    /// A new request, as after clicking "Conferma identità".
    pub fn new() -> Self {
        Self::ChoosingRole
    }

    /// Applies an event, returning the next step or why the event is not possible now.
    ///
    /// Takes `&self` so a caller (a server handler, the app) keeps the current step on error and
    /// persists the new one only on success.
    pub fn apply(&self, event: IdentityEvent) -> Result<IdentityRequest, TransitionError> {
        use IdentityEvent as E;
        use IdentityRequest as S;

        let next = match (self, event) {
            // Role and delegation.
            (S::ChoosingRole, E::ChooseRole { role: Role::Other }) => S::AwaitingHolderEmail,
            (
                S::ChoosingRole,
                E::ChooseRole {
                    role: Role::HolderOrLegalRepresentative,
                },
            ) => S::ChoosingHolderKind,
            (S::AwaitingHolderEmail, E::SubmitHolderEmail { holder_email }) => {
                S::DelegationLinkSent { holder_email }
            }
            (S::AwaitingHolderEmail | S::ChoosingHolderKind, E::Back) => S::ChoosingRole,

            // Holder kind, data, summary.
            (S::ChoosingHolderKind, E::ChooseHolderKind { kind }) => S::EnteringData {
                kind,
                previous: None,
            },
            (S::EnteringData { kind, .. }, E::SubmitData { draft }) => {
                let got = draft.holder.kind();
                if got != *kind {
                    return Err(TransitionError::HolderKindMismatch {
                        expected: *kind,
                        got,
                    });
                }
                S::Summary { draft }
            }
            (S::EnteringData { .. }, E::Back) => S::ChoosingHolderKind,
            (S::Summary { draft }, E::ConfirmSummary) => S::ChoosingMethod {
                draft: draft.clone(),
            },
            (S::Summary { draft }, E::Back) => S::EnteringData {
                kind: draft.holder.kind(),
                previous: Some(draft.clone()),
            },

            // Identification.
            (S::ChoosingMethod { draft }, E::ChooseMethod { method }) => S::Identifying {
                draft: draft.clone(),
                method,
            },
            (S::ChoosingMethod { draft }, E::Back) => S::Summary {
                draft: draft.clone(),
            },
            (S::Identifying { draft, method }, E::IdentificationSucceeded) => S::Identified {
                draft: draft.clone(),
                method: *method,
            },
            (S::Identifying { draft, .. }, E::IdentificationAbandoned) => S::ChoosingMethod {
                draft: draft.clone(),
            },
            (S::Identifying { draft, method }, E::DataMismatchFound) => S::DataMismatch {
                draft: draft.clone(),
                method: *method,
            },
            (S::Identifying { draft, .. }, E::LegalPersonCeasedFound) => {
                require_legal_person(draft)?;
                S::LegalPersonCeased {
                    draft: draft.clone(),
                }
            }
            (
                S::Identifying { draft, method },
                E::LegalRepresentativeCheckFailed { practice_number },
            ) => {
                require_legal_person(draft)?;
                S::DocumentsMissing {
                    draft: draft.clone(),
                    method: *method,
                    practice_number,
                }
            }

            // Conditions and OTP.
            (S::Identified { draft, method }, E::Proceed) => S::AcceptingTerms {
                draft: draft.clone(),
                method: *method,
            },
            (S::AcceptingTerms { draft, method }, E::CompleteRequest { terms, at }) => {
                if !(terms.service_conditions && terms.contract_information) {
                    return Err(TransitionError::TermsNotAccepted);
                }
                S::OtpSent {
                    draft: draft.clone(),
                    method: *method,
                    sent_at: at,
                    resends: 0,
                }
            }
            (
                S::OtpSent {
                    draft,
                    method,
                    resends,
                    ..
                },
                E::ResendOtp { at },
            ) => S::OtpSent {
                draft: draft.clone(),
                method: *method,
                sent_at: at,
                resends: resends.saturating_add(1),
            },
            (
                S::OtpSent {
                    draft,
                    method,
                    sent_at,
                    ..
                },
                E::ConfirmOtp { at },
            ) => {
                if at - *sent_at >= OTP_VALIDITY {
                    return Err(TransitionError::OtpExpired);
                }
                S::Completed {
                    draft: draft.clone(),
                    method: *method,
                }
            }
            (S::OtpSent { .. }, E::StartOver) => S::ChoosingRole,

            // Outcome branches.
            (S::DataMismatch { draft, .. }, E::Retry) => S::EnteringData {
                kind: draft.holder.kind(),
                previous: Some(draft.clone()),
            },
            (S::DataMismatch { .. }, E::ChangeHolder) => S::HolderChangeRequired {
                reason: HolderChangeReason::DataMismatch,
            },
            (S::LegalPersonCeased { .. }, E::ChangeHolder) => S::HolderChangeRequired {
                reason: HolderChangeReason::LegalPersonCeased,
            },
            (
                S::DocumentsMissing {
                    draft,
                    method,
                    practice_number,
                },
                E::UploadDocuments,
            ) => S::ChecksInProgress {
                draft: draft.clone(),
                method: *method,
                practice_number: practice_number.clone(),
            },
            (S::DocumentsMissing { draft, .. }, E::ChangeLegalRepresentative) => S::EnteringData {
                kind: draft.holder.kind(),
                previous: Some(draft.clone()),
            },
            (S::DocumentsMissing { .. }, E::ChangeHolder) => S::HolderChangeRequired {
                reason: HolderChangeReason::LegalRepresentativeCheckFailed,
            },
            (S::ChecksInProgress { draft, method, .. }, E::ChecksPassed) => S::Completed {
                draft: draft.clone(),
                method: *method,
            },
            (
                S::ChecksInProgress {
                    draft,
                    method,
                    practice_number,
                },
                E::ChecksFailed,
            ) => S::DocumentsMissing {
                draft: draft.clone(),
                method: *method,
                practice_number: practice_number.clone(),
            },
            (S::HolderChangeRequired { .. }, E::HolderChanged) => S::ChoosingRole,

            (state, event) => {
                return Err(TransitionError::Illegal {
                    step: state.step_name(),
                    event: event.name(),
                });
            }
        };
        Ok(next)
    }

    /// The provider-facing state of this request.
    pub fn state(&self) -> IdentityState {
        match self {
            Self::DocumentsMissing { .. } => IdentityState::DocumentsMissing,
            Self::ChecksInProgress { .. } => IdentityState::ChecksInProgress,
            Self::Completed { .. } => IdentityState::Completed,
            _ => IdentityState::ToConfirm,
        }
    }

    /// The outcome to show, if the provider reported one.
    pub fn outcome(&self) -> Option<IdentityOutcome> {
        match self {
            Self::DataMismatch { .. } => Some(IdentityOutcome::DataMismatch),
            Self::LegalPersonCeased { .. } => Some(IdentityOutcome::LegalPersonCeased),
            Self::DocumentsMissing {
                practice_number, ..
            } => Some(IdentityOutcome::LegalRepresentativeCheckFailed {
                practice_number: practice_number.clone(),
            }),
            Self::ChecksInProgress {
                practice_number, ..
            } => Some(IdentityOutcome::ChecksInProgress {
                practice_number: practice_number.clone(),
            }),
            _ => None,
        }
    }

    /// Whether no event can move the request any more (this user's part is done).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::DelegationLinkSent { .. } | Self::Completed { .. }
        )
    }

    /// Whether the OTP of an `OtpSent` step has expired at `now`, so the UI offers "invia di
    /// nuovo". `false` at any other step.
    pub fn otp_expired(&self, now: DateTime<Utc>) -> bool {
        match self {
            Self::OtpSent { sent_at, .. } => now - *sent_at >= OTP_VALIDITY,
            _ => false,
        }
    }

    /// The step's JSON name (the `step` tag), for errors and logs.
    pub fn step_name(&self) -> &'static str {
        match self {
            Self::ChoosingRole => "choosing_role",
            Self::AwaitingHolderEmail => "awaiting_holder_email",
            Self::DelegationLinkSent { .. } => "delegation_link_sent",
            Self::ChoosingHolderKind => "choosing_holder_kind",
            Self::EnteringData { .. } => "entering_data",
            Self::Summary { .. } => "summary",
            Self::ChoosingMethod { .. } => "choosing_method",
            Self::Identifying { .. } => "identifying",
            Self::Identified { .. } => "identified",
            Self::AcceptingTerms { .. } => "accepting_terms",
            Self::OtpSent { .. } => "otp_sent",
            Self::Completed { .. } => "completed",
            Self::DataMismatch { .. } => "data_mismatch",
            Self::LegalPersonCeased { .. } => "legal_person_ceased",
            Self::DocumentsMissing { .. } => "documents_missing",
            Self::ChecksInProgress { .. } => "checks_in_progress",
            Self::HolderChangeRequired { .. } => "holder_change_required",
        }
    }
}

impl IdentityEvent {
    /// The event's JSON name (the `type` tag), for errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ChooseRole { .. } => "choose_role",
            Self::SubmitHolderEmail { .. } => "submit_holder_email",
            Self::ChooseHolderKind { .. } => "choose_holder_kind",
            Self::SubmitData { .. } => "submit_data",
            Self::ConfirmSummary => "confirm_summary",
            Self::Back => "back",
            Self::ChooseMethod { .. } => "choose_method",
            Self::IdentificationSucceeded => "identification_succeeded",
            Self::IdentificationAbandoned => "identification_abandoned",
            Self::DataMismatchFound => "data_mismatch_found",
            Self::LegalPersonCeasedFound => "legal_person_ceased_found",
            Self::LegalRepresentativeCheckFailed { .. } => "legal_representative_check_failed",
            Self::Proceed => "proceed",
            Self::CompleteRequest { .. } => "complete_request",
            Self::ResendOtp { .. } => "resend_otp",
            Self::ConfirmOtp { .. } => "confirm_otp",
            Self::StartOver => "start_over",
            Self::Retry => "retry",
            Self::ChangeHolder => "change_holder",
            Self::ChangeLegalRepresentative => "change_legal_representative",
            Self::UploadDocuments => "upload_documents",
            Self::ChecksPassed => "checks_passed",
            Self::ChecksFailed => "checks_failed",
            Self::HolderChanged => "holder_changed",
        }
    }
}

fn require_legal_person(draft: &HolderDraft) -> Result<(), TransitionError> {
    if draft.holder.kind().is_legal_person() {
        Ok(())
    } else {
        Err(TransitionError::NotLegalPerson)
    }
}

#[cfg(test)]
mod tests;
