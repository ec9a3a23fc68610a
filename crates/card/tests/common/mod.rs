//! Shared helpers for the tests that run through pcscd + vsmartcard-vpcd.
#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use pec_card_sim::{ProfileName, SimCard, SimOptions, vpcd_reader_name};

/// vpcd has one card slot per port: tests in one binary take turns on slot 0.
static SLOT0: Mutex<()> = Mutex::new(());

/// Fails (never skips) when the PC/SC rig is not running.
pub fn require_rig() {
    if std::env::var("PEC_PCSC_RIG").as_deref() != Ok("1") {
        panic!(
            "This test needs pcscd with vsmartcard-vpcd (PEC_PCSC_RIG=1 is not set). \
             Run it through the project test command, or by hand:\n  \
             source scripts/rig/pcsc.sh && pcsc_rig_start target/pcsc-rig && \
             cargo test -p pec-card; pcsc_rig_stop target/pcsc-rig"
        );
    }
}

/// A virtual card in "Virtual PCD 00 00", registered by pcscd, slot held for the test.
pub struct Rig {
    pub sim: SimCard,
    pub reader: String,
    _slot: MutexGuard<'static, ()>,
}

pub fn start(profile: ProfileName) -> Rig {
    start_with(SimOptions::new(profile))
}

pub fn start_with(options: SimOptions) -> Rig {
    require_rig();
    let slot = SLOT0.lock().unwrap_or_else(PoisonError::into_inner);
    // The previous card must be seen leaving, or pcscd may take the new one for the old one
    // (vpcd reconnects faster than pcscd polls) and never power it.
    wait_reader_empty(&vpcd_reader_name(0), Duration::from_secs(10));
    let sim = SimCard::start(options).expect("start the virtual card");
    assert!(
        sim.wait_powered(Duration::from_secs(15)),
        "pcscd did not power the virtual card within 15 s (is vpcd loaded? see the rig log)"
    );
    wait_reader_present(&vpcd_reader_name(0), Duration::from_secs(10));
    Rig {
        sim,
        reader: vpcd_reader_name(0),
        _slot: slot,
    }
}

/// Blocks until PC/SC reports `reader` empty (or `timeout`, then panics).
pub fn wait_reader_empty(reader: &str, timeout: Duration) {
    wait_reader(reader, pcsc::State::EMPTY, timeout);
}

/// Blocks until PC/SC reports a card in `reader`: vpcd powers the card before pcscd has
/// read its ATR, so "powered" alone is too early to connect.
pub fn wait_reader_present(reader: &str, timeout: Duration) {
    wait_reader(reader, pcsc::State::PRESENT, timeout);
}

fn wait_reader(reader: &str, wanted: pcsc::State, timeout: Duration) {
    let ctx = pcsc::Context::establish(pcsc::Scope::User).expect("PC/SC context");
    let name = std::ffi::CString::new(reader).expect("reader name");
    let mut st = [pcsc::ReaderState::new(name, pcsc::State::UNAWARE)];
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match ctx.get_status_change(left, &mut st) {
            Ok(()) => {}
            Err(pcsc::Error::Timeout) => panic!("{reader} not {wanted:?} after {timeout:?}"),
            Err(e) => panic!("PC/SC: {e}"),
        }
        if st[0].event_state().contains(wanted) {
            return;
        }
        st[0].sync_current_state();
    }
}

/// Instructions (INS bytes) the card received, in order.
pub fn instructions(sim: &SimCard) -> Vec<u8> {
    sim.apdu_log().iter().map(|r| r.ins).collect()
}

/// Minimal base64 decoder for PEM bodies printed by OpenSC.
pub fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    };
    let clean: Vec<u8> = s
        .bytes()
        .filter(|c| val(*c).is_some() || *c == b'=')
        .collect();
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        let mut valid = 0;
        for (i, c) in chunk.iter().enumerate() {
            if let Some(v) = val(*c) {
                n |= v << (18 - 6 * i);
                valid += 1;
            }
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..valid.max(1)]);
    }
    out
}

pub fn pem_body(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64_decode(&body)
}
