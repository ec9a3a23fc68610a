//! `pec check …` through the real binary: exit codes, normalisation, and reasons in both
//! languages. Needs no card rig.

use std::process::{Command, Output};

fn pec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pec"))
        .args(args)
        .output()
        .expect("pec runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn valid_person_code_exits_0_and_is_normalised() {
    let out = pec(&["check", "codice-fiscale", " rssmra45c12f205c "]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("RSSMRA45C12F205C"), "{text}");
    assert!(text.contains("12/03"), "{text}");
}

#[test]
fn omocodic_code_is_valid_and_reported_as_such() {
    let out = pec(&["check", "codice-fiscale", "RSSMRAQRCMNFNLRG"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("omocodia / omocodic: sì"));
}

#[test]
fn wrong_check_character_exits_1_with_reason_in_both_languages() {
    let out = pec(&["check", "codice-fiscale", "FOXDRA26C24H872A"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("non valido:"), "{err}");
    assert!(err.contains("not valid:"), "{err}");
    assert!(err.contains("[cf.checksum]"), "{err}");
}

#[test]
fn impossible_date_is_rejected() {
    let out = pec(&["check", "codice-fiscale", "CNTCHR83T32D969H", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["error"]["code"], "cf.day");
}

#[test]
fn numeric_company_code_is_accepted_as_codice_fiscale() {
    let out = pec(&["check", "codice-fiscale", "97678190584", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["valid"], true);
    assert_eq!(report["kind"], "numeric");
    assert_eq!(report["normalized"], "97678190584");
}

#[test]
fn partita_iva_valid_and_invalid() {
    let ok = pec(&["check", "partita-iva", "IT00743110157"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("00743110157"));

    let bad = pec(&["check", "partita-iva", "00743110158", "--json"]);
    assert_eq!(bad.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&bad)).unwrap();
    assert_eq!(report["error"]["code"], "piva.checksum");
    assert!(report["error"]["message_it"].as_str().unwrap().len() > 5);
}

#[test]
fn missing_value_is_a_usage_error() {
    let out = pec(&["check", "partita-iva"]);
    assert_eq!(out.status.code(), Some(2));
}
