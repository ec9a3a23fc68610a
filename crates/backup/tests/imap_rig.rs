//! The backup against a real IMAPS server: Dovecot started by the test command
//! (scripts/rig/dovecot.sh, `PEC_IMAP_RIG=1`). Fails without the rig, never skips.
//! Each test has a mailbox of its own, so they run in parallel.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::path::Path;

use pec_backup::{
    BackupError, BackupReport, CancellationToken, Index, Password, PecType, Phase, backup,
    verify_folder,
};
use pec_domain::DomainError;

use common::{Rig, TestMessage, late_message, pec_mailbox, rig};

async fn run(
    rig: &Rig,
    user: &str,
    dest: &Path,
    password: &str,
) -> Result<BackupReport, BackupError> {
    let opts = rig.options(user, dest);
    backup(
        &opts,
        &Password::new(password.to_owned()),
        &mut |_| {},
        &CancellationToken::new(),
    )
    .await
}

fn index(dest: &Path) -> Index {
    serde_json::from_slice(&std::fs::read(dest.join("index.json")).unwrap()).unwrap()
}

fn eml_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "eml") {
                out.push(p);
            }
        }
    }
    out
}

/// Every seeded message is in the index once, with its type, hash, and a file with its bytes.
fn assert_backup_holds(dest: &Path, seeded: &[TestMessage]) {
    let index = index(dest);
    assert_eq!(index.format, "pec-backup-index/1");
    assert_eq!(index.messages.len(), seeded.len(), "one entry per message");
    assert_eq!(
        eml_files(&dest.join("messages")).len(),
        seeded.len(),
        "one file per message, no duplicates"
    );
    let by_hash: HashMap<&str, &pec_backup::IndexEntry> = index
        .messages
        .iter()
        .map(|e| (e.sha256.as_str(), e))
        .collect();
    for m in seeded {
        let e = by_hash
            .get(m.sha256().as_str())
            .unwrap_or_else(|| panic!("{} not in the index", m.subject));
        assert_eq!(e.imap_folder, m.imap_folder);
        assert_eq!(e.subject.as_deref(), Some(m.subject.as_str()));
        assert_eq!(e.pec_type, m.pec_type, "{}", m.subject);
        assert_eq!(e.size, m.raw.len() as u64);
        assert_eq!(std::fs::read(dest.join(&e.file)).unwrap(), m.raw);
    }
}

#[tokio::test]
async fn full_backup_saves_every_message_with_its_pec_type() {
    let rig = rig();
    let user = rig.fresh_user("full");
    let seeded = pec_mailbox();
    rig.seed(&user, &seeded).await;
    let dest = tempfile::tempdir().unwrap();

    let mut phases = Vec::new();
    let mut last = None;
    let opts = rig.options(&user, dest.path());
    let report = backup(
        &opts,
        &Password::new(rig.password.clone()),
        &mut |p| {
            if phases.last() != Some(&p.phase) {
                phases.push(p.phase);
            }
            if p.phase == Phase::Saving {
                last = Some(p.clone());
            }
        },
        &CancellationToken::new(),
    )
    .await
    .unwrap();

    assert!(report.verified, "{report:#?}");
    assert_eq!(report.downloaded, seeded.len() as u64);
    assert_eq!(report.already_saved, 0);
    assert_eq!(report.files.checked, seeded.len() as u64);
    assert_eq!(
        phases,
        vec![Phase::Listing, Phase::Saving, Phase::Verifying]
    );
    let last = last.unwrap();
    assert_eq!((last.done, last.total), (8, 8));
    let total_bytes: u64 = seeded.iter().map(|m| m.raw.len() as u64).sum();
    assert_eq!(last.bytes, total_bytes);
    assert!(total_bytes > 2_000_000, "the seed includes a ~2 MB message");

    assert_backup_holds(dest.path(), &seeded);
    let index = index(dest.path());
    // Folder names for people, directories per hierarchy level.
    let large = index
        .messages
        .iter()
        .find(|e| e.imap_folder == "Attivit&AOA-")
        .unwrap();
    assert_eq!(large.folder, "Attività");
    assert!(
        large.file.starts_with("messages/Attività/"),
        "{}",
        large.file
    );
    let nested = index
        .messages
        .iter()
        .find(|e| e.imap_folder == "Archivio/2024")
        .unwrap();
    assert!(nested.file.starts_with("messages/Archivio/2024/"));
    let consegna = index
        .messages
        .iter()
        .find(|e| e.pec_type == PecType::AvvenutaConsegna && e.imap_folder == "INBOX")
        .unwrap();
    assert_eq!(
        consegna.riferimento_message_id.as_deref(),
        Some("orig-1@pec.example.it")
    );
    assert_eq!(
        consegna.from.as_deref(),
        Some("posta-certificata@pec.example.it")
    );
    assert_eq!(consegna.date.as_deref(), Some("2025-04-01T10:00:05+02:00"));
    for r in &report.folders {
        assert_eq!(r.server_messages, r.saved, "{r:?}");
        assert!(!r.uidvalidity_changed);
    }
    // INBOX comes first.
    assert_eq!(report.folders[0].imap_folder, "INBOX");

    // The backup read with BODY.PEEK: nothing was marked as read on the server.
    let mut s = rig.session(&user).await;
    s.select("INBOX").await.unwrap();
    let flags: Vec<_> = {
        use futures_util::TryStreamExt;
        s.fetch("1:*", "FLAGS")
            .await
            .unwrap()
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
    };
    assert_eq!(flags.len(), 5);
    for f in &flags {
        assert!(
            !f.flags()
                .any(|fl| matches!(fl, async_imap::types::Flag::Seen)),
            "a message was marked as read"
        );
    }
    s.logout().await.unwrap();

    // The offline check agrees, and notices a damaged file.
    let (_, check) = verify_folder(dest.path()).unwrap();
    assert!(check.is_ok());
    std::fs::write(dest.path().join(&large.file), b"damaged").unwrap();
    let (_, check) = verify_folder(dest.path()).unwrap();
    assert_eq!(check.hash_mismatches, vec![large.file.clone()]);
}

#[tokio::test]
async fn interrupted_backup_resumes_without_duplicates() {
    let rig = rig();
    let user = rig.fresh_user("resume");
    let seeded = pec_mailbox();
    rig.seed(&user, &seeded).await;
    let dest = tempfile::tempdir().unwrap();
    let opts = rig.options(&user, dest.path());
    let password = Password::new(rig.password.clone());

    // Cancel once three messages are saved, as a user pressing "Interrompi" would.
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    let err = backup(
        &opts,
        &password,
        &mut |p| {
            if p.phase == Phase::Saving && p.done == 3 {
                token.cancel();
            }
        },
        &cancel,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "backup.cancelled");
    // What was saved is indexed and on disk.
    assert_eq!(index(dest.path()).messages.len(), 3);
    assert_eq!(eml_files(&dest.path().join("messages")).len(), 3);

    let mut first_done = None;
    let report = backup(
        &opts,
        &password,
        &mut |p| {
            if p.phase == Phase::Saving && first_done.is_none() {
                first_done = Some(p.done);
            }
        },
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(report.verified, "{report:#?}");
    assert_eq!(report.already_saved, 3);
    assert_eq!(report.downloaded, seeded.len() as u64 - 3);
    // The progress bar starts where the first run stopped.
    assert_eq!(first_done, Some(3));
    assert_backup_holds(dest.path(), &seeded);

    // A third run has nothing to do.
    let report = run(&rig, &user, dest.path(), &rig.password).await.unwrap();
    assert_eq!(report.downloaded, 0);
    assert_eq!(report.already_saved, seeded.len() as u64);
    assert!(report.verified);
}

#[tokio::test]
async fn message_added_between_runs_is_picked_up() {
    let rig = rig();
    let user = rig.fresh_user("added");
    let mut seeded = pec_mailbox();
    rig.seed(&user, &seeded).await;
    let dest = tempfile::tempdir().unwrap();
    let first = run(&rig, &user, dest.path(), &rig.password).await.unwrap();
    assert!(first.verified);

    let late = late_message();
    rig.seed(&user, std::slice::from_ref(&late)).await;
    let second = run(&rig, &user, dest.path(), &rig.password).await.unwrap();
    assert!(second.verified, "{second:#?}");
    assert_eq!(second.downloaded, 1);
    assert_eq!(second.already_saved, seeded.len() as u64);
    seeded.push(late);
    assert_backup_holds(dest.path(), &seeded);
    assert!(
        index(dest.path())
            .messages
            .iter()
            .any(|e| e.pec_type == PecType::ErroreConsegna)
    );
}

#[tokio::test]
async fn changed_uidvalidity_keeps_old_files_and_saves_the_folder_again() {
    let rig = rig();
    let user = rig.fresh_user("uidvalidity");
    let seeded: Vec<TestMessage> = pec_mailbox()
        .into_iter()
        .filter(|m| m.imap_folder == "Archivio/2024")
        .collect();
    rig.seed(&user, &seeded).await;
    let dest = tempfile::tempdir().unwrap();
    let first = run(&rig, &user, dest.path(), &rig.password).await.unwrap();
    assert_eq!(first.downloaded, 2);

    // Deleting and re-creating a folder gives it a new UIDVALIDITY (RFC 3501 §2.3.1.1).
    let mut s = rig.session(&user).await;
    s.delete("Archivio/2024").await.unwrap();
    s.logout().await.unwrap();
    rig.seed(&user, &seeded[..1]).await;

    let second = run(&rig, &user, dest.path(), &rig.password).await.unwrap();
    assert!(second.verified, "{second:#?}");
    assert_eq!(second.downloaded, 1);
    let folder = second
        .folders
        .iter()
        .find(|f| f.imap_folder == "Archivio/2024")
        .unwrap();
    assert!(folder.uidvalidity_changed);
    assert_eq!((folder.server_messages, folder.saved), (1, 1));
    // Nothing was overwritten: both old files and the new one are there.
    let index = index(dest.path());
    assert_eq!(index.messages.len(), 3);
    assert_eq!(eml_files(&dest.path().join("messages")).len(), 3);
}

#[tokio::test]
async fn wrong_password_is_a_typed_auth_error_with_the_app_password_hint() {
    let rig = rig();
    let user = rig.fresh_user("wrongpw");
    let dest = tempfile::tempdir().unwrap();
    let err = run(&rig, &user, dest.path(), "not-the-password")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "backup.auth_failed");
    let l = err.to_localized();
    assert!(l.message_it.contains("password per le app"), "{l:?}");
    assert!(l.message_en.contains("app password"));
    assert!(!format!("{err:?} {l:?}").contains("not-the-password"));
}

#[tokio::test]
async fn untrusted_certificate_is_a_typed_tls_error() {
    let rig = rig();
    let user = rig.fresh_user("untrusted");
    let dest = tempfile::tempdir().unwrap();
    let mut opts = rig.options(&user, dest.path());
    opts.extra_ca = None; // the rig's throwaway CA is in no system store
    let err = backup(
        &opts,
        &Password::new(rig.password.clone()),
        &mut |_| {},
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "backup.tls_certificate", "{err:?}");
}

#[tokio::test]
async fn closed_port_is_connection_refused() {
    let rig = rig();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dest = tempfile::tempdir().unwrap();
    let mut opts = rig.options("nobody@test.pec.invalid", dest.path());
    opts.port = port;
    let err = backup(
        &opts,
        &Password::new("x".into()),
        &mut |_| {},
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "backup.connection_refused", "{err:?}");
}

#[tokio::test]
async fn a_folder_with_another_mailbox_backup_is_refused() {
    let rig = rig();
    let a = rig.fresh_user("owner");
    let b = rig.fresh_user("intruder");
    let dest = tempfile::tempdir().unwrap();
    run(&rig, &a, dest.path(), &rig.password).await.unwrap();
    let err = run(&rig, &b, dest.path(), &rig.password).await.unwrap_err();
    assert_eq!(err.code(), "backup.other_mailbox");
}
