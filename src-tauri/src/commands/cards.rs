//! The card reader panel and the card method (CNS, signature cards).

use pec_app_core::cards::{self, CardCheck, ReadersUpdate};
use pec_provider::api::IdentityRequestView;

use super::{Core, Result};
use crate::ipc::{Events, Secret};

#[tauri::command]
pub async fn card_readers(core: Core<'_>) -> Result<ReadersUpdate> {
    cards::readers(&core).await
}

/// Sends the readers on `channel` now and after every change, until the next watch or
/// `card_unwatch`, or until the window is gone.
#[tauri::command]
pub async fn card_watch(core: Core<'_>, channel: Events<ReadersUpdate>) -> Result<()> {
    cards::watch(&core, move |update| channel.0.send(update).is_ok());
    Ok(())
}

#[tauri::command]
pub async fn card_unwatch(core: Core<'_>) -> Result<()> {
    cards::unwatch(&core);
    Ok(())
}

#[tauri::command]
pub async fn card_preflight(
    core: Core<'_>,
    reader: String,
    declared_tax_code: Option<String>,
) -> Result<CardCheck> {
    cards::preflight(&core, reader, declared_tax_code).await
}

/// VERIFY once and sign the provider's challenge; a wrong PIN answers `card.pin_wrong`. On a
/// card with one try left, nothing is sent without `confirm_last_try` (`card.pin_last_try`).
#[tauri::command]
pub async fn card_identify(
    core: Core<'_>,
    id: String,
    reader: String,
    pin: Secret,
    confirm_last_try: bool,
) -> Result<IdentityRequestView> {
    cards::identify(&core, &id, reader, &pin, confirm_last_try).await
}
