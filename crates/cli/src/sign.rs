//! `pec sign` and `pec verify`: CAdES-BES `.p7m` files (pec-sign) from the command line.
//!
//! `pec sign` signs with a PKCS#11 module (`--module`, the vendor's or OpenSC's), the CNS
//! signature DF of a card (`--reader`, or the first CNS), or a CSC v2 remote signature service
//! (`--csc`). The PIN (or the password and then the OTP) comes from the terminal without echo,
//! or from standard input when piped: never from the command line. The certificate is shown
//! before the PIN is asked for, with the token's warning when a wrong PIN was already entered.
//!
//! `pec verify` prints the signer, the codice fiscale, the certificate's validity and whether
//! the content is intact, and exits non-zero unless the signature is valid for the given CAs.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pec_card::Pcsc;
use pec_domain::{DomainError, Lang};
use pec_sign::card::{CardSigner, from_card, pin_outcome, signature_pin_key};
use pec_sign::csc::{CscClient, Secret, sign_cades};
use pec_sign::pkcs11::{Pkcs11Module, Selection, TokenPin, parse_cert_id};
use pec_sign::{Policy, SignError, TrustedCas, VerifyError, cades, verify};
use zeroize::Zeroizing;

pub const SIGN_EXIT_CODES: &str = "\
Exit codes / codici di uscita:
  0  signed / firmato
  1  other error / altro errore
  2  wrong usage, or more than one signature certificate (use --token / --cert-id) / uso errato
  3  no reader, card, module, token or signature certificate / dispositivo o certificato assente
  5  wrong PIN (tries left printed), or credentials / OTP refused / PIN errato o credenziali rifiutate
  6  PIN blocked / PIN bloccato
  8  file not readable or not writable / file non leggibile o non scrivibile";

pub const VERIFY_EXIT_CODES: &str = "\
Exit codes / codici di uscita:
  0  valid signature for the given CAs / firma valida per le CA indicate
  1  not valid (content altered, certificate expired, untrusted, not qualified…) / non valida
  4  consistent and content intact, but no --ca given: the signer is not verified /
     integra, ma senza --ca il firmatario non è verificato
  8  file not readable / file non leggibile";

#[derive(clap::Args, Debug)]
pub struct SignArgs {
    /// The document to sign (any file; the .p7m contains it).
    #[arg(long = "in", value_name = "FILE")]
    input: PathBuf,
    /// Where to write the signed file (CAdES-BES, DER, content attached).
    #[arg(long, value_name = "FILE.p7m")]
    out: PathBuf,
    /// PKCS#11 module of the signature device (the vendor's, or OpenSC's opensc-pkcs11.so).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["reader", "csc"])]
    module: Option<PathBuf>,
    /// Token label (with --module), when the module shows more than one.
    #[arg(long, value_name = "LABEL", requires = "module")]
    token: Option<String>,
    /// Certificate CKA_ID in hex (with --module), when there is more than one signature certificate.
    #[arg(long, value_name = "HEX", requires = "module")]
    cert_id: Option<String>,
    /// Reader of a CNS with the signature DF (default: the first reader holding a CNS).
    #[arg(long, value_name = "NAME", conflicts_with = "csc")]
    reader: Option<String>,
    /// Send the signature PIN even if it is the card's last try (with the card's signature DF;
    /// without it a script is refused with exit code 8, a terminal is asked).
    #[arg(long, conflicts_with_all = ["module", "csc"])]
    confirm_last_try: bool,
    /// Base URL of a CSC API v2 remote signature service (firma remota), e.g.
    /// https://firma.example/csc/v2; password and OTP are read after the user.
    #[arg(long, value_name = "URL", requires_all = ["user", "credential"])]
    csc: Option<String>,
    /// User of the remote signature service (with --csc).
    #[arg(long, requires = "csc")]
    user: Option<String>,
    /// Credential id of the remote signature service (with --csc).
    #[arg(long, requires = "csc")]
    credential: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The signed file (.p7m, DER).
    file: PathBuf,
    /// A trusted CA certificate, PEM or DER (repeatable): the chain must end at one of them.
    #[arg(long = "ca", value_name = "FILE")]
    ca: Vec<PathBuf>,
    /// Write the signed content here (only when it is intact).
    #[arg(long, value_name = "FILE")]
    extract: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub fn run_sign(args: SignArgs) -> ExitCode {
    let document = match std::fs::read(&args.input) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("pec: impossibile leggere {}: {e}", args.input.display());
            return ExitCode::from(8);
        }
    };
    let result = if let Some(module) = &args.module {
        sign_pkcs11(module, &args, &document)
    } else if let Some(url) = &args.csc {
        sign_csc(url, &args, &document)
    } else {
        sign_card(args.reader.clone(), args.confirm_last_try, &document)
    };
    match result {
        Ok(p7m) => {
            if let Err(e) = std::fs::write(&args.out, &p7m) {
                eprintln!("pec: impossibile scrivere {}: {e}", args.out.display());
                return ExitCode::from(8);
            }
            eprintln!("firmato: {} ({} byte)", args.out.display(), p7m.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pec: {} [{}]", e.message(Lang::It), e.code());
            ExitCode::from(sign_exit_code(&e))
        }
    }
}

fn sign_exit_code(e: &SignError) -> u8 {
    match e {
        SignError::AmbiguousCertificate { .. } => 2,
        SignError::ModuleNotFound(_)
        | SignError::TokenNotFound(_)
        | SignError::NoSigningCertificate
        | SignError::RemoteUnreachable(_) => 3,
        SignError::Card { code, .. }
            if matches!(
                *code,
                "card.no_pcsc" | "card.no_readers" | "card.no_card" | "card.reader_unavailable"
            ) =>
        {
            3
        }
        SignError::WrongPin { .. }
        | SignError::InvalidPinFormat
        | SignError::RemoteRefused
        | SignError::RemoteLocked { .. } => 5,
        SignError::PinBlocked => 6,
        SignError::Card {
            code: "card.pin_last_try",
            ..
        } => 8,
        _ => 1,
    }
}

fn sign_pkcs11(
    module: &std::path::Path,
    args: &SignArgs,
    document: &[u8],
) -> Result<Vec<u8>, SignError> {
    let cert_id = match &args.cert_id {
        Some(s) => Some(parse_cert_id(s).ok_or_else(|| {
            SignError::Pkcs11("--cert-id: not hexadecimal / non esadecimale".into())
        })?),
        None => None,
    };
    let module = Pkcs11Module::load(module)?;
    let cert = module.select(&Selection {
        token_label: args.token.clone(),
        cert_id,
    })?;
    eprintln!(
        "certificato: {} (token {:?}, id {})",
        cert.subject, cert.token.label, cert.id
    );
    if let Some(warning) = cert.token.pin_warning() {
        eprintln!("{}", warning.message_it);
    }
    let pin = TokenPin::new(read_secret("PIN: ")?.to_string())?;
    let mut signer = module.signer_for(cert, pin);
    cades::sign(document, &mut signer, SystemTime::now())
}

fn sign_card(
    reader: Option<String>,
    confirm_last_try: bool,
    document: &[u8],
) -> Result<Vec<u8>, SignError> {
    let pcsc = Pcsc::establish().map_err(from_card)?;
    // A CIE carries an authentication certificate only: a firma digitale needs a signature
    // card or token.
    let mut card = match crate::connect(&pcsc, reader).map_err(from_card)? {
        (_, pec_card::AnyCard::Cns(card)) => card,
        (_, pec_card::AnyCard::Cie(_)) => return Err(SignError::NoSigningCertificate),
    };
    let cert = card
        .read_signature_certificate()
        .map_err(from_card)?
        .ok_or(SignError::NoSigningCertificate)?;
    eprintln!("certificato: {}", cert.subject);
    // The signature PIN's own last-try guard, from what its last attempt taught.
    let mut memory = crate::pin_memory::PinMemory::load();
    let key = card.read_serial().ok().map(|s| signature_pin_key(&s));
    crate::last_try_allowed(&memory, key.as_deref(), confirm_last_try).map_err(from_card)?;
    let pin = pec_card::Pin::new(read_secret("PIN di firma: ")?.to_string()).map_err(from_card)?;
    let mut signer = CardSigner::with_certificate(card, cert, pin);
    let signed = cades::sign(document, &mut signer, SystemTime::now());
    if let Some(outcome) = pin_outcome(&signed) {
        memory.learn(key.as_deref(), &outcome);
    }
    signed
}

fn sign_csc(url: &str, args: &SignArgs, document: &[u8]) -> Result<Vec<u8>, SignError> {
    let (Some(user), Some(credential)) = (&args.user, &args.credential) else {
        return Err(SignError::RemoteRefused);
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SignError::RemoteUnreachable(e.to_string()))?;
    runtime.block_on(async {
        let mut client = CscClient::new(url)?;
        let password = Secret::new(read_secret("Password: ")?.to_string());
        client.login(user, &password).await?;
        drop(password);
        eprintln!("credenziale: {credential}");
        let otp = Secret::new(read_secret("OTP: ")?.to_string());
        sign_cades(&client, credential, otp, document, SystemTime::now()).await
    })
}

/// One secret line: from the terminal without echo, or from standard input when piped (so a
/// script can pass the PIN, then for `--csc` the password and the OTP, one a line).
fn read_secret(prompt: &str) -> Result<Zeroizing<String>, SignError> {
    let stdin = std::io::stdin();
    let mut line = Zeroizing::new(String::new());
    if stdin.is_terminal() {
        *line = rpassword::prompt_password(prompt).map_err(|_| SignError::InvalidPinFormat)?;
    } else {
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|_| SignError::InvalidPinFormat)?;
    }
    let len = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(len);
    Ok(line)
}

#[derive(serde::Serialize)]
struct VerifyReport {
    valid: bool,
    content_intact: bool,
    trusted_cas: usize,
    signing_time: Option<u64>,
    signer: Option<pec_sign::SignerDetails>,
    chain: Vec<String>,
    error: Option<pec_domain::Localized>,
}

pub fn run_verify(args: VerifyArgs) -> ExitCode {
    let p7m = match std::fs::read(&args.file) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("pec: impossibile leggere {}: {e}", args.file.display());
            return ExitCode::from(8);
        }
    };
    let mut trusted = TrustedCas::default();
    for path in &args.ca {
        let loaded = std::fs::read(path)
            .map_err(|e| VerifyError::Malformed(format!("{}: {e}", path.display())))
            .and_then(|b| TrustedCas::from_file_bytes(&b));
        match loaded {
            Ok(cas) => trusted.extend(cas),
            Err(e) => {
                eprintln!("pec: --ca {}: {}", path.display(), e.message(Lang::It));
                return ExitCode::from(2);
            }
        }
    }

    let mut report = VerifyReport {
        valid: false,
        content_intact: false,
        trusted_cas: trusted.len(),
        signing_time: None,
        signer: None,
        chain: Vec::new(),
        error: None,
    };
    let mut content = None;
    match verify::inspect(&p7m) {
        Err(e) => report.error = Some(e.to_localized()),
        Ok(ins) => {
            report.content_intact = true;
            report.signing_time = Some(unix(ins.signing_time));
            report.signer = Some(ins.signer.clone());
            if !trusted.is_empty() {
                match verify::verify(&p7m, &Policy::new(&trusted)) {
                    Ok(ok) => {
                        report.valid = true;
                        report.chain = ok.chain;
                    }
                    Err(e) => report.error = Some(e.to_localized()),
                }
            }
            content = Some(ins.content);
        }
    }
    if let (Some(path), Some(content)) = (&args.extract, &content)
        && let Err(e) = std::fs::write(path, content)
    {
        eprintln!("pec: impossibile scrivere {}: {e}", path.display());
        return ExitCode::from(8);
    }

    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("pec: {e}"),
        }
    } else {
        print_report(&report, content.as_deref());
    }
    if report.valid {
        ExitCode::SUCCESS
    } else if report.content_intact && report.error.is_none() {
        ExitCode::from(4)
    } else {
        ExitCode::from(1)
    }
}

fn print_report(r: &VerifyReport, content: Option<&[u8]>) {
    if let Some(s) = &r.signer {
        let name = match (&s.given_name, &s.surname) {
            (Some(g), Some(f)) => format!("{g} {f}"),
            _ => s.common_name.clone().unwrap_or_else(|| s.subject.clone()),
        };
        println!("firmatario:       {name}");
        println!("soggetto:         {}", s.subject);
        println!(
            "codice fiscale:   {}",
            s.codice_fiscale.as_deref().unwrap_or("(assente)")
        );
        println!("emesso da:        {}", s.issuer);
        let signed_at = r.signing_time.unwrap_or(0);
        let in_validity = (s.not_before..=s.not_after).contains(&signed_at);
        println!(
            "validità:         dal {} al {} ({} alla data della firma)",
            date(s.not_before),
            date(s.not_after),
            if in_validity { "valido" } else { "NON valido" }
        );
        println!("firmato il:       {}", date(signed_at));
        println!(
            "qualificato:      {}",
            if s.qc_compliance || !s.qualified_policies.is_empty() {
                "sì"
            } else {
                "no"
            }
        );
    }
    match content {
        Some(c) => println!("contenuto:        integro ({} byte)", c.len()),
        None => println!("contenuto:        NON verificabile o alterato"),
    }
    for (i, subject) in r.chain.iter().enumerate() {
        println!("catena[{i}]:        {subject}");
    }
    match (&r.error, r.valid) {
        (_, true) => println!("esito:            FIRMA VALIDA"),
        (Some(e), false) => println!(
            "esito:            NON VALIDA: {} [{}]",
            e.message_it, e.code
        ),
        (None, false) => println!(
            "esito:            integra, firmatario NON verificato (indicare la CA con --ca)"
        ),
    }
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `YYYY-MM-DD HH:MM:SS UTC`.
fn date(secs: u64) -> String {
    der::DateTime::from_unix_duration(Duration::from_secs(secs)).map_or_else(
        |_| secs.to_string(),
        |d| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
                d.year(),
                d.month(),
                d.day(),
                d.hour(),
                d.minutes(),
                d.seconds()
            )
        },
    )
}
