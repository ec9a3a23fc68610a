//! The backup folder on disk: message files, the journal that makes runs resumable, the index.
//!
//! ```text
//! DEST/
//!   index.json                      the index (format below), rewritten at the end of each run
//!   messages/INBOX/1700000000-0000000042.eml     <UIDVALIDITY>-<UID>.eml, raw RFC 822 bytes
//!   messages/Archivio/2024/…                     one directory per folder level
//!   .pec-backup/journal.jsonl       one line per saved message (the resume state)
//! ```
//!
//! Every file is written to a temporary name in the same directory, flushed to disk, then
//! renamed over its final name: a crash leaves either the old file or the new one, never half
//! of one. A message counts as saved only once its journal line is on disk, *after* its file;
//! a crash between the two re-downloads that one message on the next run and renames it over
//! the same name, so there are no duplicates.
//!
//! The key of a message is (folder, UIDVALIDITY, UID), as IMAP defines it (RFC 3501 §2.3.1.1):
//! a UID names the same message only while the folder's UIDVALIDITY stays the same. When the
//! server changes UIDVALIDITY, old files are kept (they are in the file name) and the folder is
//! saved again under the new value; nothing is ever overwritten with a different message.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{BackupError, PecType};

pub(crate) const INDEX_FILE: &str = "index.json";
pub(crate) const STATE_DIR: &str = ".pec-backup";
pub(crate) const JOURNAL_FILE: &str = "journal.jsonl";
pub(crate) const MESSAGES_DIR: &str = "messages";
/// The `format` value of `index.json`; changes only with an incompatible change.
pub const INDEX_FORMAT: &str = "pec-backup-index/1";
const JOURNAL_FORMAT: &str = "pec-backup-journal/1";

/// One saved message, as listed in `index.json` and in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct IndexEntry {
    /// The folder's name for people (modified UTF-7 decoded).
    pub folder: String,
    /// The folder's name on the server (the key).
    pub imap_folder: String,
    pub uidvalidity: u32,
    pub uid: u32,
    /// Path of the `.eml` file relative to the backup folder, with `/` separators.
    pub file: String,
    pub from: Option<String>,
    /// RFC 3339 when the `Date:` header parses, else as written.
    pub date: Option<String>,
    pub subject: Option<String>,
    /// Bytes in the file.
    pub size: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    pub pec_type: PecType,
    pub message_id: Option<String>,
    /// On a receipt: the Message-ID of the message it is about.
    pub riferimento_message_id: Option<String>,
}

/// The whole of `index.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct Index {
    pub format: String,
    /// `host:port` of the IMAPS server.
    pub server: String,
    /// The mailbox (IMAP user name).
    pub user: String,
    /// Sorted by folder, UIDVALIDITY, UID.
    pub messages: Vec<IndexEntry>,
}

/// The first line of the journal: whose backup this folder holds.
#[derive(Debug, Serialize, Deserialize)]
struct JournalHeader {
    format: String,
    server: String,
    user: String,
}

pub(crate) type Key = (String, u32, u32);

/// The backup folder, opened for one run.
///
/// Opening only reads: a folder that holds another mailbox's backup is refused at once, but
/// nothing is written until [`Store::begin`], which the run calls after the server accepted
/// the login. A mistyped user name refused by the server therefore leaves no trace that could
/// claim the folder for it.
pub(crate) struct Store {
    root: PathBuf,
    /// Open for appending once [`Store::begin`] ran.
    journal: Option<File>,
    /// Whether the journal's header must be (re)written by [`Store::begin`].
    needs_rewrite: bool,
    /// Saved messages by key; a later journal line for a key replaces an earlier one.
    pub(crate) entries: BTreeMap<Key, IndexEntry>,
    server: String,
    user: String,
}

impl Store {
    /// Reads the backup in `root`, if any, for `user` at `server`; writes nothing.
    pub(crate) fn open(root: &Path, server: &str, user: &str) -> Result<Self, BackupError> {
        let path = root.join(STATE_DIR).join(JOURNAL_FILE);
        let mut entries = BTreeMap::new();
        let mut torn = false;
        let mut have_header = false;
        if path.exists() {
            let file = File::open(&path).map_err(|e| BackupError::local(&path, &e))?;
            for (n, line) in BufReader::new(file).split(b'\n').enumerate() {
                let line = line.map_err(|e| BackupError::local(&path, &e))?;
                if n == 0 {
                    match serde_json::from_slice::<JournalHeader>(&line) {
                        Ok(h) if h.format == JOURNAL_FORMAT => {
                            // Case-insensitive: IMAP user names usually are e-mail addresses.
                            if !h.user.eq_ignore_ascii_case(user) {
                                return Err(BackupError::OtherMailbox(h.user));
                            }
                            have_header = true;
                            continue;
                        }
                        _ => {
                            torn = true;
                            continue;
                        }
                    }
                }
                match serde_json::from_slice::<IndexEntry>(&line) {
                    // A line naming a file outside messages/ (a tampered or foreign journal)
                    // is not believed: the message is downloaded again.
                    Ok(e) if is_message_path(&e.file) => {
                        entries.insert((e.imap_folder.clone(), e.uidvalidity, e.uid), e);
                    }
                    Ok(_) => torn = true,
                    // Only a crash mid-append leaves a bad line (the last one): drop it, and
                    // rewrite the journal below so the next append starts on a clean line.
                    Err(_) => torn = true,
                }
            }
        }
        Ok(Self {
            root: root.to_owned(),
            journal: None,
            needs_rewrite: torn || !have_header,
            entries,
            server: server.to_owned(),
            user: user.to_owned(),
        })
    }

    /// Makes the folder this user's backup (after a successful login): creates its
    /// directories, writes the journal's header if needed, and removes the temporary files a
    /// killed run left behind.
    pub(crate) fn begin(&mut self) -> Result<(), BackupError> {
        let state = self.root.join(STATE_DIR);
        fs::create_dir_all(&state).map_err(|e| BackupError::local(&state, &e))?;
        let messages = self.root.join(MESSAGES_DIR);
        fs::create_dir_all(&messages).map_err(|e| BackupError::local(&messages, &e))?;
        remove_temp_files(&self.root, 0)?;
        if self.needs_rewrite {
            self.rewrite_journal()?;
            self.needs_rewrite = false;
        } else {
            self.journal = Some(open_append(&self.journal_path())?);
        }
        Ok(())
    }

    /// Whether [`Store::begin`] ran: the folder holds (or is starting) this user's backup.
    pub(crate) fn begun(&self) -> bool {
        self.journal.is_some()
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// True when the message is saved and its file is still there with the recorded size.
    pub(crate) fn is_saved(&self, key: &Key) -> bool {
        self.entries.get(key).is_some_and(|e| {
            // symlink_metadata: a link planted in place of a message is not a saved message.
            fs::symlink_metadata(self.root.join(&e.file))
                .is_ok_and(|m| m.is_file() && m.len() == e.size)
        })
    }

    /// Writes one message file atomically, then records it in the journal.
    pub(crate) fn save(&mut self, entry: IndexEntry, raw: &[u8]) -> Result<(), BackupError> {
        if !is_message_path(&entry.file) {
            return Err(BackupError::LocalIo(
                self.root.join(&entry.file),
                "not a path under messages/".into(),
            ));
        }
        let jp = self.journal_path();
        let Some(journal) = self.journal.as_mut() else {
            return Err(BackupError::LocalIo(
                jp,
                "the backup was not started".into(),
            ));
        };
        let path = self.root.join(&entry.file);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| BackupError::local(dir, &e))?;
        }
        write_atomic(&path, raw)?;
        let mut line = serde_json::to_vec(&entry)
            .map_err(|e| BackupError::LocalIo(jp.clone(), e.to_string()))?;
        line.push(b'\n');
        journal
            .write_all(&line)
            .and_then(|()| journal.sync_data())
            .map_err(|e| BackupError::local(&jp, &e))?;
        self.entries.insert(
            (entry.imap_folder.clone(), entry.uidvalidity, entry.uid),
            entry,
        );
        Ok(())
    }

    /// Writes `index.json` from the journal.
    pub(crate) fn write_index(&self) -> Result<(), BackupError> {
        let index = Index {
            format: INDEX_FORMAT.into(),
            server: self.server.clone(),
            user: self.user.clone(),
            messages: self.entries.values().cloned().collect(),
        };
        let path = self.root.join(INDEX_FILE);
        let json = serde_json::to_vec_pretty(&index)
            .map_err(|e| BackupError::LocalIo(path.clone(), e.to_string()))?;
        write_atomic(&path, &json)
    }

    fn journal_path(&self) -> PathBuf {
        self.root.join(STATE_DIR).join(JOURNAL_FILE)
    }

    fn rewrite_journal(&mut self) -> Result<(), BackupError> {
        let path = self.journal_path();
        let header = JournalHeader {
            format: JOURNAL_FORMAT.into(),
            server: self.server.clone(),
            user: self.user.clone(),
        };
        let mut buf = serde_json::to_vec(&header)
            .map_err(|e| BackupError::LocalIo(path.clone(), e.to_string()))?;
        buf.push(b'\n');
        for e in self.entries.values() {
            buf.extend(
                serde_json::to_vec(e)
                    .map_err(|e| BackupError::LocalIo(path.clone(), e.to_string()))?,
            );
            buf.push(b'\n');
        }
        write_atomic(&path, &buf)?;
        self.journal = Some(open_append(&path)?);
        Ok(())
    }
}

/// Whether `file` (a journal's or the index's path of a message) is a relative path under
/// `messages/` that cannot climb out of it: plain components only, `/`-separated.
pub(crate) fn is_message_path(file: &str) -> bool {
    let mut parts = file.split('/');
    if parts.next() != Some(MESSAGES_DIR) {
        return false;
    }
    let mut any = false;
    for part in parts {
        any = true;
        let p = Path::new(part);
        let plain = matches!(
            p.components().collect::<Vec<_>>().as_slice(),
            [std::path::Component::Normal(_)]
        );
        if part.is_empty() || part == "." || part == ".." || part.contains('\\') || !plain {
            return false;
        }
    }
    any
}

/// Removes, under `dir`, the temporary files [`write_atomic`] names (`.NAME.RANDOM.tmp`) that a
/// killed run left; descends into subdirectories (not through symbolic links).
fn remove_temp_files(dir: &Path, depth: usize) -> Result<(), BackupError> {
    // Folder trees are a few levels deep; a bound keeps a pathological tree from recursing
    // without end.
    if depth > 64 {
        return Ok(());
    }
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(BackupError::local(dir, &e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| BackupError::local(dir, &e))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| BackupError::local(&path, &e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if kind.is_dir() {
            remove_temp_files(&path, depth + 1)?;
        } else if name.starts_with('.') && name.ends_with(TEMP_SUFFIX) {
            fs::remove_file(&path).map_err(|e| BackupError::local(&path, &e))?;
        }
    }
    Ok(())
}

/// The result of re-reading every file the index lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct FileCheck {
    /// Files checked.
    pub checked: u64,
    /// Files whose SHA-256 differs from the index (relative paths).
    pub hash_mismatches: Vec<String>,
    /// Files the index lists that are not there (relative paths).
    pub missing_files: Vec<String>,
}

impl FileCheck {
    pub fn is_ok(&self) -> bool {
        self.hash_mismatches.is_empty() && self.missing_files.is_empty()
    }
}

/// Re-hashes every file listed in `entries` under `root`; `progress` gets (done, total, bytes).
pub(crate) fn check_files<'a>(
    root: &Path,
    entries: impl ExactSizeIterator<Item = &'a IndexEntry>,
    progress: &mut dyn FnMut(u64, u64, u64),
    cancel: &dyn Fn() -> bool,
) -> Result<FileCheck, BackupError> {
    let total = entries.len() as u64;
    let mut check = FileCheck::default();
    let mut bytes = 0;
    for e in entries {
        if cancel() {
            return Err(BackupError::Cancelled);
        }
        if !is_message_path(&e.file) {
            // An index naming a file outside messages/ is not followed there.
            check.missing_files.push(e.file.clone());
            check.checked += 1;
            continue;
        }
        let path = root.join(&e.file);
        match sha256_file(&path) {
            Ok((hash, len)) => {
                bytes += len;
                if hash != e.sha256 || len != e.size {
                    check.hash_mismatches.push(e.file.clone());
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                check.missing_files.push(e.file.clone())
            }
            Err(err) => return Err(BackupError::local(&path, &err)),
        }
        check.checked += 1;
        progress(check.checked, total, bytes);
    }
    Ok(check)
}

/// Checks a backup folder offline against its `index.json`: every file there, same SHA-256.
pub fn verify_folder(root: &Path) -> Result<(Index, FileCheck), BackupError> {
    let path = root.join(INDEX_FILE);
    let bytes = fs::read(&path).map_err(|e| BackupError::local(&path, &e))?;
    let index: Index = serde_json::from_slice(&bytes)
        .map_err(|e| BackupError::LocalIo(path.clone(), e.to_string()))?;
    let check = check_files(root, index.messages.iter(), &mut |_, _, _| {}, &|| false)?;
    Ok((index, check))
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut len = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), len))
}

/// The journal, created private to the user like every other file of the backup.
fn open_append(path: &Path) -> Result<File, BackupError> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| BackupError::local(path, &e))
}

use pec_files::TEMP_SUFFIX;

/// The lock file in the destination, beside (not in) the state folder: taken before the
/// login, it must not make a refused login look like a claimed folder.
pub(crate) const LOCK_FILE: &str = ".pec-backup.lock";

/// One backup per destination folder, across processes (the app and `pec backup`, or two
/// windows): an advisory lock (flock / LockFileEx) on a file in the folder, held for the run
/// and released by the system even when the process is killed. The file stays: removing it
/// would let a waiting opener and a new creator both hold "the" lock.
pub(crate) fn lock_dest(root: &Path) -> Result<File, BackupError> {
    let path = root.join(LOCK_FILE);
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let file = options
        .open(&path)
        .map_err(|e| BackupError::local(&path, &e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(BackupError::DestBusy),
        Err(fs::TryLockError::Error(e)) => Err(BackupError::local(&path, &e)),
    }
}

/// Through `pec_files` (random name, exclusive create, 0600, rename, folder flushed): in a
/// destination others can write to, nobody can plant a link that makes the write truncate
/// another file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    pec_files::write_atomic(path, bytes).map_err(|e| BackupError::local(path, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(folder: &str, uv: u32, uid: u32, body: &[u8]) -> IndexEntry {
        IndexEntry {
            folder: folder.into(),
            imap_folder: folder.into(),
            uidvalidity: uv,
            uid,
            file: format!("{MESSAGES_DIR}/{folder}/{uv}-{uid:010}.eml"),
            from: None,
            date: None,
            subject: None,
            size: body.len() as u64,
            sha256: sha256_hex(body),
            pec_type: PecType::Ordinaria,
            message_id: None,
            riferimento_message_id: None,
        }
    }

    fn begun(root: &Path, user: &str) -> Store {
        let mut s = Store::open(root, "h:993", user).unwrap();
        s.begin().unwrap();
        s
    }

    #[test]
    fn opening_writes_nothing_until_begin() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path(), "h:993", "typo@pec.it").unwrap();
        assert!(!s.begun());
        drop(s);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        // So another user can still make the folder theirs.
        drop(begun(dir.path(), "right@pec.it"));
        let err = Store::open(dir.path(), "h:993", "typo@pec.it")
            .err()
            .unwrap();
        assert!(matches!(err, BackupError::OtherMailbox(u) if u == "right@pec.it"));
    }

    #[test]
    fn journal_paths_must_stay_under_messages() {
        for ok in ["messages/INBOX/1-0000000001.eml", "messages/A/B/1-1.eml"] {
            assert!(is_message_path(ok), "{ok}");
        }
        for bad in [
            "/etc/passwd",
            "messages/../../etc/passwd",
            "messages/./x.eml",
            "messages//x.eml",
            "messages",
            "messages/",
            "other/x.eml",
            "messages/a\\..\\..\\x",
            "C:/x.eml",
        ] {
            assert!(!is_message_path(bad), "{bad}");
        }
        // A tampered journal line pointing outside is dropped: the message counts as unsaved.
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(outside.path(), b"one").unwrap();
        let mut evil = entry("INBOX", 7, 1, b"one");
        evil.file = outside.path().to_string_lossy().into_owned();
        drop(begun(dir.path(), "u@pec.it"));
        let jp = dir.path().join(STATE_DIR).join(JOURNAL_FILE);
        let mut f = OpenOptions::new().append(true).open(&jp).unwrap();
        f.write_all(&serde_json::to_vec(&evil).unwrap()).unwrap();
        f.write_all(b"\n").unwrap();
        drop(f);
        let s = Store::open(dir.path(), "h:993", "u@pec.it").unwrap();
        assert!(s.entries.is_empty());
        assert!(!s.is_saved(&("INBOX".into(), 7, 1)));
        // And an index naming such a file is not followed there by the offline check.
        let index = Index {
            format: INDEX_FORMAT.into(),
            server: "h:993".into(),
            user: "u@pec.it".into(),
            messages: vec![evil.clone()],
        };
        write_atomic(
            &dir.path().join(INDEX_FILE),
            &serde_json::to_vec(&index).unwrap(),
        )
        .unwrap();
        let (_, check) = verify_folder(dir.path()).unwrap();
        assert_eq!(check.missing_files, vec![evil.file]);
    }

    #[cfg(unix)]
    #[test]
    fn atomic_writes_are_private_and_never_follow_a_planted_link() {
        use std::os::unix::fs::{PermissionsExt, symlink};
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"keep me").unwrap();
        // The old predictable temporary name, planted as a link to another file.
        let p = dir.path().join("x.eml");
        symlink(
            &victim,
            dir.path()
                .join(format!(".x.eml.{}.tmp", std::process::id())),
        )
        .unwrap();
        write_atomic(&p, b"message").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep me");
        assert_eq!(fs::read(&p).unwrap(), b"message");
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn journal_survives_a_torn_last_line_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = begun(dir.path(), "u@pec.it");
            s.save(entry("INBOX", 7, 1, b"one"), b"one").unwrap();
            s.save(entry("INBOX", 7, 2, b"two"), b"two").unwrap();
        }
        // A crash mid-append.
        let jp = dir.path().join(STATE_DIR).join(JOURNAL_FILE);
        let mut f = OpenOptions::new().append(true).open(&jp).unwrap();
        f.write_all(b"{\"folder\":\"INB").unwrap();
        drop(f);
        let mut s = begun(dir.path(), "U@pec.it");
        assert_eq!(s.entries.len(), 2);
        assert!(s.is_saved(&("INBOX".into(), 7, 1)));
        s.save(entry("INBOX", 7, 3, b"three"), b"three").unwrap();
        drop(s);
        let s = begun(dir.path(), "u@pec.it");
        assert_eq!(s.entries.len(), 3);
        s.write_index().unwrap();
        let (index, check) = verify_folder(dir.path()).unwrap();
        assert_eq!(index.messages.len(), 3);
        assert!(check.is_ok());
    }

    #[test]
    fn another_mailbox_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(begun(dir.path(), "a@pec.it"));
        let err = Store::open(dir.path(), "h:993", "b@pec.it").err().unwrap();
        assert!(matches!(err, BackupError::OtherMailbox(u) if u == "a@pec.it"));
    }

    #[test]
    fn verify_reports_changed_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = begun(dir.path(), "u@pec.it");
        let a = entry("INBOX", 1, 1, b"aaa");
        let b = entry("INBOX", 1, 2, b"bbb");
        s.save(a.clone(), b"aaa").unwrap();
        s.save(b.clone(), b"bbb").unwrap();
        s.write_index().unwrap();
        fs::write(dir.path().join(&a.file), b"aab").unwrap();
        fs::remove_file(dir.path().join(&b.file)).unwrap();
        let (_, check) = verify_folder(dir.path()).unwrap();
        assert_eq!(check.hash_mismatches, vec![a.file.clone()]);
        assert_eq!(check.missing_files, vec![b.file.clone()]);
        assert!(!s.is_saved(&("INBOX".into(), 1, 2)));
    }

    #[test]
    fn atomic_write_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.eml");
        write_atomic(&p, b"1").unwrap();
        write_atomic(&p, b"22").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"22");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn begin_removes_temporary_files_left_by_a_kill() {
        let dir = tempfile::tempdir().unwrap();
        drop(begun(dir.path(), "u@pec.it"));
        let nested = dir.path().join(MESSAGES_DIR).join("A/B");
        fs::create_dir_all(&nested).unwrap();
        let stale = nested.join(".1-0000000001.eml.abc123.tmp");
        fs::write(&stale, b"half").unwrap();
        let own = nested.join("keep.tmp");
        fs::write(&own, b"not ours: no leading dot").unwrap();
        drop(begun(dir.path(), "u@pec.it"));
        assert!(!stale.exists());
        assert!(own.exists());
    }
}
