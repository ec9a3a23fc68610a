//! The settings screen's reminders, autostart and tray; the screen a tray item asks for; and
//! "Apri cartella" at the end of a backup.

use pec_app_core::Settings;
use pec_app_core::reminders::{self, ReminderList, ReminderSettings, ReminderTarget};

use super::{Core, Result};

/// Saves the reminder, autostart and tray choices and applies them now.
#[tauri::command]
pub async fn settings_set_reminders(
    core: Core<'_>,
    app: tauri::AppHandle,
    reminders: ReminderSettings,
) -> Result<Settings> {
    let saved = reminders::save_settings(&core, reminders)?;
    crate::reminders::apply(&app, &saved);
    Ok(core.settings.get())
}

/// The reminders delivered lately and the next ones.
#[tauri::command]
pub async fn reminder_list(core: Core<'_>) -> Result<ReminderList> {
    Ok(core.reminders.list())
}

/// The screen a reminder picked in the tray asks to open, once; `null` when none.
#[tauri::command]
pub async fn reminder_take_open(core: Core<'_>) -> Result<Option<ReminderTarget>> {
    Ok(core.reminders.take_open())
}

/// Opens the folder a finished backup wrote to in the file manager (by its token: the page
/// never names a path).
#[tauri::command]
pub async fn backup_open_folder(
    core: Core<'_>,
    app: tauri::AppHandle,
    folder: String,
) -> Result<()> {
    use tauri_plugin_opener::OpenerExt as _;
    let path = pec_app_core::backup::open_folder(&core, &folder)?;
    app.opener()
        .open_path(path.display().to_string(), None::<&str>)
        .map_err(|e| {
            tracing::warn!(error = %e, "could not open the backup folder");
            pec_app_core::AppError::Internal
        })
}
