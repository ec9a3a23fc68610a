//! Italian CNS / TS-CNS smart cards and the CIE 3.0 over PC/SC, with no vendor middleware.
//!
//! The app needs to tell the holder, *before* the provider step, whether their card will work:
//! whose codice fiscale it carries, until when the certificate is valid, whether the PIN is
//! still usable, and that the key can actually sign. This crate does exactly that over raw
//! ISO 7816-4 APDUs:
//!
//! - [`Pcsc`]: readers, hot-plug ([`ReaderWatcher`]), connections;
//! - [`CardProfile`]: what a card is, from its ATR (CNS vendor/quirks, CardOS, CIE, unknown);
//! - [`CnsCard`]: serial, personal data, certificates, PIN, challenge signature, and the
//!   qualified signature with the classic DF_DS key ([`QualifiedSignature`]);
//! - [`CieCard`]: the CIE 3.0 over NFC: NIS, secure channel (DH + DAPP), one VERIFY,
//!   certificate, signature, passive authentication ([`cie`]);
//! - [`ReaderInterface`]: contact slot or NFC antenna;
//! - [`Certificate`]: names, codice fiscale by the AgID rule, validity, role;
//! - [`preflight`]: whether a card will do before the provider is asked ([`Problem`]s), and
//!   what a failed VERIFY taught about its PIN ([`PinKnowledge`]);
//! - [`CardError`]: typed errors with stable codes, Italian and English messages
//!   (`pec_domain::DomainError`);
//! - [`guard`]: one operation per reader ([`guard::ReaderLock`]) and the last PIN try
//!   ([`guard::PinTries`]).
//!
//! ```no_run
//! use pec_card::{Pcsc, Pin};
//! # fn main() -> Result<(), pec_card::CardError> {
//! let pcsc = Pcsc::establish()?;
//! let reader = pcsc.reader_names()?.into_iter().next().ok_or(pec_card::CardError::NoReaders)?;
//! let mut card = pcsc.connect(&reader)?;
//! let cert = card.read_auth_certificate()?;
//! println!("{:?} valid until {}", cert.codice_fiscale, cert.not_after);
//! card.verify_pin(&Pin::new("12345678".to_owned())?)?;
//! let signed = card.sign_challenge(b"nonce from the provider")?;
//! # let _ = signed;
//! # Ok(()) }
//! ```
//!
//! Layering: `atr`, `cert`, `personal`, `pin`, `preflight` are pure; `transport` and `cns` need only a
//! [`RawTransmit`]; `reader` is the only module that touches PC/SC.

pub mod atr;
pub mod cert;
pub mod cie;
pub mod cns;
pub mod error;
pub mod guard;
pub mod interface;
pub mod personal;
pub mod pin;
pub mod preflight;
pub mod reader;
pub mod transport;

pub use atr::{CardKind, CardProfile, CnsInfo};
pub use cert::{Certificate, CertificateRole, ValidityStatus};
pub use cie::{CieAfterPin, CieBeforePin, CieCard, CieChip, SecureSession, VerifiedSession};
pub use cns::{AuthLayout, ChallengeSignature, CnsCard, QualifiedSignature};
pub use error::{CardError, StatusKind, StatusWord};
pub use interface::ReaderInterface;
pub use personal::PersonalData;
pub use pin::Pin;
pub use preflight::{Assessment, PinKnowledge, Problem};
pub use reader::{AnyCard, Pcsc, PcscCard, ReaderEvent, ReaderInfo, ReaderWatcher, WatchCanceller};
pub use transport::{Command, RawTransmit, Response, Transport};
