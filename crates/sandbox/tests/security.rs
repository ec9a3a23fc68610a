//! Regression tests of the security review (`security-review.md`): each test names
//! its finding and fails on the code before the fix. Real server on loopback, real SQLite file.

mod common;

use common::*;
use pec_provider::api::*;

/// L2: `--production` (Mode::Production) means no demo data and no `/sandbox/*` routes. Before,
/// the demo accounts were seeded with their published password, and the remote-signature test
/// accounts identified anyone with a published password and TOTP secret.
#[tokio::test]
async fn l2_production_has_no_demo_data_and_no_back_office() {
    let rig = Rig::with(|c| c.mode = pec_sandbox::Mode::Production).await;
    let c = &rig.client;
    assert_eq!(c.health().await.unwrap().mode, "production");
    assert_eq!(rig.sandbox.sandbox_secret(), None);
    let e = c.sandbox_outbox(None).await.unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(404), "request.not_found"));
    let e = c.sandbox_advance_clock(10).await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    // No demo account signs in with the published password.
    for login in [MARIO, "acc-demo-mario", ACME] {
        let e = c.sign_in(login, PASSWORD, None).await.unwrap_err();
        assert_eq!(code_of(&e), "auth.invalid_credentials", "{login}");
    }
    let e = c
        .registry_sign_in(pec_sandbox::seed::REGISTRY_DEMO_USER, PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "auth.invalid_credentials");
    let db = rusqlite::Connection::open(rig.db()).unwrap();
    for table in [
        "accounts",
        "registry_users",
        "renewal_users",
        "remote_signature_accounts",
        "spid_identities",
    ] {
        let n: i64 = db
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "{table} holds demo rows in production");
    }
    rig.stop().await;
}

/// L1: the back office answers only with the run's secret, and no request whose `Host` is not
/// a name of this server (DNS rebinding) gets through at all.
#[tokio::test]
async fn l1_back_office_needs_the_run_secret_and_a_served_host() {
    let rig = Rig::new().await;
    let secret = rig.sandbox.sandbox_secret().unwrap().to_owned();
    assert!(secret.len() >= 40, "a 256-bit secret");

    // Another local process: no secret, or a wrong one.
    let stranger = pec_provider::Client::new(rig.sandbox.base_url()).unwrap();
    let e = stranger.sandbox_outbox(None).await.unwrap_err();
    assert_eq!(
        (e.status(), code_of(&e)),
        (Some(401), "sandbox.secret_required")
    );
    stranger.set_sandbox_secret(Some("not-the-secret".into()));
    for e in [
        stranger.sandbox_outbox(None).await.unwrap_err(),
        stranger.sandbox_advance_clock(60).await.unwrap_err(),
        stranger
            .sandbox_seed_account(&SeedAccountRequest {
                password: "Test-Password-9".into(),
                mailboxes: vec![SeedMailbox {
                    address: "intruso@pec.sandbox.test".into(),
                    holder: mario_holder(),
                    contact: contact("intruso@example.com"),
                    imap: None,
                }],
            })
            .await
            .unwrap_err(),
    ] {
        assert_eq!(
            (e.status(), code_of(&e)),
            (Some(401), "sandbox.secret_required")
        );
    }
    // The clock did not move, no account was made.
    assert_eq!(rig.client.sandbox_clock().await.unwrap().offset_seconds, 0);
    let e = rig
        .client
        .sign_in("intruso@pec.sandbox.test", "Test-Password-9", None)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "auth.invalid_credentials");
    // The app's own client has it.
    rig.client.sandbox_outbox(None).await.unwrap();

    // DNS rebinding: a page at attacker.example whose name now resolves to 127.0.0.1.
    let port = rig.sandbox.addr().port();
    let http = reqwest::Client::new();
    let base = rig.sandbox.base_url();
    for (host, path, served) in [
        (format!("attacker.example:{port}"), "/health", false),
        (format!("attacker.example:{port}"), "/sandbox/outbox", false),
        ("attacker.example".to_owned(), "/v1/mailboxes", false),
        (
            format!("127.0.0.1.attacker.example:{port}"),
            "/health",
            false,
        ),
        (format!("localhost:{port}"), "/health", true),
        (format!("127.0.0.1:{port}"), "/health", true),
        (format!("LOCALHOST:{port}"), "/health", true),
    ] {
        let resp = http
            .get(format!("{base}{path}"))
            .header("host", &host)
            .header(SANDBOX_SECRET_HEADER, &secret)
            .send()
            .await
            .unwrap();
        if served {
            assert!(
                resp.status().is_success(),
                "{host}{path}: {}",
                resp.status()
            );
        } else {
            assert_eq!(resp.status().as_u16(), 421, "{host}{path}");
            let body: serde_json::Value = resp.json().await.unwrap();
            assert_eq!(body["code"], "request.host_not_allowed");
        }
    }
    rig.stop().await;
}

/// H1: the review's case. An account with a mailbox with two-step login (STUDIO) and one
/// without (MARIO): the password and MARIO's address open a session that, before the fix,
/// could create an app password (IMAP access) for STUDIO. Now it is refused until STUDIO's
/// own code is given.
#[tokio::test]
async fn h1_a_session_through_another_mailbox_does_not_reach_a_protected_one() {
    let rig = Rig::signed_in(STUDIO).await;
    let owner = &rig.client;
    let en = enable_two_step(owner, STUDIO).await;

    let attacker = rig.other_client();
    attacker.sign_in(MARIO, PASSWORD, None).await.unwrap();
    let e = attacker
        .create_app_password(STUDIO, "imap", None)
        .await
        .unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(403), "auth.totp_required"));
    // A guessed code is a wrong code, counted against the mailbox.
    let code = totp_now(owner, &en.secret).await;
    let e = attacker
        .create_app_password(STUDIO, "imap", Some(wrong(&code)))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "two_step.code_invalid");
    let e = attacker.app_passwords(STUDIO).await.unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(403), "auth.totp_required"));
    let e = attacker
        .delete_app_password(STUDIO, "app-anything")
        .await
        .unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(403), "auth.totp_required"));
    // The account-id sign-in with MARIO's lack of a code is refused outright.
    let e = attacker
        .sign_in("acc-demo-mario", PASSWORD, None)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "auth.totp_required");
    // Nothing was created.
    let owner_sessions = owner.app_passwords(STUDIO).await.unwrap();
    assert!(owner_sessions.is_empty());
    rig.stop().await;
}

/// H2: with two-step login on, neither a new authenticator nor turning it off works without
/// the current factor; a recovery code (shown once, single use) does; and an enrolment can
/// be confirmed only by the session that started it.
#[tokio::test]
async fn h2_the_factor_changes_only_with_the_current_one() {
    let rig = Rig::new().await;
    let owner = &rig.client;
    // The owner's own session proves the factor at sign-in...
    owner.sign_in(STUDIO, PASSWORD, None).await.unwrap();
    let en = enable_two_step(owner, STUDIO).await;
    // ...and a stolen access token of a session through MARIO does not.
    let thief = rig.other_client();
    thief.sign_in(MARIO, PASSWORD, None).await.unwrap();
    let e = thief.two_step_enrol(STUDIO).await.unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(403), "auth.totp_required"));
    let e = thief
        .two_step_disable(STUDIO, &SecondFactorProof::code("123456"))
        .await
        .unwrap_err();
    assert!(
        ["two_step.code_invalid", "two_step.locked"].contains(&code_of(&e)),
        "{e}"
    );
    let e = thief
        .two_step_reenrol(
            STUDIO,
            &SecondFactorProof::recovery_code("AAAA-BBBB-CCCC-DDDD"),
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "two_step.recovery_code_invalid");
    // The owner's authenticator still works.
    let code = totp_now(owner, &en.secret).await;
    let check = rig.other_client();
    check.sign_in(STUDIO, PASSWORD, Some(&code)).await.unwrap();

    // A lost phone: a recovery code starts the move to a new one.
    let rc = en.recovery_codes[3].clone();
    let new = owner
        .two_step_reenrol(
            STUDIO,
            &SecondFactorProof::recovery_code(&rc.to_lowercase()),
        )
        .await
        .unwrap();
    assert_eq!(new.recovery_codes.len(), 10);
    // Only the session that started it can confirm it.
    let new_code = totp_now(owner, &new.secret).await;
    let e = check.two_step_confirm(STUDIO, &new_code).await.unwrap_err();
    assert_eq!(
        (e.status(), code_of(&e)),
        (Some(409), "two_step.not_enrolling")
    );
    owner.two_step_confirm(STUDIO, &new_code).await.unwrap();
    next_step(owner).await;
    // The old authenticator and the old recovery codes are done.
    let old_code = totp_now(owner, &en.secret).await;
    let e = rig
        .other_client()
        .sign_in(STUDIO, PASSWORD, Some(&old_code))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "auth.totp_invalid");
    let e = owner
        .two_step_disable(
            STUDIO,
            &SecondFactorProof::recovery_code(&en.recovery_codes[4]),
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "two_step.recovery_code_invalid");
    // A new recovery code turns it off, once.
    let rc = new.recovery_codes[0].clone();
    owner
        .two_step_disable(STUDIO, &SecondFactorProof::recovery_code(&rc))
        .await
        .unwrap();
    let again = enable_two_step(owner, STUDIO).await;
    let e = owner
        .two_step_disable(STUDIO, &SecondFactorProof::recovery_code(&rc))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "two_step.recovery_code_invalid");
    assert_ne!(again.recovery_codes, new.recovery_codes);

    // At rest: the recovery codes are hashes, nothing of the shown text.
    let db = rusqlite::Connection::open(rig.db()).unwrap();
    let bytes = std::fs::read(rig.db()).unwrap();
    let wal = std::fs::read(rig.dir().join("db.sqlite-wal")).unwrap_or_default();
    for code in again.recovery_codes.iter().chain(&new.recovery_codes) {
        let plain = code.replace('-', "");
        for haystack in [&bytes, &wal] {
            assert!(
                !haystack.windows(plain.len()).any(|w| w == plain.as_bytes()),
                "a recovery code in clear in the database"
            );
        }
    }
    let hashes: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM recovery_codes WHERE mailbox = ?1 AND pending = 0 AND used_at IS NULL",
            [STUDIO],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(hashes, 10);
    rig.stop().await;
}

/// H2: turning two-step login on (or changing or removing it) ends the account's other
/// sessions, refresh tokens included, and tells the holder by e-mail, at the PEC and at the
/// contact address.
#[tokio::test]
async fn h2_changing_the_factor_ends_other_sessions_and_tells_the_holder() {
    let rig = Rig::signed_in(STUDIO).await;
    let owner = &rig.client;
    let other = rig.other_client();
    let other_tokens = other.sign_in(MARIO, PASSWORD, None).await.unwrap();
    other.mailboxes().await.unwrap();

    let en = enable_two_step(owner, STUDIO).await;
    let e = other.mailboxes().await.unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(401), "auth.unauthorized"));
    let e = other
        .refresh(other_tokens.refresh_token.expose())
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "auth.unauthorized");
    owner.mailboxes().await.unwrap();
    for to in [STUDIO, "studio@example.com"] {
        let mails = owner.sandbox_outbox(Some(to)).await.unwrap();
        let m = mails
            .iter()
            .find(|m| m.subject.starts_with("Verifica in due passaggi modificata"))
            .unwrap_or_else(|| panic!("no notice to {to}"));
        assert!(m.body.contains("attivata"), "{}", m.body);
    }

    // Turned off: the same.
    let other_tokens = other
        .sign_in(STUDIO, PASSWORD, Some(&totp_now(owner, &en.secret).await))
        .await
        .unwrap();
    next_step(owner).await;
    owner
        .two_step_disable(
            STUDIO,
            &SecondFactorProof::code(&totp_now(owner, &en.secret).await),
        )
        .await
        .unwrap();
    let e = other.mailboxes().await.unwrap_err();
    assert_eq!(e.status(), Some(401));
    let e = other
        .refresh(other_tokens.refresh_token.expose())
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "auth.unauthorized");
    let notices = owner
        .sandbox_outbox(Some(STUDIO))
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.subject.starts_with("Verifica in due passaggi modificata"))
        .count();
    assert_eq!(notices, 2);
    rig.stop().await;
}

/// M2: a code is accepted once, even inside its 90-second window.
#[tokio::test]
async fn m2_a_two_step_code_is_accepted_once() {
    let rig = Rig::signed_in(STUDIO).await;
    let c = &rig.client;
    let en = enable_two_step(c, STUDIO).await;
    let code = totp_now(c, &en.secret).await;
    c.sign_in(STUDIO, PASSWORD, Some(&code)).await.unwrap();
    let e = c.sign_in(STUDIO, PASSWORD, Some(&code)).await.unwrap_err();
    assert_eq!(code_of(&e), "auth.totp_invalid");
    // Nor for another use of the same mailbox.
    let e = c
        .create_app_password(STUDIO, "Thunderbird", Some(&code))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "two_step.code_invalid");
    // The remote signature's OTP too.
    let c2 = rig.other_client();
    c2.sign_in(MARIO, PASSWORD, None).await.unwrap();
    let id = to_identifying(
        &c2,
        MARIO,
        mario_holder(),
        "mario.rossi@example.com",
        MethodData::RemoteSignature,
    )
    .await;
    let otp = totp_now(c, FIRMA_MARIO.1).await;
    let r = sign_remotely(&c2, &id, FIRMA_MARIO, &otp)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.step, StepData::Identified);
    // Another request (another mailbox of another account) with the same OTP: refused.
    let c3 = rig.other_client();
    c3.sign_in("acc-demo-acme", PASSWORD, None).await.unwrap();
    let id3 = to_identifying(
        &c3,
        ACME,
        company_holder("ACME S.r.l.", "00743110157", Some(MARIO_CF)),
        "chiara.conti@example.com",
        MethodData::RemoteSignature,
    )
    .await;
    let e = sign_remotely(&c3, &id3, FIRMA_MARIO, &otp)
        .await
        .unwrap_err();
    assert_eq!(pec_domain::DomainError::code(&e), "sign.remote_refused");
    // Not even after a restart of the server: the used step is kept in the database.
    let rig = rig.restart().await;
    let c3 = rig.other_client();
    c3.sign_in("acc-demo-acme", PASSWORD, None).await.unwrap();
    let e = sign_remotely(&c3, &id3, FIRMA_MARIO, &otp)
        .await
        .unwrap_err();
    assert_eq!(pec_domain::DomainError::code(&e), "sign.remote_refused");
    rig.stop().await;
}

/// M2: guessing two-step codes on an authenticated endpoint locks the mailbox's codes, with
/// back-off; the right code is refused while locked. Before, disable/confirm counted nothing.
#[tokio::test]
async fn m2_guessing_codes_locks_with_back_off() {
    let rig = Rig::signed_in(STUDIO).await;
    let c = &rig.client;
    let en = enable_two_step(c, STUDIO).await;
    let right = totp_now(c, &en.secret).await;
    let mut guesses = 0;
    let mut candidates = (100_000..)
        .map(|n: u32| n.to_string())
        .filter(|g| *g != right);
    let wait = loop {
        guesses += 1;
        let guess = candidates.next().unwrap();
        let e = c
            .two_step_disable(STUDIO, &SecondFactorProof::code(&guess))
            .await
            .unwrap_err();
        if code_of(&e) == "two_step.locked" {
            break e.status().map(|_| retry_after(&e));
        }
        assert_eq!(code_of(&e), "two_step.code_invalid");
        assert!(guesses < 10, "never locked");
    };
    assert_eq!(guesses, 5);
    assert!(
        wait.is_some_and(|w| (60 * 14..=60 * 15).contains(&w)),
        "{wait:?}"
    );
    let e = c
        .two_step_disable(STUDIO, &SecondFactorProof::code(&right))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "two_step.locked", "even the right code");
    // The lock holds for sign-ins with that mailbox's code too.
    let e = rig
        .other_client()
        .sign_in(STUDIO, PASSWORD, Some(&right))
        .await
        .unwrap_err();
    assert!(
        ["two_step.locked", "auth.totp_invalid"].contains(&code_of(&e)),
        "{e}"
    );
    // After the lock, five more wrong codes lock twice as long (from a session through
    // MARIO: the guesses count against STUDIO's codes whoever sends them).
    c.sandbox_advance_clock(15 * 60).await.unwrap();
    c.sign_in(MARIO, PASSWORD, None).await.unwrap();
    for i in 0..5 {
        let e = c
            .two_step_disable(
                STUDIO,
                &SecondFactorProof::code(&format!("{:06}", 200_000 + i)),
            )
            .await
            .unwrap_err();
        if i == 4 {
            assert_eq!(code_of(&e), "two_step.locked");
            assert!((60 * 29..=60 * 30).contains(&retry_after(&e)));
        }
    }
    // The remote signature's OTPs are counted per user too, whoever asks: the fifth wrong one
    // locks the account, and then even the right one is refused with the time to wait.
    let c2 = rig.other_client();
    c2.sign_in(MARIO, PASSWORD, None).await.unwrap();
    let id = to_identifying(
        &c2,
        MARIO,
        mario_holder(),
        "mario.rossi@example.com",
        MethodData::RemoteSignature,
    )
    .await;
    let mut last = String::new();
    for i in 0..5 {
        let e = sign_remotely(&c2, &id, FIRMA_MARIO, &format!("{:06}", 300_000 + i))
            .await
            .unwrap_err();
        last = pec_domain::DomainError::code(&e).to_owned();
    }
    assert_eq!(last, "sign.remote_locked");
    let otp = totp_now(c, FIRMA_MARIO.1).await;
    let e = sign_remotely(&c2, &id, FIRMA_MARIO, &otp)
        .await
        .unwrap_err();
    assert!(
        matches!(e, pec_sign::SignError::RemoteLocked { retry_after: Some(s) } if (60 * 14..=60 * 15).contains(&s)),
        "{e:?}"
    );
    // The password too is refused while locked (no oracle for it either).
    let e = pec_sign::csc::CscClient::new(&format!("{}/csc/v2", rig.sandbox.base_url()))
        .unwrap()
        .login(
            FIRMA_MARIO.0,
            &pec_sign::csc::Secret::new(pec_sandbox::seed::REMOTE_SIGNATURE_PASSWORD.into()),
        )
        .await
        .unwrap_err();
    assert_eq!(pec_domain::DomainError::code(&e), "sign.remote_locked");
    rig.stop().await;
}

fn retry_after(e: &pec_provider::Error) -> i64 {
    match e {
        pec_provider::Error::Api { problem, .. } => problem
            .retry_after
            .map_or(-1, |s| i64::try_from(s).unwrap_or(-1)),
        _ => -1,
    }
}

/// M3: failures count per account, whichever of its logins (account id, any address) was
/// used: five wrong passwords lock the account. Before, each login had its own five.
#[tokio::test]
async fn m3_lockout_counts_per_account_with_back_off() {
    let rig = Rig::new().await;
    let c = &rig.client;
    let logins = ["acc-demo-acme", ACME, ACME_SERVIZI, CEASED];
    for i in 0..5 {
        let e = c
            .sign_in(logins[i % logins.len()], "wrong-password", None)
            .await
            .unwrap_err();
        let expected = if i < 4 {
            "auth.invalid_credentials"
        } else {
            "auth.locked"
        };
        assert_eq!(code_of(&e), expected, "attempt {i}");
    }
    for login in logins {
        let e = c.sign_in(login, PASSWORD, None).await.unwrap_err();
        assert_eq!(code_of(&e), "auth.locked", "{login}");
        assert!((14 * 60..=15 * 60).contains(&retry_after(&e)));
    }
    // Another account is not affected.
    c.sign_in(MARIO, PASSWORD, None).await.unwrap();
    // Back-off: the next lock is twice as long.
    c.sandbox_advance_clock(15 * 60).await.unwrap();
    for _ in 0..5 {
        let _ = c.sign_in(ACME, "wrong-password", None).await;
    }
    let e = c.sign_in(ACME, PASSWORD, None).await.unwrap_err();
    assert_eq!(code_of(&e), "auth.locked");
    assert!((29 * 60..=30 * 60).contains(&retry_after(&e)));
    // Unknown logins are refused like known ones, and locked like them.
    for i in 0..5 {
        let e = c
            .sign_in("nessuno@pec.sandbox.test", "wrong-password", None)
            .await
            .unwrap_err();
        assert_eq!(
            code_of(&e),
            if i < 4 {
                "auth.invalid_credentials"
            } else {
                "auth.locked"
            }
        );
    }
    rig.stop().await;
}

/// M3: the registry's and the renewal portal's sign-ins lock per user too (before, only a
/// per-address limit of 30 a minute applied).
#[tokio::test]
async fn m3_portal_sign_ins_lock_per_user() {
    let rig = Rig::new().await;
    let c = &rig.client;
    let user = pec_sandbox::seed::REGISTRY_DEMO_USER;
    for i in 0..5 {
        let e = c
            .registry_sign_in(user, "wrong-password")
            .await
            .unwrap_err();
        assert_eq!(
            code_of(&e),
            if i < 4 {
                "auth.invalid_credentials"
            } else {
                "auth.locked"
            }
        );
    }
    let e = c.registry_sign_in(user, PASSWORD).await.unwrap_err();
    assert_eq!(code_of(&e), "auth.locked");
    let cf = pec_sandbox::seed::RENEWAL_REGISTERED_CF;
    for i in 0..5 {
        // The padded and the plain form are the same user.
        let login = if i % 2 == 0 {
            cf.to_owned()
        } else {
            format!("00000{cf}")
        };
        let e = c
            .renewal_sign_in(&login, "wrong-password")
            .await
            .unwrap_err();
        assert_eq!(
            code_of(&e),
            if i < 4 {
                "auth.invalid_credentials"
            } else {
                "auth.locked"
            }
        );
    }
    let e = c.renewal_sign_in(cf, PASSWORD).await.unwrap_err();
    assert_eq!(code_of(&e), "auth.locked");
    c.sandbox_advance_clock(15 * 60).await.unwrap();
    c.registry_sign_in(user, PASSWORD).await.unwrap();
    c.renewal_sign_in(cf, PASSWORD).await.unwrap();
    rig.stop().await;
}

/// H3: a company's codice fiscale is public, so the registration's code goes to the contacts
/// on record (the PEC and its activation e-mail), never to the address the registrant types.
/// Before, the code went to the typed address and anyone could claim the company's account.
#[tokio::test]
async fn h3_registration_is_proven_through_the_contacts_on_record() {
    let rig = Rig::new().await;
    let c = &rig.client;
    let cap = c.new_captcha().await.unwrap();
    let answer = c.sandbox_captcha_answer(&cap.id).await.unwrap().answer;
    let r = c
        .renewal_register(&RenewalRegistrationRequest {
            company_tax_code: "07973780013".into(),
            email: "attaccante@example.com".into(),
            mobile: "333 765 4321".into(),
            password: "Attacker-Password-1".into(),
            captcha_id: cap.id,
            captcha_answer: answer,
        })
        .await
        .unwrap();
    assert!(!r.code_sent_to.iter().any(|to| to.contains("attaccante")));
    // Nothing reaches the registrant's address.
    let mails = c
        .sandbox_outbox(Some("attaccante@example.com"))
        .await
        .unwrap();
    assert!(mails.is_empty(), "{mails:?}");
    // The holder's PEC and activation e-mail get the code, and a warning.
    for to in [ACME_SERVIZI, "chiara.conti@example.com"] {
        let mails = c.sandbox_outbox(Some(to)).await.unwrap();
        assert!(
            mails.iter().any(|m| m.body.contains("Codice di verifica: ")
                && m.body.contains("Se non sei stato tu")),
            "{to}"
        );
    }
    // Guessing the code: five tries, then the registration is locked.
    for i in 0..5 {
        let e = c
            .renewal_verify_email(&r.id, &format!("{:06}", 500_000 + i))
            .await
            .unwrap_err();
        assert_eq!(code_of(&e), "verification.code_invalid");
    }
    let e = c.renewal_verify_email(&r.id, "000000").await.unwrap_err();
    assert_eq!(code_of(&e), "verification.locked");
    let e = c.renewable_mailboxes().await.unwrap_err();
    assert!(matches!(e, pec_provider::Error::NotSignedIn), "{e}");
    rig.stop().await;
}

/// H3: a company whose portal account someone else holds (registered before this fix, or
/// with a password that leaked) takes it back by registering again through its PEC: the old
/// password and sessions stop working, and the old contact is told.
#[tokio::test]
async fn h3_the_holder_takes_a_claimed_account_back() {
    let rig = Rig::new().await;
    let c = &rig.client;
    let cf = pec_sandbox::seed::RENEWAL_REGISTERED_CF;
    // The present holder of ACME's portal account, signed in.
    let squatter = rig.other_client();
    squatter.renewal_sign_in(cf, PASSWORD).await.unwrap();
    squatter.renewable_mailboxes().await.unwrap();

    let cap = c.new_captcha().await.unwrap();
    let answer = c.sandbox_captcha_answer(&cap.id).await.unwrap().answer;
    let r = c
        .renewal_register(&RenewalRegistrationRequest {
            company_tax_code: cf.into(),
            email: "amministrazione@acme.example".into(),
            mobile: "333 111 2222".into(),
            password: "Ripreso-Password-1".into(),
            captcha_id: cap.id,
            captcha_answer: answer,
        })
        .await
        .unwrap();
    let mails = c.sandbox_outbox(Some(ACME)).await.unwrap();
    let body = &mails.last().unwrap().body;
    let at = body.find("Codice di verifica: ").unwrap() + "Codice di verifica: ".len();
    let code = &body[at..at + 6];
    c.renewal_verify_email(&r.id, code).await.unwrap();
    let done = c.renewal_skip_sms(&r.id).await.unwrap();
    assert_eq!(done.step, RegistrationStep::Completed);
    c.renewable_mailboxes().await.unwrap();

    let e = squatter.renewable_mailboxes().await.unwrap_err();
    assert_eq!(e.status(), Some(401), "the old session ended");
    let e = squatter.renewal_sign_in(cf, PASSWORD).await.unwrap_err();
    assert_eq!(code_of(&e), "auth.invalid_credentials", "the old password");
    squatter
        .renewal_sign_in(cf, "Ripreso-Password-1")
        .await
        .unwrap();
    let told = c
        .sandbox_outbox(Some("chiara.conti@example.com"))
        .await
        .unwrap();
    assert!(
        told.iter()
            .any(|m| m.subject.starts_with("Account del portale rinnovi ripreso"))
    );
    rig.stop().await;
}

/// M4: the answer stored for an `Idempotency-Key` holds no secret shown once (the app
/// password), a repeat answers without it, and stored answers expire. Before, the password was
/// kept in clear with no expiry and a repeat showed it again.
#[tokio::test]
async fn m4_idempotency_stores_no_secret_and_expires() {
    let rig = Rig::signed_in(STUDIO).await;
    let c = &rig.client;
    let en = enable_two_step(c, STUDIO).await;
    let token = c
        .sign_in(STUDIO, PASSWORD, Some(&totp_now(c, &en.secret).await))
        .await
        .unwrap()
        .access_token;
    let http = reqwest::Client::new();
    let url = format!(
        "{}/v1/mailboxes/{STUDIO}/app-passwords",
        rig.sandbox.base_url()
    );
    let create = |code: String| {
        http.post(&url)
            .bearer_auth(token.expose())
            .header(IDEMPOTENCY_KEY_HEADER, "chiave-1")
            .json(&serde_json::json!({ "label": "Thunderbird", "totp_code": code }))
            .send()
    };
    next_step(c).await;
    let first: serde_json::Value = create(totp_now(c, &en.secret).await)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let password = first["password"].as_str().unwrap().to_owned();
    next_step(c).await;
    let resp = create(totp_now(c, &en.secret).await).await.unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let again: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert!(again.get("password").is_none(), "shown once: {again}");
    let db = rusqlite::Connection::open(rig.db()).unwrap();
    let stored: Vec<String> = db
        .prepare("SELECT body FROM idempotency")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!stored.is_empty());
    assert!(stored.iter().all(|b| !b.contains(&password)), "{stored:?}");
    // A day later the key is forgotten (and the row pruned).
    c.sandbox_advance_clock(25 * 3600).await.unwrap();
    let left: i64 = db
        .query_row("SELECT COUNT(*) FROM idempotency", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
    rig.stop().await;
}

/// M4: a support ticket's follow-up secret is not stored for replays: a repeat of the same
/// keyed request gets a new secret, and the first one (which the caller never received)
/// stops working.
#[tokio::test]
async fn m4_a_ticket_replay_gets_a_new_secret_and_none_is_stored() {
    let rig = Rig::new().await;
    let http = reqwest::Client::new();
    let url = format!("{}/registry/v1/support/tickets", rig.sandbox.base_url());
    let open = || {
        http.post(&url)
            .header(IDEMPOTENCY_KEY_HEADER, "k-ticket")
            .json(&serde_json::json!({
                "category": "other",
                "topic": "software_problem",
                "private_area_access": true,
                "description": "La pagina non si apre."
            }))
            .send()
    };
    let first: SupportTicketCreated = open().await.unwrap().json().await.unwrap();
    let second: SupportTicketCreated = open().await.unwrap().json().await.unwrap();
    assert_eq!(first.ticket.number, second.ticket.number, "one ticket");
    assert_ne!(first.follow_token, second.follow_token);
    let c = &rig.client;
    let e = c
        .support_ticket(&first.ticket.number, &first.follow_token)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404));
    c.support_ticket(&second.ticket.number, &second.follow_token)
        .await
        .unwrap();
    let db = rusqlite::Connection::open(rig.db()).unwrap();
    let body: String = db
        .query_row("SELECT body FROM idempotency", [], |r| r.get(0))
        .unwrap();
    assert!(
        !body.contains(&first.follow_token) && !body.contains("follow_token"),
        "{body}"
    );
    rig.stop().await;
}

/// M4: the payment's idempotency fingerprint is made of non-card data and at most the last
/// four digits. Before, it was SHA-256 over the whole request, card number and CVC included:
/// trying the 1,000 CVCs of a known card number found the CVC.
#[tokio::test]
async fn m4_the_payment_fingerprint_cannot_be_brute_forced_to_the_card() {
    use sha2::{Digest, Sha256};
    let rig = Rig::new().await;
    let c = &rig.client;
    c.renewal_sign_in(pec_sandbox::seed::RENEWAL_REGISTERED_CF, PASSWORD)
        .await
        .unwrap();
    let order = c
        .create_renewal_order(&RenewalOrderRequest {
            mailbox: ACME.into(),
            legal_representative: PersonData {
                first_name: "Chiara".into(),
                last_name: "Conti".into(),
                tax_code: CHIARA_CF.into(),
            },
            payment_method: PaymentMethodData::Card,
        })
        .await
        .unwrap();
    let pay = |cvc: &str| PaymentRequest {
        card: Some(CardData {
            number: pec_sandbox::renewal::CARD_OK.into(),
            expiry_month: 12,
            expiry_year: 2035,
            cvc: cvc.into(),
            holder_name: "Chiara Conti".into(),
        }),
        wallet_account: None,
    };
    c.pay_renewal_order(&order.id, &pay("731"), "k-pay")
        .await
        .unwrap();
    let db = rusqlite::Connection::open(rig.db()).unwrap();
    let stored: String = db
        .query_row(
            "SELECT fingerprint FROM idempotency WHERE key = 'k-pay'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    // The attack: the old fingerprint's formula over every CVC of the known number.
    let old_formula = |req: &PaymentRequest| {
        let mut h = Sha256::new();
        for part in [
            b"renewal-payment".as_slice(),
            order.id.as_bytes(),
            serde_json::to_string(req).unwrap().as_bytes(),
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        h.finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let found = (0..1000)
        .map(|n| format!("{n:03}"))
        .find(|cvc| old_formula(&pay(cvc)) == stored);
    assert_eq!(found, None, "the CVC comes out of the stored fingerprint");
    assert_eq!(
        stored,
        pec_sandbox::renewal::payment_fingerprint(&order.id, &pay("000")),
        "the CVC is not part of it"
    );
    rig.stop().await;
}

/// M4: e-mail bodies (OTPs, link tokens) are not kept once they can no longer be used: the
/// sandbox's own outbox redacts them once every secret in them has expired.
#[tokio::test]
async fn m4_outbox_bodies_are_redacted_once_their_secrets_expire() {
    let rig = Rig::signed_in(ACME).await;
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
    act(
        c,
        &r.id,
        IdentityAction::SubmitHolderEmail {
            holder_email: "titolare@example.com".into(),
        },
    )
    .await;
    let mail = c
        .sandbox_outbox(Some("titolare@example.com"))
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert!(mail.body.contains("/v1/delegations/"));
    c.sandbox_advance_clock(49 * 3600).await.unwrap();
    let mail = c
        .sandbox_outbox(Some("titolare@example.com"))
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(mail.body, pec_sandbox::mail::REDACTED_BODY);
    rig.stop().await;
}

/// M5: no password hash runs under the single writer (debug builds stop on one), in every
/// handler that checks or makes one; before, the registry and renewal sign-ins, the renewal
/// registration and the remote signature hashed under it.
#[tokio::test]
async fn m5_every_password_hash_runs_off_the_writer() {
    let rig = Rig::new().await;
    let c = &rig.client;
    c.registry_sign_in(pec_sandbox::seed::REGISTRY_DEMO_USER, PASSWORD)
        .await
        .unwrap();
    let e = c
        .registry_sign_in("nessuno", "wrong-password")
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "auth.invalid_credentials");
    c.renewal_sign_in(pec_sandbox::seed::RENEWAL_REGISTERED_CF, PASSWORD)
        .await
        .unwrap();
    let cap = c.new_captcha().await.unwrap();
    let answer = c.sandbox_captcha_answer(&cap.id).await.unwrap().answer;
    c.renewal_register(&RenewalRegistrationRequest {
        company_tax_code: "07973780013".into(),
        email: "servizi@example.com".into(),
        mobile: "333 765 4321".into(),
        password: "Portale-Password-1".into(),
        captcha_id: cap.id,
        captcha_answer: answer,
    })
    .await
    .unwrap();
    c.sandbox_seed_account(&SeedAccountRequest {
        password: "Test-Password-9".into(),
        mailboxes: vec![SeedMailbox {
            address: "m5@pec.sandbox.test".into(),
            holder: mario_holder(),
            contact: contact("m5@example.com"),
            imap: None,
        }],
    })
    .await
    .unwrap();
    c.sign_in("m5@pec.sandbox.test", "Test-Password-9", None)
        .await
        .unwrap();
    let id = to_identifying(
        c,
        "m5@pec.sandbox.test",
        mario_holder(),
        "m5@example.com",
        MethodData::RemoteSignature,
    )
    .await;
    let r = identify_by_remote_signature(c, &id).await;
    assert_eq!(r.step, StepData::Identified);
    rig.stop().await;
}

/// M5: support tickets need no session, so each address may open few a minute, and the
/// service few an hour, whoever asks (the cap is reached here through eleven loopback
/// addresses).
#[tokio::test]
async fn m5_unauthenticated_writes_are_limited() {
    let rig = Rig::new().await;
    let url = format!("{}/registry/v1/support/tickets", rig.sandbox.base_url());
    let ticket = serde_json::json!({
        "category": "other",
        "topic": "software_problem",
        "private_area_access": true,
        "description": "Non funziona."
    });
    let from = |last: u8| {
        reqwest::Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 0, last]))
            .build()
            .unwrap()
    };
    let mut opened = 0;
    let mut refused_per_address = 0;
    let mut busy = 0;
    for last in 2..=12u8 {
        let http = from(last);
        for _ in 0..21 {
            let resp = http.post(&url).json(&ticket).send().await.unwrap();
            match resp.status().as_u16() {
                201 => opened += 1,
                429 => {
                    let body: serde_json::Value = resp.json().await.unwrap();
                    match body["code"].as_str() {
                        Some("request.rate_limited") => refused_per_address += 1,
                        Some("support.busy") => busy += 1,
                        other => panic!("{other:?}"),
                    }
                }
                s => panic!("{s}"),
            }
        }
    }
    assert_eq!(opened, 200, "the service's hourly cap");
    assert_eq!(refused_per_address, 11, "the 21st of each address");
    assert_eq!(busy, 11 * 20 - 200);
    rig.stop().await;
}

/// M5: stored documents are capped as a whole (507 when full), not only one by one.
#[tokio::test]
async fn m5_stored_documents_are_capped() {
    let rig = Rig::with(|c| c.max_stored_document_bytes = 12 * 1024 * 1024).await;
    let c = &rig.client;
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.resize(5 * 1024 * 1024 - 16, b' ');
    let mut statuses = Vec::new();
    for i in 0..3 {
        let t = c
            .open_support_ticket(&SupportTicketRequest {
                category: SupportCategory::Registration,
                topic: SupportTopic::PecChange,
                private_area_access: false,
                questionnaire: Some(PecChangeQuestionnaire {
                    reason: "Password dimenticata".into(),
                    first_name: "Mario".into(),
                    last_name: "Rossi".into(),
                    tax_code: MARIO_CF.into(),
                    phone: "0612345678".into(),
                    new_pec: format!("nuova{i}@pec.example.it"),
                }),
                description: None,
            })
            .await
            .unwrap();
        let r = c
            .attach_ticket_document(
                &t.ticket.number,
                &t.follow_token,
                "documento.pdf",
                "application/pdf",
                pdf.clone(),
            )
            .await;
        statuses.push(match r {
            Ok(_) => 201,
            Err(e) => {
                assert_eq!(code_of(&e), "document.storage_full");
                e.status().unwrap_or_default()
            }
        });
    }
    assert_eq!(statuses, [201, 201, 507]);
    rig.stop().await;
}

/// M5: the tables that grow are pruned as time passes: expired idempotency answers,
/// sessions past their refresh expiry (with their proven factors), old portal sessions,
/// captchas and abandoned registrations.
#[tokio::test]
async fn m5_expired_rows_are_pruned() {
    let rig = Rig::signed_in(MARIO).await;
    let c = &rig.client;
    c.create_identity_request_keyed(MARIO, "k-1").await.unwrap();
    c.renewal_sign_in(pec_sandbox::seed::RENEWAL_REGISTERED_CF, PASSWORD)
        .await
        .unwrap();
    c.new_captcha().await.unwrap();
    let db = rusqlite::Connection::open(rig.db()).unwrap();
    let count = |table: &str| -> i64 {
        db.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    for table in ["idempotency", "sessions", "portal_sessions", "captchas"] {
        assert!(count(table) > 0, "{table}");
    }
    c.sandbox_advance_clock(31 * 86_400).await.unwrap();
    for table in [
        "idempotency",
        "sessions",
        "portal_sessions",
        "captchas",
        "session_factors",
    ] {
        assert_eq!(count(table), 0, "{table}");
    }
    rig.stop().await;
}

/// L9: a request whose OTP resends are used up is not stuck: "start over" takes it back to
/// the role question, and it can be completed. Before, it stayed active at the OTP step for
/// ever and no new request could be made for the mailbox.
#[tokio::test]
async fn l9_a_request_out_of_otp_resends_starts_over() {
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
    identify_by_remote_signature(c, &id).await;
    act(c, &id, IdentityAction::Proceed).await;
    act(
        c,
        &id,
        IdentityAction::CompleteRequest { terms: all_terms() },
    )
    .await;
    for _ in 0..5 {
        c.sandbox_advance_clock(31).await.unwrap();
        act(c, &id, IdentityAction::ResendOtp).await;
    }
    c.sandbox_advance_clock(31).await.unwrap();
    let e = c.act(&id, &IdentityAction::ResendOtp).await.unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(409), "otp.resend_limit"));
    let e = c.create_identity_request(MARIO).await.unwrap_err();
    assert_eq!(code_of(&e), "identity.request_exists");

    let r = act(c, &id, IdentityAction::StartOver).await;
    assert_eq!(r.step, StepData::ChoosingRole);
    assert_eq!(
        c.mailbox(MARIO).await.unwrap().active_identity_request,
        Some(id.clone())
    );
    // The old code is gone with the step.
    let old = last_otp(c, "mario.rossi@example.com").await;
    walk_to_identifying(
        c,
        &id,
        mario_holder(),
        "mario.rossi@example.com",
        MethodData::RemoteSignature,
    )
    .await;
    next_step(c).await;
    identify_by_remote_signature(c, &id).await;
    act(c, &id, IdentityAction::Proceed).await;
    act(
        c,
        &id,
        IdentityAction::CompleteRequest { terms: all_terms() },
    )
    .await;
    let code = last_otp(c, "mario.rossi@example.com").await;
    if code != old {
        let e = c
            .act(&id, &IdentityAction::ConfirmOtp { code: old.into() })
            .await
            .unwrap_err();
        assert_eq!(code_of(&e), "otp.invalid");
    }
    let r = act(c, &id, IdentityAction::ConfirmOtp { code: code.into() }).await;
    assert_eq!(r.step, StepData::Completed);
    rig.stop().await;
}

/// L10: booking a slot keeps the other requests' bookings at that time (rejected, approved,
/// cancelled). Before, it deleted them: the operator's decision on the first booking
/// disappeared.
#[tokio::test]
async fn l10_booking_a_slot_keeps_other_requests_bookings() {
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
    let slot = c.webcam_slots().await.unwrap()[0].starts_at;
    let first = c
        .book_webcam(&id, &webcam_request(slot, IdDocumentKind::Cie))
        .await
        .unwrap();
    c.sandbox_decide_webcam(
        &first.id,
        &WebcamDecision {
            approved: false,
            tax_code: None,
        },
    )
    .await
    .unwrap();
    // Another account's request takes the same time, free again.
    let other = rig.other_client();
    other
        .sign_in("acc-demo-acme", PASSWORD, None)
        .await
        .unwrap();
    let id2 = to_identifying(
        &other,
        ACME,
        company_holder("ACME S.r.l.", "00743110157", Some(CHIARA_CF)),
        "chiara.conti@example.com",
        MethodData::Webcam,
    )
    .await;
    let second = other
        .book_webcam(&id2, &webcam_request(slot, IdDocumentKind::Passport))
        .await
        .unwrap();
    assert_eq!(second.starts_at, slot);
    // The first booking and its decision are still there.
    let e = c
        .sandbox_decide_webcam(
            &first.id,
            &WebcamDecision {
                approved: true,
                tax_code: Some(MARIO_CF.into()),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), code_of(&e)),
        (Some(409), "webcam.already_decided")
    );
    // And the slot is taken once: a third booking of it is refused.
    let e = c
        .book_webcam(&id, &webcam_request(slot, IdDocumentKind::Cie))
        .await
        .unwrap_err();
    assert!(["webcam.slot_unavailable", "method.not_identifying"].contains(&code_of(&e)));
    rig.stop().await;
}

/// L8: a captcha's image is drawn once and served as the same bytes on every fetch. Before,
/// each fetch redrew the same answer over fresh noise, and a few fetches averaged removed the
/// noise. The answer is six digits (it was five).
#[tokio::test]
async fn l8_a_captcha_image_is_the_same_bytes_on_every_fetch() {
    let rig = Rig::new().await;
    let c = &rig.client;
    let cap = c.new_captcha().await.unwrap();
    let first = c.captcha_image(&cap.id).await.unwrap();
    assert!(first.starts_with(b"\x89PNG\r\n\x1a\n"));
    for _ in 0..3 {
        assert!(c.captcha_image(&cap.id).await.unwrap() == first, "redrawn");
    }
    let answer = c.sandbox_captcha_answer(&cap.id).await.unwrap().answer;
    assert_eq!(answer.len(), 6);
    assert!(answer.bytes().all(|b| b.is_ascii_digit()));
    // Another challenge is another drawing.
    let other = c.new_captcha().await.unwrap();
    assert!(c.captcha_image(&other.id).await.unwrap() != first);
    rig.stop().await;
}

/// L8: the renewal lookup needs no session and tells a company's name and masked e-mail, so
/// each address gets few a minute (429 `request.rate_limited`, as the document declares);
/// another address is not held up by it.
#[tokio::test]
async fn l8_renewal_lookups_are_limited_per_address() {
    let rig = Rig::new().await;
    let url = format!("{}/renewal/v1/lookup", rig.sandbox.base_url());
    let from = |last: u8| {
        reqwest::Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 0, last]))
            .build()
            .unwrap()
    };
    let lookup = serde_json::json!({ "company_tax_code": "07973780013" });
    let enumerator = from(21);
    let mut statuses = Vec::new();
    for _ in 0..21 {
        let resp = enumerator.post(&url).json(&lookup).send().await.unwrap();
        let status = resp.status().as_u16();
        if status == 429 {
            assert!(resp.headers().contains_key("retry-after"));
            let body: serde_json::Value = resp.json().await.unwrap();
            assert_eq!(body["code"], "request.rate_limited");
        }
        statuses.push(status);
    }
    assert_eq!(statuses[..20], [200; 20]);
    assert_eq!(statuses[20], 429, "the 21st lookup of one address");
    let resp = from(22).post(&url).json(&lookup).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "another address");
    rig.stop().await;
}

/// M6 (the provider's half): every mailbox view states the IMAPS server the mailbox is read
/// from, the one the app's backup then connects to and no other. The server's configured one
/// by default, a seeded mailbox's own when it has one, the same through the list and through
/// the status read (written by hand); a seeded server that is not a host name or an IPv4
/// address with a port is refused.
#[tokio::test]
async fn m6_every_mailbox_states_its_imap_server() {
    let rig = Rig::with(|c| {
        c.imap = ImapServer {
            host: "imaps.pec.provider.test".into(),
            port: 1993,
        }
    })
    .await;
    let c = &rig.client;
    c.sign_in(MARIO, PASSWORD, None).await.unwrap();
    let configured = ImapServer {
        host: "imaps.pec.provider.test".into(),
        port: 1993,
    };
    let list = c.mailboxes().await.unwrap();
    assert!(!list.is_empty());
    for m in &list {
        assert_eq!(m.imap, configured, "{}", m.address);
        assert_eq!(c.mailbox(&m.address).await.unwrap().imap, configured);
    }

    let seed = |address: &str, imap: Option<ImapServer>| SeedAccountRequest {
        password: "Test-Password-9".into(),
        mailboxes: vec![SeedMailbox {
            address: address.into(),
            holder: mario_holder(),
            contact: contact("m6@example.com"),
            imap,
        }],
    };
    let own = c
        .sandbox_seed_account(&seed(
            "m6@pec.sandbox.test",
            Some(ImapServer {
                host: "Imap.Example.TEST".into(),
                port: 10993,
            }),
        ))
        .await
        .unwrap();
    let c2 = rig.other_client();
    c2.sign_in(&own.account_id, "Test-Password-9", None)
        .await
        .unwrap();
    let stated = ImapServer {
        host: "imap.example.test".into(),
        port: 10993,
    };
    assert_eq!(c2.mailboxes().await.unwrap()[0].imap, stated);
    assert_eq!(
        c2.mailbox("m6@pec.sandbox.test").await.unwrap().imap,
        stated
    );
    // Only the mailbox that was given one has it.
    assert_eq!(c.mailbox(MARIO).await.unwrap().imap, configured);

    for (i, (host, port)) in [
        ("imap.example.test:993", 993),
        ("imaps://imap.example.test", 993),
        ("-imap.example.test", 993),
        ("imap..example.test", 993),
        ("", 993),
        ("imap.example.test", 0),
    ]
    .into_iter()
    .enumerate()
    {
        let e = c
            .sandbox_seed_account(&seed(
                &format!("m6-bad-{i}@pec.sandbox.test"),
                Some(ImapServer {
                    host: host.into(),
                    port,
                }),
            ))
            .await
            .unwrap_err();
        assert_eq!(
            (e.status(), code_of(&e)),
            (Some(422), "account.imap_server"),
            "{host}:{port}"
        );
    }
    rig.stop().await;
}

/// I6: a refresh token presented a second time ends the sessions it was rotated into. A thief
/// who rotates a stolen refresh token first keeps the session only until the holder's app
/// refreshes with the same token: then both are signed out (the holder signs in again), and
/// the account's other sessions live on. Before, the thief's rotated session lived its 30 days.
#[tokio::test]
async fn i6_a_reused_refresh_token_ends_the_sessions_rotated_from_it() {
    let rig = Rig::new().await;
    let holder = &rig.client;
    let stolen = holder.sign_in(MARIO, PASSWORD, None).await.unwrap();
    let elsewhere = rig.other_client();
    elsewhere.sign_in(MARIO, PASSWORD, None).await.unwrap();

    let thief = rig.other_client();
    let t2 = thief.refresh(stolen.refresh_token.expose()).await.unwrap();
    // Twice rotated: the whole chain ends.
    let t3 = thief.refresh(t2.refresh_token.expose()).await.unwrap();
    thief.mailboxes().await.unwrap();

    let e = holder
        .refresh(stolen.refresh_token.expose())
        .await
        .unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(401), "auth.unauthorized"));
    let e = thief.mailboxes().await.unwrap_err();
    assert_eq!(
        (e.status(), code_of(&e)),
        (Some(401), "auth.unauthorized"),
        "the thief's cached access token is dead at once"
    );
    let e = thief.refresh(t3.refresh_token.expose()).await.unwrap_err();
    assert_eq!(code_of(&e), "auth.unauthorized");
    // Another sign-in of the account is not touched.
    elsewhere.mailboxes().await.unwrap();

    // A refresh token of a signed-out session ends nothing: there is nothing rotated from it.
    let t = holder.sign_in(MARIO, PASSWORD, None).await.unwrap();
    holder.sign_out().await.unwrap();
    let e = holder.refresh(t.refresh_token.expose()).await.unwrap_err();
    assert_eq!(code_of(&e), "auth.unauthorized");
    elsewhere.mailboxes().await.unwrap();
    rig.stop().await;
}
