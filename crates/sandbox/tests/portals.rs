//! The registry (change of the PEC on record, support tickets) and the renewal portal,
//! through the client crate, against the real server on loopback with a real SQLite
//! file. Deadlines are checked on both daylight-saving weekends of 2026 with the sandbox clock.

mod common;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use common::*;
use pec_provider::Client;
use pec_provider::api::*;
use pec_sandbox::renewal::{CARD_DECLINED, CARD_OK, CARD_TIMEOUT};
use pec_sandbox::seed::{ACME_PHONE_LINE, REGISTRY_DEMO_PEC, REGISTRY_DEMO_USER};

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().expect("instant")
}

fn change(new: &str, confirm: &str) -> PecChangeRequest {
    PecChangeRequest {
        new_pec: new.into(),
        confirm_new_pec: confirm.into(),
    }
}

/// The token of the last confirmation link e-mailed to `to`.
async fn last_link(c: &Client, to: &str) -> String {
    let mails = c.sandbox_outbox(Some(to)).await.expect("outbox");
    mails
        .iter()
        .rev()
        .find_map(|m| {
            m.body
                .split_whitespace()
                .find_map(|w| w.split("/registry/v1/pec-confirmations/").nth(1))
                .map(str::to_owned)
        })
        .expect("a confirmation link")
}

/// The six digits after `prefix` in the last message body that has it.
fn code_after(bodies: impl DoubleEndedIterator<Item = String>, prefix: &str) -> String {
    bodies
        .rev()
        .find_map(|b| {
            b.find(prefix)
                .map(|i| b[i + prefix.len()..i + prefix.len() + 6].to_owned())
        })
        .expect("a code")
}

async fn email_code(c: &Client, to: &str) -> String {
    let mails = c.sandbox_outbox(Some(to)).await.expect("outbox");
    code_after(mails.into_iter().map(|m| m.body), "Codice di verifica: ")
}

async fn sms_code(c: &Client, to: &str) -> String {
    let sms = c.sandbox_sms_outbox(Some(to)).await.expect("sms outbox");
    code_after(sms.into_iter().map(|m| m.body), "cellulare: ")
}

async fn registry(c: &Client) {
    c.registry_sign_in(REGISTRY_DEMO_USER, PASSWORD)
        .await
        .expect("registry sign in");
}

#[tokio::test]
async fn pec_change_is_validated_sent_to_the_new_pec_and_confirmed() {
    let rig = Rig::new().await;
    let c = &rig.client;

    // The registry has its own accounts: the provider's session is not enough, nor a wrong password.
    assert!(matches!(
        c.registration().await,
        Err(pec_provider::Error::NotSignedIn)
    ));
    let e = c
        .registry_sign_in(REGISTRY_DEMO_USER, "wrong-password")
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "auth.invalid_credentials");
    registry(c).await;
    let rec = c.registration().await.unwrap();
    assert_eq!(
        (rec.last_name.as_str(), rec.first_name.as_str()),
        ("Rossi", "Mario")
    );
    assert_eq!(rec.pec, REGISTRY_DEMO_PEC);
    assert!(rec.pending_change.is_none());

    // Nuova PEC vs Conferma Nuova PEC, a valid address, not the one on record.
    let e = c
        .request_pec_change(&change("nuova@pec.example.it", "altra@pec.example.it"))
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), code_of(&e)),
        (Some(422), "registry.pec_mismatch")
    );
    let e = c
        .request_pec_change(&change("non valida", "non valida"))
        .await
        .unwrap_err();
    assert!(code_of(&e).starts_with("email."), "{}", code_of(&e));
    let e = c
        .request_pec_change(&change(
            " Mario.Rossi@PEC.sandbox.test",
            "mario.rossi@pec.sandbox.test",
        ))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "registry.pec_unchanged");
    if let pec_provider::Error::Api { problem, .. } = &e {
        assert!(!problem.message_it.is_empty() && !problem.message_en.is_empty());
    }

    // Invia dati: link to the NEW PEC, spam reminder.
    let first = c
        .request_pec_change(&change("prima@pec.example.it", "PRIMA@pec.example.it"))
        .await
        .unwrap();
    assert_eq!(first.state, PecChangeState::Pending);
    assert_eq!(first.new_pec, "prima@pec.example.it");
    assert!(first.notice_it.contains("spam") && first.notice_en.contains("spam"));
    let first_token = last_link(c, "prima@pec.example.it").await;
    assert!(
        c.sandbox_outbox(Some(REGISTRY_DEMO_PEC))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        c.registration().await.unwrap().pending_change.unwrap().id,
        first.id
    );

    // The same key twice: one request, one link.
    let k = pec_provider::new_key();
    let a = c
        .request_pec_change_keyed(
            &change("chiave@pec.example.it", "chiave@pec.example.it"),
            &k,
        )
        .await
        .unwrap();
    let b = c
        .request_pec_change_keyed(
            &change("chiave@pec.example.it", "chiave@pec.example.it"),
            &k,
        )
        .await
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(
        c.sandbox_outbox(Some("chiave@pec.example.it"))
            .await
            .unwrap()
            .len(),
        1
    );
    let e = c
        .request_pec_change_keyed(&change("altro@pec.example.it", "altro@pec.example.it"), &k)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "idempotency.key_reused");
    // A second request supersedes the first link.
    let second = c
        .request_pec_change(&change("nuova@pec.example.it", "nuova@pec.example.it"))
        .await
        .unwrap();
    let token = last_link(c, "nuova@pec.example.it").await;
    let e = c.confirm_pec_change(&first_token).await.unwrap_err();
    assert_eq!(
        (e.status(), code_of(&e)),
        (Some(410), "registry.link_superseded")
    );
    let listed = c.pec_changes().await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0].id, second.id);
    assert_eq!(listed[1].state, PecChangeState::Superseded);
    assert_eq!(listed[1].id, a.id);
    assert_eq!(listed[2].id, first.id);
    assert_eq!(listed[2].state, PecChangeState::Superseded);

    // The link in the e-mail opens a page; only its button (a POST) confirms.
    let page = reqwest::get(format!(
        "{}/registry/v1/pec-confirmations/{token}",
        rig.sandbox.base_url()
    ))
    .await
    .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("nuova@pec.example.it") && html.contains("<form method=\"post\">"));
    assert_eq!(c.registration().await.unwrap().pec, REGISTRY_DEMO_PEC);

    // Confirmed: the new PEC is on record; the link is single use.
    let done = c.confirm_pec_change(&token).await.unwrap();
    assert_eq!(done.state, PecChangeState::Confirmed);
    assert!(done.confirmed_at.is_some());
    let rec = c.registration().await.unwrap();
    assert_eq!(rec.pec, "nuova@pec.example.it");
    assert!(rec.pending_change.is_none());
    let e = c.confirm_pec_change(&token).await.unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(409), "registry.link_used"));
    let e = c.confirm_pec_change("bogus").await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    rig.stop().await;
}

/// A link used one minute before and one minute after 24:00 Europe/Rome of the day after receipt.
async fn link_around_deadline(received: &str, valid_through: &str, expires: &str) {
    let rig = Rig::new().await;
    let c = &rig.client;
    let expires_at = utc(expires);

    // In time: one minute before.
    c.sandbox_set_clock(utc(received)).await.expect("success");
    registry(c).await;
    let v = c
        .request_pec_change(&change("dst@pec.example.it", "dst@pec.example.it"))
        .await
        .expect("success");
    assert_eq!(v.deadline.expires_at, expires_at, "received {received}");
    assert_eq!(
        v.deadline.valid_through,
        valid_through.parse::<NaiveDate>().expect("success")
    );
    let token = last_link(c, "dst@pec.example.it").await;
    c.sandbox_set_clock(expires_at - TimeDelta::minutes(1))
        .await
        .expect("success");
    let done = c.confirm_pec_change(&token).await.expect("success");
    assert_eq!(done.state, PecChangeState::Confirmed);

    // Too late: one minute after; the seed's error, and a new request is possible.
    c.sandbox_set_clock(utc(received)).await.expect("success");
    registry(c).await;
    c.request_pec_change(&change("tardi@pec.example.it", "tardi@pec.example.it"))
        .await
        .expect("success");
    let token = last_link(c, "tardi@pec.example.it").await;
    c.sandbox_set_clock(expires_at + TimeDelta::minutes(1))
        .await
        .expect("success");
    let e = c.confirm_pec_change(&token).await.expect_err("an error");
    assert_eq!(
        (e.status(), code_of(&e)),
        (Some(410), "registry.link_expired")
    );
    if let pec_provider::Error::Api { problem, .. } = &e {
        assert!(
            problem
                .message_it
                .starts_with("Scaduto il periodo di validità")
        );
        assert!(problem.message_it.contains("nuovamente la richiesta"));
    }
    registry(c).await;
    let rec = c.registration().await.expect("success");
    assert_eq!(rec.pec, "dst@pec.example.it");
    assert!(rec.pending_change.is_none());
    assert_eq!(
        c.pec_changes().await.expect("success")[0].state,
        PecChangeState::Expired
    );
    let again = c
        .request_pec_change(&change("tardi@pec.example.it", "tardi@pec.example.it"))
        .await
        .expect("success");
    assert_eq!(again.state, PecChangeState::Pending);
    rig.sandbox.shutdown().await.expect("success");
}

#[tokio::test]
async fn link_deadline_on_the_spring_forward_weekend() {
    // Received 13:00 CET on Saturday 28 March 2026; clocks go forward on Sunday 29:
    // the link works until 24:00 CEST on the 29th = 22:00Z.
    link_around_deadline("2026-03-28T12:00:00Z", "2026-03-29", "2026-03-29T22:00:00Z").await;
}

#[tokio::test]
async fn link_deadline_on_the_fall_back_weekend() {
    // Received 14:00 CEST on Saturday 24 October 2026; clocks go back on Sunday 25:
    // the link works until 24:00 CET on the 25th = 23:00Z.
    link_around_deadline("2026-10-24T12:00:00Z", "2026-10-25", "2026-10-25T23:00:00Z").await;
}

fn pdf() -> Vec<u8> {
    b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec()
}

fn questionnaire(new_pec: &str) -> PecChangeQuestionnaire {
    PecChangeQuestionnaire {
        reason: "Credenziali dimenticate".into(),
        first_name: "Mario".into(),
        last_name: "Rossi".into(),
        tax_code: MARIO_CF.into(),
        phone: "06 1234567".into(),
        new_pec: new_pec.into(),
    }
}

fn ticket(access: bool, q: Option<PecChangeQuestionnaire>) -> SupportTicketRequest {
    SupportTicketRequest {
        category: SupportCategory::PersonalDataChange,
        topic: SupportTopic::PecChange,
        private_area_access: access,
        questionnaire: q,
        description: None,
    }
}

#[tokio::test]
async fn support_ticket_for_users_without_the_private_area() {
    let rig = Rig::new().await;
    let c = &rig.client;

    // "Accedi all'Area privata?" Sì → use the private area; No → the questionnaire is required.
    let e = c
        .open_support_ticket(&ticket(true, Some(questionnaire("n@pec.example.it"))))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "support.use_private_area");
    let e = c
        .open_support_ticket(&ticket(false, None))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "support.questionnaire_required");
    let mut bad = questionnaire("n@pec.example.it");
    bad.tax_code = "RSSMRA45C12F205A".into();
    let e = c
        .open_support_ticket(&ticket(false, Some(bad)))
        .await
        .unwrap_err();
    assert!(code_of(&e).starts_with("cf."), "{}", code_of(&e));
    let mut bad = questionnaire("n@pec.example.it");
    bad.phone = "abc".into();
    let e = c
        .open_support_ticket(&ticket(false, Some(bad)))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "support.phone_invalid");
    let e = c
        .open_support_ticket(&ticket(false, Some(questionnaire("not an address"))))
        .await
        .unwrap_err();
    assert!(code_of(&e).starts_with("email."));

    // Opened: waiting for the identity document.
    let created = c
        .open_support_ticket(&ticket(
            false,
            Some(questionnaire("supporto@pec.example.it")),
        ))
        .await
        .unwrap();
    let t = &created.ticket;
    assert!(t.number.starts_with("OAM-"), "{}", t.number);
    assert_eq!(t.state, SupportTicketState::AwaitingDocument);
    assert!(t.notice_it.contains("documento di riconoscimento"));
    let tok = created.follow_token.clone();
    let e = c.support_ticket(&t.number, "wrong").await.unwrap_err();
    assert_eq!(e.status(), Some(404));

    // The document: sniffed, size-limited (shared checks), then in review.
    let e = c
        .attach_ticket_document(
            &t.number,
            &tok,
            "ci.pdf",
            "application/pdf",
            b"hello".to_vec(),
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "document.unsupported_type");
    let e = c
        .attach_ticket_document(&t.number, &tok, "ci.png", "application/octet-stream", pdf())
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "document.type_mismatch");
    let e = c
        .attach_ticket_document(
            &t.number,
            &tok,
            "ci.pdf",
            "application/pdf",
            vec![b'%'; 6 * 1024 * 1024],
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(413));
    let v = c
        .attach_ticket_document(&t.number, &tok, "ci.pdf", "application/pdf", pdf())
        .await
        .unwrap();
    assert_eq!(v.state, SupportTicketState::InReview);
    assert_eq!(v.document.as_ref().unwrap().media_type, "application/pdf");
    let e = c
        .attach_ticket_document(&t.number, &tok, "ci.pdf", "application/pdf", pdf())
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "support.document_not_expected");

    // The technical service accepts: the link goes to the new PEC and works.
    let v = c.sandbox_decide_ticket(&t.number, true).await.unwrap();
    assert_eq!(v.state, SupportTicketState::Resolved);
    assert_eq!(
        c.support_ticket(&t.number, &tok).await.unwrap().state,
        SupportTicketState::Resolved
    );
    let link = last_link(c, "supporto@pec.example.it").await;
    c.confirm_pec_change(&link).await.unwrap();
    registry(c).await;
    assert_eq!(
        c.registration().await.unwrap().pec,
        "supporto@pec.example.it"
    );

    // Another topic needs a description; a refused ticket says so.
    let mut other = ticket(false, None);
    other.topic = SupportTopic::AccountLocked;
    other.category = SupportCategory::PrivateArea;
    let e = c.open_support_ticket(&other).await.unwrap_err();
    assert_eq!(code_of(&e), "support.description_required");
    other.description = Some("Account bloccato dopo tre tentativi".into());
    let created = c.open_support_ticket(&other).await.unwrap();
    assert_eq!(created.ticket.state, SupportTicketState::InReview);
    let v = c
        .sandbox_decide_ticket(&created.ticket.number, false)
        .await
        .unwrap();
    assert_eq!(v.state, SupportTicketState::Rejected);
    let e = c
        .sandbox_decide_ticket(&created.ticket.number, true)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "support.not_in_review");
    rig.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Renewal

const SERVIZI_CF: &str = "07973780013";
const ACME_CF: &str = "00743110157";

async fn solved_captcha(c: &Client) -> (String, String) {
    let cap = c.new_captcha().await.expect("success");
    let answer = c
        .sandbox_captcha_answer(&cap.id)
        .await
        .expect("success")
        .answer;
    (cap.id, answer)
}

/// Answers a captcha's text alternative as a person would: reads the number in words from the
/// question and types it in digits (the words of every number compared with the question).
fn answer_text_alternative(question_it: &str) -> String {
    let words = question_it
        .strip_prefix("Scrivi in cifre il numero ")
        .and_then(|q| q.strip_suffix('.'))
        .unwrap_or_else(|| panic!("unexpected question {question_it:?}"));
    (100..1000)
        .find(|&n| pec_sandbox::captcha::words_it(n) == words)
        .unwrap_or_else(|| panic!("{words:?} is no number"))
        .to_string()
}

#[tokio::test]
async fn the_captcha_text_alternative_is_answered_without_the_image() {
    let rig = Rig::new().await;
    let c = &rig.client;
    let cap = c.new_captcha().await.unwrap();
    // A question in each language, with no digit in it (a screen reader reads it as words).
    assert!(cap.question_it.starts_with("Scrivi in cifre"));
    assert!(cap.question_en.starts_with("Write the number"));
    assert!(!cap.question_it.chars().any(|ch| ch.is_ascii_digit()));
    let text_answer = answer_text_alternative(&cap.question_it);
    let image_answer = c.sandbox_captcha_answer(&cap.id).await.unwrap().answer;
    assert_ne!(text_answer, image_answer);
    let r = c
        .renewal_register(&registration(
            SERVIZI_CF,
            "servizi@example.com",
            (cap.id.clone(), text_answer.clone()),
        ))
        .await
        .unwrap();
    assert_eq!(r.step, RegistrationStep::AwaitingEmailCode);
    // Single use, whichever answer was given.
    let e = c
        .renewal_register(&registration(
            ACME_CF,
            "acme@example.com",
            (cap.id, image_answer),
        ))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "captcha.expired");
    // A wrong number in words is a wrong answer like a wrong image code.
    let cap = c.new_captcha().await.unwrap();
    let wrong = (answer_text_alternative(&cap.question_it)
        .parse::<u16>()
        .unwrap()
        % 899
        + 101)
        .to_string();
    let e = c
        .renewal_register(&registration(
            SERVIZI_CF,
            "servizi@example.com",
            (cap.id, wrong),
        ))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "captcha.wrong");
    rig.stop().await;
}

fn registration(cf: &str, email: &str, captcha: (String, String)) -> RenewalRegistrationRequest {
    RenewalRegistrationRequest {
        company_tax_code: cf.into(),
        email: email.into(),
        mobile: "333 765 4321".into(),
        password: "Portale-Password-1".into(),
        captcha_id: captcha.0,
        captcha_answer: captcha.1,
    }
}

fn chiara() -> PersonData {
    PersonData {
        first_name: "Chiara".into(),
        last_name: "Conti".into(),
        tax_code: CHIARA_CF.into(),
    }
}

fn card(number: &str) -> PaymentRequest {
    PaymentRequest {
        card: Some(CardData {
            number: number.into(),
            expiry_month: 12,
            expiry_year: 2035,
            cvc: "123".into(),
            holder_name: "Chiara Conti".into(),
        }),
        wallet_account: None,
    }
}

async fn rome_today(c: &Client) -> NaiveDate {
    let now = c.sandbox_clock().await.expect("success").now;
    now.with_timezone(&pec_domain::deadline::ROME).date_naive()
}

#[tokio::test]
async fn unregistered_company_captcha_sms_skipped_declined_timeout_then_paid_once() {
    let rig = Rig::new().await;
    let c = &rig.client;

    // Entry: the codice fiscale as the portal wants it, registered or not.
    let l = c.renewal_lookup(" 07973780013 ").await.unwrap();
    assert_eq!(l.tax_code, "0000007973780013");
    assert!(!l.registered);
    assert_eq!(l.business_name.as_deref(), Some("ACME Servizi S.r.l."));
    assert_eq!(
        l.activation_email_masked.as_deref(),
        Some("c***@example.com")
    );
    assert!(c.renewal_lookup(ACME_CF).await.unwrap().registered);
    let e = c.renewal_lookup("123").await.unwrap_err();
    assert_eq!(code_of(&e), "tax_code.length");

    // A real PNG captcha; a wrong answer uses it up; then a right one.
    let cap = c.new_captcha().await.unwrap();
    let png = c.captcha_image(&cap.id).await.unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let answer = c.sandbox_captcha_answer(&cap.id).await.unwrap().answer;
    let wrong = if answer == "00000" { "11111" } else { "00000" };
    let e = c
        .renewal_register(&registration(
            SERVIZI_CF,
            "servizi@example.com",
            (cap.id.clone(), wrong.into()),
        ))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "captcha.wrong");
    let e = c
        .renewal_register(&registration(
            SERVIZI_CF,
            "servizi@example.com",
            (cap.id.clone(), answer),
        ))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "captcha.expired", "single use");
    let r = c
        .renewal_register(&registration(
            SERVIZI_CF,
            "servizi@example.com",
            solved_captcha(c).await,
        ))
        .await
        .unwrap();
    assert_eq!(r.step, RegistrationStep::AwaitingEmailCode);
    assert_eq!(r.tax_code, "0000007973780013");
    // The code goes to the company's contacts on record: its PEC and the activation e-mail.
    assert_eq!(
        r.code_sent_to,
        ["f***@pec.acme-srl.test", "c***@example.com"]
    );

    // E-mail code (wrong, then right), then the SMS pop-up closed: registered anyway.
    let e = c.renewal_verify_email(&r.id, "000000x").await.unwrap_err();
    assert_eq!(code_of(&e), "verification.code_invalid");
    let code = email_code(c, ACME_SERVIZI).await;
    let r = c.renewal_verify_email(&r.id, &code).await.unwrap();
    assert_eq!(r.step, RegistrationStep::AwaitingSmsCode);
    assert_eq!(
        c.sandbox_sms_outbox(Some("+393337654321"))
            .await
            .unwrap()
            .len(),
        1
    );
    let r = c.renewal_skip_sms(&r.id).await.unwrap();
    assert_eq!(r.step, RegistrationStep::Completed);
    assert!(!r.mobile_verified);
    assert!(r.session.is_some());

    // The company's mailboxes, price with VAT.
    let boxes = c.renewable_mailboxes().await.unwrap();
    assert_eq!(boxes.len(), 1);
    assert_eq!(boxes[0].address, ACME_SERVIZI);
    let p = &boxes[0].price;
    assert_eq!(
        (p.net_cents, p.vat_rate_percent, p.vat_cents, p.total_cents),
        (900, 22, 198, 1098)
    );
    assert_eq!(p.label_it, "9,00 € + IVA 22% (1,98 €) = 10,98 €");

    let order = c
        .create_renewal_order(&RenewalOrderRequest {
            mailbox: ACME_SERVIZI.into(),
            legal_representative: chiara(),
            payment_method: PaymentMethodData::Card,
        })
        .await
        .unwrap();
    assert_eq!(order.state, RenewalOrderState::AwaitingPayment);

    // Declined, then timed out: nothing charged, still awaiting payment.
    let e = c
        .pay_renewal_order(&order.id, &card(CARD_DECLINED), "k-declined")
        .await
        .unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(402), "payment.declined"));
    let e = c
        .pay_renewal_order(&order.id, &card(CARD_TIMEOUT), "k-timeout")
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), code_of(&e)),
        (Some(504), "payment.gateway_timeout")
    );
    assert_eq!(
        c.renewal_order(&order.id).await.unwrap().state,
        RenewalOrderState::AwaitingPayment
    );

    // Paid; the retry with the same key returns the same answer; a new key charges nothing.
    let paid = c
        .pay_renewal_order(&order.id, &card(CARD_OK), "k-ok")
        .await
        .unwrap();
    assert_eq!(paid.state, RenewalOrderState::Paid);
    let today = rome_today(c).await;
    let expected = today.checked_add_months(chrono::Months::new(12)).unwrap();
    assert_eq!(paid.new_expires_on, Some(expected));
    let again = c
        .pay_renewal_order(&order.id, &card(CARD_OK), "k-ok")
        .await
        .unwrap();
    assert_eq!(again, paid);
    let e = c
        .pay_renewal_order(&order.id, &card(CARD_OK), "k-other")
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "renewal.already_paid");
    let charges = c.sandbox_charges(&order.id).await.unwrap();
    let outcomes: Vec<&str> = charges.iter().map(|c| c.outcome.as_str()).collect();
    assert_eq!(outcomes, ["declined", "timed_out", "succeeded"]);
    assert_eq!(charges[2].amount_cents, 1098);

    // Confirmation to the contact address and to the PEC; the mailbox's expiry moved.
    for to in ["servizi@example.com", ACME_SERVIZI] {
        let mails = c.sandbox_outbox(Some(to)).await.unwrap();
        let m = mails
            .iter()
            .find(|m| m.subject.starts_with("Conferma rinnovo"))
            .expect(to);
        assert!(m.body.contains(&expected.format("%d/%m/%Y").to_string()));
    }
    c.sign_in("acc-demo-acme", PASSWORD, None).await.unwrap();
    assert_eq!(c.mailbox(ACME_SERVIZI).await.unwrap().expires_on, expected);
    rig.stop().await;
}

#[tokio::test]
async fn registered_company_phone_line_and_wallet_and_sms_verified_registration() {
    let rig = Rig::new().await;
    let c = &rig.client;

    // Registered: sign in with the padded or plain code.
    let e = c
        .renewal_sign_in(ACME_CF, "wrong-password")
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "auth.invalid_credentials");
    c.renewal_sign_in("0000000743110157", PASSWORD)
        .await
        .unwrap();
    let boxes = c.renewable_mailboxes().await.unwrap();
    assert_eq!(boxes.len(), 1);
    assert_eq!(boxes[0].address, ACME);

    let order = |method| RenewalOrderRequest {
        mailbox: ACME.into(),
        legal_representative: chiara(),
        payment_method: method,
    };
    let e = c
        .create_renewal_order(&order(PaymentMethodData::PhoneLine {
            line_number: "0299999999".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "renewal.line_not_owned");
    let e = c
        .create_renewal_order(&RenewalOrderRequest {
            mailbox: ACME_SERVIZI.into(),
            legal_representative: chiara(),
            payment_method: PaymentMethodData::Card,
        })
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404), "another company's mailbox");
    let mut bad_lr = order(PaymentMethodData::Card);
    bad_lr.legal_representative.tax_code = "CNTCHR83T41D969X".into();
    let e = c.create_renewal_order(&bad_lr).await.unwrap_err();
    assert!(code_of(&e).starts_with("cf."));

    let o = c
        .create_renewal_order(&order(PaymentMethodData::PhoneLine {
            line_number: "02 1234 5678".into(),
        }))
        .await
        .unwrap();
    assert_eq!(
        o.payment_method,
        PaymentMethodData::PhoneLine {
            line_number: ACME_PHONE_LINE.into()
        }
    );
    let paid = c
        .pay_renewal_order(
            &o.id,
            &PaymentRequest {
                card: None,
                wallet_account: None,
            },
            "k1",
        )
        .await
        .unwrap();
    assert_eq!(paid.state, RenewalOrderState::Paid);

    let o = c
        .create_renewal_order(&order(PaymentMethodData::Wallet {
            wallet: WalletKind::Paypal,
        }))
        .await
        .unwrap();
    let e = c
        .pay_renewal_order(
            &o.id,
            &PaymentRequest {
                card: None,
                wallet_account: None,
            },
            "k2",
        )
        .await
        .unwrap_err();
    assert!(code_of(&e).starts_with("email."));
    let paid = c
        .pay_renewal_order(
            &o.id,
            &PaymentRequest {
                card: None,
                wallet_account: Some("chiara@example.com".into()),
            },
            "k3",
        )
        .await
        .unwrap();
    assert_eq!(paid.state, RenewalOrderState::Paid);
    for to in ["chiara.conti@example.com", ACME] {
        let n = c
            .sandbox_outbox(Some(to))
            .await
            .unwrap()
            .iter()
            .filter(|m| m.subject.starts_with("Conferma rinnovo"))
            .count();
        assert_eq!(n, 2, "{to}");
    }

    // An unregistered company that verifies its mobile too (wrong SMS codes first; five lock).
    let seeded = c
        .sandbox_seed_account(&SeedAccountRequest {
            password: "Seed-Password-1".into(),
            mailboxes: vec![SeedMailbox {
                address: "info@pec.beta-srl.test".into(),
                holder: company_holder("Beta S.r.l.", "12345670017", Some(CHIARA_CF)),
                contact: contact("beta@example.com"),
                imap: None,
            }],
        })
        .await
        .unwrap();
    assert!(!seeded.account_id.is_empty());
    let r = c
        .renewal_register(&registration(
            "12345670017",
            "beta@example.com",
            solved_captcha(c).await,
        ))
        .await
        .unwrap();
    let code = email_code(c, "info@pec.beta-srl.test").await;
    c.renewal_verify_email(&r.id, &code).await.unwrap();
    let e = c.renewal_verify_sms(&r.id, "999999x").await.unwrap_err();
    assert_eq!(code_of(&e), "verification.code_invalid");
    let sms = sms_code(c, "+393337654321").await;
    let e = c.renewal_skip_sms("reg-unknown").await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    let r = c.renewal_verify_sms(&r.id, &sms).await.unwrap();
    assert_eq!(r.step, RegistrationStep::Completed);
    assert!(r.mobile_verified);
    let boxes = c.renewable_mailboxes().await.unwrap();
    assert_eq!(boxes[0].address, "info@pec.beta-srl.test");
    // Signing in later works with the new password.
    c.renewal_sign_in("12345670017", "Portale-Password-1")
        .await
        .unwrap();
    rig.stop().await;
}

#[tokio::test]
async fn captcha_expires_and_expiry_awareness_until_cessation() {
    let rig = Rig::new().await;
    let c = &rig.client;

    let cap = c.new_captcha().await.unwrap();
    c.sandbox_advance_clock(6 * 60).await.unwrap();
    let e = c
        .renewal_register(&registration(
            SERVIZI_CF,
            "s@example.com",
            (cap.id.clone(), "12345".into()),
        ))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "captcha.expired");
    assert_eq!(
        c.captcha_image(&cap.id).await.unwrap_err().status(),
        Some(410)
    );

    // Five wrong e-mail codes lock the registration, even for the right code.
    let r = c
        .renewal_register(&registration(
            SERVIZI_CF,
            "s@example.com",
            solved_captcha(c).await,
        ))
        .await
        .unwrap();
    for _ in 0..5 {
        let e = c.renewal_verify_email(&r.id, "nope").await.unwrap_err();
        assert_eq!(code_of(&e), "verification.code_invalid");
    }
    // The code went to the company's PEC on record (H3), never to the typed address.
    assert!(
        c.sandbox_outbox(Some("s@example.com"))
            .await
            .unwrap()
            .is_empty()
    );
    let code = email_code(c, ACME_SERVIZI).await;
    let e = c.renewal_verify_email(&r.id, &code).await.unwrap_err();
    assert_eq!(
        (e.status(), code_of(&e)),
        (Some(429), "verification.locked")
    );

    c.sign_in(ACME, PASSWORD, None).await.unwrap();
    let x = c.mailbox_expiry(ACME).await.unwrap();
    assert_eq!(x.status, ExpiryStatusData::Active);
    assert_eq!(x.days_to_expiry, (x.expires_on - x.today).num_days());
    assert_eq!(x.reminder_from, x.expires_on - TimeDelta::days(30));
    assert_eq!(x.renewable_until, x.expires_on + TimeDelta::days(90));
    assert_eq!(x.ceases_on, x.expires_on + TimeDelta::days(91));
    assert!(!x.offer_backup);
    // The whole account in one call: the same view for each mailbox, in the list's order.
    let all = c.mailbox_expiries().await.unwrap();
    let listed: Vec<String> = c
        .mailboxes()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.address)
        .collect();
    assert_eq!(
        all.iter().map(|e| e.address.clone()).collect::<Vec<_>>(),
        listed
    );
    for e in &all {
        let one = c.mailbox_expiry(&e.address).await.unwrap();
        assert_eq!(e.expiry, one, "{}", e.address);
    }

    let at = |d: NaiveDate| d.and_hms_opt(10, 0, 0).unwrap().and_utc();
    // In the reminder window.
    c.sandbox_set_clock(at(x.expires_on - TimeDelta::days(10)))
        .await
        .unwrap();
    c.sign_in(ACME, PASSWORD, None).await.unwrap();
    let y = c.mailbox_expiry(ACME).await.unwrap();
    assert_eq!(
        (y.status, y.days_to_expiry, y.offer_backup),
        (ExpiryStatusData::ExpiringSoon, 10, true)
    );
    // Expired, in the grace period.
    c.sandbox_set_clock(at(x.expires_on + TimeDelta::days(5)))
        .await
        .unwrap();
    c.sign_in(ACME, PASSWORD, None).await.unwrap();
    let y = c.mailbox_expiry(ACME).await.unwrap();
    assert_eq!(
        (y.status, y.days_to_expiry),
        (ExpiryStatusData::Expired, -5)
    );
    let in_list = c.mailbox_expiries().await.unwrap();
    let acme = in_list.iter().find(|e| e.address == ACME).unwrap();
    assert_eq!(acme.expiry, y);
    // Ceased: no renewal any more.
    c.sandbox_set_clock(at(x.ceases_on)).await.unwrap();
    c.sign_in(ACME, PASSWORD, None).await.unwrap();
    assert_eq!(
        c.mailbox_expiry(ACME).await.unwrap().status,
        ExpiryStatusData::Ceased
    );
    c.renewal_sign_in(ACME_CF, PASSWORD).await.unwrap();
    let e = c
        .create_renewal_order(&RenewalOrderRequest {
            mailbox: ACME.into(),
            legal_representative: chiara(),
            payment_method: PaymentMethodData::Card,
        })
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "renewal.mailbox_ceased");
    rig.stop().await;
}
