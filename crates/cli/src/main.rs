//! `pec`: the command-line companion of the PEC desktop app, for helpdesks and scripts.
//!
//! It shares the card crate with the app, so what `pec card info` says is exactly what the
//! app's pre-flight check will say. PINs are read from the terminal (no echo) or from standard
//! input, never from the command line, where they would end up in shell history and `ps`.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Parser, Subcommand};

mod backup;
mod check;
mod pin_memory;
mod sign;
use pec_card::cie::PassiveAuthentication;
use pec_card::guard::LastTry;
use pec_card::{
    AnyCard, CardError, CardKind, Certificate, CertificateRole, CieChip, Pcsc, PersonalData, Pin,
    ReaderInterface, ValidityStatus,
};
use pin_memory::PinMemory;
use serde::Serialize;

const EXIT_CODES: &str = "\
Exit codes / codici di uscita:
  0  ok
  1  other error (card answer, malformed data) / altro errore
  2  wrong usage / uso errato
  3  no PC/SC service or no reader / servizio PC/SC o lettore assente
  4  no card, card removed, or not a supported card / carta assente, estratta o non supportata
  5  wrong PIN (tries left printed) / PIN errato (tentativi rimasti indicati)
  6  PIN blocked / PIN bloccato
  7  card in use by another program / carta in uso da un altro programma
  8  last PIN try not confirmed (--confirm-last-try) / ultimo tentativo non confermato";

/// Smart-card diagnostics for Italian CNS / TS-CNS cards and the CIE 3.0 (on an NFC reader), checks of Italian tax codes, and
/// the reference provider server.
#[derive(Parser, Debug)]
#[command(name = "pec", version, about, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Top,
}

#[derive(Subcommand, Debug)]
enum Top {
    /// Smart-card commands.
    #[command(subcommand, after_help = EXIT_CODES)]
    Card(CardCmd),
    /// Checks a codice fiscale or a partita IVA.
    #[command(subcommand, after_help = check::EXIT_CODES)]
    Check(check::CheckCmd),
    /// The reference provider server (sandbox): `pec sandbox serve --addr 127.0.0.1:PORT --db PATH`.
    #[command(subcommand)]
    Sandbox(pec_sandbox::cli::Command),
    /// Saves every message of a PEC mailbox over IMAPS to a folder (.eml files + index.json);
    /// resumable and verified. Password from PEC_BACKUP_PASSWORD or the terminal.
    #[command(after_help = backup::EXIT_CODES)]
    Backup(backup::BackupArgs),
    /// Signs a file as CAdES-BES .p7m with a PKCS#11 module, the card's signature DF or a CSC
    /// remote signature service; PIN (or password, then OTP) from the terminal or stdin.
    #[command(after_help = sign::SIGN_EXIT_CODES)]
    Sign(sign::SignArgs),
    /// Checks a .p7m: signer, codice fiscale, validity, content intact, chain to --ca.
    #[command(after_help = sign::VERIFY_EXIT_CODES)]
    Verify(sign::VerifyArgs),
}

#[derive(Subcommand, Debug)]
enum CardCmd {
    /// Readers and the card in each, with its profile.
    #[command(after_help = EXIT_CODES)]
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Profile, ATR, serial, holder, codice fiscale and certificates of a card. For a CIE:
    /// the NIS and the passive authentication of the card (its certificate is readable only
    /// after the PIN: see `sign`).
    #[command(after_help = EXIT_CODES)]
    Info {
        /// Reader name (default: the first reader holding a CNS or a CIE).
        #[arg(long)]
        reader: Option<String>,
        /// CIE: a DER certificate the SOD's document signer should chain to (the Ministry's
        /// "National root CA for the Italian Electronic Identity Card"); repeatable.
        #[arg(long)]
        trust_anchor: Vec<std::path::PathBuf>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Checks the PIN once (read from the terminal, or from stdin when piped).
    #[command(after_help = EXIT_CODES)]
    VerifyPin {
        /// Reader name (default: the first reader holding a CNS).
        #[arg(long)]
        reader: Option<String>,
        /// Send the PIN even if it is the card's last try (a wrong one blocks the card);
        /// without it, a terminal asks and a script is refused (exit code 8).
        #[arg(long)]
        confirm_last_try: bool,
    },
    /// Signs a challenge with the authentication key (SHA-256, PKCS#1 v1.5).
    #[command(after_help = EXIT_CODES)]
    Sign {
        /// Reader name (default: the first reader holding a CNS).
        #[arg(long)]
        reader: Option<String>,
        /// Challenge bytes in hex.
        #[arg(long)]
        challenge: String,
        /// Send the PIN even if it is the card's last try (see `verify-pin`).
        #[arg(long)]
        confirm_last_try: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let cmd = match cli.command {
        Top::Check(cmd) => return check::run(cmd),
        Top::Sandbox(cmd) => return sandbox(cmd),
        Top::Backup(args) => return backup::run(args),
        Top::Sign(args) => return sign::run_sign(args),
        Top::Verify(args) => return sign::run_verify(args),
        Top::Card(cmd) => cmd,
    };
    let json = matches!(
        cmd,
        CardCmd::List { json: true }
            | CardCmd::Info { json: true, .. }
            | CardCmd::Sign { json: true, .. }
    );
    match run(cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json {
                let v = serde_json::json!({ "error": e });
                println!("{v}");
            }
            eprintln!("pec: {}", e.message_it());
            ExitCode::from(exit_code(&e))
        }
    }
}

/// Runs a sandbox command on its own runtime; the card and check commands need none.
fn sandbox(cmd: pec_sandbox::cli::Command) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = tokio::runtime::Runtime::new()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(pec_sandbox::cli::run(cmd)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pec sandbox: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn exit_code(e: &CardError) -> u8 {
    match e {
        CardError::ServiceUnavailable
        | CardError::NoReaders
        | CardError::ReaderNotFound { .. }
        | CardError::ReaderUnavailable => 3,
        CardError::NoCard
        | CardError::CardRemoved
        | CardError::CardUnresponsive
        | CardError::UnsupportedCard { .. }
        | CardError::CieCardLost { .. } => 4,
        CardError::WrongPin { .. }
        | CardError::WrongPuk { .. }
        | CardError::InvalidPinFormat
        | CardError::InvalidCiePinFormat => 5,
        CardError::PinBlocked | CardError::PukBlocked => 6,
        CardError::CardBusy => 7,
        CardError::PinLastTry => 8,
        _ => 1,
    }
}

fn run(cmd: CardCmd) -> Result<(), CardError> {
    let pcsc = Pcsc::establish()?;
    match cmd {
        CardCmd::List { json } => list(&pcsc, json),
        CardCmd::Info {
            reader,
            trust_anchor,
            json,
        } => info(&pcsc, reader, &trust_anchor, json),
        CardCmd::VerifyPin {
            reader,
            confirm_last_try,
        } => {
            match connect(&pcsc, reader)? {
                (_, AnyCard::Cns(mut card)) => {
                    let mut memory = PinMemory::load();
                    let serial = card.read_serial().ok();
                    last_try_allowed(&memory, serial.as_deref(), confirm_last_try)?;
                    let pin = read_pin()?;
                    let outcome = card.verify_pin(&pin);
                    memory.learn(serial.as_deref(), &outcome);
                    outcome?;
                }
                (_, AnyCard::Cie(mut card)) => {
                    // The NIS first: a card that is not a readable CIE fails before the PIN,
                    // and it names the CIE whose last-try state is remembered.
                    let key = pin_memory::cie_key(&card.read_nis()?);
                    let mut memory = PinMemory::load();
                    last_try_allowed(&memory, Some(&key), confirm_last_try)?;
                    let pin = read_pin()?;
                    let outcome = card
                        .open_secure_channel()
                        .and_then(|channel| channel.verify_pin(&pin));
                    memory.learn(Some(&key), &outcome);
                    outcome?;
                }
            }
            println!("PIN corretto.");
            Ok(())
        }
        CardCmd::Sign {
            reader,
            challenge,
            confirm_last_try,
            json,
        } => {
            let challenge = parse_hex(&challenge).ok_or_else(|| CardError::Malformed {
                what: "--challenge is not hex".into(),
            })?;
            let signed = match connect(&pcsc, reader)? {
                (_, AnyCard::Cns(mut card)) => {
                    // Read the certificate before asking for the PIN: a card without one fails
                    // fast.
                    card.read_auth_certificate()?;
                    let mut memory = PinMemory::load();
                    let serial = card.read_serial().ok();
                    last_try_allowed(&memory, serial.as_deref(), confirm_last_try)?;
                    let pin = read_pin()?;
                    let outcome = card.verify_pin_and_sign(&pin, &challenge);
                    memory.learn(serial.as_deref(), &outcome);
                    outcome?
                }
                (_, AnyCard::Cie(mut card)) => {
                    // A CIE shows its certificate only after the PIN; the secure channel, the
                    // VERIFY, the certificate and the signature go in one card transaction.
                    // Its NIS (no PIN) names it for the last-try guard.
                    let key = pin_memory::cie_key(&card.read_nis()?);
                    let mut memory = PinMemory::load();
                    last_try_allowed(&memory, Some(&key), confirm_last_try)?;
                    let pin = read_pin()?;
                    let outcome = card.verify_pin_and_sign(&pin, &challenge, |_| Ok(()));
                    memory.learn(Some(&key), &outcome);
                    outcome?
                }
            };
            if json {
                let v = serde_json::json!({
                    "signature": hex(&signed.signature),
                    "algorithm": "RSASSA-PKCS1-v1_5/SHA-256",
                    "certificate": signed.certificate,
                    "certificate_der": hex(&signed.certificate.der),
                });
                println!("{v}");
            } else {
                println!("firma: {}", hex(&signed.signature));
                println!("certificato: {}", signed.certificate.subject);
            }
            Ok(())
        }
    }
}

fn list(pcsc: &Pcsc, json: bool) -> Result<(), CardError> {
    let readers = pcsc.readers()?;
    if json {
        println!("{}", serde_json::json!({ "readers": readers }));
        return Ok(());
    }
    if readers.is_empty() {
        println!("Nessun lettore collegato.");
    }
    for r in readers {
        let nfc = if r.interface == ReaderInterface::Contactless {
            " (NFC)"
        } else {
            ""
        };
        match &r.card {
            Some(card) => println!(
                "{}{nfc}: {}{} [ATR {}] — {}",
                r.name,
                card.describe(),
                if r.exclusive { " (in uso)" } else { "" },
                card.atr,
                r.instruction_it()
            ),
            None => println!("{}{nfc}: nessuna carta", r.name),
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct Info {
    reader: String,
    interface: ReaderInterface,
    profile: pec_card::CardProfile,
    #[serde(skip_serializing_if = "Option::is_none")]
    cie: Option<CieInfo>,
    serial: Option<String>,
    personal_data: Option<PersonalData>,
    codice_fiscale: Option<String>,
    certificates: Vec<CertInfo>,
}

/// What a CIE tells before the PIN.
#[derive(Serialize)]
struct CieInfo {
    nis: String,
    chip: Option<CieChip>,
    passive_authentication: Option<PassiveAuthentication>,
    /// Why the passive authentication could not run, if it could not.
    passive_authentication_error: Option<String>,
    certificate: &'static str,
}

#[derive(Serialize)]
struct CertInfo {
    slot: &'static str,
    qualified: bool,
    validity: ValidityStatus,
    #[serde(flatten)]
    certificate: Certificate,
}

fn info(
    pcsc: &Pcsc,
    reader: Option<String>,
    anchors: &[std::path::PathBuf],
    json: bool,
) -> Result<(), CardError> {
    let (reader, card) = connect(pcsc, reader)?;
    let interface = pcsc
        .readers()?
        .into_iter()
        .find(|r| r.name == reader)
        .map_or(ReaderInterface::Unknown, |r| r.interface);
    let mut card = match card {
        AnyCard::Cns(card) => card,
        AnyCard::Cie(card) => return info_cie(reader, interface, card, anchors, json),
    };
    let serial = card.read_serial().ok();
    let personal_data = card.read_personal_data().ok();
    let now = SystemTime::now();
    let mut certificates = Vec::new();
    let auth = card.read_auth_certificate()?;
    certificates.push(CertInfo {
        slot: "authentication",
        qualified: auth.is_qualified(),
        validity: auth.validity_at(now),
        certificate: auth.clone(),
    });
    if let Some(sig) = card.read_signature_certificate()? {
        certificates.push(CertInfo {
            slot: "signature",
            qualified: sig.is_qualified(),
            validity: sig.validity_at(now),
            certificate: sig,
        });
    }
    let info = Info {
        reader,
        interface,
        cie: None,
        profile: card.profile().clone(),
        serial,
        codice_fiscale: auth.codice_fiscale.clone(),
        personal_data,
        certificates,
    };
    if json {
        println!(
            "{}",
            serde_json::to_string(&info).map_err(|e| CardError::Malformed {
                what: e.to_string()
            })?
        );
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "Lettore:         {}", info.reader);
    let _ = writeln!(out, "Carta:           {}", info.profile.describe());
    if let Some(label) = info.profile.label {
        let _ = writeln!(out, "Modello noto:    {label}");
    }
    let _ = writeln!(out, "ATR:             {}", info.profile.atr);
    let _ = writeln!(
        out,
        "Numero carta:    {}",
        info.serial.as_deref().unwrap_or("-")
    );
    if let Some(pd) = &info.personal_data {
        let _ = writeln!(out, "Titolare:        {} {}", pd.given_name, pd.surname);
    }
    let _ = writeln!(
        out,
        "Codice fiscale:  {}",
        info.codice_fiscale
            .as_deref()
            .unwrap_or("assente nel certificato")
    );
    for c in &info.certificates {
        let role = match c.certificate.role {
            CertificateRole::CnsAuthentication => "autenticazione CNS",
            CertificateRole::QualifiedSignature => "firma qualificata",
            CertificateRole::Authentication => "autenticazione",
            CertificateRole::Other => "altro",
        };
        let validity = match c.validity {
            ValidityStatus::Valid => "valido",
            ValidityStatus::Expired => "SCADUTO",
            ValidityStatus::NotYetValid => "non ancora valido",
        };
        let _ = writeln!(out, "Certificato ({role}, {validity}):");
        let _ = writeln!(out, "  soggetto:      {}", c.certificate.subject);
        let _ = writeln!(out, "  emittente:     {}", c.certificate.issuer);
        let _ = writeln!(
            out,
            "  validità:      {} → {}",
            c.certificate.not_before, c.certificate.not_after
        );
        let _ = writeln!(
            out,
            "  qualificato:   {}",
            if c.qualified { "sì" } else { "no" }
        );
    }
    Ok(())
}

fn info_cie(
    reader: String,
    interface: ReaderInterface,
    mut card: pec_card::CieCard<pec_card::PcscCard>,
    anchors: &[std::path::PathBuf],
    json: bool,
) -> Result<(), CardError> {
    let before = card.before_pin()?;
    let mut anchor_ders = Vec::new();
    for path in anchors {
        anchor_ders.push(std::fs::read(path).map_err(|e| CardError::Malformed {
            what: format!("--trust-anchor {}: {e}", path.display()),
        })?);
    }
    let (pa, pa_error) = match card.passive_authentication(&anchor_ders) {
        Ok(pa) => (Some(pa), None),
        Err(e) => (None, Some(e.message_it())),
    };
    let info = Info {
        reader,
        interface,
        profile: before.profile.clone(),
        cie: Some(CieInfo {
            nis: before.nis.clone(),
            chip: before.chip,
            passive_authentication: pa,
            passive_authentication_error: pa_error,
            certificate: "readable_after_pin",
        }),
        serial: None,
        personal_data: None,
        codice_fiscale: None,
        certificates: Vec::new(),
    };
    if json {
        println!(
            "{}",
            serde_json::to_string(&info).map_err(|e| CardError::Malformed {
                what: e.to_string()
            })?
        );
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "Lettore:         {} ({})",
        info.reader,
        match info.interface {
            ReaderInterface::Contactless => "senza contatto, NFC",
            ReaderInterface::Contact => "a contatto",
            ReaderInterface::Unknown => "tipo non noto",
        }
    );
    let _ = writeln!(out, "Carta:           {}", info.profile.describe());
    let _ = writeln!(out, "ATR:             {}", info.profile.atr);
    let _ = writeln!(out, "NIS:             {}", before.nis);
    if let Some(cie) = &info.cie {
        match (
            &cie.passive_authentication,
            &cie.passive_authentication_error,
        ) {
            (Some(pa), _) => {
                let _ = writeln!(
                    out,
                    "Autenticità:     {} (firmatario: {}; catena verso la radice CIE: {})",
                    if pa.ok() {
                        "dati della carta integri"
                    } else {
                        "DATI NON CORRISPONDENTI"
                    },
                    pa.signer,
                    match pa.signer_chains_to_anchor {
                        Some(true) => "sì",
                        Some(false) => "NO",
                        None => "non verificata (nessuna radice configurata)",
                    }
                );
            }
            (None, Some(e)) => {
                let _ = writeln!(out, "Autenticità:     non verificabile: {e}");
            }
            (None, None) => {}
        }
    }
    let _ = writeln!(
        out,
        "Certificato:     leggibile solo dopo il PIN (pec card sign): codice fiscale, nome e \
         validità si vedono lì."
    );
    Ok(())
}

/// Picks the reader: the named one, or the first whose card is a CNS or a CIE.
fn connect(pcsc: &Pcsc, reader: Option<String>) -> Result<(String, AnyCard), CardError> {
    let name = match reader {
        Some(r) => r,
        None => {
            let readers = pcsc.readers()?;
            if readers.is_empty() {
                return Err(CardError::NoReaders);
            }
            readers
                .iter()
                .find(|r| {
                    r.card
                        .as_ref()
                        .is_some_and(|c| c.cns().is_some() || matches!(c.kind, CardKind::Cie3))
                })
                .or_else(|| readers.iter().find(|r| r.card.is_some()))
                .map(|r| r.name.clone())
                .ok_or(CardError::NoCard)?
        }
    };
    let card = pcsc.connect_card(&name)?;
    Ok((name, card))
}

/// The last-try guard (`pec_card::guard`): when this card's last attempt left one try, the PIN
/// goes only with `--confirm-last-try` or a "s" typed at the terminal's question.
fn last_try_allowed(
    memory: &PinMemory,
    serial: Option<&str>,
    confirmed: bool,
) -> Result<(), CardError> {
    let tries = memory.tries(serial);
    if confirmed || !tries.is_last_try() {
        return tries.allow(LastTry::Confirmed);
    }
    if std::io::stdin().is_terminal() {
        eprint!(
            "È l'ultimo tentativo: se il PIN è sbagliato la carta si blocca. Continuare? [s/N] "
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|_| CardError::PinLastTry)?;
        if matches!(answer.trim(), "s" | "S" | "si" | "sì" | "y" | "yes") {
            return tries.allow(LastTry::Confirmed);
        }
    }
    tries.allow(LastTry::NotConfirmed)
}

fn read_pin() -> Result<Pin, CardError> {
    let stdin = std::io::stdin();
    let raw = if stdin.is_terminal() {
        rpassword::prompt_password("PIN: ").map_err(|_| CardError::InvalidPinFormat)?
    } else {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|_| CardError::InvalidPinFormat)?;
        line
    };
    Pin::new(raw)
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let s: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
