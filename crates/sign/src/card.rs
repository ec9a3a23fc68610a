//! The native signer: the classic CNS signature DF through `pec-card` (PC/SC, no middleware).
//!
//! The PIN is given when the signer is made and consumed by the first signature: a second
//! [`Signer::sign`] on the same signer fails with `card.pin_required` instead of presenting
//! the PIN again, so nothing here can retry a PIN by itself.

use pec_card::{CardError, CnsCard, Pin, RawTransmit};

use crate::cades::ToBeSigned;
use crate::error::SignError;
use crate::signer::{Signer, SignerCertificate};

/// A CNS with the classic DF_DS keyset, and the signature PIN for one signature.
pub struct CardSigner<T> {
    card: CnsCard<T>,
    pin: Option<Pin>,
    certificate: Option<pec_card::Certificate>,
}

impl<T: RawTransmit> CardSigner<T> {
    /// Wraps `card`; `pin` is the *signature* PIN, used once.
    pub fn new(card: CnsCard<T>, pin: Pin) -> CardSigner<T> {
        CardSigner {
            card,
            pin: Some(pin),
            certificate: None,
        }
    }

    /// Like [`CardSigner::new`], with the signature certificate already read
    /// ([`CnsCard::read_signature_certificate`]), so the card is not asked for it again.
    pub fn with_certificate(
        card: CnsCard<T>,
        certificate: pec_card::Certificate,
        pin: Pin,
    ) -> CardSigner<T> {
        CardSigner {
            card,
            pin: Some(pin),
            certificate: Some(certificate),
        }
    }

    /// APDUs sent to the card so far (benchmarks).
    pub fn apdu_count(&self) -> usize {
        self.card.apdu_count()
    }

    /// Gives the card back.
    pub fn into_card(self) -> CnsCard<T> {
        self.card
    }
}

impl<T> std::fmt::Debug for CardSigner<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardSigner")
            .field("pin", &self.pin.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

impl<T: RawTransmit> Signer for CardSigner<T> {
    fn certificate(&mut self) -> Result<SignerCertificate, SignError> {
        if let Some(cert) = &self.certificate {
            return Ok(SignerCertificate {
                der: cert.der.clone(),
                chain: Vec::new(),
            });
        }
        match self.card.read_signature_certificate().map_err(from_card)? {
            Some(cert) => {
                let der = cert.der.clone();
                // Kept for the signature: reading it again would cost two more APDUs.
                self.certificate = Some(cert);
                Ok(SignerCertificate {
                    der,
                    chain: Vec::new(),
                })
            }
            None => Err(SignError::NoSigningCertificate),
        }
    }

    fn sign(&mut self, tbs: &ToBeSigned) -> Result<Vec<u8>, SignError> {
        let pin = self
            .pin
            .take()
            .ok_or_else(|| from_card(CardError::PinRequired))?;
        let signed = match self.certificate.clone() {
            Some(cert) => self
                .card
                .sign_digest_for_certificate(cert, &pin, &tbs.sha256()),
            None => self
                .card
                .sign_digest_with_signature_key(&pin, &tbs.sha256()),
        }
        .map_err(from_card)?;
        Ok(signed.signature)
    }
}

/// Where what the signature PIN's attempts taught is remembered, for the card with `serial`:
/// apart from its authentication PIN (a CNS has two PINs, each with its own tries), in the
/// same store (`pec_card::preflight::PinKnowledge` by key).
pub fn signature_pin_key(serial: &str) -> String {
    format!("{serial}#firma")
}

/// What a signature attempt that ended with `r` teaches about the signature PIN, in the card
/// layer's terms (for `PinKnowledge::after`); `None` when the PIN was not judged.
pub fn pin_outcome<T>(r: &Result<T, SignError>) -> Option<Result<(), CardError>> {
    match r {
        Ok(_) => Some(Ok(())),
        Err(SignError::WrongPin {
            tries_left: Some(n),
            ..
        }) => Some(Err(CardError::WrongPin { tries_left: *n })),
        Err(SignError::PinBlocked) => Some(Err(CardError::PinBlocked)),
        Err(_) => None,
    }
}

/// The card layer's errors, PIN outcomes as this crate's own (same wording for every device).
pub fn from_card(e: CardError) -> SignError {
    match e {
        CardError::WrongPin { tries_left } => SignError::WrongPin {
            tries_left: Some(tries_left),
            final_try: tries_left == 1,
        },
        CardError::PinBlocked => SignError::PinBlocked,
        CardError::InvalidPinFormat => SignError::InvalidPinFormat,
        CardError::SignatureMismatch => SignError::SignatureMismatch,
        other => SignError::Card {
            code: other.code(),
            message_it: other.message_it(),
            message_en: other.message_en(),
        },
    }
}
