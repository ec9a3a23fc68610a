//! Firma digitale and firma remota through the real window: the provider's request form is
//! shown, accepted and signed (CAdES-BES) with a PKCS#11 token (SoftHSM2, set up here with a
//! qualified-shaped certificate of the virtual card's test qualified CA), with the virtual
//! STIncard's own signature DF over PC/SC, or through the sandbox's CSC remote signature; the
//! sandbox verifies the `.p7m` and the request reaches *Completato*. The copy the app saves is
//! checked on disk, also with `openssl cms -verify` (an independent implementation).

// Helpers outside `#[test]` functions: here a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use pec_card_sim::{ProfileName, SimCard, SimOptions};
use pec_e2e::{Rig, Session};

mod common;
use common::*;

/// The SoftHSM2 module (Debian `softhsm2`), which the rig offers to the app.
const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";
const TOKEN: &str = "Firma E2E";
const TOKEN_PIN: &str = "246810";

fn softhsm_conf() -> PathBuf {
    PathBuf::from(
        std::env::var("PEC_E2E_SOFTHSM2_CONF")
            .expect("PEC_E2E_SOFTHSM2_CONF (scripts/lib/services.sh start_tauri_driver)"),
    )
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .env("SOFTHSM2_CONF", softhsm_conf())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// (Re)creates the rig's one SoftHSM2 token holding the qualified signature keyset of a
/// virtual STIncard issued for `cf`; returns the qualified CA's certificate.
fn softhsm_token(cf: &'static str) -> Vec<u8> {
    let conf = softhsm_conf();
    let tokens = conf.parent().unwrap().join("tokens");
    let _ = std::fs::remove_dir_all(&tokens);
    std::fs::create_dir_all(&tokens).unwrap();
    run(
        "softhsm2-util",
        &[
            "--init-token",
            "--free",
            "--label",
            TOKEN,
            "--pin",
            TOKEN_PIN,
            "--so-pin",
            "13579111",
        ],
    );
    let mut profile = ProfileName::Stincard2048.profile();
    profile.holder.codice_fiscale = cf;
    let creds = pec_card_sim::pki::issue(&profile, "hash=").unwrap();
    let (_, cert) = creds.signature.clone().unwrap();
    let key = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/card-sim/test-keys/card-sig-2048.pem");
    run(
        "softhsm2-util",
        &[
            "--import",
            key.to_str().unwrap(),
            "--token",
            TOKEN,
            "--label",
            "firma",
            "--id",
            "10",
            "--pin",
            TOKEN_PIN,
        ],
    );
    let cert_path = conf.parent().unwrap().join("cert.der");
    std::fs::write(&cert_path, &cert).unwrap();
    run(
        "pkcs11-tool",
        &[
            "--module",
            SOFTHSM,
            "--token-label",
            TOKEN,
            "--login",
            "--pin",
            TOKEN_PIN,
            "--write-object",
            cert_path.to_str().unwrap(),
            "--type",
            "cert",
            "--id",
            "10",
            "--label",
            "firma",
        ],
    );
    creds.qualified_ca_cert
}

/// From the mailbox page to the form of `method` (`digital_signature` / `remote_signature`):
/// the form's text shown, accepted.
fn to_form(app: &Session, rig: &Rig, email: &str, method: &str, shots: &str) {
    to_methods(app, rig, &Citizen::mario(email), None);
    app.click_when_ready(&format!("[data-testid=method-{method}]"))
        .unwrap();
    at_step(app, "identifying");
    let text = app
        .wait_for_text("[data-testid=sig-form]", "the request form", |t| {
            t.contains(MARIO_CF)
        })
        .unwrap();
    assert!(
        text.contains("Modulo di richiesta di identificazione del titolare"),
        "{text}"
    );
    assert!(text.contains("Mario Rossi"), "{text}");
    shot_fit(app, rig, &format!("{shots}-5-form.png"));
    app.click_when_ready("[data-testid=sig-accept]").unwrap();
}

/// From "identified" to *Completato*: terms, e-mailed OTP.
fn to_completed(app: &Session, sandbox: &Sandbox, email: &str) {
    at_step(app, "identified");
    app.click_when_ready("[data-testid=proceed]").unwrap();
    at_step(app, "accepting_terms");
    app.click_when_ready("[data-testid=terms-service]").unwrap();
    app.click_when_ready("[data-testid=terms-contract]")
        .unwrap();
    app.click_when_ready("[data-testid=complete-request]")
        .unwrap();
    at_step(app, "otp_sent");
    let otp = sandbox.latest_otp(email);
    fill(app, "otp", &otp);
    app.click_when_ready("[data-testid=otp-confirm]").unwrap();
    at_step(app, "completed");
}

/// "Salva la copia firmata (.p7m)" on the success page: the file on disk, checked by OpenSSL
/// against `ca`; returns its bytes.
fn saved_copy(app: &Session, rig: &Rig, ca: &[u8], shots: &str) -> Vec<u8> {
    app.click_when_ready("[data-testid=sig-save-copy]").unwrap();
    let said = app
        .wait_for_text("[data-testid=sig-copy-saved]", "where the copy went", |t| {
            t.contains(".p7m")
        })
        .unwrap();
    shot_fit(app, rig, &format!("{shots}-9-saved.png"));
    let dir = rig.app_home.join("documents/PEC Desktop");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".p7m"))
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .expect("a .p7m in the documents folder");
    assert!(said.contains(&*file.to_string_lossy()), "{said}");
    let p7m = std::fs::read(&file).unwrap();
    let ca_pem = dir.join("ca.pem");
    std::fs::write(&ca_pem, pem(ca)).unwrap();
    let content = dir.join("content.pdf");
    let out = Command::new("openssl")
        .args([
            "cms", "-verify", "-cades", "-binary", "-inform", "DER", "-in",
        ])
        .arg(&file)
        .arg("-CAfile")
        .arg(&ca_pem)
        .arg("-out")
        .arg(&content)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl cms -verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pdf = std::fs::read(&content).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(
        pdf.windows(MARIO_CF.len())
            .any(|w| w == MARIO_CF.as_bytes())
    );
    p7m
}

fn pem(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).unwrap());
        s.push('\n');
    }
    s + "-----END CERTIFICATE-----\n"
}

/// Picks the rig's SoftHSM2 module in the module list (OpenSC's, found in its usual place,
/// may come first) and waits for the token's signature certificate.
fn pick_softhsm(app: &Session, rig: &Rig, name: &str) {
    pick_module(app, rig, name, SOFTHSM);
}

/// Picks the PKCS#11 module at `module` and waits for the rig's token's certificate.
fn pick_module(app: &Session, rig: &Rig, name: &str, module: &str) {
    // The first module found is read at once: let that finish (certificates, none, or an
    // error) before another is picked, as a person waits for the screen to settle.
    app.wait_for(
        "[data-testid=sig-certs], [data-testid=sig-no-certs], [data-testid=sig-sign-error]",
    )
    .unwrap();
    app.click_when_ready(&format!("[data-testid=sig-module][value='{module}']"))
        .unwrap();
    let cert = app.wait_for_text("[data-testid=sig-certs]", "the token's certificate", |t| {
        t.contains(TOKEN)
    });
    let cert = cert.unwrap_or_else(|e| {
        // What the screen said instead (an error of the module, no certificate...).
        shot(app, rig, &format!("FAILED-{name}-certs.png"));
        let said = app
            .find("[data-testid=sig-sign-error], [data-testid=sig-no-certs]")
            .and_then(|el| app.text(&el))
            .unwrap_or_default();
        panic!("{e:?}; the screen says: {said}")
    });
    assert!(cert.contains("TINIT-"), "{cert}");
}

#[test]
fn firma_digitale_with_a_pkcs11_token_to_completed_and_the_signed_copy_saved() {
    let ca = softhsm_token(MARIO_CF);
    let rig = Rig::from_env();
    let (app, sandbox, _, address, email) =
        start(&rig, "p11", private_citizen("Mario", "Rossi", MARIO_CF));
    to_form(&app, &rig, &email, "digital_signature", "p11");
    app.click_when_ready("[data-testid=sig-device-pkcs11]")
        .unwrap();
    pick_softhsm(&app, &rig, "p11");
    shot_fit(&app, &rig, "p11-6-token.png");
    fill(&app, "sig-token-pin", TOKEN_PIN);
    app.click_when_ready("[data-testid=sig-token-sign]")
        .unwrap();
    to_completed(&app, &sandbox, &email);
    saved_copy(&app, &rig, &ca, "p11");
    app.click_when_ready("[data-testid=to-security]").unwrap();
    app.wait_for(&format!(
        "[data-testid='mailbox-{address}'] [data-testid=star]"
    ))
    .expect("the European star next to the mailbox");
    assert!(!rig.logs().contains(TOKEN_PIN), "the PIN reached the log");
}

/// The `C_Login` calls the app made through OpenSC's pkcs11-spy (the rig offers it in front of
/// SoftHSM2 and points its log at `PEC_E2E_PKCS11_SPY_LOG`).
fn spied_logins() -> usize {
    let log = std::env::var("PEC_E2E_PKCS11_SPY_LOG")
        .expect("PEC_E2E_PKCS11_SPY_LOG (scripts/lib/services.sh start_tauri_driver)");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| {
            l.split_once(": ")
                .is_some_and(|(n, call)| call == "C_Login" && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .count()
}

#[test]
fn firma_digitale_through_pkcs11_a_wrong_pin_is_one_c_login_then_completed() {
    let spy = std::env::var("PEC_E2E_PKCS11_SPY")
        .expect("PEC_E2E_PKCS11_SPY (scripts/lib/services.sh start_tauri_driver)");
    let ca = softhsm_token(MARIO_CF);
    let rig = Rig::from_env();
    let (app, sandbox, _, _, email) = start(
        &rig,
        "p11-wrong",
        private_citizen("Mario", "Rossi", MARIO_CF),
    );
    to_form(&app, &rig, &email, "digital_signature", "p11-wrong");
    app.click_when_ready("[data-testid=sig-device-pkcs11]")
        .unwrap();
    pick_module(&app, &rig, "p11-wrong", &spy);
    let before = spied_logins();

    // One click with a wrong PIN: one C_Login, refused, and the screen says so.
    fill(&app, "sig-token-pin", "135790");
    app.click_when_ready("[data-testid=sig-token-sign]")
        .unwrap();
    app.wait_for_text("[data-testid=sig-sign-error]", "the wrong PIN", |t| {
        t.contains("PIN errato")
    })
    .unwrap();
    shot_fit(&app, &rig, "p11-wrong-6-pin.png");
    assert_eq!(
        spied_logins() - before,
        1,
        "exactly one C_Login for one click"
    );
    // Nothing is tried again by itself.
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(spied_logins() - before, 1, "no C_Login by itself");

    // The right PIN: one more C_Login, and the request completes.
    fill(&app, "sig-token-pin", TOKEN_PIN);
    app.click_when_ready("[data-testid=sig-token-sign]")
        .unwrap();
    to_completed(&app, &sandbox, &email);
    assert_eq!(spied_logins() - before, 2);
    saved_copy(&app, &rig, &ca, "p11-wrong");
    let logs = rig.logs();
    assert!(
        !logs.contains(TOKEN_PIN) && !logs.contains("135790"),
        "a PIN reached the log"
    );
}

#[test]
fn firma_digitale_with_the_cards_signature_df_wrong_pin_once_then_completed() {
    let card = SimCard::start(SimOptions::new(ProfileName::Stincard2048)).expect("virtual card");
    let ca = card.with_card(|c| c.credentials().qualified_ca_cert.clone());
    let rig = Rig::from_env();
    let (app, sandbox, _, _, email) =
        start(&rig, "dfds", private_citizen("Mario", "Rossi", MARIO_CF));
    to_form(&app, &rig, &email, "digital_signature", "dfds");
    app.click_when_ready("[data-testid=sig-device-card]")
        .unwrap();
    app.wait_for("[data-testid=sig-card-pin]").unwrap();
    assert_eq!(verifies(&card), 0);

    // A wrong PIN: one VERIFY, and the card's tries left in the message; nothing resent.
    fill(&app, "sig-card-pin", "11111111");
    app.click_when_ready("[data-testid=sig-card-sign]").unwrap();
    let error = app
        .wait_for_text(
            "[data-testid=sig-sign-error]",
            "the wrong-PIN message",
            |t| !t.is_empty(),
        )
        .unwrap();
    assert!(error.contains("Restano 2 tentativi"), "{error}");
    shot_fit(&app, &rig, "dfds-6-wrong-pin.png");
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(verifies(&card), 1, "exactly one VERIFY for one click");

    fill(&app, "sig-card-pin", pec_card_sim::DEFAULT_SIGN_PIN);
    app.click_when_ready("[data-testid=sig-card-sign]").unwrap();
    to_completed(&app, &sandbox, &email);
    assert_eq!(verifies(&card), 2);
    saved_copy(&app, &rig, &ca, "dfds");
    let logs = rig.logs();
    for secret in [pec_card_sim::DEFAULT_SIGN_PIN, "11111111"] {
        assert!(!logs.contains(secret), "a PIN reached the log");
    }
    drop(app);
    card.stop();
}

#[test]
fn firma_remota_through_the_csc_service_to_completed() {
    let rig = Rig::from_env();
    // firma.mario's certificate is for the sandbox's demo Mario Rossi.
    let cf = "RSSMRA45C12F205C";
    let (app, sandbox, _, _, email) = start(&rig, "csc", private_citizen("Mario", "Rossi", cf));
    // The form step needs the holder's own codice fiscale: walk with it.
    app.click_when_ready("[data-testid=confirm-identity]")
        .unwrap();
    at_step(&app, "choosing_role");
    app.click_when_ready("[data-testid=role-holder]").unwrap();
    app.click_when_ready("[data-testid=role-confirm]").unwrap();
    at_step(&app, "choosing_holder_kind");
    app.click_when_ready("[data-testid=kind-private]").unwrap();
    app.click_when_ready("[data-testid=kind-confirm]").unwrap();
    at_step(&app, "entering_data");
    fill(&app, "f-first_name", "Mario");
    fill(&app, "f-last_name", "Rossi");
    fill(&app, "f-tax_code", cf);
    fill(&app, "f-email", &email);
    app.click_when_ready("[data-testid=data-confirm]").unwrap();
    at_step(&app, "summary");
    app.click_when_ready("[data-testid=summary-proceed]")
        .unwrap();
    at_step(&app, "choosing_method");
    app.click_when_ready("[data-testid=method-remote_signature]")
        .unwrap();
    at_step(&app, "identifying");
    app.wait_for_text("[data-testid=sig-form]", "the request form", |t| {
        t.contains(cf)
    })
    .unwrap();
    app.click_when_ready("[data-testid=sig-accept]").unwrap();
    fill(&app, "sig-remote-user", "firma.mario");
    fill(
        &app,
        "sig-remote-password",
        pec_sandbox::seed::REMOTE_SIGNATURE_PASSWORD,
    );
    app.click_when_ready("[data-testid=sig-remote-sign-in]")
        .unwrap();
    app.wait_for("[data-testid=sig-credential]").unwrap();
    shot_fit(&app, &rig, "csc-6-credential.png");
    let clock = sandbox.get("/sandbox/clock", &[], None);
    let now = chrono::DateTime::parse_from_rfc3339(clock["now"].as_str().unwrap())
        .unwrap()
        .timestamp();
    let otp = pec_sandbox::totp::code("JBSWY3DPEHPK3PXP", now).unwrap();
    fill(&app, "sig-remote-otp", &otp);
    app.click_when_ready("[data-testid=sig-remote-sign]")
        .unwrap();
    to_completed(&app, &sandbox, &email);
    let ca = pec_sandbox::csc::ca_certificate().unwrap();
    // The copy made here carries firma.mario's CF, not MARIO_CF: check it with OpenSSL only.
    app.click_when_ready("[data-testid=sig-save-copy]").unwrap();
    app.wait_for("[data-testid=sig-copy-saved]").unwrap();
    let dir = rig.app_home.join("documents/PEC Desktop");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".p7m"))
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .unwrap();
    std::fs::write(dir.join("csc-ca.pem"), pem(&ca)).unwrap();
    let out = Command::new("openssl")
        .args([
            "cms", "-verify", "-cades", "-binary", "-inform", "DER", "-in",
        ])
        .arg(&file)
        .arg("-CAfile")
        .arg(dir.join("csc-ca.pem"))
        .arg("-out")
        .arg(dir.join("csc-content.pdf"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let logs = rig.logs();
    for secret in [pec_sandbox::seed::REMOTE_SIGNATURE_PASSWORD, otp.as_str()] {
        assert!(!logs.contains(secret), "a secret reached the log");
    }
}

#[test]
fn a_qualified_certificate_of_someone_else_is_the_data_mismatch_outcome() {
    // Giulia Bianchi's qualified certificate on the token; the holder is Mario Rossi.
    softhsm_token("BNCGLI85C55F205C");
    let rig = Rig::from_env();
    let (app, _, _, _, email) = start(&rig, "p11mm", private_citizen("Mario", "Rossi", MARIO_CF));
    to_form(&app, &rig, &email, "digital_signature", "p11mm");
    app.click_when_ready("[data-testid=sig-device-pkcs11]")
        .unwrap();
    pick_softhsm(&app, &rig, "p11mm");
    fill(&app, "sig-token-pin", TOKEN_PIN);
    app.click_when_ready("[data-testid=sig-token-sign]")
        .unwrap();
    at_step(&app, "data_mismatch");
    shot_fit(&app, &rig, "p11mm-7-mismatch.png");
}
