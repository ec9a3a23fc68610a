//! The mailbox backup screen's commands: save every message of a PEC mailbox over IMAPS to a
//! folder the user picks, before the provider ceases it (seed 004: "la casella PEC sarà
//! cessata e i messaggi NON saranno più recuperabili"). `crates/backup` does the work; this
//! module checks what the webview sent, runs one backup at a time, streams its progress over a
//! `Channel`, and maps its errors.
//!
//! The password (for a mailbox with two-step login: an app password) crosses IPC once, lives in
//! `Zeroizing` and then in `pec_backup::Password`, and is never logged, stored or put in an
//! error. What is remembered per mailbox (server, port, user, folder) holds no secret.
//!
//! The folder picker is the native dialog, opened from Rust: the webview has no dialog
//! permission, and the chosen path comes back as this command's answer.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pec_backup::{BackupOptions, BackupReport, CancellationToken, Password, Phase, Progress};
use pec_domain::{DomainError, EmailAddress, Lang, Localized};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{Manager, State};
use zeroize::Zeroizing;

use crate::error::{domain, localized};
use crate::settings::BackupServer;
use crate::{CommandError, SettingsStore};

/// The IMAPS port PEC providers publish (implicit TLS).
pub const DEFAULT_PORT: u16 = 993;

/// Longest wait for any one answer from the IMAP server.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Progress goes to the webview at most this often (plus every change of phase or folder and
/// the last message): a mailbox of 50 000 messages must not flood IPC.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// The backup running now, if any: only one at a time, so two runs never write one folder.
#[derive(Default)]
pub struct Backups {
    running: Arc<Slot>,
}

/// The cancel token of the running backup, with a number that tells runs apart.
#[derive(Default)]
struct Slot {
    current: Mutex<Option<(u64, CancellationToken)>>,
    next: AtomicU64,
}

impl Slot {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(u64, CancellationToken)>> {
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Frees the slot, if it still holds run `id`.
    fn release(&self, id: u64) {
        let mut current = self.lock();
        if current.as_ref().is_some_and(|(n, _)| *n == id) {
            *current = None;
        }
    }
}

/// What the backup screen receives on its channel: progress, then one `finished` or `failed`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BackupEvent {
    Progress(Progress),
    Finished {
        report: BackupReport,
        /// The folder, as the engine wrote it (absolute).
        dest: String,
    },
    Failed {
        error: Localized,
    },
}

/// What the form starts with for a mailbox: the last values used for it, else the defaults.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BackupDefaults {
    /// None: the user types the provider's IMAPS server (e.g. imaps.pec.example.it).
    pub host: Option<String>,
    pub port: u16,
    pub user: String,
    /// The folder of the last run (to resume it), else a suggestion in the user's documents.
    pub dest: Option<String>,
}

/// The form's values for `address`.
#[tauri::command]
pub fn backup_defaults(
    app: tauri::AppHandle,
    store: State<'_, SettingsStore>,
    address: String,
) -> Result<BackupDefaults, CommandError> {
    let address = parse_address(&address)?;
    let remembered = store.get().backup_servers.get(address.as_str()).cloned();
    Ok(match remembered {
        Some(s) => BackupDefaults {
            host: Some(s.host),
            port: s.port,
            user: s.user,
            dest: Some(s.dest),
        },
        None => BackupDefaults {
            host: None,
            port: DEFAULT_PORT,
            user: address.as_str().to_owned(),
            dest: app
                .path()
                .document_dir()
                .ok()
                .map(|d| suggested_dest(&d, address.as_str())),
        },
    })
}

/// Starts a backup of `address`'s mailbox into `dest` and returns at once; progress and the
/// outcome arrive on `channel`. Refused while another backup runs.
#[allow(clippy::too_many_arguments)] // one argument per field of the form
#[tauri::command]
pub async fn backup_start(
    backups: State<'_, Backups>,
    store: State<'_, SettingsStore>,
    address: String,
    host: String,
    port: u32,
    user: Option<String>,
    mut password: Zeroizing<String>,
    dest: String,
    channel: Channel<BackupEvent>,
) -> Result<(), CommandError> {
    let address = parse_address(&address)?;
    let host = parse_host(&host)?;
    let port = parse_port(port)?;
    let user = parse_user(user.as_deref(), address.as_str())?;
    check_password(&password)?;
    let dest = prepare_dest(&dest)?;

    let slot = backups.running.clone();
    let (id, cancel) = {
        let mut running = slot.lock();
        if running.is_some() {
            return Err(localized(
                "backup.busy",
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
        host: host.clone(),
        port,
        user: user.clone(),
        dest: dest.display().to_string(),
    };
    if let Err(e) = store.update(|s| {
        s.backup_servers
            .insert(address.as_str().to_owned(), remember);
    }) {
        tracing::warn!(error = %e, "could not remember the backup server");
    }

    let mut opts = BackupOptions::new(host, user, dest);
    opts.port = port;
    opts.timeout = TIMEOUT;
    let password = Password::new(std::mem::take(&mut *password));
    tracing::info!(
        mailbox = address.as_str(),
        server = %format!("{}:{}", opts.host, opts.port),
        dest = %opts.dest.display(),
        "mailbox backup started"
    );

    tauri::async_runtime::spawn(async move {
        let outcome = run(opts, password, &cancel, &channel).await;
        // Free before telling the window, so "start again" right after the outcome works.
        slot.release(id);
        let _ = channel.send(outcome);
    });
    Ok(())
}

/// Stops the running backup (between two messages); what was saved stays, and a new start
/// into the same folder resumes. True when there was one to stop.
#[tauri::command]
pub fn backup_cancel(backups: State<'_, Backups>) -> bool {
    match backups.running.lock().as_ref() {
        Some((_, token)) => {
            token.cancel();
            tracing::info!("mailbox backup: stop requested");
            true
        }
        None => false,
    }
}

/// Opens the system's folder picker over the window; None when the user closes it.
#[tauri::command]
pub async fn backup_pick_folder(
    window: tauri::WebviewWindow,
    store: State<'_, SettingsStore>,
    current: Option<String>,
) -> Result<Option<String>, CommandError> {
    use tauri_plugin_dialog::DialogExt as _;
    let title = match store.get().language {
        Lang::It => "Scegli la cartella in cui salvare i messaggi",
        Lang::En => "Choose the folder to save the messages to",
    };
    let mut picker = window.dialog().file().set_title(title).set_parent(&window);
    // Start where the field points, when that is an existing folder; never create anything.
    if let Some(dir) = current
        .as_deref()
        .map(Path::new)
        .filter(|p| p.is_absolute() && p.is_dir())
    {
        picker = picker.set_directory(dir);
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    picker.pick_folder(move |picked| {
        let _ = tx.send(picked);
    });
    let picked = rx.await.map_err(|_| CommandError::Internal)?;
    match picked {
        None => Ok(None),
        Some(path) => {
            let path = path.into_path().map_err(|e| {
                tracing::warn!(error = %e, "the folder picker returned no local path");
                localized(
                    "backup.dest_not_local",
                    "La cartella scelta non è una cartella di questo computer. Scegline un'altra.",
                    "The chosen folder is not a folder on this computer. Pick another one.",
                )
            })?;
            Ok(Some(path.display().to_string()))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The run

async fn run(
    opts: BackupOptions,
    password: Password,
    cancel: &CancellationToken,
    channel: &Channel<BackupEvent>,
) -> BackupEvent {
    let mut last: Option<(Phase, Option<String>, Instant)> = None;
    let progress_channel = channel.clone();
    let mut progress = move |p: &Progress| {
        let now = Instant::now();
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
            // A closed window only means nobody watches; the backup goes on to the end.
            let _ = progress_channel.send(BackupEvent::Progress(p.clone()));
        }
    };
    let outcome = pec_backup::backup(&opts, &password, &mut progress, cancel).await;
    drop(password);
    match outcome {
        Ok(report) => BackupEvent::Finished {
            report,
            dest: opts.dest.display().to_string(),
        },
        Err(e) => {
            tracing::warn!(code = e.code(), "mailbox backup failed");
            BackupEvent::Failed {
                error: e.to_localized(),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Checks of what the webview sent

fn parse_address(address: &str) -> Result<EmailAddress, CommandError> {
    EmailAddress::parse(address).map_err(|e| domain(&e))
}

/// A server name or IP address, nothing else: no scheme, no path, no port, no user.
fn parse_host(host: &str) -> Result<String, CommandError> {
    let host = host.trim().trim_end_matches('.');
    let bad = || {
        localized(
            "backup.invalid_host",
            "Indica solo il nome del server IMAPS, senza «imaps://», porta o percorso (per esempio imaps.pec.example.it).",
            "Give only the IMAPS server's name, without \"imaps://\", port or path (for example imaps.pec.example.it).",
        )
    };
    if host.is_empty() {
        return Err(localized(
            "backup.host_required",
            "Indica il server IMAPS del gestore (lo trovi nelle istruzioni del gestore, per esempio imaps.pec.example.it).",
            "Give the provider's IMAPS server (see the provider's instructions, for example imaps.pec.example.it).",
        ));
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(host.to_owned());
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if host.len() > 253 || !host.split('.').all(label_ok) {
        return Err(bad());
    }
    Ok(host.to_ascii_lowercase())
}

fn parse_port(port: u32) -> Result<u16, CommandError> {
    u16::try_from(port).ok().filter(|p| *p != 0).ok_or_else(|| {
        localized(
            "backup.invalid_port",
            "La porta deve essere un numero da 1 a 65535 (per IMAPS di solito 993).",
            "The port must be a number from 1 to 65535 (for IMAPS usually 993).",
        )
    })
}

/// The IMAP user name: the PEC address unless the provider gave another. No control
/// characters (they would break the IMAP command line).
fn parse_user(user: Option<&str>, address: &str) -> Result<String, CommandError> {
    let user = user
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .unwrap_or(address);
    if user.len() > 320 || user.chars().any(char::is_control) {
        return Err(localized(
            "backup.invalid_user",
            "Il nome utente non è valido: di solito è l'indirizzo PEC stesso.",
            "The user name is not valid: it is usually the PEC address itself.",
        ));
    }
    Ok(user.to_owned())
}

fn check_password(password: &str) -> Result<(), CommandError> {
    if password.is_empty() {
        return Err(localized(
            "backup.password_required",
            "Inserisci la password della casella (con la verifica in due passaggi attiva: una password per le app).",
            "Enter the mailbox password (with two-step login on: an app password).",
        ));
    }
    if password.len() > 1024 || password.chars().any(|c| matches!(c, '\r' | '\n' | '\0')) {
        return Err(localized(
            "backup.invalid_password",
            "La password contiene caratteri che il server di posta non può ricevere (a capo).",
            "The password holds characters the mail server cannot receive (line breaks).",
        ));
    }
    Ok(())
}

/// An absolute path to a folder that exists or can be created, and can be written: checked
/// before connecting, so a wrong folder is reported at once and not after the login.
fn prepare_dest(dest: &str) -> Result<PathBuf, CommandError> {
    if dest.trim().is_empty() {
        return Err(localized(
            "backup.dest_required",
            "Scegli la cartella in cui salvare i messaggi.",
            "Choose the folder to save the messages to.",
        ));
    }
    let path = PathBuf::from(dest);
    if !path.is_absolute() || dest.chars().any(char::is_control) {
        return Err(localized(
            "backup.dest_not_absolute",
            "Indica il percorso completo della cartella (per esempio /home/mario/PEC), oppure usa «Scegli cartella…».",
            "Give the folder's full path (for example /home/mario/PEC), or use \"Choose folder…\".",
        ));
    }
    if path.exists() && !path.is_dir() {
        return Err(localized(
            "backup.dest_not_directory",
            "Il percorso indicato è un file, non una cartella. Scegli una cartella.",
            "The path given is a file, not a folder. Choose a folder.",
        ));
    }
    let not_writable = |e: std::io::Error| {
        tracing::warn!(error = %e, dest = %path.display(), "backup folder not writable");
        localized(
            "backup.dest_not_writable",
            "Non è possibile creare o scrivere la cartella indicata. Scegline un'altra.",
            "The folder given cannot be created or written. Choose another one.",
        )
    };
    std::fs::create_dir_all(&path).map_err(not_writable)?;
    let probe = path.join(format!(".pec-backup-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(not_writable)?;
    let _ = std::fs::remove_file(&probe);
    Ok(path)
}

/// `<documents>/PEC/<address>`: one folder per mailbox, so backups of two never mix.
fn suggested_dest(documents: &Path, address: &str) -> String {
    documents.join("PEC").join(address).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: CommandError) -> String {
        e.to_localized().code
    }

    #[test]
    fn host_is_a_name_or_an_address_and_nothing_more() {
        assert_eq!(
            parse_host(" Imaps.PEC.example.it ").unwrap(),
            "imaps.pec.example.it"
        );
        assert_eq!(parse_host("127.0.0.1").unwrap(), "127.0.0.1");
        assert_eq!(parse_host("::1").unwrap(), "::1");
        for bad in [
            "imaps://imaps.pec.example.it",
            "imaps.pec.example.it/inbox",
            "imaps.pec.example.it:993",
            "mario@imaps.pec.example.it",
            "imaps pec",
            "-bad.example.it",
            "a..b",
        ] {
            assert_eq!(
                code(parse_host(bad).unwrap_err()),
                "backup.invalid_host",
                "{bad}"
            );
        }
        assert_eq!(code(parse_host("  ").unwrap_err()), "backup.host_required");
    }

    #[test]
    fn port_must_fit() {
        assert_eq!(parse_port(993).unwrap(), 993);
        assert_eq!(parse_port(65535).unwrap(), 65535);
        assert_eq!(code(parse_port(0).unwrap_err()), "backup.invalid_port");
        assert_eq!(code(parse_port(65536).unwrap_err()), "backup.invalid_port");
    }

    #[test]
    fn user_defaults_to_the_pec_address() {
        assert_eq!(parse_user(None, "a@pec.it").unwrap(), "a@pec.it");
        assert_eq!(parse_user(Some("  "), "a@pec.it").unwrap(), "a@pec.it");
        assert_eq!(parse_user(Some(" other "), "a@pec.it").unwrap(), "other");
        assert_eq!(
            code(parse_user(Some("a\r\nLOGOUT"), "a@pec.it").unwrap_err()),
            "backup.invalid_user"
        );
    }

    #[test]
    fn password_is_required_and_never_in_the_error() {
        assert_eq!(
            code(check_password("").unwrap_err()),
            "backup.password_required"
        );
        let e = check_password("secret\r\nx").unwrap_err().to_localized();
        assert_eq!(e.code, "backup.invalid_password");
        assert!(!e.message_it.contains("secret") && !e.message_en.contains("secret"));
        assert!(check_password("app-password").is_ok());
    }

    #[test]
    fn destination_is_absolute_created_and_writable() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("PEC").join("mario");
        let got = prepare_dest(&nested.display().to_string()).unwrap();
        assert!(got.is_dir());
        // The write probe leaves nothing behind.
        assert_eq!(std::fs::read_dir(&got).unwrap().count(), 0);

        assert_eq!(
            code(prepare_dest("relative/PEC").unwrap_err()),
            "backup.dest_not_absolute"
        );
        assert_eq!(code(prepare_dest("").unwrap_err()), "backup.dest_required");
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(
            code(prepare_dest(&file.display().to_string()).unwrap_err()),
            "backup.dest_not_directory"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_read_only_destination_is_refused_before_connecting() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let ro = dir.path().join("ro");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o500)).unwrap();
        let probe = ro.join("x");
        // Root ignores permissions: then there is nothing to check here.
        if std::fs::write(&probe, b"").is_ok() {
            std::fs::remove_file(&probe).unwrap();
            return;
        }
        assert_eq!(
            code(prepare_dest(&ro.display().to_string()).unwrap_err()),
            "backup.dest_not_writable"
        );
    }

    #[test]
    fn events_serialise_with_a_kind() {
        let p = BackupEvent::Progress(Progress {
            phase: Phase::Saving,
            done: 3,
            total: 10,
            bytes: 1200,
            folder: Some("INBOX".into()),
        });
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["kind"], "progress");
        assert_eq!(json["phase"], "saving");
        assert_eq!(json["folder"], "INBOX");
        let f = BackupEvent::Failed {
            error: pec_backup::BackupError::AuthFailed.to_localized(),
        };
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["kind"], "failed");
        assert_eq!(json["error"]["code"], "backup.auth_failed");
    }

    #[test]
    fn the_suggested_folder_is_per_mailbox() {
        let d = suggested_dest(Path::new("/home/mario/Documenti"), "a@pec.it");
        assert_eq!(d, "/home/mario/Documenti/PEC/a@pec.it");
    }
}
