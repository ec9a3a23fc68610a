//! One backup per destination folder, across processes: while a run holds the
//! folder, a second one into it is refused at once with `backup.dest_busy`, before it
//! connects; once the first ends, the folder is free again. The first run is held by a
//! server that accepts the connection and never answers (a loopback listener), so the two
//! runs are truly at the same time.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::time::Duration;

use pec_backup::{BackupError, BackupOptions, CancellationToken, Password, backup};
use pec_domain::DomainError as _;

fn options(port: u16, dest: &std::path::Path) -> BackupOptions {
    let mut opts = BackupOptions::checked(
        "127.0.0.1",
        u32::from(port),
        None,
        "mario.rossi@pec.example.it",
        dest,
    )
    .unwrap();
    opts.timeout = Duration::from_secs(30);
    opts
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_backup_into_the_same_folder_is_refused_while_the_first_runs() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    // Accepts and holds every connection without a word: the TLS handshake waits.
    let held = std::thread::spawn(move || {
        let mut kept = Vec::new();
        for stream in silent.incoming().take(2) {
            kept.push(stream);
        }
        std::thread::sleep(Duration::from_secs(2));
    });
    let dest = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();

    let cancel = CancellationToken::new();
    let first = {
        let (opts, cancel) = (options(port, dest.path()), cancel.clone());
        tokio::spawn(async move {
            backup(&opts, &Password::new("x".into()), &mut |_| {}, &cancel).await
        })
    };
    // The first run has taken the folder once its lock file exists and is locked.
    let lock = dest.path().join(".pec-backup.lock");
    for _ in 0..100 {
        if lock.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !first.is_finished(),
        "the first run waits for the silent server"
    );

    let second = backup(
        &options(port, dest.path()),
        &Password::new("x".into()),
        &mut |_| {},
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert!(matches!(second, BackupError::DestBusy), "{second:?}");
    assert_eq!(second.code(), "backup.dest_busy");

    // Another folder is not held by it (it goes on to the server, and is stopped there).
    let elsewhere_cancel = CancellationToken::new();
    let elsewhere = {
        let (opts, c) = (options(port, other.path()), elsewhere_cancel.clone());
        tokio::spawn(
            async move { backup(&opts, &Password::new("x".into()), &mut |_| {}, &c).await },
        )
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !elsewhere.is_finished(),
        "a run into another folder is not refused"
    );
    elsewhere_cancel.cancel();
    let _ = elsewhere.await.unwrap();

    cancel.cancel();
    let first = first.await.unwrap().unwrap_err();
    assert!(matches!(first, BackupError::Cancelled), "{first:?}");

    // The folder is free again: a new run gets past the lock (and fails at a closed port).
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let again = backup(
        &options(closed, dest.path()),
        &Password::new("x".into()),
        &mut |_| {},
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert!(!matches!(again, BackupError::DestBusy), "{again:?}");
    held.join().unwrap();
}
