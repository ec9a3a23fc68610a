//! Writing the app's files so that nobody else can read them or make the write land elsewhere
//! (audit L6): drafts (tax codes, mobile numbers, e-mails), settings, what is known about
//! cards, and the backup's journal and index.
//!
//! - [`write_atomic`]: the content goes to a temporary file in the same folder, with a random
//!   name, created exclusively (`O_CREAT|O_EXCL`, which also refuses a symbolic link planted
//!   in its place) and private to the user (0600 on Unix); it is flushed and renamed over the
//!   target, and the folder is flushed so the rename survives a crash. A reader sees the old
//!   file or the new one, never half of one, and a predictable `x.tmp` can no longer be used
//!   to truncate another file.
//! - [`private_dir_all`]: creates a folder and its missing parents with mode 0700.

use std::fs::File;
use std::io::Write as _;
use std::path::Path;

/// The suffix of the temporary files, for whoever cleans up after a hard kill.
pub const TEMP_SUFFIX: &str = ".tmp";

/// Replaces `path` with `bytes` atomically, as a file private to the user (see the crate's
/// documentation). The folder must exist.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // tempfile: a random name, O_CREAT|O_EXCL, mode 0600 on Unix.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    // On failure the temporary file is removed when the error drops it.
    tmp.persist(path).map_err(|e| e.error)?;
    // The rename itself is durable only once the folder is flushed (POSIX).
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates `dir` and its missing parents, each private to the user (0700 on Unix); folders
/// that exist are left as they are.
pub fn private_dir_all(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["settings.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn files_are_0600_and_new_folders_0700_whatever_the_umask_allows() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        private_dir_all(&nested).unwrap();
        for d in [dir.path().join("a"), nested.clone()] {
            let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", d.display());
        }
        // A file that was world-readable before becomes private when rewritten.
        let path = nested.join("drafts.json");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&path, b"new").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_planted_at_the_old_temporary_name_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep me").unwrap();
        let path = dir.path().join("cards.json");
        // The names the old code used: x.json.tmp and .x.<pid>.tmp.
        std::os::unix::fs::symlink(&victim, dir.path().join("cards.json.tmp")).unwrap();
        std::os::unix::fs::symlink(
            &victim,
            dir.path()
                .join(format!(".cards.json.{}.tmp", std::process::id())),
        )
        .unwrap();
        write_atomic(&path, b"{}").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
    }
}
