//! The sandbox's command line, shared by the `pec-sandbox` binary and `pec sandbox …` in the
//! project's CLI (crates/cli), so both accept exactly the same arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Subcommand;

use crate::{Config, Mode, Sandbox, SmtpConfig, SmtpSecurity};

/// `--revocation`: what a card whose revocation status cannot be checked gets.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevocationFailure {
    /// Accepted, with a warning in the log.
    Soft,
    /// Refused (`card.revocation_unavailable`).
    Hard,
}

// Parsed once per process from the command line and matched at once: boxing `Serve`'s fields
// to shrink the enum would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the provider API until Ctrl-C or SIGTERM.
    Serve {
        /// Address to listen on; port 0 picks a free one (printed on stdout).
        #[arg(long, default_value = "127.0.0.1:8787")]
        addr: SocketAddr,
        /// SQLite file (created and seeded with demo accounts if missing).
        #[arg(long)]
        db: PathBuf,
        /// Production mode: no /sandbox endpoints and no demo data (accounts, registries).
        #[arg(long)]
        production: bool,
        /// Sandbox mode: write this run's back-office secret here (a new file, mode 0600). Every
        /// /sandbox call needs it in the Sandbox-Secret header; without this option nobody can
        /// use the back office of this run.
        #[arg(long)]
        sandbox_secret_file: Option<PathBuf>,
        /// A PEM or DER root certificate trusted for card identification (repeatable).
        #[arg(long = "trust-anchor")]
        trust_anchors: Vec<PathBuf>,
        /// A PEM or DER root certificate trusted for the CIE (repeatable): the Ministry's
        /// "National root CA for the Italian Electronic Identity Card", or a test root such
        /// as pec-card-sim's (`crates/card-sim/test-keys/cie/cie-root.cert.der`).
        #[arg(long = "cie-trust-anchor")]
        cie_trust_anchors: Vec<PathBuf>,
        /// A PEM or DER qualified CA certificate a signed request form (firma digitale) may
        /// chain to (repeatable). In sandbox mode the sandbox's remote-signature CA is trusted too.
        #[arg(long = "signature-ca")]
        signature_cas: Vec<PathBuf>,
        /// When a card's revocation status cannot be checked (no CRL or OCSP answer): `soft`
        /// accepts the card with a warning in the log, `hard` refuses it.
        #[arg(long, value_enum, default_value_t = RevocationFailure::Soft)]
        revocation: RevocationFailure,
        /// A PEM or DER issuing CA certificate whose cards may have RSA keys of 1024 bits
        /// (an older card lot the deployment accepts; repeatable). Others need 2048.
        #[arg(long = "legacy-key-issuer")]
        legacy_key_issuers: Vec<PathBuf>,
        /// Do not seed the demo accounts.
        #[arg(long)]
        no_demo: bool,
        /// SMTP relay host; without it e-mails stay in the outbox.
        #[arg(long)]
        smtp_host: Option<String>,
        /// SMTP relay port.
        #[arg(long, default_value_t = 587)]
        smtp_port: u16,
        /// plain (loopback relays only), starttls or tls.
        #[arg(long, default_value = "starttls")]
        smtp_security: String,
        /// SMTP user; the password is read from PEC_SMTP_PASSWORD, never from the command line.
        #[arg(long)]
        smtp_user: Option<String>,
        /// Sender address.
        #[arg(long, default_value = "PEC Sandbox <noreply@pec.sandbox.test>")]
        smtp_from: String,
        /// The IMAPS server published for the mailboxes (the app backs a mailbox up only from
        /// it; a mailbox seeded through /sandbox/accounts may name its own).
        #[arg(long, default_value = crate::DEFAULT_IMAP_HOST)]
        imap_host: String,
        /// Its port (implicit TLS).
        #[arg(long, default_value_t = 993)]
        imap_port: u16,
    },
    /// Print the OpenAPI document, or write it to a file.
    Openapi {
        /// Write here instead of stdout (e.g. openapi/provider-api.json).
        #[arg(long)]
        write: Option<PathBuf>,
    },
}

/// Runs one sandbox command to completion (for `serve`: until Ctrl-C or SIGTERM).
pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Openapi { write } => {
            let doc = crate::openapi_json();
            match write {
                Some(path) => std::fs::write(path, doc)?,
                None => print!("{doc}"),
            }
        }
        Command::Serve {
            addr,
            db,
            production,
            sandbox_secret_file,
            trust_anchors,
            cie_trust_anchors,
            signature_cas,
            revocation,
            legacy_key_issuers,
            no_demo,
            smtp_host,
            smtp_port,
            smtp_security,
            smtp_user,
            smtp_from,
            imap_host,
            imap_port,
        } => {
            let mut config = Config::new(addr, db);
            if !pec_provider::api::ImapServer::host_is_valid(&imap_host) || imap_port == 0 {
                anyhow::bail!("--imap-host/--imap-port: a host name or IPv4 address, port 1-65535");
            }
            config.imap = pec_provider::api::ImapServer {
                host: imap_host.to_ascii_lowercase(),
                port: imap_port,
            };
            config.mode = if production {
                Mode::Production
            } else {
                Mode::Sandbox
            };
            // Production implies no demo data (see `AppState::open`, which enforces it too).
            config.seed_demo = !no_demo && !production;
            match (&sandbox_secret_file, production) {
                (Some(_), true) => {
                    anyhow::bail!("--sandbox-secret-file: production mode has no /sandbox routes")
                }
                (Some(path), false) => write_secret_file(path, &config.sandbox_secret)?,
                (None, _) => {}
            }
            if let Some(host) = smtp_host {
                let security = match smtp_security.as_str() {
                    "plain" => SmtpSecurity::Plain,
                    "starttls" => SmtpSecurity::StartTls,
                    "tls" => SmtpSecurity::Tls,
                    other => anyhow::bail!("unknown --smtp-security {other}"),
                };
                let credentials = match smtp_user {
                    Some(user) => Some((user, std::env::var("PEC_SMTP_PASSWORD")?)),
                    None => None,
                };
                config.smtp = Some(SmtpConfig {
                    host,
                    port: smtp_port,
                    security,
                    credentials,
                    from: smtp_from,
                });
            }
            for path in trust_anchors {
                config.card_trust_anchors.push(read_cert(&path)?);
            }
            for path in cie_trust_anchors {
                config.cie_trust_anchors.push(read_cert(&path)?);
            }
            for path in signature_cas {
                config.signature_trust_anchors.push(read_cert(&path)?);
            }
            config.revocation.mode = match revocation {
                RevocationFailure::Soft => crate::revocation::Mode::SoftFail,
                RevocationFailure::Hard => crate::revocation::Mode::HardFail,
            };
            for path in legacy_key_issuers {
                use sha2::Digest;
                let der = read_cert(&path)?;
                config
                    .card_rules
                    .legacy_key_issuers
                    .push(sha2::Sha256::digest(&der).into());
            }
            let running = Sandbox::start(config).await?;
            // Scripts read the bound address from here when they asked for port 0.
            println!("listening on {}", running.base_url());
            tokio::select! {
                r = shutdown_signal() => r?,
                r = running.wait_ref() => return r,
            }
            running.shutdown().await?;
        }
    }
    Ok(())
}

/// Writes `secret` to a new file only the current user can read. An existing file (or a
/// symlink planted there) is removed first, so the secret never lands in a file someone else
/// prepared.
pub fn write_secret_file(path: &std::path::Path, secret: &str) -> anyhow::Result<()> {
    use std::io::Write;
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(secret.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

fn read_cert(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path)?;
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(bytes);
    };
    let Some(start) = text.find("-----BEGIN CERTIFICATE-----") else {
        return Ok(bytes);
    };
    let body = &text[start + "-----BEGIN CERTIFICATE-----".len()..];
    let end = body
        .find("-----END CERTIFICATE-----")
        .ok_or_else(|| anyhow::anyhow!("{}: unterminated PEM", path.display()))?;
    let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
    use base64::Engine;
    Ok(base64::engine::general_purpose::STANDARD.decode(b64)?)
}

async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}
