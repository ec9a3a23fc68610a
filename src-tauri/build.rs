//! Declares our own commands to Tauri's ACL: with an `AppManifest`, every app command is
//! checked against the capabilities, so the main window can call only what
//! `capabilities/main.json` allows. The names come from the one list in `src/ipc.rs`.

fn main() {
    println!("cargo:rerun-if-changed=src/ipc.rs");
    let source = std::fs::read_to_string("src/ipc.rs").expect("src/ipc.rs is readable");
    // The manifest wants names that live for the whole build script: leaked, once.
    let names: &'static [&'static str] = Vec::leak(
        pec_ipc_gen::command_names(&source)
            .into_iter()
            .map(|n| &*String::leak(n))
            .collect(),
    );
    assert!(!names.is_empty(), "no command found in src/ipc.rs");
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(names)),
    )
    .expect("tauri-build failed: check tauri.conf.json and capabilities/");
}
