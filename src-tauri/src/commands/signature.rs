//! Firma digitale and firma remota: the request form, the signing devices, the signed copy.
//! The form is opened in the system viewer and files are written from Rust (the webview has no
//! opener, dialog or fs permission); saved files go to the user's documents folder, under
//! "PEC Desktop", and the answer says where.

use std::path::PathBuf;

use pec_app_core::pickers::Picker;
use pec_app_core::signature::{self, ModuleView};
use tauri::Manager as _;

use super::{Core, Result};
use crate::dialogs::{Pick, ask};

/// `<documents>/PEC Desktop`: where "Salva" puts the form and the signed copy.
fn save_dir(app: &tauri::AppHandle) -> Result<PathBuf> {
    let documents = app
        .path()
        .document_dir()
        .or_else(|_| app.path().home_dir())
        .map_err(|_| pec_app_core::AppError::Internal)?;
    let dir = documents.join("PEC Desktop");
    std::fs::create_dir_all(&dir).map_err(|_| pec_app_core::AppError::Internal)?;
    Ok(dir)
}

/// "Apri il modulo": the PDF in the system's viewer.
#[tauri::command]
pub async fn signature_form_open(core: Core<'_>, app: tauri::AppHandle, id: String) -> Result<()> {
    use tauri_plugin_opener::OpenerExt as _;
    let cache = app
        .path()
        .app_cache_dir()
        .map_err(|_| pec_app_core::AppError::Internal)?;
    let path = signature::form_file(&core, &cache, &id)?;
    app.opener()
        .open_path(path.display().to_string(), None::<&str>)
        .map_err(|e| {
            tracing::warn!(error = %e, "the PDF viewer could not be opened");
            pec_app_core::identity::browser_unavailable()
        })
}

/// "Salva": the PDF into the documents folder; the answer is the file written.
#[tauri::command]
pub async fn signature_form_save(
    core: Core<'_>,
    app: tauri::AppHandle,
    id: String,
) -> Result<String> {
    let dest = save_dir(&app)?.join(signature::form_name(&id));
    signature::save_form(&core, &id, &dest)?;
    Ok(dest.display().to_string())
}

/// The PKCS#11 modules installed in their usual places.
#[tauri::command]
pub async fn signature_modules(_core: Core<'_>) -> Result<Vec<ModuleView>> {
    Ok(signature::pkcs11_modules())
}

/// "Scegli un file…": the system's file picker for a PKCS#11 module; `null` when closed.
#[tauri::command]
pub async fn signature_pick_module(
    core: Core<'_>,
    window: tauri::WebviewWindow,
) -> Result<Option<String>> {
    let picked = ask(&core, &window, Picker::Pkcs11Module, Pick::File).await?;
    Ok(picked
        .and_then(|p| p.into_path().ok())
        .map(|p| p.display().to_string()))
}

/// "Salva la copia firmata (.p7m)": into the documents folder; the answer is the file written.
#[tauri::command]
pub async fn signature_save_copy(
    core: Core<'_>,
    app: tauri::AppHandle,
    id: String,
) -> Result<String> {
    let dest = save_dir(&app)?.join(signature::signed_copy_name(&id));
    signature::save_signed_copy(&core, &id, &dest).await?;
    Ok(dest.display().to_string())
}
