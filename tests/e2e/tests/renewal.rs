//! The renewal of a PEC mailbox through the real window, against the app's embedded
//! sandbox: a company that is not registered with the association's portal registers (captcha,
//! e-mail code, SMS code), chooses its mailbox, gives the legal representative and pays by card;
//! the confirmation shows the new expiry (payment day in Rome + 12 months), which the provider
//! then reports for the mailbox, and the gateway saw exactly one charge.
//!
//! The test seeds its own account and company (a fresh numeric codice fiscale), and reads the
//! captcha's answer, the e-mailed code and the SMS code from the sandbox-only endpoints.

// Helpers outside `#[test]` functions: here a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pec_domain::partita_iva::luhn_check_digit;
use pec_e2e::{Rig, Session};
use pec_sandbox::renewal::renewed_until;
use serde_json::json;

mod common;
use common::*;

const PORTAL_PASSWORD: &str = "Portale-E2e-1";
/// The sandbox gateway's card that succeeds (`pec_sandbox::renewal::CARD_OK`).
const CARD_OK: &str = "4242424242424242";
/// Chiara Conti, a valid personal codice fiscale for the legal representative.
const REP_CF: &str = "CNTCHR83T41D969D";
/// 9 € + IVA 22 %, in cents.
const TOTAL_CENTS: u64 = 1098;

/// A valid numeric codice fiscale no earlier run used: ten digits from the clock and their
/// check digit.
fn fresh_company_cf(n: u128) -> String {
    let body = format!("{:010}", (n % 9_000_000_000) + 1_000_000_000);
    let check = luhn_check_digit(&body).unwrap();
    format!("{body}{check}")
}

/// `YYYY-MM-DD` plus 12 months, by the portal's rule.
fn plus_twelve_months(day: &str) -> String {
    renewed_until(day.parse().unwrap()).to_string()
}

fn at_step(app: &Session, step: &str) {
    screen_step(app, "renewal", step, Duration::from_secs(30));
}

/// Picks an option of a `<select>` the way a user's choice does: value, then `change`.
fn choose(app: &Session, testid: &str, value: &str) {
    app.wait_for(&format!("[data-testid={testid}]")).unwrap();
    app.execute(
        "const s = document.querySelector(arguments[0]);\n\
         s.value = arguments[1];\n\
         s.dispatchEvent(new Event('change', { bubbles: true }));",
        json!([format!("[data-testid={testid}]"), value]),
    )
    .unwrap();
}

#[test]
fn unregistered_company_registers_and_renews_by_card_with_one_charge() {
    let rig = Rig::from_env();
    let app = rig.launch().expect("app window starts");
    signed_out(&app);
    let sandbox = Sandbox::of(&rig);

    // A fresh company with one mailbox, and an account that holds it.
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let cf = fresh_company_cf(n);
    let address = format!("rinnovo-{n}@pec.sandbox.test");
    let contact = format!("contatto-{n}@example.com");
    let portal_email = format!("portale-{n}@example.com");
    let mobile = format!("3{:09}", n % 1_000_000_000);
    let account = sandbox.post(
        "/sandbox/accounts",
        json!({
            "password": PASSWORD,
            "mailboxes": [{
                "address": address,
                "holder": {
                    "kind": "company",
                    "business_name": "Rinnovo E2E S.r.l.",
                    "tax_code": cf,
                    "legal_representative": { "first_name": "Chiara", "last_name": "Conti", "tax_code": REP_CF }
                },
                "contact": { "email": contact }
            }]
        }),
    )["account_id"]
        .as_str()
        .unwrap()
        .to_owned();
    sign_in(&app, &account);

    // Entry: the company's codice fiscale (prefilled from the holder), shown as the portal
    // wants it: 16 characters with zeros on the left.
    app.click_when_ready("[data-testid=renew]").unwrap();
    at_step(&app, "entry");
    fill(&app, "rn-tax-code", &cf);
    shot_fit(&app, &rig, "renewal-1-entry.png");
    app.click_when_ready("[data-testid=rn-lookup]").unwrap();
    at_step(&app, "register");
    let shown = app
        .wait_for_text("[data-testid=normalised-cf]", "the normalised code", |t| {
            !t.is_empty()
        })
        .unwrap();
    assert_eq!(shown, format!("00000{cf}"));

    // Registration with the captcha, answered through its text alternative as someone who
    // cannot see the image would: the number in words read from the screen, typed in digits.
    fill(&app, "rn-email", &portal_email);
    fill(&app, "rn-mobile", &mobile);
    fill(&app, "rn-new-password", PORTAL_PASSWORD);
    let img = app.wait_for("[data-testid=rn-captcha-img]").unwrap();
    let src = app.attribute(&img, "src").unwrap().unwrap_or_default();
    assert!(src.starts_with("data:image/png;base64,iVBOR"), "a PNG");
    let question = app
        .wait_for_text(
            "[data-testid=rn-captcha-question]",
            "the text alternative",
            |t| t.contains("Scrivi in cifre il numero "),
        )
        .unwrap();
    let words = question
        .rsplit("Scrivi in cifre il numero ")
        .next()
        .unwrap()
        .trim_end_matches('.');
    let answer = (100..1000)
        .find(|&n| pec_sandbox::captcha::words_it(n) == words)
        .unwrap_or_else(|| panic!("{words:?} is no number"))
        .to_string();
    fill(&app, "rn-captcha-answer", &answer);
    shot_fit(&app, &rig, "renewal-2-register.png");
    // The whole captcha, "Nuova immagine" included, sits above the action bar.
    app.assert_uncovered(
        "renewal-2-register",
        &[
            "[data-testid=rn-captcha-img]",
            "[data-testid=rn-captcha-new]",
            "#rn-captcha-answer",
        ],
    );
    app.click_when_ready("[data-testid=rn-register]").unwrap();

    // "Verifica" with the e-mailed code, then the SMS pop-up with the code sent to the mobile.
    at_step(&app, "email_code");
    // The code goes to the company's contacts on record (its PEC and the activation e-mail),
    // never to the address typed in the form (H3).
    let typed = sandbox.get("/sandbox/outbox", &[("to", &portal_email)], None);
    assert!(
        Sandbox::latest_code(&typed).is_none(),
        "no code to the typed address"
    );
    let mails = sandbox.get("/sandbox/outbox", &[("to", &address)], None);
    let email_code = Sandbox::latest_code(&mails).expect("a code e-mailed to the PEC");
    fill(&app, "rn-email-code", &email_code);
    shot_fit(&app, &rig, "renewal-3-email-code.png");
    app.click_when_ready("[data-testid=rn-verify-email]")
        .unwrap();
    at_step(&app, "sms_code");
    let sms = sandbox.get("/sandbox/sms-outbox", &[("to", &mobile)], None);
    let sms_code = Sandbox::latest_code(&sms).expect("a code sent by SMS");
    fill(&app, "rn-sms-code", &sms_code);
    shot_fit(&app, &rig, "renewal-4-sms.png");
    app.click_when_ready("[data-testid=rn-verify-sms]").unwrap();

    // "Gestisci – Servizi": the mailbox; then the price and the legal representative.
    at_step(&app, "mailboxes");
    app.click_when_ready(&format!("[data-testid='rn-box-{address}']"))
        .unwrap();
    shot_fit(&app, &rig, "renewal-5-mailboxes.png");
    app.click_when_ready("[data-testid=rn-mailbox-confirm]")
        .unwrap();
    at_step(&app, "representative");
    let price = app
        .wait_for_text("[data-testid=rn-price]", "the price", |t| !t.is_empty())
        .unwrap();
    assert!(price.contains("10,98"), "{price}");
    fill(&app, "rn-rep-first", "Chiara");
    fill(&app, "rn-rep-last", "Conti");
    fill(&app, "rn-rep-cf", REP_CF);
    shot_fit(&app, &rig, "renewal-6-representative.png");
    app.click_when_ready("[data-testid=rn-rep-continue]")
        .unwrap();

    // Payment by card.
    at_step(&app, "payment_method");
    app.click_when_ready("[data-testid=rn-method-card]")
        .unwrap();
    shot_fit(&app, &rig, "renewal-7-method.png");
    app.click_when_ready("[data-testid=rn-method-continue]")
        .unwrap();
    at_step(&app, "payment");
    fill(&app, "rn-card-number", CARD_OK);
    choose(&app, "rn-card-month", "12");
    let year = app
        .execute("return String(new Date().getFullYear() + 5);", json!([]))
        .unwrap();
    choose(&app, "rn-card-year", year.as_str().unwrap());
    fill(&app, "rn-card-cvc", "123");
    fill(&app, "rn-card-holder", "Chiara Conti");
    shot_fit(&app, &rig, "renewal-8-card.png");
    app.click_when_ready("[data-testid=rn-pay]").unwrap();

    // Confirmation: the new expiry and the order.
    at_step(&app, "confirmation");
    let expiry = app.wait_for("[data-testid=rn-new-expiry]").unwrap();
    let new_expiry = app.attribute(&expiry, "data-date").unwrap().unwrap();
    let order = app
        .wait_for_text("[data-testid=rn-order-id]", "the order number", |t| {
            !t.is_empty()
        })
        .unwrap();
    app.wait_for_text("[data-testid=rn-mails]", "the e-mail note", |t| {
        t.contains("PEC")
    })
    .unwrap();
    shot_fit(&app, &rig, "renewal-9-confirmation.png");

    // Exactly one charge, of the whole price.
    let charges = sandbox.get(
        &format!("/sandbox/renewal/orders/{order}/charges"),
        &[],
        None,
    );
    let charges = charges.as_array().unwrap();
    assert_eq!(charges.len(), 1, "{charges:?}");
    assert_eq!(charges[0]["outcome"], "succeeded");
    assert_eq!(charges[0]["amount_cents"].as_u64(), Some(TOTAL_CENTS));

    // The provider reports the new expiry for the mailbox: payment day in Rome + 12 months.
    let tokens = sandbox.post(
        "/v1/sessions",
        json!({ "login": account, "password": PASSWORD }),
    );
    let token = tokens["access_token"].as_str().unwrap();
    let view = sandbox.get(&format!("/v1/mailboxes/{address}/expiry"), &[], Some(token));
    assert_eq!(view["expires_on"].as_str(), Some(new_expiry.as_str()));
    assert_eq!(
        new_expiry,
        plus_twelve_months(view["today"].as_str().unwrap())
    );

    // The confirmation e-mails: to the address given at registration and to the PEC.
    for to in [portal_email.as_str(), address.as_str()] {
        let mails = sandbox.get("/sandbox/outbox", &[("to", to)], None);
        assert!(
            mails.as_array().unwrap().iter().any(|m| m["subject"]
                .as_str()
                .unwrap_or_default()
                .starts_with("Conferma rinnovo")),
            "no confirmation to {to}"
        );
    }

    // Back to the mailbox page, whose expiry badge in the list now counts to the new expiry,
    // as the account's expiry list (one call for all its mailboxes) reports it.
    app.click_when_ready("[data-testid=rn-done-close]").unwrap();
    app.wait_for("[data-testid=mailbox-title]").unwrap();
    let listed = sandbox.get("/v1/mailbox-expiries", &[], Some(token));
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["address"] == address.as_str())
        .unwrap_or_else(|| panic!("{address} not in {listed}"));
    assert_eq!(
        entry["expiry"]["expires_on"].as_str(),
        Some(new_expiry.as_str())
    );
    let days = entry["expiry"]["days_to_expiry"]
        .as_i64()
        .unwrap()
        .to_string();
    let badge = format!("[data-testid=\"mailbox-{address}\"] [data-testid=expiry-badge]");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let shown = app
            .execute(
                "const b = document.querySelector(arguments[0]); return b ? b.dataset.days : null;",
                json!([badge]),
            )
            .unwrap();
        if shown.as_str() == Some(days.as_str()) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "badge shows {shown} days, the provider {days}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    shot_fit(&app, &rig, "renewal-10-back.png");

    let logs = rig.logs();
    for secret in [
        PORTAL_PASSWORD,
        CARD_OK,
        email_code.as_str(),
        sms_code.as_str(),
    ] {
        assert!(!logs.contains(secret), "a secret reached the log");
    }
    drop(app);
}

#[test]
fn the_test_data_follows_the_portal_rules() {
    // The sandbox's reference companies, 00743110157 and 07973780013.
    assert_eq!(luhn_check_digit("0074311015"), Some(7));
    assert_eq!(luhn_check_digit("0797378001"), Some(3));
    assert_eq!(fresh_company_cf(743_115), "10007431157");
    assert_eq!(plus_twelve_months("2028-02-29"), "2029-02-28");
    assert_eq!(plus_twelve_months("2026-11-22"), "2027-11-22");
}
