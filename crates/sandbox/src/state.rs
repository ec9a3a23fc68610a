//! Shared server state, the blocking database context handlers run in, and small helpers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Argon2, PasswordHash, PasswordVerifier};
use base64::Engine;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use rand::RngCore;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::Config;
use crate::problem::{ApiError, ApiResult};
use crate::rows::query_opt;

/// Whether the sandbox-only endpoints exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Outbox, clock, operator decisions, test accounts and the SPID test IdP are served.
    Sandbox,
    /// Only the provider API.
    Production,
}

pub(crate) struct AppState {
    db: Arc<Mutex<Connection>>,
    /// Read-only connections for hot GETs: WAL lets them read while the writer writes, so status
    /// polling does not queue behind the single writer.
    readers: Vec<Mutex<Reader>>,
    next_reader: AtomicUsize,
    /// Bumped after every commit of the writer: a reader whose snapshot is older starts a new
    /// one before it serves (see [`Reader`]).
    generation: AtomicU64,
    /// Access tokens already checked: SHA-256 of the token → (account, session, expiry). Saves a
    /// database round trip on every request. Entries go on sign-out and refresh (after the
    /// revocation is committed, see [`Self::forget_session`]) and are not served past expiry.
    token_cache: Mutex<HashMap<TokenDigest, CachedSession>>,
    /// Bumped by every revocation: a session read from the database before a revocation
    /// committed is not cached after it (see [`Self::cache_session`]).
    revocations: AtomicU64,
    /// Seconds added to the real clock; persisted so a restart keeps a test's "future".
    clock_offset: AtomicI64,
    pub mode: Mode,
    pub base_url: String,
    /// The back-office secret of this run; `None` in production (no `/sandbox/*` routes).
    pub sandbox_secret: Option<String>,
    /// The `Host` names served, when listening on loopback (see `allowed_hosts` in lib.rs).
    pub allowed_hosts: Option<Arc<[String]>>,
    /// See [`Config::max_stored_document_bytes`].
    pub max_stored_document_bytes: i64,
    pub trust_anchors: Vec<Vec<u8>>,
    pub cie_trust_anchors: Vec<Vec<u8>>,
    pub card_rules: crate::card::Rules,
    /// The qualified CAs a signed request form must chain to (see `crate::form`).
    pub signature_cas: Arc<pec_sign::TrustedCas>,
    /// The CSC base URI the app signs through for firma remota (see `crate::form`).
    pub remote_signature_url: Option<String>,
    /// Revocation of card certificates, with its cache.
    pub revocation: crate::revocation::Checker,
    /// Whether outbox rows are to be relayed over SMTP.
    pub relay_mail: bool,
    /// The IMAPS server of mailboxes seeded without their own (see [`Config::imap`]).
    pub imap: pec_provider::api::ImapServer,
    /// Recent attempts per (kind, client address), for the per-address rate limits. Pruned
    /// as it goes (an address with nothing in the last minute has no entry) and capped.
    rate_windows: Mutex<HashMap<(RateBucket, IpAddr), Vec<Instant>>>,
    /// A real argon2 hash, verified when the login is unknown so that unknown and known logins
    /// take the same time.
    pub dummy_hash: String,
    /// Password hashes computed at once, at most (see [`Self::password_work`]).
    password_slots: tokio::sync::Semaphore,
}

/// The raw SHA-256 of an access token: the cache key, so the hot path hashes without formatting
/// hex (the database stores the hex form).
pub(crate) type TokenDigest = [u8; 32];

/// A session found by its access-token hash.
#[derive(Debug, Clone)]
pub(crate) struct CachedSession {
    pub account_id: Arc<str>,
    pub session_id: Arc<str>,
    pub expires_at: DateTime<Utc>,
}

/// Readers in the pool.
const READERS: usize = 4;
/// How long a reader may serve from one snapshot when no write of this process has committed
/// since: the bound on what another process's write to the file (a `pec sandbox` command on
/// the same database) takes to be seen.
const SNAPSHOT_MAX_AGE: std::time::Duration = std::time::Duration::from_millis(100);

/// A pooled read-only connection and the read transaction it serves from.
///
/// Starting a read transaction on a WAL database takes a shared lock on the `-shm` file: an
/// `fcntl` call under a mutex that every connection of the process shares. Per request, that
/// was the status poll's largest cost after the network (1.5 `fcntl` and 0.6 contended `futex`
/// calls per request, with the context switches they cause; `perf trace` in
/// `examples/bench_status.rs`). So a reader keeps its read transaction open across requests
/// and starts a new one only when the writer has committed since (the generation moved), or
/// the snapshot is older than [`SNAPSHOT_MAX_AGE`].
///
/// Why this still reads every committed write: the writer bumps the generation after its
/// commit and before its handler answers; a reader loads the generation *before* its new
/// snapshot begins (a deferred `BEGIN` begins it at the first read). So a request that starts
/// after a write's answer sees that write.
///
/// Why the WAL is still checkpointed: an idle reader's snapshot would pin the WAL frames after
/// it, so after each commit the writer ends the snapshots of the readers that are idle (see
/// [`AppState::release_idle_snapshots`]); busy ones end theirs at their next use.
pub(crate) struct Reader {
    conn: Connection,
    snapshot: Option<Snapshot>,
}

#[derive(Debug, Clone, Copy)]
struct Snapshot {
    generation: u64,
    begun: Instant,
}

impl Reader {
    fn new(conn: Connection) -> Self {
        Self {
            conn,
            snapshot: None,
        }
    }

    /// Makes sure the connection reads from a snapshot no older than `generation`.
    fn fresh(&mut self, generation: u64) -> rusqlite::Result<&Connection> {
        let current = self.snapshot.filter(|s| {
            s.generation == generation
                && s.begun.elapsed() < SNAPSHOT_MAX_AGE
                && !self.conn.is_autocommit()
        });
        if current.is_none() {
            self.end_snapshot()?;
            // Deferred: the snapshot begins at the first read, after `generation` was loaded.
            self.conn.execute_batch("BEGIN")?;
            self.snapshot = Some(Snapshot {
                generation,
                begun: Instant::now(),
            });
        }
        Ok(&self.conn)
    }

    /// Ends the read transaction, if any (read-only: nothing to commit).
    fn end_snapshot(&mut self) -> rusqlite::Result<()> {
        self.snapshot = None;
        if self.conn.is_autocommit() {
            Ok(())
        } else {
            self.conn.execute_batch("ROLLBACK")
        }
    }

    /// Runs `f` on a fresh snapshot; an error ends the snapshot, so that nothing a failed read
    /// left behind is carried into the next request.
    fn serve<T>(
        &mut self,
        st: &AppState,
        f: impl FnOnce(&mut Ctx<'_>) -> ApiResult<T>,
    ) -> ApiResult<T> {
        let generation = st.generation.load(Ordering::Acquire);
        let result = {
            let conn = self.fresh(generation)?;
            let mut ctx = Ctx {
                tx: conn,
                now: st.now(),
                st,
            };
            f(&mut ctx)
        };
        if result.is_err() {
            self.end_snapshot()?;
        }
        result
    }
}
/// Cached sessions at most (the cache is emptied when full).
const TOKEN_CACHE_MAX: usize = 10_000;

/// What a handler's blocking part gets: the transaction and the instant of the request.
pub(crate) struct Ctx<'a> {
    /// The writer's transaction, or a read-only connection in [`AppState::read`].
    pub tx: &'a Connection,
    pub now: DateTime<Utc>,
    pub st: &'a AppState,
}

impl AppState {
    pub fn open(config: &Config, base_url: String) -> anyhow::Result<Self> {
        let remote_signature_url = config.remote_signature_url.clone().or_else(|| {
            (config.mode == Mode::Sandbox)
                .then(|| format!("{}/csc/v2", base_url.trim_end_matches('/')))
        });
        let mut conn = crate::db::open(&config.db_path)?;
        let offset: i64 = conn
            .query_row(
                "SELECT value FROM settings WHERE key = 'clock_offset'",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        // Production means no demo data at all: the demo accounts' password is published, and
        // so are the registries' stand-ins (the remote-signature test accounts identify anyone
        // as Mario Rossi with a published password and TOTP secret).
        let sandbox = config.mode == Mode::Sandbox;
        if sandbox {
            crate::seed::seed_registries(&mut conn)?;
        }
        if sandbox && config.seed_demo {
            crate::seed::seed_demo(&mut conn, Utc::now() + TimeDelta::seconds(offset))?;
            crate::seed::seed_portals(&mut conn, Utc::now() + TimeDelta::seconds(offset))?;
        }
        let readers = (0..READERS)
            .map(|_| crate::db::open_reader(&config.db_path).map(|c| Mutex::new(Reader::new(c))))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            db: Arc::new(Mutex::new(conn)),
            readers,
            next_reader: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
            token_cache: Mutex::new(HashMap::new()),
            revocations: AtomicU64::new(0),
            clock_offset: AtomicI64::new(offset),
            mode: config.mode,
            base_url,
            sandbox_secret: sandbox.then(|| config.sandbox_secret.clone()),
            allowed_hosts: None,
            max_stored_document_bytes: i64::try_from(config.max_stored_document_bytes)
                .unwrap_or(i64::MAX),
            trust_anchors: config.card_trust_anchors.clone(),
            cie_trust_anchors: config.cie_trust_anchors.clone(),
            card_rules: config.card_rules.clone(),
            signature_cas: Arc::new(signature_cas(config)?),
            remote_signature_url,
            revocation: crate::revocation::Checker::new(config.revocation.clone())?,
            relay_mail: config.smtp.is_some(),
            imap: config.imap.clone(),
            rate_windows: Mutex::new(HashMap::new()),
            dummy_hash: hash_password("not-a-real-password")?,
            password_slots: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            ),
        })
    }

    /// The server's notion of now: the real clock plus the sandbox offset.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + TimeDelta::seconds(self.clock_offset.load(Ordering::SeqCst))
    }

    pub fn clock_offset(&self) -> i64 {
        self.clock_offset.load(Ordering::SeqCst)
    }

    pub fn set_clock_offset(&self, offset: i64) {
        self.clock_offset.store(offset, Ordering::SeqCst);
    }

    /// Runs `f` in a transaction on the blocking pool. The transaction is committed whether `f`
    /// succeeds or not: handlers write only what must stick even on error (a failed attempt, a
    /// used challenge) before returning an error.
    pub async fn run<T, F>(self: &Arc<Self>, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Ctx<'_>) -> ApiResult<T> + Send + 'static,
    {
        let st = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut guard = st
                .db
                .lock()
                .map_err(|_| ApiError::internal(&"database mutex poisoned"))?;
            let tx = guard.transaction()?;
            let now = st.now();
            let _in_writer = InWriter::enter();
            let result = {
                let mut ctx = Ctx {
                    tx: &tx,
                    now,
                    st: &st,
                };
                f(&mut ctx)
            };
            let committed = tx.commit();
            // Before the handler answers: a request that starts after this answer reads a
            // snapshot that holds this write (see [`Reader`]).
            st.generation.fetch_add(1, Ordering::AcqRel);
            drop(guard);
            st.release_idle_snapshots();
            committed?;
            result
        })
        .await
        .map_err(|e| ApiError::internal(&e))?
    }

    /// Ends the snapshots of the readers no request is using, so that they do not pin the WAL
    /// frames a checkpoint would copy back (busy readers start a new one at their next use).
    fn release_idle_snapshots(&self) {
        for reader in &self.readers {
            if let Ok(mut r) = reader.try_lock()
                && r.snapshot.is_some()
                && let Err(e) = r.end_snapshot()
            {
                tracing::warn!(error = %e, "could not end a reader's snapshot");
            }
        }
    }

    /// Runs a read-only `f` on a pooled reader connection, in one snapshot that holds every write
    /// answered before the call (see [`Reader`]); `f` must not write.
    pub async fn read<T, F>(self: &Arc<Self>, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Ctx<'_>) -> ApiResult<T> + Send + 'static,
    {
        let st = Arc::clone(self);
        let job = move || {
            let i = st.next_reader.fetch_add(1, Ordering::Relaxed) % st.readers.len().max(1);
            let reader = st
                .readers
                .get(i)
                .ok_or_else(|| ApiError::internal(&"no reader connection"))?;
            let mut reader = reader
                .lock()
                .map_err(|_| ApiError::internal(&"reader mutex poisoned"))?;
            reader.serve(&st, f)
        };
        // On the blocking pool: these reads may scan or sort (lists, histories). Bounded point
        // lookups on the hot path use `read_inline` instead.
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|e| ApiError::internal(&e))?
    }

    /// Runs a short read-only `f` right here, on the async worker, on a free pooled reader.
    ///
    /// Only for bounded point lookups (a row by its key, through an index) on the hot polling
    /// path: they take microseconds on the memory-mapped file, while a trip through the
    /// blocking pool costs two thread wake-ups and context switches per request, which is
    /// what the status benchmark spent most of its time on. Anything that scans, sorts many
    /// rows or writes goes through [`Self::read`] or [`Self::run`].
    pub fn read_inline<T>(&self, f: impl FnOnce(&mut Ctx<'_>) -> ApiResult<T>) -> ApiResult<T> {
        let n = self.readers.len();
        if n == 0 {
            return Err(ApiError::internal(&"no reader connection"));
        }
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        // A free reader if there is one (there are more readers than async workers, so there
        // normally is); else wait for the next one in turn, which is busy for microseconds
        // or for one blocking-pool read.
        let mut guard = None;
        for i in 0..n {
            if let Some(r) = self.readers.get((start + i) % n)
                && let Ok(g) = r.try_lock()
            {
                guard = Some(g);
                break;
            }
        }
        let mut reader = match guard {
            Some(g) => g,
            None => self
                .readers
                .get(start % n)
                .ok_or_else(|| ApiError::internal(&"no reader connection"))?
                .lock()
                .map_err(|_| ApiError::internal(&"reader mutex poisoned"))?,
        };
        reader.serve(self, f)
    }

    /// Runs a password hash or check (`f`) on the blocking pool, outside the writer, with at
    /// most one per core at a time: each takes tens of milliseconds of CPU and argon2's 19 MiB,
    /// so a burst of sign-ins must queue here rather than take every blocking thread and the
    /// memory with them.
    pub async fn password_work<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let _slot = self
            .password_slots
            .acquire()
            .await
            .map_err(|e| ApiError::internal(&e))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| ApiError::internal(&e))
    }

    /// A cached session for an access-token digest, if still valid at the server's now.
    pub fn cached_session(&self, digest: &TokenDigest) -> Option<CachedSession> {
        let now = self.now();
        let cache = self.token_cache.lock().ok()?;
        cache.get(digest).filter(|s| s.expires_at > now).cloned()
    }

    /// The revocation count to pass to [`Self::cache_session`]: read it *before* reading the
    /// session from the database.
    pub fn revocation_epoch(&self) -> u64 {
        self.revocations.load(Ordering::SeqCst)
    }

    /// Remembers a session checked in the database, unless a revocation committed since
    /// `epoch` was read: that read may predate the revocation, and caching it would keep a
    /// revoked token alive until it expires.
    pub fn cache_session(&self, digest: TokenDigest, session: CachedSession, epoch: u64) {
        if let Ok(mut cache) = self.token_cache.lock() {
            if self.revocations.load(Ordering::SeqCst) != epoch {
                return;
            }
            if cache.len() >= TOKEN_CACHE_MAX {
                cache.clear();
            }
            cache.insert(digest, session);
        }
    }

    /// Forgets a revoked session. Call it once the revocation is committed: together with the
    /// epoch check in [`Self::cache_session`] that leaves no window in which a request that
    /// read the session before the commit puts it back.
    pub fn forget_session(&self, session_id: &str) {
        match self.token_cache.lock() {
            Ok(mut cache) => {
                self.revocations.fetch_add(1, Ordering::SeqCst);
                cache.retain(|_, s| *s.session_id != *session_id);
            }
            Err(poisoned) => {
                // Never leave a revoked token served: empty the cache whatever its state.
                self.revocations.fetch_add(1, Ordering::SeqCst);
                poisoned.into_inner().clear();
            }
        }
    }

    /// Forgets every cached session of `account_id` but `keep` (after their revocation
    /// committed, as [`Self::forget_session`]).
    pub fn forget_account_sessions(&self, account_id: &str, keep: &str) {
        match self.token_cache.lock() {
            Ok(mut cache) => {
                self.revocations.fetch_add(1, Ordering::SeqCst);
                cache.retain(|_, s| *s.account_id != *account_id || *s.session_id == *keep);
            }
            Err(poisoned) => {
                self.revocations.fetch_add(1, Ordering::SeqCst);
                poisoned.into_inner().clear();
            }
        }
    }

    /// Per-address sign-in rate limit: at most `max` attempts in the last minute.
    pub fn signin_allowed(&self, ip: IpAddr, max: usize) -> Result<(), u64> {
        self.rate_allowed(RateBucket::SignIn, ip, max)
    }

    /// Per-address limit of the writes that need no session (registrations, captchas, support
    /// tickets and their documents, link confirmations): at most `max` a minute.
    pub fn write_allowed(&self, ip: IpAddr, max: usize) -> ApiResult<()> {
        self.rate_allowed(RateBucket::Write, ip, max)
            .map_err(|wait| {
                ApiError::new(
                    axum::http::StatusCode::TOO_MANY_REQUESTS,
                    "request.rate_limited",
                    "Troppe richieste da questo indirizzo: riprova tra poco.",
                    "Too many requests from this address: try again shortly.",
                )
                .retry_after(wait)
            })
    }

    fn rate_allowed(&self, bucket: RateBucket, ip: IpAddr, max: usize) -> Result<(), u64> {
        let Ok(mut map) = self.rate_windows.lock() else {
            return Ok(());
        };
        let now = Instant::now();
        if map.len() >= RATE_MAP_MAX {
            prune_windows(&mut map, now);
            // Still full: more addresses in a minute than the map holds. Refuse rather than
            // grow (a global limit); the entries free up within the minute.
            if map.len() >= RATE_MAP_MAX && !map.contains_key(&(bucket, ip)) {
                return Err(60);
            }
        }
        let entry = map.entry((bucket, ip)).or_default();
        entry.retain(|t| now.duration_since(*t).as_secs() < 60);
        if entry.len() >= max {
            let oldest = entry.first().copied().unwrap_or(now);
            return Err(60u64
                .saturating_sub(now.duration_since(oldest).as_secs())
                .max(1));
        }
        entry.push(now);
        Ok(())
    }

    /// Drops the addresses with nothing in the last minute (the pruner calls it).
    pub fn prune_rate_windows(&self) -> usize {
        match self.rate_windows.lock() {
            Ok(mut map) => {
                prune_windows(&mut map, Instant::now());
                map.len()
            }
            Err(_) => 0,
        }
    }
}

/// Which per-address limit an attempt counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RateBucket {
    SignIn,
    Write,
}

/// Addresses tracked at once, at most (about a hundred bytes each).
const RATE_MAP_MAX: usize = 100_000;

/// Unauthenticated writes per address per minute.
pub(crate) const UNAUTHENTICATED_WRITES_PER_MINUTE: usize = 20;

fn prune_windows(map: &mut HashMap<(RateBucket, IpAddr), Vec<Instant>>, now: Instant) {
    map.retain(|_, times| {
        times.retain(|t| now.duration_since(*t).as_secs() < 60);
        !times.is_empty()
    });
}

// ---------------------------------------------------------------------------------------------
// Helpers used across handlers.

/// RFC 3339 in UTC with milliseconds: sortable as text.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn parse_ts(s: &str) -> ApiResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ApiError::internal(&e))
}

/// `n` random bytes.
pub(crate) fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut v);
    v
}

/// An opaque id with a readable prefix. Lowercase hex, because logins are matched lowercase and
/// an account id is a login.
pub(crate) fn new_id(prefix: &str) -> String {
    let hex: String = random_bytes(12)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{prefix}-{hex}")
}

/// A secret token (256 bits).
pub(crate) fn new_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes(32))
}

/// How tokens and OTPs are stored: SHA-256 suffices for 256-bit random tokens; OTPs are salted
/// with their request id so equal codes differ at rest.
pub(crate) fn sha256_hex(parts: &[&[u8]]) -> String {
    hex(&sha256(parts))
}

/// The digest [`sha256_hex`] encodes, as bytes.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

/// Lowercase hex, without a formatting call per byte (this runs on every request).
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Constant-time equality of two strings (hash comparisons).
pub(crate) fn ct_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

thread_local! {
    /// Whether this thread is running a handler under the writer ([`AppState::run`]).
    static IN_WRITER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks this thread as under the writer until dropped (a panicking handler included).
struct InWriter;

impl InWriter {
    fn enter() -> Self {
        IN_WRITER.with(|w| w.set(true));
        Self
    }
}

impl Drop for InWriter {
    fn drop(&mut self) {
        IN_WRITER.with(|w| w.set(false));
    }
}

/// A password hash (argon2: tens of milliseconds of CPU and 19 MiB) must never run under the
/// single writer: every other write of the server would wait for it (M5). Debug builds, the
/// tests' included, stop on it; release builds log it.
fn not_under_the_writer(what: &str) {
    if IN_WRITER.with(std::cell::Cell::get) {
        debug_assert!(false, "{what} under the writer");
        tracing::error!(what, "password hash under the writer");
    }
}

pub(crate) fn hash_password(password: &str) -> anyhow::Result<String> {
    not_under_the_writer("hash_password");
    let salt = SaltString::encode_b64(&random_bytes(16)).map_err(|e| anyhow::anyhow!("{e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("{e}"))
}

pub(crate) fn verify_password(password: &str, hash: &str) -> bool {
    not_under_the_writer("verify_password");
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Sends an e-mail: the message lands in the outbox table (which sandbox mode exposes) and, when
/// an SMTP relay is configured, [`crate::mail`] relays it from there.
pub(crate) fn send_mail(ctx: &Ctx<'_>, to: &str, subject: &str, body: &str) -> ApiResult<()> {
    ctx.tx.execute(
        "INSERT INTO outbox (recipient, subject, body, sent_at, deliver) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![to, subject, body, ts(ctx.now), ctx.st.relay_mail],
    )?;
    // Only the fact, never the body: bodies hold OTPs and links.
    tracing::info!(subject, "mail queued");
    Ok(())
}

/// Adds a bell notification.
#[allow(clippy::too_many_arguments)]
pub(crate) fn notify(
    ctx: &Ctx<'_>,
    account_id: &str,
    mailbox: &str,
    kind: &str,
    title: (&str, &str),
    body: (&str, &str),
) -> ApiResult<()> {
    ctx.tx.execute(
        "INSERT INTO notifications (account_id, mailbox, kind, title_it, title_en, body_it, body_en, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![account_id, mailbox, kind, title.0, title.1, body.0, body.1, ts(ctx.now)],
    )?;
    Ok(())
}

/// How long a stored answer replays an `Idempotency-Key`: enough for any retry of a client
/// (seconds to minutes) and for the app's payment key kept across a restart; after that the
/// row is pruned and the key is new again.
pub(crate) const IDEMPOTENCY_TTL: TimeDelta = TimeDelta::hours(24);

/// Runs a creating handler under an `Idempotency-Key`: a repeat with the same key and the same
/// request returns the first answer; the same key with a different request is an error.
pub(crate) fn idempotent(
    ctx: &mut Ctx<'_>,
    account_id: &str,
    key: Option<&str>,
    fingerprint: &str,
    create: impl FnOnce(&mut Ctx<'_>) -> ApiResult<(u16, serde_json::Value)>,
) -> ApiResult<(u16, serde_json::Value)> {
    idempotent_redacted(ctx, account_id, key, fingerprint, &[], create)
}

/// As [`idempotent`], for an answer that carries secrets shown only once (an app password, a
/// ticket's follow-up secret): the fields at `secrets` (JSON pointers) are removed from what
/// is stored, so the database never holds them and a repeat answers without them. A stored
/// answer lives [`IDEMPOTENCY_TTL`].
pub(crate) fn idempotent_redacted(
    ctx: &mut Ctx<'_>,
    account_id: &str,
    key: Option<&str>,
    fingerprint: &str,
    secrets: &[&str],
    create: impl FnOnce(&mut Ctx<'_>) -> ApiResult<(u16, serde_json::Value)>,
) -> ApiResult<(u16, serde_json::Value)> {
    let Some(key) = key else {
        return create(ctx);
    };
    // As the document states it (`openapi::IDEMPOTENCY_KEY_PATTERN`): what it calls valid is
    // accepted, and nothing else.
    if key.is_empty() || key.len() > 200 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "idempotency.key_invalid",
            "La chiave di idempotenza deve avere da 1 a 200 caratteri ASCII visibili.",
            "The idempotency key must have 1 to 200 visible ASCII characters.",
        ));
    }
    let found: Option<(String, u16, String, String)> = query_opt(
        ctx.tx,
        "SELECT fingerprint, status, body, created_at FROM idempotency
         WHERE account_id = ?1 AND key = ?2",
        params![account_id, key],
    )?;
    match found {
        Some((_, _, _, created)) if ctx.now - parse_ts(&created)? >= IDEMPOTENCY_TTL => {
            ctx.tx.execute(
                "DELETE FROM idempotency WHERE account_id = ?1 AND key = ?2",
                params![account_id, key],
            )?;
        }
        Some((fp, status, body, _)) => {
            // 409: the request is well formed; the key's earlier use is what conflicts.
            if fp != fingerprint {
                return Err(ApiError::new(
                    axum::http::StatusCode::CONFLICT,
                    "idempotency.key_reused",
                    "La chiave di idempotenza è già stata usata per un'altra richiesta.",
                    "The idempotency key was already used for a different request.",
                ));
            }
            return Ok((status, serde_json::from_str(&body)?));
        }
        None => {}
    }
    let (status, body) = create(ctx)?;
    let mut stored = body.clone();
    for pointer in secrets {
        remove_pointer(&mut stored, pointer);
    }
    ctx.tx.execute(
        "INSERT INTO idempotency (account_id, key, fingerprint, status, body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            account_id,
            key,
            fingerprint,
            status,
            serde_json::to_string(&stored)?,
            ts(ctx.now)
        ],
    )?;
    Ok((status, body))
}

/// Removes the member a JSON pointer (`/a/b`) names, if there is one.
fn remove_pointer(value: &mut serde_json::Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let target = if parent.is_empty() {
        Some(value)
    } else {
        value.pointer_mut(parent)
    };
    if let Some(serde_json::Value::Object(map)) = target {
        map.remove(last);
    }
}

/// The configured qualified CAs, and in sandbox mode the remote-signature service's own.
fn signature_cas(config: &Config) -> anyhow::Result<pec_sign::TrustedCas> {
    let mut cas =
        pec_sign::TrustedCas::from_der(config.signature_trust_anchors.iter().map(Vec::as_slice))
            .map_err(|e| anyhow::anyhow!("signature trust anchor: {e}"))?;
    if config.mode == Mode::Sandbox {
        let csc_ca = crate::csc::ca_certificate().map_err(|e| anyhow::anyhow!(e))?;
        cas.extend(
            pec_sign::TrustedCas::from_der([csc_ca.as_slice()])
                .map_err(|e| anyhow::anyhow!("remote-signature CA: {e}"))?,
        );
    }
    Ok(cas)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probes(ctx: &mut Ctx<'_>) -> ApiResult<i64> {
        Ok(ctx.tx.query_row(
            "SELECT COUNT(*) FROM settings WHERE key LIKE 'probe-%'",
            [],
            |r| r.get(0),
        )?)
    }

    /// M5: the per-address map forgets an address once it has had nothing for a minute, so
    /// a stream of new (IPv6) addresses does not grow it for ever.
    #[test]
    #[allow(clippy::unwrap_used)]
    fn per_address_windows_forget_quiet_addresses() {
        let now = Instant::now();
        let Some(long_ago) = now.checked_sub(std::time::Duration::from_secs(61)) else {
            return; // a clock this close to its origin cannot hold a minute-old instant
        };
        let recent = now.checked_sub(std::time::Duration::from_secs(5)).unwrap();
        let ip = |n: u16| IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, n]);
        let mut map: HashMap<(RateBucket, IpAddr), Vec<Instant>> = (0..1000)
            .map(|n| ((RateBucket::SignIn, ip(n)), vec![long_ago]))
            .collect();
        map.insert((RateBucket::Write, ip(7)), vec![long_ago, recent]);
        prune_windows(&mut map, now);
        assert_eq!(
            map.len(),
            1,
            "only the address seen in the last minute stays"
        );
        assert_eq!(map[&(RateBucket::Write, ip(7))], vec![recent]);
    }

    /// Password work runs at most one per core at a time, however many requests ask at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[allow(clippy::unwrap_used)]
    async fn password_work_is_bounded_by_the_cores() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path().join("db"));
        config.seed_demo = false;
        let st = Arc::new(AppState::open(&config, "http://127.0.0.1:0".into()).unwrap());
        let slots = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..slots * 4)
            .map(|_| {
                let (st, running, most) =
                    (Arc::clone(&st), Arc::clone(&running), Arc::clone(&most));
                tokio::spawn(async move {
                    st.password_work(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for job in jobs {
            job.await.unwrap().unwrap();
        }
        let most = most.load(Ordering::SeqCst);
        assert!(
            most >= 1 && most <= slots,
            "{most} at once with {slots} slots"
        );
    }

    /// The case the integration test cannot force: a reader busy while a write commits keeps
    /// its snapshot (the writer releases only idle ones), so its next use must notice the new
    /// generation and begin a new snapshot.
    #[tokio::test]
    #[allow(clippy::await_holding_lock, clippy::unwrap_used)]
    async fn a_reader_busy_during_a_write_sees_it_at_its_next_use() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path().join("db"));
        config.seed_demo = false;
        let st = Arc::new(AppState::open(&config, "http://127.0.0.1:0".into()).unwrap());
        for round in 1..=3 {
            // Every reader holds a snapshot...
            for _ in 0..READERS * 2 {
                assert_eq!(st.read_inline(probes).unwrap(), round - 1);
            }
            // ...and is busy while the write commits.
            let busy: Vec<_> = st.readers.iter().map(|r| r.lock().unwrap()).collect();
            assert!(busy.iter().all(|r| r.snapshot.is_some()));
            st.run(move |ctx| {
                ctx.tx.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, 'x')",
                    [format!("probe-{round}")],
                )?;
                Ok(())
            })
            .await
            .unwrap();
            assert!(
                busy.iter().all(|r| r.snapshot.is_some()),
                "busy readers kept theirs"
            );
            drop(busy);
            for _ in 0..READERS * 2 {
                assert_eq!(st.read_inline(probes).unwrap(), round);
            }
            let via_pool = st.read(probes).await.unwrap();
            assert_eq!(via_pool, round);
        }
    }
}
