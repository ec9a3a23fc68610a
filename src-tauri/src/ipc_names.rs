//! Reads the command names out of `ipc.rs`'s `surface!` list. Shared by `build.rs` (the ACL
//! manifest, which must be known before the crate compiles) and the test that holds it to
//! `ipc::COMMANDS`, so the list is written once.

/// The names of the entries of the `surface!` invocation in `source`, in order.
pub fn parse(source: &str) -> Vec<String> {
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
        // `        module::name[...](...) -> ...,` or `        module::name(...) -> ...,`
        let entry = line.trim_start();
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
