//! The CIE method: the card on the computer's NFC reader, or CieID on the phone.

use pec_app_core::cie::{self, CieCheck, CieIdStart};
use pec_provider::api::{CieIdPoll, IdentityRequestView};

use super::{Core, Result};
use crate::ipc::Secret;

/// What the CIE on `reader` tells before the PIN.
#[tauri::command]
pub async fn cie_preflight(core: Core<'_>, reader: String) -> Result<CieCheck> {
    cie::preflight(&core, reader).await
}

/// VERIFY once, the holder check, the signature; a wrong PIN answers `card.pin_wrong`, a card
/// lifted from the reader `card.cie_lost`.
#[tauri::command]
pub async fn cie_identify(
    core: Core<'_>,
    id: String,
    reader: String,
    pin: Secret,
) -> Result<IdentityRequestView> {
    cie::identify(&core, &id, reader, &pin).await
}

#[tauri::command]
pub async fn cie_cieid_start(core: Core<'_>, id: String) -> Result<CieIdStart> {
    cie::cieid_start(&core, &id).await
}

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

#[tauri::command]
pub async fn cie_cieid_poll(core: Core<'_>, id: String, handle: String) -> Result<CieIdPoll> {
    cie::cieid_poll(&core, &id, &handle).await
}
