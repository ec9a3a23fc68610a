//! Pure domain types and rules for Italian PEC (certified e-mail) holders.
//!
//! This crate is the shared vocabulary of the desktop app, the provider HTTP client and the
//! reference provider server. It does no I/O, no async and reads no clock: every function that
//! depends on time takes the instant as a parameter, so all rules are deterministic and testable.
//!
//! Its serde types are the provider API contract: JSON with snake_case fields, enums as
//! snake_case strings or internally tagged objects. Validated values (codice fiscale, e-mail...)
//! are newtypes that validate on deserialisation too, so invalid data cannot enter through JSON.
//!
//! - [`error`]: [`Lang`], [`Localized`] (`{code, message_it, message_en}`) and the
//!   [`DomainError`] trait every error implements, with stable machine codes.
//! - [`codice_fiscale`]: 16-character codes of natural persons, with omocodia.
//! - [`partita_iva`]: 11-digit numeric codes, partita IVA, the holder's [`TaxCode`] and the
//!   renewal portal's padding.
//! - [`contact`]: e-mail addresses and Italian mobile numbers.
//! - [`mailbox`]: the mailbox, its holder and contact, and renewal windows.
//! - [`identity`]: identity-confirmation states, outcomes and the request state machine.
//! - [`deadline`]: "valid until 24:00 of the day after receipt" in Europe/Rome.
//!
//! # Example
//!
//! ```
//! use pec_domain::{
//!     CodiceFiscale, DomainError, IdentityEvent, IdentityRequest, IdentityState, Lang, Role,
//!     confirmation_deadline,
//! };
//!
//! // Validators normalise what people type and explain what is wrong in both languages.
//! let cf = CodiceFiscale::parse(" rssmra45c12f2lri ")?;
//! assert_eq!(cf.as_str(), "RSSMRA45C12F2LRI");
//! let err = CodiceFiscale::parse("FOXDRA26C24H872A").unwrap_err();
//! assert_eq!(err.code(), "cf.checksum");
//! assert!(err.message(Lang::It).starts_with("Il carattere di controllo"));
//!
//! // The identity request moves only through legal events.
//! let start = IdentityRequest::new();
//! let next = start.apply(IdentityEvent::ChooseRole { role: Role::Other })?;
//! assert_eq!(next.step_name(), "awaiting_holder_email");
//! assert_eq!(next.state(), IdentityState::ToConfirm);
//! assert!(start.apply(IdentityEvent::Proceed).is_err());
//!
//! // A link received at 13:00 in Rome on Saturday 28 March 2026 works until 24:00 on Sunday,
//! // which after the change to summer time is 22:00 UTC.
//! let received = "2026-03-28T12:00:00Z".parse()?;
//! assert_eq!(confirmation_deadline(received).to_rfc3339(), "2026-03-29T22:00:00+00:00");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// The crate is an API contract: every public item must say what it is for.
#![warn(missing_docs)]

pub mod codice_fiscale;
pub mod contact;
pub mod deadline;
pub mod error;
pub mod identity;
pub mod mailbox;
mod newtype;
pub mod partita_iva;

pub use codice_fiscale::{CodiceFiscale, CodiceFiscaleError, Sex};
pub use contact::{EmailAddress, EmailError, MobileError, MobileNumber};
pub use deadline::{LinkDeadline, confirmation_deadline, is_expired};
pub use error::{DomainError, Lang, Localized};
pub use identity::{
    HolderChangeReason, HolderDraft, IdentificationMethod, IdentityEvent, IdentityOutcome,
    IdentityRequest, IdentityState, PracticeNumber, TermsAcceptance, TransitionError,
};
pub use mailbox::{
    Contact, ExpiryStatus, Holder, HolderKind, Mailbox, Name, NameError, NaturalPerson,
    RenewalPolicy, Role, expiry_status,
};
pub use partita_iva::{
    CompanyCfPadding, NumericCodeError, NumericCodiceFiscale, PartitaIva, TaxCode, TaxCodeError,
    normalize_company_cf,
};
