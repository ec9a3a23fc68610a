//! Change of the PEC address on record at a registry, through the real window and
//! the embedded sandbox's registry: confirmed with the link e-mailed to the new PEC, expired
//! after its deadline (sandbox clock), and the support path for users without the private area.

// Helpers outside `#[test]` functions: here a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use pec_e2e::{Rig, Session};
use serde_json::json;

mod common;
use common::*;

/// A new PEC address no earlier run has used.
fn fresh_pec(tag: &str) -> String {
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{tag}-{n}@pec.registro.test")
}

/// The confirmation link in the newest e-mail to `to`.
fn confirmation_link(sandbox: &Sandbox, to: &str) -> String {
    let mut mails = sandbox.outbox_to(to);
    mails.sort_by_key(|m| m["id"].as_i64());
    let body = mails.last().expect("an e-mail to the new PEC")["body"]
        .as_str()
        .unwrap()
        .to_owned();
    body.split_whitespace()
        .find(|w| w.contains("/registry/v1/pec-confirmations/"))
        .expect("a confirmation link")
        .to_owned()
}

fn registry_step(app: &Session, step: &str) {
    screen_step(app, "registry", step, std::time::Duration::from_secs(30));
}

/// Launches, signs in to the provider (any account) and opens the registry screen.
fn open_registry(rig: &Rig, tag: &str) -> (Session, Sandbox) {
    let app = rig.launch().expect("app window starts");
    signed_out(&app);
    let sandbox = Sandbox::of(rig);
    let (account, _, _) = sandbox.seed(tag, private_citizen("Mario", "Rossi", "RSSMRA45C12F205C"));
    sign_in(&app, &account);
    app.click_when_ready("[data-testid=nav-registry]").unwrap();
    registry_step(&app, "signin");
    (app, sandbox)
}

fn registry_sign_in(app: &Session) {
    fill(app, "reg-user", pec_sandbox::seed::REGISTRY_DEMO_USER);
    fill(app, "reg-password", pec_sandbox::seed::DEMO_PASSWORD);
    app.click_when_ready("[data-testid=reg-signin]").unwrap();
    registry_step(app, "record");
}

/// "Modifica dati di registrazione" → new PEC twice → "Invia dati".
fn request_change(app: &Session, new_pec: &str) {
    app.click_when_ready("[data-testid=reg-edit-open]").unwrap();
    fill(app, "reg-new-pec", new_pec);
    fill(app, "reg-confirm-pec", new_pec);
    app.click_when_ready("[data-testid=reg-send]").unwrap();
    app.wait_for_text("[data-testid=registry-notice]", "the sent notice", |t| {
        t.contains(new_pec) && t.contains("spam")
    })
    .unwrap();
}

#[test]
fn change_of_pec_confirmed_with_the_link_sent_to_the_new_pec() {
    let rig = Rig::from_env();
    let (app, sandbox) = open_registry(&rig, "registry-ok");
    shot_fit(&app, &rig, "registry-1-signin.png");
    registry_sign_in(&app);
    let old = app
        .text(&app.find("[data-testid=reg-current-pec]").unwrap())
        .unwrap();
    shot_fit(&app, &rig, "registry-2-record.png");

    // The form's own checks: the same address again is refused before anything is sent.
    app.click_when_ready("[data-testid=reg-edit-open]").unwrap();
    fill(&app, "reg-new-pec", &old);
    app.click_when_ready("[data-testid=reg-send]").unwrap();
    app.wait_for("[data-testid=reg-new-pec-error]").unwrap();
    shot_fit(&app, &rig, "registry-3-same-pec.png");
    app.execute(
        "document.querySelector('[data-testid=reg-edit] button.secondary').click()",
        json!([]),
    )
    .unwrap();

    let new_pec = fresh_pec("ok");
    request_change(&app, &new_pec);
    let state = app
        .wait_for_text("[data-testid=reg-change-state]", "the state", |t| {
            !t.is_empty()
        })
        .unwrap();
    assert_eq!(state, "In attesa di conferma");
    let deadline = app
        .text(&app.find("[data-testid=reg-change-deadline]").unwrap())
        .unwrap();
    assert!(deadline.contains("ore 24 del giorno"), "{deadline}");
    assert!(
        app.find("[data-testid=reg-change-local]").is_ok(),
        "the deadline in local time"
    );
    shot_fit(&app, &rig, "registry-4-pending.png");

    let link = confirmation_link(&sandbox, &new_pec);
    fill(&app, "reg-link", &link);
    app.click_when_ready("[data-testid=reg-link-confirm]")
        .unwrap();
    app.wait_for_text("[data-testid=registry-notice]", "the confirmation", |t| {
        t.contains("è ora la PEC registrata")
    })
    .unwrap();
    let current = app
        .wait_for_text("[data-testid=reg-current-pec]", "the new PEC", |t| {
            t == new_pec
        })
        .unwrap();
    assert_eq!(current, new_pec);
    shot_fit(&app, &rig, "registry-5-confirmed.png");
    assert!(
        !rig.logs().contains(link.rsplit('/').next().unwrap()),
        "the link's token is not logged"
    );
}

#[test]
fn a_link_used_after_its_deadline_is_refused_and_a_new_request_offered() {
    let rig = Rig::from_env();
    let (app, sandbox) = open_registry(&rig, "registry-late");
    registry_sign_in(&app);
    let new_pec = fresh_pec("late");
    request_change(&app, &new_pec);
    let link = confirmation_link(&sandbox, &new_pec);
    // Two days later the link (valid until 24:00 of the day after receipt) has expired.
    sandbox.post(
        "/sandbox/clock/advance",
        json!({ "seconds": 2 * 24 * 3600 }),
    );
    fill(&app, "reg-link", &link);
    app.click_when_ready("[data-testid=reg-link-confirm]")
        .unwrap();
    let error = app
        .wait_for_text("[data-testid=registry-error]", "the expiry error", |t| {
            !t.is_empty()
        })
        .unwrap();
    assert!(error.contains("nuovamente"), "{error}");
    let alert = app.find("[data-testid=registry-error]").unwrap();
    assert_eq!(
        app.attribute(&alert, "data-code").unwrap().as_deref(),
        Some("registry.link_expired")
    );
    shot_fit(&app, &rig, "registry-6-expired.png");
    app.click_when_ready("[data-testid=registry-new-request]")
        .unwrap();
    app.wait_for("[data-testid=reg-edit]").unwrap();
}

#[test]
fn without_the_private_area_a_support_ticket_leads_to_the_link() {
    let rig = Rig::from_env();
    let (app, sandbox) = open_registry(&rig, "registry-support");
    app.click_when_ready("[data-testid=reg-no-access]").unwrap();
    registry_step(&app, "support");
    app.click_when_ready("[data-testid=sup-access-no]").unwrap();
    let new_pec = fresh_pec("support");
    fill(&app, "sup-reason", "Credenziali dimenticate");
    fill(&app, "sup-first", "Mario");
    fill(&app, "sup-last", "Rossi");
    fill(&app, "sup-cf", "RSSMRA45C12F205C");
    fill(&app, "sup-phone", "0612345678");
    fill(&app, "sup-pec", &new_pec);
    shot_fit(&app, &rig, "registry-7-questionnaire.png");
    app.click_when_ready("[data-testid=sup-send]").unwrap();
    registry_step(&app, "ticket");
    let title = app
        .text(&app.find("[data-testid=registry-title]").unwrap())
        .unwrap();
    let number = title.rsplit(' ').next().unwrap().to_owned();

    let dir = std::env::temp_dir().join(format!("pec-e2e-{number}"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("carta-identita.pdf");
    std::fs::write(
        &file,
        b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n",
    )
    .unwrap();
    let picker = app.wait_for("[data-testid=ticket-file]").unwrap();
    app.type_into(&picker, &file.display().to_string()).unwrap();
    app.wait_for_text("[data-testid=ticket-document]", "the attachment", |t| {
        t.contains("carta-identita.pdf")
    })
    .unwrap();
    shot_fit(&app, &rig, "registry-8-ticket.png");

    // The technical service accepts: the link goes to the new PEC, and is used here.
    sandbox.post(
        &format!("/sandbox/registry/tickets/{number}/decision"),
        json!({ "approved": true }),
    );
    app.click_when_ready("[data-testid=ticket-refresh]")
        .unwrap();
    app.wait_for("[data-testid=reg-link]").unwrap();
    fill(&app, "reg-link", &confirmation_link(&sandbox, &new_pec));
    app.click_when_ready("[data-testid=reg-link-confirm]")
        .unwrap();
    app.wait_for_text("[data-testid=registry-notice]", "the confirmation", |t| {
        t.contains(&new_pec)
    })
    .unwrap();
    shot_fit(&app, &rig, "registry-9-confirmed.png");
}
