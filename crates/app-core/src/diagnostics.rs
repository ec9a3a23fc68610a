//! "Esporta diagnostica": a zip for the helpdesk with the app's logs and the
//! facts about this computer's readers and cards (names, ATRs, card types), the app's version
//! and the OS.
//!
//! Never a PIN, token, password, OTP or codice fiscale: the logs are written without them, and
//! every line is scrubbed again on the way into the zip ([`scrub`]), in case a future log line
//! slips. Entries are stored uncompressed, so what the zip holds is what its bytes show: the
//! test scans the raw file, as a helpdesk's search would.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cards::ReadersUpdate;

/// The most log text the zip carries (the newest files first, each file's end first).
const MAX_LOG_BYTES: usize = 8 * 1024 * 1024;

/// What replaces a secret.
const REDACTED: &str = "[redatto]";

/// Words that, as (the end of) a key, announce a secret value after `=`, `:` or a space.
const SECRET_KEYS: &[&str] = &[
    "pin",
    "puk",
    "otp",
    "totp",
    "code",
    "codice",
    "password",
    "passwd",
    "token",
    "secret",
    "bearer",
    "authorization",
    "cookie",
    "codice_fiscale",
    "fiscal_code",
    "tax_code",
    "cf",
];

/// The facts besides the logs.
#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    pub app_version: String,
    pub os: String,
    pub arch: String,
    pub branding: Option<String>,
    pub readers: ReadersUpdate,
}

impl Facts {
    /// The facts of this run.
    pub fn now(app_version: &str, branding: Option<String>, readers: ReadersUpdate) -> Self {
        Facts {
            app_version: app_version.to_owned(),
            os: std::env::consts::OS.to_owned(),
            arch: std::env::consts::ARCH.to_owned(),
            branding,
            readers,
        }
    }
}

/// The zip's bytes: `facts.json` and `logs/<file>` for each log file in `log_dir`.
pub fn build(log_dir: &Path, facts: &Facts) -> std::io::Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .unix_permissions(0o600);
    let facts_json = serde_json::to_string_pretty(facts).map_err(std::io::Error::other)?;
    zip.start_file("facts.json", options)
        .map_err(std::io::Error::other)?;
    zip.write_all(scrub(&facts_json).as_bytes())?;

    let mut files: Vec<(std::time::SystemTime, std::path::PathBuf)> =
        match std::fs::read_dir(log_dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| {
                    let modified = e
                        .metadata()
                        .and_then(|m| m.modified())
                        .unwrap_or(std::time::UNIX_EPOCH);
                    (modified, e.path())
                })
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    let mut budget = MAX_LOG_BYTES;
    for (_, path) in files {
        if budget == 0 {
            break;
        }
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        let bytes = std::fs::read(&path)?;
        let start = bytes.len().saturating_sub(budget);
        budget -= bytes.len() - start;
        let text = String::from_utf8_lossy(&bytes[start..]);
        zip.start_file(format!("logs/{name}"), options)
            .map_err(std::io::Error::other)?;
        for line in text.lines() {
            zip.write_all(scrub(line).as_bytes())?;
            zip.write_all(b"\n")?;
        }
    }
    let cursor = zip.finish().map_err(std::io::Error::other)?;
    Ok(cursor.into_inner())
}

/// Writes the zip to `dest` (a path the user chose).
pub fn export(log_dir: &Path, facts: &Facts, dest: &Path) -> std::io::Result<u64> {
    let bytes = build(log_dir, facts)?;
    pec_files::write_atomic(dest, &bytes)?;
    Ok(bytes.len() as u64)
}

/// The name the save dialog proposes: `pec-desktop-diagnostica-<date>-<time>.zip`.
pub fn file_name(now: chrono::NaiveDateTime) -> String {
    format!("pec-desktop-diagnostica-{}.zip", now.format("%Y%m%d-%H%M"))
}

/// "Esporta diagnostica" once the user picked `dest`: this computer's facts now (the readers
/// as PC/SC sees them), the zip written away from the async threads.
pub async fn export_to(core: &crate::Core, app_version: &str, dest: PathBuf) -> crate::Result<()> {
    let readers = crate::cards::readers(core).await?;
    let facts = Facts::now(
        app_version,
        core.brand.as_ref().map(|b| b.id.clone()),
        readers,
    );
    let log_dir = core.log_dir.clone();
    crate::blocking(move || {
        export(&log_dir, &facts, &dest).map_err(|e| {
            tracing::warn!(error = %e, "diagnostics not written");
            crate::AppError::Localized(pec_domain::Localized::new(
                "diagnostics.write_failed",
                "Non è stato possibile salvare il file della diagnostica: scegli un'altra cartella.",
                "The diagnostics file could not be saved: choose another folder.",
            ))
        })
    })
    .await?;
    tracing::info!("diagnostics exported");
    Ok(())
}

/// `line` without secrets: values after secret keys, codici fiscali and long opaque strings
/// (tokens) become [`REDACTED`].
pub fn scrub(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    // Set after a secret key: the next value is dropped.
    let mut hide_next = false;
    while i < chars.len() {
        let c = chars[i];
        if is_word(c) {
            let start = i;
            while i < chars.len() && is_word(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if hide_next {
                out.push_str(REDACTED);
                hide_next = false;
                // A "Bearer <token>" value: the token goes too.
                if word.eq_ignore_ascii_case("bearer") {
                    hide_next = true;
                }
            } else if is_codice_fiscale(&word) || is_opaque(&word) {
                out.push_str(REDACTED);
            } else {
                out.push_str(&word);
                hide_next = is_secret_key(&word);
            }
        } else {
            out.push(c);
            // Between a key and its value only separators and quotes may stand.
            if hide_next && !matches!(c, '=' | ':' | ' ' | '"' | '\'' | '\\') {
                hide_next = false;
            }
            i += 1;
        }
    }
    out
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '+' | '/' | '~')
}

fn is_secret_key(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    let lower = lower.trim_end_matches(['.', '-', '_']);
    SECRET_KEYS.iter().any(|key| {
        lower == *key
            || lower
                .strip_suffix(key)
                .is_some_and(|rest| rest.ends_with(['_', '-', '.']))
    })
}

/// The 16-character personal codice fiscale (letters where the format has letters; digits
/// or, for omocodia, the letters L M N P Q R S T U V where it has digits).
fn is_codice_fiscale(word: &str) -> bool {
    let b = word.as_bytes();
    if b.len() != 16 {
        return false;
    }
    let letter = |c: u8| c.is_ascii_alphabetic();
    let digit = |c: u8| c.is_ascii_digit() || b"LMNPQRSTUVlmnpqrstuv".contains(&c);
    b.iter().enumerate().all(|(i, &c)| match i {
        0..=5 | 8 | 11 | 15 => letter(c),
        _ => digit(c),
    })
}

/// A long string of letters and digits that is not a word, a path or a UUID: a token.
fn is_opaque(word: &str) -> bool {
    if word.len() < 24 || word.contains('/') || is_uuid(word) {
        return false;
    }
    let digits = word.chars().filter(char::is_ascii_digit).count();
    let letters = word.chars().filter(char::is_ascii_alphabetic).count();
    digits > 0 && letters > 0
}

fn is_uuid(word: &str) -> bool {
    word.len() == 36
        && word.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_log_lines_are_redacted_and_the_rest_stays() {
        for (line, secret) in [
            ("verify pin=123456 reader=\"ACS ACR39U\"", "123456"),
            (
                "{\"password\":\"Segreta-Lunga-1\",\"login\":\"mario\"}",
                "Segreta-Lunga-1",
            ),
            ("sent Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
            ("access_token=qwe rty", "qwe"),
            ("otp 482913 rifiutato", "482913"),
            ("titolare RSSMRA80A01H501U identificato", "RSSMRA80A01H501U"),
            ("omocodia RSSMRA80A01H5LMU", "RSSMRA80A01H5LMU"),
            (
                "tok eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.sig1234",
                "eyJhbGci",
            ),
        ] {
            let clean = scrub(line);
            assert!(!clean.contains(secret), "{line} -> {clean}");
            assert!(clean.contains(REDACTED), "{line} -> {clean}");
        }
        let plain = "2026-12-07T10:00:00.123456Z INFO reader \"ACS ACR39U ICC Reader 00 00\" \
                     request 6f1c0a4e-93a1-4c1e-9a55-3a1c0de4b2f1 /home/mario/.local/share/x.log";
        assert_eq!(scrub(plain), plain);
    }
}
