//! PEC Desktop, the Tauri application.
//!
//! This crate is deliberately thin: it wires Tauri (window, ACL, CSP, logging) to the
//! domain crates and exposes a few commands that parse their arguments, call into a crate
//! and map errors to [`error::CommandError`]. Rules about PEC live in `crates/`.

mod commands;
mod error;
mod logs;
mod settings;

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
        .setup(|app| {
            let log_dir = app.path().app_log_dir()?;
            let guard = logs::init(&log_dir)?;
            app.manage(LogGuard(guard));

            let config_dir = app.path().app_config_dir()?;
            app.manage(SettingsStore::load(&config_dir));
            app.manage(AppDirs { log_dir });
            tracing::info!(version = env!("CARGO_PKG_VERSION"), "PEC Desktop started");
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::get_settings,
            commands::set_language,
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
