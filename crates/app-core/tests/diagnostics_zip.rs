//! "Esporta diagnostica" with secrets in flight: the app's logs written through a real
//! `tracing` file writer while a PIN, an OTP, a password, session tokens and a codice fiscale
//! pass through log fields (as a careless log line would carry them), then the zip is built
//! and its raw bytes are scanned for each secret. The facts (reader, ATR, card type, version,
//! OS) must be there.

use std::io::Read;

use pec_app_core::cards::{CardType, ReaderView, ReadersUpdate};
use pec_app_core::cie::ReaderLink;
use pec_app_core::diagnostics::{self, Facts};

const PIN: &str = "73914862";
const OTP: &str = "482913";
const PASSWORD: &str = "Tr0ppo-Segreta!";
const ACCESS_TOKEN: &str = "a8F3kq92LmZ0xP4vT7bN1cR6wY5eH2jU";
const REFRESH_TOKEN: &str = "rt_9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a";
const CODICE_FISCALE: &str = "RSSMRA80A01H501U";
const ATR: &str = "3B FF 18 00 00 81 31 FE 45 00 6B 11 05 07 00 01 21 01 43 4E 53 10 31 80 05";

#[test]
fn a_run_with_secrets_in_flight_exports_none_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("logs");
    std::fs::create_dir_all(&log_dir).unwrap();
    let appender = tracing_appender_file(&log_dir);
    let subscriber = tracing_subscriber::fmt()
        .with_writer(appender)
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(
            reader = "ACS ACR39U ICC Reader 00 00",
            atr = ATR,
            "card inserted"
        );
        tracing::warn!(pin = PIN, "VERIFY refused");
        tracing::warn!(otp = OTP, "two-step code refused");
        tracing::info!(password = PASSWORD, login = "mario.rossi", "sign-in");
        tracing::debug!("refresh with refresh_token={REFRESH_TOKEN}");
        tracing::debug!("GET /v1/mailboxes Authorization: Bearer {ACCESS_TOKEN}");
        tracing::info!(codice_fiscale = CODICE_FISCALE, "holder matched");
        tracing::info!("holder {CODICE_FISCALE} confirmed with token {ACCESS_TOKEN}");
        tracing::error!("provider said {{\"code\":\"otp.invalid\",\"otp\":\"{OTP}\"}}");
    });
    let written = std::fs::read_to_string(log_dir.join("pec.log")).unwrap();
    // The secrets really were in the logs: the scrubbing is what keeps them out of the zip.
    for secret in [
        PIN,
        OTP,
        PASSWORD,
        ACCESS_TOKEN,
        REFRESH_TOKEN,
        CODICE_FISCALE,
    ] {
        assert!(written.contains(secret), "{secret} not logged");
    }

    let facts = Facts::now(
        "0.1.0",
        Some("artigiani-demo".into()),
        ReadersUpdate {
            readers: vec![ReaderView {
                name: "ACS ACR39U ICC Reader 00 00".into(),
                card: CardType::Cns,
                card_label: Some("CNS (Actalis, RSA-2048)".into()),
                atr: Some(ATR.into()),
                busy: false,
                link: ReaderLink::Contact,
            }],
            error: None,
        },
    );
    let dest = dir.path().join("diagnostica.zip");
    let size = diagnostics::export(&log_dir, &facts, &dest).unwrap();
    let bytes = std::fs::read(&dest).unwrap();
    assert_eq!(size, bytes.len() as u64);

    let raw = String::from_utf8_lossy(&bytes);
    for secret in [
        PIN,
        OTP,
        PASSWORD,
        ACCESS_TOKEN,
        REFRESH_TOKEN,
        CODICE_FISCALE,
    ] {
        assert!(!raw.contains(secret), "{secret} is in the zip");
    }
    // Stored entries: the raw bytes are the text (so the scan above means something), and
    // the helpdesk facts are there.
    for fact in [
        "ACS ACR39U ICC Reader 00 00",
        ATR,
        "\"cns\"",
        "0.1.0",
        std::env::consts::OS,
        "VERIFY refused",
        "mario.rossi",
    ] {
        assert!(raw.contains(fact), "{fact} missing from the zip");
    }
    // And it is a zip any tool reads.
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut names: Vec<String> = archive.file_names().map(str::to_owned).collect();
    names.sort();
    assert_eq!(names, ["facts.json", "logs/pec.log"]);
    let mut log = String::new();
    archive
        .by_name("logs/pec.log")
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(log.contains("card inserted") && log.contains("[redatto]"));
}

/// A writer appending to `pec.log` in `dir`, as the app's rolling file appender does.
fn tracing_appender_file(dir: &std::path::Path) -> impl Fn() -> std::fs::File + 'static {
    let path = dir.join("pec.log");
    move || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("the test's log file opens")
    }
}
