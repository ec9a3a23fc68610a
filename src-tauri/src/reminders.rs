//! Showing reminders: the OS notification, the tray and the start at login. What is due, when,
//! and once, is `pec_app_core::reminders`; this module only shows it.
//!
//! Nothing here is on the way to the first screen: [`start`] runs once the page has loaded,
//! registers the notification and autostart plugins then, builds the tray only when the user
//! turned it on, and looks at the provider a few seconds later.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pec_app_core::Core;
use pec_app_core::reminders::{self, Reminder, ReminderSettings};
use pec_app_core::tray::{self, Action, Entry};
use pec_domain::Lang;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager as _, Wry};

/// The argument the login item starts the app with: the window then opens minimised.
pub const AUTOSTART_ARG: &str = "--autostart";

const TRAY_ID: &str = "reminders";

static STARTED: AtomicBool = AtomicBool::new(false);

/// Starts the reminders once (the page may load again, after a reload).
pub fn start(app: &AppHandle) {
    if STARTED.swap(true, Ordering::SeqCst) {
        return;
    }
    match app.plugin(tauri_plugin_notification::init()) {
        Ok(()) => on_click(app),
        Err(e) => tracing::warn!(error = %e, "notifications unavailable"),
    }
    let autostart = tauri_plugin_autostart::Builder::new()
        .args([AUTOSTART_ARG])
        .build();
    if let Err(e) = app.plugin(autostart) {
        tracing::warn!(error = %e, "autostart unavailable");
    }
    apply_tray(app);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        // The first look comes shortly after the first screen, then every `tray::check_every()`.
        let mut wait = Duration::from_secs(3);
        loop {
            let batch = {
                let core = app.state::<Core>();
                reminders::next_batch(&core, wait).await
            };
            wait = tray::check_every();
            for r in &batch {
                show(&app, r);
            }
            refresh_tray(&app);
        }
    });
}

fn language(app: &AppHandle) -> Lang {
    app.state::<Core>().settings.get().language
}

/// A click on a reminder (where the notification server reports it) opens its screen.
fn on_click(app: &AppHandle) {
    use tauri_plugin_notification::NotificationExt as _;
    let handle = app.clone();
    let _ = app.notification().on_action(move |action| {
        if action.action_id() != "tap" {
            return;
        }
        let key = action
            .notification()
            .and_then(|n| n.extra().get(EXTRA_KEY))
            .and_then(|v| v.as_str());
        open(&handle, key);
    });
}

/// Where a notification carries its reminder's key.
const EXTRA_KEY: &str = "reminder";

/// Asks the page to open the screen of reminder `key` and brings the window forward.
fn open(app: &AppHandle, key: Option<&str>) {
    let reminders = &app.state::<Core>().reminders;
    if let Some(r) = key.and_then(|k| reminders.find(k)) {
        // The page takes it when the window comes forward (reminder_take_open).
        reminders.request_open(r.target);
    }
    show_window(app);
}

fn show(app: &AppHandle, r: &Reminder) {
    use tauri_plugin_notification::NotificationExt as _;
    let lang = language(app);
    // The key names a mailbox: kept out of the log like every address.
    tracing::info!(kind = ?r.kind, "reminder shown");
    if let Err(e) = app
        .notification()
        .builder()
        .title(r.title(lang))
        .body(r.body(lang))
        .extra(EXTRA_KEY, &r.key)
        .show()
    {
        tracing::warn!(error = %e, "could not show a reminder");
    }
}

/// Applies the settings screen's autostart and tray choices.
pub fn apply(app: &AppHandle, settings: &ReminderSettings) {
    use tauri_plugin_autostart::ManagerExt as _;
    if app
        .try_state::<tauri_plugin_autostart::AutoLaunchManager>()
        .is_some()
    {
        let launch = app.autolaunch();
        let result = match (settings.autostart, launch.is_enabled().unwrap_or(false)) {
            (true, false) => launch.enable(),
            (false, true) => launch.disable(),
            _ => Ok(()),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not change the start at login");
        }
    }
    apply_tray(app);
}

/// Whether the tray is there (closing the window then hides it, so reminders still come).
pub fn tray_shown(app: &AppHandle) -> bool {
    app.tray_by_id(TRAY_ID).is_some()
}

fn apply_tray(app: &AppHandle) {
    let wanted = app.state::<Core>().settings.get().reminders.tray;
    match (wanted, app.tray_by_id(TRAY_ID)) {
        (true, None) => {
            if let Err(e) = build_tray(app) {
                tracing::warn!(error = %e, "could not create the tray icon");
            }
        }
        (false, Some(_)) => {
            let _ = app.remove_tray_by_id(TRAY_ID);
        }
        (true, Some(_)) => refresh_tray(app),
        (false, None) => {}
    }
}

fn build_tray(app: &AppHandle) -> tauri::Result<()> {
    let mut tray = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip(app.package_info().name.clone())
        .menu(&menu(app)?)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()));
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone().to_owned());
    }
    tray.build(app)?;
    tracing::info!("tray icon shown");
    Ok(())
}

fn refresh_tray(app: &AppHandle) {
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        match menu(app) {
            Ok(menu) => {
                let _ = tray.set_menu(Some(menu));
            }
            Err(e) => tracing::warn!(error = %e, "could not update the tray menu"),
        }
    }
}

/// Draws `pec_app_core::tray::menu`.
fn menu(app: &AppHandle) -> tauri::Result<Menu<Wry>> {
    let upcoming = app.state::<Core>().reminders.upcoming();
    let menu = Menu::new(app)?;
    for entry in tray::menu(language(app), &upcoming) {
        match entry {
            Entry::Separator => menu.append(&PredefinedMenuItem::separator(app)?)?,
            Entry::Item { id, label, enabled } => {
                menu.append(&MenuItem::with_id(app, id, label, enabled, None::<&str>)?)?;
            }
        }
    }
    Ok(menu)
}

fn on_menu(app: &AppHandle, id: &str) {
    match tray::action(id) {
        Some(Action::Quit) => app.exit(0),
        Some(Action::ShowWindow) => show_window(app),
        Some(Action::Open(key)) => open(app, Some(&key)),
        None => {}
    }
}

pub fn show_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}
