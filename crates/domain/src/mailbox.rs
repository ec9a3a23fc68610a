//! The mailbox, its holder and contact data, and the renewal/expiry helper.
//!
//! These types are the provider API's view of a PEC mailbox: what the app lists on its home
//! screen, and what the identity-confirmation flow collects as holder and contact data.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::codice_fiscale::CodiceFiscale;
use crate::contact::{EmailAddress, MobileNumber};
use crate::error::{DomainError, Lang, pick};
use crate::identity::IdentityState;
use crate::partita_iva::{PartitaIva, TaxCode};

/// A PEC mailbox as the provider reports it.
///
/// `identity_state` and `qualified` are both kept, not derived from each other: `qualified` is the
/// European star the webmail shows once the mailbox is "qualificata e identificata" (seeds 000,
/// 001), which a provider sets after the identity is `Completed`, possibly later. The app shows
/// what the provider says rather than guessing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    /// The PEC address itself.
    pub address: EmailAddress,
    /// Who the mailbox is registered to.
    pub holder: Holder,
    /// Where the provider sends codes and notices (the "dati di contatto").
    pub contact: Contact,
    /// Where the identity confirmation stands, in the providers' four states.
    pub identity_state: IdentityState,
    /// The European star: the mailbox is qualified (eIDAS registered delivery) and identified.
    pub qualified: bool,
    /// Last day of the paid period (Italian calendar day).
    pub expires_on: NaiveDate,
    /// Whether two-step login ("verifica in due passaggi") is on. When on, mail programs need an
    /// app password, which the app must explain.
    pub two_step_login: bool,
}

impl Mailbox {
    /// Whether the banner "adegua la PEC" applies: identity not yet completed.
    pub fn needs_identity_confirmation(&self) -> bool {
        self.identity_state != IdentityState::Completed
    }

    /// The expiry status on `today` under a provider's renewal policy.
    pub fn expiry_status(&self, today: NaiveDate, policy: RenewalPolicy) -> ExpiryStatus {
        expiry_status(self.expires_on, today, policy)
    }
}

/// The three kinds of holder the providers ask for ("tipologia di intestatario").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HolderKind {
    /// Impresa / società (also associations, bodies, public administrations): a legal person,
    /// represented by a legale rappresentante.
    Company,
    /// Professionista / ditta individuale / artigiano: a natural person acting for business.
    Professional,
    /// Privato cittadino.
    PrivateCitizen,
}

impl HolderKind {
    /// All kinds, in the order the providers list them.
    pub const ALL: [HolderKind; 3] = [Self::Company, Self::Professional, Self::PrivateCitizen];

    /// The label the providers use, in the requested language.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::Company, Lang::It) => "Impresa / Società",
            (Self::Company, Lang::En) => "Company",
            (Self::Professional, Lang::It) => "Professionista / Ditta individuale / Artigiano",
            (Self::Professional, Lang::En) => "Professional / sole trader / craftsman",
            (Self::PrivateCitizen, Lang::It) => "Privato cittadino",
            (Self::PrivateCitizen, Lang::En) => "Private citizen",
        }
    }

    /// Whether the holder is a legal person: only then can the provider report "persona giuridica
    /// cancellata" or a failed legal-representative check.
    pub fn is_legal_person(self) -> bool {
        self == Self::Company
    }
}

impl fmt::Display for HolderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label(Lang::En))
    }
}

/// Who is going through the identity confirmation (the wizard's first question).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// "Sono il legale rappresentante o l'intestatario della casella": may identify.
    HolderOrLegalRepresentative,
    /// "Non sono il legale rappresentante o l'intestatario della casella": may only send the holder
    /// a link to do it themselves (delegation).
    Other,
}

impl Role {
    /// The option text, in the requested language.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::HolderOrLegalRepresentative, Lang::It) => {
                "Sono il legale rappresentante o l'intestatario della casella"
            }
            (Self::HolderOrLegalRepresentative, Lang::En) => {
                "I am the legal representative or the holder of the mailbox"
            }
            (Self::Other, Lang::It) => {
                "Non sono il legale rappresentante o l'intestatario della casella"
            }
            (Self::Other, Lang::En) => {
                "I am not the legal representative or the holder of the mailbox"
            }
        }
    }
}

/// The holder of a mailbox, with the data each kind is asked for.
///
/// JSON is internally tagged by `kind` (`"company"`, `"professional"`, `"private_citizen"`), so the
/// data a form must collect follow from the kind and cannot be mixed up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Holder {
    /// Impresa / società.
    Company {
        /// Ragione sociale.
        business_name: Name,
        /// Codice fiscale dell'impresa (11 digits, or 16 for some sole-trader businesses).
        tax_code: TaxCode,
        /// The legale rappresentante, when the provider asks for them (Aruba does, Legalmail
        /// identifies them through SPID instead).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        legal_representative: Option<NaturalPerson>,
    },
    /// Professionista / ditta individuale / artigiano.
    Professional {
        /// Name or trading name.
        name: Name,
        /// Usually the personal codice fiscale.
        tax_code: TaxCode,
        /// Partita IVA, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vat_number: Option<PartitaIva>,
    },
    /// Privato cittadino.
    PrivateCitizen {
        /// The citizen.
        #[serde(flatten)]
        person: NaturalPerson,
    },
}

impl Holder {
    /// The kind of holder.
    pub fn kind(&self) -> HolderKind {
        match self {
            Self::Company { .. } => HolderKind::Company,
            Self::Professional { .. } => HolderKind::Professional,
            Self::PrivateCitizen { .. } => HolderKind::PrivateCitizen,
        }
    }
}

/// A natural person: a private holder or a company's legal representative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NaturalPerson {
    /// Nome.
    pub first_name: Name,
    /// Cognome.
    pub last_name: Name,
    /// Codice fiscale: compared with the one in a smart card's certificate before identification.
    pub tax_code: CodiceFiscale,
}

/// Contact data ("dati di contatto"): where the OTP and the notices go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Ordinary e-mail: required, the final OTP is sent here (seeds 000, 001).
    pub email: EmailAddress,
    /// Mobile: optional in the providers' forms (the renewal portal lets the user skip the SMS code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<MobileNumber>,
}

/// A person's or company's name as typed: trimmed, 1–200 characters, no control characters.
///
/// A newtype so that an empty ragione sociale cannot reach a provider. Serialised as the string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Name(String);

/// Longest accepted name, in characters.
pub const NAME_MAX_CHARS: usize = 200;

/// Why a string is not an acceptable name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing but whitespace. Code `name.empty`.
    #[error("the name is empty")]
    Empty,
    /// Over 200 characters. Code `name.too_long`.
    #[error("the name is too long (at most {NAME_MAX_CHARS} characters)")]
    TooLong,
    /// Contains control characters such as line breaks. Code `name.control_chars`.
    #[error("the name contains line breaks or other control characters")]
    ControlChars,
}

impl DomainError for NameError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "name.empty",
            Self::TooLong => "name.too_long",
            Self::ControlChars => "name.control_chars",
        }
    }

    fn message(&self, lang: Lang) -> String {
        let it = match self {
            Self::Empty => "Il nome è vuoto.".to_owned(),
            Self::TooLong => {
                format!("Il nome è troppo lungo (al massimo {NAME_MAX_CHARS} caratteri).")
            }
            Self::ControlChars => {
                "Il nome contiene a capo o altri caratteri di controllo.".to_owned()
            }
        };
        pick(lang, it, format!("{self}."))
    }
}

impl Name {
    /// Validates a name; surrounding whitespace is dropped.
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        if s.chars().count() > NAME_MAX_CHARS {
            return Err(NameError::TooLong);
        }
        if s.chars().any(char::is_control) {
            return Err(NameError::ControlChars);
        }
        Ok(Self(s.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Name {
    type Error = NameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Name> for String {
    fn from(n: Name) -> Self {
        n.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// ---------------------------------------------------------------------------------------------
// Renewal.

/// A provider's renewal windows, in days.
///
/// Providers differ (Aruba: renewable up to 90 days after expiry, then deleted; others suspend
/// after 7 or read-only for 30), so this is data, not a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewalPolicy {
    /// Start warning this many days before expiry.
    pub warn_days: u32,
    /// Days after expiry during which renewal is still possible; after that the mailbox is ceased
    /// and its messages are lost.
    pub grace_days: u32,
}

impl Default for RenewalPolicy {
    /// 30 days of warning, 90 days of grace (Aruba's documented window).
    fn default() -> Self {
        Self {
            warn_days: 30,
            grace_days: 90,
        }
    }
}

/// Where a mailbox stands with respect to its expiry.
///
/// JSON is tagged by `status`. In `ExpiringSoon` and `Expired` the app offers to save the messages:
/// the renewal portal warns that after the renewal window the mailbox is ceased and messages are lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ExpiryStatus {
    /// More than `warn_days` left.
    Active {
        /// Days until the expiry day (0 = expires today).
        days_left: i64,
    },
    /// Within `warn_days` of expiry: renew now.
    ExpiringSoon {
        /// Days until the expiry day (0 = expires today).
        days_left: i64,
    },
    /// Past expiry but still renewable.
    Expired {
        /// Days since the expiry day (1 = expired yesterday).
        days_since: i64,
        /// Days left to renew before the mailbox is ceased.
        days_left_to_renew: i64,
    },
    /// Past the grace window: ceased, messages no longer recoverable.
    Ceased,
}

/// The expiry status of a mailbox valid through `expires_on`, on `today`.
pub fn expiry_status(
    expires_on: NaiveDate,
    today: NaiveDate,
    policy: RenewalPolicy,
) -> ExpiryStatus {
    let days_left = (expires_on - today).num_days();
    if days_left >= 0 {
        if days_left <= i64::from(policy.warn_days) {
            ExpiryStatus::ExpiringSoon { days_left }
        } else {
            ExpiryStatus::Active { days_left }
        }
    } else {
        let days_since = -days_left;
        let grace = i64::from(policy.grace_days);
        if days_since <= grace {
            ExpiryStatus::Expired {
                days_since,
                days_left_to_renew: grace - days_since,
            }
        } else {
            ExpiryStatus::Ceased
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    pub(crate) fn sample_mailbox() -> Mailbox {
        Mailbox {
            address: EmailAddress::parse("studio@pec.example.it").unwrap(),
            holder: Holder::Company {
                business_name: Name::parse("Rossi S.r.l.").unwrap(),
                tax_code: TaxCode::parse("00743110157").unwrap(),
                legal_representative: Some(NaturalPerson {
                    first_name: Name::parse("Mario").unwrap(),
                    last_name: Name::parse("Rossi").unwrap(),
                    tax_code: CodiceFiscale::parse("RSSMRA45C12F205C").unwrap(),
                }),
            },
            contact: Contact {
                email: EmailAddress::parse("mario@example.it").unwrap(),
                mobile: Some(MobileNumber::parse("333 1234567").unwrap()),
            },
            identity_state: IdentityState::ToConfirm,
            qualified: false,
            expires_on: d("2027-01-31"),
            two_step_login: false,
        }
    }

    #[test]
    fn mailbox_json_contract() {
        let m = sample_mailbox();
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "address": "studio@pec.example.it",
                "holder": {
                    "kind": "company",
                    "business_name": "Rossi S.r.l.",
                    "tax_code": "00743110157",
                    "legal_representative": {
                        "first_name": "Mario",
                        "last_name": "Rossi",
                        "tax_code": "RSSMRA45C12F205C"
                    }
                },
                "contact": {"email": "mario@example.it", "mobile": "+393331234567"},
                "identity_state": "to_confirm",
                "qualified": false,
                "expires_on": "2027-01-31",
                "two_step_login": false
            })
        );
        let back: Mailbox = serde_json::from_value(v).unwrap();
        assert_eq!(back, m);
        assert!(m.needs_identity_confirmation());
        assert_eq!(m.holder.kind(), HolderKind::Company);
    }

    #[test]
    fn holder_kinds_json_and_validation() {
        let citizen: Holder = serde_json::from_value(serde_json::json!({
            "kind": "private_citizen",
            "first_name": " Maria ",
            "last_name": "Bianchi",
            "tax_code": "MRSMSR81D60Z611H"
        }))
        .unwrap();
        assert_eq!(citizen.kind(), HolderKind::PrivateCitizen);
        let pro: Holder = serde_json::from_value(serde_json::json!({
            "kind": "professional",
            "name": "Studio Bianchi",
            "tax_code": "MRSMSR81D60Z611H",
            "vat_number": "IT00743110157"
        }))
        .unwrap();
        assert_eq!(pro.kind(), HolderKind::Professional);
        // Invalid data are rejected at the boundary.
        for bad in [
            serde_json::json!({"kind": "company", "business_name": "", "tax_code": "00743110157"}),
            serde_json::json!({"kind": "company", "business_name": "X", "tax_code": "00743110158"}),
            serde_json::json!({"kind": "professional", "name": "X", "tax_code": "00743110157", "vat_number": "1"}),
            serde_json::json!({"kind": "alien", "name": "X"}),
        ] {
            assert!(
                serde_json::from_value::<Holder>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn labels() {
        assert_eq!(HolderKind::Company.label(Lang::It), "Impresa / Società");
        assert_eq!(
            HolderKind::Professional.label(Lang::It),
            "Professionista / Ditta individuale / Artigiano"
        );
        assert_eq!(
            HolderKind::PrivateCitizen.label(Lang::It),
            "Privato cittadino"
        );
        for k in HolderKind::ALL {
            assert_ne!(k.label(Lang::It), k.label(Lang::En));
            assert_eq!(k.is_legal_person(), k == HolderKind::Company);
        }
        assert!(Role::Other.label(Lang::It).starts_with("Non sono"));
        assert!(
            Role::HolderOrLegalRepresentative
                .label(Lang::En)
                .starts_with("I am the")
        );
        assert_eq!(
            serde_json::to_string(&Role::HolderOrLegalRepresentative).unwrap(),
            "\"holder_or_legal_representative\""
        );
        assert_eq!(HolderKind::Company.to_string(), "Company");
    }

    #[test]
    fn names() {
        assert_eq!(Name::parse("  Rossi  ").unwrap().as_str(), "Rossi");
        assert_eq!(Name::parse(" ").unwrap_err().code(), "name.empty");
        assert_eq!(
            Name::parse(&"x".repeat(201)).unwrap_err().code(),
            "name.too_long"
        );
        assert!(Name::parse(&"è".repeat(200)).is_ok());
        assert_eq!(
            Name::parse("a\nb").unwrap_err().code(),
            "name.control_chars"
        );
        for e in [
            NameError::Empty,
            NameError::TooLong,
            NameError::ControlChars,
        ] {
            assert_ne!(e.message(Lang::It), e.message(Lang::En));
        }
    }

    #[test]
    fn expiry_windows() {
        let p = RenewalPolicy::default();
        let exp = d("2026-12-31");
        assert_eq!(
            expiry_status(exp, d("2026-11-22"), p),
            ExpiryStatus::Active { days_left: 39 }
        );
        assert_eq!(
            expiry_status(exp, d("2026-11-01"), p),
            ExpiryStatus::Active { days_left: 60 }
        );
        assert_eq!(
            expiry_status(exp, d("2026-12-01"), p),
            ExpiryStatus::ExpiringSoon { days_left: 30 }
        );
        assert_eq!(
            expiry_status(exp, d("2026-12-31"), p),
            ExpiryStatus::ExpiringSoon { days_left: 0 }
        );
        assert_eq!(
            expiry_status(exp, d("2027-01-01"), p),
            ExpiryStatus::Expired {
                days_since: 1,
                days_left_to_renew: 89
            }
        );
        assert_eq!(
            expiry_status(exp, d("2027-03-31"), p),
            ExpiryStatus::Expired {
                days_since: 90,
                days_left_to_renew: 0
            }
        );
        assert_eq!(expiry_status(exp, d("2027-04-01"), p), ExpiryStatus::Ceased);
        let m = sample_mailbox();
        assert_eq!(
            m.expiry_status(d("2026-01-31"), p),
            ExpiryStatus::Active { days_left: 365 }
        );
        assert_eq!(
            serde_json::to_value(ExpiryStatus::Expired {
                days_since: 1,
                days_left_to_renew: 89
            })
            .unwrap(),
            serde_json::json!({"status": "expired", "days_since": 1, "days_left_to_renew": 89})
        );
    }
}
