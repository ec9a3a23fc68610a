//! `pec sign` / `pec verify` end to end, the binary against real parts: the virtual STIncard
//! through pcscd + vpcd (native DF_DS, and OpenSC's `opensc-pkcs11.so` as the `--module`), and
//! a `pec sandbox serve` process for the CSC remote signature. Every `.p7m` is also checked by
//! `openssl cms -verify`. Needs the rig (`PEC_PCSC_RIG=1`, see scripts/rig/pcsc.sh) for the
//! card tests; fails without it.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use pec_card_sim::{DEFAULT_SIGN_PIN, ProfileName, SimCard, SimOptions, vpcd_reader_name};

const OPENSC: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";

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

fn start() -> Rig {
    if std::env::var("PEC_PCSC_RIG").as_deref() != Ok("1") {
        panic!(
            "This test needs pcscd with vsmartcard-vpcd (PEC_PCSC_RIG=1 is not set). Run it \
             through the project test command, or: source scripts/rig/pcsc.sh && \
             pcsc_rig_start target/pcsc-rig && cargo test -p pec"
        );
    }
    let slot = SLOT0.lock().unwrap_or_else(PoisonError::into_inner);
    wait_reader(pcsc::State::EMPTY);
    let sim = SimCard::start(SimOptions::new(ProfileName::Stincard2048)).expect("sim");
    assert!(sim.wait_powered(Duration::from_secs(15)));
    wait_reader(pcsc::State::PRESENT);
    Rig { sim, _slot: slot }
}

fn pec(args: &[&str], stdin: &str) -> Output {
    // What PIN attempts teach is kept in the target dir, never in the user's state folder.
    let state = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sign-commands-cards.json");
    pec_with_state(args, stdin, &state)
}

fn pec_with_state(args: &[&str], stdin: &str, state: &Path) -> Output {
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
        .expect("write stdin");
    child.wait_with_output().expect("output")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// VERIFY commands the card received (their P2, the PIN reference).
fn verifies(sim: &SimCard) -> Vec<u8> {
    sim.apdu_log()
        .iter()
        .filter(|r| r.ins == 0x20)
        .map(|r| r.p2)
        .collect()
}

fn pem(der: &[u8]) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-inform", "DER"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().expect("stdin").write_all(der)?;
            c.wait_with_output()
        })
        .expect("openssl x509");
    assert!(out.status.success());
    text(&out.stdout)
}

/// `openssl cms -verify -cades` (an independent implementation) on `p7m`, trusting `ca_pem`:
/// the content it extracts.
fn openssl_content(p7m: &Path, ca_pem: &Path, dir: &Path) -> Vec<u8> {
    let out_path = dir.join("openssl-content");
    let out = Command::new("openssl")
        .args([
            "cms", "-verify", "-cades", "-binary", "-inform", "DER", "-in",
        ])
        .args([s(p7m), "-CAfile", s(ca_pem), "-out", s(&out_path)])
        .output()
        .expect("openssl");
    assert!(out.status.success(), "openssl: {}", text(&out.stderr));
    std::fs::read(out_path).expect("content")
}

fn document(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let mut doc = b"%PDF-1.7\n% Modulo di richiesta di identificazione del titolare\n".to_vec();
    doc.extend((0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    let path = dir.join("modulo.pdf");
    std::fs::write(&path, &doc).expect("write doc");
    (path, doc)
}

/// The signature PIN's last try: two wrong signature PINs are remembered (apart from the
/// authentication PIN), the third run sends nothing without `--confirm-last-try` (exit 8), and
/// with it the PIN goes once and signs.
#[test]
fn the_signature_pin_last_try_is_sent_only_when_confirmed() {
    let rig = start();
    let dir = tempfile::tempdir().expect("tmp");
    let state = dir.path().join("cards.json");
    let (doc_path, _) = document(dir.path());
    let p7m = dir.path().join("modulo.pdf.p7m");
    let args = ["sign", "--in", s(&doc_path), "--out", s(&p7m)];
    rig.sim.clear_apdu_log();
    for _ in 0..2 {
        let out = pec_with_state(&args, "99999999\n", &state);
        assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    }
    let out = pec_with_state(&args, &format!("{DEFAULT_SIGN_PIN}\n"), &state);
    assert_eq!(out.status.code(), Some(8), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("la carta si"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        verifies(&rig.sim),
        vec![0x9A, 0x9A],
        "nothing sent on the last try"
    );
    // The authentication PIN is not affected by the signature PIN's failures.
    let out = pec_with_state(&["card", "verify-pin"], "12345678\n", &state);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let mut confirmed = args.to_vec();
    confirmed.push("--confirm-last-try");
    rig.sim.clear_apdu_log();
    let out = pec_with_state(&confirmed, &format!("{DEFAULT_SIGN_PIN}\n"), &state);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(verifies(&rig.sim), vec![0x9A], "the PIN went once");
    assert!(p7m.exists());
}

#[test]
fn native_signature_then_verify_valid_untrusted_and_tampered() {
    let rig = start();
    let dir = tempfile::tempdir().expect("tmp");
    let (doc_path, doc) = document(dir.path());
    let p7m = dir.path().join("modulo.pdf.p7m");
    let ca = dir.path().join("qualified-ca.pem");
    let auth_ca = dir.path().join("cns-ca.pem");
    let (qualified, cns) = rig.sim.with_card(|c| {
        let cr = c.credentials();
        (cr.qualified_ca_cert.clone(), cr.ca_cert.clone())
    });
    std::fs::write(&ca, pem(&qualified)).expect("ca");
    std::fs::write(&auth_ca, pem(&cns)).expect("ca");

    rig.sim.clear_apdu_log();
    let out = pec(
        &["sign", "--in", s(&doc_path), "--out", s(&p7m)],
        &format!("{DEFAULT_SIGN_PIN}\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("TINIT-RSSMRA80A01H501U"));
    assert_eq!(verifies(&rig.sim), vec![0x9A], "one VERIFY, signature PIN");
    assert_eq!(openssl_content(&p7m, &ca, dir.path()), doc);

    // Valid for the qualified CA, with who signed and the content intact.
    let extracted = dir.path().join("extracted.pdf");
    let out = pec(
        &[
            "verify",
            s(&p7m),
            "--ca",
            s(&ca),
            "--extract",
            s(&extracted),
        ],
        "",
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("RSSMRA80A01H501U"), "{stdout}");
    assert!(stdout.contains("contenuto:        integro"), "{stdout}");
    assert!(stdout.contains("FIRMA VALIDA"), "{stdout}");
    assert_eq!(std::fs::read(&extracted).expect("extracted"), doc);

    let out = pec(&["verify", s(&p7m), "--ca", s(&ca), "--json"], "");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["valid"], true);
    assert_eq!(v["signer"]["codice_fiscale"], "RSSMRA80A01H501U");
    assert_eq!(v["signer"]["non_repudiation"], true);

    // Without a CA: intact but the signer is not verified (exit 4, not 0).
    let out = pec(&["verify", s(&p7m)], "");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stdout));
    // The CNS (authentication) CA did not issue the signature certificate.
    let out = pec(&["verify", s(&p7m), "--ca", s(&auth_ca)], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("NON VALIDA"),
        "{}",
        text(&out.stdout)
    );

    // One byte of the content changed: refused, and no content extracted.
    let mut bytes = std::fs::read(&p7m).expect("p7m");
    let at = bytes
        .windows(8)
        .position(|w| w == b"%PDF-1.7")
        .expect("content inside")
        + 20;
    bytes[at] ^= 0x01;
    let tampered = dir.path().join("tampered.p7m");
    std::fs::write(&tampered, &bytes).expect("write");
    let _ = std::fs::remove_file(&extracted);
    let out = pec(
        &[
            "verify",
            s(&tampered),
            "--ca",
            s(&ca),
            "--extract",
            s(&extracted),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("NON VALIDA"),
        "{}",
        text(&out.stdout)
    );
    assert!(!extracted.exists());
    let openssl = Command::new("openssl")
        .args([
            "cms", "-verify", "-cades", "-binary", "-inform", "DER", "-in",
        ])
        .args([s(&tampered), "-CAfile", s(&ca), "-out", "/dev/null"])
        .output()
        .expect("openssl");
    assert!(!openssl.status.success(), "OpenSSL refuses it too");
}

#[test]
fn opensc_module_signature_and_wrong_pin() {
    let rig = start();
    let dir = tempfile::tempdir().expect("tmp");
    let (doc_path, doc) = document(dir.path());
    let p7m = dir.path().join("modulo.pdf.p7m");
    let ca = dir.path().join("qualified-ca.pem");
    let qualified = rig
        .sim
        .with_card(|c| c.credentials().qualified_ca_cert.clone());
    std::fs::write(&ca, pem(&qualified)).expect("ca");

    rig.sim.clear_apdu_log();
    let out = pec(
        &[
            "sign",
            "--module",
            OPENSC,
            "--in",
            s(&doc_path),
            "--out",
            s(&p7m),
        ],
        "99999\n",
    );
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("PIN"), "{}", text(&out.stderr));
    assert_eq!(verifies(&rig.sim), vec![0x9A], "one C_Login, never retried");
    assert!(!p7m.exists());

    let out = pec(
        &[
            "sign",
            "--module",
            OPENSC,
            "--in",
            s(&doc_path),
            "--out",
            s(&p7m),
        ],
        &format!("{DEFAULT_SIGN_PIN}\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(openssl_content(&p7m, &ca, dir.path()), doc);
    let out = pec(&["verify", s(&p7m), "--ca", s(&ca)], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

/// A real `pec sandbox serve` process on loopback, stopped by SIGTERM on drop.
struct SandboxProcess {
    child: std::process::Child,
    base: String,
}

impl SandboxProcess {
    fn start(dir: &Path) -> SandboxProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pec"))
            .args([
                "sandbox",
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--no-demo",
                "--db",
            ])
            .arg(dir.join("sandbox.sqlite"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("pec sandbox serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("first line");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        SandboxProcess { child, base }
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn otp(user: &str) -> String {
    let (_, secret, _) = pec_sandbox::seed::REMOTE_SIGNATURE_ACCOUNTS
        .iter()
        .find(|(u, _, _)| *u == user)
        .expect("account");
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    pec_sandbox::totp::code(secret, i64::try_from(now).expect("time")).expect("totp")
}

#[test]
fn remote_signature_against_a_sandbox_process() {
    let dir = tempfile::tempdir().expect("tmp");
    let sandbox = SandboxProcess::start(dir.path());
    let csc = format!("{}/csc/v2", sandbox.base);
    let (doc_path, doc) = document(dir.path());
    let p7m = dir.path().join("modulo.pdf.p7m");
    let ca = dir.path().join("csc-ca.pem");
    std::fs::write(
        &ca,
        pem(&pec_sandbox::csc::ca_certificate().expect("CSC CA")),
    )
    .expect("ca");
    let password = pec_sandbox::seed::REMOTE_SIGNATURE_PASSWORD;
    let args = [
        "sign",
        "--csc",
        &csc,
        "--user",
        "firma.mario",
        "--credential",
        "firma.mario-qes",
        "--in",
        s(&doc_path),
        "--out",
        s(&p7m),
    ];

    let out = pec(&args, &format!("{password}\n000000\n"));
    assert_eq!(
        out.status.code(),
        Some(5),
        "wrong OTP: {}",
        text(&out.stderr)
    );
    assert!(
        !text(&out.stderr).contains(password),
        "no secret in the output"
    );
    assert!(!p7m.exists());

    let code = otp("firma.mario");
    let out = pec(&args, &format!("{password}\n{code}\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains(&code));
    assert_eq!(openssl_content(&p7m, &ca, dir.path()), doc);
    let out = pec(&["verify", s(&p7m), "--ca", s(&ca), "--json"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["signer"]["codice_fiscale"], "RSSMRA45C12F205C");
    assert_eq!(v["signer"]["qc_compliance"], true);

    // The same OTP a second time: refused by the service.
    let again = dir.path().join("again.p7m");
    let mut replay = args.to_vec();
    let last = replay.len() - 1;
    replay[last] = s(&again);
    let out = pec(&replay, &format!("{password}\n{code}\n"));
    assert_eq!(
        out.status.code(),
        Some(5),
        "OTP replay: {}",
        text(&out.stderr)
    );
}
