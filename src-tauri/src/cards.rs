//! The card reader panel and the card method: readers watched without polling, the
//! pre-flight check, and VERIFY + signature of the provider's challenge.
//!
//! Card I/O is blocking (PC/SC), so it runs on tokio's blocking pool. PIN rules (see
//! `crates/card`): the PIN crosses IPC once, is zeroized when the call ends, and is sent to
//! the card once; a wrong PIN comes back to the user with the tries left, never retried. The
//! tries left are learnt only from a failed VERIFY, so the pre-flight shows what the last
//! attempt on this card taught us (kept in `cards.json`, which holds no secret).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use pec_card::{CardError, CardKind, Pcsc, Pin, ReaderInfo, ValidityStatus};
use pec_domain::{CodiceFiscale, Localized};
use pec_provider::api::{CardResponse, IdentityRequestView};
use serde::{Deserialize, Serialize};
use tauri::State;
use tauri::ipc::Channel;
use zeroize::Zeroizing;

use crate::CommandError;
use crate::session::Connection;

/// PC/SC and what the app remembers about cards it has seen.
pub struct Cards {
    pcsc: std::sync::Arc<Pcsc>,
    /// Bumped by every `card_watch`; a watcher thread stops when it is no longer current.
    generation: std::sync::Arc<AtomicU64>,
    memory: Mutex<CardMemory>,
}

/// What a failed VERIFY taught us about a card, by card serial. No secret.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CardMemory {
    #[serde(skip)]
    path: PathBuf,
    cards: BTreeMap<String, PinKnowledge>,
}

/// The PIN state known from the last attempt on a card.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PinKnowledge {
    /// Tries left after the last failed VERIFY (None: no failure seen since the last success).
    pub tries_left: Option<u8>,
    /// The card answered "blocked".
    pub blocked: bool,
}

impl CardMemory {
    fn load(path: PathBuf) -> Self {
        let cards = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<BTreeMap<String, PinKnowledge>>(&b).ok())
            .unwrap_or_default();
        Self { path, cards }
    }

    fn set(&mut self, serial: &str, k: PinKnowledge) {
        if k == PinKnowledge::default() {
            self.cards.remove(serial);
        } else {
            self.cards.insert(serial.to_owned(), k);
        }
        if let Err(e) = crate::settings::write_atomic(&self.path, &self.cards) {
            tracing::warn!(error = %e, "could not save what is known about the card's PIN");
        }
    }
}

impl Cards {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            pcsc: std::sync::Arc::new(Pcsc::lazy()),
            generation: std::sync::Arc::new(AtomicU64::new(0)),
            memory: Mutex::new(CardMemory::load(data_dir.join("cards.json"))),
        }
    }

    fn remember(&self, serial: &str, k: PinKnowledge) {
        self.memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .set(serial, k);
    }

    fn known(&self, serial: &str) -> PinKnowledge {
        self.memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .cards
            .get(serial)
            .copied()
            .unwrap_or_default()
    }
}

fn card_localized(e: &CardError) -> Localized {
    Localized {
        code: e.code().to_owned(),
        message_it: e.message_it(),
        message_en: e.message_en(),
    }
}

fn card_error(e: &CardError) -> CommandError {
    CommandError::Localized(card_localized(e))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, CommandError> + Send + 'static,
) -> Result<T, CommandError> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|_| CommandError::Internal)?
}

/// A reader as the panel shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReaderView {
    pub name: String,
    /// `none`, `cns`, `cie`, `signature_token`, `unknown`.
    pub card: &'static str,
    /// Italian description of the card ("CNS 1.1 (STIncard, RSA-2048)").
    pub card_label: Option<String>,
    pub atr: Option<String>,
    /// Another application holds the card.
    pub busy: bool,
}

fn view(r: &ReaderInfo) -> ReaderView {
    let card = match r.card.as_ref().map(|c| &c.kind) {
        None => "none",
        Some(CardKind::Cns(_)) => "cns",
        Some(CardKind::Cie3 | CardKind::CieLegacy) => "cie",
        Some(CardKind::CardOs { .. }) => "signature_token",
        Some(CardKind::Unknown) => "unknown",
    };
    ReaderView {
        name: r.name.clone(),
        card,
        card_label: r
            .card
            .as_ref()
            .map(|c| c.label.map_or_else(|| c.describe(), str::to_owned)),
        atr: r.card.as_ref().map(|c| c.atr.clone()),
        busy: r.exclusive,
    }
}

/// What the panel receives: the readers, or why there are none.
#[derive(Debug, Clone, Serialize)]
pub struct ReadersUpdate {
    pub readers: Vec<ReaderView>,
    pub error: Option<Localized>,
}

fn snapshot(pcsc: &Pcsc) -> ReadersUpdate {
    match pcsc.readers() {
        Ok(list) => ReadersUpdate {
            readers: list.iter().map(view).collect(),
            error: None,
        },
        Err(e) => ReadersUpdate {
            readers: Vec::new(),
            error: Some(card_localized(&e)),
        },
    }
}

/// The readers now.
#[tauri::command]
pub async fn card_readers(cards: State<'_, Cards>) -> Result<ReadersUpdate, CommandError> {
    let pcsc = cards.pcsc.clone();
    blocking(move || Ok(snapshot(&pcsc))).await
}

/// Sends the readers on `channel` now and after every change (reader or card in or out),
/// until the next `card_watch` or `card_unwatch`, or until the window is gone. PC/SC wakes
/// the watcher; the timeout only lets it notice that it was stopped.
#[tauri::command]
pub fn card_watch(cards: State<'_, Cards>, channel: Channel<ReadersUpdate>) {
    let mine = cards.generation.fetch_add(1, Ordering::SeqCst) + 1;
    let generation = cards.generation.clone();
    let pcsc = cards.pcsc.clone();
    std::thread::spawn(move || {
        let current = || generation.load(Ordering::SeqCst) == mine;
        let mut last: Option<Vec<ReaderView>> = None;
        while current() {
            let update = snapshot(&pcsc);
            if last.as_ref() != Some(&update.readers) || update.error.is_some() {
                last = Some(update.readers.clone());
                let failed = update.error.is_some();
                if channel.send(update).is_err() {
                    return;
                }
                if failed {
                    // No service: try again shortly (pcscd may be starting or restarting).
                    std::thread::sleep(Duration::from_secs(2));
                    last = None;
                    continue;
                }
            }
            match pcsc.watcher() {
                Ok(mut w) => {
                    // Wait for changes; wake up every 2 s to see whether to stop.
                    loop {
                        if !current() {
                            return;
                        }
                        match w.wait(Some(Duration::from_secs(2))) {
                            Ok(events) if events.is_empty() => continue,
                            Ok(_) | Err(_) => break,
                        }
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_secs(2)),
            }
        }
    });
}

/// Stops the watcher (the card step was left).
#[tauri::command]
pub fn card_unwatch(cards: State<'_, Cards>) {
    cards.generation.fetch_add(1, Ordering::SeqCst);
}

/// The pre-flight check: whose card it is and whether it will work, before the provider.
#[derive(Debug, Clone, Serialize)]
pub struct CardCheck {
    pub reader: String,
    pub card_label: String,
    pub serial: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub tax_code: Option<String>,
    pub issuer: Option<String>,
    pub not_after: String,
    /// `valid`, `expired`, `not_yet_valid`.
    pub certificate: &'static str,
    /// Whether the card's codice fiscale is the declared one (None: nothing declared).
    pub tax_code_matches: Option<bool>,
    pub pin: PinKnowledge,
    /// Why the card cannot be used (empty: go ahead).
    pub problems: Vec<Localized>,
}

fn problem(code: &str, it: String, en: String) -> Localized {
    Localized {
        code: code.to_owned(),
        message_it: it,
        message_en: en,
    }
}

/// Reads the card (no PIN) and checks it against the codice fiscale declared in the wizard.
#[tauri::command]
pub async fn card_preflight(
    cards: State<'_, Cards>,
    reader: String,
    declared_tax_code: Option<String>,
) -> Result<CardCheck, CommandError> {
    let pcsc = cards.pcsc.clone();
    let (mut check, serial) = blocking(move || {
        let mut card = pcsc.connect(&reader).map_err(|e| card_error(&e))?;
        let label = card.profile().describe();
        let serial = card.read_serial().ok();
        let cert = card.read_auth_certificate().map_err(|e| card_error(&e))?;
        let certificate = match cert.validity_at(SystemTime::now()) {
            ValidityStatus::Valid => "valid",
            ValidityStatus::Expired => "expired",
            ValidityStatus::NotYetValid => "not_yet_valid",
        };
        Ok((
            CardCheck {
                reader,
                card_label: label,
                serial: serial.clone(),
                given_name: cert.given_name.clone(),
                surname: cert.surname.clone(),
                tax_code: cert.codice_fiscale.clone(),
                issuer: cert.issuer_name.clone(),
                not_after: cert.not_after.clone(),
                certificate,
                tax_code_matches: None,
                pin: PinKnowledge::default(),
                problems: Vec::new(),
            },
            serial,
        ))
    })
    .await?;
    if let Some(serial) = &serial {
        check.pin = cards.known(serial);
    }
    let declared = declared_tax_code
        .as_deref()
        .and_then(|d| CodiceFiscale::parse(d).ok());
    match (&check.tax_code, &declared) {
        (None, _) => check.problems.push(problem(
            "card.no_tax_code",
            "Il certificato della carta non contiene un codice fiscale: il fornitore non potrebbe riconoscerti con questa carta.".into(),
            "The card's certificate holds no codice fiscale: the provider could not identify you with this card.".into(),
        )),
        (Some(cf), Some(d)) => {
            let same = cf.eq_ignore_ascii_case(d.as_str());
            check.tax_code_matches = Some(same);
            if !same {
                check.problems.push(problem(
                    "card.tax_code_mismatch",
                    format!("Questa carta è di {cf}, ma il codice fiscale indicato è {}. Inserisci la carta del titolare o correggi i dati.", d.as_str()),
                    format!("This card belongs to {cf}, but the declared codice fiscale is {}. Insert the holder's card or correct the data.", d.as_str()),
                ));
            }
        }
        (Some(_), None) => {}
    }
    match check.certificate {
        "expired" => check.problems.push(problem(
            "card.certificate_expired",
            format!("Il certificato della carta è scaduto il {}. Rinnova la carta presso chi l'ha emessa o scegli un altro metodo.", day(&check.not_after)),
            format!("The card's certificate expired on {}. Renew the card with its issuer or choose another method.", day(&check.not_after)),
        )),
        "not_yet_valid" => check.problems.push(problem(
            "card.certificate_not_yet_valid",
            "Il certificato della carta non è ancora valido: controlla la data del computer.".into(),
            "The card's certificate is not valid yet: check the computer's date.".into(),
        )),
        _ => {}
    }
    if check.pin.blocked {
        check.problems.push(problem(
            "card.pin_blocked",
            "Il PIN di questa carta è bloccato. Sbloccalo con il PUK (ad esempio con `pec card unblock` o il programma di chi ha emesso la carta), poi riprova.".into(),
            "This card's PIN is blocked. Unblock it with the PUK (for instance with `pec card unblock` or the issuer's program), then try again.".into(),
        ));
    }
    Ok(check)
}

fn day(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
}

/// Identifies with the card: the provider's challenge, VERIFY (once) and the signature, then
/// the provider's answer. A wrong PIN comes back as `card.pin_wrong` with the tries left.
#[tauri::command]
pub async fn card_identify(
    conn: State<'_, Connection>,
    cards: State<'_, Cards>,
    id: String,
    reader: String,
    pin: Zeroizing<String>,
) -> Result<IdentityRequestView, CommandError> {
    let pin = Pin::new(pin.to_string()).map_err(|e| card_error(&e))?;
    // The card signs a message built here (prefix, provider origin, request id, 32-byte
    // nonce), never the provider's bytes as they are (pec_provider::card_message).
    let challenge = {
        let id = id.as_str();
        conn.authed(move |c| c.card_challenge_to_sign(id)).await?
    };
    let bytes = challenge.message;
    let pcsc = cards.pcsc.clone();
    let (serial, signed) = blocking(move || {
        // A second identification on this reader while one runs (a double submit) is refused
        // before it can send its own VERIFY (L3).
        let _one_at_a_time =
            pec_card::guard::ReaderLock::try_acquire(&reader).map_err(|e| card_error(&e))?;
        let mut card = pcsc.connect(&reader).map_err(|e| card_error(&e))?;
        let serial = card.read_serial().ok();
        let signed = card.verify_pin_and_sign(&pin, &bytes);
        drop(pin);
        Ok((serial, signed))
    })
    .await?;
    let signed = match signed {
        Ok(s) => {
            if let Some(serial) = &serial {
                cards.remember(serial, PinKnowledge::default());
            }
            s
        }
        Err(e) => {
            if let Some(serial) = &serial {
                match e {
                    CardError::WrongPin { tries_left } => cards.remember(
                        serial,
                        PinKnowledge {
                            tries_left: Some(tries_left),
                            blocked: false,
                        },
                    ),
                    CardError::PinBlocked => cards.remember(
                        serial,
                        PinKnowledge {
                            tries_left: Some(0),
                            blocked: true,
                        },
                    ),
                    _ => {}
                }
            }
            tracing::info!(code = e.code(), "card identification failed on the card");
            return Err(card_error(&e));
        }
    };
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let response = CardResponse {
        challenge_id: challenge.challenge_id,
        certificate_chain: vec![b64(&signed.certificate.der)],
        signature: b64(&signed.signature),
    };
    let id = id.as_str();
    let response = &response;
    conn.authed(move |c| c.card_response(id, response)).await
}
