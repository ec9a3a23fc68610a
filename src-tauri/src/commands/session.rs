//! Sign-in, the session, and the account's mailboxes and notifications.

use pec_app_core::session::{self, ProviderInfo};

use super::{Core, Result};

/// Answered without waiting for the provider to start: the sign-in screen shows at once.
#[tauri::command]
pub async fn session_provider(core: Core<'_>) -> Result<ProviderInfo> {
    Ok(session::provider_info(&core))
}
