//! The change of the PEC on record at a registry, and the support path without access.

use pec_app_core::registry;
use pec_provider::api::SupportTicketView;

use super::{Core, Result};

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
