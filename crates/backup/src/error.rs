//! What can go wrong during a backup, with stable codes and Italian and English messages.
//!
//! The codes (`backup.*`) are what the app and the CLI match on; the messages are for people.
//! No error carries a password: the login error says *that* the server refused, never with what.

use std::io;
use std::path::{Path, PathBuf};

use pec_domain::{DomainError, Lang};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The server refused the user name and password (IMAP `NO` to `LOGIN`).
    #[error("the server refused the user name or password")]
    AuthFailed,
    /// The server's certificate is not trusted: unknown CA, expired, or for another name.
    #[error("the server's certificate is not trusted: {0}")]
    TlsCertificate(String),
    /// The TLS handshake failed for another reason (protocol versions, ciphers, a non-TLS port).
    #[error("the secure connection (TLS) could not be set up: {0}")]
    Tls(String),
    /// Nothing listens at that address (TCP connection refused).
    #[error("connection refused by {0}")]
    ConnectionRefused(String),
    /// The server did not answer in time (connecting, or during a command).
    #[error("no answer from {0} in time")]
    Timeout(String),
    /// The name does not resolve or the network is unreachable.
    #[error("{0} cannot be reached: {1}")]
    Unreachable(String, String),
    /// The server answered something we cannot go on with (a `NO`/`BAD`, a closed connection).
    #[error("the mail server answered unexpectedly: {0}")]
    Server(String),
    /// The destination disk (or the user's quota) is full.
    #[error("the disk is full while writing {}", .0.display())]
    DiskFull(PathBuf),
    /// The destination folder cannot be written (permissions, read-only medium).
    #[error("no permission to write {}", .0.display())]
    Permission(PathBuf),
    /// Any other local file error.
    #[error("cannot write {path}: {1}", path = .0.display())]
    LocalIo(PathBuf, String),
    /// The extra CA certificate file is unreadable or holds no PEM certificate.
    #[error("the CA certificate file {path} is not usable: {1}", path = .0.display())]
    CaFile(PathBuf, String),
    /// The destination folder holds the backup of another mailbox.
    #[error("the folder already holds the backup of another mailbox ({0})")]
    OtherMailbox(String),
    /// Another backup (this app in another window, or `pec backup`) is writing the folder.
    #[error("another backup is writing to this folder")]
    DestBusy,
    /// The user stopped the backup. What was saved stays saved; a new run resumes.
    #[error("the backup was stopped")]
    Cancelled,
}

impl BackupError {
    /// Maps a local file error to the typed error the user can act on.
    pub(crate) fn local(path: &Path, err: &io::Error) -> Self {
        // ENOSPC (28) and EDQUOT (122 on Linux, 69 on macOS): `StorageFull` covers ENOSPC on
        // current Rust, the raw codes cover quotas.
        #[cfg(unix)]
        let quota = matches!(err.raw_os_error(), Some(28) | Some(122) | Some(69));
        #[cfg(not(unix))]
        let quota = matches!(err.raw_os_error(), Some(112)); // ERROR_DISK_FULL
        match err.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
                Self::DiskFull(path.to_owned())
            }
            _ if quota => Self::DiskFull(path.to_owned()),
            io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
                Self::Permission(path.to_owned())
            }
            _ => Self::LocalIo(path.to_owned(), err.to_string()),
        }
    }
}

impl DomainError for BackupError {
    fn code(&self) -> &'static str {
        match self {
            Self::AuthFailed => "backup.auth_failed",
            Self::TlsCertificate(_) => "backup.tls_certificate",
            Self::Tls(_) => "backup.tls",
            Self::ConnectionRefused(_) => "backup.connection_refused",
            Self::Timeout(_) => "backup.timeout",
            Self::Unreachable(..) => "backup.unreachable",
            Self::Server(_) => "backup.server",
            Self::DiskFull(_) => "backup.disk_full",
            Self::Permission(_) => "backup.permission",
            Self::LocalIo(..) => "backup.local_io",
            Self::CaFile(..) => "backup.ca_file",
            Self::OtherMailbox(_) => "backup.other_mailbox",
            Self::DestBusy => "backup.dest_busy",
            Self::Cancelled => "backup.cancelled",
        }
    }

    fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (Self::AuthFailed, Lang::It) => "Il server di posta ha rifiutato nome utente o password. Se sulla casella è attiva la verifica in due passaggi, qui serve una password per le app (creala nel pannello del gestore), non la password della webmail.".into(),
            (Self::AuthFailed, Lang::En) => "The mail server refused the user name or password. If two-step login is on for this mailbox, use an app password (create one in the provider's panel), not the webmail password.".into(),
            (Self::TlsCertificate(d), Lang::It) => format!("Il certificato del server di posta non è attendibile ({d}). Controlla l'indirizzo del server; se il gestore usa un'autorità di certificazione propria, indica il suo certificato."),
            (Self::TlsCertificate(d), Lang::En) => format!("The mail server's certificate is not trusted ({d}). Check the server address; if the provider uses its own certificate authority, add its certificate."),
            (Self::Tls(d), Lang::It) => format!("Non è stato possibile stabilire una connessione sicura (TLS) con il server di posta: {d}. Controlla server e porta (di solito 993)."),
            (Self::Tls(d), Lang::En) => format!("A secure (TLS) connection to the mail server could not be set up: {d}. Check the server and port (usually 993)."),
            (Self::ConnectionRefused(a), Lang::It) => format!("Il server {a} ha rifiutato la connessione. Controlla indirizzo e porta IMAPS (di solito 993)."),
            (Self::ConnectionRefused(a), Lang::En) => format!("The server {a} refused the connection. Check the IMAPS address and port (usually 993)."),
            (Self::Timeout(a), Lang::It) => format!("Il server {a} non ha risposto in tempo. Controlla la connessione e riprova: il salvataggio riprenderà da dove si è fermato."),
            (Self::Timeout(a), Lang::En) => format!("The server {a} did not answer in time. Check the connection and try again: the backup will resume where it stopped."),
            (Self::Unreachable(a, d), Lang::It) => format!("Il server {a} non è raggiungibile ({d}). Controlla l'indirizzo e la connessione a Internet."),
            (Self::Unreachable(a, d), Lang::En) => format!("The server {a} cannot be reached ({d}). Check the address and the Internet connection."),
            (Self::Server(d), Lang::It) => format!("Il server di posta ha risposto in modo inatteso: {d}. Riprova: il salvataggio riprenderà da dove si è fermato."),
            (Self::Server(d), Lang::En) => format!("The mail server answered unexpectedly: {d}. Try again: the backup will resume where it stopped."),
            (Self::DiskFull(p), Lang::It) => format!("Il disco è pieno (scrivendo {}). Libera spazio o scegli un'altra cartella, poi riprendi.", p.display()),
            (Self::DiskFull(p), Lang::En) => format!("The disk is full (writing {}). Free some space or pick another folder, then resume.", p.display()),
            (Self::Permission(p), Lang::It) => format!("Non hai i permessi per scrivere in {}. Scegli un'altra cartella.", p.display()),
            (Self::Permission(p), Lang::En) => format!("You do not have permission to write to {}. Pick another folder.", p.display()),
            (Self::LocalIo(p, d), Lang::It) => format!("Errore scrivendo {}: {d}", p.display()),
            (Self::LocalIo(p, d), Lang::En) => format!("Error writing {}: {d}", p.display()),
            (Self::CaFile(p, d), Lang::It) => format!("Il file del certificato dell'autorità {} non è utilizzabile: {d}", p.display()),
            (Self::CaFile(p, d), Lang::En) => format!("The certificate authority file {} is not usable: {d}", p.display()),
            (Self::OtherMailbox(m), Lang::It) => format!("La cartella contiene già il salvataggio di un'altra casella ({m}). Scegli una cartella vuota o quella di questa casella."),
            (Self::OtherMailbox(m), Lang::En) => format!("The folder already holds the backup of another mailbox ({m}). Pick an empty folder or this mailbox's own."),
            (Self::DestBusy, Lang::It) => "Un altro salvataggio sta già scrivendo in questa cartella (in un'altra finestra o da riga di comando): attendi che finisca.".into(),
            (Self::DestBusy, Lang::En) => "Another backup is already writing to this folder (in another window or from the command line): wait for it to finish.".into(),
            (Self::Cancelled, Lang::It) => "Salvataggio interrotto. I messaggi già salvati restano; avviandolo di nuovo riprende da dove si è fermato.".into(),
            (Self::Cancelled, Lang::En) => "Backup stopped. Messages already saved stay; starting it again resumes where it stopped.".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_messages_exist_in_both_languages() {
        let all = [
            BackupError::AuthFailed,
            BackupError::TlsCertificate("x".into()),
            BackupError::Tls("x".into()),
            BackupError::ConnectionRefused("h:1".into()),
            BackupError::Timeout("h:1".into()),
            BackupError::Unreachable("h:1".into(), "x".into()),
            BackupError::Server("x".into()),
            BackupError::DiskFull("/x".into()),
            BackupError::Permission("/x".into()),
            BackupError::LocalIo("/x".into(), "x".into()),
            BackupError::CaFile("/x".into(), "x".into()),
            BackupError::OtherMailbox("a@b".into()),
            BackupError::DestBusy,
            BackupError::Cancelled,
        ];
        for e in &all {
            let l = e.to_localized();
            assert!(l.code.starts_with("backup."), "{}", l.code);
            assert!(!l.message_it.is_empty() && !l.message_en.is_empty());
            assert_ne!(l.message_it, l.message_en);
        }
        assert_eq!(BackupError::AuthFailed.code(), "backup.auth_failed");
        assert!(
            BackupError::AuthFailed
                .message(Lang::It)
                .contains("password per le app")
        );
    }

    #[test]
    fn disk_full_and_permission_are_recognised() {
        let p = Path::new("/backup/x.eml");
        let full = io::Error::from_raw_os_error(28);
        assert_eq!(BackupError::local(p, &full).code(), "backup.disk_full");
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        assert_eq!(BackupError::local(p, &denied).code(), "backup.permission");
        let other = io::Error::other("boom");
        assert_eq!(BackupError::local(p, &other).code(), "backup.local_io");
    }
}
