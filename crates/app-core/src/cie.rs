//! The CIE (Carta d'Identità Elettronica 3.0) in the wizard: with the computer's NFC reader,
//! or with the CieID app on the phone.
//!
//! With a reader (`pec_card::cie`, no middleware, no pairing):
//! 1. [`preflight`], before the PIN: what the reader is (contact or contactless), whether the
//!    card is a CIE at all (its applications, not its ATR), its NIS, and what earlier attempts
//!    taught about its PIN (kept by NIS in `cards.json`, no secret);
//! 2. [`identify`], on the holder's click: the 8-digit PIN checked here first (a malformed PIN
//!    never reaches the card), the provider's nonce turned into the domain-separated message
//!    (`pec_provider::card_message`), then in one PC/SC transaction: secure channel, VERIFY
//!    once, the certificate, **the check against the declared holder** (the certificate is
//!    readable only after the PIN) and only then the signature. A CIE of someone else, or one
//!    whose certificate expired, stops there: no signature is made and nothing about the card
//!    goes to the provider. A card lifted from the reader is `card.cie_lost` (with "one try
//!    may have been used" when the VERIFY was in flight); nothing is ever re-sent by itself:
//!    the next attempt is the holder's click, and opens a new secure channel.
//!
//! Without a reader: [`cieid_start`] asks the provider for its "Entra con CIE" web login,
//! kept like the SPID page (same origin as the provider's API, else refused), opened in the
//! system browser by the front end through [`cieid_page`]; [`cieid_poll`] follows it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use pec_card::guard::{LastTry, PinTries};
use pec_card::{CardError, PinKnowledge, ReaderInterface};
use pec_domain::{DomainError, Localized};
use pec_provider::api::{CieIdPoll, HolderData, IdentityRequestView};
use serde::Serialize;

use crate::error::refusal;
use crate::{AppError, Core, Result, blocking, qr};

/// How the card talks to the reader, as the panel shows it.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ReaderLink {
    Contact,
    Contactless,
    Unknown,
}

impl From<ReaderInterface> for ReaderLink {
    fn from(i: ReaderInterface) -> Self {
        match i {
            ReaderInterface::Contact => ReaderLink::Contact,
            ReaderInterface::Contactless => ReaderLink::Contactless,
            ReaderInterface::Unknown => ReaderLink::Unknown,
        }
    }
}

/// The CIE's pre-flight: what can be known before the PIN.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct CieCheck {
    pub reader: String,
    pub link: ReaderLink,
    /// The card answered as a CIE (its IAS and CIE applications).
    pub is_cie: bool,
    /// "CIE 3.0 (NXP)", or what the card is when it is not a CIE.
    pub card_label: String,
    /// Numero Identificativo per i Servizi (EF.ID_Servizi), readable without PIN.
    pub nis: Option<String>,
    pub pin: PinKnowledge,
    /// Why the card cannot be used now (empty: ask for the PIN).
    pub problems: Vec<Localized>,
}

fn memory_key(nis: &str) -> String {
    format!("cie:{nis}")
}

fn chip_name(chip: Option<pec_card::CieChip>) -> &'static str {
    use pec_card::CieChip::*;
    match chip {
        Some(Nxp) => "NXP",
        Some(Gemalto) => "Gemalto",
        Some(Stm) => "STMicroelectronics",
        Some(ActalisBit4id) => "Actalis / Bit4id",
        Some(Generic) | None => "",
    }
}

fn not_a_cie() -> Localized {
    Localized::new(
        "cie.not_a_cie",
        "La carta sul lettore non è una Carta d'Identità Elettronica (CIE 3.0). Per una CNS o \
         una carta di firma torna indietro e scegli il metodo della tua carta.",
        "The card on the reader is not an Italian electronic identity card (CIE 3.0). For a \
         CNS or a signature card, go back and choose your card's method.",
    )
}

fn contact_reader() -> Localized {
    Localized::new(
        "cie.contact_reader",
        ReaderInterface::Contact.instruction_it(true),
        ReaderInterface::Contact.instruction_en(true),
    )
}

/// Reads the card on `reader` without PIN: is it a CIE, which, on what kind of reader.
pub async fn preflight(core: &Core, reader: String) -> Result<CieCheck> {
    let pcsc = core.cards.pcsc.clone();
    let (link, label, nis) = blocking(move || {
        let raw = pcsc.connect_raw(&reader).map_err(AppError::from)?;
        let atr = raw.atr().to_vec();
        let link = ReaderInterface::classify(&reader, Some(&atr));
        match pec_card::CieCard::detect(raw, &atr) {
            Ok(mut card) => {
                let before = card.before_pin().map_err(AppError::from)?;
                let chip = chip_name(before.chip);
                let label = if chip.is_empty() {
                    "CIE 3.0".to_owned()
                } else {
                    format!("CIE 3.0 ({chip})")
                };
                Ok(((reader, link), label, Some(before.nis)))
            }
            Err(CardError::UnsupportedCard { description, .. }) => {
                Ok(((reader, link), description, None))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await?;
    let (reader, link) = link;
    let pin = nis
        .as_deref()
        .map(|n| core.cards.known(&memory_key(n)))
        .unwrap_or_default();
    let mut problems = Vec::new();
    if nis.is_none() {
        problems.push(not_a_cie());
    } else {
        if link == ReaderInterface::Contact {
            problems.push(contact_reader());
        }
        if pin.blocked {
            problems.push(pec_card::Problem::PinBlocked.to_localized());
        }
    }
    Ok(CieCheck {
        reader,
        link: link.into(),
        is_cie: nis.is_some(),
        card_label: label,
        nis,
        pin,
        problems,
    })
}

/// The codice fiscale the card must carry: the legal representative's for a company, else
/// the holder's, as the provider has it (not as a front end says).
fn declared_tax_code(request: &IdentityRequestView) -> Option<String> {
    match &request.draft.as_ref()?.holder {
        HolderData::Company {
            legal_representative,
            ..
        } => legal_representative.as_ref().map(|p| p.tax_code.clone()),
        HolderData::Professional { tax_code, .. } | HolderData::PrivateCitizen { tax_code, .. } => {
            Some(tax_code.clone())
        }
    }
}

/// The problems of the holder check, as one error: the first one's code, every message.
fn stopped_before_the_provider(problems: &[pec_card::Problem]) -> AppError {
    let localized: Vec<Localized> = problems.iter().map(DomainError::to_localized).collect();
    let join = |f: fn(&Localized) -> &str| localized.iter().map(f).collect::<Vec<_>>().join(" ");
    let code = localized
        .first()
        .map_or("card.tax_code_mismatch", |l| l.code.as_str());
    AppError::Localized(Localized::new(
        code,
        join(|l| l.message_it.as_str()),
        join(|l| l.message_en.as_str()),
    ))
}

/// Identifies with the CIE on `reader` for request `id`: VERIFY once, the holder check, the
/// signature, then the provider's answer. Never retried. When the last attempt on this card
/// (by its NIS) left one try, nothing is sent to the card unless `confirm_last_try` says the
/// holder accepted the risk (`card.pin_last_try` otherwise), as for the CNS.
pub async fn identify(
    core: &Core,
    id: &str,
    reader: String,
    pin: &str,
    confirm_last_try: bool,
) -> Result<IdentityRequestView> {
    // Exactly 8 digits, checked before anything happens: a malformed PIN costs no try.
    if pin.len() != 8 || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CardError::InvalidCiePinFormat.into());
    }
    let pin = pec_card::Pin::new(pin.to_owned())?;
    let request = core.conn.authed(move |c| c.identity_request(id)).await?;
    let declared = declared_tax_code(&request);
    // The only call to the provider before the holder check: its nonce. Nothing about the
    // card goes out until the check has passed.
    let challenge = core
        .conn
        .authed(move |c| c.card_challenge_to_sign(id))
        .await?;
    let signed = sign_on_cie(
        core,
        reader,
        pin,
        challenge.message,
        declared,
        confirm_last_try,
    )
    .await?;
    crate::cards::send_response(core, id, challenge.challenge_id, &signed).await
}

/// The card's part of [`identify`]: the last-try guard on the CIE actually on the reader (by
/// its NIS, read without PIN), VERIFY once, the holder check on the certificate, and only then
/// the signature of `message`; what the attempt teaches about the PIN remembered.
pub(crate) async fn sign_on_cie(
    core: &Core,
    reader: String,
    pin: pec_card::Pin,
    message: Vec<u8>,
    declared: Option<String>,
    confirm_last_try: bool,
) -> Result<pec_card::ChallengeSignature> {
    let confirmation = if confirm_last_try {
        LastTry::Confirmed
    } else {
        LastTry::NotConfirmed
    };
    let memory = core.cards.snapshot();
    let pcsc = core.cards.pcsc.clone();
    let (nis, stopped, signed) = blocking(move || {
        // A second identification on this reader while one runs is refused before it can
        // send its own VERIFY; held until the signature is done.
        let _one_at_a_time = pec_card::guard::ReaderLock::try_acquire(&reader)?;
        let mut card = pcsc.connect_cie(&reader).map_err(AppError::from)?;
        let nis = card.read_nis().ok();
        // Checked on the card actually on the reader, right before VERIFY.
        let known = nis
            .as_deref()
            .and_then(|n| memory.get(&memory_key(n)))
            .copied()
            .unwrap_or_default();
        if let Err(e) = PinTries::of(known).allow(confirmation) {
            tracing::info!(code = e.code(), "CIE identification held before VERIFY");
            return Err(e.into());
        }
        let mut stopped: Option<Vec<pec_card::Problem>> = None;
        let signed = card.verify_pin_and_sign(&pin, &message, |after| {
            let found = pec_card::preflight::assess(
                &after.certificate,
                declared.as_deref(),
                PinKnowledge::default(),
                SystemTime::now(),
            );
            if found.problems.is_empty() {
                Ok(())
            } else {
                stopped = Some(found.problems);
                Err(CardError::Cancelled)
            }
        });
        drop(pin);
        Ok((nis, stopped, signed))
    })
    .await?;
    let key = nis.as_deref().map(memory_key);
    if let Some(problems) = stopped {
        // The PIN was right (the check comes after VERIFY): the card's counter is full again.
        core.cards.learn(key.as_deref(), &Ok::<(), CardError>(()));
        tracing::info!(
            code = problems.first().map(DomainError::code),
            "CIE stopped before the provider"
        );
        return Err(stopped_before_the_provider(&problems));
    }
    core.cards.learn(key.as_deref(), &signed);
    signed
        .inspect_err(|e| {
            tracing::info!(code = e.code(), "CIE identification failed on the card");
        })
        .map_err(Into::into)
}

// ---------------------------------------------------------------------------------------------
// CieID

/// "Entra con CIE" pages handed out by the provider, by request: only these can be opened.
#[derive(Default)]
pub struct CieIdPages(Mutex<HashMap<String, String>>);

/// A CieID login as the front end sees it: the page opened in the browser, and the QR code
/// of the CieID app's page, for a phone.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct CieIdStart {
    pub handle: String,
    pub login_url: String,
    pub expires_at: DateTime<Utc>,
    pub qr_svg: String,
}

/// Starts a CieID login for request `id`. Both pages must be the provider's own (same scheme,
/// host and port as its API), or the login is refused.
pub async fn cieid_start(core: &Core, id: &str) -> Result<CieIdStart> {
    let login = core.conn.authed(move |c| c.start_cieid(id)).await?;
    let provider =
        url::Url::parse(&core.conn.provider().await?.base_url()).map_err(|_| AppError::Internal)?;
    for page in [&login.login_url, &login.phone_url] {
        let page = url::Url::parse(page).map_err(|_| AppError::Internal)?;
        if page.origin() != provider.origin() {
            return Err(refusal(
                "cieid.foreign_page",
                "Il fornitore ha indicato una pagina di accesso CIE su un altro sito: per sicurezza non viene aperta.",
                "The provider gave a CIE login page on another site: for safety it is not opened.",
            ));
        }
    }
    crate::lock(&core.cieid.0).insert(id.to_owned(), login.login_url.clone());
    Ok(CieIdStart {
        qr_svg: qr::svg(&login.phone_url)?,
        handle: login.handle,
        login_url: login.login_url,
        expires_at: login.expires_at,
    })
}

/// The "Entra con CIE" page handed out for request `id`, the only one the front end may open.
pub fn cieid_page(core: &Core, id: &str) -> Result<String> {
    crate::lock(&core.cieid.0).get(id).cloned().ok_or_else(|| {
        refusal(
            "cieid.not_started",
            "Avvia prima l'accesso con CIE.",
            "Start the CIE login first.",
        )
    })
}

/// The refusal when the system browser cannot be opened.
pub fn browser_unavailable() -> AppError {
    refusal(
        "cieid.browser_unavailable",
        "Non è stato possibile aprire il browser. Inquadra il codice QR con l'app CieID sul telefono.",
        "The browser could not be opened. Scan the QR code with the CieID app on your phone.",
    )
}

pub async fn cieid_poll(core: &Core, id: &str, handle: &str) -> Result<CieIdPoll> {
    core.conn.authed(move |c| c.poll_cieid(id, handle)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_of_the_holder_check_keep_the_first_code_and_every_message() {
        let e = stopped_before_the_provider(&[
            pec_card::Problem::TaxCodeMismatch {
                card: "BNCGLI85C55F205C".into(),
                declared: "RSSMRA80A01H501U".into(),
            },
            pec_card::Problem::CertificateNotYetValid,
        ]);
        let l = e.to_localized();
        assert_eq!(l.code, "card.tax_code_mismatch");
        assert!(
            l.message_it.contains("BNCGLI85C55F205C"),
            "{}",
            l.message_it
        );
        assert!(
            l.message_it.contains("RSSMRA80A01H501U"),
            "{}",
            l.message_it
        );
    }

    #[test]
    fn the_pin_of_a_cie_is_remembered_by_its_nis_apart_from_cns_serials() {
        assert_eq!(memory_key("123456789012"), "cie:123456789012");
    }
}
