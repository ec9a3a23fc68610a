//! The CIE method through the real window, against the app's embedded sandbox: a virtual CIE
//! (`pec-card-sim`, NXP lot, PIN 12345678) in the rig's vpcd reader through pcscd ("Virtual
//! PCD", a contactless-looking reader; the card's pseudo-ATR settles it), and CieID through
//! the sandbox's simulated identity provider and phone page.
//!
//! The card's APDU log is the unwrapped one (the virtual CIE logs each command after removing
//! its secure messaging), so VERIFYs (INS 0x20) and signatures (INS 0x88 after the PIN) are
//! counted as the card saw them.

// Helpers outside `#[test]` functions: here a panic is the failure report.
#![allow(clippy::unwrap_used)]

use pec_card_sim::{CIE_PIN, CieProfileName, SimCard, SimOptions};
use pec_e2e::{Rig, Session};

mod common;
use common::*;

/// The CIE method with the computer's reader, up to the PIN field (the pre-flight passed).
fn to_pin(app: &Session, rig: &Rig, shots: &str) {
    app.click_when_ready("[data-testid=method-cie]").unwrap();
    at_step(app, "identifying");
    app.click_when_ready("[data-testid=cie-way-reader]")
        .unwrap();
    app.wait_for("[data-testid=reader-link][data-link=contactless]")
        .expect("the virtual reader shows as contactless");
    app.wait_for_text("[data-testid=cie-card]", "the CIE", |t| t.contains("CIE"))
        .unwrap();
    app.wait_for("[data-testid=cie-pin]").unwrap();
    shot_fit(app, rig, &format!("{shots}-5-cie.png"));
}

/// INTERNAL AUTHENTICATEs after the last VERIFY: the holder's signature (the ones before are
/// DAPP's chip authentication).
fn signatures_after_verify(card: &SimCard) -> usize {
    let log = card.apdu_log();
    let Some(last) = log.iter().rposition(|r| r.ins == 0x20) else {
        return 0;
    };
    log[last..].iter().filter(|r| r.ins == 0x88).count()
}

fn the_star(app: &Session, rig: &Rig, address: &str, shots: &str) {
    app.click_when_ready("[data-testid=to-security]").unwrap();
    app.wait_for("[data-testid=security]").unwrap();
    app.wait_for(&format!(
        "[data-testid='mailbox-{address}'] [data-testid=star]"
    ))
    .expect("the European star next to the mailbox");
    let state = app
        .wait_for_text("[data-testid=mailbox-state]", "the state", |t| {
            t == "Completato"
        })
        .unwrap();
    assert_eq!(state, "Completato");
    shot_fit(app, rig, &format!("{shots}-10-star.png"));
}

#[test]
fn cie_wrong_pin_then_completed_with_the_star() {
    let card = SimCard::start(SimOptions::cie(CieProfileName::Nxp)).expect("virtual CIE");
    let rig = Rig::from_env();
    let (app, sandbox, _, address, email) =
        start(&rig, "cie", private_citizen("Mario", "Rossi", MARIO_CF));
    to_methods(&app, &rig, &Citizen::mario(&email), Some("cie"));
    to_pin(&app, &rig, "cie");
    assert_eq!(verifies(&card), 0, "the pre-flight sends no VERIFY");

    // A wrong PIN: the card's answer shows the tries left; nothing is sent a second time.
    fill(&app, "cie-pin", "11111111");
    app.click_when_ready("[data-testid=cie-sign]").unwrap();
    let error = app
        .wait_for_text("[data-testid=card-error]", "the wrong-PIN message", |t| {
            !t.is_empty()
        })
        .unwrap();
    assert!(error.contains("Restano 2 tentativi"), "{error}");
    app.wait_for_text("[data-testid=card-pin]", "the tries left", |t| {
        t.contains("2 rimasti")
    })
    .unwrap();
    shot_fit(&app, &rig, "cie-5-wrong-pin.png");
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(verifies(&card), 1, "exactly one VERIFY for one click");
    assert_eq!(card.with_cie(|c| c.tries_left()), Some(2));

    fill(&app, "cie-pin", CIE_PIN);
    app.click_when_ready("[data-testid=cie-sign]").unwrap();
    terms_and_otp(&app, &rig, &sandbox, &email, "cie");
    at_step(&app, "completed");
    assert_eq!(verifies(&card), 2);
    shot_fit(&app, &rig, "cie-9-completed.png");
    the_star(&app, &rig, &address, "cie");
    let logs = rig.logs();
    for secret in [CIE_PIN, "11111111"] {
        assert!(!logs.contains(secret), "a PIN reached the log");
    }
    drop(app);
    card.stop();
}

#[test]
fn a_cie_lifted_mid_session_then_a_retry_on_the_click() {
    let card = SimCard::start(SimOptions::cie(CieProfileName::Nxp)).expect("virtual CIE");
    let rig = Rig::from_env();
    let (app, _, _, _, email) = start(
        &rig,
        "cie-lifted",
        private_citizen("Mario", "Rossi", MARIO_CF),
    );
    to_methods(&app, &rig, &Citizen::mario(&email), Some("cie-lifted"));
    to_pin(&app, &rig, "cie-lifted");

    // The card leaves the field the moment the VERIFY reaches it: never answered.
    card.pull_at_ins(0x20);
    fill(&app, "cie-pin", CIE_PIN);
    app.click_when_ready("[data-testid=cie-sign]").unwrap();
    let error = app
        .wait_for("[data-testid=card-error][data-code='card.cie_lost']")
        .expect("the lifted-card message");
    let text = app.text(&error).unwrap();
    assert!(
        text.contains("Tieni la carta appoggiata al lettore"),
        "{text}"
    );
    assert!(
        text.contains("potrebbe essere stato usato un tentativo"),
        "{text}"
    );
    shot_fit(&app, &rig, "cie-lifted-5-lost.png");
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(verifies(&card), 0, "nothing was re-sent by itself");

    // Laid down again; the retry is the holder's click, with one more VERIFY.
    card.insert(None);
    app.wait_for_text("[data-testid=cie-sign]", "the retry button", |t| {
        t.contains("Riprova")
    })
    .unwrap();
    fill(&app, "cie-pin", CIE_PIN);
    app.click_when_ready("[data-testid=cie-sign]").unwrap();
    at_step(&app, "identified");
    assert_eq!(verifies(&card), 1);
    shot_fit(&app, &rig, "cie-lifted-6-identified.png");
    drop(app);
    card.stop();
}

#[test]
fn a_cie_of_someone_else_is_stopped_before_the_provider() {
    // Giulia Bianchi's CIE, but the mailbox holder is Mario Rossi.
    let card = SimCard::start(SimOptions::cie(CieProfileName::OtherHolder)).expect("virtual CIE");
    let rig = Rig::from_env();
    let (app, _, _, _, email) = start(
        &rig,
        "cie-other",
        private_citizen("Mario", "Rossi", MARIO_CF),
    );
    to_methods(&app, &rig, &Citizen::mario(&email), Some("cie-other"));
    to_pin(&app, &rig, "cie-other");
    fill(&app, "cie-pin", CIE_PIN);
    app.click_when_ready("[data-testid=cie-sign]").unwrap();
    let error = app
        .wait_for("[data-testid=card-error][data-code='card.tax_code_mismatch']")
        .expect("the holder check's message");
    let text = app.text(&error).unwrap();
    assert!(text.contains("BNCGLI85C55F205C"), "{text}");
    assert!(text.contains(MARIO_CF), "{text}");
    shot_fit(&app, &rig, "cie-other-5-mismatch.png");
    // The PIN was verified once (the certificate is readable only after it); no signature was
    // made, so nothing about the card could reach the provider, and the request is where it was.
    assert_eq!(verifies(&card), 1);
    assert_eq!(signatures_after_verify(&card), 0, "no signature");
    at_step(&app, "identifying");
    drop(app);
    card.stop();
}

#[test]
fn cieid_on_the_phone_through_the_sandbox_to_completed() {
    let rig = Rig::from_env();
    let (app, sandbox, _, address, email) =
        start(&rig, "cieid", private_citizen("Mario", "Rossi", MARIO_CF));
    to_methods(&app, &rig, &Citizen::mario(&email), Some("cieid"));
    app.click_when_ready("[data-testid=method-cie]").unwrap();
    at_step(&app, "identifying");
    app.click_when_ready("[data-testid=cie-way-phone]").unwrap();
    shot_fit(&app, &rig, "cieid-5-button.png");
    app.click_when_ready("[data-testid=cieid-start]").unwrap();
    let url = app
        .wait_for_text("[data-testid=cieid-url]", "the CieID page link", |t| {
            t.starts_with("http")
        })
        .unwrap();
    app.wait_for("[data-testid=qr]").unwrap();
    shot_fit(&app, &rig, "cieid-5-qr.png");
    // The browser page carries the QR code of the phone page; the test plays the CieID app.
    let page = sandbox.http.get(&url).send().unwrap().text().unwrap();
    assert!(page.contains("<svg"), "the page shows a QR code");
    let phone = url.replace("/sandbox/cieid/login/", "/sandbox/cieid/phone/");
    assert!(page.contains(&phone), "the QR code's page is linked");
    let app_page = sandbox.http.get(&phone).send().unwrap().text().unwrap();
    assert!(app_page.contains(MARIO_CF));
    let r = sandbox
        .http
        .post(&phone)
        .form(&[("tax_code", MARIO_CF), ("decision", "authorise")])
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    terms_and_otp(&app, &rig, &sandbox, &email, "cieid");
    at_step(&app, "completed");
    shot_fit(&app, &rig, "cieid-9-completed.png");
    the_star(&app, &rig, &address, "cieid");
}

/// Two wrong PINs leave the CIE one try: the pre-flight says so, and the next PIN goes to the
/// card only once the holder answers "Continua" to the last-try question ("Annulla" sends
/// nothing). The card's log counts the VERIFYs: 2, still 2, then 3.
#[test]
fn a_cie_on_its_last_try_asks_before_the_pin_goes() {
    let card = SimCard::start(SimOptions::cie(CieProfileName::Nxp)).expect("virtual CIE");
    let rig = Rig::from_env();
    let (app, _, _, _, email) = start(
        &rig,
        "cie-last",
        private_citizen("Mario", "Rossi", MARIO_CF),
    );
    to_methods(&app, &rig, &Citizen::mario(&email), Some("cie-last"));
    to_pin(&app, &rig, "cie-last");
    for (wrong, message) in [
        ("11111111", "Restano 2 tentativi"),
        ("22222222", "Resta un solo tentativo"),
    ] {
        fill(&app, "cie-pin", wrong);
        app.click_when_ready("[data-testid=cie-sign]").unwrap();
        app.wait_for_text("[data-testid=card-error]", "the wrong-PIN message", |t| {
            t.contains(message)
        })
        .unwrap();
    }
    app.wait_for_text("[data-testid=card-pin]", "one try left", |t| {
        t.contains("1 rimasto")
    })
    .unwrap();
    assert_eq!(card.with_cie(|c| c.tries_left()), Some(1));
    assert_eq!(verifies(&card), 2);

    fill(&app, "cie-pin", CIE_PIN);
    app.click_when_ready("[data-testid=cie-sign]").unwrap();
    let question = app
        .wait_for_text("[data-testid=cie-last-try]", "the last-try question", |t| {
            !t.is_empty()
        })
        .unwrap();
    assert!(question.contains("si blocca"), "{question}");
    shot_fit(&app, &rig, "cie-last-try.png");
    app.click_when_ready("[data-testid=cie-last-try-cancel]")
        .unwrap();
    app.wait_for("[data-testid=cie-pin]").unwrap();
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(verifies(&card), 2, "Annulla sends nothing");

    fill(&app, "cie-pin", CIE_PIN);
    app.click_when_ready("[data-testid=cie-sign]").unwrap();
    app.click_when_ready("[data-testid=cie-last-try-continue]")
        .unwrap();
    at_step(&app, "identified");
    assert_eq!(verifies(&card), 3, "one VERIFY, once confirmed");
    assert_eq!(card.with_cie(|c| c.tries_left()), Some(3));
    drop(app);
    card.stop();
}
