//! `pec card ...` end to end: the binary against the emulator through pcscd + vpcd.
//! Needs the rig (`PEC_PCSC_RIG=1`, see scripts/rig/pcsc.sh); fails without it.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use pec_card_sim::{CIE_PIN, CieProfileName, ProfileName, SimCard, SimOptions, vpcd_reader_name};

static SLOT0: Mutex<()> = Mutex::new(());

struct Rig {
    sim: SimCard,
    _slot: MutexGuard<'static, ()>,
}

fn wait_reader(wanted: pcsc::State) {
    let ctx = pcsc::Context::establish(pcsc::Scope::User).expect("PC/SC");
    let name = std::ffi::CString::new(vpcd_reader_name(0)).expect("name");
    let mut st = [pcsc::ReaderState::new(name, pcsc::State::UNAWARE)];
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        ctx.get_status_change(left, &mut st)
            .unwrap_or_else(|e| panic!("reader never {wanted:?}: {e}"));
        if st[0].event_state().contains(wanted) {
            return;
        }
        st[0].sync_current_state();
    }
}

fn start(profile: ProfileName) -> Rig {
    start_with(SimOptions::new(profile))
}

fn start_cie(profile: CieProfileName) -> Rig {
    start_with(SimOptions::cie(profile))
}

fn start_with(options: SimOptions) -> Rig {
    if std::env::var("PEC_PCSC_RIG").as_deref() != Ok("1") {
        panic!(
            "This test needs pcscd with vsmartcard-vpcd (PEC_PCSC_RIG=1 is not set). Run it \
             through the project test command, or: source scripts/rig/pcsc.sh && \
             pcsc_rig_start target/pcsc-rig && cargo test -p pec"
        );
    }
    let slot = SLOT0.lock().unwrap_or_else(PoisonError::into_inner);
    wait_reader(pcsc::State::EMPTY);
    let sim = SimCard::start(options).expect("sim");
    assert!(sim.wait_powered(Duration::from_secs(15)));
    wait_reader(pcsc::State::PRESENT);
    Rig { sim, _slot: slot }
}

/// Each run remembers the PIN tries in a file of its own unless the test names one: the
/// profiles share card serials, and what one test taught must not hold the next one.
fn pec(args: &[&str], stdin: &str) -> Output {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let state = std::env::temp_dir().join(format!("pec-cli-test-{}-{n}.json", std::process::id()));
    let out = pec_with_state(args, stdin, &state);
    let _ = std::fs::remove_file(&state);
    out
}

fn pec_with_state(args: &[&str], stdin: &str, state: &std::path::Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pec"))
        .args(args)
        .env("PEC_CARD_STATE", state)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pec");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write PIN");
    child.wait_with_output().expect("output")
}

#[test]
fn info_json_reports_holder_and_certificates() {
    let _rig = start(ProfileName::Stincard2048);
    let out = pec(&["card", "info", "--json"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["codice_fiscale"], "RSSMRA80A01H501U");
    assert_eq!(v["reader"], vpcd_reader_name(0));
    assert_eq!(v["certificates"][0]["slot"], "authentication");
    assert_eq!(v["certificates"][0]["role"], "cns_authentication");
    assert_eq!(v["certificates"][1]["qualified"], true);
    let list = pec(&["card", "list"], "");
    assert!(String::from_utf8_lossy(&list.stdout).contains("STIncard"));
}

#[test]
fn sign_reads_the_pin_from_stdin() {
    let _rig = start(ProfileName::Athena2048);
    let out = pec(
        &["card", "sign", "--challenge", "00112233", "--json"],
        "12345678\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["signature"].as_str().map(str::len), Some(512));
    assert_eq!(v["certificate"]["codice_fiscale"], "BNCGLI85C55F205C");
}

#[test]
fn wrong_pin_exit_code_and_message() {
    let rig = start(ProfileName::Athena2048);
    let out = pec(&["card", "verify-pin"], "11111\n");
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Restano 2 tentativi"), "{err}");
    assert!(!err.contains("11111"), "the PIN never appears in output");
    assert_eq!(
        rig.sim.apdu_log().iter().filter(|r| r.ins == 0x20).count(),
        1
    );
}

#[test]
fn blocked_pin_exit_code() {
    let _rig = start(ProfileName::BlockedPin);
    let out = pec(&["card", "verify-pin"], "12345678\n");
    assert_eq!(out.status.code(), Some(6));
}

fn verifies(rig: &Rig) -> usize {
    rig.sim.apdu_log().iter().filter(|r| r.ins == 0x20).count()
}

/// L3: two wrong PINs leave one try, remembered across runs; the third run sends nothing
/// until `--confirm-last-try` (a script is refused with exit code 8), then the PIN goes once.
#[test]
fn the_last_try_is_remembered_and_sent_only_when_confirmed() {
    let rig = start(ProfileName::Stincard2048);
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state/cards.json");
    for said_left in ["Restano 2", "un solo tentativo"] {
        let out = pec_with_state(&["card", "verify-pin"], "11111111\n", &state);
        assert_eq!(out.status.code(), Some(5));
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains(said_left), "{said}");
    }
    assert_eq!(verifies(&rig), 2);

    for cmd in [
        &["card", "verify-pin"][..],
        &["card", "sign", "--challenge", "00112233"][..],
    ] {
        let out = pec_with_state(cmd, "12345678\n", &state);
        assert_eq!(out.status.code(), Some(8), "{cmd:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("la carta si"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(verifies(&rig), 2, "nothing was sent to the card");

    let out = pec_with_state(
        &["card", "verify-pin", "--confirm-last-try"],
        "12345678\n",
        &state,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(verifies(&rig), 3, "the PIN went once");
    // The right PIN restored the tries: no question any more.
    let out = pec_with_state(&["card", "verify-pin"], "12345678\n", &state);
    assert!(out.status.success());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn cie_info_shows_nis_and_authenticity_before_the_pin() {
    let rig = start_cie(CieProfileName::Nxp);
    let root = std::env::temp_dir().join(format!("pec-cie-root-{}.der", std::process::id()));
    let der = rig
        .sim
        .with_cie(|c| c.credentials().root_cert.clone())
        .expect("a CIE");
    std::fs::write(&root, der).expect("write root");
    let out = pec(
        &[
            "card",
            "info",
            "--json",
            "--trust-anchor",
            root.to_str().expect("path"),
        ],
        "",
    );
    let _ = std::fs::remove_file(&root);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["interface"], "contactless");
    assert_eq!(v["profile"]["kind"]["type"], "cie3");
    assert_eq!(v["cie"]["nis"], "123456789012");
    assert_eq!(v["cie"]["certificate"], "readable_after_pin");
    assert_eq!(v["cie"]["passive_authentication"]["signature_valid"], true);
    assert_eq!(
        v["cie"]["passive_authentication"]["signer_chains_to_anchor"],
        true
    );
    assert!(
        v["codice_fiscale"].is_null(),
        "nothing of the holder before the PIN"
    );
    assert_eq!(verifies(&rig), 0);
    let list = pec(&["card", "list"], "");
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.contains("(NFC)"), "{text}");
    assert!(
        text.contains("Appoggia la CIE sul lettore e non muoverla"),
        "{text}"
    );
}

#[test]
fn cie_sign_on_every_lot_with_one_verify() {
    for p in CieProfileName::LOTS {
        let rig = start_cie(p);
        let out = pec(
            &["card", "sign", "--challenge", "00112233", "--json"],
            &format!("{CIE_PIN}\n"),
        );
        assert!(
            out.status.success(),
            "{p}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(v["signature"].as_str().map(str::len), Some(512), "{p}");
        assert_eq!(
            v["certificate"]["codice_fiscale"], "RSSMRA80A01H501U",
            "{p}"
        );
        assert_eq!(verifies(&rig), 1, "{p}");
        drop(rig);
    }
}

#[test]
fn cie_wrong_pin_prints_tries_left() {
    let rig = start_cie(CieProfileName::Gemalto);
    let out = pec(&["card", "verify-pin"], "11223344\n");
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Restano 2 tentativi"), "{err}");
    assert!(!err.contains("11223344"), "the PIN never appears in output");
    assert_eq!(verifies(&rig), 1);
    let out = pec(&["card", "verify-pin"], &format!("{CIE_PIN}\n"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(verifies(&rig), 2);
}

/// The CIE has the same guard, by its NIS: after two wrong PINs neither `verify-pin` nor `sign`
/// sends anything without `--confirm-last-try`; with it, one VERIFY, and the signature.
#[test]
fn cie_last_try_is_sent_only_when_confirmed() {
    let rig = start_cie(CieProfileName::Nxp);
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("cards.json");
    for said_left in ["Restano 2", "un solo tentativo"] {
        let out = pec_with_state(&["card", "verify-pin"], "11111111\n", &state);
        assert_eq!(out.status.code(), Some(5));
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains(said_left), "{said}");
    }
    let pin = format!("{CIE_PIN}\n");
    for cmd in [
        &["card", "verify-pin"][..],
        &["card", "sign", "--challenge", "00112233"][..],
    ] {
        let out = pec_with_state(cmd, &pin, &state);
        assert_eq!(out.status.code(), Some(8), "{cmd:?}");
    }
    assert_eq!(verifies(&rig), 2, "nothing was sent to the card");
    let out = pec_with_state(
        &[
            "card",
            "sign",
            "--challenge",
            "00112233",
            "--confirm-last-try",
        ],
        &pin,
        &state,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(verifies(&rig), 3, "the PIN went once");
}

#[test]
fn cie_short_pin_and_blocked_pin() {
    let rig = start_cie(CieProfileName::Nxp);
    let out = pec(&["card", "verify-pin"], "12345\n");
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("8 cifre"), "{err}");
    assert_eq!(verifies(&rig), 0, "a malformed PIN is never sent");
    drop(rig);
    let _rig = start_cie(CieProfileName::BlockedPin);
    let out = pec(&["card", "verify-pin"], &format!("{CIE_PIN}\n"));
    assert_eq!(out.status.code(), Some(6));
}

#[test]
fn cie_list_marks_the_nfc_reader_and_says_what_to_do() {
    let _rig = start_cie(CieProfileName::Stm3);
    let out = pec(&["card", "list"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("(NFC)"), "{text}");
    assert!(
        text.contains("Appoggia la CIE sul lettore e non muoverla."),
        "{text}"
    );
    let out = pec(&["card", "list", "--json"], "");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let with_card = v["readers"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| !r["card"].is_null()))
        .expect("a reader with the CIE");
    assert_eq!(with_card["interface"], "contactless");
}
