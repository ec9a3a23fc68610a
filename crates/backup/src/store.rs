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
pub(crate) struct Store {
    root: PathBuf,
    journal: File,
    /// Saved messages by key; a later journal line for a key replaces an earlier one.
    pub(crate) entries: BTreeMap<Key, IndexEntry>,
    server: String,
    user: String,
}

impl Store {
    /// Opens (or starts) the backup in `root` for `user` at `server`.
    pub(crate) fn open(root: &Path, server: &str, user: &str) -> Result<Self, BackupError> {
        let state = root.join(STATE_DIR);
        fs::create_dir_all(&state).map_err(|e| BackupError::local(&state, &e))?;
        fs::create_dir_all(root.join(MESSAGES_DIR))
            .map_err(|e| BackupError::local(&root.join(MESSAGES_DIR), &e))?;
        let path = state.join(JOURNAL_FILE);
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
                    Ok(e) => {
                        entries.insert((e.imap_folder.clone(), e.uidvalidity, e.uid), e);
                    }
                    // Only a crash mid-append leaves a bad line (the last one): drop it, and
                    // rewrite the journal below so the next append starts on a clean line.
                    Err(_) => torn = true,
                }
            }
        }
        let mut store = Self {
            root: root.to_owned(),
            journal: open_append(&path)?,
            entries,
            server: server.to_owned(),
            user: user.to_owned(),
        };
        if torn || !have_header {
            store.rewrite_journal()?;
        }
        Ok(store)
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// True when the message is saved and its file is still there with the recorded size.
    pub(crate) fn is_saved(&self, key: &Key) -> bool {
        self.entries.get(key).is_some_and(|e| {
            fs::metadata(self.root.join(&e.file)).is_ok_and(|m| m.is_file() && m.len() == e.size)
        })
    }

    /// Writes one message file atomically, then records it in the journal.
    pub(crate) fn save(&mut self, entry: IndexEntry, raw: &[u8]) -> Result<(), BackupError> {
        let path = self.root.join(&entry.file);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| BackupError::local(dir, &e))?;
        }
        write_atomic(&path, raw)?;
        let mut line = serde_json::to_vec(&entry)
            .map_err(|e| BackupError::LocalIo(self.journal_path(), e.to_string()))?;
        line.push(b'\n');
        let jp = self.journal_path();
        self.journal
            .write_all(&line)
            .and_then(|()| self.journal.sync_data())
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
        self.journal = open_append(&path)?;
        Ok(())
    }
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

fn open_append(path: &Path) -> Result<File, BackupError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| BackupError::local(path, &e))
}

/// Temp file in the same directory (so the rename cannot cross file systems), flushed, renamed.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        // The rename itself is durable only once the directory is flushed (POSIX).
        #[cfg(unix)]
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok::<(), std::io::Error>(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(BackupError::local(path, &e));
    }
    Ok(())
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

    #[test]
    fn journal_survives_a_torn_last_line_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = Store::open(dir.path(), "h:993", "u@pec.it").unwrap();
            s.save(entry("INBOX", 7, 1, b"one"), b"one").unwrap();
            s.save(entry("INBOX", 7, 2, b"two"), b"two").unwrap();
        }
        // A crash mid-append.
        let jp = dir.path().join(STATE_DIR).join(JOURNAL_FILE);
        let mut f = OpenOptions::new().append(true).open(&jp).unwrap();
        f.write_all(b"{\"folder\":\"INB").unwrap();
        drop(f);
        let mut s = Store::open(dir.path(), "h:993", "U@pec.it").unwrap();
        assert_eq!(s.entries.len(), 2);
        assert!(s.is_saved(&("INBOX".into(), 7, 1)));
        s.save(entry("INBOX", 7, 3, b"three"), b"three").unwrap();
        drop(s);
        let s = Store::open(dir.path(), "h:993", "u@pec.it").unwrap();
        assert_eq!(s.entries.len(), 3);
        s.write_index().unwrap();
        let (index, check) = verify_folder(dir.path()).unwrap();
        assert_eq!(index.messages.len(), 3);
        assert!(check.is_ok());
    }

    #[test]
    fn another_mailbox_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path(), "h:993", "a@pec.it").unwrap());
        let err = Store::open(dir.path(), "h:993", "b@pec.it").err().unwrap();
        assert!(matches!(err, BackupError::OtherMailbox(u) if u == "a@pec.it"));
    }

    #[test]
    fn verify_reports_changed_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path(), "h:993", "u@pec.it").unwrap();
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
}
