//! The backup's progress on Linux docks and task managers.
//!
//! Tauri's `set_progress_bar` reaches the Windows taskbar and the macOS Dock; on Linux it goes
//! through libunity, and only while the Unity shell runs. The docks in use today (Ubuntu's
//! dock and Dash to Dock, Dash to Panel, KDE Plasma's task manager, Plank) read the same
//! facts from a D-Bus signal any app may send on the session bus,
//! `com.canonical.Unity.LauncherEntry.Update(app_uri, {"progress": d, "progress-visible": b})`,
//! naming the app by its desktop entry: `application://PEC Desktop.desktop`, the file the .deb
//! installs (`{product name}.desktop`, a branded build's name included).

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::mpsc;
use zbus::zvariant::Value;

const INTERFACE: &str = "com.canonical.Unity.LauncherEntry";
/// Any object path will do: listeners match the interface and read the app from `app_uri`.
const PATH: &str = "/it/pecdesktop/app/LauncherEntry";

/// The progress of one run: updates leave in order, from one task, and a repeated value is
/// not sent again. Dropping it ends the task once the updates already given have gone.
pub struct LauncherEntry {
    tx: mpsc::UnboundedSender<Option<u64>>,
    last: Mutex<Option<Option<u64>>>,
}

impl LauncherEntry {
    /// For the app whose desktop entry is `{product}.desktop`.
    pub fn start(product: &str) -> Self {
        let app_uri = format!("application://{product}.desktop");
        let (tx, mut rx) = mpsc::unbounded_channel::<Option<u64>>();
        tauri::async_runtime::spawn(async move {
            let conn = match zbus::Connection::session().await {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::debug!(error = %e, "no session bus: no progress on the dock");
                    return;
                }
            };
            while let Some(percent) = rx.recv().await {
                let mut properties: HashMap<&str, Value<'_>> = HashMap::new();
                properties.insert("progress-visible", Value::from(percent.is_some()));
                if let Some(percent) = percent {
                    properties.insert("progress", Value::from(percent as f64 / 100.0));
                }
                let body = (app_uri.as_str(), properties);
                if let Err(e) = conn
                    .emit_signal(
                        None::<zbus::names::BusName<'_>>,
                        PATH,
                        INTERFACE,
                        "Update",
                        &body,
                    )
                    .await
                {
                    tracing::debug!(error = %e, "the dock's progress was not sent");
                }
            }
        });
        Self {
            tx,
            last: Mutex::new(None),
        }
    }

    /// Shows `Some(percent)` (0–100) on the app's dock icon, or hides the bar (`None`: the run
    /// cannot say how far it is yet, or it is over).
    pub fn show(&self, percent: Option<u64>) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if *last == Some(percent) {
            return;
        }
        *last = Some(percent);
        let _ = self.tx.send(percent);
    }
}
