//! Firma digitale and firma remota: the request form, the signing devices, the signed copy.
//! The form is opened in the system viewer and files are written from Rust (the webview has no
//! opener, dialog or fs permission); saved files go to the user's documents folder, under
//! "PEC Desktop", and the answer says where.

use std::path::PathBuf;

use pec_app_core::signature::{
    self, FormView, ModuleView, RemoteCredentialView, TokenCertificateView,
};
use pec_domain::Lang;
use pec_provider::api::IdentityRequestView;
use tauri::Manager as _;

use super::{Core, Result};
use crate::ipc::Secret;

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

/// The request form (its text; the PDF stays in the core for the signature).
#[tauri::command]
pub async fn signature_form(core: Core<'_>, id: String) -> Result<FormView> {
    signature::form(&core, &id).await
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
    use tauri_plugin_dialog::DialogExt as _;
    let title = match core.settings.get().language {
        Lang::It => "Scegli il modulo PKCS#11 del dispositivo di firma",
        Lang::En => "Choose the signature device's PKCS#11 module",
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    window
        .dialog()
        .file()
        .set_title(title)
        .set_parent(&window)
        .add_filter("PKCS#11", &["so", "dylib", "dll"])
        .pick_file(move |picked| {
            let _ = tx.send(picked);
        });
    match rx.await.map_err(|_| pec_app_core::AppError::Internal)? {
        None => Ok(None),
        Some(path) => Ok(path.into_path().ok().map(|p| p.display().to_string())),
    }
}

/// The signature certificates the module's tokens hold, with each token's PIN warning.
#[tauri::command]
pub async fn signature_token_certificates(
    _core: Core<'_>,
    module: String,
) -> Result<Vec<TokenCertificateView>> {
    signature::pkcs11_certificates(module).await
}

/// Signs the form with a PKCS#11 token (one `C_Login`) and sends it.
#[tauri::command]
pub async fn signature_sign_token(
    core: Core<'_>,
    id: String,
    module: String,
    token_label: Option<String>,
    cert_id: Option<String>,
    pin: Secret,
) -> Result<IdentityRequestView> {
    signature::sign_with_pkcs11(&core, &id, module, token_label, cert_id, pin.into_inner()).await
}

/// Signs the form with the card's signature DF (one VERIFY) and sends it; on the signature
/// PIN's last try only once the holder confirmed.
#[tauri::command]
pub async fn signature_sign_card(
    core: Core<'_>,
    id: String,
    reader: String,
    pin: Secret,
    confirm_last_try: bool,
) -> Result<IdentityRequestView> {
    signature::sign_with_card(&core, &id, reader, pin.into_inner(), confirm_last_try).await
}

/// Signs in to the remote signature service and lists the credentials.
#[tauri::command]
pub async fn signature_remote_sign_in(
    core: Core<'_>,
    id: String,
    username: String,
    password: Secret,
) -> Result<Vec<RemoteCredentialView>> {
    signature::remote_sign_in(&core, &id, &username, password.into_inner()).await
}

/// Signs the form remotely with the credential and the OTP, and sends it.
#[tauri::command]
pub async fn signature_sign_remote(
    core: Core<'_>,
    id: String,
    credential: String,
    otp: Secret,
) -> Result<IdentityRequestView> {
    signature::sign_remotely(&core, &id, &credential, otp.into_inner()).await
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
