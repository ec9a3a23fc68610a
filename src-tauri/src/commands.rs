//! The IPC surface. Each command only parses, calls and maps errors; every command here
//! must also be listed in `build.rs` (ACL manifest) and allowed in `capabilities/main.json`.

use serde::Serialize;
use tauri::State;

use pec_domain::Lang;
use pec_provider::api::{MailboxView, NotificationView};
use zeroize::Zeroizing;

use crate::session::{Connection, DEMO_ACCOUNTS, ProviderInfo, SessionView};
use crate::{AppDirs, CommandError, Settings, SettingsStore};

#[derive(Debug, Serialize)]
pub struct AppInfo {
    /// The product name this binary was built with ("PEC Desktop", or a branded build's).
    pub name: String,
    pub version: &'static str,
    pub log_dir: String,
}

#[tauri::command]
pub fn app_info(app: tauri::AppHandle, dirs: State<'_, AppDirs>) -> AppInfo {
    AppInfo {
        name: app.package_info().name.clone(),
        version: env!("CARGO_PKG_VERSION"),
        log_dir: dirs.log_dir.display().to_string(),
    }
}

#[tauri::command]
pub fn get_settings(store: State<'_, SettingsStore>) -> Settings {
    store.get()
}

#[tauri::command]
pub fn set_language(
    store: State<'_, SettingsStore>,
    language: Lang,
) -> Result<Settings, CommandError> {
    let settings = store.update(|s| s.language = language)?;
    tracing::info!(?language, "language changed");
    Ok(settings)
}

// ---------------------------------------------------------------------------------------------
// Provider and session

#[tauri::command]
pub fn provider_info(
    conn: State<'_, Connection>,
    store: State<'_, SettingsStore>,
) -> Result<ProviderInfo, CommandError> {
    // Answered without waiting for the provider to start: the sign-in screen shows at once.
    Ok(ProviderInfo {
        base_url: conn.known_base_url(),
        embedded: conn.is_embedded(),
        demo_accounts: if conn.is_embedded() {
            DEMO_ACCOUNTS.to_vec()
        } else {
            Vec::new()
        },
        last_login: store.get().last_account,
    })
}

/// Signs in. The password is zeroized once the provider has answered.
#[tauri::command]
pub async fn sign_in(
    conn: State<'_, Connection>,
    store: State<'_, SettingsStore>,
    login: String,
    password: Zeroizing<String>,
    totp_code: Option<Zeroizing<String>>,
) -> Result<SessionView, CommandError> {
    let session = conn
        .sign_in(
            login.trim(),
            &password,
            totp_code.as_deref().map(String::as_str),
        )
        .await?;
    remember_account(&store, Some(session.account_id.clone()));
    Ok(session)
}

/// Signs in to a demo account of the embedded sandbox; the demo password never crosses IPC.
#[tauri::command]
pub async fn sign_in_demo(
    conn: State<'_, Connection>,
    store: State<'_, SettingsStore>,
    login: String,
) -> Result<SessionView, CommandError> {
    if !conn.is_embedded() || !DEMO_ACCOUNTS.iter().any(|a| a.login == login) {
        return Err(CommandError::Localized(pec_domain::Localized {
            code: "session.not_demo".into(),
            message_it:
                "Questo account dimostrativo non è disponibile con il fornitore configurato.".into(),
            message_en: "This demo account is not available with the configured provider.".into(),
        }));
    }
    let session = conn
        .sign_in(&login, pec_sandbox::seed::DEMO_PASSWORD, None)
        .await?;
    remember_account(&store, Some(session.account_id.clone()));
    Ok(session)
}

/// Resumes the last session from the keyring, if the provider still accepts it.
#[tauri::command]
pub async fn restore_session(
    conn: State<'_, Connection>,
    store: State<'_, SettingsStore>,
) -> Result<Option<SessionView>, CommandError> {
    if let Some(account) = conn.account().await {
        return Ok(Some(SessionView {
            account_id: account,
        }));
    }
    match store.get().last_account {
        Some(account) => conn.restore(&account).await,
        None => Ok(None),
    }
}

/// Signs out: the provider forgets the session and the keyring item is deleted. The last
/// account stays in the settings only to prefill the form.
#[tauri::command]
pub async fn sign_out(conn: State<'_, Connection>) -> Result<(), CommandError> {
    conn.sign_out().await
}

#[tauri::command]
pub async fn list_mailboxes(conn: State<'_, Connection>) -> Result<Vec<MailboxView>, CommandError> {
    conn.authed(|c| c.mailboxes()).await
}

#[tauri::command]
pub async fn list_notifications(
    conn: State<'_, Connection>,
) -> Result<Vec<NotificationView>, CommandError> {
    conn.authed(|c| c.notifications()).await
}

#[tauri::command]
pub async fn mark_notification_read(
    conn: State<'_, Connection>,
    id: String,
) -> Result<(), CommandError> {
    let id = id.as_str();
    conn.authed(move |c| c.mark_notification_read(id)).await
}

fn remember_account(store: &SettingsStore, account: Option<String>) {
    if let Err(e) = store.update(|s| s.last_account = account) {
        // Only the prefill and the restore after a restart are lost.
        tracing::warn!(error = %e, "could not save the last account");
    }
}

/// Expiry awareness of every mailbox of the account (days left, reminder, grace period and
/// cessation day, computed by the provider with its own windows), in one provider call
/// however many mailboxes the account holds.
#[tauri::command]
pub async fn mailbox_expiries(
    conn: State<'_, Connection>,
) -> Result<Vec<pec_provider::api::MailboxExpiryView>, CommandError> {
    conn.authed(|c| c.mailbox_expiries()).await
}
