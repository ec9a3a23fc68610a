//! `pec check …`: the same validators the app and the sandbox use (`pec-domain`), for
//! helpdesks checking a code a customer reads out, and for scripts cleaning up lists.

use std::process::ExitCode;

use clap::Subcommand;
use pec_domain::{CodiceFiscale, DomainError, PartitaIva, Sex, TaxCode};
use serde::Serialize;

pub const EXIT_CODES: &str = "\
Exit codes / codici di uscita:
  0  valid / valido
  1  not valid (reason printed) / non valido (motivo indicato)
  2  wrong usage / uso errato";

#[derive(Subcommand, Debug)]
pub enum CheckCmd {
    /// A codice fiscale: 16 characters (person, omocodia accepted) or 11 digits (company, body).
    #[command(after_help = EXIT_CODES)]
    CodiceFiscale {
        value: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// A partita IVA: 11 digits, optionally prefixed by IT.
    #[command(after_help = EXIT_CODES)]
    PartitaIva {
        value: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// What a check prints with `--json`: the normalised value when valid, the reason otherwise.
#[derive(Debug, Serialize)]
struct Report {
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    normalized: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<pec_domain::Localized>,
}

pub fn run(cmd: CheckCmd) -> ExitCode {
    let (report, details, json) = match cmd {
        CheckCmd::CodiceFiscale { value, json } => {
            let (report, details) = match TaxCode::parse(&value) {
                Ok(TaxCode::Person(cf)) => (valid(cf.as_str(), "person"), person_details(&cf)),
                Ok(TaxCode::Numeric(cf)) => (
                    valid(cf.as_str(), "numeric"),
                    "codice fiscale numerico (impresa, ente) / numeric codice fiscale (company, body)"
                        .to_owned(),
                ),
                Err(e) => (invalid(&e), String::new()),
            };
            (report, details, json)
        }
        CheckCmd::PartitaIva { value, json } => {
            let (report, details) = match PartitaIva::parse(&value) {
                Ok(piva) => (valid(piva.as_str(), "partita_iva"), String::new()),
                Err(e) => (invalid(&e), String::new()),
            };
            (report, details, json)
        }
    };

    if json {
        match serde_json::to_string(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("pec: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else if let (Some(normalized), true) = (&report.normalized, report.valid) {
        println!("valido / valid: {normalized}");
        if !details.is_empty() {
            println!("{details}");
        }
    } else if let Some(error) = &report.error {
        eprintln!(
            "non valido: {}\nnot valid: {}\n[{}]",
            error.message_it, error.message_en, error.code
        );
    }
    if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn valid(normalized: &str, kind: &'static str) -> Report {
    Report {
        valid: true,
        normalized: Some(normalized.to_owned()),
        kind: Some(kind),
        error: None,
    }
}

fn invalid(error: &dyn DomainError) -> Report {
    Report {
        valid: false,
        normalized: None,
        kind: None,
        error: Some(error.to_localized()),
    }
}

fn person_details(cf: &CodiceFiscale) -> String {
    let (month, day) = cf.birth_month_day();
    let sex = match cf.sex() {
        Sex::Male => "M",
        Sex::Female => "F",
    };
    let omocodic = if cf.is_omocodic() { "sì / yes" } else { "no" };
    format!(
        "persona fisica / natural person: nascita / born {day:02}/{month:02}, sesso / sex {sex}, \
         luogo / place {}, omocodia / omocodic: {omocodic}",
        cf.birthplace_code()
    )
}
