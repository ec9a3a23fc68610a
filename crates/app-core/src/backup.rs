//! Saving every message of a PEC mailbox over IMAPS to a folder, before the provider ceases
//! it (the renewal notice warns: "la casella PEC sarà cessata e i messaggi NON saranno più
//! recuperabili"). `pec-backup` does the work and checks the options; the core remembers the
//! form per mailbox, runs one backup at a time in the background, and sends its progress (at
//! most every 100 ms) and then its outcome to the front end.
//!
//! The password (for a mailbox with two-step login: an app password) lives in
//! `pec_backup::Password`, is never logged, stored or put in an error. What is remembered per
//! mailbox (server, port, user, folder) holds no secret.
//!
//! The destination never comes from the webview as a path (audit M6): a compromised page
//! must not make the app create folders and drop files anywhere in the home. Rust offers a
//! folder (the one picked in the native dialog, the remembered one, the suggested one), keeps
//! its path and gives the page an opaque [`BackupFolder::token`]; [`start`] takes only a token
//! offered in this run. Hidden folders and the system's configuration folders are refused.
//!
//! Nor does the page choose the server freely (M6 too): a compromised page must not make the
//! app probe or log in to any host with the user's password. The provider publishes each
//! mailbox's IMAPS server in its view ([`pec_provider::api::MailboxView::imap`]); the core
//! keeps what the last mailbox list said ([`learn_servers`]), prefills the form with it and
//! starts a backup only towards that host.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pec_backup::{
    BackupOptions, BackupReport, CancellationToken, Eta, Password, Phase, Progress, checks,
};
use pec_domain::{DomainError, EmailAddress, Localized};
use pec_provider::api::{ImapServer, MailboxView};
use serde::{Deserialize, Serialize};

use crate::error::{UiCode, domain, refusal};
use crate::settings::BackupServer;
use crate::{Core, Result};

/// Longest wait for any one answer from the IMAP server.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Progress goes to the front end at most this often (plus every change of phase or folder
/// and the last message): a mailbox of 50 000 messages must not flood IPC.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// The backup running now, if any: only one at a time, so two runs never write one folder;
/// and the folders offered to the page in this run, by token.
#[derive(Default)]
pub struct Backups {
    running: Arc<Slot>,
    folders: Mutex<HashMap<String, PathBuf>>,
    /// The tokens of the folders a backup of this run finished writing: the only ones
    /// "Apri cartella" opens.
    written: Arc<Mutex<Vec<String>>>,
    next_folder: AtomicU64,
    /// The system's configuration roots (the parents of the app's own config, data and log
    /// folders): never a destination, even when not hidden (`AppData`, `Library`).
    protected: Vec<PathBuf>,
    /// The IMAPS server the provider publishes for each mailbox of the account, by address,
    /// from the last mailbox list: the only host a backup of that mailbox connects to.
    servers: Mutex<HashMap<String, ImapServer>>,
}

impl Backups {
    /// `app_dirs`: the app's config, data and log folders.
    pub fn new(app_dirs: &[&Path]) -> Backups {
        let protected = app_dirs
            .iter()
            .map(|d| d.parent().unwrap_or(d).to_path_buf())
            .collect();
        Backups {
            protected,
            ..Backups::default()
        }
    }
}

/// A folder Rust offers as a destination: the page shows `path` and sends back `token`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BackupFolder {
    pub token: String,
    pub path: String,
}

/// Why a folder cannot be a destination: hidden (a component starting with `.`, such as
/// `~/.config/autostart`) or inside the system's configuration roots.
fn refuse_hidden(path: &Path, protected: &[PathBuf]) -> Result<()> {
    let hidden = path.components().any(|c| match c {
        Component::Normal(name) => name.to_string_lossy().starts_with('.'),
        _ => false,
    });
    if hidden || protected.iter().any(|p| path.starts_with(p)) {
        return Err(refusal(
            "backup.dest_hidden",
            "Non si può salvare in una cartella nascosta o di configurazione del sistema. \
             Scegline un'altra.",
            "Backups cannot go to a hidden or system configuration folder. Pick another one.",
        ));
    }
    Ok(())
}

/// Offers `path` to the page as a destination (after checking it is absolute, not hidden and
/// not a configuration folder): the page gets a token for it.
pub fn offer_folder(core: &Core, path: &Path) -> Result<BackupFolder> {
    let path = checks::dest(&path.to_string_lossy())?;
    refuse_hidden(&path, &core.backups.protected)?;
    let n = core.backups.next_folder.fetch_add(1, Ordering::Relaxed);
    let token = format!("folder-{n}");
    crate::lock(&core.backups.folders).insert(token.clone(), path.clone());
    Ok(BackupFolder {
        token,
        path: path.display().to_string(),
    })
}

/// Remembers the IMAPS server the provider publishes for each mailbox of `list` (the
/// account's mailboxes, as just listed), forgetting those of any earlier list.
pub fn learn_servers(core: &Core, list: &[MailboxView]) {
    let servers = list
        .iter()
        .map(|m| (m.address.to_lowercase(), m.imap.clone()))
        .collect();
    *crate::lock(&core.backups.servers) = servers;
}

/// The server the provider published for `address` in the last mailbox list.
fn published(core: &Core, address: &EmailAddress) -> Option<ImapServer> {
    crate::lock(&core.backups.servers)
        .get(&address.as_str().to_lowercase())
        .cloned()
}

/// The form's host must be the one the provider publishes for the mailbox (names compared
/// as [`checks::host`] writes them: lower case, no trailing dot). The port stays the user's:
/// it reaches nothing but that host.
fn check_published_host(core: &Core, address: &EmailAddress, host: &str) -> Result<()> {
    let Some(server) = published(core, address) else {
        return Err(refusal(
            "backup.server_unknown",
            "Il gestore non ha indicato il server IMAP di questa casella. Torna all'elenco delle \
             caselle e riprova.",
            "The provider has not stated this mailbox's IMAP server. Go back to the list of \
             mailboxes and try again.",
        ));
    };
    if checks::host(&server.host).ok().as_deref() == Some(host) {
        return Ok(());
    }
    Err(refusal(
        "backup.server_not_published",
        &format!(
            "Il server IMAP di questa casella è {}, quello indicato dal gestore: il salvataggio \
             si collega solo a quello.",
            server.host
        ),
        &format!(
            "This mailbox's IMAP server is {}, the one the provider states: the backup connects \
             only to that one.",
            server.host
        ),
    ))
}

/// The path behind a token offered in this run; anything else is refused.
fn offered(core: &Core, token: &str) -> Result<PathBuf> {
    let path = crate::lock(&core.backups.folders).get(token).cloned();
    let path = path.ok_or_else(|| {
        refusal(
            "backup.dest_not_offered",
            "Scegli la cartella con il pulsante «Scegli…».",
            "Choose the folder with the “Choose…” button.",
        )
    })?;
    refuse_hidden(&path, &core.backups.protected)?;
    Ok(path)
}

/// The cancel token of the running backup, with a number that tells runs apart (a run frees
/// the slot only if it still holds it).
#[derive(Default)]
struct Slot {
    current: Mutex<Option<(u64, CancellationToken)>>,
    next: AtomicU64,
}

impl Slot {
    fn release(&self, id: u64) {
        let mut current = crate::lock(&self.current);
        if current.as_ref().is_some_and(|(n, _)| *n == id) {
            *current = None;
        }
    }
}

/// What the backup screen receives: progress, then one `finished` or `failed`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BackupEvent {
    Progress(Progress),
    Finished {
        report: BackupReport,
        /// The folder, as the engine wrote it (absolute).
        dest: String,
        /// Its token, for "Apri cartella" ([`open_folder`]).
        folder: String,
    },
    Failed {
        error: Localized,
    },
}

/// What the form starts with for a mailbox: the last values used for it, else the defaults.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct BackupDefaults {
    /// The IMAPS server the provider publishes for the mailbox (else the last one used; None:
    /// the user types it).
    pub host: Option<String>,
    /// `host` is the provider's published server, the only one a backup goes to: the form
    /// shows it without letting it be changed.
    pub host_published: bool,
    pub port: u16,
    pub user: String,
    /// The folder of the last run (to resume it), else a suggestion in the user's documents;
    /// none when neither can be offered (see [`offer_folder`]).
    pub dest: Option<BackupFolder>,
}

/// The form as typed (the password comes apart, as a secret).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct BackupRequest {
    pub address: String,
    pub host: String,
    pub port: u32,
    /// None or empty: the PEC address.
    pub user: Option<String>,
    /// The [`BackupFolder::token`] of a folder offered in this run, never a path.
    pub dest: String,
}

fn address(text: &str) -> Result<EmailAddress> {
    EmailAddress::parse(text).map_err(|e| domain(&e))
}

/// The form's values for `address`; `documents` is the user's documents folder, if known.
pub fn defaults(
    core: &Core,
    address_text: &str,
    documents: Option<&Path>,
) -> Result<BackupDefaults> {
    let address = address(address_text)?;
    let remembered = core
        .settings
        .get()
        .backup_servers
        .get(address.as_str())
        .cloned();
    // A remembered or suggested folder that cannot be offered leaves the field empty: the
    // user picks one.
    let offer = |path: &str| offer_folder(core, Path::new(path)).ok();
    let published = published(core, &address);
    let mut d = match remembered {
        Some(s) => BackupDefaults {
            dest: offer(&s.dest),
            host: Some(s.host),
            host_published: false,
            port: s.port,
            user: s.user,
        },
        None => BackupDefaults {
            host: None,
            host_published: false,
            port: checks::DEFAULT_PORT,
            user: address.as_str().to_owned(),
            dest: documents
                .map(|d| crate::suggested_backup_dest(d, address.as_str()))
                .and_then(|d| offer(&d)),
        },
    };
    // The provider's server wins over a remembered other one (the only host a backup goes
    // to); its port too, unless the user's last run went to that same host.
    if let Some(server) = published {
        if d.host.as_deref() != checks::host(&server.host).ok().as_deref() {
            d.port = server.port;
        }
        d.host = Some(server.host);
        d.host_published = true;
    }
    Ok(d)
}

/// Checks the form, then starts the backup and returns at once; progress and the outcome go
/// to `send`. Refused while another backup runs.
pub fn start(
    core: &Core,
    form: &BackupRequest,
    mut password: zeroize::Zeroizing<String>,
    send: impl Fn(BackupEvent) + Send + Sync + 'static,
) -> Result<()> {
    // In the form's order, so the first wrong field is the one reported.
    let address = address(&form.address)?;
    let user = form.user.as_deref();
    let host = checks::host(&form.host)?;
    check_published_host(core, &address, &host)?;
    checks::port(form.port)?;
    checks::user(user, address.as_str())?;
    let password = Password::checked(std::mem::take(&mut *password))?;
    let dest = offered(core, &form.dest)?;
    let mut opts = BackupOptions::checked(&form.host, form.port, user, address.as_str(), &dest)?;
    opts.timeout = TIMEOUT;

    let slot = core.backups.running.clone();
    let (id, cancel) = {
        let mut running = crate::lock(&slot.current);
        if running.is_some() {
            return Err(refusal(
                UiCode::BackupBusy.as_str(),
                "È già in corso un salvataggio: attendi che finisca o interrompilo.",
                "A backup is already running: wait for it to finish or stop it.",
            ));
        }
        let id = slot.next.fetch_add(1, Ordering::Relaxed);
        let token = CancellationToken::new();
        *running = Some((id, token.clone()));
        (id, token)
    };

    // Remembered before the run, so a wrong password or a lost connection does not make the
    // user type the server again. A failure to save is logged, not fatal: the backup matters.
    let remember = BackupServer {
        host: opts.host.clone(),
        port: opts.port,
        user: opts.user.clone(),
        dest: opts.dest.display().to_string(),
    };
    if let Err(e) = core.settings.update(|s| {
        s.backup_servers
            .insert(address.as_str().to_owned(), remember);
    }) {
        tracing::warn!(error = %e, "could not remember the backup server");
    }
    // Neither the mailbox nor the folder (whose path names the user): personal data.
    tracing::info!(
        server = %format!("{}:{}", opts.host, opts.port),
        "mailbox backup started"
    );
    let folder = form.dest.clone();
    let written = Arc::clone(&core.backups.written);
    let reminders = Arc::clone(&core.reminders);
    tokio::spawn(async move {
        let mut outcome = run(opts, password, &cancel, &send).await;
        // Free before telling the screen, so "start again" right after the outcome works.
        slot.release(id);
        if let BackupEvent::Finished {
            report,
            folder: token,
            ..
        } = &mut outcome
        {
            token.clone_from(&folder);
            crate::lock(&written).push(folder.clone());
            reminders.queue(crate::reminders::backup_finished(
                address.as_str(),
                &folder,
                report.downloaded,
            ));
        }
        send(outcome);
    });
    Ok(())
}

/// How far the run is, in percent, for the taskbar and the dock: one bar for the whole run,
/// which never goes back. Saving fills it to [`SAVED_PERCENT`] (by bytes when the server gave
/// the sizes, else by messages); re-reading the saved files, much quicker, fills the rest.
/// `None` while it cannot say (listing the folders).
pub fn percent(p: &Progress) -> Option<u64> {
    let share = |done: u64, total: u64, of: u64| (done.min(total) * of) / total;
    match p.phase {
        Phase::Saving if p.bytes_total > 0 => Some(share(p.bytes, p.bytes_total, SAVED_PERCENT)),
        Phase::Saving => (p.total > 0).then(|| share(p.done, p.total, SAVED_PERCENT)),
        Phase::Verifying if p.total > 0 => {
            Some(SAVED_PERCENT + share(p.done, p.total, 100 - SAVED_PERCENT))
        }
        Phase::Verifying => Some(100),
        Phase::Listing => None,
    }
}

/// Where the bar stands once every message is saved and the check begins.
pub const SAVED_PERCENT: u64 = 90;

/// The folder of token `folder`, to open in the file manager: only one a backup of this run
/// finished writing (the page cannot name a path, nor open any other offered folder).
pub fn open_folder(core: &Core, folder: &str) -> Result<PathBuf> {
    let written = crate::lock(&core.backups.written)
        .iter()
        .any(|t| t == folder);
    if !written {
        return Err(refusal(
            "backup.folder_not_written",
            "Questa cartella non è quella di un salvataggio completato.",
            "This folder is not that of a finished backup.",
        ));
    }
    offered(core, folder)
}

/// The refusal of a picked folder that is not on this computer (a portal's virtual path).
pub fn not_local() -> crate::AppError {
    refusal(
        "backup.dest_not_local",
        "La cartella scelta non è una cartella di questo computer. Scegline un'altra.",
        "The chosen folder is not a folder on this computer. Pick another one.",
    )
}

/// Stops the running backup (between two messages); what was saved stays, and a new start
/// into the same folder resumes. True when there was one to stop.
pub fn cancel(core: &Core) -> bool {
    match crate::lock(&core.backups.running.current).as_ref() {
        Some((_, token)) => {
            token.cancel();
            tracing::info!("mailbox backup: stop requested");
            true
        }
        None => false,
    }
}

async fn run(
    opts: BackupOptions,
    password: Password,
    cancel: &CancellationToken,
    send: &(impl Fn(BackupEvent) + Send + Sync),
) -> BackupEvent {
    let mut last: Option<(Phase, Option<String>, Instant)> = None;
    let mut eta = Eta::new();
    let mut progress = |p: &Progress| {
        let now = Instant::now();
        let estimate = eta.update(p, now);
        let due = match &last {
            None => true,
            Some((phase, folder, at)) => {
                *phase != p.phase
                    || *folder != p.folder
                    || p.done >= p.total
                    || now.duration_since(*at) >= PROGRESS_EVERY
            }
        };
        if due {
            last = Some((p.phase, p.folder.clone(), now));
            let mut p = p.clone();
            p.eta_seconds = estimate;
            send(BackupEvent::Progress(p));
        }
    };
    let outcome = pec_backup::backup(&opts, &password, &mut progress, cancel).await;
    drop(password);
    match outcome {
        Ok(report) => BackupEvent::Finished {
            report,
            dest: opts.dest.display().to_string(),
            folder: String::new(),
        },
        Err(e) => {
            tracing::warn!(code = e.code(), "mailbox backup failed");
            BackupEvent::Failed {
                error: e.to_localized(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_with_a_kind() {
        let p = BackupEvent::Progress(Progress {
            phase: Phase::Saving,
            done: 3,
            total: 10,
            bytes: 1200,
            bytes_total: 4800,
            eta_seconds: Some(42),
            folder: Some("INBOX".into()),
        });
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["kind"], "progress");
        assert_eq!(json["phase"], "saving");
        assert_eq!(json["folder"], "INBOX");
        assert_eq!(json["bytes_total"], 4800);
        assert_eq!(json["eta_seconds"], 42);
        let f = BackupEvent::Failed {
            error: pec_backup::BackupError::AuthFailed.to_localized(),
        };
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["kind"], "failed");
        assert_eq!(json["error"]["code"], "backup.auth_failed");
    }

    #[test]
    fn the_taskbar_fills_one_bar_by_bytes_then_files_and_never_goes_back() {
        let mut p = Progress {
            phase: Phase::Listing,
            done: 0,
            total: 0,
            bytes: 0,
            bytes_total: 0,
            eta_seconds: None,
            folder: None,
        };
        assert_eq!(percent(&p), None);
        p.phase = Phase::Saving;
        p.done = 1;
        p.total = 4;
        assert_eq!(
            percent(&p),
            Some(22),
            "messages, when the server gave no sizes: a quarter of the saving's 90"
        );
        p.bytes = 750;
        p.bytes_total = 1000;
        assert_eq!(percent(&p), Some(67));
        p.bytes = 1200;
        assert_eq!(
            percent(&p),
            Some(SAVED_PERCENT),
            "never past the saving's part"
        );
        p.phase = Phase::Verifying;
        p.done = 0;
        p.total = 6;
        assert_eq!(
            percent(&p),
            Some(SAVED_PERCENT),
            "the check starts where saving ended"
        );
        p.done = 3;
        assert_eq!(percent(&p), Some(95));
        p.done = 6;
        assert_eq!(percent(&p), Some(100));
        p.total = 0;
        p.done = 0;
        assert_eq!(percent(&p), Some(100), "nothing to check: done");
    }

    /// A core whose app folders live in `root` (not hidden: tempfile's default `.tmp` prefix
    /// would make every folder in it refused), and whose provider published 127.0.0.1 as the
    /// IMAPS server of mario.rossi@pec.example.it.
    fn core_in(root: &Path) -> Core {
        let core = Core::new(
            crate::Dirs {
                config: root.join("config/it.pecdesktop.app"),
                data: root.join("data/it.pecdesktop.app"),
                log: root.join("data/it.pecdesktop.app/logs"),
            },
            None,
        );
        publish(&core, "mario.rossi@pec.example.it", "127.0.0.1", 993);
        core
    }

    fn publish(core: &Core, address: &str, host: &str, port: u16) {
        crate::lock(&core.backups.servers).insert(
            address.into(),
            ImapServer {
                host: host.into(),
                port,
            },
        );
    }

    /// Port 9: nothing listens, so a started run fails at the connection, after the checks.
    fn form(dest: &str) -> BackupRequest {
        BackupRequest {
            address: "mario.rossi@pec.example.it".into(),
            host: "127.0.0.1".into(),
            port: 9,
            user: None,
            dest: dest.into(),
        }
    }

    /// Audit M6, the server half: the host is the one the provider published for the mailbox,
    /// and the form starts with it.
    #[tokio::test]
    async fn only_the_published_imap_host_is_a_server() {
        let tmp = tempfile::Builder::new().prefix("m6-").tempdir().unwrap();
        let core = core_in(tmp.path());
        publish(&core, "mario.rossi@pec.example.it", "LocalHost", 9);
        let d = defaults(
            &core,
            "mario.rossi@pec.example.it",
            Some(&tmp.path().join("Doc")),
        )
        .unwrap();
        assert_eq!(d.host.as_deref(), Some("LocalHost"));
        assert!(d.host_published, "the form shows it as the provider's");
        assert_eq!(d.port, 9);
        let token = d.dest.unwrap().token;
        // Not even another name of the same machine: the page gets the provider's word only.
        for host in [
            "imap.attacker.example",
            "127.0.0.1",
            "localhost.attacker.example",
        ] {
            let mut f = form(&token);
            f.host = host.into();
            let e = start(&core, &f, "x".to_owned().into(), |_| {}).unwrap_err();
            assert_eq!(code(&e), "backup.server_not_published", "{host}");
            assert!(
                e.to_localized().message_it.contains("LocalHost"),
                "the message names the provider's server"
            );
        }
        assert!(
            core.settings.get().backup_servers.is_empty(),
            "nothing remembered from a refused form"
        );
        // A mailbox the last list did not hold has no server at all.
        let mut f = form(&token);
        f.address = "altra@pec.example.it".into();
        let e = start(&core, &f, "x".to_owned().into(), |_| {}).unwrap_err();
        assert_eq!(code(&e), "backup.server_unknown");
        // The published name, however it is spelt, passes (the run then finds nothing on
        // port 9).
        let mut f = form(&token);
        f.host = "LOCALHOST.".into();
        start(&core, &f, "x".to_owned().into(), |_| {}).unwrap();
    }

    fn code(e: &crate::AppError) -> String {
        e.to_localized().code
    }

    /// Audit M6: the page cannot name a path, only a folder Rust offered in this run.
    #[tokio::test]
    async fn only_a_folder_offered_in_this_run_is_a_destination() {
        let tmp = tempfile::Builder::new().prefix("m6-").tempdir().unwrap();
        let root = tmp.path();
        let core = core_in(root);
        let autostart = root.join("home/.config/autostart");
        let elsewhere = root.join("home/anywhere");
        for dest in [
            autostart.display().to_string(),
            elsewhere.display().to_string(),
            "folder-0".into(),
        ] {
            let e = start(&core, &form(&dest), "x".to_owned().into(), |_| {}).unwrap_err();
            assert_eq!(code(&e), "backup.dest_not_offered", "{dest}");
        }
        assert!(
            !autostart.exists() && !elsewhere.exists(),
            "nothing was created"
        );

        // Hidden folders and the system's configuration roots are never offered.
        for refused in [
            autostart.clone(),
            root.join("config/other-app"),
            root.join("data/PEC"),
        ] {
            let e = offer_folder(&core, &refused).unwrap_err();
            assert_eq!(code(&e), "backup.dest_hidden", "{}", refused.display());
        }

        // The suggested folder comes with a token, and the token starts the backup.
        let d = defaults(
            &core,
            "mario.rossi@pec.example.it",
            Some(&root.join("Documenti")),
        )
        .unwrap();
        let offered = d.dest.expect("the suggestion is offered");
        assert_eq!(
            offered.path,
            root.join("Documenti/PEC/mario.rossi@pec.example.it")
                .display()
                .to_string()
        );
        assert_ne!(offered.token, offered.path);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut f = form(&offered.token);
        f.host = "127.0.0.1".into();
        f.port = 9; // nothing listens: the run fails at the connection, after the checks
        start(&core, &f, "x".to_owned().into(), move |e| {
            let _ = tx.send(e);
        })
        .unwrap();
        while let Some(event) = rx.recv().await {
            if let BackupEvent::Failed { error } = event {
                assert!(!error.code.starts_with("backup.dest"), "{}", error.code);
                break;
            }
        }
        // The remembered folder is offered again (with a new token) next time.
        let again = defaults(&core, "mario.rossi@pec.example.it", None).unwrap();
        assert_eq!(again.dest.unwrap().path, offered.path);

        // "Apri cartella" opens only a folder a finished backup wrote: not this failed one,
        // not a token never offered.
        for token in [offered.token.as_str(), "folder-999"] {
            let e = open_folder(&core, token).unwrap_err();
            assert_eq!(code(&e), "backup.folder_not_written", "{token}");
        }
        crate::lock(&core.backups.written).push(offered.token.clone());
        assert_eq!(
            open_folder(&core, &offered.token)
                .unwrap()
                .display()
                .to_string(),
            offered.path
        );
    }

    /// Audit L6: the log file holds no personal data, so neither the mailbox nor the
    /// folder (whose path names the user and the mailbox).
    #[tokio::test]
    async fn starting_a_backup_logs_neither_the_mailbox_nor_the_folder() {
        let tmp = tempfile::Builder::new().prefix("l6-").tempdir().unwrap();
        let core = core_in(tmp.path());
        let d = defaults(
            &core,
            "mario.rossi@pec.example.it",
            Some(&tmp.path().join("Doc")),
        )
        .unwrap();
        let mut f = form(&d.dest.unwrap().token);
        f.host = "127.0.0.1".into();
        f.port = 9;
        let (log, guard) = crate::test_log::capture();
        start(&core, &f, "x".to_owned().into(), |_| {}).unwrap();
        drop(guard);
        let text = log.text();
        assert!(text.contains("mailbox backup started"), "{text}");
        assert!(!text.contains("mario.rossi"), "{text}");
        assert!(!text.contains(&tmp.path().display().to_string()), "{text}");
    }

    #[test]
    fn the_suggested_folder_is_per_mailbox() {
        let d = crate::suggested_backup_dest(Path::new("/home/mario/Documenti"), "a@pec.it");
        assert_eq!(d, "/home/mario/Documenti/PEC/a@pec.it");
    }
}
