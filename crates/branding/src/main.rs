//! `pec-branding`: checks branding files and prepares a branded build.
//!
//! ```text
//! pec-branding check FILE...
//! pec-branding build FILE --out DIR [--base src-tauri/tauri.conf.json]
//! ```
//!
//! `build` writes into DIR: `branding.json` (the resource the app reads at start), the logo
//! copied as `logo.svg`/`logo.png` (scripts/bundle.sh makes `icons/` from it with
//! `tauri icon`), `tauri.overlay.json` for `tauri build --config`, and `package-name`. Any problem in the file
//! ends the command with status 1 and the list of problems, before anything is built.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pec_branding::{LogoKind, RESOURCE_NAME, load, overlay};

/// The icon files made from the logo that the bundles use (Linux PNGs, macOS, Windows).
/// The same list as the plain build's `bundle.icon` in src-tauri/tauri.conf.json: the
/// default set plus 16, 24, 48 and 256 px (`tauri icon --png 16,24,48,256`), so that the
/// menu, the task bar and the file manager each find their size.
const ICONS: &[&str] = &[
    "16x16.png",
    "24x24.png",
    "32x32.png",
    "48x48.png",
    "64x64.png",
    "128x128.png",
    "256x256.png",
    "icon.png",
    "icon.icns",
    "icon.ico",
];

const USAGE: &str = "usage:\n  pec-branding check FILE...\n  pec-branding build FILE --out DIR [--base TAURI_CONF_JSON]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("check") if args.len() > 1 => check(&args[1..]),
        Some("build") => build(&args[1..]),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprint!("{message}");
            if !message.ends_with('\n') {
                eprintln!();
            }
            ExitCode::FAILURE
        }
    }
}

fn check(files: &[String]) -> Result<(), String> {
    let mut failed = String::new();
    for file in files {
        match load(Path::new(file)) {
            Ok(valid) => println!(
                "ok: {file}: {} ({}), provider {}",
                valid.branding.product_name, valid.branding.name, valid.branding.provider_url
            ),
            Err(invalid) => failed.push_str(&invalid.to_string()),
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed)
    }
}

fn build(args: &[String]) -> Result<(), String> {
    let mut file = None;
    let mut out = None;
    let mut base = PathBuf::from("src-tauri/tauri.conf.json");
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--out" => out = it.next().map(PathBuf::from),
            "--base" => base = it.next().map(PathBuf::from).ok_or(USAGE)?,
            _ if file.is_none() && !arg.starts_with("--") => file = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument {arg:?}\n{USAGE}")),
        }
    }
    let (Some(file), Some(out)) = (file, out) else {
        return Err(USAGE.to_owned());
    };

    let valid = load(&file).map_err(|e| e.to_string())?;
    let base_json: serde_json::Value = std::fs::read(&base)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        .map_err(|e| format!("cannot read the base config {}: {e}", base.display()))?;

    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let out = std::fs::canonicalize(&out).map_err(|e| e.to_string())?;
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(out.join(name), bytes)
            .map_err(|e| format!("cannot write {}: {e}", out.join(name).display()))
    };

    write(RESOURCE_NAME, &valid.branding.to_resource())?;
    let logo_name = match valid.logo_kind {
        LogoKind::Svg => "logo.svg",
        LogoKind::Png { .. } => "logo.png",
    };
    let logo = std::fs::read(&valid.logo).map_err(|e| e.to_string())?;
    write(logo_name, &logo)?;
    let icons: Vec<PathBuf> = ICONS.iter().map(|i| out.join("icons").join(i)).collect();
    let overlay = overlay(
        &valid.branding,
        &base_json,
        &icons,
        &out.join(RESOURCE_NAME),
    );
    let text = serde_json::to_string_pretty(&overlay).map_err(|e| e.to_string())?;
    write("tauri.overlay.json", text.as_bytes())?;
    // For the scripts: the bundler names the Debian package after the product.
    write(
        "package-name",
        format!("{}\n", valid.branding.package_name()).as_bytes(),
    )?;

    println!(
        "branding {}: {} ({}) -> {}",
        valid.branding.id,
        valid.branding.product_name,
        valid.branding.package_name(),
        out.display()
    );
    Ok(())
}
