//! The app's IPC surface as the UI sees it, generated from Rust.
//!
//! `src-tauri/src/ipc.rs` lists every command once, in its `surface!` invocation. Two things
//! are derived from that list here, with no Tauri dependency:
//!
//! * [`command_names`]: the names, read from the source text. `src-tauri/build.rs` needs them
//!   before the app crate compiles (Tauri's ACL manifest), and a test holds them to the list
//!   the macro compiled, so the two cannot drift.
//! * [`typescript`]: the file the UI imports (`ui/src/lib/ipc.generated.ts`): every type the
//!   commands take or answer (through `ts-rs`), a function per command, the command names and
//!   the error codes the UI branches on. A test in the app regenerates it and compares it with
//!   the checked-in copy.

#[cfg(feature = "typescript")]
mod typescript;
#[cfg(feature = "typescript")]
pub use typescript::{Command, Config, Types, config, typescript};

/// The names of the entries of the `surface! {` invocation in `source`, in order. An entry is
/// a line `module::name[...](...) -> ...,` (`module::name(...)` for uploads), or
/// `fn name(...) -> ... = ...;` for a generated command.
pub fn command_names(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in source.lines() {
        if line.starts_with("surface! {") {
            inside = true;
            continue;
        }
        if inside && line.starts_with('}') {
            break;
        }
        if !inside {
            continue;
        }
        let entry = line.trim_start();
        if let Some(rest) = entry.strip_prefix("fn ") {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && rest[name.len()..].starts_with('(') {
                names.push(name);
            }
            continue;
        }
        let Some((module, rest)) = entry.split_once("::") else {
            continue;
        };
        if module.is_empty() || !module.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && rest[name.len()..].starts_with(['[', '(']) {
            names.push(name);
        }
    }
    names
}

/// The names that break the `<area>_<verb>` convention: whose prefix is none of `areas`.
pub fn misnamed<'a>(names: &[&'a str], areas: &[&str]) -> Vec<&'a str> {
    names
        .iter()
        .copied()
        .filter(|n| !areas.iter().any(|a| n.starts_with(&format!("{a}_"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_from_the_surface_list_only() {
        let source = "fn x() {}\nsurface! {\n    commands {\n        app::app_info[tauri::AppHandle]() -> AppInfo,\n        cards::card_identify[](id: String) -> View,\n    }\n    forward {\n        /// Docs: `fn not_this()` or a::b(c) are no entries.\n        fn identity_get(id: String) -> View = |core| x::get(&core, &id);\n    }\n    uploads {\n        identity::identity_upload(request_id = \"x\") -> View,\n    }\n}\nother::not_this[]() -> X,\n";
        assert_eq!(
            command_names(source),
            [
                "app_info",
                "card_identify",
                "identity_get",
                "identity_upload"
            ]
        );
    }

    #[test]
    fn names_outside_the_areas_are_reported() {
        assert_eq!(
            misnamed(&["app_info", "getThing", "card_x"], &["app", "card"]),
            ["getThing"]
        );
    }
}
