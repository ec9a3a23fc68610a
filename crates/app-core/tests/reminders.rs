//! Reminders against the real sandbox (an HTTP server on loopback with its SQLite file, the
//! one the app embeds): they come by the provider's clock, moved through the sandbox's back
//! office, and by the operator's decisions; each comes once.

// Helpers outside `#[test]` functions: here a panic is the failure report.
#![allow(clippy::unwrap_used)]

use pec_app_core::reminders::{self, Reminder, ReminderKind, ReminderTarget};
use pec_app_core::session::{APP_ID, Connection, Provider};
use pec_app_core::{Core, Dirs};
use pec_provider::api::{
    ContactData, HolderData, HolderKindData, IdDocumentKind, IdentityAction, MethodData,
    PecChangeRequest, PersonData, RoleData, StepData, WebcamBookingRequest, WebcamDecision,
};
use pec_sandbox::seed::{DEMO_PASSWORD, REGISTRY_DEMO_USER};

const DAY: u32 = 24 * 3600;

async fn core(dir: &std::path::Path) -> Core {
    let dirs = Dirs {
        config: dir.join("config"),
        data: dir.join("data"),
        log: dir.join("log"),
    };
    let data = dirs.data.clone();
    let mut core = Core::new(dirs, None);
    let provider = Provider::embedded(&data).await.unwrap();
    let vault = pec_vault::Vault::with_store(keyring_core::mock::Store::new().unwrap(), APP_ID);
    core.conn = Connection::ready(Ok(provider), Ok(vault));
    core
}

async fn sign_in(core: &Core, login: &str) {
    pec_app_core::session::sign_in(core, login, DEMO_PASSWORD, None)
        .await
        .unwrap();
}

/// Moves the provider's clock; months later the session has expired, as it would for the
/// user, who signs in again.
async fn advance(core: &Core, seconds: u32, login: &str) {
    let client = core.conn.client().await.unwrap();
    client.sandbox_advance_clock(seconds).await.unwrap();
    sign_in(core, login).await;
}

fn of_kind(batch: &[Reminder], kind: ReminderKind) -> Vec<&Reminder> {
    batch.iter().filter(|r| r.kind == kind).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn expiry_and_cessation_come_by_the_sandbox_clock_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path()).await;
    sign_in(&core, "acc-demo-mario").await;
    // The demo's mailboxes expire in 300 days; the reminder comes 30 days before.
    let batch = reminders::check(&core).await.unwrap();
    assert!(
        of_kind(&batch, ReminderKind::MailboxExpiry).is_empty(),
        "{batch:?}"
    );
    let upcoming = core.reminders.upcoming();
    assert_eq!(
        upcoming
            .iter()
            .filter(|r| r.kind == ReminderKind::MailboxExpiry)
            .count(),
        2,
        "{upcoming:?}"
    );

    advance(&core, 267 * DAY, "acc-demo-mario").await;
    let batch = reminders::check(&core).await.unwrap();
    assert!(
        of_kind(&batch, ReminderKind::MailboxExpiry).is_empty(),
        "{batch:?}"
    );

    advance(&core, 3 * DAY, "acc-demo-mario").await;
    let batch = reminders::check(&core).await.unwrap();
    let expiry = of_kind(&batch, ReminderKind::MailboxExpiry);
    assert_eq!(expiry.len(), 2, "{batch:?}");
    assert!(matches!(
        &expiry[0].target,
        ReminderTarget::Renewal { address } if address.ends_with("@pec.sandbox.test")
    ));
    assert!(
        expiry[0].body_it.contains("scade il"),
        "{}",
        expiry[0].body_it
    );
    // Once per event, however often the app looks.
    assert!(reminders::check(&core).await.unwrap().is_empty());

    // Past the expiry day: the cessation, with the provider's grace period.
    advance(&core, 32 * DAY, "acc-demo-mario").await;
    let batch = reminders::check(&core).await.unwrap();
    let cessation = of_kind(&batch, ReminderKind::MailboxCessation);
    assert_eq!(cessation.len(), 2, "{batch:?}");
    assert!(cessation[0].body_it.contains("sarà cessata"));
    assert!(reminders::check(&core).await.unwrap().is_empty());
    assert_eq!(core.reminders.recent().len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_registry_link_reminds_on_its_last_day_in_rome() {
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path()).await;
    sign_in(&core, "acc-demo-mario").await;
    let client = core.conn.client().await.unwrap();
    client
        .registry_sign_in(REGISTRY_DEMO_USER, DEMO_PASSWORD)
        .await
        .unwrap();
    let change = client
        .request_pec_change(&PecChangeRequest {
            new_pec: "mario.nuova@pec.sandbox.test".into(),
            confirm_new_pec: "mario.nuova@pec.sandbox.test".into(),
        })
        .await
        .unwrap();
    // The day of the request: the link works through tomorrow, nothing to remind yet.
    let batch = reminders::check(&core).await.unwrap();
    assert!(
        of_kind(&batch, ReminderKind::RegistryDeadline).is_empty(),
        "{batch:?}"
    );
    assert!(
        core.reminders
            .upcoming()
            .iter()
            .any(|r| r.key == format!("registry:{}", change.id))
    );
    // The registry's session ends (it lasts one run): the deadline is still remembered.
    client.set_portal_token(pec_provider::Portal::Registry, None);

    // The next day in Rome: the last day of the link.
    advance(&core, DAY, "acc-demo-mario").await;
    let batch = reminders::check(&core).await.unwrap();
    let due = of_kind(&batch, ReminderKind::RegistryDeadline);
    assert_eq!(due.len(), 1, "{batch:?}");
    assert_eq!(due[0].target, ReminderTarget::Registry);
    assert!(due[0].body_it.contains("24:00"), "{}", due[0].body_it);
    assert!(reminders::check(&core).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operators_decisions_remind_and_open_the_procedure() {
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path()).await;
    sign_in(&core, "acc-demo-acme").await;
    let c = core.conn.client().await.unwrap();
    let address = "fatture@pec.acme-srl.test";
    let act = |id: String, a: IdentityAction| async move {
        c.act(&id, &a)
            .await
            .unwrap_or_else(|e| panic!("{a:?}: {e}"))
    };
    // ACME Servizi, its legal representative identified by webcam but not in the registry:
    // documents are needed.
    let id = c.create_identity_request(address).await.unwrap().id;
    act(
        id.clone(),
        IdentityAction::ChooseRole {
            role: RoleData::HolderOrLegalRepresentative,
        },
    )
    .await;
    act(
        id.clone(),
        IdentityAction::ChooseHolderKind {
            kind: HolderKindData::Company,
        },
    )
    .await;
    act(
        id.clone(),
        IdentityAction::SubmitData {
            holder: HolderData::Company {
                business_name: "ACME Servizi S.r.l.".into(),
                tax_code: "07973780013".into(),
                legal_representative: Some(PersonData {
                    first_name: "Chiara".into(),
                    last_name: "Conti".into(),
                    tax_code: "CNTCHR83T41D969D".into(),
                }),
            },
            contact: ContactData {
                email: "chiara.conti@example.com".into(),
                mobile: Some("+393331234567".into()),
            },
        },
    )
    .await;
    act(id.clone(), IdentityAction::ConfirmSummary).await;
    act(
        id.clone(),
        IdentityAction::ChooseMethod {
            method: MethodData::Webcam,
        },
    )
    .await;
    // What the account already had (the "adegua la PEC" banners are not reminders).
    let before = reminders::check(&core).await.unwrap();
    assert!(
        of_kind(&before, ReminderKind::IdentityOutcome).is_empty(),
        "{before:?}"
    );

    let slot = c.webcam_slots().await.unwrap()[0].starts_at;
    let booking = c
        .book_webcam(
            &id,
            &WebcamBookingRequest {
                starts_at: slot,
                document: IdDocumentKind::Cie,
                language: "it".into(),
            },
        )
        .await
        .unwrap();
    c.sandbox_decide_webcam(
        &booking.id,
        &WebcamDecision {
            approved: true,
            tax_code: Some("CNTCHR83T41D969D".into()),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        c.identity_request(&id).await.unwrap().step,
        StepData::DocumentsMissing
    );
    let batch = reminders::check(&core).await.unwrap();
    let outcome = of_kind(&batch, ReminderKind::IdentityOutcome);
    assert_eq!(outcome.len(), 1, "documents requested: {batch:?}");
    assert_eq!(
        outcome[0].target,
        ReminderTarget::Identity {
            address: address.into()
        }
    );
    assert!(reminders::check(&core).await.unwrap().is_empty());

    // The documents go in; the operator finishes the checks.
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    c.upload_document(&id, "visura.pdf", "application/pdf", pdf.to_vec())
        .await
        .unwrap();
    act(id.clone(), IdentityAction::SubmitDocuments).await;
    let _ = reminders::check(&core).await.unwrap();
    let done = c.sandbox_decide_checks(&id, true).await.unwrap();
    assert_eq!(done.step, StepData::Completed);
    let batch = reminders::check(&core).await.unwrap();
    let outcome = of_kind(&batch, ReminderKind::IdentityOutcome);
    assert_eq!(outcome.len(), 1, "checks finished: {batch:?}");
    assert!(
        outcome[0].title_it.contains("Identificazione avvenuta"),
        "{}",
        outcome[0].title_it
    );

    // The settings screen's choice persists.
    let mut off = core.settings.get().reminders;
    off.identity_outcome = false;
    reminders::save_settings(&core, off).unwrap();
    assert!(
        !pec_app_core::SettingsStore::load(&dir.path().join("config"))
            .get()
            .reminders
            .identity_outcome
    );
}
