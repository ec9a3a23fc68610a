//! Branding files of trade associations.
//!
//! Associations hand the app to their members as their own installer: their name and logo,
//! their colours, a preset provider, their support contacts and a default language. All of
//! that lives in one TOML file per association (`branding/<id>.toml`), so a branded installer
//! needs no code change. This crate
//!
//! - reads and validates such a file ([`load`]), collecting *every* problem with the field it
//!   concerns, so a build fails once with the whole list rather than one error at a time;
//! - writes the Tauri `--config` overlay ([`overlay`]) that renames the product and swaps the
//!   icons, and the resource file ([`RESOURCE_NAME`]) bundled with the app;
//! - parses that resource again at run time ([`Branding::from_resource`]), re-checking it, so a
//!   tampered or stale file is refused rather than trusted.
//!
//! The app never reads the TOML file and the build never reads the resource: each side has one
//! format, and both go through the same [`Branding::problems`] rules.
//!
//! # Example
//!
//! ```
//! use pec_branding::Branding;
//!
//! let json = br##"{
//!   "format": 1, "id": "demo", "name": "Associazione Demo", "product_name": "PEC Demo",
//!   "default_language": "en",
//!   "colors": { "primary": "#1F5F8B", "accent": "#E0A526" },
//!   "provider_url": "https://pec.example.it/api",
//!   "support": { "email": "aiuto@example.it" }
//! }"##;
//! let brand = Branding::from_resource(json).unwrap();
//! assert_eq!(brand.product_name, "PEC Demo");
//!
//! let bad = br##"{ "format": 1, "id": "demo", "name": "Associazione Demo",
//!   "product_name": "PEC Demo", "default_language": "it",
//!   "colors": { "primary": "blue", "accent": "#E0A526" },
//!   "provider_url": "http://pec.example.it", "support": {} }"##;
//! let problems = Branding::from_resource(bad).unwrap_err();
//! assert_eq!(problems.fields(), ["colors.primary", "provider_url", "support"]);
//! ```

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use pec_domain::{EmailAddress, Lang};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The file name of the resource bundled with a branded app (in Tauri's resource directory).
pub const RESOURCE_NAME: &str = "branding.json";

/// The version of the resource format; bumped on an incompatible change.
pub const RESOURCE_FORMAT: u32 = 1;

/// The largest logo file accepted: the icons are made from it, and a bigger file is a mistake
/// (an uncompressed scan, a photo), not a logo.
pub const LOGO_MAX_BYTES: u64 = 2 * 1024 * 1024;

/// Raster logos must be square and at least this big, so that the 512 px icon is not blurred.
pub const LOGO_MIN_PX: u32 = 512;

/// ... and at most this big.
pub const LOGO_MAX_PX: u32 = 4096;

/// A validated branding, as the app reads it at start (the resource file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Branding {
    /// [`RESOURCE_FORMAT`].
    pub format: u32,
    /// Short machine name: `a-z`, `0-9` and `-`; names the output files.
    pub id: String,
    /// The association's name, shown in the app ("Associazione Artigiani Demo").
    pub name: String,
    /// The product name of the branded build: window title, menu entry, package name.
    pub product_name: String,
    /// The language of a first start (the user can switch; the choice is kept).
    pub default_language: Lang,
    pub colors: Colors,
    /// The provider API the app signs in to when the user has not configured one.
    pub provider_url: String,
    pub support: Support,
    /// The release feed checked for the update notice (see the `pec-updates` crate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_feed_url: Option<String>,
}

/// The association's colours, `#RRGGBB`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct Colors {
    pub primary: String,
    pub accent: String,
}

/// Where members get help. At least one contact is required.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct Support {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<String>,
}

/// One thing wrong in a branding file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field, as written in the file (`support.email`).
    pub field: String,
    pub message: String,
}

/// Every problem found in a branding file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The file, when there is one.
    pub source: Option<PathBuf>,
    pub problems: Vec<Problem>,
}

impl Invalid {
    fn one(source: Option<&Path>, field: &str, message: impl Into<String>) -> Self {
        Self {
            source: source.map(Path::to_path_buf),
            problems: vec![Problem {
                field: field.to_owned(),
                message: message.into(),
            }],
        }
    }

    /// The fields with a problem, in the order found.
    pub fn fields(&self) -> Vec<&str> {
        self.problems.iter().map(|p| p.field.as_str()).collect()
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(path) => writeln!(f, "invalid branding file {}:", path.display())?,
            None => writeln!(f, "invalid branding:")?,
        }
        for p in &self.problems {
            writeln!(f, "  - {}: {}", p.field, p.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Invalid {}

/// A branding file that passed every check, with its logo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    pub branding: Branding,
    /// The logo file, resolved against the branding file's directory.
    pub logo: PathBuf,
    pub logo_kind: LogoKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoKind {
    Png { width: u32, height: u32 },
    Svg,
}

// ---------------------------------------------------------------------------------------------
// The TOML file

/// The branding file as written by an association. Everything is a plain string here so
/// that the checks can report every bad value, not only the first one serde meets.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileForm {
    id: String,
    name: String,
    product_name: String,
    logo: String,
    default_language: String,
    colors: Colors,
    provider: ProviderForm,
    support: Support,
    #[serde(default)]
    updates: Option<UpdatesForm>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderForm {
    api_url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdatesForm {
    feed_url: String,
}

/// Reads and validates a branding file (TOML), including its logo.
pub fn load(path: &Path) -> Result<Validated, Invalid> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Invalid::one(Some(path), "file", format!("cannot be read: {e}")))?;
    let form: FileForm = toml::from_str(&text).map_err(|e| {
        Invalid::one(
            Some(path),
            "file",
            format!("is not a valid branding file: {e}"),
        )
    })?;

    let mut problems = Vec::new();
    let default_language = match form.default_language.as_str() {
        "it" => Lang::It,
        "en" => Lang::En,
        other => {
            problems.push(problem(
                "default_language",
                format!("must be \"it\" or \"en\", not {other:?}"),
            ));
            Lang::It
        }
    };
    let branding = Branding {
        format: RESOURCE_FORMAT,
        id: form.id,
        name: form.name,
        product_name: form.product_name,
        default_language,
        colors: form.colors,
        provider_url: form.provider.api_url,
        support: form.support,
        release_feed_url: form.updates.map(|u| u.feed_url),
    };
    problems.extend(branding.problems().into_iter().map(|p| Problem {
        // The TOML file nests the provider and the feed; name them as written there.
        field: match p.field.as_str() {
            "provider_url" => "provider.api_url".to_owned(),
            "release_feed_url" => "updates.feed_url".to_owned(),
            _ => p.field,
        },
        message: p.message,
    }));

    let base = path.parent().unwrap_or(Path::new("."));
    let logo = base.join(&form.logo);
    let logo_kind = match check_logo(&form.logo, &logo) {
        Ok(kind) => Some(kind),
        Err(message) => {
            problems.push(problem("logo", message));
            None
        }
    };

    match logo_kind {
        Some(logo_kind) if problems.is_empty() => Ok(Validated {
            branding,
            logo,
            logo_kind,
        }),
        _ => Err(Invalid {
            source: Some(path.to_path_buf()),
            problems,
        }),
    }
}

impl Branding {
    /// Parses and re-checks the resource file the app finds in its resource directory.
    pub fn from_resource(bytes: &[u8]) -> Result<Self, Invalid> {
        let branding: Branding = serde_json::from_slice(bytes)
            .map_err(|e| Invalid::one(None, "file", format!("is not a branding resource: {e}")))?;
        if branding.format != RESOURCE_FORMAT {
            return Err(Invalid::one(
                None,
                "format",
                format!(
                    "is {}, this app reads format {RESOURCE_FORMAT}",
                    branding.format
                ),
            ));
        }
        let problems = branding.problems();
        if problems.is_empty() {
            Ok(branding)
        } else {
            Err(Invalid {
                source: None,
                problems,
            })
        }
    }

    /// The resource file's content.
    pub fn to_resource(&self) -> Vec<u8> {
        // A struct of strings always serialises.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Every rule a branding must follow, except the logo's (checked where the file is).
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if !valid_id(&self.id) {
            out.push(problem(
                "id",
                "must be 2 to 32 characters: lowercase letters, digits and inner hyphens",
            ));
        }
        check_text(&mut out, "name", &self.name, 2, 80);
        if !valid_product_name(&self.product_name) {
            out.push(problem(
                "product_name",
                "must be 3 to 40 characters: letters, digits, spaces and hyphens, starting with a letter \
                 (it names the package, the menu entry and the install directory)",
            ));
        }
        for (field, value) in [
            ("colors.primary", &self.colors.primary),
            ("colors.accent", &self.colors.accent),
        ] {
            if !valid_colour(value) {
                out.push(problem(
                    field,
                    format!("must be a colour written #RRGGBB, not {value:?}"),
                ));
            }
        }
        if let Err(message) = check_url(&self.provider_url, true) {
            out.push(problem("provider_url", message));
        }
        let s = &self.support;
        if s.phone.is_none() && s.email.is_none() && s.web.is_none() {
            out.push(problem(
                "support",
                "needs at least one contact: phone, email or web",
            ));
        }
        if let Some(phone) = &s.phone
            && !valid_phone(phone)
        {
            out.push(problem(
                "support.phone",
                format!(
                    "must be a phone number (6 to 15 digits, optional leading +, spaces, dots, dashes), not {phone:?}"
                ),
            ));
        }
        if let Some(email) = &s.email
            && let Err(e) = EmailAddress::parse(email)
        {
            out.push(problem(
                "support.email",
                format!(
                    "{email:?}: {}",
                    pec_domain::DomainError::message(&e, Lang::En)
                ),
            ));
        }
        if let Some(web) = &s.web
            && let Err(message) = check_url(web, false)
        {
            out.push(problem("support.web", message));
        }
        if let Some(feed) = &self.release_feed_url
            && let Err(message) = check_url(feed, false)
        {
            out.push(problem("release_feed_url", message));
        }
        out
    }

    /// The Debian package name the bundler derives from the product name (kebab case).
    pub fn package_name(&self) -> String {
        kebab(&self.product_name)
    }
}

// ---------------------------------------------------------------------------------------------
// The Tauri overlay

/// The `--config` overlay for `tauri build`: product name, window title, icons, the branding
/// resource, and the Debian relations that let a branded package replace the plain one.
///
/// `base` is the app's `tauri.conf.json` (its window list is copied, since a JSON merge patch
/// replaces arrays whole); `icons` are the icon files made from the logo; `resource` is the
/// written resource file. Paths are written absolute, as the overlay is read from another
/// directory than the one it is written to.
pub fn overlay(branding: &Branding, base: &Value, icons: &[PathBuf], resource: &Path) -> Value {
    let mut windows = base
        .pointer("/app/windows")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for window in &mut windows {
        if let Some(w) = window.as_object_mut() {
            w.insert("title".into(), json!(branding.product_name));
        }
    }
    let plain = base
        .get("productName")
        .and_then(Value::as_str)
        .map(kebab)
        .unwrap_or_else(|| "pec-desktop".to_owned());
    let mut resources = serde_json::Map::new();
    resources.insert(resource.display().to_string(), json!(RESOURCE_NAME));
    json!({
        "productName": branding.product_name,
        "app": { "windows": windows },
        "bundle": {
            "icon": icons.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "resources": resources,
            "shortDescription": format!(
                "{}: gestione della casella PEC, offerta da {}",
                branding.product_name, branding.name
            ),
            "linux": { "deb": {
                // Every build installs /usr/bin/pec-app: one of them at a time.
                "provides": [plain],
                "conflicts": [plain],
                "replaces": [plain],
            } }
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn problem(field: &str, message: impl Into<String>) -> Problem {
    Problem {
        field: field.to_owned(),
        message: message.into(),
    }
}

fn valid_id(id: &str) -> bool {
    (2..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

fn check_text(out: &mut Vec<Problem>, field: &str, value: &str, min: usize, max: usize) {
    let len = value.trim().chars().count();
    if len < min || len > max {
        out.push(problem(field, format!("must be {min} to {max} characters")));
    } else if value.chars().any(char::is_control) || value.trim() != value {
        out.push(problem(
            field,
            "must not contain control characters or leading/trailing spaces",
        ));
    }
}

fn valid_product_name(name: &str) -> bool {
    (3..=40).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
        && !name.contains("  ")
        && name.trim() == name
}

fn valid_colour(value: &str) -> bool {
    value.len() == 7 && value.starts_with('#') && value[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn valid_phone(phone: &str) -> bool {
    let digits = phone.bytes().filter(u8::is_ascii_digit).count();
    let body = phone.strip_prefix('+').unwrap_or(phone);
    (6..=15).contains(&digits)
        && body.starts_with(|c: char| c.is_ascii_digit())
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '.' | '-' | '/'))
}

/// https, or plain http only towards this machine (a local sandbox for tests and demos).
/// `api`: a base URL, so no query or fragment either.
pub fn check_url(value: &str, api: bool) -> Result<(), String> {
    let url = url::Url::parse(value).map_err(|e| format!("{value:?} is not a URL: {e}"))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(format!(
                "{value:?} must use https (plain http is allowed only on this machine: 127.0.0.1, ::1, localhost)"
            ));
        }
        other => return Err(format!("{value:?} must use https, not {other}")),
    }
    if url.host().is_none() {
        return Err(format!("{value:?} has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{value:?} must not contain a user name or password"
        ));
    }
    if api && (url.query().is_some() || url.fragment().is_some()) {
        return Err(format!("{value:?} is a base URL: no query or fragment"));
    }
    Ok(())
}

fn check_logo(written: &str, path: &Path) -> Result<LogoKind, String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("{written:?} cannot be read ({}): {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{written:?} is not a file"));
    }
    if meta.len() > LOGO_MAX_BYTES {
        return Err(format!(
            "{written:?} is {} bytes; a logo must be at most {LOGO_MAX_BYTES}",
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{written:?} cannot be read: {e}"))?;
    match ext.as_deref() {
        Some("png") => {
            let (width, height) =
                png_size(&bytes).ok_or_else(|| format!("{written:?} is not a PNG image"))?;
            if width != height {
                return Err(format!(
                    "{written:?} is {width}×{height}: the logo must be square (it becomes the app icon)"
                ));
            }
            if !(LOGO_MIN_PX..=LOGO_MAX_PX).contains(&width) {
                return Err(format!(
                    "{written:?} is {width}×{height}: a PNG logo must be {LOGO_MIN_PX} to {LOGO_MAX_PX} pixels wide"
                ));
            }
            Ok(LogoKind::Png { width, height })
        }
        Some("svg") => {
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| format!("{written:?} is not UTF-8 text, so not an SVG"))?;
            check_svg(text).map_err(|m| format!("{written:?} {m}"))?;
            Ok(LogoKind::Svg)
        }
        _ => Err(format!("{written:?} must be a .png or .svg file")),
    }
}

/// The width and height of a PNG, from its IHDR chunk (the first one, by the standard).
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    let rest = bytes.strip_prefix(SIGNATURE)?;
    let ihdr = rest.get(..24)?;
    if &ihdr[4..8] != b"IHDR" {
        return None;
    }
    let width = u32::from_be_bytes(ihdr[8..12].try_into().ok()?);
    let height = u32::from_be_bytes(ihdr[12..16].try_into().ok()?);
    Some((width, height))
}

/// A sanity check, not a parser: the file must be an `<svg>` document with a `viewBox` (so it
/// scales to every icon size) and no scripts or external references.
fn check_svg(text: &str) -> Result<(), String> {
    let lower = text.to_ascii_lowercase();
    let start = lower
        .find("<svg")
        .ok_or("is not an SVG image (no <svg> element)")?;
    let before = lower[..start].trim();
    let prolog_ok = before.is_empty()
        || (before.starts_with("<?xml") || before.starts_with("<!--"))
            && !before.contains("<!doctype");
    if !prolog_ok {
        return Err("does not start with an <svg> element".into());
    }
    if !lower[start..].contains("viewbox") {
        return Err("has no viewBox, so it cannot be scaled to the icon sizes".into());
    }
    if lower.contains("<script")
        || lower.contains("javascript:")
        || lower.contains("<foreignobject")
    {
        return Err("contains scripts or foreign objects".into());
    }
    if lower.contains("href=\"http") || lower.contains("href='http") {
        return Err("refers to external files; embed everything in the SVG".into());
    }
    if !lower.trim_end().ends_with("</svg>") {
        return Err("does not end with </svg>".into());
    }
    Ok(())
}

/// What `heck::AsKebabCase` gives for the names [`valid_product_name`] allows, which is
/// what the Tauri bundler names the Debian package.
fn kebab(name: &str) -> String {
    name.split([' ', '-'])
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SVG: &str = r##"<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" fill="#1F5F8B"/></svg>
"##;

    const GOOD: &str = r##"
id = "artigiani-demo"
name = "Associazione Artigiani Demo"
product_name = "PEC Artigiani Demo"
logo = "logo.svg"
default_language = "en"

[colors]
primary = "#1F5F8B"
accent = "#e0a526"

[provider]
api_url = "http://127.0.0.1:47615"

[support]
phone = "+39 06 1234 5678"
email = "assistenza@artigiani-demo.example"
web = "https://artigiani-demo.example/assistenza"

[updates]
feed_url = "https://artigiani-demo.example/pec-desktop/feed.json"
"##;

    fn write(dir: &Path, toml: &str, logo: (&str, &[u8])) -> PathBuf {
        std::fs::write(dir.join(logo.0), logo.1).unwrap();
        let path = dir.join("brand.toml");
        std::fs::write(&path, toml).unwrap();
        path
    }

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
        out.extend(width.to_be_bytes());
        out.extend(height.to_be_bytes());
        out.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
        out
    }

    #[test]
    fn a_good_file_validates_and_round_trips_through_the_resource() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), GOOD, ("logo.svg", SVG.as_bytes()));
        let valid = load(&path).unwrap();
        assert_eq!(valid.logo_kind, LogoKind::Svg);
        assert_eq!(valid.branding.default_language, Lang::En);
        assert_eq!(valid.branding.package_name(), "pec-artigiani-demo");
        let again = Branding::from_resource(&valid.branding.to_resource()).unwrap();
        assert_eq!(again, valid.branding);
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_field() {
        let dir = tempfile::tempdir().unwrap();
        let bad = GOOD
            .replace("\"artigiani-demo\"", "\"Artigiani Demo\"")
            .replace("PEC Artigiani Demo", "PEC/Artigiani")
            .replace("\"en\"", "\"de\"")
            .replace("#1F5F8B", "#1F5F8")
            .replace("http://127.0.0.1:47615", "http://pec.example.it")
            .replace("+39 06 1234 5678", "call us")
            .replace("assistenza@artigiani-demo.example", "assistenza@")
            .replace(
                "https://artigiani-demo.example/assistenza",
                "ftp://x.example",
            )
            .replace(
                "https://artigiani-demo.example/pec-desktop/feed.json",
                "http://feed.example",
            );
        let path = write(dir.path(), &bad, ("logo.svg", SVG.as_bytes()));
        let err = load(&path).unwrap_err();
        assert_eq!(
            err.fields(),
            [
                "default_language",
                "id",
                "product_name",
                "colors.primary",
                "provider.api_url",
                "support.phone",
                "support.email",
                "support.web",
                "updates.feed_url",
            ]
        );
        let text = err.to_string();
        assert!(text.starts_with("invalid branding file "), "{text}");
        assert!(text.contains("must use https"), "{text}");
    }

    #[test]
    fn unknown_or_missing_fields_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let typo = GOOD.replace("[support]", "[supprot]");
        let path = write(dir.path(), &typo, ("logo.svg", SVG.as_bytes()));
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("supprot"), "{err}");
    }

    #[test]
    fn logos_must_be_square_png_or_scalable_svg() {
        let dir = tempfile::tempdir().unwrap();
        let cases: &[(&str, Vec<u8>, &str)] = &[
            ("logo.png", png(1024, 1024), ""),
            ("logo.png", png(1024, 512), "square"),
            ("logo.png", png(64, 64), "512 to 4096"),
            ("logo.png", b"GIF89a".to_vec(), "not a PNG"),
            ("logo.jpg", b"\xff\xd8".to_vec(), ".png or .svg"),
            ("logo.svg", b"<svg></svg>".to_vec(), "viewBox"),
            (
                "logo.svg",
                br#"<svg viewBox="0 0 1 1"><script>x()</script></svg>"#.to_vec(),
                "scripts",
            ),
            (
                "logo.svg",
                b"<html><svg viewBox='0 0 1 1'></svg>".to_vec(),
                "start",
            ),
        ];
        for (name, bytes, expected) in cases {
            let toml = GOOD.replace("logo.svg", name);
            let path = write(dir.path(), &toml, (name, bytes));
            match (load(&path), expected.is_empty()) {
                (Ok(_), true) => {}
                (Err(e), false) => {
                    assert_eq!(e.fields(), ["logo"]);
                    assert!(e.to_string().contains(expected), "{name}: {e}");
                }
                (other, _) => panic!("{name}: expected {expected:?}, got {other:?}"),
            }
        }
        let missing = GOOD.replace("logo.svg", "nowhere.svg");
        let path = write(dir.path(), &missing, ("logo.svg", SVG.as_bytes()));
        assert_eq!(load(&path).unwrap_err().fields(), ["logo"]);
    }

    #[test]
    fn urls_are_https_or_loopback_http() {
        assert!(check_url("https://pec.example.it/api", true).is_ok());
        assert!(check_url("http://127.0.0.1:8080", true).is_ok());
        assert!(check_url("http://127.5.0.1:8080", true).is_ok());
        assert!(check_url("http://[::1]:8080", true).is_ok());
        assert!(check_url("http://localhost:8080", true).is_ok());
        assert!(check_url("http://10.0.0.1", true).is_err());
        assert!(check_url("http://localhost.example.it", true).is_err());
        assert!(check_url("https://user:pw@pec.example.it", true).is_err());
        assert!(check_url("https://pec.example.it/?x=1", true).is_err());
        assert!(check_url("https://pec.example.it/?x=1", false).is_ok());
        assert!(check_url("file:///etc/passwd", false).is_err());
        assert!(check_url("pec.example.it", false).is_err());
    }

    #[test]
    fn a_tampered_resource_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), GOOD, ("logo.svg", SVG.as_bytes()));
        let mut value: Value =
            serde_json::from_slice(&load(&path).unwrap().branding.to_resource()).unwrap();
        value["provider_url"] = json!("http://evil.example");
        let err = Branding::from_resource(value.to_string().as_bytes()).unwrap_err();
        assert_eq!(err.fields(), ["provider_url"]);
        value["format"] = json!(2);
        let err = Branding::from_resource(value.to_string().as_bytes()).unwrap_err();
        assert_eq!(err.fields(), ["format"]);
        assert!(Branding::from_resource(b"{}").is_err());
    }

    #[test]
    fn the_overlay_renames_the_product_and_keeps_the_window_settings() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), GOOD, ("logo.svg", SVG.as_bytes()));
        let brand = load(&path).unwrap().branding;
        let base = json!({
            "productName": "PEC Desktop",
            "app": { "windows": [ { "label": "main", "title": "PEC Desktop", "width": 1100 } ] }
        });
        let icons = [PathBuf::from("/b/icons/32x32.png")];
        let out = overlay(&brand, &base, &icons, Path::new("/b/branding.json"));
        assert_eq!(out["productName"], "PEC Artigiani Demo");
        assert_eq!(out["app"]["windows"][0]["title"], "PEC Artigiani Demo");
        assert_eq!(out["app"]["windows"][0]["width"], 1100);
        assert_eq!(out["bundle"]["icon"][0], "/b/icons/32x32.png");
        assert_eq!(
            out["bundle"]["resources"]["/b/branding.json"],
            RESOURCE_NAME
        );
        assert_eq!(out["bundle"]["linux"]["deb"]["conflicts"][0], "pec-desktop");
    }

    #[test]
    fn kebab_matches_the_bundlers_package_names() {
        assert_eq!(kebab("PEC Desktop"), "pec-desktop");
        assert_eq!(kebab("PEC Artigiani-Demo 2"), "pec-artigiani-demo-2");
    }
}
