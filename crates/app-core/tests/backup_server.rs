//! Audit M6, the server half, against the real sandbox (the HTTP server on loopback with its
//! SQLite file that the app embeds): a backup connects only to the IMAPS host the provider
//! publishes for the mailbox, whatever host the page sends. Before, `backup_start` took any
//! host and port from the webview, so a compromised page could make the app probe hosts or
//! hand the user's password to a server of its choosing.

// Helpers outside `#[test]` functions: here a panic is the failure report.
#![allow(clippy::unwrap_used)]

use pec_app_core::backup::{self, BackupEvent, BackupRequest};
use pec_app_core::session::{self, APP_ID, Connection, Provider};
use pec_app_core::{Core, Dirs, mailboxes};
use pec_provider::api::{ContactData, HolderData, ImapServer, SeedAccountRequest, SeedMailbox};

const ADDRESS: &str = "m6-host@pec.sandbox.test";
const PASSWORD: &str = "Test-Password-9";

/// The app's folders one level down in `root`, so `root` itself is not a configuration root
/// and a backup folder in it can be offered.
async fn core(root: &std::path::Path) -> Core {
    let dirs = Dirs {
        config: root.join("config/it.pecdesktop.app"),
        data: root.join("data/it.pecdesktop.app"),
        log: root.join("data/it.pecdesktop.app/logs"),
    };
    let data = dirs.data.clone();
    let mut core = Core::new(dirs, None);
    let provider = Provider::embedded(&data).await.unwrap();
    let vault = pec_vault::Vault::with_store(keyring_core::mock::Store::new().unwrap(), APP_ID);
    core.conn = Connection::ready(Ok(provider), Ok(vault));
    core
}

fn code(e: &pec_app_core::AppError) -> String {
    e.to_localized().code
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_connects_only_to_the_imap_host_the_provider_publishes() {
    let tmp = tempfile::Builder::new()
        .prefix("m6-host-")
        .tempdir()
        .unwrap();
    let core = core(tmp.path()).await;
    // A mailbox whose IMAPS server, as its provider publishes it, is this machine's
    // `localhost` (nothing listens on port 9, so a started run fails at the connection).
    let client = core.conn.client().await.unwrap();
    let seeded = client
        .sandbox_seed_account(&SeedAccountRequest {
            password: PASSWORD.into(),
            mailboxes: vec![SeedMailbox {
                address: ADDRESS.into(),
                holder: HolderData::PrivateCitizen {
                    first_name: "Mario".into(),
                    last_name: "Rossi".into(),
                    tax_code: "RSSMRA45C12F205C".into(),
                },
                contact: ContactData {
                    email: "m6-host@example.com".into(),
                    mobile: None,
                },
                imap: Some(ImapServer {
                    host: "localhost".into(),
                    port: 9,
                }),
            }],
        })
        .await
        .unwrap();
    session::sign_in(&core, &seeded.account_id, PASSWORD, None)
        .await
        .unwrap();

    let d = backup::defaults(&core, ADDRESS, Some(&tmp.path().join("Documenti"))).unwrap();
    let token = d.dest.expect("the suggested folder is offered").token;
    let form = |host: &str| BackupRequest {
        address: ADDRESS.into(),
        host: host.into(),
        port: 9,
        user: None,
        dest: token.clone(),
    };
    // Before the provider has listed the mailbox, no host at all is a server.
    assert_eq!(d.host, None);
    let e = backup::start(&core, &form("localhost"), "x".to_owned().into(), |_| {}).unwrap_err();
    assert_eq!(code(&e), "backup.server_unknown");

    // The list says where the mailbox is read; the form starts with it.
    let list = mailboxes::list(&core).await.unwrap();
    assert_eq!(
        list[0].imap,
        ImapServer {
            host: "localhost".into(),
            port: 9
        }
    );
    let d = backup::defaults(&core, ADDRESS, None).unwrap();
    assert_eq!((d.host.as_deref(), d.port), (Some("localhost"), 9));

    // What a compromised page would send: another host, even another name of this machine.
    for host in [
        "imap.attacker.example",
        "127.0.0.1",
        "localhost.attacker.example",
    ] {
        let e = backup::start(&core, &form(host), "x".to_owned().into(), |_| {}).unwrap_err();
        assert_eq!(code(&e), "backup.server_not_published", "{host}");
        let text = e.to_localized();
        assert!(text.message_it.contains("localhost"), "{}", text.message_it);
        assert!(text.message_en.contains("localhost"), "{}", text.message_en);
    }
    assert!(
        core.settings.get().backup_servers.is_empty(),
        "a refused form is not remembered"
    );

    // The published host starts the run, which then finds nothing listening.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    backup::start(
        &core,
        &form("LOCALHOST."),
        "x".to_owned().into(),
        move |e| {
            let _ = tx.send(e);
        },
    )
    .unwrap();
    let failed = loop {
        match rx.recv().await.expect("an outcome") {
            BackupEvent::Failed { error } => break error.code,
            BackupEvent::Finished { .. } => panic!("nothing listens on port 9"),
            BackupEvent::Progress(_) => {}
        }
    };
    assert!(!failed.starts_with("backup.server_"), "{failed}");

    // Another account's list replaces this one: its mailboxes are read from the sandbox's
    // published server, and the first account's mailbox has no server any more.
    session::sign_in(
        &core,
        "acc-demo-mario",
        pec_sandbox::seed::DEMO_PASSWORD,
        None,
    )
    .await
    .unwrap();
    let list = mailboxes::list(&core).await.unwrap();
    assert!(!list.is_empty());
    for m in &list {
        assert_eq!(
            (m.imap.host.as_str(), m.imap.port),
            (pec_sandbox::DEFAULT_IMAP_HOST, 993),
            "{}",
            m.address
        );
    }
    let e = backup::start(&core, &form("localhost"), "x".to_owned().into(), |_| {}).unwrap_err();
    assert_eq!(code(&e), "backup.server_unknown");
}
