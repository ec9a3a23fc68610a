//! Sign-in, the mailbox view and sign-out through the real window, against the embedded
//! sandbox the app starts by itself, with the session in the real Secret Service.

use pec_e2e::{Rig, Session};
use serde_json::json;

mod common;

const MARIO: &str = "acc-demo-mario";

fn sign_in_screen(app: &Session) {
    app.wait_for_text("[data-testid=signin-title]", "the sign-in form", |t| {
        t == "Accedi"
    })
    .expect("the sign-in screen");
}

fn mailbox_entry(app: &Session, address: &str) -> String {
    app.wait_for_text(
        &format!("[data-testid='mailbox-{address}']"),
        "the mailbox in the list",
        |t| !t.is_empty(),
    )
    .expect("the mailbox entry")
}

fn sign_out(app: &Session) {
    app.click_when_ready("[data-testid=sign-out]")
        .expect("the sign-out button");
    sign_in_screen(app);
}

#[test]
fn demo_sign_in_shows_mailboxes_keeps_the_session_in_the_keyring_and_sign_out_removes_it() {
    let rig = Rig::from_env();
    let app = rig.launch().expect("app window starts");
    // An earlier test file may have left a session in the keyring.
    common::signed_out(&app);
    sign_in_screen(&app);
    let provider = app.find("[data-testid=provider]").unwrap();
    assert!(
        app.text(&provider)
            .unwrap()
            .contains("fornitore di prova integrato"),
        "no provider configured: the embedded sandbox runs"
    );
    assert!(
        rig.sandbox_url().is_some(),
        "the app logged the sandbox URL"
    );
    app.screenshot(&rig.screenshot_path("signin.png")).unwrap();

    // The demo account: no password typed, none crosses IPC.
    app.click_when_ready(&format!("[data-testid=demo-{MARIO}]"))
        .unwrap();
    app.wait_for_text("[data-testid=overview-title]", "the overview", |t| {
        t == "Panoramica delle caselle"
    })
    .unwrap();
    let mario = mailbox_entry(&app, "mario.rossi@pec.sandbox.test");
    assert!(mario.contains("Da confermare"), "{mario}");
    let studio = mailbox_entry(&app, "studio.rossi@pec.sandbox.test");
    assert!(studio.contains("Completato"), "{studio}");
    let star = app
        .find("[data-testid='mailbox-studio.rossi@pec.sandbox.test'] [data-testid=star]")
        .expect("the European star next to the qualified mailbox");
    assert_eq!(
        app.attribute(&star, "aria-label").unwrap().as_deref(),
        Some("Casella qualificata e identificata (stella europea)")
    );
    assert!(
        app.find("[data-testid='mailbox-mario.rossi@pec.sandbox.test'] [data-testid=star]")
            .is_err(),
        "no star on a mailbox still to confirm"
    );
    app.wait_for("[data-testid='banner-mario.rossi@pec.sandbox.test']")
        .unwrap();
    app.scroll_to_top().unwrap();
    app.screenshot(&rig.screenshot_path("mailboxes-overview.png"))
        .unwrap();
    app.assert_in_view("mailboxes-overview");
    // The table's last column ("Verifica in due passaggi") is in view, or the table sits in a
    // region the keyboard can scroll; never cut off at the window's edge.
    let table = app
        .execute(
            "const w = document.querySelector('[data-testid=overview-scroll]');\
             const last = w.querySelector('thead th:last-child').getBoundingClientRect();\
             const box = w.getBoundingClientRect();\
             if (last.right <= box.right + 0.5 && box.right <= window.innerWidth + 0.5) return 'fits';\
             return w.scrollWidth > w.clientWidth && w.tabIndex === 0 ? 'scrolls' : 'clipped';",
            json!([]),
        )
        .unwrap();
    assert_ne!(
        table,
        json!("clipped"),
        "the overview table is cut at the edge"
    );
    app.assert_accessible("mailboxes-overview");

    // The bell lists the "adegua la PEC" notification.
    let bell = app.find("[data-testid=bell]").unwrap();
    let label = app
        .attribute(&bell, "aria-label")
        .unwrap()
        .unwrap_or_default();
    assert!(label.starts_with("Notifiche, "), "{label}");
    app.click(&bell).unwrap();
    app.wait_for_text("[data-testid=notifications]", "the notifications", |t| {
        t.contains("mario.rossi@pec.sandbox.test")
    })
    .unwrap();
    app.screenshot(&rig.screenshot_path("notifications.png"))
        .unwrap();
    app.click(&bell).unwrap();

    // The banner's "Conferma identità" opens the wizard for that mailbox; closing it shows
    // the mailbox page.
    app.click_when_ready("[data-testid='confirm-mario.rossi@pec.sandbox.test']")
        .unwrap();
    app.wait_for_text("[data-testid=wizard]", "the wizard of the mailbox", |t| {
        t.contains("mario.rossi@pec.sandbox.test")
    })
    .unwrap();
    // The open procedure has the room: the banner gives way.
    assert!(
        app.find("[data-testid='banner-mario.rossi@pec.sandbox.test']")
            .is_err(),
        "the banner stays above the open procedure"
    );
    app.click_when_ready("[data-testid=wizard-close]").unwrap();
    app.wait_for_text("[data-testid=mailbox-title]", "the mailbox", |t| {
        t.contains("mario.rossi@pec.sandbox.test")
    })
    .unwrap();
    app.screenshot(&rig.screenshot_path("mailbox-to-confirm.png"))
        .unwrap();

    // The session's secret is in the Secret Service, visible to another client.
    assert!(
        rig.keyring_session(MARIO).is_some(),
        "the session is stored in the keyring"
    );
    drop(app);

    // A restart resumes the session from the keyring, without signing in again.
    let app = rig.launch().expect("app window starts again");
    app.wait_for_text("[data-testid=account]", "the restored account", |t| {
        t.contains(MARIO)
    })
    .unwrap();
    mailbox_entry(&app, "studio.rossi@pec.sandbox.test");

    // Sign-out deletes the keyring item.
    sign_out(&app);
    assert_eq!(
        rig.keyring_session(MARIO),
        None,
        "sign-out removed the keyring item"
    );
    let login = app.find("[data-testid=login]").unwrap();
    assert_eq!(app.value(&login).unwrap(), MARIO, "the login is prefilled");
    drop(app);

    // Nothing secret reached the log.
    let logs = rig.logs();
    assert!(
        logs.contains("signed in") && logs.contains("signed out"),
        "{logs}"
    );
    for secret in ["Demo-Password-1", "refresh_token", "access_token", "Bearer"] {
        assert!(!logs.contains(secret), "{secret} in the log:\n{logs}");
    }
}

#[test]
fn password_sign_in_reports_errors_in_italian_and_an_expired_session_loses_nothing() {
    let rig = Rig::from_env();
    let app = rig.launch().expect("app window starts");
    // An earlier test file may have left a session in the keyring.
    common::signed_out(&app);
    sign_in_screen(&app);

    let login = app.find("[data-testid=login]").unwrap();
    app.clear(&login).unwrap();
    app.type_into(&login, "studio.rossi@pec.sandbox.test")
        .unwrap();
    let password = app.find("[data-testid=password]").unwrap();
    app.type_into(&password, "Password-Sbagliata").unwrap();
    app.click_when_ready("[data-testid=signin-submit]").unwrap();
    let error = app
        .wait_for_text("[data-testid=signin-error]", "the error", |t| !t.is_empty())
        .unwrap();
    assert_eq!(
        error, "Credenziali non valide.",
        "the provider's Italian message"
    );
    app.screenshot(&rig.screenshot_path("signin-wrong-password.png"))
        .unwrap();

    let password = app.find("[data-testid=password]").unwrap();
    app.clear(&password).unwrap();
    app.type_into(&password, "Demo-Password-1").unwrap();
    app.click_when_ready("[data-testid=signin-submit]").unwrap();
    app.click_when_ready("[data-testid='mailbox-studio.rossi@pec.sandbox.test']")
        .unwrap();
    app.wait_for_text("[data-testid=mailbox-title]", "the mailbox", |t| {
        t.contains("studio.rossi@pec.sandbox.test")
    })
    .unwrap();

    // 31 days later both the access and the refresh token have expired.
    common::Sandbox::of(&rig).post(
        "/sandbox/clock/advance",
        json!({ "seconds": 31 * 24 * 3600 }),
    );
    app.click_when_ready("[data-testid=refresh]").unwrap();
    let notice = app
        .wait_for_text("[data-testid=signin-notice]", "the expiry notice", |t| {
            !t.is_empty()
        })
        .unwrap();
    assert!(notice.contains("La sessione è scaduta"), "{notice}");
    assert_eq!(
        rig.keyring_session(MARIO),
        None,
        "the dead session left the keyring"
    );
    let login = app.find("[data-testid=login]").unwrap();
    assert_eq!(app.value(&login).unwrap(), MARIO);
    app.screenshot(&rig.screenshot_path("session-expired.png"))
        .unwrap();

    // Signing in again comes back to the same mailbox.
    let password = app.find("[data-testid=password]").unwrap();
    app.type_into(&password, "Demo-Password-1").unwrap();
    app.click_when_ready("[data-testid=signin-submit]").unwrap();
    app.wait_for_text("[data-testid=mailbox-title]", "the same mailbox", |t| {
        t.contains("studio.rossi@pec.sandbox.test")
    })
    .unwrap();
    sign_out(&app);
}
