//! The native file dialogs, over the main window, awaited. What each is for, its title and
//! its filter are `pec_app_core::pickers`.

use std::path::Path;

use pec_app_core::pickers::Picker;
use pec_app_core::{AppError, Core};
use tauri_plugin_dialog::{DialogExt as _, FilePath};

/// What the dialog picks.
pub enum Pick<'a> {
    /// An existing file.
    File,
    /// A new file, proposing `name`.
    Save(String),
    /// A folder, opening at `start` when that is an existing absolute folder.
    Folder(Option<&'a str>),
}

/// Opens the dialog for `purpose`; `None` when the user closed it.
pub async fn ask(
    core: &Core,
    window: &tauri::WebviewWindow,
    purpose: Picker,
    pick: Pick<'_>,
) -> Result<Option<FilePath>, AppError> {
    let mut dialog = window
        .dialog()
        .file()
        .set_title(purpose.title(core.settings.get().language))
        .set_parent(window);
    if let Some((name, extensions)) = purpose.filter() {
        dialog = dialog.add_filter(name, extensions);
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let done = move |picked| {
        let _ = tx.send(picked);
    };
    match pick {
        Pick::File => dialog.pick_file(done),
        Pick::Save(name) => dialog.set_file_name(name).save_file(done),
        Pick::Folder(start) => {
            // Never create anything: only a folder that exists is a starting point.
            if let Some(dir) = start
                .map(Path::new)
                .filter(|p| p.is_absolute() && p.is_dir())
            {
                dialog = dialog.set_directory(dir);
            }
            dialog.pick_folder(done);
        }
    }
    rx.await.map_err(|_| AppError::Internal)
}
