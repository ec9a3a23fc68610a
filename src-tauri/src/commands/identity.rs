//! The identity wizard, its methods other than the card, live field checks, the drafts on
//! disk, and what follows a confirmed identity (two-step login, app passwords).

use pec_app_core::fields::{self, FieldCheck, FieldKind};
use pec_app_core::identity;
use pec_provider::api::IdentityRequestView;

use super::{Core, Result};

/// A document for the request: the bytes as the raw body, its request and name in headers.
#[tauri::command]
pub async fn identity_upload(
    core: Core<'_>,
    request: tauri::ipc::Request<'_>,
) -> Result<IdentityRequestView> {
    let upload = crate::upload::Upload::of(&request, "x-request-id")?;
    identity::upload(
        &core,
        &upload.owner,
        upload.filename.as_deref(),
        upload.bytes,
    )
    .await
}

/// Opens the SPID page handed out for this request in the system browser, from Rust: the
/// webview has no opener permission at all.
#[tauri::command]
pub async fn identity_spid_open(core: Core<'_>, app: tauri::AppHandle, id: String) -> Result<()> {
    use tauri_plugin_opener::OpenerExt as _;
    let url = identity::spid_page(&core, &id)?;
    app.opener().open_url(url, None::<&str>).map_err(|e| {
        tracing::warn!(error = %e, "the browser could not be opened");
        identity::browser_unavailable()
    })
}

/// Checks one form field with the same rules the provider (or the backup engine) applies.
#[tauri::command]
pub async fn field_validate(_core: Core<'_>, kind: FieldKind, value: String) -> Result<FieldCheck> {
    Ok(fields::check(kind, &value))
}
