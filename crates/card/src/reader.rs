//! PC/SC: the service, its readers, hot-plug events and card connections.
//!
//! [`Pcsc`] re-establishes its PC/SC context by itself after the service went away (pcscd
//! restarted, Windows service stopped), so one failed attempt does not poison the app: the
//! error is reported once and the next call works again once the service is back.
//!
//! Hot-plug uses `SCardGetStatusChange` with the PnP pseudo-reader: the thread sleeps in
//! pcscd until something changes, no polling loop. Where the pseudo-reader is not supported
//! (some macOS versions report it `UNKNOWN`, and `SCardGetStatusChange` then returns at once)
//! the watcher polls instead: it waits on the known readers at most [`POLL_INTERVAL`] at a
//! time, lists the readers between waits, and sleeps out any wait that came back early, so it
//! never spins.

use std::ffi::CString;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::atr::{CardKind, CardProfile};
use crate::cie::CieCard;
use crate::cns::CnsCard;
use crate::error::CardError;
use crate::interface::ReaderInterface;
use crate::transport::RawTransmit;

/// A reader and what is in it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ReaderInfo {
    /// Reader name as PC/SC reports it.
    pub name: String,
    /// The card in it, if any.
    pub card: Option<CardProfile>,
    /// Another application holds the card exclusively.
    pub exclusive: bool,
    /// Contact slot or NFC antenna (from the name, or the card's ATR when one is present).
    pub interface: ReaderInterface,
}

impl ReaderInfo {
    /// Whether the card present is (by its ATR) a CIE 3.0.
    fn holds_cie(&self) -> bool {
        matches!(self.card.as_ref().map(|c| &c.kind), Some(CardKind::Cie3))
    }

    /// What the holder must do with the card on this reader, in Italian ("Appoggia la CIE sul
    /// lettore e non muoverla.", "Inserisci la carta…").
    pub fn instruction_it(&self) -> &'static str {
        self.interface.instruction_it(self.holds_cie())
    }

    /// [`Self::instruction_it`] in English.
    pub fn instruction_en(&self) -> &'static str {
        self.interface.instruction_en(self.holds_cie())
    }
}

/// A change seen by [`ReaderWatcher::wait`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ReaderEvent {
    /// A reader appeared.
    ReaderAdded {
        /// Reader name.
        reader: String,
    },
    /// A reader disappeared.
    ReaderRemoved {
        /// Reader name.
        reader: String,
    },
    /// A card is now present (also reported for cards already present when watching starts).
    CardInserted {
        /// Reader name.
        reader: String,
        /// The card.
        card: CardProfile,
    },
    /// The card was taken out.
    CardRemoved {
        /// Reader name.
        reader: String,
    },
}

/// Entry point to PC/SC.
pub struct Pcsc {
    ctx: Mutex<Option<pcsc::Context>>,
}

impl Pcsc {
    /// Connects to the PC/SC service.
    pub fn establish() -> Result<Pcsc, CardError> {
        let ctx = pcsc::Context::establish(pcsc::Scope::User)?;
        Ok(Pcsc {
            ctx: Mutex::new(Some(ctx)),
        })
    }

    /// A Pcsc that connects on first use (the service may start later).
    pub fn lazy() -> Pcsc {
        Pcsc {
            ctx: Mutex::new(None),
        }
    }

    fn context(&self) -> Result<pcsc::Context, CardError> {
        let mut guard = self.ctx.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(ctx) = guard.as_ref()
            && ctx.is_valid().is_ok()
        {
            return Ok(ctx.clone());
        }
        let ctx = pcsc::Context::establish(pcsc::Scope::User)?;
        *guard = Some(ctx.clone());
        Ok(ctx)
    }

    /// Runs `f` with a context; a service failure drops the context so the next call starts
    /// afresh.
    ///
    /// A context made before pcscd restarted still passes `SCardIsValidContext` (pcsc-lite
    /// checks it in the client) and fails only when used. So when `f` finds the service gone,
    /// `f` runs once more on a fresh context: otherwise the first attempt after a restart
    /// would fail whenever the previous failure came from a card command rather than from
    /// here. `f` only lists, queries or connects: no card command is ever repeated.
    fn with_context<R>(
        &self,
        f: impl Fn(&pcsc::Context) -> Result<R, CardError>,
    ) -> Result<R, CardError> {
        let ctx = self.context()?;
        match f(&ctx) {
            Err(CardError::ServiceUnavailable) => {
                self.forget_context();
                let r = f(&self.context()?);
                if matches!(r, Err(CardError::ServiceUnavailable)) {
                    self.forget_context();
                }
                r
            }
            r => r,
        }
    }

    fn forget_context(&self) {
        *self.ctx.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Reader names (empty when none is connected).
    pub fn reader_names(&self) -> Result<Vec<String>, CardError> {
        self.with_context(list_readers)
    }

    /// Readers and their cards, from one status snapshot (no card is contacted).
    pub fn readers(&self) -> Result<Vec<ReaderInfo>, CardError> {
        self.with_context(|ctx| {
            let names = list_readers(ctx)?;
            let mut states: Vec<pcsc::ReaderState> = Vec::with_capacity(names.len());
            for n in &names {
                states.push(pcsc::ReaderState::new(cstring(n)?, pcsc::State::UNAWARE));
            }
            if states.is_empty() {
                return Ok(Vec::new());
            }
            ctx.get_status_change(Duration::ZERO, &mut states)
                .map_err(CardError::from)?;
            Ok(states
                .iter()
                .map(|s| {
                    let ev = s.event_state();
                    let name = s.name().to_string_lossy().into_owned();
                    let present = ev.contains(pcsc::State::PRESENT);
                    ReaderInfo {
                        interface: ReaderInterface::classify(&name, present.then(|| s.atr())),
                        name,
                        card: present.then(|| CardProfile::from_atr(s.atr())),
                        exclusive: ev.contains(pcsc::State::EXCLUSIVE),
                    }
                })
                .collect())
        })
    }

    /// Connects (shared mode) to the card in `reader` as a CNS.
    ///
    /// Fails with [`CardError::UnsupportedCard`] for anything that is not a CNS (CIE, CardOS,
    /// unknown), after reading its ATR; with [`CardError::CardBusy`] when another application
    /// holds the card exclusively.
    pub fn connect(&self, reader: &str) -> Result<CnsCard<PcscCard>, CardError> {
        let link = self.connect_raw(reader)?;
        let atr = link.atr.clone();
        CnsCard::new(link, &atr)
    }

    /// Connects to the CIE in `reader`: selects its applications (the ATR is only a hint).
    pub fn connect_cie(&self, reader: &str) -> Result<CieCard<PcscCard>, CardError> {
        let link = self.connect_raw(reader)?;
        let atr = link.atr.clone();
        CieCard::detect(link, &atr)
    }

    /// Connects to whatever Italian card is in `reader`: a CNS by its ATR, else a CIE by its
    /// applications (a CIE's ATR is only a hint, and some CIEs answer a generic one).
    pub fn connect_card(&self, reader: &str) -> Result<AnyCard, CardError> {
        let link = self.connect_raw(reader)?;
        let atr = link.atr.clone();
        let profile = CardProfile::from_atr(&atr);
        match profile.kind {
            CardKind::Cns(_) => CnsCard::new(link, &atr).map(AnyCard::Cns),
            CardKind::Cie3 | CardKind::Unknown => CieCard::detect(link, &atr).map(AnyCard::Cie),
            _ => Err(CardError::UnsupportedCard {
                description: profile.describe(),
                atr: profile.atr.clone(),
            }),
        }
    }

    /// Connects to the card in `reader` without assuming what it is.
    pub fn connect_raw(&self, reader: &str) -> Result<PcscCard, CardError> {
        self.with_context(|ctx| {
            let name = cstring(reader)?;
            let card = ctx
                .connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
                .map_err(|e| match CardError::from(e) {
                    CardError::ReaderNotFound { .. } => CardError::ReaderNotFound {
                        reader: reader.to_owned(),
                    },
                    other => other,
                })?;
            let status = card.status2_owned().map_err(CardError::from)?;
            Ok(PcscCard {
                atr: status.atr().to_vec(),
                card: Some(card),
                ctx: ctx.clone(),
                reader: name,
                buf: vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED],
            })
        })
    }

    /// A watcher for reader and card changes.
    pub fn watcher(&self) -> Result<ReaderWatcher, CardError> {
        Ok(ReaderWatcher {
            ctx: Arc::new(Mutex::new(self.context()?)),
            states: Vec::new(),
            started: false,
            announce_added: false,
            service_lost: false,
            pnp_unsupported: false,
        })
    }
}

/// A connected Italian card of either kind.
pub enum AnyCard {
    /// A CNS / TS-CNS (contact).
    Cns(CnsCard<PcscCard>),
    /// A CIE 3.0 (contactless).
    Cie(CieCard<PcscCard>),
}

/// Blocks in PC/SC until readers or cards change.
///
/// It outlives the service: when pcscd goes away (stopped, restarted, crashed) every reader is
/// gone as far as the holder can tell, so the next [`ReaderWatcher::wait`] reports each known
/// reader removed (and its card). While the service is down `wait` fails at once with
/// [`CardError::ServiceUnavailable`] (there is nothing to sleep on; the caller retries with
/// its own pace); once the service is back, readers that reappear are reported as added.
pub struct ReaderWatcher {
    /// Shared with the cancellers, and replaced when the service comes back, so a canceller
    /// taken before a restart still reaches the wait.
    ctx: Arc<Mutex<pcsc::Context>>,
    /// Index 0 is the PnP pseudo-reader, then one entry per known reader.
    states: Vec<pcsc::ReaderState>,
    started: bool,
    /// Readers present at the first call are not "added"; later ones (and all of them after
    /// the service came back) are.
    announce_added: bool,
    /// The service went away; the next wait establishes a new context first.
    service_lost: bool,
    /// The PnP pseudo-reader came back `UNKNOWN`: poll (see the module's documentation).
    pnp_unsupported: bool,
}

/// The longest single PC/SC wait when polling: how late a new reader may be noticed.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Whether the PnP pseudo-reader's reported state says hot-plug notifications are not
/// supported: pcsc-lite's documented probe, the pseudo-reader flagged `UNKNOWN`.
fn pnp_unsupported(reported: pcsc::State) -> bool {
    reported.contains(pcsc::State::UNKNOWN)
}

/// The timeout of one PC/SC wait: what is left of the caller's, capped at [`POLL_INTERVAL`]
/// when polling (new readers show up only when listed between waits).
fn wait_slice(remaining: Option<Duration>, polling: bool) -> Option<Duration> {
    if polling {
        Some(remaining.map_or(POLL_INTERVAL, |r| r.min(POLL_INTERVAL)))
    } else {
        remaining
    }
}

/// How long to sleep after a wait that brought no news when polling: the rest of its slice,
/// so a PC/SC that returns at once (or no reader to wait on) cannot make the loop spin.
/// Without polling PC/SC itself does the sleeping.
fn idle_sleep(polling: bool, slice: Option<Duration>, elapsed: Duration) -> Duration {
    match (polling, slice) {
        (true, Some(slice)) => slice.saturating_sub(elapsed),
        _ => Duration::ZERO,
    }
}

/// Stops a [`ReaderWatcher::wait`] from another thread.
#[derive(Clone)]
pub struct WatchCanceller(Arc<Mutex<pcsc::Context>>);

impl WatchCanceller {
    /// Makes the pending (or next) `wait` return [`CardError::Cancelled`].
    pub fn cancel(&self) -> Result<(), CardError> {
        let ctx = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        ctx.cancel().map_err(CardError::from)
    }
}

impl ReaderWatcher {
    /// A handle to cancel the wait from another thread (UI shutdown).
    pub fn canceller(&self) -> WatchCanceller {
        WatchCanceller(Arc::clone(&self.ctx))
    }

    /// Waits until at least one change happens, or `timeout` passes (then `Ok(vec![])`).
    /// The first call reports the cards already present.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<Vec<ReaderEvent>, CardError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut events = Vec::new();
        if self.service_lost {
            let ctx = pcsc::Context::establish(pcsc::Scope::User)?;
            *self.ctx.lock().unwrap_or_else(PoisonError::into_inner) = ctx;
            self.service_lost = false;
        }
        if !self.started {
            self.started = true;
            self.states.push(pcsc::ReaderState::new(
                pcsc::PNP_NOTIFICATION(),
                pcsc::State::UNAWARE,
            ));
        }
        // Cloned out of the lock: a canceller must be able to take it while we sleep in pcscd.
        let ctx = self
            .ctx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        loop {
            if let Err(e) = self.sync_readers(&ctx, &mut events) {
                return self.failed(e, events);
            }
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let polling = self.pnp_unsupported;
            let slice = wait_slice(remaining, polling);
            let started = Instant::now();
            // When polling the pseudo-reader is left out: it is what makes PC/SC return at once.
            let watched = if polling {
                &mut self.states[1..]
            } else {
                &mut self.states[..]
            };
            let result = if watched.is_empty() {
                Err(pcsc::Error::Timeout)
            } else {
                ctx.get_status_change(slice, watched)
            };
            match result {
                Ok(()) => {}
                Err(pcsc::Error::Timeout) if polling => {
                    if !events.is_empty() || deadline.is_some_and(|d| Instant::now() >= d) {
                        return Ok(events);
                    }
                    std::thread::sleep(idle_sleep(polling, slice, started.elapsed()));
                    continue;
                }
                Err(pcsc::Error::Timeout) => return Ok(events),
                Err(e) => return self.failed(e.into(), events),
            }
            if !polling && pnp_unsupported(self.states[0].event_state()) {
                tracing::info!("PC/SC hot-plug notifications unsupported: polling for readers");
                self.pnp_unsupported = true;
                continue;
            }
            for s in self.states.iter_mut().skip(1) {
                let before = s.current_state();
                let now = s.event_state();
                let reader = s.name().to_string_lossy().into_owned();
                let was = before.contains(pcsc::State::PRESENT);
                let is = now.contains(pcsc::State::PRESENT);
                if is && !was {
                    events.push(ReaderEvent::CardInserted {
                        reader,
                        card: CardProfile::from_atr(s.atr()),
                    });
                } else if was && !is {
                    events.push(ReaderEvent::CardRemoved { reader });
                }
            }
            for s in &mut self.states {
                s.sync_current_state();
            }
            self.announce_added = true;
            if !events.is_empty() {
                return Ok(events);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(events);
            }
            std::thread::sleep(idle_sleep(polling, slice, started.elapsed()));
        }
    }

    /// Ends a wait that failed. Losing the service removes every known reader: reported now
    /// (with what was already collected), the error itself on the next calls.
    fn failed(
        &mut self,
        e: CardError,
        mut events: Vec<ReaderEvent>,
    ) -> Result<Vec<ReaderEvent>, CardError> {
        if !matches!(e, CardError::ServiceUnavailable) {
            return Err(e);
        }
        self.service_lost = true;
        for s in self.states.drain(..).skip(1) {
            let reader = s.name().to_string_lossy().into_owned();
            if s.current_state().contains(pcsc::State::PRESENT) {
                events.push(ReaderEvent::CardRemoved {
                    reader: reader.clone(),
                });
            }
            events.push(ReaderEvent::ReaderRemoved { reader });
        }
        self.started = false;
        self.announce_added = true;
        if events.is_empty() {
            Err(e)
        } else {
            Ok(events)
        }
    }

    /// Adds new readers and drops vanished ones, reporting both.
    fn sync_readers(
        &mut self,
        ctx: &pcsc::Context,
        events: &mut Vec<ReaderEvent>,
    ) -> Result<(), CardError> {
        let names = list_readers(ctx)?;
        let mut i = 1;
        while i < self.states.len() {
            let name = self.states[i].name().to_string_lossy().into_owned();
            if names.contains(&name) {
                i += 1;
            } else {
                if self.states[i]
                    .current_state()
                    .contains(pcsc::State::PRESENT)
                {
                    events.push(ReaderEvent::CardRemoved {
                        reader: name.clone(),
                    });
                }
                events.push(ReaderEvent::ReaderRemoved { reader: name });
                self.states.remove(i);
            }
        }
        for n in names {
            if !self
                .states
                .iter()
                .skip(1)
                .any(|s| s.name().to_bytes() == n.as_bytes())
            {
                if self.announce_added {
                    events.push(ReaderEvent::ReaderAdded { reader: n.clone() });
                }
                self.states
                    .push(pcsc::ReaderState::new(cstring(&n)?, pcsc::State::UNAWARE));
            }
        }
        Ok(())
    }
}

/// A connected PC/SC card handle.
pub struct PcscCard {
    card: Option<pcsc::Card>,
    ctx: pcsc::Context,
    reader: CString,
    atr: Vec<u8>,
    buf: Vec<u8>,
}

impl PcscCard {
    /// ATR read at connection time.
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// Disconnects resetting the card, so a verified PIN does not outlive this session for
    /// other applications. Also done on drop.
    pub fn disconnect(mut self) -> Result<(), CardError> {
        self.reset_and_release()
    }

    fn reset_and_release(&mut self) -> Result<(), CardError> {
        if let Some(card) = self.card.take() {
            card.disconnect(pcsc::Disposition::ResetCard)
                .map_err(|(_, e)| CardError::from(e))?;
        }
        Ok(())
    }
}

impl Drop for PcscCard {
    fn drop(&mut self) {
        let _ = self.reset_and_release();
    }
}

impl RawTransmit for PcscCard {
    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
        let card = self.card.as_ref().ok_or(CardError::CardRemoved)?;
        transmit_on(card, &mut self.buf, &self.ctx, &self.reader, command)
    }

    /// SCardBeginTransaction / SCardEndTransaction around `f` (the card is left as it is).
    fn exclusive(
        &mut self,
        f: &mut dyn FnMut(&mut dyn RawTransmit) -> Result<(), CardError>,
    ) -> Result<(), CardError> {
        let PcscCard {
            card,
            ctx,
            reader,
            buf,
            ..
        } = self;
        let card = card.as_mut().ok_or(CardError::CardRemoved)?;
        let tx = card.transaction().map_err(CardError::from)?;
        let mut link = TxLink {
            card: &tx,
            ctx,
            reader,
            buf,
        };
        let r = f(&mut link);
        let ended = tx
            .end(pcsc::Disposition::LeaveCard)
            .map_err(|(_, e)| CardError::from(e));
        r.and(ended)
    }
}

/// The link while a transaction is open: same card, borrowed from the transaction guard.
struct TxLink<'a> {
    card: &'a pcsc::Card,
    ctx: &'a pcsc::Context,
    reader: &'a CString,
    buf: &'a mut Vec<u8>,
}

impl RawTransmit for TxLink<'_> {
    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
        transmit_on(self.card, self.buf, self.ctx, self.reader, command)
    }
}

fn transmit_on(
    card: &pcsc::Card,
    buf: &mut [u8],
    ctx: &pcsc::Context,
    reader: &CString,
    command: &[u8],
) -> Result<Vec<u8>, CardError> {
    let resp = card.transmit(command, buf)?;
    if resp.is_empty() {
        // A card that vanishes mid-command can come back as a "successful" empty answer
        // (seen with vpcd), before pcscd has noticed the removal. Give pcscd a moment
        // (one bounded wait, no polling) to tell removal from a mute card.
        return Err(removed_or_mute(ctx, reader, Duration::from_secs(2)));
    }
    Ok(resp.to_vec())
}

fn removed_or_mute(ctx: &pcsc::Context, reader: &CString, patience: Duration) -> CardError {
    let deadline = Instant::now() + patience;
    let mut state = [pcsc::ReaderState::new(reader.clone(), pcsc::State::UNAWARE)];
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match ctx.get_status_change(remaining, &mut state) {
            Ok(()) => {}
            Err(pcsc::Error::Timeout) => return CardError::CardUnresponsive,
            Err(e) => return e.into(),
        }
        let ev = state[0].event_state();
        if ev.intersects(pcsc::State::EMPTY | pcsc::State::UNAVAILABLE | pcsc::State::UNKNOWN) {
            return CardError::CardRemoved;
        }
        state[0].sync_current_state();
    }
}

fn list_readers(ctx: &pcsc::Context) -> Result<Vec<String>, CardError> {
    match ctx.list_readers_owned() {
        Ok(names) => Ok(names
            .iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect()),
        Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

fn cstring(s: &str) -> Result<CString, CardError> {
    CString::new(s).map_err(|_| CardError::ReaderNotFound {
        reader: s.replace('\0', "\\0"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_pnp_pseudo_reader_means_polling() {
        assert!(pnp_unsupported(pcsc::State::UNKNOWN | pcsc::State::CHANGED));
        assert!(!pnp_unsupported(pcsc::State::CHANGED));
        assert!(!pnp_unsupported(pcsc::State::UNAWARE));
    }

    #[test]
    fn polling_waits_are_capped_and_never_spin() {
        // With notifications PC/SC sleeps for the caller's whole time, and nothing else does.
        assert_eq!(wait_slice(None, false), None);
        assert_eq!(
            wait_slice(Some(Duration::from_secs(30)), false),
            Some(Duration::from_secs(30))
        );
        assert_eq!(idle_sleep(false, None, Duration::ZERO), Duration::ZERO);
        // Polling: slices of at most POLL_INTERVAL, shorter when the caller's time ends sooner.
        assert_eq!(wait_slice(None, true), Some(POLL_INTERVAL));
        assert_eq!(
            wait_slice(Some(Duration::from_secs(30)), true),
            Some(POLL_INTERVAL)
        );
        let short = Duration::from_millis(120);
        assert_eq!(wait_slice(Some(short), true), Some(short));
        // A wait that came back at once (macOS with the pseudo-reader, no reader at all) is
        // slept out to the end of its slice; one that used its slice is not slept again.
        let slice = wait_slice(None, true);
        assert_eq!(idle_sleep(true, slice, Duration::ZERO), POLL_INTERVAL);
        assert_eq!(
            idle_sleep(true, slice, Duration::from_millis(200)),
            POLL_INTERVAL - Duration::from_millis(200)
        );
        assert_eq!(idle_sleep(true, slice, POLL_INTERVAL * 2), Duration::ZERO);
        // However fast PC/SC answers, a polling loop over one minute makes at most one wait
        // per slice.
        let mut elapsed = Duration::ZERO;
        let mut waits = 0;
        while elapsed < Duration::from_secs(60) {
            let slice = wait_slice(Some(Duration::from_secs(60) - elapsed), true);
            elapsed += idle_sleep(true, slice, Duration::ZERO);
            waits += 1;
        }
        assert_eq!(waits, 120);
    }
}
