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
//! `/registry/v1`) and an association's renewal portal ([`renewal`], `/renewal/v1`).
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
pub mod cli;
pub mod db;
pub mod mail;
pub mod openapi;
pub mod problem;
pub mod seed;
pub mod totp;

mod admin;
mod auth;
mod guide;
mod identity;
mod mailboxes;
mod methods;
pub mod registry;
pub mod renewal;
pub mod revocation;
mod state;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use mail::{SmtpConfig, SmtpSecurity};
pub use state::Mode;

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
}

impl Config {
    /// Sandbox mode, demo data, no card trust anchors.
    pub fn new(addr: SocketAddr, db_path: PathBuf) -> Self {
        Self {
            addr,
            db_path,
            mode: Mode::Sandbox,
            card_trust_anchors: Vec::new(),
            card_rules: card::Rules::default(),
            revocation: revocation::Settings::default(),
            seed_demo: true,
            public_url: None,
            smtp: None,
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
        let state = Arc::new(state::AppState::open(&config, base_url.clone())?);
        let relay = match &config.smtp {
            Some(smtp) => Some(mail::spawn_delivery(Arc::clone(&state), smtp.clone())?),
            None => None,
        };
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
        Ok(RunningSandbox {
            addr,
            base_url,
            shutdown: Some(tx),
            task: Some(task),
            relay,
        })
    }
}

/// A sandbox serving in the background. Dropping it stops it too (without waiting).
pub struct RunningSandbox {
    addr: SocketAddr,
    base_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    relay: Option<JoinHandle<()>>,
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

    /// Stops accepting, lets requests in flight finish, and waits for the server task.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(relay) = self.relay.take() {
            relay.abort();
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
        if let Some(relay) = self.relay.take() {
            relay.abort();
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
