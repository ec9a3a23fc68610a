//! Shared helpers: test credentials from the virtual card's PKI, and OpenSSL as an independent
//! verifier of every `.p7m` the tests produce.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use pec_card_sim::ProfileName;
use pec_card_sim::pki::{self, CardCredentials};
use pec_sign::{SignerCertificate, SoftwareSigner};

/// Credentials of the virtual STIncard: a qualified signature certificate (TINIT-RSSMRA80A01H501U)
/// under the test qualified CA, and a CNS authentication certificate under the CNS test CA.
pub fn stincard() -> CardCredentials {
    pki::issue(&ProfileName::Stincard2048.profile(), "hash=").expect("issue")
}

/// The signature keyset of `creds` as a software signer.
pub fn signature_signer(creds: &CardCredentials) -> SoftwareSigner {
    let (key, cert) = creds.signature.clone().expect("signature keyset");
    SoftwareSigner::new(
        key,
        SignerCertificate {
            der: cert,
            chain: Vec::new(),
        },
    )
}

/// Verifies `p7m` with `openssl cms -verify -cades` (a real OpenSSL process) trusting only
/// `ca_der`; returns the content OpenSSL extracted, or its error output.
pub fn openssl_verify(dir: &Path, p7m: &[u8], ca_der: &[u8]) -> Result<Vec<u8>, String> {
    let p7m_path = dir.join("in.p7m");
    let ca_path = dir.join("ca.pem");
    let out_path = dir.join("content.out");
    std::fs::write(&p7m_path, p7m).expect("write p7m");
    std::fs::write(&ca_path, pem("CERTIFICATE", ca_der)).expect("write ca");
    let _ = std::fs::remove_file(&out_path);
    let out = Command::new("openssl")
        .args([
            "cms", "-verify", "-cades", "-binary", "-inform", "DER", "-in",
        ])
        .arg(&p7m_path)
        .arg("-CAfile")
        .arg(&ca_path)
        .arg("-out")
        .arg(&out_path)
        .output()
        .expect("openssl is installed (Debian package openssl)");
    if out.status.success() {
        Ok(std::fs::read(&out_path).expect("openssl output"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// PEM armour for DER bytes.
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).expect("ascii"));
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

/// A PDF-like document of `n` bytes.
pub fn document(n: usize) -> Vec<u8> {
    let mut d = b"%PDF-1.7\n% Modulo di richiesta di identificazione del titolare\n".to_vec();
    let mut x: u32 = 0x1234_5678;
    while d.len() < n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        d.push((x & 0xFF) as u8);
    }
    d.truncate(n);
    d
}

// --- the PC/SC rig (pcscd + vsmartcard-vpcd), as in pec-card's tests ------------------------

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use pec_card_sim::{SimCard, SimOptions, vpcd_reader_name};

/// vpcd has one card slot per port: tests in one binary take turns on slot 0.
static SLOT0: Mutex<()> = Mutex::new(());

/// Fails (never skips) when the PC/SC rig is not running.
pub fn require_rig() {
    if std::env::var("PEC_PCSC_RIG").as_deref() != Ok("1") {
        panic!(
            "This test needs pcscd with vsmartcard-vpcd (PEC_PCSC_RIG=1 is not set). \
             Run it through the project test command, or by hand:\n  \
             source scripts/rig/pcsc.sh && pcsc_rig_start target/pcsc-rig && \
             cargo test -p pec-sign; pcsc_rig_stop target/pcsc-rig"
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
    require_rig();
    let slot = SLOT0.lock().unwrap_or_else(PoisonError::into_inner);
    let reader = vpcd_reader_name(0);
    // The previous card must be seen leaving, or pcscd may take the new one for the old one.
    wait_reader(&reader, pcsc::State::EMPTY, Duration::from_secs(10));
    let sim = SimCard::start(SimOptions::new(profile)).expect("start the virtual card");
    assert!(
        sim.wait_powered(Duration::from_secs(15)),
        "pcscd did not power the virtual card within 15 s"
    );
    wait_reader(&reader, pcsc::State::PRESENT, Duration::from_secs(10));
    Rig {
        sim,
        reader,
        _slot: slot,
    }
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

/// VERIFY commands the card received (their P2, the PIN reference).
pub fn verifies(sim: &SimCard) -> Vec<u8> {
    sim.apdu_log()
        .iter()
        .filter(|r| r.ins == 0x20)
        .map(|r| r.p2)
        .collect()
}
