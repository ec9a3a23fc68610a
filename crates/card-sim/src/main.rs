//! `pec-card-sim`: runs a virtual CNS card or CIE in vpcd's slot until interrupted.
//!
//! Needs pcscd with `vsmartcard-vpcd` (see `scripts/rig/pcsc.sh`). Handy for demos and for
//! trying `pec card info` or OpenSC by hand.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use pec_card_sim::{CieProfileName, ProfileName, SimCard, SimOptions, vpcd_reader_name};

/// Virtual Italian CNS card or CIE 3.0 for vsmartcard-vpcd.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Args {
    /// Card profile. CNS: stincard-2048, athena-2048, cns-v1-1024, idemia-2021, blocked-pin, last-try,
    /// expired-cert, no-cf, pulled, revocation-good, revoked. CIE (PIN 12345678): cie-nxp, cie-gemalto, cie-stm3,
    /// cie-actalis-2023, cie-blocked-pin, cie-expired-cert, cie-other-holder, cie-lifted,
    /// cie-mac-error.
    #[arg(long, default_value = "stincard-2048")]
    profile: String,
    /// vpcd slot (0 = reader "Virtual PCD 00 00", TCP 35963).
    #[arg(long, default_value_t = 0)]
    slot: u16,
    /// Pull the card out after this many answered APDUs.
    #[arg(long)]
    pull_after: Option<usize>,
    /// Print every APDU (PIN data redacted) when the card stops.
    #[arg(long)]
    log_apdus: bool,
    /// Append every APDU (PIN data redacted) as a JSON line to this file, as it happens.
    #[arg(long)]
    apdu_log_file: Option<std::path::PathBuf>,
    /// Write the test CA certificate (DER) to this file and exit, e.g. to give it to
    /// `pec sandbox serve --trust-anchor`.
    #[arg(long)]
    export_ca: Option<std::path::PathBuf>,
    /// Write the test *qualified* CA certificate (DER, the issuer of the signature
    /// certificates in DF_DS) to this file and exit: the anchor of signed request forms
    /// (`pec-sandbox serve --signature-ca`, `pec verify --ca`).
    #[arg(long)]
    export_qualified_ca: Option<std::path::PathBuf>,
    /// Write the test CIE root certificate (DER) to this file and exit: the anchor of the
    /// virtual CIEs' certificates and SOD (`pec card info --trust-anchor`).
    #[arg(long)]
    export_cie_root: Option<std::path::PathBuf>,
    /// Stop after this many seconds (default: run until killed).
    #[arg(long)]
    seconds: Option<u64>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let (cns, cie) = match (
        args.profile.parse::<ProfileName>(),
        args.profile.parse::<CieProfileName>(),
    ) {
        (Ok(p), _) => (p, None),
        (_, Ok(c)) => (ProfileName::Stincard2048, Some(c)),
        (Err(e), Err(_)) => {
            eprintln!("pec-card-sim: {e}, nor a CIE profile");
            return ExitCode::from(2);
        }
    };
    if let Some(path) = &args.export_cie_root {
        let written = pec_card_sim::VirtualCie::new(cie.unwrap_or(CieProfileName::Nxp).profile())
            .map_err(|e| e.to_string())
            .and_then(|c| {
                std::fs::write(path, &c.credentials().root_cert).map_err(|e| e.to_string())
            });
        return match written {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("pec-card-sim: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(path) = &args.export_qualified_ca {
        let written = pec_card_sim::VirtualCard::new(cns.profile())
            .map_err(|e| e.to_string())
            .and_then(|c| {
                std::fs::write(path, &c.credentials().qualified_ca_cert).map_err(|e| e.to_string())
            });
        return match written {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("pec-card-sim: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(path) = &args.export_ca {
        let written = pec_card_sim::VirtualCard::new(cns.profile())
            .map_err(|e| e.to_string())
            .and_then(|c| {
                std::fs::write(path, &c.credentials().ca_cert).map_err(|e| e.to_string())
            });
        return match written {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("pec-card-sim: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let mut opts = SimOptions::new(cns).slot(args.slot);
    opts.cie = cie;
    opts.pull_after = args.pull_after;
    opts.apdu_log_file = args.apdu_log_file.clone();
    let card = match SimCard::start(opts) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pec-card-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    let holder = card
        .with_cie(|c| c.profile().holder)
        .unwrap_or_else(|| card.with_card(|c| c.profile().holder));
    eprintln!(
        "pec-card-sim: {} ({} {}, {}) in \"{}\"; PIN {}, PUK {}",
        args.profile,
        holder.given_name,
        holder.surname,
        holder.codice_fiscale,
        vpcd_reader_name(args.slot),
        if cie.is_some() {
            pec_card_sim::CIE_PIN
        } else {
            pec_card_sim::DEFAULT_PIN
        },
        pec_card_sim::DEFAULT_PUK,
    );
    if card.wait_powered(Duration::from_secs(30)) {
        eprintln!("pec-card-sim: card powered by pcscd");
    } else {
        eprintln!("pec-card-sim: still waiting for vpcd (is pcscd running?)");
    }
    match args.seconds {
        Some(s) => std::thread::sleep(Duration::from_secs(s)),
        None => loop {
            std::thread::park();
        },
    }
    if args.log_apdus {
        for r in card.apdu_log() {
            println!(
                "{:02X} {:02X} {:02X} {:02X} Lc={} -> {:04X} ({} bytes)",
                r.cla, r.ins, r.p1, r.p2, r.data_len, r.sw, r.response_len
            );
        }
    }
    card.stop();
    ExitCode::SUCCESS
}
