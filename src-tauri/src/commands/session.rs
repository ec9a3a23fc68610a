//! Sign-in, the session, and the account's mailboxes and notifications.

use pec_app_core::mailboxes;
use pec_app_core::session::{self, ProviderInfo, SessionView};
use pec_provider::api::{MailboxExpiryView, MailboxView, NotificationView};

use super::{Core, Result};
use crate::ipc::Secret;

/// Answered without waiting for the provider to start: the sign-in screen shows at once.
#[tauri::command]
pub async fn session_provider(core: Core<'_>) -> Result<ProviderInfo> {
    Ok(session::provider_info(&core))
}

/// Signs in. The password is zeroized once the provider has answered.
#[tauri::command]
pub async fn session_sign_in(
    core: Core<'_>,
    login: String,
    password: Secret,
    totp_code: Option<Secret>,
) -> Result<SessionView> {
    session::sign_in(&core, &login, &password, totp_code.as_deref()).await
}

/// Signs in to a demo account of the embedded sandbox; no password crosses IPC.
#[tauri::command]
pub async fn session_sign_in_demo(core: Core<'_>, login: String) -> Result<SessionView> {
    session::sign_in_demo(&core, &login).await
}

#[tauri::command]
pub async fn session_restore(core: Core<'_>) -> Result<Option<SessionView>> {
    session::restore(&core).await
}

#[tauri::command]
pub async fn session_sign_out(core: Core<'_>) -> Result<()> {
    session::sign_out(&core).await
}

#[tauri::command]
pub async fn mailbox_list(core: Core<'_>) -> Result<Vec<MailboxView>> {
    mailboxes::list(&core).await
}

#[tauri::command]
pub async fn mailbox_expiries(core: Core<'_>) -> Result<Vec<MailboxExpiryView>> {
    mailboxes::expiries(&core).await
}

#[tauri::command]
pub async fn notification_list(core: Core<'_>) -> Result<Vec<NotificationView>> {
    mailboxes::notifications(&core).await
}

#[tauri::command]
pub async fn notification_mark_read(core: Core<'_>, id: String) -> Result<()> {
    mailboxes::mark_notification_read(&core, &id).await
}
