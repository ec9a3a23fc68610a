//! Backs up a PEC mailbox over IMAPS, before the provider ceases it.
//!
//! When a PEC mailbox is not renewed, the provider ceases it and its messages are lost ("la
//! casella PEC sarà cessata e i messaggi NON saranno più recuperabili", the renewal notice in
//! the seeds). Every PEC provider gives access to the messages over IMAPS; with two-step login
//! on, through an app password. This crate saves every message of every folder as a standard
//! `.eml` file (the raw bytes the server stores, fetched with `BODY.PEEK[]` so nothing is
//! marked as read), with an index that says, per message, the folder, sender, date, subject,
//! size, SHA-256 and the PEC type read from the receipts' headers ([`PecType`]).
//!
//! - **Resumable**: a journal in the backup folder, keyed by folder + UIDVALIDITY + UID; an
//!   interrupted run (cancel, crash, lost network) resumes with no duplicates.
//! - **Verified**: at the end every folder is compared with the server (EXAMINE + UID SEARCH)
//!   and every file is re-hashed against the index: [`BackupReport`].
//! - **Progress**: a callback with (done, total, bytes) after every message; cancellable with
//!   a [`CancellationToken`].
//! - **Safe**: TLS always (implicit TLS, port 993), the system's roots plus an optional CA;
//!   the password is zeroized ([`Password`]) and never logged or put in an error.
//!
//! - **Checked options**: [`BackupOptions::checked`] refuses a server name with a scheme or
//!   a port, a relative or unwritable folder, a password with line breaks, before connecting
//!   ([`checks`]; the app's form and `pec backup` share them).
//!
//! The folder layout and the index format are described in [`store`]; `index.json` has
//! `"format": "pec-backup-index/1"`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), pec_backup::BackupError> {
//! use pec_backup::{BackupOptions, CancellationToken, Password, backup};
//! let opts = BackupOptions::new("imaps.pec.example.it", "mario.rossi@pec.example.it", "/home/mario/PEC");
//! let password = Password::new("app password".to_owned());
//! let cancel = CancellationToken::new();
//! let report = backup(&opts, &password, &mut |p| println!("{}/{}", p.done, p.total), &cancel).await?;
//! assert!(report.verified);
//! # Ok(()) }
//! ```

pub mod checks;
mod error;
mod eta;
mod export;
mod folder;
pub mod store;
mod summary;
mod tls;

use std::fmt;

use zeroize::Zeroizing;

pub use checks::{DEFAULT_PORT, OptionError};
pub use error::BackupError;
pub use eta::Eta;
pub use export::{BackupOptions, BackupReport, FolderReport, Phase, Progress, backup};
pub use folder::{decode_mutf7, dir_components as folder_dir_components};
pub use store::{FileCheck, INDEX_FORMAT, Index, IndexEntry, verify_folder};
pub use summary::{MessageSummary, PecType};
pub use tokio_util::sync::CancellationToken;

/// The mailbox password (for PEC with two-step login: an app password). Zeroized on drop,
/// redacted in `Debug`, never serialised.
pub struct Password(Zeroizing<String>);

impl Password {
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// A password the IMAP LOGIN command can carry ([`checks::password`]); the value is
    /// zeroized either way.
    pub fn checked(value: String) -> Result<Self, OptionError> {
        let password = Self::new(value);
        checks::password(password.expose())?;
        Ok(password)
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_never_prints() {
        let p = Password::new("segreto".into());
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
    }

    #[test]
    fn imap_trace_logging_is_compiled_out() {
        // async-imap logs every command it sends at trace level, LOGIN with the password
        // included; the `max_level_debug` features of `log` remove those calls at build time.
        assert!(log::STATIC_MAX_LEVEL <= log::LevelFilter::Debug);
    }
}
