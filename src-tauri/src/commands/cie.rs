//! The CIE method: the card on the computer's NFC reader, or CieID on the phone.

use pec_app_core::cie;

use super::{Core, Result};

/// Opens the "Entra con CIE" page handed out for this request in the system browser, from
/// Rust: the webview has no opener permission at all.
#[tauri::command]
pub async fn cie_cieid_open(core: Core<'_>, app: tauri::AppHandle, id: String) -> Result<()> {
    use tauri_plugin_opener::OpenerExt as _;
    let url = cie::cieid_page(&core, &id)?;
    app.opener().open_url(url, None::<&str>).map_err(|e| {
        tracing::warn!(error = %e, "the browser could not be opened");
        cie::browser_unavailable()
    })
}
