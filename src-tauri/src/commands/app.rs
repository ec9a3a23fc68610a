//! The app itself: its name and version, the settings, the branding and the update notice.

use pec_app_core::Settings;
use pec_app_core::branding::BrandingView;
use pec_domain::Lang;
use pec_updates::Notice;
use serde::Serialize;

use super::{Core, Result};

/// What the footer and the window title show.
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct AppInfo {
    /// The product name this binary was built with ("PEC Desktop", or a branded build's).
    pub name: String,
    pub version: String,
    /// Where the rolling log files are written: shown so users can send them to support.
    pub log_dir: String,
}

#[tauri::command]
pub async fn app_info(core: Core<'_>, app: tauri::AppHandle) -> Result<AppInfo> {
    Ok(AppInfo {
        name: app.package_info().name.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        log_dir: core.log_dir.display().to_string(),
    })
}

/// The page's first screen is up: what waits for it starts now ([`crate::after_first_screen`]).
#[tauri::command]
pub async fn app_shown(_core: Core<'_>, app: tauri::AppHandle) -> Result<()> {
    crate::after_first_screen(&app);
    Ok(())
}

/// The association behind this build, or `null` for the plain build.
#[tauri::command]
pub async fn app_branding(core: Core<'_>) -> Result<Option<BrandingView>> {
    Ok(core.branding())
}

/// A newer release, or `null` (also when the feed cannot be reached).
#[tauri::command]
pub async fn app_check_update(core: Core<'_>) -> Result<Option<Notice>> {
    Ok(core.update_notice().await)
}

#[tauri::command]
pub async fn settings_get(core: Core<'_>) -> Result<Settings> {
    Ok(core.settings.get())
}

#[tauri::command]
pub async fn settings_set_language(core: Core<'_>, language: Lang) -> Result<Settings> {
    core.set_language(language)
}
