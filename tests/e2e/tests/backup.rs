//! The mailbox backup (save the messages before a mailbox is ceased),
//! through the real window and a real IMAPS server: the test rig's Dovecot
//! (`scripts/rig/dovecot.sh`), whose throwaway CA the app trusts only because the rig gives
//! tauri-driver `SSL_CERT_FILE` (scripts/lib/services.sh). A wrong password first, then a
//! backup into a folder that does not exist yet, checked on disk, then a second run into the
//! same folder that resumes. The progress also reaches the desktop's dock: what the test reads
//! on the rig's session bus is what a Linux dock would show.

// Helpers outside `#[test]` functions: here a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pec_e2e::{Rig, Session};
use serde_json::{Value, json};

mod common;
use common::*;

/// The Dovecot rig's settings, as `dovecot_rig_start` exported them.
struct Imap {
    host: String,
    port: String,
    password: String,
    test_domain: String,
    rig_dir: String,
    rig_script: String,
}

impl Imap {
    fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!(
                    "{name} is not set: the backup end-to-end test needs the Dovecot IMAP rig, \
                     which the project's test command (./scripts/test.sh) starts before the \
                     end-to-end tests"
                )
            })
        };
        assert_eq!(var("PEC_IMAP_RIG"), "1", "PEC_IMAP_RIG must be 1");
        let addr = var("PEC_IMAP_ADDR");
        let (host, port) = addr.rsplit_once(':').expect("PEC_IMAP_ADDR is host:port");
        Self {
            host: host.to_owned(),
            port: port.to_owned(),
            password: var("PEC_IMAP_PASSWORD"),
            test_domain: var("PEC_IMAP_TEST_DOMAIN"),
            rig_dir: var("PEC_IMAP_RIG_DIR"),
            rig_script: var("PEC_IMAP_RIG_SCRIPT"),
        }
    }

    /// Stores `files` in `folder` of `user`'s mailbox with the rig's `dovecot_rig_seed`
    /// (`doveadm save`, as the server itself would deliver them).
    fn seed(&self, user: &str, folder: &str, files: &[PathBuf]) {
        let status = Command::new("bash")
            .arg("-c")
            .arg(r#". "$0"; DOVECOT_RIG_USER="$1" dovecot_rig_seed "$2" "$3" "${@:4}""#)
            .arg(&self.rig_script)
            .arg(user)
            .arg(&self.rig_dir)
            .arg(folder)
            .args(files)
            .status()
            .expect("bash runs");
        assert!(status.success(), "dovecot_rig_seed failed for {folder}");
    }
}

/// PEC-shaped messages (RFC 6109 §3): a transport envelope, the acceptance receipt of a sent
/// message and its delivery receipt. Bodies are short: the backup reads headers.
fn pec_message(to: &str, subject: &str, id: &str, pec_header: &str) -> String {
    format!(
        "From: posta-certificata@pec.example.it\r\n\
         To: {to}\r\n\
         Subject: {subject}\r\n\
         Date: Mon, 16 Nov 2026 10:00:00 +0100\r\n\
         Message-ID: <{id}@pec.example.it>\r\n\
         {pec_header}\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         {subject}\r\n"
    )
}

fn backup_step(app: &Session, step: &str) {
    screen_step(app, "backup", step, Duration::from_secs(90));
}

fn attr(app: &Session, css: &str, name: &str) -> String {
    let e = app.wait_for(css).unwrap();
    app.attribute(&e, name).unwrap().unwrap_or_default()
}

/// Every `.eml` file under `dir`, recursively.
fn eml_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "eml") {
                found.push(path);
            }
        }
    }
    found
}

/// Starts the backup with the form as filled and `password`.
/// What a dock read of the app's progress: `(app_uri, progress, progress-visible)`.
type DockUpdates = Arc<Mutex<Vec<(String, Option<f64>, bool)>>>;

/// Listens, from now on, to the `com.canonical.Unity.LauncherEntry.Update` signals on the
/// rig's session bus, as Ubuntu's dock or KDE's task manager do.
fn dock_listener() -> DockUpdates {
    use zbus::zvariant::{OwnedValue, Value};
    let seen = DockUpdates::default();
    let conn = zbus::blocking::Connection::session().unwrap();
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface("com.canonical.Unity.LauncherEntry")
        .unwrap()
        .member("Update")
        .unwrap()
        .build();
    let updates = zbus::blocking::MessageIterator::for_match_rule(rule, &conn, None).unwrap();
    let out = Arc::clone(&seen);
    std::thread::spawn(move || {
        for message in updates.flatten() {
            let Ok((uri, properties)) = message
                .body()
                .deserialize::<(String, HashMap<String, OwnedValue>)>()
            else {
                continue;
            };
            let progress = match properties.get("progress").map(|v| &**v) {
                Some(Value::F64(x)) => Some(*x),
                _ => None,
            };
            let visible = matches!(
                properties.get("progress-visible").map(|v| &**v),
                Some(Value::Bool(true))
            );
            out.lock().unwrap().push((uri, progress, visible));
        }
    });
    seen
}

fn start_with(app: &Session, password: &str) {
    fill(app, "backup-password", password);
    app.click_when_ready("[data-testid=backup-start]").unwrap();
}

#[test]
fn a_mailbox_is_saved_as_eml_files_with_an_index_and_a_second_run_resumes() {
    let rig = Rig::from_env();
    let imap = Imap::from_env();
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    // The PEC address is also the IMAP user: the rig gives every user of its test domain an
    // empty mailbox with its password, so this run's mailbox is its own.
    let address = format!("e2e-backup-{n}@{}", imap.test_domain);
    let work = std::env::temp_dir().join(format!("pec-e2e-backup-{n}"));
    let seed_dir = work.join("seed");
    std::fs::create_dir_all(&seed_dir).unwrap();
    let write = |name: &str, text: String| {
        let path = seed_dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let envelope = write(
        "envelope.eml",
        pec_message(
            &address,
            "POSTA CERTIFICATA: Fattura 12/2026",
            "opec-1",
            "X-Trasporto: posta-certificata",
        ),
    );
    let accepted = write(
        "accettazione.eml",
        pec_message(
            &address,
            "ACCETTAZIONE: Preventivo",
            "opec-2",
            "X-Ricevuta: accettazione\r\nX-Riferimento-Message-ID: <sent-1@pec.example.it>",
        ),
    );
    let delivered = write(
        "consegna.eml",
        pec_message(
            &address,
            "CONSEGNA: Preventivo",
            "opec-3",
            "X-Ricevuta: avvenuta-consegna\r\nX-Riferimento-Message-ID: <sent-1@pec.example.it>",
        ),
    );
    imap.seed(&address, "INBOX", &[envelope, accepted]);
    imap.seed(&address, "Ricevute", &[delivered]);

    // The provider's side: an account whose one mailbox is that address, read over IMAPS
    // from the rig's Dovecot (the provider publishes the server; the app backs up only from it).
    let app = rig.launch().expect("app window starts");
    signed_out(&app);
    let sandbox = Sandbox::of(&rig);
    let account = sandbox.post(
        "/sandbox/accounts",
        json!({
            "password": PASSWORD,
            "mailboxes": [{
                "address": address,
                "holder": private_citizen("Mario", "Rossi", "RSSMRA45C12F205C"),
                "contact": { "email": format!("e2e-backup-{n}@example.com") },
                "imap": { "host": imap.host, "port": imap.port.parse::<u16>().unwrap() }
            }]
        }),
    );
    sign_in(&app, account["account_id"].as_str().unwrap());

    // The folder cannot be typed (audit M6): Rust offers the suggested one, in the user's
    // documents, which the XDG user-dirs file of the app's private home puts in the rig
    // (scripts/lib/services.sh). The backup's own folder does not exist yet: the app creates it.
    let documents = rig.app_home.join("documents");
    let dest = documents.join("PEC").join(&address);

    // From the mailbox page to the backup form, prefilled with the PEC address as user.
    app.click_when_ready("[data-testid=backup-open]").unwrap();
    backup_step(&app, "form");
    let user = app.wait_for("[data-testid=backup-user]").unwrap();
    let limit = Instant::now() + Duration::from_secs(30);
    while app.value(&user).unwrap() != address {
        assert!(Instant::now() < limit, "the form was not prefilled");
        std::thread::sleep(Duration::from_millis(100));
    }
    shot_fit(&app, &rig, "backup-1-form.png");
    // The server comes from the provider, prefilled.
    let host = app.find("[data-testid=backup-host]").unwrap();
    assert_eq!(app.value(&host).unwrap(), imap.host);
    let port = app.find("[data-testid=backup-port]").unwrap();
    assert_eq!(app.value(&port).unwrap(), imap.port);

    // It is shown, not typed: another server would be refused before anything connects
    // (audit M6; app-core's backup tests send one as a compromised page could).
    assert_eq!(
        attr(&app, "[data-testid=backup-host]", "readonly"),
        "true",
        "the provider's server is not typed"
    );
    fill(&app, "backup-port", &imap.port);
    fill(&app, "backup-user", &address);
    let shown = app.find("[data-testid=backup-dest]").unwrap();
    assert_eq!(app.value(&shown).unwrap(), dest.display().to_string());
    assert_eq!(
        attr(&app, "[data-testid=backup-dest]", "readonly"),
        "true",
        "the folder is not typed"
    );

    // The webmail password of a mailbox with two-step login would be refused like this.
    start_with(&app, "not-the-app-password");
    let code = app
        .wait_for_text("[data-testid=backup-error]", "the refusal", |t| {
            t.contains("password per le app")
        })
        .map(|_| attr(&app, "[data-testid=backup-error]", "data-code"))
        .unwrap();
    assert_eq!(code, "backup.auth_failed");
    backup_step(&app, "form");
    shot_fit(&app, &rig, "backup-2-wrong-password.png");

    let dock = dock_listener();
    start_with(&app, &imap.password);
    backup_step(&app, "done");
    shot_fit(&app, &rig, "backup-3-done.png");

    // The dock showed the run's progress on the app's icon, and shows nothing once it is over.
    let limit = Instant::now() + Duration::from_secs(10);
    while dock
        .lock()
        .unwrap()
        .last()
        .is_none_or(|(_, _, visible)| *visible)
    {
        assert!(
            Instant::now() < limit,
            "the dock's bar is still shown after the run: {:?}",
            dock.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    {
        let updates = dock.lock().unwrap();
        assert!(
            updates
                .iter()
                .all(|(uri, _, _)| uri == "application://PEC Desktop.desktop"),
            "{updates:?}"
        );
        let shown: Vec<f64> = updates
            .iter()
            .filter(|(_, _, visible)| *visible)
            .filter_map(|(_, progress, _)| *progress)
            .collect();
        assert!(
            !shown.is_empty(),
            "no progress reached the dock: {updates:?}"
        );
        assert!(
            shown.iter().all(|p| (0.0..=1.0).contains(p)) && shown.is_sorted(),
            "{shown:?}"
        );
    }
    assert_eq!(
        attr(&app, "[data-testid=backup-result]", "data-verified"),
        "true"
    );
    assert_eq!(
        attr(&app, "[data-testid=backup-downloaded]", "data-count"),
        "3"
    );
    assert_eq!(
        attr(&app, "[data-testid=backup-already]", "data-count"),
        "0"
    );
    let rows: Value = app
        .execute(
            "return [...document.querySelectorAll('[data-testid=backup-folder-row]')]\
             .map(r => [r.dataset.folder, Number(r.dataset.server), Number(r.dataset.saved)])",
            json!([]),
        )
        .unwrap();
    assert_eq!(rows, json!([["INBOX", 2, 2], ["Ricevute", 1, 1]]), "{rows}");
    let where_text = app
        .text(&app.find("[data-testid=backup-where]").unwrap())
        .unwrap();
    assert!(
        where_text.contains(&dest.display().to_string()) && where_text.contains("index.json"),
        "{where_text}"
    );

    // On disk: three .eml files, and the index with the PEC type read from each one's headers.
    let emls = eml_files(&dest.join("messages"));
    assert_eq!(emls.len(), 3, "{emls:?}");
    let index: Value =
        serde_json::from_slice(&std::fs::read(dest.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["format"], "pec-backup-index/1");
    assert_eq!(index["user"], address.as_str());
    let messages = index["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3);
    let mut types: Vec<&str> = messages
        .iter()
        .map(|m| m["pec_type"].as_str().unwrap())
        .collect();
    types.sort_unstable();
    assert_eq!(
        types,
        ["accettazione", "avvenuta-consegna", "posta-certificata"]
    );
    for m in messages {
        let file = dest.join(m["file"].as_str().unwrap());
        assert!(file.is_file(), "{}", file.display());
        assert_eq!(
            std::fs::metadata(&file).unwrap().len(),
            m["size"].as_u64().unwrap()
        );
    }
    assert!(messages.iter().any(|m| {
        m["subject"] == "POSTA CERTIFICATA: Fattura 12/2026"
            && m["from"]
                .as_str()
                .is_some_and(|f| f.contains("posta-certificata@pec.example.it"))
    }));

    // Again into the same folder: nothing new to download, all three already saved.
    app.click_when_ready("[data-testid=backup-again]").unwrap();
    backup_step(&app, "form");
    start_with(&app, &imap.password);
    backup_step(&app, "done");
    assert_eq!(
        attr(&app, "[data-testid=backup-downloaded]", "data-count"),
        "0"
    );
    assert_eq!(
        attr(&app, "[data-testid=backup-already]", "data-count"),
        "3"
    );
    app.wait_for_text("[data-testid=backup-resumed]", "the resume notice", |t| {
        t.contains("3 messaggi erano già salvati")
    })
    .unwrap();
    shot_fit(&app, &rig, "backup-4-resumed.png");
    assert_eq!(eml_files(&dest.join("messages")).len(), 3);

    // The password is never written anywhere the app keeps things, nor logged.
    let logs = rig.logs();
    assert!(
        !logs.contains(&imap.password),
        "the password is in the logs"
    );
    let settings =
        std::fs::read_to_string(rig.app_home.join("config/it.pecdesktop.app/settings.json"))
            .unwrap_or_default();
    assert!(!settings.contains(&imap.password));
    // What is remembered for the next time: server and folder of this mailbox.
    assert!(
        settings.contains(&address) && settings.contains(&imap.host),
        "{settings}"
    );

    let _ = std::fs::remove_dir_all(&work);
}
