//! One backup run: connect, list folders, save what is missing, verify against the server.

use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use async_imap::error::Error as ImapError;
use async_imap::types::NameAttribute;
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_util::sync::CancellationToken;

use crate::folder::{decode_mutf7, dir_components};
use crate::store::{self, FileCheck, IndexEntry, MESSAGES_DIR, Store};
use crate::{BackupError, MessageSummary, Password, tls};

type Session = async_imap::Session<TlsStream<TcpStream>>;

/// How many messages one `UID FETCH` asks for: small enough that a cancel or a dropped
/// connection loses little, large enough to avoid a round trip per message.
const FETCH_CHUNK: usize = 16;

/// Where and what to back up.
#[derive(Debug, Clone)]
pub struct BackupOptions {
    /// IMAPS server name (or IP address); also the name its certificate must carry.
    pub host: String,
    /// IMAPS port: 993 for implicit TLS, which is what PEC providers publish.
    pub port: u16,
    /// IMAP user name: for PEC, usually the full PEC address.
    pub user: String,
    /// The folder the backup goes to (created if missing).
    pub dest: PathBuf,
    /// An extra CA certificate (PEM) to trust besides the system's roots.
    pub extra_ca: Option<PathBuf>,
    /// Longest wait for any one answer from the server.
    pub timeout: Duration,
}

impl BackupOptions {
    pub fn new(host: impl Into<String>, user: impl Into<String>, dest: impl Into<PathBuf>) -> Self {
        Self {
            host: host.into(),
            port: 993,
            user: user.into(),
            dest: dest.into(),
            extra_ca: None,
            timeout: Duration::from_secs(60),
        }
    }

    fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// What the run is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Connected; counting the messages of every folder.
    Listing,
    /// Saving messages: `done`/`total` are messages, `bytes` the bytes saved so far.
    Saving,
    /// Re-reading every saved file: `done`/`total` are files, `bytes` the bytes re-hashed.
    Verifying,
}

/// A progress report, sent after every message (and every re-hashed file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct Progress {
    pub phase: Phase,
    pub done: u64,
    pub total: u64,
    pub bytes: u64,
    /// The size of all the messages to save, as the server gives it (`RFC822.SIZE`), known
    /// once the folders are planned (0 before, and while verifying, where `total` counts files).
    pub bytes_total: u64,
    /// The time left, as a front end estimates it from the pace so far ([`Eta`]); the engine
    /// leaves it empty.
    pub eta_seconds: Option<u64>,
    /// The folder being saved (name for people).
    pub folder: Option<String>,
}

/// One folder compared with the server at the end of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct FolderReport {
    pub folder: String,
    pub imap_folder: String,
    pub uidvalidity: u32,
    /// Messages the server reports (EXAMINE's EXISTS) at the end.
    pub server_messages: u64,
    /// Of those, how many are in the backup.
    pub saved: u64,
    /// UIDs the server has that the backup lacks (arrived during the run, or failed).
    pub missing_uids: Vec<u32>,
    /// The server changed the folder's UIDVALIDITY since an earlier run: the older files are
    /// kept and the folder was saved again under the new value.
    pub uidvalidity_changed: bool,
}

/// The outcome of a finished run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct BackupReport {
    pub folders: Vec<FolderReport>,
    /// Messages downloaded in this run.
    pub downloaded: u64,
    /// Messages found already saved by an earlier run and skipped.
    pub already_saved: u64,
    /// Bytes downloaded in this run.
    pub bytes_downloaded: u64,
    /// Every file of the index re-hashed.
    pub files: FileCheck,
    /// True when every folder matches the server and every file its hash.
    pub verified: bool,
    /// The server's folder list came back empty (INBOX, which always exists, was saved
    /// anyway): worth telling the user, the server may hide folders from this account.
    pub folder_list_empty: bool,
}

/// Backs up every selectable folder of the mailbox into `opts.dest`.
///
/// Resumes a previous run in the same folder (see [`crate::store`]); `progress` is called from
/// the task running this future, after each message; `cancel` stops the run between two
/// messages (or at once while waiting for the server) with [`BackupError::Cancelled`], leaving
/// everything saved so far in place and indexed.
pub async fn backup(
    opts: &BackupOptions,
    password: &Password,
    progress: &mut (dyn FnMut(&Progress) + Send),
    cancel: &CancellationToken,
) -> Result<BackupReport, BackupError> {
    let config = tls::client_config(opts.extra_ca.as_deref())?;
    // Held until this function returns: no second run writes the folder meanwhile.
    let _one_run_per_folder = crate::store::lock_dest(&opts.dest)?;
    let mut store = Store::open(&opts.dest, &opts.addr(), &opts.user)?;
    let net = Net {
        addr: opts.addr(),
        timeout: opts.timeout,
        cancel,
    };
    let result = async {
        let mut session = connect(opts, password, config, &net).await?;
        // Only now, with the login accepted, does the folder become this user's backup.
        store.begin()?;
        let outcome = run(&mut session, &mut store, &net, progress).await;
        if !matches!(outcome, Err(BackupError::Cancelled)) {
            // A polite goodbye; the run's outcome does not depend on it.
            let _ = tokio::time::timeout(Duration::from_secs(5), session.logout()).await;
        }
        outcome
    }
    .await;
    // The journal is the truth; the index is rewritten from it whatever happened, so an
    // interrupted backup is still a consistent, browsable folder. But a run that saved
    // nothing and failed writes no index: an index of 0 messages would look like the backup
    // of an empty mailbox.
    let indexed = if store.begun() && (result.is_ok() || !store.entries.is_empty()) {
        store.write_index()
    } else {
        Ok(())
    };
    let report = result?;
    indexed?;
    tracing::info!(
        downloaded = report.downloaded,
        already_saved = report.already_saved,
        verified = report.verified,
        "mailbox backup finished"
    );
    Ok(report)
}

/// A folder to save, as planned at the start of the run.
struct Plan {
    imap_folder: String,
    folder: String,
    dir: Vec<String>,
    uidvalidity: u32,
    uids: Vec<u32>,
    /// The size of those messages on the server.
    bytes: u64,
}

async fn run(
    session: &mut Session,
    store: &mut Store,
    net: &Net<'_>,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<BackupReport, BackupError> {
    progress(&Progress {
        phase: Phase::Listing,
        done: 0,
        total: 0,
        bytes: 0,
        bytes_total: 0,
        eta_seconds: None,
        folder: None,
    });
    let names = net
        .imap(async {
            session
                .list(Some(""), Some("*"))
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
    let (folders, folder_list_empty) = folders_to_save(
        names
            .iter()
            .map(|n| {
                let no_select = n
                    .attributes()
                    .iter()
                    .any(|a| matches!(a, NameAttribute::NoSelect));
                (
                    n.name().to_owned(),
                    n.delimiter().map(str::to_owned),
                    no_select,
                )
            })
            .collect(),
    );

    let mut plans = Vec::new();
    for (imap_folder, delimiter) in &folders {
        let (uidvalidity, uids) = examine(session, net, imap_folder).await?;
        let bytes = sizes(session, net, &uids).await?;
        plans.push(Plan {
            folder: decode_mutf7(imap_folder),
            dir: dir_components(imap_folder, delimiter.as_deref()),
            imap_folder: imap_folder.clone(),
            uidvalidity,
            uids,
            bytes,
        });
    }

    let total: u64 = plans.iter().map(|p| p.uids.len() as u64).sum();
    let bytes_total: u64 = plans.iter().map(|p| p.bytes).sum();
    let mut done = 0u64;
    let mut bytes = 0u64;
    let mut downloaded = 0u64;
    let mut already_saved = 0u64;
    let mut bytes_downloaded = 0u64;
    for plan in &mut plans {
        let pending: Vec<u32> = plan
            .uids
            .iter()
            .copied()
            .filter(|uid| {
                let key = (plan.imap_folder.clone(), plan.uidvalidity, *uid);
                if store.is_saved(&key) {
                    already_saved += 1;
                    done += 1;
                    bytes += store.entries.get(&key).map_or(0, |e| e.size);
                    false
                } else {
                    true
                }
            })
            .collect();
        progress(&Progress {
            phase: Phase::Saving,
            done,
            total,
            bytes,
            bytes_total,
            eta_seconds: None,
            folder: Some(plan.folder.clone()),
        });
        if pending.is_empty() {
            continue;
        }
        let (uidvalidity, _) = examine(session, net, &plan.imap_folder).await?;
        if uidvalidity != plan.uidvalidity {
            // Changed between planning and now: UIDs no longer mean what we listed. The
            // verification below reports the folder as incomplete; the next run saves it.
            tracing::warn!(folder = %plan.folder, "UIDVALIDITY changed during the run");
            continue;
        }
        for chunk in pending.chunks(FETCH_CHUNK) {
            net.check_cancel()?;
            let wanted: HashSet<u32> = chunk.iter().copied().collect();
            let set = chunk
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let mut fetches = net
                .imap(session.uid_fetch(&set, "(UID BODY.PEEK[])"))
                .await?;
            while let Some(item) = net.imap_next(fetches.next()).await? {
                let (Some(uid), Some(raw)) = (item.uid, item.body()) else {
                    continue; // an unsolicited FETCH (flags) for some other message
                };
                if !wanted.contains(&uid) {
                    continue;
                }
                let entry = entry_for(plan, uid, raw);
                let size = entry.size;
                store.save(entry, raw)?;
                done += 1;
                downloaded += 1;
                bytes += size;
                bytes_downloaded += size;
                progress(&Progress {
                    phase: Phase::Saving,
                    done,
                    total,
                    bytes,
                    bytes_total,
                    eta_seconds: None,
                    folder: Some(plan.folder.clone()),
                });
                net.check_cancel()?;
            }
        }
    }

    // Verification: what the server has now against what the backup holds, folder by folder,
    // then every file against its recorded hash.
    let mut reports = Vec::new();
    for plan in &plans {
        let (uidvalidity, uids) = examine(session, net, &plan.imap_folder).await?;
        let saved: BTreeSet<u32> = store
            .entries
            .range(
                (plan.imap_folder.clone(), uidvalidity, 0)
                    ..=(plan.imap_folder.clone(), uidvalidity, u32::MAX),
            )
            .map(|((_, _, uid), _)| *uid)
            .collect();
        let missing: Vec<u32> = uids
            .iter()
            .copied()
            .filter(|u| !saved.contains(u))
            .collect();
        let uidvalidity_changed = store
            .entries
            .keys()
            .any(|(f, uv, _)| *f == plan.imap_folder && *uv != uidvalidity);
        reports.push(FolderReport {
            folder: plan.folder.clone(),
            imap_folder: plan.imap_folder.clone(),
            uidvalidity,
            server_messages: uids.len() as u64,
            saved: (uids.len() - missing.len()) as u64,
            missing_uids: missing,
            uidvalidity_changed,
        });
    }
    let files = store::check_files(
        store.root(),
        store.entries.values(),
        &mut |done, total, bytes| {
            progress(&Progress {
                phase: Phase::Verifying,
                done,
                total,
                bytes,
                bytes_total: 0,
                eta_seconds: None,
                folder: None,
            })
        },
        &|| net.cancel.is_cancelled(),
    )?;
    let verified = files.is_ok() && reports.iter().all(|r| r.missing_uids.is_empty());
    Ok(BackupReport {
        folders: reports,
        downloaded,
        already_saved,
        bytes_downloaded,
        files,
        verified,
        folder_list_empty,
    })
}

/// The folders to save from the server's list of (name, delimiter, \Noselect): the selectable
/// ones, INBOX first (if the run is cut short, the messages people look for first are saved),
/// and INBOX even when the list lacks it: it always exists (RFC 3501 §5.1), and some servers
/// list nothing to some accounts. The flag says the list had no selectable folder at all.
fn folders_to_save(
    listed: Vec<(String, Option<String>, bool)>,
) -> (Vec<(String, Option<String>)>, bool) {
    let mut folders: Vec<(String, Option<String>)> = listed
        .into_iter()
        .filter(|(_, _, no_select)| !no_select)
        .map(|(name, delimiter, _)| (name, delimiter))
        .collect();
    let empty = folders.is_empty();
    if !folders
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("INBOX"))
    {
        tracing::warn!(
            listed = folders.len(),
            "the server's folder list has no INBOX: saving INBOX anyway"
        );
        folders.push(("INBOX".to_owned(), None));
    }
    folders.sort_by_key(|(name, _)| (!name.eq_ignore_ascii_case("INBOX"), name.clone()));
    (folders, empty)
}

/// EXAMINE (read-only, so the backup never changes \Seen or anything else) and all UIDs.
/// The total size of the messages `uids` of the folder just examined (`RFC822.SIZE`, one
/// FETCH for the folder): what the progress bar measures bytes against.
async fn sizes(session: &mut Session, net: &Net<'_>, uids: &[u32]) -> Result<u64, BackupError> {
    if uids.is_empty() {
        return Ok(0);
    }
    let wanted: HashSet<u32> = uids.iter().copied().collect();
    let mut fetches = net
        .imap(session.uid_fetch("1:*", "(UID RFC822.SIZE)"))
        .await?;
    let mut total = 0u64;
    while let Some(item) = net.imap_next(fetches.next()).await? {
        if let (Some(uid), Some(size)) = (item.uid, item.size)
            && wanted.contains(&uid)
        {
            total += u64::from(size);
        }
    }
    Ok(total)
}

async fn examine(
    session: &mut Session,
    net: &Net<'_>,
    imap_folder: &str,
) -> Result<(u32, Vec<u32>), BackupError> {
    let mailbox = net.imap(session.examine(imap_folder)).await?;
    let Some(uidvalidity) = mailbox.uid_validity else {
        return Err(BackupError::Server(format!(
            "no UIDVALIDITY for folder {imap_folder}"
        )));
    };
    let mut uids: Vec<u32> = if mailbox.exists == 0 {
        Vec::new()
    } else {
        net.imap(session.uid_search("ALL"))
            .await?
            .into_iter()
            .collect()
    };
    uids.sort_unstable();
    if uids.len() != mailbox.exists as usize {
        // The count and the list disagree only if mail arrived or left between the two
        // commands; the final comparison uses the list, which names the messages.
        tracing::debug!(
            folder = imap_folder,
            exists = mailbox.exists,
            listed = uids.len(),
            "EXISTS and UID SEARCH differ"
        );
    }
    Ok((uidvalidity, uids))
}

fn entry_for(plan: &Plan, uid: u32, raw: &[u8]) -> IndexEntry {
    let summary = MessageSummary::parse(raw);
    let mut file = String::from(MESSAGES_DIR);
    for part in &plan.dir {
        file.push('/');
        file.push_str(part);
    }
    file.push_str(&format!("/{}-{uid:010}.eml", plan.uidvalidity));
    IndexEntry {
        folder: plan.folder.clone(),
        imap_folder: plan.imap_folder.clone(),
        uidvalidity: plan.uidvalidity,
        uid,
        file,
        from: summary.from.clone(),
        date: summary.date.clone(),
        subject: summary.subject.clone(),
        size: raw.len() as u64,
        sha256: store::sha256_hex(raw),
        pec_type: summary.pec_type(),
        message_id: summary.message_id,
        riferimento_message_id: summary.riferimento_message_id,
    }
}

async fn connect(
    opts: &BackupOptions,
    password: &Password,
    config: std::sync::Arc<tokio_rustls::rustls::ClientConfig>,
    net: &Net<'_>,
) -> Result<Session, BackupError> {
    let addr = opts.addr();
    let tcp = net
        .wait(TcpStream::connect((opts.host.as_str(), opts.port)))
        .await?
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => BackupError::ConnectionRefused(addr.clone()),
            std::io::ErrorKind::TimedOut => BackupError::Timeout(addr.clone()),
            _ => BackupError::Unreachable(addr.clone(), e.to_string()),
        })?;
    let _ = tcp.set_nodelay(true);
    let server_name = rustls_pki_types::ServerName::try_from(opts.host.clone())
        .map_err(|e| BackupError::Unreachable(addr.clone(), e.to_string()))?;
    let tls = net
        .wait(TlsConnector::from(config).connect(server_name, tcp))
        .await?
        .map_err(|e| tls::handshake_error(&e))?;
    let mut client = async_imap::Client::new(tls);
    let greeting = net.wait(client.read_response()).await?;
    match greeting {
        Ok(Some(_)) => {}
        Ok(None) => {
            return Err(BackupError::Server(
                "connection closed before greeting".into(),
            ));
        }
        Err(e) => return Err(BackupError::Server(e.to_string())),
    }
    // async-imap sends the password in a LOGIN command it formats itself; its trace log of
    // that command is compiled out (see the `log` dependency in Cargo.toml).
    match net
        .wait(client.login(&opts.user, password.expose()))
        .await?
    {
        Ok(session) => Ok(session),
        Err((ImapError::No(_), _)) => Err(BackupError::AuthFailed),
        Err((e, _)) => Err(imap_error(e, &addr)),
    }
}

/// Every wait on the network: bounded by the timeout, cut short by a cancel.
struct Net<'a> {
    addr: String,
    timeout: Duration,
    cancel: &'a CancellationToken,
}

impl Net<'_> {
    async fn wait<T>(&self, fut: impl Future<Output = T>) -> Result<T, BackupError> {
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(BackupError::Cancelled),
            r = tokio::time::timeout(self.timeout, fut) => {
                r.map_err(|_| BackupError::Timeout(self.addr.clone()))
            }
        }
    }

    async fn imap<T>(
        &self,
        fut: impl Future<Output = Result<T, ImapError>>,
    ) -> Result<T, BackupError> {
        self.wait(fut).await?.map_err(|e| imap_error(e, &self.addr))
    }

    async fn imap_next<T>(
        &self,
        fut: impl Future<Output = Option<Result<T, ImapError>>>,
    ) -> Result<Option<T>, BackupError> {
        match self.wait(fut).await? {
            None => Ok(None),
            Some(r) => r.map(Some).map_err(|e| imap_error(e, &self.addr)),
        }
    }

    fn check_cancel(&self) -> Result<(), BackupError> {
        if self.cancel.is_cancelled() {
            Err(BackupError::Cancelled)
        } else {
            Ok(())
        }
    }
}

fn imap_error(e: ImapError, addr: &str) -> BackupError {
    match e {
        ImapError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            BackupError::Timeout(addr.to_owned())
        }
        ImapError::Io(io) => BackupError::Server(format!("connection error: {io}")),
        ImapError::ConnectionLost => BackupError::Server("connection closed by the server".into()),
        ImapError::No(s) => BackupError::Server(format!("NO {s}")),
        ImapError::Bad(s) => BackupError::Server(format!("BAD {s}")),
        other => BackupError::Server(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(items: &[(&str, bool)]) -> Vec<(String, Option<String>, bool)> {
        items
            .iter()
            .map(|(n, ns)| ((*n).to_owned(), Some("/".to_owned()), *ns))
            .collect()
    }

    #[test]
    fn an_empty_folder_list_still_saves_inbox_and_says_so() {
        let (folders, empty) = folders_to_save(Vec::new());
        assert_eq!(folders, vec![("INBOX".to_owned(), None)]);
        assert!(empty);
        // Only \Noselect entries (namespace roots): the same.
        let (folders, empty) = folders_to_save(listed(&[("Shared", true)]));
        assert_eq!(folders, vec![("INBOX".to_owned(), None)]);
        assert!(empty);
    }

    #[test]
    fn inbox_comes_first_and_is_added_when_hidden() {
        let (folders, empty) = folders_to_save(listed(&[("Archivio", false), ("Inbox", false)]));
        let names: Vec<&str> = folders.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Inbox", "Archivio"]);
        assert!(!empty);
        let (folders, empty) = folders_to_save(listed(&[("Archivio", false)]));
        let names: Vec<&str> = folders.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["INBOX", "Archivio"]);
        assert!(!empty);
    }
}
