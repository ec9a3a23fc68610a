//! The identity-confirmation wizard through the real window, against the app's embedded
//! sandbox and the virtual card in the rig's pcscd (vsmartcard-vpcd).
//!
//! Each test seeds its own account through the sandbox-only endpoint, so tests do not depend
//! on one another's leftovers in the shared app home. The sandbox's outbox gives the OTP, its
//! clock expires it, and the card's APDU log proves what reached the card.

// Helpers outside `#[test]` functions: here a panic is the failure report.
#![allow(clippy::unwrap_used)]

use pec_card_sim::{ProfileName, SimCard, SimOptions};
use pec_e2e::{Rig, Session, keys};

use serde_json::json;

mod common;
use common::*;

/// The code `firma.mario`'s authenticator app shows now, at the provider's (movable) clock.
fn remote_signature_code(sandbox: &Sandbox) -> String {
    totp_now(sandbox, "JBSWY3DPEHPK3PXP")
}

/// The code an authenticator app holding `secret` shows now, at the provider's clock.
fn totp_now(sandbox: &Sandbox, secret: &str) -> String {
    let clock = sandbox.get("/sandbox/clock", &[], None);
    let now = chrono::DateTime::parse_from_rfc3339(clock["now"].as_str().unwrap())
        .unwrap()
        .timestamp();
    pec_sandbox::totp::code(secret, now).unwrap()
}

#[test]
fn cns_path_wrong_pin_then_otp_expiry_resend_and_completed_with_the_star() {
    let card = SimCard::start(SimOptions::new(ProfileName::Stincard2048)).expect("virtual card");
    let rig = Rig::from_env();
    let (app, sandbox, _, address, email) =
        start(&rig, "cns", private_citizen("Mario", "Rossi", MARIO_CF));
    to_methods(&app, &rig, &Citizen::mario(&email), Some("cns"));

    app.click_when_ready("[data-testid=method-cns]").unwrap();
    at_step(&app, "identifying");
    let owner = app
        .wait_for_text("[data-testid=card-owner]", "the card holder", |t| {
            !t.is_empty()
        })
        .unwrap();
    assert_eq!(owner, "Mario Rossi");
    app.wait_for("[data-testid=card-matches]").unwrap();
    shot_fit(&app, &rig, "cns-5-card.png");
    assert_eq!(verifies(&card), 0, "the pre-flight sends no VERIFY");

    // A wrong PIN: the card's answer shows the tries left; nothing is sent a second time.
    fill(&app, "pin", "11111111");
    app.click_when_ready("[data-testid=card-sign]").unwrap();
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
    shot_fit(&app, &rig, "cns-5-wrong-pin.png");
    // The message took the focus and stays in view after the card panel was read again.
    assert_eq!(
        app.focused_testid().unwrap().as_deref(),
        Some("card-error"),
        "focus on the new error"
    );
    let valid = app
        .text(&app.find("[data-testid=card-valid-until]").unwrap())
        .unwrap();
    assert!(
        valid.split_whitespace().count() == 3 && !valid.contains('-'),
        "the certificate's end in Italian words, got {valid:?}"
    );
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(verifies(&card), 1, "exactly one VERIFY for one click");
    assert_eq!(card.with_card(|c| c.tries_left(0x10)), Some(2));

    // A second wrong PIN leaves the last try: the next click asks first (L3), and nothing
    // reaches the card until the holder says "Continua".
    fill(&app, "pin", "22222222");
    app.click_when_ready("[data-testid=card-sign]").unwrap();
    app.wait_for_text("[data-testid=card-pin]", "one try left", |t| {
        t.contains("1 rimasto")
    })
    .unwrap();
    assert_eq!(verifies(&card), 2);
    fill(&app, "pin", pec_card_sim::DEFAULT_PIN);
    app.click_when_ready("[data-testid=card-sign]").unwrap();
    let question = app
        .wait_for_text("[data-testid=last-try]", "the last-try question", |t| {
            !t.is_empty()
        })
        .unwrap();
    assert!(
        question.contains("È l'ultimo tentativo: se il PIN è sbagliato la carta si blocca"),
        "{question}"
    );
    shot_fit(&app, &rig, "cns-5-last-try.png");
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(verifies(&card), 2, "no VERIFY before the confirmation");
    app.click_when_ready("[data-testid=last-try-continue]")
        .unwrap();
    at_step(&app, "identified");
    assert_eq!(verifies(&card), 3);
    assert_eq!(card.with_card(|c| c.tries_left(0x10)), Some(3));

    // The OTP expires (sandbox clock +61 s): refused, sent again, then accepted.
    let identified = app.text(&app.find("#wizard-heading").unwrap()).unwrap();
    app.click_when_ready("[data-testid=proceed]").unwrap();
    at_step(&app, "accepting_terms");
    // The provider's texts, from the API, before the checkboxes.
    let conditions = app
        .wait_for_text("[data-testid=terms-text]", "the conditions", |t| {
            t.contains("Condizioni di servizio") && t.contains("Informativa contrattuale")
        })
        .unwrap();
    assert!(conditions.contains("Gestore"), "{conditions}");
    shot_fit(&app, &rig, "cns-7-terms.png");
    app.click_when_ready("[data-testid=terms-service]").unwrap();
    app.click_when_ready("[data-testid=terms-contract]")
        .unwrap();
    app.click_when_ready("[data-testid=complete-request]")
        .unwrap();
    at_step(&app, "otp_sent");
    let first = sandbox.latest_otp(&email);
    sandbox.post("/sandbox/clock/advance", json!({ "seconds": 61 }));
    fill(&app, "otp", &first);
    app.click_when_ready("[data-testid=otp-confirm]").unwrap();
    app.wait_for("[data-testid=wizard-error]").unwrap();
    shot_fit(&app, &rig, "cns-8-otp-expired.png");
    app.click_when_ready("[data-testid=resend]").unwrap();
    app.wait_for_text("[data-testid=wizard-notice]", "the resend notice", |t| {
        t.contains("Nuovo codice inviato")
    })
    .unwrap();
    let second = sandbox.latest_otp(&email);
    fill(&app, "otp", &second);
    app.click_when_ready("[data-testid=otp-confirm]").unwrap();
    at_step(&app, "completed");
    let completed = app.text(&app.find("#wizard-heading").unwrap()).unwrap();
    assert_ne!(
        identified, completed,
        "step 7 and step 10 say different things"
    );
    shot_fit(&app, &rig, "cns-9-completed.png");

    app.click_when_ready("[data-testid=to-security]").unwrap();
    app.wait_for("[data-testid=security]").unwrap();
    let star = app
        .wait_for(&format!(
            "[data-testid='mailbox-{address}'] [data-testid=star]"
        ))
        .expect("the European star next to the mailbox");
    assert!(app.attribute(&star, "aria-label").unwrap().is_some());
    let state = app
        .wait_for_text("[data-testid=mailbox-state]", "the state", |t| {
            t == "Completato"
        })
        .unwrap();
    assert_eq!(state, "Completato");
    shot_fit(&app, &rig, "cns-10-star.png");
    // Success e-mails went to the ordinary address too.
    assert!(sandbox.outbox_to(&email).len() >= 3);
    let logs = rig.logs();
    for secret in [
        pec_card_sim::DEFAULT_PIN,
        "11111111",
        "22222222",
        first.as_str(),
        second.as_str(),
    ] {
        assert!(!logs.contains(secret), "a secret reached the log");
    }
    drop(app);
    card.stop();
}

/// L9: a request whose codes are used up (five resends) is not a dead end: the OTP step offers
/// "Ricomincia la procedura", which takes the request back to the first question.
#[test]
fn codes_used_up_then_ricomincia_la_procedura_starts_over() {
    let card = SimCard::start(SimOptions::new(ProfileName::Stincard2048)).expect("virtual card");
    let rig = Rig::from_env();
    let (app, sandbox, account, address, email) = start(
        &rig,
        "startover",
        private_citizen("Mario", "Rossi", MARIO_CF),
    );
    to_methods(&app, &rig, &Citizen::mario(&email), Some("startover"));
    app.click_when_ready("[data-testid=method-cns]").unwrap();
    at_step(&app, "identifying");
    app.wait_for("[data-testid=card-matches]").unwrap();
    fill(&app, "pin", pec_card_sim::DEFAULT_PIN);
    app.click_when_ready("[data-testid=card-sign]").unwrap();
    at_step(&app, "identified");
    app.click_when_ready("[data-testid=proceed]").unwrap();
    at_step(&app, "accepting_terms");
    app.click_when_ready("[data-testid=terms-service]").unwrap();
    app.click_when_ready("[data-testid=terms-contract]")
        .unwrap();
    app.click_when_ready("[data-testid=complete-request]")
        .unwrap();
    at_step(&app, "otp_sent");

    // The five resends the provider allows, spent through its API as the same account (the
    // sandbox clock skips each 30-second cooldown).
    let token = sandbox
        .http
        .post(format!("{}/v1/sessions", sandbox.url))
        .json(&json!({ "login": account, "password": common::PASSWORD }))
        .send()
        .unwrap()
        .json::<serde_json::Value>()
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mailbox = sandbox.get(&format!("/v1/mailboxes/{address}"), &[], Some(&token));
    let id = mailbox["active_identity_request"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..5 {
        sandbox.post("/sandbox/clock/advance", json!({ "seconds": 31 }));
        let r = sandbox
            .http
            .post(format!("{}/v1/identity-requests/{id}/actions", sandbox.url))
            .bearer_auth(&token)
            .json(&json!({ "type": "resend_otp" }))
            .send()
            .unwrap();
        assert!(r.status().is_success(), "resend: {}", r.status());
    }
    sandbox.post("/sandbox/clock/advance", json!({ "seconds": 31 }));

    // In the window: a wrong code (so "Invia di nuovo" may be pressed at once), then the sixth
    // code is refused, and the way out is offered.
    fill(&app, "otp", "000000");
    app.click_when_ready("[data-testid=otp-confirm]").unwrap();
    app.wait_for("[data-testid=wizard-error]").unwrap();
    app.click_when_ready("[data-testid=resend]").unwrap();
    let offer = app
        .wait_for_text("[data-testid=start-over-box]", "the way out", |t| {
            !t.is_empty()
        })
        .unwrap();
    assert!(offer.contains("Ricomincia la procedura"), "{offer}");
    shot_fit(&app, &rig, "startover-1-codes-used-up.png");
    app.click_when_ready("[data-testid=start-over]").unwrap();
    at_step(&app, "choosing_role");
    shot_fit(&app, &rig, "startover-2-first-question.png");
    drop(app);
    card.stop();
}

#[test]
fn preflight_stops_a_card_of_someone_else_before_the_provider() {
    // Giulia Bianchi's card, but the mailbox holder is Mario Rossi.
    let card = SimCard::start(SimOptions::new(ProfileName::Athena2048)).expect("virtual card");
    let rig = Rig::from_env();
    let (app, _, _, _, email) = start(
        &rig,
        "mismatch",
        private_citizen("Mario", "Rossi", MARIO_CF),
    );
    to_methods(&app, &rig, &Citizen::mario(&email), Some("mismatch"));
    app.click_when_ready("[data-testid=method-cns]").unwrap();
    let problems = app
        .wait_for_text(
            "[data-testid=preflight-problems]",
            "the pre-flight warning",
            |t| !t.is_empty(),
        )
        .unwrap();
    assert!(problems.contains("BNCGLI85C55F205C"), "{problems}");
    assert!(problems.contains(MARIO_CF), "{problems}");
    assert!(
        app.find("[data-testid=pin]").is_err(),
        "no PIN field for a wrong card"
    );
    assert_eq!(verifies(&card), 0);
    shot_fit(&app, &rig, "mismatch-5-preflight.png");
    drop(app);
    card.stop();
}

#[test]
fn spid_login_completed_on_the_sandbox_identity_provider_page() {
    let rig = Rig::from_env();
    let cf = "RSSMRA45C12F205C"; // a test identity of the sandbox's SPID page
    let (app, sandbox, _, _, email) = start(&rig, "spid", private_citizen("Mario", "Rossi", cf));
    to_methods(
        &app,
        &rig,
        &Citizen {
            cf,
            ..Citizen::mario(&email)
        },
        Some("spid"),
    );
    app.click_when_ready("[data-testid=method-spid]").unwrap();
    app.click_when_ready("[data-testid=spid-start]").unwrap();
    let url = app
        .wait_for_text("[data-testid=spid-url]", "the SPID page link", |t| {
            t.starts_with("http")
        })
        .unwrap();
    app.wait_for("[data-testid=qr]").unwrap();
    shot_fit(&app, &rig, "spid-5-qr.png");
    // The test plays the user at the identity provider's page.
    let page = sandbox.http.get(&url).send().unwrap().text().unwrap();
    assert!(page.contains(cf), "the test identity is offered");
    let r = sandbox
        .http
        .post(&url)
        .form(&[("tax_code", cf), ("decision", "authorise")])
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    terms_and_otp(&app, &rig, &sandbox, &email, "spid");
    at_step(&app, "completed");
    shot_fit(&app, &rig, "spid-9-completed.png");
}

#[test]
fn firma_remota_with_the_app_code_to_completed() {
    let rig = Rig::from_env();
    // `firma.mario` of the sandbox's remote-signature accounts signs for this codice fiscale.
    let cf = "RSSMRA45C12F205C";
    let (app, sandbox, _, _, email) = start(&rig, "remote", private_citizen("Mario", "Rossi", cf));
    to_methods(
        &app,
        &rig,
        &Citizen {
            cf,
            ..Citizen::mario(&email)
        },
        Some("remote"),
    );
    app.click_when_ready("[data-testid=method-remote_signature]")
        .unwrap();
    // The request form to sign, accepted; then the remote signature service (CSC API).
    app.wait_for("[data-testid=sig-form]").unwrap();
    shot_fit(&app, &rig, "remote-5-form.png");
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
    let code = remote_signature_code(&sandbox);
    fill(&app, "sig-remote-otp", &code);
    app.click_when_ready("[data-testid=sig-remote-sign]")
        .unwrap();
    terms_and_otp(&app, &rig, &sandbox, &email, "remote");
    at_step(&app, "completed");
    shot_fit(&app, &rig, "remote-9-completed.png");
    let logs = rig.logs();
    assert!(
        !logs.contains(pec_sandbox::seed::REMOTE_SIGNATURE_PASSWORD) && !logs.contains(&code),
        "no remote-signature secret in the logs"
    );

    // Identity confirmed: two-step login, then an app password, which the provider gives only
    // against a fresh code of the mailbox (step-up), whatever the session proved before.
    app.click_when_ready("[data-testid=to-security]").unwrap();
    app.click_when_ready("[data-testid=two-step-start]")
        .unwrap();
    let secret_field = app.wait_for("[data-testid=two-step-secret]").unwrap();
    let secret = app.text(&secret_field).unwrap().trim().to_owned();
    fill(&app, "two-step-code", &totp_now(&sandbox, &secret));
    app.click_when_ready("[data-testid=two-step-confirm]")
        .unwrap();
    app.wait_for("[data-testid=two-step-on]").unwrap();
    // A code is accepted once: the next one is of the next 30-second step.
    sandbox.post("/sandbox/clock/advance", json!({ "seconds": 30 }));
    fill(&app, "app-pw-label", "Thunderbird");
    fill(&app, "app-pw-code", "000000");
    app.click_when_ready("[data-testid=app-pw-create]").unwrap();
    app.wait_for_text("[data-testid=security-error]", "the refusal", |t| {
        t.contains("odice")
    })
    .unwrap();
    assert!(
        app.find("[data-testid=app-password]").is_err(),
        "no app password for a wrong code"
    );
    let fresh = totp_now(&sandbox, &secret);
    fill(&app, "app-pw-code", &fresh);
    app.click_when_ready("[data-testid=app-pw-create]").unwrap();
    let password = app
        .wait_for_text("[data-testid=app-password]", "the new app password", |t| {
            t.len() >= 16
        })
        .unwrap();
    shot_fit(&app, &rig, "remote-10-app-password.png");
    assert!(
        !rig.logs().contains(password.trim()),
        "the app password is not logged"
    );
    app_password_copy_is_wiped(&app, &rig, password.trim());
}

#[test]
fn webcam_booking_then_the_operators_approval_moves_the_wizard_on() {
    let rig = Rig::from_env();
    let cf = "CNTCHR83T41D969D";
    let (app, sandbox, _, _, email) = start(&rig, "webcam", private_citizen("Chiara", "Conti", cf));
    to_methods(
        &app,
        &rig,
        &Citizen {
            first: "Chiara",
            last: "Conti",
            cf,
            email: &email,
        },
        Some("webcam"),
    );
    app.click_when_ready("[data-testid=method-webcam]").unwrap();
    app.wait_for("[data-testid=webcam-slot]").unwrap();
    shot_fit(&app, &rig, "webcam-5-slots.png");
    app.click_when_ready("[data-testid=webcam-book]").unwrap();
    let booked = app.wait_for("[data-testid=webcam-booked]").unwrap();
    let booking = app.attribute(&booked, "data-booking").unwrap().unwrap();
    shot_fit(&app, &rig, "webcam-6-booked.png");
    // The operator approves after the call, in the provider's back office; the open wizard
    // notices by itself.
    sandbox.post(
        &format!("/sandbox/webcam/bookings/{booking}/decision"),
        json!({ "approved": true, "tax_code": cf }),
    );
    terms_and_otp(&app, &rig, &sandbox, &email, "webcam");
    at_step(&app, "completed");
    shot_fit(&app, &rig, "webcam-9-completed.png");
}

/// Tab to a control, checking on the way that it can be reached and shows its focus.
fn tab(app: &Session, testid: &str) {
    app.tab_to(testid, 40).unwrap();
}

#[test]
fn keyboard_only_from_sign_in_to_completed() {
    let rig = Rig::from_env();
    let cf = "RSSMRA45C12F205C";
    let app = rig.launch().expect("app window starts");
    signed_out(&app);
    let sandbox = Sandbox::of(&rig);
    let (account, _, email) = sandbox.seed("keyboard", private_citizen("Mario", "Rossi", cf));

    // Sign-in: no mouse from here on, only Tab, Space, Enter and typing.
    app.wait_for("[data-testid=login]").unwrap();
    let login = app.find("[data-testid=login]").unwrap();
    app.clear(&login).unwrap();
    app.execute(
        "document.activeElement.blur(); document.body.focus();",
        json!([]),
    )
    .unwrap();
    tab(&app, "login");
    app.press(&account).unwrap();
    tab(&app, "password");
    app.press(PASSWORD).unwrap();
    app.press(keys::ENTER).unwrap();
    app.wait_for("[data-testid=mailbox-title]").unwrap();

    tab(&app, "confirm-identity");
    app.press(keys::ENTER).unwrap();
    at_step(&app, "choosing_role");
    tab(&app, "role-holder");
    app.press(keys::SPACE).unwrap();
    tab(&app, "role-confirm");
    app.press(keys::ENTER).unwrap();
    at_step(&app, "choosing_holder_kind");
    // A radio group is one stop for Tab; the arrows choose within it.
    tab(&app, "kind-company");
    app.press(&keys::ARROW_DOWN.repeat(2)).unwrap();
    assert_eq!(
        app.focused_testid().unwrap().as_deref(),
        Some("kind-private")
    );
    tab(&app, "kind-confirm");
    app.press(keys::ENTER).unwrap();
    at_step(&app, "entering_data");
    for (field, text) in [
        ("f-first_name", "Mario"),
        ("f-last_name", "Rossi"),
        ("f-tax_code", cf),
        ("f-email", email.as_str()),
    ] {
        tab(&app, field);
        app.press(text).unwrap();
    }
    tab(&app, "data-confirm");
    app.press(keys::ENTER).unwrap();
    at_step(&app, "summary");
    tab(&app, "summary-proceed");
    app.press(keys::ENTER).unwrap();
    at_step(&app, "choosing_method");
    shot_fit(&app, &rig, "keyboard-4-methods.png");

    tab(&app, "method-remote_signature");
    app.press(keys::ENTER).unwrap();
    // The request form: accepted with Space, then the remote signature service's sign-in,
    // the certificate (one) and the OTP, each form sent with Enter.
    app.wait_for("[data-testid=sig-form]").unwrap();
    tab(&app, "sig-accept");
    app.press(keys::SPACE).unwrap();
    tab(&app, "sig-remote-user");
    app.press("firma.mario").unwrap();
    tab(&app, "sig-remote-password");
    app.press(pec_sandbox::seed::REMOTE_SIGNATURE_PASSWORD)
        .unwrap();
    app.press(keys::ENTER).unwrap();
    app.wait_for("[data-testid=sig-remote-otp]").unwrap();
    tab(&app, "sig-remote-otp");
    app.press(&remote_signature_code(&sandbox)).unwrap();
    app.press(keys::ENTER).unwrap();
    at_step(&app, "identified");
    tab(&app, "proceed");
    app.press(keys::ENTER).unwrap();
    at_step(&app, "accepting_terms");
    tab(&app, "terms-service");
    app.press(keys::SPACE).unwrap();
    tab(&app, "terms-contract");
    app.press(keys::SPACE).unwrap();
    tab(&app, "complete-request");
    app.press(keys::ENTER).unwrap();
    at_step(&app, "otp_sent");
    tab(&app, "otp");
    app.press(&sandbox.latest_otp(&email)).unwrap();
    app.press(keys::ENTER).unwrap();
    at_step(&app, "completed");
    shot_fit(&app, &rig, "keyboard-9-completed.png");
}

/// The whole CNS wizard with the keyboard alone: from the mailbox page to
/// "completata", each control reached with Tab and used with Space, Enter or typing; the card
/// on the virtual reader, its verdict and PIN field in view at every step.
#[test]
fn keyboard_only_cns_wizard_to_completed() {
    let card = SimCard::start(SimOptions::new(ProfileName::Stincard2048)).expect("virtual card");
    let rig = Rig::from_env();
    let (app, sandbox, _, _, email) =
        start(&rig, "kbcns", private_citizen("Mario", "Rossi", MARIO_CF));
    app.wait_for("[data-testid=mailbox-title]").unwrap();
    app.execute(
        "document.activeElement && document.activeElement.blur(); document.body.focus();",
        json!([]),
    )
    .unwrap();

    tab(&app, "confirm-identity");
    app.press(keys::ENTER).unwrap();
    at_step(&app, "choosing_role");
    tab(&app, "role-holder");
    app.press(keys::SPACE).unwrap();
    tab(&app, "role-confirm");
    app.press(keys::ENTER).unwrap();
    at_step(&app, "choosing_holder_kind");
    tab(&app, "kind-company");
    app.press(&keys::ARROW_DOWN.repeat(2)).unwrap();
    tab(&app, "kind-confirm");
    app.press(keys::ENTER).unwrap();
    at_step(&app, "entering_data");
    for (field, text) in [
        ("f-first_name", "Mario"),
        ("f-last_name", "Rossi"),
        ("f-tax_code", MARIO_CF),
        ("f-email", email.as_str()),
    ] {
        tab(&app, field);
        app.press(text).unwrap();
    }
    tab(&app, "data-confirm");
    app.press(keys::ENTER).unwrap();
    at_step(&app, "summary");
    tab(&app, "summary-proceed");
    app.press(keys::ENTER).unwrap();
    at_step(&app, "choosing_method");

    tab(&app, "method-cns");
    app.press(keys::ENTER).unwrap();
    at_step(&app, "identifying");
    app.wait_for("[data-testid=card-matches]").unwrap();
    tab(&app, "pin");
    app.press(pec_card_sim::DEFAULT_PIN).unwrap();
    shot_fit(&app, &rig, "keyboard-cns-5-card.png");
    app.press(keys::ENTER).unwrap();
    at_step(&app, "identified");
    tab(&app, "proceed");
    app.press(keys::ENTER).unwrap();
    at_step(&app, "accepting_terms");
    tab(&app, "terms-service");
    app.press(keys::SPACE).unwrap();
    tab(&app, "terms-contract");
    app.press(keys::SPACE).unwrap();
    tab(&app, "complete-request");
    app.press(keys::ENTER).unwrap();
    at_step(&app, "otp_sent");
    tab(&app, "otp");
    app.press(&sandbox.latest_otp(&email)).unwrap();
    app.press(keys::ENTER).unwrap();
    at_step(&app, "completed");
    shot_fit(&app, &rig, "keyboard-cns-10-completed.png");
    assert_eq!(verifies(&card), 1, "one VERIFY, from the one Enter");
    drop(app);
    card.stop();
}

#[test]
fn delegation_sends_the_link_to_the_holder() {
    let rig = Rig::from_env();
    let (app, sandbox, account, _, _) =
        start(&rig, "delega", private_citizen("Mario", "Rossi", MARIO_CF));
    app.click_when_ready("[data-testid=confirm-identity]")
        .unwrap();
    at_step(&app, "choosing_role");
    app.click_when_ready("[data-testid=role-other]").unwrap();
    app.click_when_ready("[data-testid=role-confirm]").unwrap();
    at_step(&app, "awaiting_holder_email");
    let holder = format!("titolare-{account}@example.com");
    fill(&app, "f-holder_email", &holder);
    app.click_when_ready("[data-testid=send-link]").unwrap();
    at_step(&app, "delegation_link_sent");
    let text = app
        .text(&app.find("[data-testid=link-sent]").unwrap())
        .unwrap();
    assert!(text.contains(&holder), "{text}");
    shot_fit(&app, &rig, "delegation-sent.png");
    assert_eq!(
        sandbox.outbox_to(&holder).len(),
        1,
        "the holder got the link"
    );
}

#[test]
fn documents_needed_then_uploaded_for_review() {
    // Mario Rossi's card identifies him, but he is not the registered legal representative
    // of this company: the provider asks for documents.
    let card = SimCard::start(SimOptions::new(ProfileName::Stincard2048)).expect("virtual card");
    let rig = Rig::from_env();
    let company = json!({ "kind": "company", "business_name": "Officina Demo S.r.l.", "tax_code": "07973780013" });
    let (app, _, account, _, email) = start(&rig, "docs", company);
    app.click_when_ready("[data-testid=confirm-identity]")
        .unwrap();
    at_step(&app, "choosing_role");
    app.click_when_ready("[data-testid=role-holder]").unwrap();
    app.click_when_ready("[data-testid=role-confirm]").unwrap();
    at_step(&app, "choosing_holder_kind");
    app.click_when_ready("[data-testid=kind-company]").unwrap();
    app.click_when_ready("[data-testid=kind-confirm]").unwrap();
    at_step(&app, "entering_data");
    fill(&app, "f-business_name", "Officina Demo S.r.l.");
    fill(&app, "f-tax_code", "07973780013");
    fill(&app, "f-rep_first_name", "Mario");
    fill(&app, "f-rep_last_name", "Rossi");
    fill(&app, "f-rep_tax_code", MARIO_CF);
    fill(&app, "f-email", &email);
    app.click_when_ready("[data-testid=data-confirm]").unwrap();
    at_step(&app, "summary");
    app.click_when_ready("[data-testid=summary-proceed]")
        .unwrap();
    at_step(&app, "choosing_method");
    app.click_when_ready("[data-testid=method-cns]").unwrap();
    app.wait_for("[data-testid=card-matches]").unwrap();
    fill(&app, "pin", pec_card_sim::DEFAULT_PIN);
    app.click_when_ready("[data-testid=card-sign]").unwrap();
    at_step(&app, "documents_missing");
    let practice = app
        .wait_for_text("[data-testid=practice]", "the case number", |t| {
            t.starts_with("PR-")
        })
        .unwrap();
    shot_fit(&app, &rig, "docs-1-missing.png");

    let dir = std::env::temp_dir().join(format!("pec-e2e-{account}"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("visura-camerale.pdf");
    std::fs::write(
        &file,
        b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n",
    )
    .unwrap();
    let picker = app.wait_for("[data-testid=doc-file]").unwrap();
    app.type_into(&picker, &file.display().to_string()).unwrap();
    app.wait_for_text("[data-testid=documents]", "the uploaded document", |t| {
        t.contains("visura-camerale.pdf")
    })
    .unwrap();
    app.click_when_ready("[data-testid=docs-submit]").unwrap();
    at_step(&app, "checks_in_progress");
    let again = app
        .text(&app.find("[data-testid=practice]").unwrap())
        .unwrap();
    assert_eq!(again, practice);
    shot_fit(&app, &rig, "docs-2-checks.png");
    drop(app);
    card.stop();
}

#[test]
fn the_wizard_resumes_where_it_was_after_a_restart() {
    let rig = Rig::from_env();
    let (app, _, _, _, _) = start(&rig, "resume", private_citizen("Mario", "Rossi", MARIO_CF));
    app.click_when_ready("[data-testid=confirm-identity]")
        .unwrap();
    at_step(&app, "choosing_role");
    app.click_when_ready("[data-testid=role-holder]").unwrap();
    app.click_when_ready("[data-testid=role-confirm]").unwrap();
    at_step(&app, "choosing_holder_kind");
    app.click_when_ready("[data-testid=kind-private]").unwrap();
    app.click_when_ready("[data-testid=kind-confirm]").unwrap();
    at_step(&app, "entering_data");
    fill(&app, "f-first_name", "Marietto");
    // The draft is written shortly after typing stops.
    std::thread::sleep(std::time::Duration::from_secs(2));
    drop(app);

    let app = rig.launch().expect("app window starts again");
    at_step(&app, "entering_data");
    app.wait_for("[data-testid=resumed]").unwrap();
    let name = app.find("[data-testid=f-first_name]").unwrap();
    assert_eq!(app.value(&name).unwrap(), "Marietto");
    shot_fit(&app, &rig, "resume-after-restart.png");
    let drafts = std::fs::read_dir(rig.app_home.join("data/it.pecdesktop.app/drafts"))
        .expect("drafts on disk")
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect::<String>();
    assert!(drafts.contains("Marietto"));
    assert!(!drafts.contains(PASSWORD), "no secret in drafts");
}
