//! The change of the PEC on record at a registry, and the support path without access.

use pec_app_core::registry::{self, RegistryView};
use pec_provider::api::{PecChangeView, SupportTicketRequest, SupportTicketView};

use super::{Core, Result};
use crate::ipc::Secret;

#[tauri::command]
pub async fn registry_sign_in(
    core: Core<'_>,
    username: String,
    password: Secret,
) -> Result<RegistryView> {
    registry::sign_in(&core, &username, &password).await
}

#[tauri::command]
pub async fn registry_view(core: Core<'_>) -> Result<RegistryView> {
    registry::view(&core).await
}

#[tauri::command]
pub async fn registry_sign_out(core: Core<'_>) -> Result<()> {
    registry::sign_out(&core).await
}

#[tauri::command]
pub async fn registry_request_change(
    core: Core<'_>,
    new_pec: String,
    confirm_new_pec: String,
) -> Result<RegistryView> {
    registry::request_change(&core, &new_pec, &confirm_new_pec).await
}

/// The confirmation link pasted from the PEC (it carries a token: handled as a secret).
#[tauri::command]
pub async fn registry_confirm_link(core: Core<'_>, link: Secret) -> Result<PecChangeView> {
    registry::confirm_link(&core, &link).await
}

#[tauri::command]
pub async fn support_open(
    core: Core<'_>,
    request: SupportTicketRequest,
) -> Result<SupportTicketView> {
    registry::support_open(&core, &request).await
}

#[tauri::command]
pub async fn support_ticket(core: Core<'_>, number: String) -> Result<SupportTicketView> {
    registry::support_ticket(&core, &number).await
}

/// The identity document of a ticket: the bytes as the raw body, the ticket and the file name
/// in headers.
#[tauri::command]
pub async fn support_attach(
    core: Core<'_>,
    request: tauri::ipc::Request<'_>,
) -> Result<SupportTicketView> {
    let upload = crate::upload::Upload::of(&request, "x-ticket")?;
    registry::support_attach(
        &core,
        &upload.owner,
        upload.filename.as_deref(),
        upload.bytes,
    )
    .await
}
