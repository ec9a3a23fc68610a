//! Every identity flow and outcome, through the client crate, against the real server on
//! loopback with a real SQLite file.

mod common;

use common::*;
use pec_provider::api::*;

#[tokio::test]
async fn sessions_lockout_refresh_and_sign_out() {
    let rig = Rig::new().await;
    let c = &rig.client;

    // By account id and by address.
    let t = c.sign_in("acc-demo-mario", PASSWORD, None).await.unwrap();
    assert_eq!(t.account_id, "acc-demo-mario");
    let t = c.sign_in(MARIO, PASSWORD, None).await.unwrap();
    assert_eq!(c.mailboxes().await.unwrap().len(), 2);

    // Refresh rotates: the old refresh token stops working.
    let t2 = c.refresh(t.refresh_token.expose()).await.unwrap();
    assert_ne!(t2.access_token, t.access_token);
    assert_eq!(c.mailboxes().await.unwrap().len(), 2);
    let e = c.refresh(t.refresh_token.expose()).await.unwrap_err();
    assert_eq!(code_of(&e), "auth.unauthorized");
    // Presented again, it also ended the session it had been rotated into (audit I6: one of
    // its two holders is not the holder): its access and refresh tokens are dead.
    let e = c.mailboxes().await.unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(401), "auth.unauthorized"));
    let e = c.refresh(t2.refresh_token.expose()).await.unwrap_err();
    assert_eq!(code_of(&e), "auth.unauthorized");

    // Sign out: the token is dead.
    let t2 = c.sign_in(MARIO, PASSWORD, None).await.unwrap();
    let access = t2.access_token.clone();
    c.sign_out().await.unwrap();
    c.set_access_token(Some(access));
    let e = c.mailboxes().await.unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(401), "auth.unauthorized"));

    // Wrong password until lock-out; then even the right one is refused.
    for i in 0..5 {
        let e = c.sign_in(ACME, "wrong-password", None).await.unwrap_err();
        let expected = if i < 4 {
            "auth.invalid_credentials"
        } else {
            "auth.locked"
        };
        assert_eq!(code_of(&e), expected, "attempt {i}");
    }
    let e = c.sign_in(ACME, PASSWORD, None).await.unwrap_err();
    assert_eq!(code_of(&e), "auth.locked");
    if let pec_provider::Error::Api { problem, .. } = &e {
        assert!(problem.retry_after.is_some());
        assert!(!problem.message_it.is_empty() && !problem.message_en.is_empty());
    }
    // The lock ends with time (sandbox clock), and access tokens expire with it too.
    c.sandbox_advance_clock(16 * 60).await.unwrap();
    c.sign_in(ACME, PASSWORD, None).await.unwrap();

    let e = c
        .sign_in("nobody@pec.sandbox.test", PASSWORD, None)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "auth.invalid_credentials");
    rig.stop().await;
}

#[tokio::test]
async fn concurrent_wrong_passwords_are_each_counted() {
    let rig = Rig::new().await;
    let c = &rig.client;
    // Five wrong passwords at once: their hashes are checked side by side, outside the
    // writer, and the writer still counts every failure, so exactly one of them locks.
    let wrong = || c.sign_in(ACME, "wrong-password", None);
    let (a, b, d, e, f) = tokio::join!(wrong(), wrong(), wrong(), wrong(), wrong());
    let mut codes: Vec<String> = [a, b, d, e, f]
        .into_iter()
        .map(|r| code_of(&r.unwrap_err()).to_owned())
        .collect();
    codes.sort();
    assert_eq!(
        codes,
        [
            "auth.invalid_credentials",
            "auth.invalid_credentials",
            "auth.invalid_credentials",
            "auth.invalid_credentials",
            "auth.locked",
        ]
    );
    let e = c.sign_in(ACME, PASSWORD, None).await.unwrap_err();
    assert_eq!(code_of(&e), "auth.locked");
    rig.stop().await;
}

/// The access-token cache answers most requests without the database: a token revoked by
/// refresh or sign-out, or expired on the sandbox clock, must still be refused at once, even
/// right after it was cached by a successful request.
#[tokio::test]
async fn revoked_or_expired_access_tokens_are_refused_at_once() {
    let rig = Rig::new().await;
    let c = &rig.client;

    // Refresh: the old access token, cached by the request before, is dead.
    let t1 = c.sign_in(MARIO, PASSWORD, None).await.unwrap();
    c.mailbox(MARIO).await.unwrap();
    let t2 = c.refresh(t1.refresh_token.expose()).await.unwrap();
    c.set_access_token(Some(t1.access_token.clone()));
    let e = c.mailbox(MARIO).await.unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(401), "auth.unauthorized"));
    c.set_access_token(Some(t2.access_token.clone()));
    c.mailbox(MARIO).await.unwrap();

    // Sign-out: the cached token is dead on the next request, the other session lives on.
    let other = pec_provider::Client::new(rig.sandbox.base_url()).unwrap();
    other.sign_in(MARIO, PASSWORD, None).await.unwrap();
    other.mailbox(MARIO).await.unwrap();
    c.sign_out().await.unwrap();
    c.set_access_token(Some(t2.access_token.clone()));
    let e = c.mailbox(MARIO).await.unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(401), "auth.unauthorized"));
    other.mailbox(MARIO).await.unwrap();

    // Expiry on the sandbox clock: cached a moment ago, refused once its 15 minutes are over.
    c.sandbox_advance_clock(14 * 60).await.unwrap();
    other.mailbox(MARIO).await.unwrap();
    c.sandbox_advance_clock(2 * 60).await.unwrap();
    let e = other.mailbox(MARIO).await.unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(401), "auth.unauthorized"));
    rig.stop().await;
}

/// The status read writes its JSON straight from the row: it must be the very view the typed
/// path (the list) gives, and show a change made by the request before it.
#[tokio::test]
async fn mailbox_status_matches_the_list_and_sees_the_last_write() {
    let rig = Rig::signed_in("acc-demo-acme").await;
    let c = &rig.client;
    for m in c.mailboxes().await.unwrap() {
        assert_eq!(c.mailbox(&m.address).await.unwrap(), m);
    }
    let before = c.mailbox(ACME).await.unwrap();
    assert_eq!(before.active_identity_request, None);
    let r = c.create_identity_request(ACME).await.unwrap();
    let after = c.mailbox(ACME).await.unwrap();
    assert_eq!(
        after.active_identity_request.as_deref(),
        Some(r.id.as_str())
    );
    let listed = c.mailboxes().await.unwrap();
    assert!(listed.contains(&after));
    rig.stop().await;
}

/// Readers serve many requests from one snapshot (see `Reader` in `src/state.rs`). Three
/// things must hold anyway: every write answered before a read is in it; a write to the file by
/// another connection (another process) is seen within a bounded time; and idle readers do not
/// keep the WAL from being checkpointed back into the database file.
#[tokio::test]
async fn reader_snapshots_follow_writes_and_release_the_wal() {
    let rig = Rig::signed_in(MARIO).await;
    let db = rig.db();
    let c = &rig.client;

    // Each API write is seen by the very next read, whichever reader serves it: two-step
    // login on and off, a read of every reader between the switches.
    for round in 0..4 {
        for _ in 0..8 {
            c.mailbox(STUDIO).await.unwrap();
        }
        let en = enable_two_step(c, STUDIO).await;
        assert!(
            c.mailbox(STUDIO).await.unwrap().two_step_login,
            "round {round}"
        );
        for _ in 0..8 {
            c.mailbox(STUDIO).await.unwrap();
        }
        let code = totp_now(c, &en.secret).await;
        c.two_step_disable(STUDIO, &SecondFactorProof::code(&code))
            .await
            .unwrap();
        next_step(c).await;
        assert!(
            !c.mailbox(STUDIO).await.unwrap().two_step_login,
            "round {round}"
        );
    }

    // Another connection's write: seen without any write of the server's own.
    let other = rusqlite::Connection::open(&db).unwrap();
    other
        .busy_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    for _ in 0..8 {
        assert!(!c.mailbox(MARIO).await.unwrap().qualified);
    }
    other
        .execute(
            "UPDATE mailboxes SET qualified = 1 WHERE address = ?1",
            [MARIO],
        )
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if c.mailbox(MARIO).await.unwrap().qualified {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the outside write was never seen"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // Every reader now holds a snapshot of a WAL with frames in it. After one more API write,
    // the idle ones must have let go: a TRUNCATE checkpoint, which needs no reader in the WAL,
    // succeeds without waiting.
    for _ in 0..8 {
        c.mailbox(MARIO).await.unwrap();
    }
    let r = c.create_identity_request(MARIO).await.unwrap();
    other.busy_timeout(std::time::Duration::ZERO).unwrap();
    let (busy, _, _): (i64, i64, i64) = other
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .unwrap();
    assert_eq!(
        busy, 0,
        "an idle reader kept the WAL from being checkpointed"
    );
    let wal = std::fs::metadata(rig.dir().join("db.sqlite-wal")).unwrap();
    assert_eq!(wal.len(), 0, "the WAL was truncated");
    assert_eq!(
        c.mailbox(MARIO)
            .await
            .unwrap()
            .active_identity_request
            .as_deref(),
        Some(r.id.as_str())
    );
    rig.stop().await;
}

#[tokio::test]
async fn mailboxes_and_banner() {
    let rig = Rig::signed_in("acc-demo-acme").await;
    let c = &rig.client;
    let boxes = c.mailboxes().await.unwrap();
    assert_eq!(boxes.len(), 3);
    let fatture = boxes.iter().find(|m| m.address == ACME_SERVIZI).unwrap();
    assert_eq!(fatture.identity_state, IdentityStateData::DocumentsMissing);
    assert_eq!(fatture.identity_state_label_it, "Documenti mancanti");
    let n = c.notifications().await.unwrap();
    assert_eq!(
        n.iter()
            .filter(|n| n.kind == NotificationKind::IdentityBanner)
            .count(),
        3
    );
    let e = c.mailbox(MARIO).await.unwrap_err();
    assert_eq!(
        e.status(),
        Some(404),
        "someone else's mailbox is not visible"
    );
    rig.stop().await;
}

#[tokio::test]
async fn private_citizen_spid_otp_expiry_resend_and_success() {
    let rig = Rig::signed_in(MARIO).await;
    let c = &rig.client;

    // Idempotency: the same key twice creates one request.
    let a = c
        .create_identity_request_keyed(MARIO, "key-1")
        .await
        .unwrap();
    let b = c
        .create_identity_request_keyed(MARIO, "key-1")
        .await
        .unwrap();
    assert_eq!(a.id, b.id);
    let e = c.create_identity_request(MARIO).await.unwrap_err();
    assert_eq!(code_of(&e), "identity.request_exists");
    assert_eq!(
        c.mailbox(MARIO).await.unwrap().active_identity_request,
        Some(a.id.clone())
    );
    let id = a.id;

    act(
        c,
        &id,
        IdentityAction::ChooseRole {
            role: RoleData::HolderOrLegalRepresentative,
        },
    )
    .await;
    act(
        c,
        &id,
        IdentityAction::ChooseHolderKind {
            kind: HolderKindData::PrivateCitizen,
        },
    )
    .await;
    // The domain validators answer with their codes.
    let e = c
        .act(
            &id,
            &IdentityAction::SubmitData {
                holder: HolderData::PrivateCitizen {
                    first_name: "Mario".into(),
                    last_name: "Rossi".into(),
                    tax_code: "RSSMRA45C12F205A".into(),
                },
                contact: contact("mario.rossi@example.com"),
            },
        )
        .await
        .unwrap_err();
    assert!(code_of(&e).starts_with("cf."), "{e}");
    let e = c
        .act(
            &id,
            &IdentityAction::SubmitData {
                holder: mario_holder(),
                contact: contact("not-an-email"),
            },
        )
        .await
        .unwrap_err();
    assert!(code_of(&e).starts_with("email."), "{e}");
    // Summary, back to fix (prefilled), then on.
    act(
        c,
        &id,
        IdentityAction::SubmitData {
            holder: mario_holder(),
            contact: contact("mario.rossi@example.com"),
        },
    )
    .await;
    let r = act(c, &id, IdentityAction::Back).await;
    assert_eq!(r.step, StepData::EnteringData);
    assert!(r.draft.is_some(), "the form is prefilled");
    act(
        c,
        &id,
        IdentityAction::SubmitData {
            holder: mario_holder(),
            contact: contact("mario.rossi@example.com"),
        },
    )
    .await;
    act(c, &id, IdentityAction::ConfirmSummary).await;
    // Out of order: the machine refuses.
    let e = c.act(&id, &IdentityAction::Proceed).await.unwrap_err();
    assert_eq!(
        (e.status(), code_of(&e)),
        (Some(409), "identity.illegal_transition")
    );
    act(
        c,
        &id,
        IdentityAction::ChooseMethod {
            method: MethodData::Spid,
        },
    )
    .await;
    // A card answer is refused for a SPID request.
    let e = c.card_challenge(&id).await.unwrap_err();
    assert_eq!(code_of(&e), "method.mismatch");

    // SPID through the test IdP page, as a browser would.
    let login = c.start_spid(&id).await.unwrap();
    assert_eq!(
        c.poll_spid(&id, &login.handle).await.unwrap().status,
        SpidStatus::Pending
    );
    let http = reqwest::Client::new();
    let page = http
        .get(&login.login_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(MARIO_CF));
    let resp = http
        .post(&login.login_url)
        .form(&[("tax_code", MARIO_CF), ("decision", "authorise")])
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let poll = c.poll_spid(&id, &login.handle).await.unwrap();
    assert_eq!(poll.status, SpidStatus::Authorised);
    let identified = poll.request.unwrap();
    assert_eq!(identified.step, StepData::Identified);
    assert!(
        identified.conditions.is_none(),
        "texts only where they are accepted"
    );

    let terms = act(c, &id, IdentityAction::Proceed).await;
    // The texts the checkboxes refer to come with the step, in both languages.
    let conditions = terms.conditions.expect("conditions at accepting_terms");
    assert!(!conditions.version.is_empty());
    assert!(conditions.service_conditions.body_it.contains("Gestore"));
    assert!(!conditions.contract_information.body_en.is_empty());
    let e = c
        .act(
            &id,
            &IdentityAction::CompleteRequest {
                terms: TermsData {
                    service_conditions: true,
                    contract_information: false,
                },
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "identity.terms_not_accepted");
    let r = act(
        c,
        &id,
        IdentityAction::CompleteRequest {
            terms: TermsData {
                service_conditions: true,
                contract_information: true,
            },
        },
    )
    .await;
    assert_eq!(r.step, StepData::OtpSent);
    let sent = r.otp_expires_at.unwrap();
    let first = last_otp(c, "mario.rossi@example.com").await;

    // The 60 seconds pass on the sandbox clock.
    c.sandbox_advance_clock(61).await.unwrap();
    let e = c
        .act(
            &id,
            &IdentityAction::ConfirmOtp {
                code: first.clone().into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), code_of(&e)),
        (Some(410), "identity.otp_expired")
    );
    let r = act(c, &id, IdentityAction::ResendOtp).await;
    assert!(r.otp_expires_at.unwrap() > sent);
    let second = last_otp(c, "mario.rossi@example.com").await;
    // An immediate second resend is rate limited.
    let e = c.act(&id, &IdentityAction::ResendOtp).await.unwrap_err();
    assert_eq!(
        (e.status(), code_of(&e)),
        (Some(429), "otp.resend_too_soon")
    );

    let r = act(
        c,
        &id,
        IdentityAction::ConfirmOtp {
            code: second.into(),
        },
    )
    .await;
    assert_eq!(r.step, StepData::Completed);
    assert_eq!(r.state, IdentityStateData::Completed);
    let m = c.mailbox(MARIO).await.unwrap();
    assert!(m.qualified, "the European star");
    assert_eq!(m.identity_state_label_it, "Completato");
    assert_eq!(m.active_identity_request, None);

    // Success messages to the PEC and to the ordinary mailbox.
    for to in [MARIO, "mario.rossi@example.com"] {
        let mails = c.sandbox_outbox(Some(to)).await.unwrap();
        assert!(
            mails.iter().any(|m| m
                .subject
                .starts_with("Identificazione avvenuta con successo")),
            "success mail to {to}"
        );
    }
    let n = c.notifications().await.unwrap();
    assert!(
        !n.iter()
            .any(|n| n.kind == NotificationKind::IdentityBanner && n.mailbox == MARIO)
    );
    let done = n
        .iter()
        .find(|n| n.kind == NotificationKind::IdentityOutcome)
        .unwrap();
    c.mark_notification_read(&done.id).await.unwrap();
    let e = c.create_identity_request(MARIO).await.unwrap_err();
    assert_eq!(code_of(&e), "identity.already_completed");
    rig.stop().await;
}

#[tokio::test]
async fn wrong_otp_until_lockout_then_resend() {
    let rig = Rig::signed_in(MARIO).await;
    let c = &rig.client;
    let id = to_identifying(
        c,
        MARIO,
        mario_holder(),
        "mario.rossi@example.com",
        MethodData::RemoteSignature,
    )
    .await;
    // A wrong OTP: the signature service refuses to sign, nothing reaches the provider.
    let otp = totp_now(c, FIRMA_MARIO.1).await;
    let wrong_otp = wrong(&otp);
    let e = sign_remotely(c, &id, FIRMA_MARIO, wrong_otp)
        .await
        .unwrap_err();
    assert_eq!(pec_domain::DomainError::code(&e), "sign.remote_refused");
    assert_eq!(
        c.identity_request(&id).await.unwrap().step,
        StepData::Identifying
    );
    let r = sign_remotely(c, &id, FIRMA_MARIO, &otp)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.step, StepData::Identified);
    act(c, &id, IdentityAction::Proceed).await;
    act(
        c,
        &id,
        IdentityAction::CompleteRequest {
            terms: TermsData {
                service_conditions: true,
                contract_information: true,
            },
        },
    )
    .await;
    let good = last_otp(c, "mario.rossi@example.com").await;
    let wrong = if good == "000000" { "111111" } else { "000000" };
    for i in 1..=5 {
        let e = c
            .act(&id, &IdentityAction::ConfirmOtp { code: wrong.into() })
            .await
            .unwrap_err();
        let expected = if i < 5 { "otp.invalid" } else { "otp.locked" };
        assert_eq!(code_of(&e), expected, "attempt {i}");
    }
    assert_eq!(
        c.identity_request(&id).await.unwrap().otp_attempts_left,
        Some(0)
    );
    // Locked: even the right code is refused until a new one is sent.
    let e = c
        .act(&id, &IdentityAction::ConfirmOtp { code: good.into() })
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "otp.locked");
    c.sandbox_advance_clock(31).await.unwrap();
    act(c, &id, IdentityAction::ResendOtp).await;
    let fresh = last_otp(c, "mario.rossi@example.com").await;
    let r = act(c, &id, IdentityAction::ConfirmOtp { code: fresh.into() }).await;
    assert_eq!(r.step, StepData::Completed);
    rig.stop().await;
}

#[tokio::test]
async fn delegation_sends_a_link_valid_until_midnight_of_the_next_day() {
    let rig = Rig::signed_in("acc-demo-acme").await;
    let c = &rig.client;
    let r = c.create_identity_request(ACME).await.unwrap();
    act(
        c,
        &r.id,
        IdentityAction::ChooseRole {
            role: RoleData::Other,
        },
    )
    .await;
    let e = c
        .act(
            &r.id,
            &IdentityAction::SubmitHolderEmail {
                holder_email: "no at sign".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(code_of(&e).starts_with("email."));
    let done = act(
        c,
        &r.id,
        IdentityAction::SubmitHolderEmail {
            holder_email: "titolare@example.com".into(),
        },
    )
    .await;
    assert_eq!(done.step, StepData::DelegationLinkSent);
    assert_eq!(done.holder_email.as_deref(), Some("titolare@example.com"));

    let mail = c
        .sandbox_outbox(Some("titolare@example.com"))
        .await
        .unwrap();
    let body = &mail.last().unwrap().body;
    let token = body
        .split_whitespace()
        .find_map(|w| w.split("/v1/delegations/").nth(1))
        .unwrap()
        .to_owned();
    let d = c.delegation(&token).await.unwrap();
    assert!(d.valid);
    assert_eq!(d.mailbox, ACME);
    // The mailbox still waits for the holder, who can start a request.
    assert_eq!(
        c.mailbox(ACME).await.unwrap().identity_state,
        IdentityStateData::ToConfirm
    );
    c.create_identity_request(ACME).await.unwrap();
    // Two days later the link has expired.
    c.sandbox_advance_clock(2 * 86_400 + 60).await.unwrap();
    assert!(!c.delegation(&token).await.unwrap().valid);
    assert_eq!(c.delegation("bogus").await.unwrap_err().status(), Some(404));
    rig.stop().await;
}

#[tokio::test]
async fn card_signature_cases() {
    let rig = Rig::signed_in("acc-demo-acme").await;
    let c = &rig.client;
    let p = pki();
    let holder = company_holder("ACME S.r.l.", "00743110157", Some(CHIARA_CF));
    let id = to_identifying(c, ACME, holder, "chiara.conti@example.com", MethodData::Cns).await;
    let good_cert = card_cert(CHIARA_CF, validity(-3600, 86_400), true);

    // Wrong key: signed by a key that is not the certificate's.
    let ch = c.card_challenge_to_sign(&id).await.unwrap();
    let e = c
        .card_response(&id, &card_response(&ch, &good_cert, &p.other_key))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "card.signature_invalid");
    // Replayed challenge: single use even after a failure.
    let e = c
        .card_response(&id, &card_response(&ch, &good_cert, &p.card_key))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "card.challenge_used");

    // Expired certificate.
    let expired = card_cert(CHIARA_CF, validity(-86_400 * 10, -86_400), true);
    let ch = c.card_challenge_to_sign(&id).await.unwrap();
    let e = c
        .card_response(&id, &card_response(&ch, &expired, &p.card_key))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "card.certificate_expired");

    // Untrusted issuer.
    let rogue = card_cert(CHIARA_CF, validity(-3600, 86_400), false);
    let ch = c.card_challenge_to_sign(&id).await.unwrap();
    let e = c
        .card_response(&id, &card_response(&ch, &rogue, &p.card_key))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "card.untrusted_issuer");

    // Expired challenge (sandbox clock past its 2 minutes).
    let ch = c.card_challenge_to_sign(&id).await.unwrap();
    c.sandbox_advance_clock(121).await.unwrap();
    let e = c
        .card_response(&id, &card_response(&ch, &good_cert, &p.card_key))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "card.challenge_expired");

    // Garbage.
    let ch = c.card_challenge_to_sign(&id).await.unwrap();
    let e = c
        .card_response(
            &id,
            &CardResponse {
                challenge_id: ch.challenge_id,
                certificate_chain: vec!["bm90IGEgY2VydA==".into()],
                signature: "AAAA".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "card.encoding");
    assert_eq!(
        c.identity_request(&id).await.unwrap().step,
        StepData::Identifying
    );

    // Valid: Chiara is ACME's legal representative in the registry.
    let ch = c.card_challenge_to_sign(&id).await.unwrap();
    let r = c
        .card_response(&id, &card_response(&ch, &good_cert, &p.card_key))
        .await
        .unwrap();
    assert_eq!(r.step, StepData::Identified);
    let r = finish_with_otp(c, &id, "chiara.conti@example.com").await;
    assert_eq!(r.step, StepData::Completed);
    rig.stop().await;
}

#[tokio::test]
async fn card_with_another_persons_codice_fiscale_is_a_data_mismatch() {
    let rig = Rig::signed_in("acc-demo-acme").await;
    let c = &rig.client;
    let p = pki();
    let holder = company_holder("ACME S.r.l.", "00743110157", Some(CHIARA_CF));
    let id = to_identifying(c, ACME, holder, "chiara.conti@example.com", MethodData::Cns).await;
    let marios = card_cert(MARIO_CF, validity(-3600, 86_400), true);
    let ch = c.card_challenge_to_sign(&id).await.unwrap();
    let r = c
        .card_response(&id, &card_response(&ch, &marios, &p.card_key))
        .await
        .unwrap();
    assert_eq!(r.step, StepData::DataMismatch);
    assert_eq!(r.outcome, Some(OutcomeData::DataMismatch));
    assert_eq!(
        r.outcome_label_it.as_deref(),
        Some("Dati non corrispondenti")
    );
    // "Conferma di nuovo l'identità": back to the data, prefilled.
    let r = act(c, &id, IdentityAction::Retry).await;
    assert_eq!(r.step, StepData::EnteringData);
    assert!(r.draft.is_some());
    rig.stop().await;
}

#[tokio::test]
async fn declared_holder_other_than_on_record_is_a_data_mismatch_then_change_holder() {
    let rig = Rig::signed_in(MARIO).await;
    let c = &rig.client;
    let other = HolderData::PrivateCitizen {
        first_name: "Manuele".into(),
        last_name: "Ricci".into(),
        tax_code: "RCCMNL83S18D969H".into(),
    };
    let id = to_identifying(
        c,
        MARIO,
        other,
        "x@example.com",
        MethodData::RemoteSignature,
    )
    .await;
    let r = identify_remotely_as(c, &id, FIRMA_MARIO).await;
    assert_eq!(r.outcome, Some(OutcomeData::DataMismatch));
    let r = act(c, &id, IdentityAction::ChangeHolder).await;
    assert_eq!(r.step, StepData::HolderChangeRequired);
    rig.stop().await;
}

#[tokio::test]
async fn ceased_company_needs_a_change_of_holder() {
    let rig = Rig::signed_in("acc-demo-acme").await;
    let c = &rig.client;
    let holder = company_holder("Vecchia Ditta S.p.A.", "03189950961", None);
    let id = to_identifying(
        c,
        CEASED,
        holder,
        "chiara.conti@example.com",
        MethodData::RemoteSignature,
    )
    .await;
    let r = identify_remotely_as(c, &id, FIRMA_CHIARA).await;
    assert_eq!(r.step, StepData::LegalPersonCeased);
    assert_eq!(
        r.outcome_label_it.as_deref(),
        Some("Persona giuridica cancellata")
    );
    let e = c.act(&id, &IdentityAction::Retry).await.unwrap_err();
    assert_eq!(code_of(&e), "identity.illegal_transition");
    let r = act(c, &id, IdentityAction::ChangeHolder).await;
    assert_eq!(r.step, StepData::HolderChangeRequired);
    // A new request cannot start while this one waits for the change of holder...
    let e = c.create_identity_request(CEASED).await.unwrap_err();
    assert_eq!(code_of(&e), "identity.request_exists");
    // ...which the back office records; then the same request starts again.
    let r = c.sandbox_holder_changed(&id).await.unwrap();
    assert_eq!(r.step, StepData::ChoosingRole);
    let mails = c
        .sandbox_outbox(Some("chiara.conti@example.com"))
        .await
        .unwrap();
    assert!(
        mails
            .iter()
            .any(|m| m.subject.contains("Persona giuridica cancellata"))
    );
    rig.stop().await;
}

fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec()
}

fn png() -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend_from_slice(&[0u8; 32]);
    v
}

#[tokio::test]
async fn webcam_then_documents_then_operator_checks() {
    let rig = Rig::signed_in("acc-demo-acme").await;
    let c = &rig.client;
    let holder = company_holder("ACME Servizi S.r.l.", "07973780013", Some(CHIARA_CF));
    let id = to_identifying(
        c,
        ACME_SERVIZI,
        holder,
        "chiara.conti@example.com",
        MethodData::Webcam,
    )
    .await;

    let slots = c.webcam_slots().await.unwrap();
    assert!(!slots.is_empty());
    let booking = c
        .book_webcam(
            &id,
            &WebcamBookingRequest {
                starts_at: slots[0].starts_at,
                document: IdDocumentKind::Cie,
                language: "it".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(booking.status, WebcamStatus::Booked);
    assert!(
        !c.webcam_slots()
            .await
            .unwrap()
            .iter()
            .any(|s| s.starts_at == slots[0].starts_at)
    );
    // The operator identifies Chiara, who is not in the registry for this company.
    let b = c
        .sandbox_decide_webcam(
            &booking.id,
            &WebcamDecision {
                approved: true,
                tax_code: Some(CHIARA_CF.into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(b.status, WebcamStatus::Approved);
    let r = c.identity_request(&id).await.unwrap();
    assert_eq!(r.step, StepData::DocumentsMissing);
    assert_eq!(r.state, IdentityStateData::DocumentsMissing);
    assert_eq!(r.outcome, Some(OutcomeData::LegalRepresentativeCheckFailed));
    let practice = r.practice_number.clone().unwrap();
    assert!(practice.starts_with("PR-"));

    // Nothing uploaded yet.
    let e = c
        .act(&id, &IdentityAction::SubmitDocuments)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "document.none");
    // A good PDF.
    let d = c
        .upload_document(&id, "visura.pdf", "application/pdf", pdf())
        .await
        .unwrap();
    assert_eq!(d.media_type, "application/pdf");
    // A PNG disguised as a PDF by its name.
    let e = c
        .upload_document(&id, "visura.pdf", "application/pdf", png())
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), code_of(&e)),
        (Some(415), "document.type_mismatch")
    );
    // Something that is none of the three, named .pdf.
    let e = c
        .upload_document(
            &id,
            "visura.pdf",
            "application/pdf",
            b"MZ\x90\x00 not a pdf".to_vec(),
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "document.unsupported_type");
    // Too large.
    let mut big = pdf();
    big.resize(5 * 1024 * 1024 + 1, b' ');
    let e = c
        .upload_document(&id, "big.pdf", "application/pdf", big)
        .await
        .unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(413), "document.too_large"));
    // A good PNG (an ID photo).
    c.upload_document(&id, "documento.png", "image/png", png())
        .await
        .unwrap();

    let r = act(c, &id, IdentityAction::SubmitDocuments).await;
    assert_eq!(r.step, StepData::ChecksInProgress);
    assert_eq!(r.state_label_it, "Verifiche in corso");
    assert_eq!(r.practice_number.as_deref(), Some(practice.as_str()));
    assert_eq!(r.documents.len(), 2);
    assert_eq!(
        c.mailbox(ACME_SERVIZI).await.unwrap().identity_state,
        IdentityStateData::ChecksInProgress
    );

    // The operator rejects once, the user sends again, then the operator accepts.
    let r = c.sandbox_decide_checks(&id, false).await.unwrap();
    assert_eq!(r.step, StepData::DocumentsMissing);
    act(c, &id, IdentityAction::SubmitDocuments).await;
    let r = c.sandbox_decide_checks(&id, true).await.unwrap();
    assert_eq!(r.step, StepData::Completed);
    let m = c.mailbox(ACME_SERVIZI).await.unwrap();
    assert!(m.qualified);
    assert_eq!(m.identity_state, IdentityStateData::Completed);
    rig.stop().await;
}

#[tokio::test]
async fn webcam_rejected_returns_to_method_choice() {
    let rig = Rig::signed_in(MARIO).await;
    let c = &rig.client;
    let id = to_identifying(
        c,
        MARIO,
        mario_holder(),
        "mario.rossi@example.com",
        MethodData::Webcam,
    )
    .await;
    let slot = c.webcam_slots().await.unwrap()[3].starts_at;
    let e = c
        .book_webcam(
            &id,
            &WebcamBookingRequest {
                starts_at: slot,
                document: IdDocumentKind::Passport,
                language: "de".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "webcam.language");
    let b = c
        .book_webcam(
            &id,
            &WebcamBookingRequest {
                starts_at: slot,
                document: IdDocumentKind::Passport,
                language: "en".into(),
            },
        )
        .await
        .unwrap();
    c.sandbox_decide_webcam(
        &b.id,
        &WebcamDecision {
            approved: false,
            tax_code: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        c.identity_request(&id).await.unwrap().step,
        StepData::ChoosingMethod
    );
    rig.stop().await;
}

#[tokio::test]
async fn restart_mid_flow_and_resume() {
    let rig = Rig::signed_in(MARIO).await;
    let tokens_access = {
        // Keep a session across the restart, as the app does through the keyring.
        rig.client
            .sign_in(MARIO, PASSWORD, None)
            .await
            .unwrap()
            .access_token
    };
    let id = to_identifying(
        &rig.client,
        MARIO,
        mario_holder(),
        "mario.rossi@example.com",
        MethodData::RemoteSignature,
    )
    .await;
    identify_by_remote_signature(&rig.client, &id).await;
    act(&rig.client, &id, IdentityAction::Proceed).await;
    act(
        &rig.client,
        &id,
        IdentityAction::CompleteRequest {
            terms: TermsData {
                service_conditions: true,
                contract_information: true,
            },
        },
    )
    .await;
    rig.client.sandbox_advance_clock(5).await.unwrap();
    let offset = rig.client.sandbox_clock().await.unwrap().offset_seconds;

    // A new server on the same file: session, request, outbox and clock are all there.
    let rig = rig.restart().await;
    let c = &rig.client;
    c.set_access_token(Some(tokens_access));
    assert_eq!(c.sandbox_clock().await.unwrap().offset_seconds, offset);
    let r = c.identity_request(&id).await.unwrap();
    assert_eq!(r.step, StepData::OtpSent);
    assert_eq!(
        c.mailbox(MARIO).await.unwrap().active_identity_request,
        Some(id.clone())
    );
    let code = last_otp(c, "mario.rossi@example.com").await;
    let r = act(c, &id, IdentityAction::ConfirmOtp { code: code.into() }).await;
    assert_eq!(r.step, StepData::Completed);
    rig.stop().await;
}

#[tokio::test]
async fn two_step_login_and_app_passwords() {
    let rig = Rig::signed_in(MARIO).await;
    let c = &rig.client;
    // Only after the identity is confirmed.
    let e = c.two_step_enrol(MARIO).await.unwrap_err();
    assert_eq!(code_of(&e), "two_step.identity_not_confirmed");

    let en = c.two_step_enrol(STUDIO).await.unwrap();
    assert!(en.otpauth_uri.starts_with("otpauth://totp/"));
    assert!(en.otpauth_uri.contains(&en.secret));
    assert_eq!(en.recovery_codes.len(), 10);
    let code = totp_now(c, &en.secret).await;
    let e = c.two_step_confirm(STUDIO, wrong(&code)).await.unwrap_err();
    assert_eq!(code_of(&e), "two_step.code_invalid");
    let m = c.two_step_confirm(STUDIO, &code).await.unwrap();
    assert!(m.two_step_login);

    // Signing in to that mailbox now needs the code, and a code works once.
    let e = c.sign_in(STUDIO, PASSWORD, None).await.unwrap_err();
    assert_eq!(code_of(&e), "auth.totp_required");
    let e = c.sign_in(STUDIO, PASSWORD, Some(&code)).await.unwrap_err();
    assert_eq!(
        code_of(&e),
        "auth.totp_invalid",
        "the confirmation's code, again"
    );
    next_step(c).await;
    c.sign_in(STUDIO, PASSWORD, Some(&totp_now(c, &en.secret).await))
        .await
        .unwrap();
    // So does signing in with the account id, which reaches every mailbox of the account.
    let e = c
        .sign_in("acc-demo-mario", PASSWORD, None)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "auth.totp_required");
    next_step(c).await;
    c.sign_in(
        "acc-demo-mario",
        PASSWORD,
        Some(&totp_now(c, &en.secret).await),
    )
    .await
    .unwrap();

    // The other mailbox, without two-step login, signs in with the password alone: that
    // session sees the account's mailboxes but does not reach the one with two-step login
    // (H1). It cannot give it an app password, that is IMAP access, nor see or revoke its
    // app passwords.
    c.sign_in(MARIO, PASSWORD, None).await.unwrap();
    assert_eq!(c.mailboxes().await.unwrap().len(), 2);
    assert!(c.mailbox(STUDIO).await.unwrap().two_step_login);
    let e = c
        .create_app_password(STUDIO, "Thunderbird", None)
        .await
        .unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(403), "auth.totp_required"));
    let e = c.app_passwords(STUDIO).await.unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(403), "auth.totp_required"));
    let e = c
        .two_step_disable(STUDIO, &SecondFactorProof::default())
        .await
        .unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(403), "auth.totp_required"));

    // App passwords for mail programs: each creation needs a fresh code (step-up), which
    // also lets this session reach the mailbox from then on.
    next_step(c).await;
    let ap = c
        .create_app_password(STUDIO, "Thunderbird", Some(&totp_now(c, &en.secret).await))
        .await
        .unwrap();
    assert!(ap.password.as_deref().is_some_and(|p| p.len() >= 32));
    let list = c.app_passwords(STUDIO).await.unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].password.is_none(), "shown only once");
    c.delete_app_password(STUDIO, &ap.id).await.unwrap();
    assert!(c.app_passwords(STUDIO).await.unwrap().is_empty());
    // Without two-step login there is nothing an app password would add.
    let e = c
        .create_app_password(MARIO, "Thunderbird", None)
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), code_of(&e)),
        (Some(409), "app_password.two_step_required")
    );
    next_step(c).await;
    let m = c
        .two_step_disable(
            STUDIO,
            &SecondFactorProof::code(&totp_now(c, &en.secret).await),
        )
        .await
        .unwrap();
    assert!(!m.two_step_login);
    rig.stop().await;
}

#[tokio::test]
async fn seeded_test_account_signs_in() {
    let rig = Rig::new().await;
    let c = &rig.client;
    let acc = c
        .sandbox_seed_account(&SeedAccountRequest {
            password: "Test-Password-9".into(),
            mailboxes: vec![SeedMailbox {
                address: "prova@pec.sandbox.test".into(),
                holder: mario_holder(),
                contact: contact("prova@example.com"),
                imap: None,
            }],
        })
        .await
        .unwrap();
    c.sign_in(&acc.account_id, "Test-Password-9", None)
        .await
        .unwrap();
    let m = c.mailbox("prova@pec.sandbox.test").await.unwrap();
    assert_eq!(m.identity_state, IdentityStateData::ToConfirm);
    rig.stop().await;
}

/// Data for another kind of holder than the one chosen before is refused by the request's
/// state, not its shape: 409 (schemathesis's stateful run sends exactly this, and a 422 said
/// the request itself was invalid).
#[tokio::test]
async fn data_for_another_kind_of_holder_is_a_conflict_with_the_choice_made() {
    let rig = Rig::signed_in(MARIO).await;
    let c = &rig.client;
    let id = c.create_identity_request(MARIO).await.unwrap().id;
    act(
        c,
        &id,
        IdentityAction::ChooseRole {
            role: RoleData::HolderOrLegalRepresentative,
        },
    )
    .await;
    act(
        c,
        &id,
        IdentityAction::ChooseHolderKind {
            kind: HolderKindData::Company,
        },
    )
    .await;
    let e = c
        .act(
            &id,
            &IdentityAction::SubmitData {
                holder: mario_holder(),
                contact: contact("mario.rossi@example.com"),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), code_of(&e)),
        (Some(409), "identity.holder_kind_mismatch")
    );
    rig.stop().await;
}
