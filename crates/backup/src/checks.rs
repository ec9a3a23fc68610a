//! Checks of what a person typed (the app's form, `pec backup`'s flags) before anything
//! connects: a wrong server name or folder is reported at once, in both languages, and not
//! after a TLS handshake and a login.
//!
//! [`BackupOptions::checked`] runs them all; the single checks are public so a form can check
//! one field as it is typed (the app's `validate_field`).

use std::path::{Path, PathBuf};

use pec_domain::{DomainError, Lang};

use crate::BackupOptions;

/// The IMAPS port PEC providers publish (implicit TLS).
pub const DEFAULT_PORT: u16 = 993;

/// What is wrong with an option.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    #[error("no IMAPS server given")]
    HostRequired,
    #[error("the IMAPS server must be a name or an address, with no scheme, port or path")]
    InvalidHost,
    #[error("the port must be from 1 to 65535")]
    InvalidPort,
    #[error("the user name is not valid")]
    InvalidUser,
    #[error("no password given")]
    PasswordRequired,
    #[error("the password holds line breaks or is too long")]
    InvalidPassword,
    #[error("no destination folder given")]
    DestRequired,
    #[error("the destination folder must be a full path")]
    DestNotAbsolute,
    #[error("the destination is a file, not a folder")]
    DestNotDirectory,
    #[error("the destination folder cannot be created or written")]
    DestNotWritable,
}

impl DomainError for OptionError {
    fn code(&self) -> &'static str {
        match self {
            Self::HostRequired => "backup.host_required",
            Self::InvalidHost => "backup.invalid_host",
            Self::InvalidPort => "backup.invalid_port",
            Self::InvalidUser => "backup.invalid_user",
            Self::PasswordRequired => "backup.password_required",
            Self::InvalidPassword => "backup.invalid_password",
            Self::DestRequired => "backup.dest_required",
            Self::DestNotAbsolute => "backup.dest_not_absolute",
            Self::DestNotDirectory => "backup.dest_not_directory",
            Self::DestNotWritable => "backup.dest_not_writable",
        }
    }

    fn message(&self, lang: Lang) -> String {
        let (it, en) = match self {
            Self::HostRequired => (
                "Indica il server IMAPS del gestore (lo trovi nelle istruzioni del gestore, per esempio imaps.pec.example.it).",
                "Give the provider's IMAPS server (see the provider's instructions, for example imaps.pec.example.it).",
            ),
            Self::InvalidHost => (
                "Indica solo il nome del server IMAPS, senza «imaps://», porta o percorso (per esempio imaps.pec.example.it).",
                "Give only the IMAPS server's name, without \"imaps://\", port or path (for example imaps.pec.example.it).",
            ),
            Self::InvalidPort => (
                "La porta deve essere un numero da 1 a 65535 (per IMAPS di solito 993).",
                "The port must be a number from 1 to 65535 (for IMAPS usually 993).",
            ),
            Self::InvalidUser => (
                "Il nome utente non è valido: di solito è l'indirizzo PEC stesso.",
                "The user name is not valid: it is usually the PEC address itself.",
            ),
            Self::PasswordRequired => (
                "Inserisci la password della casella (con la verifica in due passaggi attiva: una password per le app).",
                "Enter the mailbox password (with two-step login on: an app password).",
            ),
            Self::InvalidPassword => (
                "La password contiene caratteri che il server di posta non può ricevere (a capo).",
                "The password holds characters the mail server cannot receive (line breaks).",
            ),
            Self::DestRequired => (
                "Scegli la cartella in cui salvare i messaggi.",
                "Choose the folder to save the messages to.",
            ),
            Self::DestNotAbsolute => (
                "Indica il percorso completo della cartella (per esempio /home/mario/PEC), oppure usa «Scegli cartella…».",
                "Give the folder's full path (for example /home/mario/PEC), or use \"Choose folder…\".",
            ),
            Self::DestNotDirectory => (
                "Il percorso indicato è un file, non una cartella. Scegli una cartella.",
                "The path given is a file, not a folder. Choose a folder.",
            ),
            Self::DestNotWritable => (
                "Non è possibile creare o scrivere la cartella indicata. Scegline un'altra.",
                "The folder given cannot be created or written. Choose another one.",
            ),
        };
        match lang {
            Lang::It => it.to_owned(),
            Lang::En => en.to_owned(),
        }
    }
}

impl BackupOptions {
    /// Options from what a person typed, each checked, the folder created and probed for
    /// writing. `user` empty means `default_user` (the PEC address).
    pub fn checked(
        host_text: &str,
        port_number: u32,
        user_text: Option<&str>,
        default_user: &str,
        dest_path: &Path,
    ) -> Result<BackupOptions, OptionError> {
        let host = host(host_text)?;
        let port = port(port_number)?;
        let user = user(user_text, default_user)?;
        let dest = prepare_dest(dest_path)?;
        let mut opts = BackupOptions::new(host, user, dest);
        opts.port = port;
        Ok(opts)
    }
}

/// A server name or IP address, nothing else: no scheme, no path, no port, no user. Names
/// come back in lower case, without a trailing dot.
pub fn host(text: &str) -> Result<String, OptionError> {
    let host = text.trim().trim_end_matches('.');
    if host.is_empty() {
        return Err(OptionError::HostRequired);
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
        return Err(OptionError::InvalidHost);
    }
    Ok(host.to_ascii_lowercase())
}

/// A TCP port, 1 to 65535.
pub fn port(number: u32) -> Result<u16, OptionError> {
    u16::try_from(number)
        .ok()
        .filter(|p| *p != 0)
        .ok_or(OptionError::InvalidPort)
}

/// A port as typed in a form: digits only.
pub fn port_text(text: &str) -> Result<u16, OptionError> {
    let text = text.trim();
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(OptionError::InvalidPort);
    }
    port(text.parse().map_err(|_| OptionError::InvalidPort)?)
}

/// The IMAP user name: `default` (the PEC address) unless another is given. No control
/// characters: they would break the IMAP command line.
pub fn user(text: Option<&str>, default: &str) -> Result<String, OptionError> {
    let user = text
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .unwrap_or(default);
    if user.is_empty() || user.len() > 320 || user.chars().any(char::is_control) {
        return Err(OptionError::InvalidUser);
    }
    Ok(user.to_owned())
}

/// A password the IMAP LOGIN command can carry. The error never holds the password.
pub fn password(password: &str) -> Result<(), OptionError> {
    if password.is_empty() {
        return Err(OptionError::PasswordRequired);
    }
    if password.len() > 1024 || password.chars().any(|c| matches!(c, '\r' | '\n' | '\0')) {
        return Err(OptionError::InvalidPassword);
    }
    Ok(())
}

/// The shape of a folder typed in a form: an absolute path, no control characters. Nothing
/// on disk is looked at (see [`prepare_dest`]).
pub fn dest(text: &str) -> Result<PathBuf, OptionError> {
    if text.trim().is_empty() {
        return Err(OptionError::DestRequired);
    }
    let path = PathBuf::from(text);
    if !path.is_absolute() || text.chars().any(char::is_control) {
        return Err(OptionError::DestNotAbsolute);
    }
    Ok(path)
}

/// An absolute path to a folder that exists or can be created, and can be written: created,
/// and probed with a file that is removed at once.
pub fn prepare_dest(path: &Path) -> Result<PathBuf, OptionError> {
    let path = dest(&path.to_string_lossy())?;
    if path.exists() && !path.is_dir() {
        return Err(OptionError::DestNotDirectory);
    }
    let not_writable = |e: std::io::Error| {
        tracing::warn!(error = %e, "backup folder not writable");
        OptionError::DestNotWritable
    };
    std::fs::create_dir_all(&path).map_err(not_writable)?;
    let probe = path.join(format!(".pec-backup-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(not_writable)?;
    let _ = std::fs::remove_file(&probe);
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code<T: std::fmt::Debug>(r: Result<T, OptionError>) -> &'static str {
        r.unwrap_err().code()
    }

    #[test]
    fn host_is_a_name_or_an_address_and_nothing_more() {
        assert_eq!(
            host(" Imaps.PEC.example.it ").unwrap(),
            "imaps.pec.example.it"
        );
        assert_eq!(host("127.0.0.1").unwrap(), "127.0.0.1");
        assert_eq!(host("::1").unwrap(), "::1");
        for bad in [
            "imaps://imaps.pec.example.it",
            "imaps.pec.example.it/inbox",
            "imaps.pec.example.it:993",
            "mario@imaps.pec.example.it",
            "imaps pec",
            "-bad.example.it",
            "a..b",
        ] {
            assert_eq!(code(host(bad)), "backup.invalid_host", "{bad}");
        }
        assert_eq!(code(host("  ")), "backup.host_required");
    }

    #[test]
    fn port_must_fit() {
        assert_eq!(port(993).unwrap(), 993);
        assert_eq!(port(65535).unwrap(), 65535);
        assert_eq!(code(port(0)), "backup.invalid_port");
        assert_eq!(code(port(65536)), "backup.invalid_port");
        assert_eq!(port_text(" 993 ").unwrap(), 993);
        for bad in ["", "99x", "-1", "1e3", "123456"] {
            assert_eq!(code(port_text(bad)), "backup.invalid_port", "{bad}");
        }
    }

    #[test]
    fn user_defaults_to_the_pec_address() {
        assert_eq!(user(None, "a@pec.it").unwrap(), "a@pec.it");
        assert_eq!(user(Some("  "), "a@pec.it").unwrap(), "a@pec.it");
        assert_eq!(user(Some(" other "), "a@pec.it").unwrap(), "other");
        assert_eq!(
            code(user(Some("a\r\nLOGOUT"), "a@pec.it")),
            "backup.invalid_user"
        );
    }

    #[test]
    fn password_is_required_and_never_in_the_error() {
        assert_eq!(code(password("")), "backup.password_required");
        let e = password("secret\r\nx").unwrap_err().to_localized();
        assert_eq!(e.code, "backup.invalid_password");
        assert!(!e.message_it.contains("secret") && !e.message_en.contains("secret"));
        assert!(password("app-password").is_ok());
    }

    #[test]
    fn destination_is_absolute_created_and_writable() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("PEC").join("mario");
        let got = prepare_dest(&nested).unwrap();
        assert!(got.is_dir());
        // The write probe leaves nothing behind.
        assert_eq!(std::fs::read_dir(&got).unwrap().count(), 0);

        assert_eq!(code(dest("relative/PEC")), "backup.dest_not_absolute");
        assert_eq!(code(dest("")), "backup.dest_required");
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(code(prepare_dest(&file)), "backup.dest_not_directory");
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
        assert_eq!(code(prepare_dest(&ro)), "backup.dest_not_writable");
    }

    #[test]
    fn checked_options_take_every_check() {
        let dir = tempfile::tempdir().unwrap();
        let opts =
            BackupOptions::checked("IMAPS.example.it", 993, None, "a@pec.it", dir.path()).unwrap();
        assert_eq!(
            (opts.host.as_str(), opts.port, opts.user.as_str()),
            ("imaps.example.it", 993, "a@pec.it")
        );
        let e = BackupOptions::checked("imaps.example.it", 0, None, "a@pec.it", dir.path());
        assert_eq!(code(e), "backup.invalid_port");
    }
}
