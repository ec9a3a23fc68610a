//! Desktop habits (issue 16, item 7): copy buttons, support links, "Esporta diagnostica", and
//! the window's size and position across runs. The clipboard, the opener and the save dialog
//! are reached from Rust only; the webview has none of their permissions, only these narrow
//! commands, whose rules live in `pec-app-core` (`clipboard`, `links`, `diagnostics`,
//! `window_state`).

use std::sync::Arc;

use pec_app_core::clipboard::{self, Clipboard, CopyKind};
use pec_app_core::diagnostics::{self, Facts};
use pec_app_core::links::{self, SupportLink};
use pec_app_core::window_state::{self, Rect, WindowState};
use pec_app_core::{AppError, cards};
use pec_domain::{Lang, Localized};
use tauri::Manager as _;

use super::{Core, Result};
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
    let support = core.brand.as_ref().map(|b| &b.support);
    let target = links::support_target(support, which)?;
    if !links::is_allowed(support, &target) {
        return Err(AppError::Internal);
    }
    app.opener().open_url(&target, None::<&str>).map_err(|e| {
        tracing::warn!(error = %e, "support link not opened");
        AppError::Localized(Localized::new(
            "link.open_failed",
            "Non è stato possibile aprire il collegamento: usa il contatto mostrato.",
            "The link could not be opened: use the contact shown.",
        ))
    })
}

/// "Esporta diagnostica": asks where to save (the native dialog) and writes the zip there.
/// Answers the path written, or `null` when the user closed the dialog.
#[tauri::command]
pub async fn desktop_export_diagnostics(
    core: Core<'_>,
    window: tauri::WebviewWindow,
) -> Result<Option<String>> {
    use tauri_plugin_dialog::DialogExt as _;
    let title = match core.settings.get().language {
        Lang::It => "Salva la diagnostica per l'assistenza",
        Lang::En => "Save the diagnostics for support",
    };
    let name = format!(
        "pec-desktop-diagnostica-{}.zip",
        chrono::Local::now().format("%Y%m%d-%H%M")
    );
    let (tx, rx) = tokio::sync::oneshot::channel();
    window
        .dialog()
        .file()
        .set_title(title)
        .set_parent(&window)
        .set_file_name(name)
        .add_filter("Zip", &["zip"])
        .save_file(move |picked| {
            let _ = tx.send(picked);
        });
    let Some(picked) = rx.await.map_err(|_| AppError::Internal)? else {
        return Ok(None);
    };
    let dest = picked.into_path().map_err(|_| AppError::Internal)?;
    let readers = cards::readers(&core).await?;
    let facts = Facts::now(
        env!("CARGO_PKG_VERSION"),
        core.brand.as_ref().map(|b| b.id.clone()),
        readers,
    );
    let log_dir = core.log_dir.clone();
    let written = dest.clone();
    tokio::task::spawn_blocking(move || diagnostics::export(&log_dir, &facts, &written))
        .await
        .map_err(|_| AppError::Internal)?
        .map_err(|e| {
            tracing::warn!(error = %e, "diagnostics not written");
            AppError::Localized(Localized::new(
                "diagnostics.write_failed",
                "Non è stato possibile salvare il file della diagnostica: scegli un'altra cartella.",
                "The diagnostics file could not be saved: choose another folder.",
            ))
        })?;
    tracing::info!("diagnostics exported");
    Ok(Some(dest.display().to_string()))
}

/// Puts the main window where it was at the last close, if that still fits the monitors.
pub fn restore_window(app: &tauri::AppHandle) {
    let Some(window) = app.get_webview_window("main") else {
        return;
    };
    let Ok(dir) = app.path().app_data_dir() else {
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
    // The minimum of tauri.conf.json, in physical pixels on the primary monitor.
    let scale = window.scale_factor().unwrap_or(1.0);
    let min = ((760.0 * scale) as u32, (540.0 * scale) as u32);
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
    let maximized = window.is_maximized().unwrap_or(false);
    let state = WindowState {
        rect: Rect {
            x: pos.x,
            y: pos.y,
            width: size.width,
            height: size.height,
        },
        maximized,
    };
    // A maximized window keeps its last normal size: only the flag changes then.
    let state = match (maximized, window_state::load(&dir)) {
        (true, Some(previous)) => WindowState {
            rect: previous.rect,
            maximized: true,
        },
        _ => state,
    };
    if let Err(e) = pec_files::private_dir_all(&dir).and_then(|()| window_state::save(&dir, &state))
    {
        tracing::warn!(error = %e, "window position not saved");
    }
}
