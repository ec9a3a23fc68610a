//! The smallest Tauri 2 app worth bundling: one window showing a static page.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    if let Err(err) = tauri::Builder::default().run(tauri::generate_context!()) {
        eprintln!("hello-world could not start: {err}");
        std::process::exit(1);
    }
}
