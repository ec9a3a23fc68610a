//! PEC Desktop, the Tauri application.
//!
//! This crate is deliberately thin: it wires Tauri (window, ACL, CSP, logging) to the
//! domain crates and exposes a few commands that parse their arguments, call into a crate
//! and map errors to [`error::CommandError`]. Rules about PEC live in `crates/`.

mod backup;
mod branding;
mod cards;
mod commands;
mod error;
mod identity;
mod logs;
mod registry;
mod renewal;
mod session;
mod settings;
mod updates;

use std::path::PathBuf;

use tauri::Manager;

pub use error::CommandError;
pub use settings::{Settings, SettingsStore};

/// Directories resolved once at start, shown to the user for support requests.
pub struct AppDirs {
    pub log_dir: PathBuf,
}

/// Keeps the non-blocking log writer alive for the whole run; dropping it flushes the file.
struct LogGuard(#[allow(dead_code)] tracing_appender::non_blocking::WorkerGuard);

/// Runs the app and returns the process exit code.
pub fn run() -> i32 {
    let result = tauri::Builder::default()
        // Used from Rust only (the SPID page); the webview has no opener permission.
        .plugin(tauri_plugin_opener::init())
        // Used from Rust only (the backup's folder picker); the webview has no dialog permission.
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| {
            let log_dir = app.path().app_log_dir()?;
            let guard = logs::init(&log_dir)?;
            app.manage(LogGuard(guard));

            // A branded build presets the provider, the first language and the release feed;
            // the user's settings win over each of them.
            let brand = branding::load(app.path().resource_dir().ok().as_deref());
            let defaults = Settings {
                language: brand
                    .as_ref()
                    .map(|b| b.default_language)
                    .unwrap_or_default(),
                ..Settings::default()
            };
            let config_dir = app.path().app_config_dir()?;
            let settings = SettingsStore::load_or(&config_dir, defaults);
            let current = settings.get();
            let provider_url = current
                .provider_url
                .or_else(|| brand.as_ref().map(|b| b.provider_url.clone()));
            let feed_url = current
                .release_feed_url
                .or_else(|| brand.as_ref().and_then(|b| b.release_feed_url.clone()));
            app.manage(settings);
            app.manage(AppDirs { log_dir });
            app.manage(updates::UpdateCheck::new(feed_url));
            app.manage(branding::AppBranding(brand));

            let data_dir = app.path().app_data_dir()?;
            let choice = match provider_url {
                Some(url) => session::ProviderChoice::Remote(url),
                None => session::ProviderChoice::Embedded(data_dir.clone()),
            };
            // The window opens at once; the provider and the keyring are set up once the
            // page has loaded (below), or by the first command that needs them.
            app.manage(session::Connection::new(choice));
            app.manage(cards::Cards::new(&data_dir));
            app.manage(identity::Drafts::new(&data_dir));
            app.manage(identity::SpidPages::default());
            app.manage(registry::Tickets::default());
            app.manage(renewal::PaymentKeys::default());
            app.manage(backup::Backups::default());
            tracing::info!(version = env!("CARGO_PKG_VERSION"), "PEC Desktop started");
            Ok(())
        })
        // Warm up the provider (the embedded sandbox's database) and the keyring only once the
        // page has loaded: on a small machine their start-up would otherwise compete with
        // WebKit's for the first screen, and the user needs a moment to pick an account anyway.
        .on_page_load(|webview, payload| {
            if payload.event() == tauri::webview::PageLoadEvent::Finished {
                let handle = webview.app_handle().clone();
                tauri::async_runtime::spawn(async move {
                    handle.state::<session::Connection>().warm_up().await;
                });
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::get_settings,
            commands::set_language,
            commands::provider_info,
            commands::sign_in,
            commands::sign_in_demo,
            commands::restore_session,
            commands::sign_out,
            commands::list_mailboxes,
            commands::list_notifications,
            commands::mark_notification_read,
            identity::identity_start,
            identity::identity_get,
            identity::identity_act,
            identity::identity_upload,
            identity::validate_field,
            identity::guide_link,
            identity::spid_start,
            identity::spid_open,
            identity::spid_poll,
            identity::remote_signature,
            identity::webcam_slots,
            identity::webcam_book,
            identity::two_step_enrol,
            identity::two_step_confirm,
            identity::app_passwords,
            identity::app_password_create,
            identity::app_password_delete,
            identity::draft_load,
            identity::draft_save,
            identity::draft_clear,
            cards::card_readers,
            cards::card_watch,
            cards::card_unwatch,
            cards::card_preflight,
            cards::card_identify,
            branding::branding,
            updates::check_for_update,
            registry::registry_sign_in,
            registry::registry_view,
            registry::registry_sign_out,
            registry::registry_request_change,
            registry::registry_confirm_link,
            registry::support_open,
            registry::support_ticket,
            registry::support_attach,
            commands::mailbox_expiries,
            renewal::renewal_lookup,
            renewal::renewal_captcha,
            renewal::renewal_register,
            renewal::renewal_verify_email,
            renewal::renewal_verify_sms,
            renewal::renewal_skip_sms,
            renewal::renewal_sign_in,
            renewal::renewal_close,
            renewal::renewal_mailboxes,
            renewal::renewal_create_order,
            renewal::renewal_order,
            renewal::renewal_pay,
            backup::backup_defaults,
            backup::backup_start,
            backup::backup_cancel,
            backup::backup_pick_folder,
        ])
        .run(tauri::generate_context!());

    match result {
        Ok(()) => 0,
        Err(err) => {
            // Logging may not be up yet: stderr is the only place this can go.
            eprintln!("PEC Desktop could not start: {err}");
            1
        }
    }
}
