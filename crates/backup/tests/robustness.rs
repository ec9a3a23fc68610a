//! What broke when the backup was tried against another IMAP server and on real disks (issue
//! 17): a refused login must not claim the folder, a failed first run must not leave an index
//! that looks like an empty backup, a killed run's temporary files go at the next run, and a
//! self-signed server certificate given with `--ca` is accepted as pinned. Against the real
//! Dovecot rig (scripts/rig/dovecot.sh); fails without it, never skips.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use pec_backup::{BackupError, BackupReport, CancellationToken, Password, backup};
use pec_domain::DomainError;

use common::{Rig, late_message, rig};

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

#[tokio::test]
async fn a_login_refused_for_a_mistyped_user_leaves_the_folder_usable() {
    let rig = rig();
    let right = rig.fresh_user("typo");
    // The same name with a typo in the domain: the server knows no such user.
    let mistyped = right.replace(&rig.test_domain, "tset.pec.invalid");
    let dest = tempfile::tempdir().unwrap();
    let err = run(&rig, &mistyped, dest.path(), &rig.password)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "backup.auth_failed");
    // Nothing claims the folder for the mistyped name, and no index pretends to be a backup.
    assert!(!dest.path().join(".pec-backup").exists());
    assert!(!dest.path().join("index.json").exists());

    rig.seed(&right, &[late_message()]).await;
    let report = run(&rig, &right, dest.path(), &rig.password)
        .await
        .expect("the right user backs up into the same folder");
    assert!(report.verified);
    assert_eq!(report.downloaded, 1);
}

#[tokio::test]
async fn a_failed_first_run_leaves_no_empty_index() {
    let rig = rig();
    let user = rig.fresh_user("firstfail");
    let dest = tempfile::tempdir().unwrap();
    let err = run(&rig, &user, dest.path(), "not-the-password")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "backup.auth_failed");
    assert!(
        !dest.path().join("index.json").exists(),
        "an index of 0 messages would look like the backup of an empty mailbox"
    );
    // A successful run of an empty mailbox does write one: that backup really is empty.
    let report = run(&rig, &user, dest.path(), &rig.password).await.unwrap();
    assert!(report.verified);
    assert!(!report.folder_list_empty, "Dovecot lists INBOX");
    assert!(dest.path().join("index.json").exists());
}

#[tokio::test]
async fn temporary_files_of_a_killed_run_are_removed_by_the_next() {
    let rig = rig();
    let user = rig.fresh_user("killed");
    rig.seed(&user, &[late_message()]).await;
    let dest = tempfile::tempdir().unwrap();
    run(&rig, &user, dest.path(), &rig.password).await.unwrap();
    // What a kill -9 in the middle of an atomic write leaves: the temporary file, named as
    // write_atomic names them, next to the message files and next to the index.
    let inbox = dest.path().join("messages/INBOX");
    let stale_message = inbox.join(".1700000000-0000000009.eml.Xa9Qz2.tmp");
    let stale_index = dest.path().join(".index.json.k3Jd8s.tmp");
    std::fs::write(&stale_message, b"half a mess").unwrap();
    std::fs::write(&stale_index, b"{\"format\":").unwrap();
    let kept = inbox.join("notes.txt");
    std::fs::write(&kept, b"the user's own file").unwrap();

    let report = run(&rig, &user, dest.path(), &rig.password).await.unwrap();
    assert!(report.verified);
    assert!(
        !stale_message.exists(),
        "the message's temporary file is gone"
    );
    assert!(!stale_index.exists(), "the index's temporary file is gone");
    assert!(kept.exists(), "other files are not touched");
    let leftovers: Vec<_> = std::fs::read_dir(&inbox)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn a_self_signed_ca_certificate_given_with_ca_is_pinned() {
    let rig = rig();
    let pinned = std::env::var("PEC_IMAP_SELF_SIGNED_CERT")
        .expect("PEC_IMAP_SELF_SIGNED_CERT: run through scripts/test.sh (the Dovecot rig)");
    let user = rig.fresh_user("pinned");
    rig.seed(&user, &[late_message()]).await;
    let dest = tempfile::tempdir().unwrap();
    // "localhost": the rig's Dovecot answers that name (SNI) with a plain `openssl req
    // -x509` certificate, marked CA:TRUE.
    let mut opts = rig.options(&user, dest.path());
    opts.host = "localhost".into();

    // Without it, the certificate is refused: verification is on.
    let err = backup(
        &opts,
        &Password::new(rig.password.clone()),
        &mut |_| {},
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "backup.tls_certificate", "{err:?}");

    opts.extra_ca = Some(pinned.clone().into());
    let report = backup(
        &opts,
        &Password::new(rig.password.clone()),
        &mut |_| {},
        &CancellationToken::new(),
    )
    .await
    .expect("the pinned certificate is accepted");
    assert!(report.verified);
    assert_eq!(report.downloaded, 1);

    // The pin trusts that one certificate: the rig's other one (served without SNI, signed
    // by the rig's CA) stays untrusted.
    let mut other = rig.options(&user, dest.path());
    other.extra_ca = Some(pinned.into());
    let err = backup(
        &other,
        &Password::new(rig.password.clone()),
        &mut |_| {},
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "backup.tls_certificate", "{err:?}");
}
