//! Saving every message of a PEC mailbox over IMAPS to a folder, before the provider ceases
//! it (the renewal notice warns: "la casella PEC sarà cessata e i messaggi NON saranno più
//! recuperabili"). `pec-backup` does the work and checks the options; the core remembers the
//! form per mailbox, runs one backup at a time in the background, and sends its progress (at
//! most every 100 ms) and then its outcome to the front end.
//!
//! The password (for a mailbox with two-step login: an app password) lives in
//! `pec_backup::Password`, is never logged, stored or put in an error. What is remembered per
//! mailbox (server, port, user, folder) holds no secret.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pec_backup::{
    BackupOptions, BackupReport, CancellationToken, Password, Phase, Progress, checks,
};
use pec_domain::{DomainError, EmailAddress, Localized};
use serde::{Deserialize, Serialize};

use crate::error::{UiCode, domain, refusal};
use crate::settings::BackupServer;
use crate::{Core, Result};

/// Longest wait for any one answer from the IMAP server.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Progress goes to the front end at most this often (plus every change of phase or folder
/// and the last message): a mailbox of 50 000 messages must not flood IPC.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// The backup running now, if any: only one at a time, so two runs never write one folder.
#[derive(Default)]
pub struct Backups {
    running: Arc<Slot>,
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
    },
    Failed {
        error: Localized,
    },
}

/// What the form starts with for a mailbox: the last values used for it, else the defaults.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct BackupDefaults {
    /// None: the user types the provider's IMAPS server (e.g. imaps.pec.example.it).
    pub host: Option<String>,
    pub port: u16,
    pub user: String,
    /// The folder of the last run (to resume it), else a suggestion in the user's documents.
    pub dest: Option<String>,
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
    Ok(match remembered {
        Some(s) => BackupDefaults {
            host: Some(s.host),
            port: s.port,
            user: s.user,
            dest: Some(s.dest),
        },
        None => BackupDefaults {
            host: None,
            port: checks::DEFAULT_PORT,
            user: address.as_str().to_owned(),
            dest: documents.map(|d| crate::suggested_backup_dest(d, address.as_str())),
        },
    })
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
    checks::host(&form.host)?;
    checks::port(form.port)?;
    checks::user(user, address.as_str())?;
    let password = Password::checked(std::mem::take(&mut *password))?;
    let dest = checks::dest(&form.dest)?;
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
    tracing::info!(
        mailbox = address.as_str(),
        server = %format!("{}:{}", opts.host, opts.port),
        dest = %opts.dest.display(),
        "mailbox backup started"
    );
    tokio::spawn(async move {
        let outcome = run(opts, password, &cancel, &send).await;
        // Free before telling the screen, so "start again" right after the outcome works.
        slot.release(id);
        send(outcome);
    });
    Ok(())
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
    let mut progress = |p: &Progress| {
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
            send(BackupEvent::Progress(p.clone()));
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
        let d = crate::suggested_backup_dest(Path::new("/home/mario/Documenti"), "a@pec.it");
        assert_eq!(d, "/home/mario/Documenti/PEC/a@pec.it");
    }
}
