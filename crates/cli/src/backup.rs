//! `pec backup`: saves a PEC mailbox over IMAPS to a folder (crates/backup does the work).
//!
//! The password comes from `PEC_BACKUP_PASSWORD` or from a prompt on the terminal (no echo),
//! never from the command line, where it would end up in shell history and `ps`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use pec_backup::{BackupError, BackupOptions, CancellationToken, Password, Phase, backup};
use pec_domain::DomainError;

pub const EXIT_CODES: &str = "\
Exit codes / codici di uscita:
  0  saved and verified / salvata e verificata
  1  other error / altro errore
  2  wrong usage (no password, a bad server name or folder) / uso errato (password mancante, server o cartella non validi)
  8  saved, but the check against the server or the files failed / salvata, ma la verifica non torna
  9  user name or password refused / nome utente o password rifiutati
 10  TLS: certificate not trusted or handshake failed / certificato non attendibile o TLS fallito
 11  server unreachable, refused or too slow / server non raggiungibile, rifiuta o non risponde
 12  cannot write the folder (disk full, permissions) / cartella non scrivibile (disco pieno, permessi)
 13  stopped (Ctrl-C); run again to resume / interrotto (Ctrl-C); rilancia per riprendere
 14  another backup is writing to the folder / un altro salvataggio sta scrivendo nella cartella";

/// Environment variable with the password (for scripts); otherwise it is asked on the terminal.
pub const PASSWORD_ENV: &str = "PEC_BACKUP_PASSWORD";

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// IMAPS server of the provider, e.g. imaps.pec.example.it.
    #[arg(long)]
    host: String,
    /// IMAPS port (implicit TLS).
    #[arg(long, default_value_t = 993)]
    port: u16,
    /// IMAP user name, usually the PEC address.
    #[arg(long)]
    user: String,
    /// Folder to save into (created if missing; run again on the same folder to resume).
    #[arg(long)]
    dest: PathBuf,
    /// Extra CA certificate (PEM) to trust, for providers with a private CA.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Seconds to wait for any one answer from the server.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Print the final report as JSON on standard output.
    #[arg(long)]
    json: bool,
}

pub fn run(args: BackupArgs) -> ExitCode {
    let Some(password) = read_password() else {
        eprintln!(
            "pec backup: manca la password: impostala in {PASSWORD_ENV} o lancia il comando da un terminale / no password: set {PASSWORD_ENV} or run from a terminal"
        );
        return ExitCode::from(2);
    };
    // The same checks as the app's form; a relative folder is taken from where the command runs.
    let dest = std::path::absolute(&args.dest).unwrap_or(args.dest);
    let mut opts =
        match BackupOptions::checked(&args.host, args.port.into(), Some(&args.user), "", &dest) {
            Ok(opts) => opts,
            Err(e) => {
                eprintln!("pec backup: {}", e.message(pec_domain::Lang::It));
                return ExitCode::from(2);
            }
        };
    opts.extra_ca = args.ca;
    opts.timeout = Duration::from_secs(args.timeout.max(1));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pec backup: {e}");
            return ExitCode::FAILURE;
        }
    };
    let tty = std::io::stderr().is_terminal();
    let result = runtime.block_on(async {
        let cancel = CancellationToken::new();
        let on_ctrl_c = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_ctrl_c.cancel();
            }
        });
        let mut last_phase = None;
        backup(
            &opts,
            &password,
            &mut |p| {
                let label = match p.phase {
                    Phase::Listing => "elenco cartelle / listing folders",
                    Phase::Saving => "salvataggio / saving",
                    Phase::Verifying => "verifica / verifying",
                };
                if tty {
                    eprint!(
                        "\r{label}: {}/{} ({:.1} MB)   ",
                        p.done,
                        p.total,
                        p.bytes as f64 / 1e6
                    );
                    let _ = std::io::stderr().flush();
                } else if last_phase != Some(p.phase) {
                    eprintln!("{label}");
                }
                last_phase = Some(p.phase);
            },
            &cancel,
        )
        .await
    });
    if tty {
        eprintln!();
    }
    drop(password);
    match result {
        Ok(report) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            }
            eprintln!(
                "scaricati / downloaded: {}, già salvati / already saved: {}",
                report.downloaded, report.already_saved
            );
            if report.folder_list_empty {
                eprintln!(
                    "il server non ha elencato nessuna cartella: salvata comunque la posta in arrivo (INBOX) / the server listed no folder: INBOX was saved anyway"
                );
            }
            for f in &report.folders {
                eprintln!(
                    "  {}: {}/{} {}",
                    f.folder,
                    f.saved,
                    f.server_messages,
                    if f.missing_uids.is_empty() {
                        "ok"
                    } else {
                        "INCOMPLETA / INCOMPLETE"
                    }
                );
            }
            if report.verified {
                eprintln!("verificata: ogni messaggio è salvato e integro / verified");
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "verifica NON riuscita: file alterati {:?}, mancanti {:?} / verification FAILED",
                    report.files.hash_mismatches, report.files.missing_files
                );
                ExitCode::from(8)
            }
        }
        Err(e) => {
            if args.json {
                println!("{}", serde_json::json!({ "error": e.to_localized() }));
            }
            eprintln!("pec backup: {}", e.message(pec_domain::Lang::It));
            ExitCode::from(exit_code(&e))
        }
    }
}

fn exit_code(e: &BackupError) -> u8 {
    match e {
        BackupError::AuthFailed => 9,
        BackupError::TlsCertificate(_) | BackupError::Tls(_) | BackupError::CaFile(..) => 10,
        BackupError::ConnectionRefused(_)
        | BackupError::Timeout(_)
        | BackupError::Unreachable(..) => 11,
        BackupError::DiskFull(_)
        | BackupError::Permission(_)
        | BackupError::LocalIo(..)
        | BackupError::OtherMailbox(_) => 12,
        BackupError::Cancelled => 13,
        BackupError::DestBusy => 14,
        BackupError::Server(_) => 1,
    }
}

fn read_password() -> Option<Password> {
    if let Ok(value) = std::env::var(PASSWORD_ENV) {
        return Some(Password::new(value));
    }
    if !std::io::stdin().is_terminal() {
        return None;
    }
    rpassword::prompt_password("Password (o password per le app / or app password): ")
        .ok()
        .map(Password::new)
}
