//! The identity wizard, its methods other than the card, live field checks, the drafts on
//! disk, and what follows a confirmed identity (two-step login, app passwords).

use chrono::{DateTime, Utc};
use pec_app_core::drafts::{self, Draft};
use pec_app_core::fields::{self, FieldCheck, FieldKind};
use pec_app_core::identity::{self, Link, SpidStart};
use pec_app_core::security::{self, TwoStepSetup};
use pec_domain::Lang;
use pec_provider::api::{
    AppPasswordView, IdDocumentKind, IdentityAction, IdentityRequestView, MailboxView, SpidPoll,
    WebcamBooking, WebcamSlot,
};

use super::{Core, Result};
use crate::ipc::Secret;

/// Opens the wizard for a mailbox: the request already in progress, or a new one.
#[tauri::command]
pub async fn identity_start(core: Core<'_>, address: String) -> Result<IdentityRequestView> {
    identity::start(&core, &address).await
}

#[tauri::command]
pub async fn identity_get(core: Core<'_>, id: String) -> Result<IdentityRequestView> {
    identity::get(&core, &id).await
}

#[tauri::command]
pub async fn identity_act(
    core: Core<'_>,
    id: String,
    action: IdentityAction,
) -> Result<IdentityRequestView> {
    identity::act(&core, &id, &action).await
}

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

#[tauri::command]
pub async fn identity_guide_link(core: Core<'_>, lang: Lang) -> Result<Link> {
    identity::guide_link(&core, lang).await
}

#[tauri::command]
pub async fn identity_spid_start(core: Core<'_>, id: String) -> Result<SpidStart> {
    identity::spid_start(&core, &id).await
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

#[tauri::command]
pub async fn identity_spid_poll(core: Core<'_>, id: String, handle: String) -> Result<SpidPoll> {
    identity::spid_poll(&core, &id, &handle).await
}

#[tauri::command]
pub async fn identity_webcam_slots(core: Core<'_>) -> Result<Vec<WebcamSlot>> {
    identity::webcam_slots(&core).await
}

#[tauri::command]
pub async fn identity_webcam_book(
    core: Core<'_>,
    id: String,
    starts_at: DateTime<Utc>,
    document: IdDocumentKind,
    language: Lang,
) -> Result<WebcamBooking> {
    identity::webcam_book(&core, &id, starts_at, document, language).await
}

/// Checks one form field with the same rules the provider (or the backup engine) applies.
#[tauri::command]
pub async fn field_validate(_core: Core<'_>, kind: FieldKind, value: String) -> Result<FieldCheck> {
    Ok(fields::check(kind, &value))
}

#[tauri::command]
pub async fn draft_load(core: Core<'_>) -> Result<Option<Draft>> {
    drafts::load(&core).await
}

#[tauri::command]
pub async fn draft_save(core: Core<'_>, draft: Draft) -> Result<()> {
    drafts::save(&core, draft).await
}

#[tauri::command]
pub async fn draft_clear(core: Core<'_>) -> Result<()> {
    drafts::clear(&core).await
}

#[tauri::command]
pub async fn security_two_step_enrol(core: Core<'_>, address: String) -> Result<TwoStepSetup> {
    security::two_step_enrol(&core, &address).await
}

#[tauri::command]
pub async fn security_two_step_confirm(
    core: Core<'_>,
    address: String,
    code: Secret,
) -> Result<MailboxView> {
    security::two_step_confirm(&core, &address, &code).await
}

#[tauri::command]
pub async fn security_app_password_list(
    core: Core<'_>,
    address: String,
) -> Result<Vec<AppPasswordView>> {
    security::app_passwords(&core, &address).await
}

#[tauri::command]
pub async fn security_app_password_create(
    core: Core<'_>,
    address: String,
    label: String,
    code: Secret,
) -> Result<AppPasswordView> {
    security::app_password_create(&core, &address, &label, &code).await
}

#[tauri::command]
pub async fn security_app_password_delete(
    core: Core<'_>,
    address: String,
    id: String,
) -> Result<()> {
    security::app_password_delete(&core, &address, &id).await
}
