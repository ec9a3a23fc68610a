//! Desktop habits: copy buttons, support links, "Esporta diagnostica", and
//! the window's size and position across runs. The clipboard, the opener and the save dialog
//! are reached from Rust only; the webview has none of their permissions, only these narrow
//! commands, whose rules live in `pec-app-core` (`clipboard`, `links`, `diagnostics`,
//! `window_state`).

use std::sync::Arc;

use pec_app_core::AppError;
use pec_app_core::clipboard::{self, Clipboard, CopyKind};
use pec_app_core::diagnostics;
use pec_app_core::links::{self, SupportLink};
use pec_app_core::pickers::Picker;
use pec_app_core::window_state::{self, Rect, WindowState};
use tauri::Manager as _;

use super::{Core, Result};
use crate::dialogs::{Pick, ask};
use crate::ipc::Secret;

/// The system clipboard through the clipboard-manager plugin.
struct SystemClipboard(tauri::AppHandle);

impl Clipboard for SystemClipboard {
    fn read_text(&self) -> Option<String> {
        use tauri_plugin_clipboard_manager::ClipboardExt as _;
        self.0.clipboard().read_text().ok()
    }
    fn write_text(&self, text: &str) -> std::result::Result<(), String> {
        use tauri_plugin_clipboard_manager::ClipboardExt as _;
        self.0
            .clipboard()
            .write_text(text.to_owned())
            .map_err(|e| e.to_string())
    }
    fn clear(&self) -> std::result::Result<(), String> {
        use tauri_plugin_clipboard_manager::ClipboardExt as _;
        self.0.clipboard().clear().map_err(|e| e.to_string())
    }
}

/// Copies an app password (wiped from the clipboard after a minute if still there) or a
/// practice number.
#[tauri::command]
pub async fn desktop_copy(
    _core: Core<'_>,
    app: tauri::AppHandle,
    kind: CopyKind,
    text: Secret,
) -> Result<()> {
    // The wiping task outlives the command: it is not awaited.
    clipboard::copy(Arc::new(SystemClipboard(app)), kind, &text)?;
    Ok(())
}

/// Opens one of the branding's support contacts with the system's handler (mail client,
/// dialer, browser). Anything that is not exactly one of them is refused.
#[tauri::command]
pub async fn desktop_open_support(
    core: Core<'_>,
    app: tauri::AppHandle,
    which: SupportLink,
) -> Result<()> {
    use tauri_plugin_opener::OpenerExt as _;
    let target = links::support_url(&core, which)?;
    app.opener().open_url(&target, None::<&str>).map_err(|e| {
        tracing::warn!(error = %e, "support link not opened");
        links::open_failed()
    })
}

/// "Esporta diagnostica": asks where to save (the native dialog) and writes the zip there.
/// Answers the path written, or `null` when the user closed the dialog.
#[tauri::command]
pub async fn desktop_export_diagnostics(
    core: Core<'_>,
    window: tauri::WebviewWindow,
) -> Result<Option<String>> {
    let name = diagnostics::file_name(chrono::Local::now().naive_local());
    let picked = ask(&core, &window, Picker::Diagnostics, Pick::Save(name)).await?;
    let Some(picked) = picked else {
        return Ok(None);
    };
    let dest = picked.into_path().map_err(|_| AppError::Internal)?;
    diagnostics::export_to(&core, env!("CARGO_PKG_VERSION"), dest.clone()).await?;
    Ok(Some(dest.display().to_string()))
}

/// Puts the main window where it was at the last close, if that still fits the monitors.
pub fn restore_window(app: &tauri::AppHandle) {
    let (Some(window), Ok(dir)) = (app.get_webview_window("main"), app.path().app_data_dir())
    else {
        return;
    };
    let Some(saved) = window_state::load(&dir) else {
        return;
    };
    let monitors: Vec<Rect> = window
        .available_monitors()
        .unwrap_or_default()
        .iter()
        .map(|m| Rect {
            x: m.position().x,
            y: m.position().y,
            width: m.size().width,
            height: m.size().height,
        })
        .collect();
    let min = window_state::min_physical(window.scale_factor().unwrap_or(1.0));
    let Some(state) = window_state::restore(&saved, &monitors, min) else {
        return;
    };
    let r = state.rect;
    let _ = window.set_size(tauri::PhysicalSize::new(r.width, r.height));
    let _ = window.set_position(tauri::PhysicalPosition::new(r.x, r.y));
    if state.maximized {
        let _ = window.maximize();
    }
}

/// Remembers the main window's size and position (called when it is about to close).
pub fn save_window(window: &tauri::Window) {
    let (Ok(pos), Ok(size), Ok(dir)) = (
        window.outer_position(),
        window.inner_size(),
        window.app_handle().path().app_data_dir(),
    ) else {
        return;
    };
    let now = WindowState {
        rect: Rect {
            x: pos.x,
            y: pos.y,
            width: size.width,
            height: size.height,
        },
        maximized: window.is_maximized().unwrap_or(false),
    };
    if let Err(e) = window_state::remember(&dir, now) {
        tracing::warn!(error = %e, "window position not saved");
    }
}
