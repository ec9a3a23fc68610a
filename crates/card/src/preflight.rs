//! The pre-flight check: whether a card will do for identification, told to the holder
//! *before* the provider is asked, and what a failed VERIFY taught about its PIN.
//!
//! Pure: it takes the certificate read without PIN, the codice fiscale declared in the wizard,
//! what is known about the PIN and the moment, and returns typed [`Problem`]s. The PIN's tries
//! left are learnt only from a failed VERIFY (a CNS is never probed with an empty VERIFY), so
//! [`PinKnowledge`] is what the last attempt on a card said, kept by the caller per card serial
//! (it holds no secret).

use std::time::SystemTime;

use pec_domain::{CodiceFiscale, DomainError, Lang};
use serde::{Deserialize, Serialize};

use crate::{CardError, Certificate, ValidityStatus};

/// The PIN state known from the last attempt on a card.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct PinKnowledge {
    /// Tries left after the last failed VERIFY (None: no failure seen since the last success).
    pub tries_left: Option<u8>,
    /// The card answered "blocked".
    pub blocked: bool,
}

impl PinKnowledge {
    /// What an attempt that ended with `outcome` teaches about the PIN: a success forgets the
    /// past failures, a wrong or blocked PIN is remembered, anything else (a removed card, a
    /// reader gone) teaches nothing and leaves what was known (`None`).
    pub fn after<T>(outcome: &Result<T, CardError>) -> Option<PinKnowledge> {
        match outcome {
            Ok(_) => Some(PinKnowledge::default()),
            Err(CardError::WrongPin { tries_left }) => Some(PinKnowledge {
                tries_left: Some(*tries_left),
                blocked: false,
            }),
            Err(CardError::PinBlocked) => Some(PinKnowledge {
                tries_left: Some(0),
                blocked: true,
            }),
            Err(_) => None,
        }
    }
}

/// Why a card cannot be used to identify the holder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The certificate carries no codice fiscale: the provider could not match it.
    #[error("the card's certificate holds no codice fiscale")]
    NoTaxCode,
    /// The card belongs to someone other than the declared holder.
    #[error("the card belongs to {card}, not to {declared}")]
    TaxCodeMismatch {
        /// The codice fiscale on the card.
        card: String,
        /// The one declared in the wizard, normalised.
        declared: String,
    },
    /// The certificate's validity ended.
    #[error("the card's certificate expired on {day}")]
    CertificateExpired {
        /// The last day of validity, `dd/mm/yyyy` (UTC, as the certificate says).
        day: String,
    },
    /// The certificate's validity has not begun (a wrong clock, usually).
    #[error("the card's certificate is not valid yet")]
    CertificateNotYetValid,
    /// The last attempt blocked the PIN.
    #[error("the card's PIN is blocked")]
    PinBlocked,
}

impl DomainError for Problem {
    fn code(&self) -> &'static str {
        match self {
            Problem::NoTaxCode => "card.no_tax_code",
            Problem::TaxCodeMismatch { .. } => "card.tax_code_mismatch",
            Problem::CertificateExpired { .. } => "card.certificate_expired",
            Problem::CertificateNotYetValid => "card.certificate_not_yet_valid",
            Problem::PinBlocked => "card.pin_blocked",
        }
    }

    fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (Problem::NoTaxCode, Lang::It) => "Il certificato della carta non contiene un codice fiscale: il fornitore non potrebbe riconoscerti con questa carta.".into(),
            (Problem::NoTaxCode, Lang::En) => "The card's certificate holds no codice fiscale: the provider could not identify you with this card.".into(),
            (Problem::TaxCodeMismatch { card, declared }, Lang::It) => format!("Questa carta è di {card}, ma il codice fiscale indicato è {declared}. Inserisci la carta del titolare o correggi i dati."),
            (Problem::TaxCodeMismatch { card, declared }, Lang::En) => format!("This card belongs to {card}, but the declared codice fiscale is {declared}. Insert the holder's card or correct the data."),
            (Problem::CertificateExpired { day }, Lang::It) => format!("Il certificato della carta è scaduto il {day}. Rinnova la carta presso chi l'ha emessa o scegli un altro metodo."),
            (Problem::CertificateExpired { day }, Lang::En) => format!("The card's certificate expired on {day}. Renew the card with its issuer or choose another method."),
            (Problem::CertificateNotYetValid, Lang::It) => "Il certificato della carta non è ancora valido: controlla la data del computer.".into(),
            (Problem::CertificateNotYetValid, Lang::En) => "The card's certificate is not valid yet: check the computer's date.".into(),
            (Problem::PinBlocked, Lang::It) => "Il PIN di questa carta è bloccato. Sbloccalo con il PUK (ad esempio con `pec card unblock` o il programma di chi ha emesso la carta), poi riprova.".into(),
            (Problem::PinBlocked, Lang::En) => "This card's PIN is blocked. Unblock it with the PUK (for instance with `pec card unblock` or the issuer's program), then try again.".into(),
        }
    }
}

/// What the pre-flight found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The certificate's validity at the moment of the check.
    pub validity: ValidityStatus,
    /// Whether the card's codice fiscale is the declared one (None: nothing valid declared, or
    /// none on the card).
    pub tax_code_matches: Option<bool>,
    /// Why the card cannot be used; empty: go ahead.
    pub problems: Vec<Problem>,
}

/// Checks a card's certificate against the codice fiscale declared in the wizard, its validity
/// at `now`, and what is known about its PIN. A declared code that does not parse is treated
/// as none (the wizard's own checks report it).
pub fn assess(
    cert: &Certificate,
    declared: Option<&str>,
    pin: PinKnowledge,
    now: SystemTime,
) -> Assessment {
    let mut problems = Vec::new();
    let declared = declared.and_then(|d| CodiceFiscale::parse(d).ok());
    let mut tax_code_matches = None;
    match (&cert.codice_fiscale, &declared) {
        (None, _) => problems.push(Problem::NoTaxCode),
        (Some(card), Some(declared)) => {
            let same = card.eq_ignore_ascii_case(declared.as_str());
            tax_code_matches = Some(same);
            if !same {
                problems.push(Problem::TaxCodeMismatch {
                    card: card.clone(),
                    declared: declared.as_str().to_owned(),
                });
            }
        }
        (Some(_), None) => {}
    }
    let validity = cert.validity_at(now);
    match validity {
        ValidityStatus::Expired => problems.push(Problem::CertificateExpired {
            day: day_of(cert.not_after_unix),
        }),
        ValidityStatus::NotYetValid => problems.push(Problem::CertificateNotYetValid),
        ValidityStatus::Valid => {}
    }
    if pin.blocked {
        problems.push(Problem::PinBlocked);
    }
    Assessment {
        validity,
        tax_code_matches,
        problems,
    }
}

/// `dd/mm/yyyy` of a Unix time (UTC), the way Italian documents write a day.
fn day_of(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map(|t| t.format("%d/%m/%Y").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const MARIO: &str = "RSSMRA80A01H501U";

    fn cert(cf: Option<&str>) -> Certificate {
        Certificate {
            der: Vec::new(),
            subject: String::new(),
            issuer: String::new(),
            issuer_name: None,
            serial: String::new(),
            common_name: None,
            given_name: None,
            surname: None,
            subject_serial_number: None,
            codice_fiscale: cf.map(str::to_owned),
            not_before: String::new(),
            not_after: String::new(),
            // 1 January 2020 to 31 December 2029.
            not_before_unix: 1_577_836_800,
            not_after_unix: 1_893_369_600,
            key_usage: Vec::new(),
            policies: Vec::new(),
            role: crate::CertificateRole::CnsAuthentication,
            key_bits: 2048,
            sha256: String::new(),
        }
    }

    fn at(unix: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(unix)
    }

    const IN_2025: u64 = 1_750_000_000;

    #[test]
    fn the_holders_valid_card_has_no_problem() {
        let a = assess(
            &cert(Some(MARIO)),
            Some("rssmra80a01h501u"),
            PinKnowledge::default(),
            at(IN_2025),
        );
        assert_eq!(a.problems, []);
        assert_eq!(a.tax_code_matches, Some(true));
        assert_eq!(a.validity, ValidityStatus::Valid);
    }

    #[test]
    fn someone_elses_card_is_named_with_both_codes() {
        let a = assess(
            &cert(Some("BNCGLI85C55F205C")),
            Some(MARIO),
            PinKnowledge::default(),
            at(IN_2025),
        );
        assert_eq!(a.tax_code_matches, Some(false));
        let p = &a.problems[0];
        assert_eq!(p.code(), "card.tax_code_mismatch");
        assert!(
            p.message(Lang::It).contains("BNCGLI85C55F205C") && p.message(Lang::It).contains(MARIO)
        );
    }

    #[test]
    fn expiry_blocked_pin_and_missing_code_are_each_a_problem() {
        let blocked = PinKnowledge {
            tries_left: Some(0),
            blocked: true,
        };
        let a = assess(&cert(None), None, blocked, at(1_900_000_000));
        let codes: Vec<_> = a.problems.iter().map(|p| p.code()).collect();
        assert_eq!(
            codes,
            [
                "card.no_tax_code",
                "card.certificate_expired",
                "card.pin_blocked"
            ]
        );
        assert!(
            a.problems[1].message(Lang::It).contains("31/12/2029"),
            "{}",
            a.problems[1]
        );
        let early = assess(
            &cert(Some(MARIO)),
            None,
            PinKnowledge::default(),
            at(1_000_000_000),
        );
        assert_eq!(early.problems, [Problem::CertificateNotYetValid]);
        assert_eq!(
            early.tax_code_matches, None,
            "nothing declared, nothing compared"
        );
    }

    #[test]
    fn only_pin_answers_teach_about_the_pin() {
        assert_eq!(
            PinKnowledge::after(&Ok::<(), CardError>(())),
            Some(PinKnowledge::default())
        );
        assert_eq!(
            PinKnowledge::after::<()>(&Err(CardError::WrongPin { tries_left: 2 })),
            Some(PinKnowledge {
                tries_left: Some(2),
                blocked: false
            })
        );
        assert_eq!(
            PinKnowledge::after::<()>(&Err(CardError::PinBlocked)),
            Some(PinKnowledge {
                tries_left: Some(0),
                blocked: true
            })
        );
        assert_eq!(
            PinKnowledge::after::<()>(&Err(CardError::CardRemoved)),
            None
        );
    }
}
