//! PEC Desktop, the Tauri application.
//!
//! This crate only adapts: it wires Tauri (window, ACL, CSP, logging, the single-instance,
//! opener, dialog, notification and autostart plugins, the optional tray) to `pec-app-core`, where the app's logic lives, and exposes commands that parse
//! their arguments, call one function of the core and map its error. The commands, and the
//! TypeScript the UI imports, are listed once in [`ipc`].

mod commands;
mod dialogs;
mod ipc;
mod logs;
mod reminders;
#[cfg(target_os = "linux")]
mod taskbar;
mod upload;

use pec_app_core::{Core, Dirs};
use tauri::Manager;

/// Keeps the non-blocking log writer alive for the whole run; dropping it flushes the file.
struct LogGuard(#[allow(dead_code)] tracing_appender::non_blocking::WorkerGuard);

/// Runs the app and returns the process exit code.
pub fn run() -> i32 {
    let result = tauri::Builder::default()
        // First, as the plugin asks: a second launch exits at once and hands its arguments to
        // this one (they are not logged: they may name a file or an address). A launch by the
        // user brings this window forward; the start at login (autostart, while the app is
        // already running) leaves it as it is, hidden in the tray or not.
        .plugin(tauri_plugin_single_instance::init(|app, args, _cwd| {
            if args.iter().skip(1).any(|a| a == reminders::AUTOSTART_ARG) {
                tracing::info!(
                    "second launch at login: the app already runs, its window stays as it is"
                );
                return;
            }
            tracing::info!("second launch: the open window is brought forward");
            reminders::show_window(app);
        }))
        // Used from Rust only (the SPID page); the webview has no opener permission, and the
        // plugin's script that opens clicked links is not injected either (audit I3): a link
        // in the page opens nothing outside it.
        .plugin(
            tauri_plugin_opener::Builder::new()
                .open_js_links_on_click(false)
                .build(),
        )
        // Used from Rust only (the backup's folder picker); the webview has no dialog permission.
        .plugin(tauri_plugin_dialog::init())
        // Used from Rust only (copy buttons, commands/desktop.rs); no clipboard permission.
        .plugin(tauri_plugin_clipboard_manager::init())
        .setup(|app| {
            let log = app.path().app_log_dir()?;
            let guard = logs::init(&log)?;
            app.manage(LogGuard(guard));
            // A branded build presets the provider, the first language and the release feed;
            // the user's settings win over each of them (`Settings::effective`).
            let brand = pec_app_core::branding::load(app.path().resource_dir().ok().as_deref());
            let dirs = Dirs {
                config: app.path().app_config_dir()?,
                data: app.path().app_data_dir()?,
                log,
            };
            // The window opens at once; the provider and the keyring are set up once the
            // page has loaded (below), or by the first command that needs them.
            app.manage(Core::new(dirs, brand));
            commands::desktop::restore_window(app.handle());
            // Started at login (opt-in, settings screen): out of the way until wanted.
            if std::env::args().any(|a| a == reminders::AUTOSTART_ARG)
                && let Some(window) = app.get_webview_window("main")
            {
                let _ = window.minimize();
            }
            tracing::info!(version = env!("CARGO_PKG_VERSION"), "PEC Desktop started");
            Ok(())
        })
        // What the first screen does not need waits until the page says it is up (`app_shown`):
        // on a small machine its start-up would otherwise compete with WebKit's. A page that
        // never says so (a script error) still gets it a little later.
        .on_page_load(|webview, payload| {
            if payload.event() == tauri::webview::PageLoadEvent::Finished {
                let handle = webview.app_handle().clone();
                tauri::async_runtime::spawn(async move {
                    tokio::time::sleep(FIRST_SCREEN_AT_THE_LATEST).await;
                    after_first_screen(&handle);
                });
            }
        })
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                // The window's size and position, for the next start (commands/desktop.rs).
                commands::desktop::save_window(window);
                // With the tray on, closing the window hides it: the app stays to remind.
                if reminders::tray_shown(window.app_handle()) {
                    api.prevent_close();
                    let _ = window.hide();
                } else {
                    // The app is leaving: see `release_instance`.
                    release_instance(window.app_handle());
                }
            }
        })
        .invoke_handler(ipc::handler())
        .build(tauri::generate_context!());

    match result {
        Ok(app) => app.run_return(|app, event| {
            if let tauri::RunEvent::ExitRequested { .. } = event {
                release_instance(app);
            }
        }),
        Err(err) => {
            // Logging may not be up yet: stderr is the only place this can go.
            eprintln!("PEC Desktop could not start: {err}");
            1
        }
    }
}

/// How long after the page has loaded the deferred start-up runs even if the page never said
/// its first screen is up.
const FIRST_SCREEN_AT_THE_LATEST: std::time::Duration = std::time::Duration::from_secs(5);

/// Starts, once, what the first screen does not need: the provider (the embedded sandbox's
/// database, which on a first start seeds and hashes the demo passwords) and the keyring are
/// warmed up, and the reminders, their plugins and the tray start (on the main thread, which
/// the tray needs). A command that needs the provider earlier starts it itself.
pub(crate) fn after_first_screen(app: &tauri::AppHandle) {
    static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if DONE.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    tracing::debug!("first screen up: warming up the provider and starting the reminders");
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        handle.state::<Core>().conn.warm_up().await;
    });
    let handle = app.clone();
    if let Err(e) = app.run_on_main_thread(move || reminders::start(&handle)) {
        tracing::warn!(error = %e, "the reminders could not be started");
    }
}

/// Gives up being the single instance as soon as the app starts leaving (its window closed,
/// or "Esci" in the tray), not once WebKit and the embedded sandbox have shut down: a launch
/// in the next seconds then opens its own window instead of handing itself to one that is
/// going away (which left the user with nothing on screen).
fn release_instance(app: &tauri::AppHandle) {
    tauri_plugin_single_instance::destroy(app);
}
