//! The card reader panel (the card method itself is forwarded to the core, `ipc.rs`).

use pec_app_core::cards::{self, ReadersUpdate};

use super::{Core, Result};
use crate::ipc::Events;

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
