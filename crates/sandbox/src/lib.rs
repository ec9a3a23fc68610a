//! The reference PEC provider server ("the sandbox").
//!
//! It implements the provider API for real — sessions, mailboxes, notifications, identity
//! confirmation with every method and outcome of the providers' guides, two-step login and app
//! passwords — over a SQLite file, so that the desktop app runs end to end out of the box and every
//! integration test talks to a real server. The identity rules themselves live in `pec_domain`:
//! this crate stores requests and feeds the domain state machine the events the provider
//! observes (a verified card signature, a SPID login, an operator's decision).
//!
//! # Starting it in-process
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use pec_sandbox::{Config, Mode, Sandbox};
//! let running = Sandbox::start(Config::new("127.0.0.1:0".parse()?, "/tmp/sandbox.sqlite".into())).await?;
//! println!("listening on {}", running.base_url());
//! running.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! # Demo accounts (seeded on first start)
//!
//! | login | password | mailboxes |
//! |---|---|---|
//! | `mario.rossi@pec.sandbox.test` or `acc-demo-mario` | `Demo-Password-1` | `mario.rossi@pec.sandbox.test` (privato, *Da confermare*), `studio.rossi@pec.sandbox.test` (professionista, *Completato*, star) |
//! | `amministrazione@pec.acme-srl.test` or `acc-demo-acme` | `Demo-Password-1` | `amministrazione@pec.acme-srl.test` (impresa, *Da confermare*), `fatture@pec.acme-srl.test` (impresa, *Documenti mancanti*), `vecchia@pec.acme-srl.test` (ceased company) |
//!
//! Beside the provider API the server plays two other parties of the seeds, each with its own
//! accounts and routes: a public registry where the PEC on record is changed ([`registry`],
//! `/registry/v1`), an association's renewal portal ([`renewal`], `/renewal/v1`), and a
//! remote signature service speaking the Cloud Signature Consortium API v2 ([`csc`],
//! `/csc/v2`).
//!
//! See [`seed`] for the registries (legal representatives, ceased companies), the SPID test
//! identities and the remote-signature accounts.
//!
//! # Modes
//!
//! [`Mode::Sandbox`] adds the `/sandbox/*` endpoints (outbox, clock, operator decisions, test
//! accounts, the SPID test identity provider). [`Mode::Production`] leaves them out: they answer
//! 404 there.

pub mod captcha;
pub mod card;
pub mod cie;
pub mod cli;
pub mod csc;
pub mod db;
pub mod mail;
pub mod openapi;
pub mod problem;
pub mod seed;
pub mod totp;

mod rows;

mod admin;
mod auth;
mod conditions;
mod factor;
mod form;
mod guard;
mod guide;
mod housekeeping;
mod identity;
mod idp;
mod mailboxes;
mod methods;
pub mod registry;
pub mod renewal;
pub mod revocation;
mod state;
mod throttle;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use mail::{SmtpConfig, SmtpSecurity};
pub use state::Mode;

/// The IMAPS host [`Config::new`] publishes for the mailboxes (`--imap-host`). No IMAP server
/// answers there: a test that backs a mailbox up seeds it with its own server.
pub const DEFAULT_IMAP_HOST: &str = "imaps.pec.sandbox.test";

/// How to run a sandbox.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; port 0 picks a free one (see [`RunningSandbox::addr`]).
    pub addr: SocketAddr,
    /// The SQLite file; created and seeded if missing.
    pub db_path: PathBuf,
    /// Sandbox (test endpoints on) or production.
    pub mode: Mode,
    /// Root certificates (DER) a card's chain must end at. Empty: no card is trusted.
    pub card_trust_anchors: Vec<Vec<u8>>,
    /// Root certificates (DER) a CIE's chain must end at (method `cie`): the Ministry's
    /// "National root CA for the Italian Electronic Identity Card", or a test root. Kept apart
    /// from [`Config::card_trust_anchors`], so a CNS issuer never vouches for a CIE nor the
    /// other way round. Empty: no CIE is trusted.
    pub cie_trust_anchors: Vec<Vec<u8>>,
    /// CA certificates (DER) a signed request form's chain may end at (the qualified CAs of
    /// firma digitale). In sandbox mode the sandbox's own remote-signature CA
    /// ([`csc::ca_certificate`]) is trusted besides these.
    pub signature_trust_anchors: Vec<Vec<u8>>,
    /// The remote-signature service (CSC API v2 base URI) the provider tells the app to sign
    /// the form through for firma remota; in sandbox mode, by default, its own `/csc/v2`.
    pub remote_signature_url: Option<String>,
    /// Card certificate rules a deployment may change (legacy key lots).
    pub card_rules: card::Rules,
    /// How card certificates' revocation is checked (soft-fail by default).
    pub revocation: revocation::Settings,
    /// Whether to seed the demo accounts into an empty database.
    pub seed_demo: bool,
    /// Public base URL for links (SPID login page, delegation links); defaults to
    /// `http://<bound address>`.
    pub public_url: Option<String>,
    /// SMTP relay for the e-mails; without one they stay in the outbox (sandbox mode shows it).
    pub smtp: Option<SmtpConfig>,
    /// The secret every `/sandbox/*` call must carry in the `Sandbox-Secret` header (sandbox
    /// mode only): [`Config::new`] draws a fresh one for each run, so only whoever started the
    /// server (the app's own client, a test, a script given `--sandbox-secret-file`) can use the
    /// back office; another local process or a web page cannot.
    pub sandbox_secret: String,
    /// Bytes of uploaded documents (identity and support) kept at most, all together: once
    /// full, uploads are refused with 507 until old ones are pruned.
    pub max_stored_document_bytes: u64,
    /// The IMAPS server the provider publishes for its mailboxes (a mailbox seeded with its
    /// own, as a test's IMAP server, overrides it). The app backs a mailbox up only from the
    /// server published for it.
    pub imap: pec_provider::api::ImapServer,
}

impl Config {
    /// Sandbox mode, demo data, no card trust anchors.
    pub fn new(addr: SocketAddr, db_path: PathBuf) -> Self {
        Self {
            addr,
            db_path,
            mode: Mode::Sandbox,
            card_trust_anchors: Vec::new(),
            cie_trust_anchors: Vec::new(),
            signature_trust_anchors: Vec::new(),
            remote_signature_url: None,
            card_rules: card::Rules::default(),
            revocation: revocation::Settings::default(),
            seed_demo: true,
            public_url: None,
            smtp: None,
            sandbox_secret: state::new_token(),
            max_stored_document_bytes: 1 << 30,
            imap: pec_provider::api::ImapServer {
                host: DEFAULT_IMAP_HOST.to_owned(),
                port: 993,
            },
        }
    }
}

/// Entry point.
pub struct Sandbox;

impl Sandbox {
    /// Opens the database (migrating and seeding it), binds, and serves in a background task.
    pub async fn start(config: Config) -> anyhow::Result<RunningSandbox> {
        let listener = TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let base_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let mut state = state::AppState::open(&config, base_url.clone())?;
        state.allowed_hosts = allowed_hosts(addr, config.public_url.as_deref());
        let state = Arc::new(state);
        let relay = match &config.smtp {
            #[cfg(feature = "smtp")]
            Some(smtp) => Some(mail::spawn_delivery(Arc::clone(&state), smtp.clone())?),
            #[cfg(not(feature = "smtp"))]
            Some(_) => anyhow::bail!("this build of the sandbox has no SMTP relay (feature smtp)"),
            None => None,
        };
        let housekeeping = housekeeping::spawn(Arc::clone(&state));
        let app = router(state);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
        });
        tracing::info!(%addr, "sandbox listening");
        let sandbox_secret = (config.mode == Mode::Sandbox).then_some(config.sandbox_secret);
        Ok(RunningSandbox {
            addr,
            base_url,
            sandbox_secret,
            shutdown: Some(tx),
            task: Some(task),
            relay,
            housekeeping: Some(housekeeping),
        })
    }
}

/// A sandbox serving in the background. Dropping it stops it too (without waiting).
pub struct RunningSandbox {
    addr: SocketAddr,
    base_url: String,
    sandbox_secret: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    relay: Option<JoinHandle<()>>,
    housekeeping: Option<JoinHandle<()>>,
}

impl RunningSandbox {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>` (or the configured public URL).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The back-office secret of this run (sandbox mode), for the `Sandbox-Secret` header.
    pub fn sandbox_secret(&self) -> Option<&str> {
        self.sandbox_secret.as_deref()
    }

    /// Stops accepting, lets requests in flight finish, and waits for the server task.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        for background in [self.relay.take(), self.housekeeping.take()]
            .into_iter()
            .flatten()
        {
            background.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await??;
        }
        Ok(())
    }

    /// Waits until the server task ends by itself (it normally runs until [`Self::shutdown`]).
    pub async fn wait_ref(&self) -> anyhow::Result<()> {
        loop {
            match &self.task {
                Some(t) if !t.is_finished() => {
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await
                }
                _ => return Err(anyhow::anyhow!("the server stopped unexpectedly")),
            }
        }
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        for background in [self.relay.take(), self.housekeeping.take()]
            .into_iter()
            .flatten()
        {
            background.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The OpenAPI document the server serves, as pretty JSON with a trailing newline (the form of
/// the committed `openapi/provider-api.json`).
pub fn openapi_json() -> String {
    openapi::document_json()
}

fn router(state: Arc<state::AppState>) -> Router {
    openapi::build_router(state)
}

/// The `Host` names a server on loopback answers: its own loopback names, and the public URL's
/// host if one is configured. A web page that rebinds its own name to 127.0.0.1 (DNS
/// rebinding) sends its name as `Host` and is refused. A server on another address is reached
/// by name anyway, so no list is kept for it (`None`).
fn allowed_hosts(addr: SocketAddr, public_url: Option<&str>) -> Option<Arc<[String]>> {
    if !addr.ip().is_loopback() {
        return None;
    }
    let mut hosts = vec![
        "127.0.0.1".to_owned(),
        "localhost".to_owned(),
        "[::1]".to_owned(),
        addr.ip().to_string(),
    ];
    if let Some(host) = public_url
        .and_then(|u| u.split_once("://"))
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or_default())
        .map(host_name)
        .filter(|h| !h.is_empty())
    {
        hosts.push(host.to_ascii_lowercase());
    }
    Some(hosts.into())
}

/// The host part of an `authority` (`host[:port]`, `[v6]:port`), without the port.
pub(crate) fn host_name(authority: &str) -> &str {
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if authority.starts_with('[') {
        return authority
            .find(']')
            .map_or(authority, |end| &authority[..=end]);
    }
    authority.split(':').next().unwrap_or(authority)
}
