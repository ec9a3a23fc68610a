//! The IPC surface. Each command only parses, calls and maps errors; every command here
//! must also be listed in `build.rs` (ACL manifest) and allowed in `capabilities/main.json`.

use serde::Serialize;
use tauri::State;

use pec_domain::Lang;

use crate::{AppDirs, CommandError, Settings, SettingsStore};

#[derive(Debug, Serialize)]
pub struct AppInfo {
    pub name: &'static str,
    pub version: &'static str,
    pub log_dir: String,
}

#[tauri::command]
pub fn app_info(dirs: State<'_, AppDirs>) -> AppInfo {
    AppInfo {
        name: "PEC Desktop",
        version: env!("CARGO_PKG_VERSION"),
        log_dir: dirs.log_dir.display().to_string(),
    }
}

#[tauri::command]
pub fn get_settings(store: State<'_, SettingsStore>) -> Settings {
    store.get()
}

#[tauri::command]
pub fn set_language(
    store: State<'_, SettingsStore>,
    language: Lang,
) -> Result<Settings, CommandError> {
    let settings = store.update(|s| s.language = language)?;
    tracing::info!(?language, "language changed");
    Ok(settings)
}
