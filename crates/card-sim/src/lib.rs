//! Virtual Italian CNS cards and CIE 3.0 for tests and demos.
//!
//! Real CNS cards differ in ways that break naive hosts: the STIncard mask wants PIN reference
//! 0x90, CNS 1.0 lots take short APDUs only, IDEMIA 2021 moved the certificate, some cards
//! answer a long `Le` with `6Cxx` and others with `6282`. This crate emulates those lots so the
//! `pec-card` crate can be tested through the real PC/SC stack (pcscd + `vsmartcard-vpcd`),
//! without hardware, and so OpenSC can be used as an independent witness of fidelity.
//!
//! Two ways to use it:
//! - in-process, with no PC/SC at all: [`VirtualCard::transmit`];
//! - connected to vpcd like a card in a reader: [`SimCard::start`] (library) or the
//!   `pec-card-sim` command.
//!
//! ```no_run
//! use pec_card_sim::{ProfileName, SimCard, SimOptions};
//! let card = SimCard::start(SimOptions::new(ProfileName::Stincard2048)).unwrap();
//! assert!(card.wait_powered(std::time::Duration::from_secs(10)));
//! // ... talk to "Virtual PCD 00 00" through PC/SC ...
//! let verifies = card.apdu_log().iter().filter(|r| r.ins == 0x20).count();
//! # let _ = verifies;
//! ```

pub mod card;
pub mod cie;
pub mod pki;
pub mod profile;
pub mod vpcd;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

pub use card::{ApduRecord, DEFAULT_PIN, DEFAULT_PUK, DEFAULT_SIGN_PIN, VirtualCard};
pub use cie::{CIE_PIN, CieProfile, CieProfileName, VirtualCie};
pub use profile::{AuthIssuer, AuthKeyUsage, Holder, Profile, ProfileName, RevocationUrls};
pub use vpcd::{LinkEvent, SimCard};

/// TCP port of vpcd slot 0 (reader "Virtual PCD 00 00"); slot *n* listens on this + *n*.
pub const VPCD_PORT: u16 = 35963;

/// Name pcscd gives to vpcd slot `n`.
pub fn vpcd_reader_name(slot: u16) -> String {
    format!("Virtual PCD 00 {slot:02}")
}

/// How to start a [`SimCard`].
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Which card (ignored when `cie` is set).
    pub profile: ProfileName,
    /// A virtual CIE instead of a CNS.
    pub cie: Option<CieProfileName>,
    /// vpcd address; defaults to 127.0.0.1:35963 (slot 0).
    pub addr: SocketAddr,
    /// Pull the card out when the APDU after this many answered ones arrives (no answer is
    /// sent). Overrides the profile's default; `None` keeps it.
    pub pull_after: Option<usize>,
    /// Also append every APDU (PIN data redacted) as one JSON line to this file, for tests that
    /// run the card in another process.
    pub apdu_log_file: Option<PathBuf>,
    /// Hold the APDU after this many answered ones in flight: never answered nor executed,
    /// until vpcd drops the link (the test stops pcscd meanwhile, so the reader vanishes under
    /// a pending command). Once only; the card then reconnects like a card left in a reader.
    pub stall_after: Option<usize>,
}

impl SimOptions {
    /// Slot 0 on loopback, the profile's own fault settings.
    pub fn new(profile: ProfileName) -> SimOptions {
        SimOptions {
            profile,
            cie: None,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, VPCD_PORT)),
            pull_after: None,
            apdu_log_file: None,
            stall_after: None,
        }
    }

    /// A virtual CIE on slot 0 on loopback, with the profile's own fault settings.
    pub fn cie(profile: CieProfileName) -> SimOptions {
        SimOptions {
            cie: Some(profile),
            ..SimOptions::new(ProfileName::Stincard2048)
        }
    }

    /// Uses vpcd slot `slot` (port 35963 + slot).
    pub fn slot(mut self, slot: u16) -> SimOptions {
        self.addr.set_port(VPCD_PORT + slot);
        self
    }

    /// Pulls the card after `n` answered APDUs.
    pub fn pull_after(mut self, n: usize) -> SimOptions {
        self.pull_after = Some(n);
        self
    }

    /// Holds the command after `n` answered APDUs unanswered (see [`SimOptions::stall_after`]).
    pub fn stall_after(mut self, n: usize) -> SimOptions {
        self.stall_after = Some(n);
        self
    }
}

/// Errors of the emulator itself (not card status words: those are answers).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Issuing the test certificates failed.
    #[error("test PKI: {0}")]
    Pki(String),
    /// Starting the link thread failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}
