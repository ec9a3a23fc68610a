//! Saving a mailbox before it is ceased. The folder picker is the native dialog, opened from
//! Rust: the webview has no dialog permission, and what comes back is the path to show with an
//! opaque token, the only way `backup_start` accepts a destination (audit M6).

use pec_app_core::backup::{self, BackupDefaults, BackupEvent, BackupFolder, BackupRequest};
use pec_app_core::pickers::Picker;
use tauri::Manager as _;

use super::{Core, Result};
use crate::dialogs::{Pick, ask};
use crate::ipc::{Events, Secret};

/// The form's values for `address`: the last used for it, else the defaults.
#[tauri::command]
pub async fn backup_defaults(
    core: Core<'_>,
    app: tauri::AppHandle,
    address: String,
) -> Result<BackupDefaults> {
    let documents = app.path().document_dir().ok();
    backup::defaults(&core, &address, documents.as_deref())
}

/// Starts the backup and returns at once; progress and the outcome arrive on `channel`, and
/// the progress shows on the taskbar too.
#[tauri::command]
pub async fn backup_start(
    core: Core<'_>,
    window: tauri::WebviewWindow,
    form: BackupRequest,
    password: Secret,
    channel: Events<BackupEvent>,
) -> Result<()> {
    use tauri::window::{ProgressBarState, ProgressBarStatus};
    #[cfg(target_os = "linux")]
    let dock = crate::taskbar::LauncherEntry::start(&window.app_handle().package_info().name);
    backup::start(&core, &form, password.into_inner(), move |event| {
        let percent = match &event {
            BackupEvent::Progress(p) => Some(backup::percent(p)),
            _ => None,
        };
        let bar = match percent {
            Some(Some(n)) => ProgressBarState {
                status: Some(ProgressBarStatus::Normal),
                progress: Some(n),
            },
            Some(None) => ProgressBarState {
                status: Some(ProgressBarStatus::Indeterminate),
                progress: None,
            },
            None => ProgressBarState {
                status: Some(ProgressBarStatus::None),
                progress: None,
            },
        };
        // Not every desktop has a taskbar progress: the screen shows it anyway.
        let _ = window.set_progress_bar(bar);
        #[cfg(target_os = "linux")]
        dock.show(percent.flatten());
        // A closed window only means nobody watches; the backup goes on to the end.
        let _ = channel.0.send(event);
    })
}

/// Stops the running backup between two messages; true when there was one.
#[tauri::command]
pub async fn backup_cancel(core: Core<'_>) -> Result<bool> {
    Ok(backup::cancel(&core))
}

/// Opens the system's folder picker over the window; `null` when the user closes it. `current`
/// is only where the dialog opens, when it is an existing folder.
#[tauri::command]
pub async fn backup_pick_folder(
    core: Core<'_>,
    window: tauri::WebviewWindow,
    current: Option<String>,
) -> Result<Option<BackupFolder>> {
    let picked = ask(
        &core,
        &window,
        Picker::BackupFolder,
        Pick::Folder(current.as_deref()),
    )
    .await?;
    let Some(path) = picked else { return Ok(None) };
    let path = path.into_path().map_err(|e| {
        tracing::warn!(error = %e, "the folder picker returned no local path");
        backup::not_local()
    })?;
    backup::offer_folder(&core, &path).map(Some)
}
