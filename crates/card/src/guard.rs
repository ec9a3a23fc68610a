//! Guards around the PIN: one card operation at a time per reader, and no last try without the
//! holder's say-so.
//!
//! A CNS blocks its PIN after three wrong tries, and only the PUK (often lost) unblocks it.
//! Two things in the host can spend tries the holder did not mean to spend: two operations
//! racing on the same card (a double click, two windows), each sending its VERIFY; and a
//! retry with the same wrong PIN when one try is left. [`ReaderLock`] serialises the first;
//! [`PinTries`] makes the second a decision the holder takes knowingly ("ultimo tentativo: se
//! il PIN è errato la carta si blocca").
//!
//! ```
//! use pec_card::guard::{LastTry, PinTries, ReaderLock};
//! # fn main() -> Result<(), pec_card::CardError> {
//! let _lock = ReaderLock::try_acquire("Virtual PCD 00 00")?;
//! // ... the app learnt from an earlier 63C1 that one try is left ...
//! let tries = PinTries::from_tries_left(Some(1));
//! assert!(tries.is_last_try());
//! assert!(tries.allow(LastTry::NotConfirmed).is_err()); // show the warning first
//! tries.allow(LastTry::Confirmed)?; // the holder confirmed: VERIFY may go
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError, TryLockError};

use crate::error::CardError;

/// The warning shown before the last try, Italian first.
pub const LAST_TRY_WARNING_IT: &str = "Ultimo tentativo: se il PIN è errato la carta si blocca.";
/// The same warning in English.
pub const LAST_TRY_WARNING_EN: &str = "Last try: if the PIN is wrong, the card will be blocked.";

/// What the host knows of a card's PIN tries, from the card's own answers (`63Cx` to a wrong
/// VERIFY, `6983` when blocked). CNS cards cannot be asked without spending a try (an empty
/// VERIFY is not supported everywhere), so "unknown" is a normal state: a card never seen
/// failing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "tries_left")]
pub enum PinTries {
    /// Nothing learnt yet (or the last VERIFY succeeded, which resets the counter).
    Unknown,
    /// This many tries left, more than one.
    Left(u8),
    /// One try left: a wrong PIN now blocks the card.
    LastTry,
    /// Blocked: only the PUK unblocks it.
    Blocked,
}

/// Whether the holder confirmed an attempt made with one try left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LastTry {
    /// The holder saw the warning and confirmed.
    Confirmed,
    /// No confirmation (the usual case).
    NotConfirmed,
}

impl PinTries {
    /// From the tries left as last reported by the card (`None`: nothing reported).
    pub fn from_tries_left(tries_left: Option<u8>) -> PinTries {
        match tries_left {
            None => PinTries::Unknown,
            Some(0) => PinTries::Blocked,
            Some(1) => PinTries::LastTry,
            Some(n) => PinTries::Left(n),
        }
    }

    /// From what the host remembers of the card's last attempt.
    pub fn of(known: crate::PinKnowledge) -> PinTries {
        if known.blocked {
            PinTries::Blocked
        } else {
            PinTries::from_tries_left(known.tries_left)
        }
    }

    /// What an error of a PIN operation teaches: `WrongPin` gives the tries left, `PinBlocked`
    /// a blocked card; any other error teaches nothing (`None`).
    pub fn learnt_from(error: &CardError) -> Option<PinTries> {
        match error {
            CardError::WrongPin { tries_left } => {
                Some(PinTries::from_tries_left(Some(*tries_left)))
            }
            CardError::PinBlocked => Some(PinTries::Blocked),
            _ => None,
        }
    }

    /// Whether the next wrong PIN blocks the card.
    pub fn is_last_try(self) -> bool {
        self == PinTries::LastTry
    }

    /// Whether a VERIFY may be sent now: never on a blocked card (it would only answer
    /// `6983`), and on the last try only when the holder confirmed it
    /// ([`CardError::PinLastTry`] otherwise, whose message is the warning to show).
    pub fn allow(self, confirmation: LastTry) -> Result<(), CardError> {
        match (self, confirmation) {
            (PinTries::Blocked, _) => Err(CardError::PinBlocked),
            (PinTries::LastTry, LastTry::NotConfirmed) => Err(CardError::PinLastTry),
            _ => Ok(()),
        }
    }
}

/// Exclusive use of one reader by one operation of this process, for as long as the value
/// lives (PC/SC transactions serialise single commands and short sequences, not a whole
/// identification that waits for the provider between reading the card and signing).
///
/// Locks are per reader name, so two readers work in parallel. [`ReaderLock::try_acquire`]
/// refuses at once when the reader is taken (a second identification started while one is
/// running is a mistake to report, not to queue: queued, it would send a second VERIFY);
/// [`ReaderLock::acquire`] waits (for background reads that may queue).
#[must_use = "the reader is free again as soon as the lock is dropped"]
pub struct ReaderLock {
    _guard: MutexGuard<'static, ()>,
}

impl std::fmt::Debug for ReaderLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReaderLock")
    }
}

/// The lock of `reader`. One per reader name, kept for the whole run (a handful of readers
/// per run: leaking them is what makes the guard `'static` without `unsafe`).
fn slot(reader: &str) -> &'static Mutex<()> {
    static SLOTS: OnceLock<Mutex<HashMap<String, &'static Mutex<()>>>> = OnceLock::new();
    let mut slots = SLOTS
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    slots
        .entry(reader.to_owned())
        .or_insert_with(|| Box::leak(Box::new(Mutex::new(()))))
}

impl ReaderLock {
    /// Takes `reader` for this operation, or fails with [`CardError::ReaderInUse`] when another
    /// operation of this process holds it.
    pub fn try_acquire(reader: &str) -> Result<ReaderLock, CardError> {
        let guard = match slot(reader).try_lock() {
            Ok(g) => g,
            // A holder that panicked left the card in an unknown state, but the lock itself
            // protects no data: the next operation starts afresh.
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return Err(CardError::ReaderInUse),
        };
        Ok(ReaderLock { _guard: guard })
    }

    /// Takes `reader` for this operation, waiting for the one that holds it.
    pub fn acquire(reader: &str) -> ReaderLock {
        ReaderLock {
            _guard: slot(reader).lock().unwrap_or_else(PoisonError::into_inner),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_try_needs_a_confirmation() {
        let last = PinTries::from_tries_left(Some(1));
        assert!(last.is_last_try());
        let e = last.allow(LastTry::NotConfirmed).unwrap_err();
        assert_eq!(e.code(), "card.pin_last_try");
        assert!(
            e.message_it()
                .contains("se il PIN è errato la carta si blocca")
        );
        assert!(last.allow(LastTry::Confirmed).is_ok());

        for tries in [None, Some(2), Some(3)] {
            let t = PinTries::from_tries_left(tries);
            assert!(!t.is_last_try());
            assert!(t.allow(LastTry::NotConfirmed).is_ok(), "{t:?}");
        }
        let blocked = PinTries::from_tries_left(Some(0));
        assert_eq!(
            blocked.allow(LastTry::Confirmed).unwrap_err().code(),
            "card.pin_blocked"
        );
    }

    #[test]
    fn tries_are_learnt_from_the_card_errors() {
        assert_eq!(
            PinTries::learnt_from(&CardError::WrongPin { tries_left: 1 }),
            Some(PinTries::LastTry)
        );
        assert_eq!(
            PinTries::learnt_from(&CardError::WrongPin { tries_left: 2 }),
            Some(PinTries::Left(2))
        );
        assert_eq!(
            PinTries::learnt_from(&CardError::PinBlocked),
            Some(PinTries::Blocked)
        );
        assert_eq!(PinTries::learnt_from(&CardError::NoCard), None);
    }

    #[test]
    fn one_operation_per_reader() {
        let a = ReaderLock::try_acquire("guard test reader A").expect("free");
        let e = ReaderLock::try_acquire("guard test reader A").unwrap_err();
        assert_eq!(e.code(), "card.reader_in_use");
        // Another reader is independent.
        let _b = ReaderLock::try_acquire("guard test reader B").expect("other reader");
        drop(a);
        let _a = ReaderLock::try_acquire("guard test reader A").expect("free again");
    }

    #[test]
    fn acquire_waits_for_the_holder() {
        let held = ReaderLock::acquire("guard test reader C");
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let _l = ReaderLock::acquire("guard test reader C");
            tx.send(()).expect("send");
        });
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(200))
                .is_err(),
            "the second operation waits"
        );
        drop(held);
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("then it runs");
        waiter.join().expect("join");
    }
}
