//! The card reader panel and the card method: readers watched without polling, the pre-flight
//! check (`pec_card::preflight`), and VERIFY + signature of the provider's challenge.
//!
//! Card I/O is blocking (PC/SC), so it runs off the async runtime. PIN rules (see
//! `crates/card`): the PIN is zeroized when the call ends and sent to the card once; a wrong
//! PIN comes back to the user with the tries left, never retried. The tries left are learnt
//! only from a failed VERIFY, so the pre-flight shows what the last attempt on this card
//! taught ([`PinKnowledge`], kept in `cards.json` by card serial; no secret).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use pec_card::guard::{LastTry, PinTries};
use pec_card::{CardError, CardKind, Pcsc, Pin, PinKnowledge, ReaderInfo};
use pec_domain::{DomainError, Localized};
use pec_provider::api::{CardResponse, IdentityRequestView};
use serde::Serialize;

use crate::{AppError, Core, Result, blocking};

/// PC/SC and what the app remembers about cards it has seen.
pub struct Cards {
    pub(crate) pcsc: Arc<Pcsc>,
    /// Bumped by every watch; a watcher thread stops when it is no longer current.
    generation: Arc<AtomicU64>,
    memory: Mutex<CardMemory>,
}

/// What failed VERIFYs taught, by card serial, and the file it is kept in.
#[derive(Debug, Default)]
struct CardMemory {
    path: PathBuf,
    cards: BTreeMap<String, PinKnowledge>,
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
    /// The PC/SC context, shared with the signature flow (`crate::signature`).
    pub(crate) fn pcsc(&self) -> Arc<Pcsc> {
        Arc::clone(&self.pcsc)
    }

    pub fn new(data_dir: &Path) -> Self {
        Self {
            pcsc: Arc::new(Pcsc::lazy()),
            generation: Arc::new(AtomicU64::new(0)),
            memory: Mutex::new(CardMemory::load(data_dir.join("cards.json"))),
        }
    }

    pub(crate) fn known(&self, serial: &str) -> PinKnowledge {
        crate::lock(&self.memory)
            .cards
            .get(serial)
            .copied()
            .unwrap_or_default()
    }

    /// Everything known, for a check made away from the lock (on the blocking thread).
    pub(crate) fn snapshot(&self) -> BTreeMap<String, PinKnowledge> {
        crate::lock(&self.memory).cards.clone()
    }

    /// Remembers what an attempt on the card with `serial` taught about its PIN.
    pub(crate) fn learn<T>(
        &self,
        serial: Option<&str>,
        outcome: &std::result::Result<T, CardError>,
    ) {
        if let (Some(serial), Some(k)) = (serial, PinKnowledge::after(outcome)) {
            crate::lock(&self.memory).set(serial, k);
        }
    }
}

/// A reader as the panel shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct ReaderView {
    pub name: String,
    pub card: CardType,
    /// Italian name of the card for the holder ("Carta Nazionale dei Servizi (STIncard)").
    pub card_label: Option<String>,
    pub atr: Option<String>,
    /// Another application holds the card.
    pub busy: bool,
    /// Contact slot or NFC antenna: what the holder must do with the card.
    pub link: crate::cie::ReaderLink,
}

/// What is in a reader, as far as the panel cares.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CardType {
    None,
    Cns,
    Cie,
    SignatureToken,
    Unknown,
}

fn view(r: &ReaderInfo) -> ReaderView {
    let card = match r.card.as_ref().map(|c| &c.kind) {
        None => CardType::None,
        Some(CardKind::Cns(_)) => CardType::Cns,
        Some(CardKind::Cie3 | CardKind::CieLegacy) => CardType::Cie,
        Some(CardKind::CardOs { .. }) => CardType::SignatureToken,
        Some(CardKind::Unknown) => CardType::Unknown,
    };
    ReaderView {
        name: r.name.clone(),
        card,
        card_label: r
            .card
            .as_ref()
            .map(|c| c.label.map_or_else(|| c.holder_label(), str::to_owned)),
        atr: r.card.as_ref().map(|c| c.atr.clone()),
        busy: r.exclusive,
        link: r.interface.into(),
    }
}

/// What the panel receives: the readers, or why there are none.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
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
            error: Some(e.to_localized()),
        },
    }
}

/// The readers now.
pub async fn readers(core: &Core) -> Result<ReadersUpdate> {
    let pcsc = core.cards.pcsc.clone();
    blocking(move || Ok(snapshot(&pcsc))).await
}

/// Sends the readers to `send` now and after every change (reader or card in or out), until
/// the next watch or [`unwatch`], or until `send` says nobody listens (returns false). PC/SC
/// wakes the watcher; the timeout only lets it notice that it was stopped.
pub fn watch(core: &Core, send: impl Fn(ReadersUpdate) -> bool + Send + 'static) {
    let cards = &core.cards;
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
                if !send(update) {
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
                Ok(mut w) => loop {
                    // Wait for changes; wake up every 2 s to see whether to stop.
                    if !current() {
                        return;
                    }
                    match w.wait(Some(Duration::from_secs(2))) {
                        Ok(events) if events.is_empty() => continue,
                        Ok(_) | Err(_) => break,
                    }
                },
                Err(_) => std::thread::sleep(Duration::from_secs(2)),
            }
        }
    });
}

/// Stops the watcher (the card step was left).
pub fn unwatch(core: &Core) {
    core.cards.generation.fetch_add(1, Ordering::SeqCst);
}

/// The pre-flight check: whose card it is and whether it will work, before the provider.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct CardCheck {
    pub reader: String,
    pub card_label: String,
    pub serial: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub tax_code: Option<String>,
    pub issuer: Option<String>,
    /// The end of the certificate's validity, RFC 3339.
    pub not_after: String,
    pub certificate: pec_card::ValidityStatus,
    /// Whether the card's codice fiscale is the declared one (None: nothing declared).
    pub tax_code_matches: Option<bool>,
    pub pin: PinKnowledge,
    /// Why the card cannot be used (empty: go ahead).
    pub problems: Vec<Localized>,
}

/// Reads the card (no PIN) and checks it against the codice fiscale declared in the wizard.
pub async fn preflight(core: &Core, reader: String, declared: Option<String>) -> Result<CardCheck> {
    let pcsc = core.cards.pcsc.clone();
    let (label, serial, cert) = blocking(move || {
        let mut card = pcsc.connect(&reader).map_err(AppError::from)?;
        let label = card.profile().holder_label();
        let serial = card.read_serial().ok();
        let cert = card.read_auth_certificate().map_err(AppError::from)?;
        Ok(((reader, label), serial, cert))
    })
    .await?;
    let pin = serial
        .as_deref()
        .map(|s| core.cards.known(s))
        .unwrap_or_default();
    let found = pec_card::preflight::assess(&cert, declared.as_deref(), pin, SystemTime::now());
    Ok(CardCheck {
        reader: label.0,
        card_label: label.1,
        serial,
        given_name: cert.given_name,
        surname: cert.surname,
        tax_code: cert.codice_fiscale,
        issuer: cert.issuer_name,
        not_after: cert.not_after,
        certificate: found.validity,
        tax_code_matches: found.tax_code_matches,
        pin,
        problems: found
            .problems
            .iter()
            .map(DomainError::to_localized)
            .collect(),
    })
}

/// Identifies with the card: the provider's challenge turned into the domain-separated message
/// the card signs, VERIFY (once) and the signature in one PC/SC transaction while this reader
/// is held for this identification alone, then the provider's answer. A wrong PIN comes back as `card.pin_wrong`
/// with the tries left, and is remembered for the next pre-flight. When the last attempt on
/// this card left one try, nothing is sent to the card unless `confirm_last_try` says the
/// holder accepted the risk (`card.pin_last_try` otherwise: "se il PIN è errato la carta si
/// blocca").
pub async fn identify(
    core: &Core,
    id: &str,
    reader: String,
    pin: &str,
    confirm_last_try: bool,
) -> Result<IdentityRequestView> {
    let pin = Pin::new(pin.to_owned())?;
    // The card signs a message built by the client (prefix, provider origin, request id,
    // 32-byte nonce), never the provider's bytes as they are (pec_provider::card_message, M1).
    let challenge = core
        .conn
        .authed(move |c| c.card_challenge_to_sign(id))
        .await?;
    let signed = sign_on_card(core, reader, pin, challenge.message, confirm_last_try).await?;
    send_response(core, id, challenge.challenge_id, &signed).await
}

/// Sends the provider the card's answer to challenge `challenge_id` of request `id`: the
/// certificate and the signature, as the CNS and the CIE both give them.
pub(crate) async fn send_response(
    core: &Core,
    id: &str,
    challenge_id: String,
    signed: &pec_card::ChallengeSignature,
) -> Result<IdentityRequestView> {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let response = CardResponse {
        challenge_id,
        certificate_chain: vec![b64(&signed.certificate.der)],
        signature: b64(&signed.signature),
    };
    let response = &response;
    core.conn
        .authed(move |c| c.card_response(id, response))
        .await
}

/// VERIFY and the signature of `message` on the card in `reader`, behind the last-try guard
/// (`pec_card::guard::PinTries`, from what this card's last attempt taught), and what the
/// attempt teaches remembered.
async fn sign_on_card(
    core: &Core,
    reader: String,
    pin: Pin,
    message: Vec<u8>,
    confirm_last_try: bool,
) -> Result<pec_card::ChallengeSignature> {
    let confirmation = if confirm_last_try {
        LastTry::Confirmed
    } else {
        LastTry::NotConfirmed
    };
    let memory = core.cards.snapshot();
    let pcsc = core.cards.pcsc.clone();
    let (serial, signed) = blocking(move || {
        // A second identification on this reader while one runs (a double submit) is refused
        // before it can send its own VERIFY (L3); the lock is held until the signature is done.
        let _one_at_a_time = pec_card::guard::ReaderLock::try_acquire(&reader)?;
        let mut card = pcsc.connect(&reader).map_err(AppError::from)?;
        let serial = card.read_serial().ok();
        // Checked on the card actually in the reader (by its serial), right before VERIFY.
        let known = serial
            .as_deref()
            .and_then(|s| memory.get(s))
            .copied()
            .unwrap_or_default();
        if let Err(e) = PinTries::of(known).allow(confirmation) {
            tracing::info!(code = e.code(), "card identification held before VERIFY");
            return Err(e.into());
        }
        let signed = card.verify_pin_and_sign(&pin, &message);
        drop(pin);
        Ok((serial, signed))
    })
    .await?;
    core.cards.learn(serial.as_deref(), &signed);
    signed
        .inspect_err(|e| {
            tracing::info!(code = e.code(), "card identification failed on the card");
        })
        .map_err(Into::into)
}

/// Through the real PC/SC stack (pcscd + vpcd + the virtual card): needs the rig
/// (`PEC_PCSC_RIG=1`, scripts/rig/pcsc.sh), fails without it.
#[cfg(test)]
mod rig_tests {
    use std::time::{Duration, Instant};

    use pec_card_sim::{DEFAULT_PIN, ProfileName, SimCard, SimOptions, vpcd_reader_name};

    use super::*;

    fn card_in_reader(profile: ProfileName) -> (SimCard, String) {
        sim_in_reader(SimOptions::new(profile))
    }

    fn sim_in_reader(options: SimOptions) -> (SimCard, String) {
        assert_eq!(
            std::env::var("PEC_PCSC_RIG").as_deref(),
            Ok("1"),
            "this test needs pcscd with vsmartcard-vpcd: run it through scripts/test.sh or \
             `. scripts/rig/pcsc.sh && pcsc_rig_with DIR cargo test -p pec-app-core`"
        );
        let sim = SimCard::start(options).expect("virtual card");
        assert!(
            sim.wait_powered(Duration::from_secs(15)),
            "vpcd powered the card"
        );
        let reader = vpcd_reader_name(0);
        let pcsc = Pcsc::establish().expect("pcsc");
        let limit = Instant::now() + Duration::from_secs(15);
        while !pcsc
            .readers()
            .is_ok_and(|l| l.iter().any(|r| r.name == reader && r.card.is_some()))
        {
            assert!(Instant::now() < limit, "pcscd saw no card in {reader}");
            std::thread::sleep(Duration::from_millis(100));
        }
        (sim, reader)
    }

    fn verifies(sim: &SimCard) -> usize {
        sim.apdu_log().iter().filter(|r| r.ins == 0x20).count()
    }

    /// L3's UI half: a card whose last attempt left one try gets no VERIFY until the holder
    /// confirms; confirmed, the PIN goes once and the card signs.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_last_try_is_sent_only_once_the_holder_confirmed() {
        let (sim, reader) = card_in_reader(ProfileName::LastTry);
        let serial = ProfileName::LastTry.profile().serial;
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        // What the failed attempt before taught: one try left.
        std::fs::write(
            data.join("cards.json"),
            format!(r#"{{"{serial}":{{"tries_left":1,"blocked":false}}}}"#),
        )
        .unwrap();
        let core = Core::new(
            crate::Dirs {
                config: tmp.path().join("config"),
                data,
                log: tmp.path().join("logs"),
            },
            None,
        );
        let pin = || Pin::new(DEFAULT_PIN.to_owned()).unwrap();
        let message = vec![0x5A; 32];
        sim.clear_apdu_log();

        let e = sign_on_card(&core, reader.clone(), pin(), message.clone(), false)
            .await
            .unwrap_err();
        assert_eq!(e.to_localized().code, "card.pin_last_try");
        assert!(e.to_localized().message_it.contains("la carta si"));
        assert_eq!(verifies(&sim), 0, "no VERIFY without the confirmation");

        let signed = sign_on_card(&core, reader.clone(), pin(), message, true)
            .await
            .expect("confirmed: VERIFY and signature");
        assert!(!signed.signature.is_empty());
        assert_eq!(verifies(&sim), 1, "the PIN went once");
        // The right PIN restored the tries: no confirmation next time.
        assert_eq!(core.cards.known(serial), PinKnowledge::default());
    }

    /// The signature PIN (DF_DS) has its own tries and its own last-try guard: wrong signature
    /// PINs are remembered under its key, not the authentication PIN's; on its last try no
    /// VERIFY goes without the holder's confirmation; the right PIN restores it.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_signature_pin_has_its_own_last_try_guard() {
        use crate::signature::sign_form_on_card;
        use pec_sign::card::signature_pin_key;
        let (sim, reader) = card_in_reader(ProfileName::Stincard2048);
        let serial = ProfileName::Stincard2048.profile().serial;
        let key = signature_pin_key(serial);
        let tmp = tempfile::tempdir().unwrap();
        let core = Core::new(
            crate::Dirs {
                config: tmp.path().join("config"),
                data: tmp.path().join("data"),
                log: tmp.path().join("logs"),
            },
            None,
        );
        let form = b"%PDF-1.7 modulo".to_vec();
        let pin = |p: &str| Pin::new(p.to_owned()).unwrap();
        for left in [2, 1] {
            let e = sign_form_on_card(&core, reader.clone(), pin("99999999"), form.clone(), false)
                .await
                .unwrap_err();
            assert_eq!(e.to_localized().code, "sign.pin_wrong");
            assert_eq!(core.cards.known(&key).tries_left, Some(left));
        }
        assert_eq!(core.cards.known(serial), PinKnowledge::default());

        sim.clear_apdu_log();
        let e = sign_form_on_card(
            &core,
            reader.clone(),
            pin(pec_card_sim::DEFAULT_SIGN_PIN),
            form.clone(),
            false,
        )
        .await
        .unwrap_err();
        assert_eq!(e.to_localized().code, "card.pin_last_try");
        assert_eq!(verifies(&sim), 0, "no VERIFY without the confirmation");

        let p7m = sign_form_on_card(
            &core,
            reader.clone(),
            pin(pec_card_sim::DEFAULT_SIGN_PIN),
            form,
            true,
        )
        .await
        .expect("confirmed: VERIFY and signature");
        assert!(!p7m.is_empty());
        assert_eq!(verifies(&sim), 1, "the PIN went once");
        assert_eq!(core.cards.known(&key), PinKnowledge::default());
    }

    /// The CIE has the same guard, keyed by its NIS (read without PIN): on its last try no
    /// VERIFY goes out until the holder confirms; confirmed, the PIN goes once, the holder
    /// check passes and the card signs; the right PIN forgets the failures.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_cie_last_try_is_sent_only_once_the_holder_confirmed() {
        use pec_card_sim::{CIE_PIN, CieProfileName};
        let profile = CieProfileName::Nxp;
        let (sim, reader) = sim_in_reader(SimOptions::cie(profile));
        let key = format!("cie:{}", profile.profile().nis);
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(
            data.join("cards.json"),
            format!(r#"{{"{key}":{{"tries_left":1,"blocked":false}}}}"#),
        )
        .unwrap();
        let core = Core::new(
            crate::Dirs {
                config: tmp.path().join("config"),
                data,
                log: tmp.path().join("logs"),
            },
            None,
        );
        let pin = || Pin::new(CIE_PIN.to_owned()).unwrap();
        let message = vec![0x5A; 32];
        sim.clear_apdu_log();

        let e = crate::cie::sign_on_cie(&core, reader.clone(), pin(), message.clone(), None, false)
            .await
            .unwrap_err();
        assert_eq!(e.to_localized().code, "card.pin_last_try");
        assert_eq!(verifies(&sim), 0, "no VERIFY without the confirmation");

        let signed = crate::cie::sign_on_cie(&core, reader.clone(), pin(), message, None, true)
            .await
            .expect("confirmed: VERIFY and signature");
        assert!(!signed.signature.is_empty());
        assert_eq!(verifies(&sim), 1, "the PIN went once");
        assert_eq!(core.cards.known(&key), PinKnowledge::default());
    }
}
