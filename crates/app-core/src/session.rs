//! The provider the app talks to, and the signed-in session.
//!
//! - With no provider URL in the settings, the app starts the embedded sandbox (pec-sandbox,
//!   in-process, on a free loopback port, its SQLite file in the app's data directory) and
//!   offers its demo accounts; with a URL, it talks to that provider.
//! - The session's refresh token lives only in the OS keyring (pec-vault). The access token is
//!   kept in memory by the provider client, for the calls; both are dropped on sign-out.
//! - A call answered with 401 is refreshed once from the keyring and repeated; when that fails
//!   too, the keyring item is deleted and the UI is told `session.expired`, so it can ask for
//!   the password again without losing what is on screen.
//! - One refresh at a time (audit L4): the provider rotates the refresh token and revokes the
//!   old one, so two screens whose calls expire together must not both spend it (the second
//!   would be refused and delete the *new* keyring item, signing the user out). The refresh
//!   runs under a lock, reads the keyring inside it, and a caller that waited while another
//!   refreshed repeats its call with the new access token instead of refreshing again.

use std::future::Future;
#[cfg(feature = "embedded-sandbox")]
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use pec_domain::Localized;
use pec_provider::Client;
use pec_vault::{Secret, SecretKey, Vault};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, OnceCell};

use crate::Core;
use crate::error::{AppError, Result, refusal};

/// The keyring's application id (the bundle identifier).
pub const APP_ID: &str = "it.pecdesktop.app";

/// How the embedded sandbox is named in keyring items: its port changes on every start, the
/// provider does not.
pub const EMBEDDED_PROVIDER_ID: &str = "embedded-sandbox";

/// Where the embedded sandbox's back-office secret of this run is written, in the app's data
/// directory (mode 0600): the end-to-end tests read it there to drive the sandbox's back
/// office (outbox, clock, operator decisions), which answers nobody else. It is no more
/// exposed than the sandbox's database beside it, and never logged.
#[cfg(feature = "embedded-sandbox")]
pub const SANDBOX_SECRET_FILE: &str = "sandbox-secret";

/// The virtual card's test CA certificate (see `crates/card-sim/test-keys/README.md`): the
/// embedded sandbox trusts it, so the demo's card method works end to end.
#[cfg(feature = "embedded-sandbox")]
const DEMO_CARD_CA: &[u8] = include_bytes!("../../card-sim/test-keys/ca-2048.cert.der");
#[cfg(feature = "embedded-sandbox")]
const DEMO_CIE_ROOT: &[u8] = include_bytes!("../../card-sim/test-keys/cie/cie-root.cert.der");
/// The virtual card's test *qualified* CA (its DF_DS signature certificates, and the SoftHSM2
/// token of the end-to-end tests): trusted for signed request forms in the embedded sandbox.
#[cfg(feature = "embedded-sandbox")]
const DEMO_QUALIFIED_CA: &[u8] =
    include_bytes!("../../card-sim/test-keys/qualified-ca-2048.cert.der");

/// A demo account the sign-in screen offers when the embedded sandbox runs.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct DemoAccount {
    pub login: String,
    pub name: String,
    pub mailboxes: Vec<String>,
}

/// The embedded sandbox's demo accounts, as its seed defines them; none without it.
pub fn demo_accounts() -> Vec<DemoAccount> {
    #[cfg(feature = "embedded-sandbox")]
    {
        pec_sandbox::seed::DEMO_ACCOUNTS
            .iter()
            .map(|a| DemoAccount {
                login: a.login.to_owned(),
                name: a.name.to_owned(),
                mailboxes: a.mailboxes.iter().map(|m| (*m).to_owned()).collect(),
            })
            .collect()
    }
    #[cfg(not(feature = "embedded-sandbox"))]
    Vec::new()
}

/// What the sign-in screen needs to know about the provider.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct ProviderInfo {
    /// None while the embedded sandbox is still starting (the UI does not show its URL).
    pub base_url: Option<String>,
    pub embedded: bool,
    pub demo_accounts: Vec<DemoAccount>,
    /// The login of the last session, to prefill the form (not a secret).
    pub last_login: Option<String>,
}

/// The signed-in account, as the UI sees it. No token crosses IPC.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct SessionView {
    pub account_id: String,
}

/// What the keyring item holds: the refresh token (JSON, so more can be added later). The
/// token is wiped from memory when dropped and redacted in `Debug` (audit L5).
#[derive(Debug, Serialize, Deserialize)]
struct StoredSession {
    refresh_token: pec_provider::api::Token,
}

/// The provider connection of this run.
pub struct Provider {
    client: Client,
    provider_id: String,
    /// Kept alive for the whole run; dropping it stops the server.
    #[cfg(feature = "embedded-sandbox")]
    _sandbox: Option<pec_sandbox::RunningSandbox>,
}

impl Provider {
    /// Starts the embedded sandbox with its database in `data_dir`.
    #[cfg(feature = "embedded-sandbox")]
    pub async fn embedded(data_dir: &Path) -> std::result::Result<Self, String> {
        pec_files::private_dir_all(data_dir).map_err(|e| e.to_string())?;
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let mut config = pec_sandbox::Config::new(addr, data_dir.join("sandbox.sqlite"));
        // The demo's virtual card (pec-card-sim) is issued by this test CA: trust it here,
        // in the embedded sandbox only, so the card method works end to end out of the box.
        config.card_trust_anchors.push(DEMO_CARD_CA.to_vec());
        // Likewise the virtual CIEs' test root, for the CIE method (a separate set of anchors:
        // the CNS test CA does not vouch for a CIE).
        config.cie_trust_anchors.push(DEMO_CIE_ROOT.to_vec());
        config
            .signature_trust_anchors
            .push(DEMO_QUALIFIED_CA.to_vec());
        pec_sandbox::cli::write_secret_file(
            &data_dir.join(SANDBOX_SECRET_FILE),
            &config.sandbox_secret,
        )
        .map_err(|e| e.to_string())?;
        let running = pec_sandbox::Sandbox::start(config)
            .await
            .map_err(|e| e.to_string())?;
        let client = Client::new(running.base_url()).map_err(|e| e.to_string())?;
        client.set_sandbox_secret(running.sandbox_secret().map(str::to_owned));
        tracing::info!(url = running.base_url(), "embedded sandbox started");
        Ok(Self {
            client,
            provider_id: EMBEDDED_PROVIDER_ID.to_owned(),
            _sandbox: Some(running),
        })
    }

    /// A provider at `base_url` (https, or http on loopback).
    pub fn remote(base_url: &str) -> std::result::Result<Self, String> {
        let client = Client::new(base_url).map_err(|e| e.to_string())?;
        tracing::info!(url = base_url, "provider configured");
        Ok(Self {
            client,
            provider_id: base_url.trim_end_matches('/').to_owned(),
            #[cfg(feature = "embedded-sandbox")]
            _sandbox: None,
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn base_url(&self) -> String {
        self.client
            .base_url()
            .as_str()
            .trim_end_matches('/')
            .to_owned()
    }

    /// The keyring key of `account`'s session at this provider.
    pub fn session_key(&self, account: &str) -> SecretKey {
        SecretKey::session(&self.provider_id, account)
    }
}

/// Which provider this run talks to, known from the settings before anything has started.
#[derive(Debug, Clone)]
pub enum ProviderChoice {
    /// The embedded sandbox, with its database in this directory.
    Embedded(std::path::PathBuf),
    /// A provider at this base URL.
    Remote(String),
}

/// The app's connection state: the provider (or why it could not start), the keyring and the
/// session.
///
/// The provider and the keyring are set up once, in the background from the moment the app
/// starts ([`Connection::warm_up`]): the window does not wait for the embedded sandbox's
/// database or for the D-Bus round trips of the keyring. A command that needs either waits for
/// the same, single set-up; a failure is kept and reported by every command that needs it.
pub struct Connection {
    choice: ProviderChoice,
    provider: OnceCell<std::result::Result<Provider, String>>,
    vault: OnceCell<std::result::Result<Vault, Localized>>,
    account: Mutex<Option<String>>,
    /// Held for the whole of a refresh (keyring read, provider call, keyring write).
    refreshing: Mutex<()>,
    /// Bumped whenever the client gets a new access token (sign-in, refresh): a 401 to a call
    /// made before the bump is answered by repeating the call, not by refreshing again.
    generation: AtomicU64,
    /// How many refresh tokens were sent to the provider (for the tests).
    refreshes_sent: AtomicU64,
}

impl Connection {
    pub fn new(choice: ProviderChoice) -> Self {
        Self {
            choice,
            provider: OnceCell::new(),
            vault: OnceCell::new(),
            account: Mutex::new(None),
            refreshing: Mutex::new(()),
            generation: AtomicU64::new(0),
            refreshes_sent: AtomicU64::new(0),
        }
    }

    /// A connection whose provider and keyring are already set up (tests, and front ends
    /// that bring their own keyring).
    pub fn ready(
        provider: std::result::Result<Provider, String>,
        vault: std::result::Result<Vault, Localized>,
    ) -> Self {
        let choice = match &provider {
            Ok(p) if p.provider_id != EMBEDDED_PROVIDER_ID => ProviderChoice::Remote(p.base_url()),
            _ => ProviderChoice::Embedded(std::path::PathBuf::new()),
        };
        Self {
            choice,
            provider: OnceCell::new_with(Some(provider)),
            vault: OnceCell::new_with(Some(vault)),
            account: Mutex::new(None),
            refreshing: Mutex::new(()),
            generation: AtomicU64::new(0),
            refreshes_sent: AtomicU64::new(0),
        }
    }

    /// Starts setting up the provider and the keyring, so that both are ready, or nearly, by
    /// the time the user has chosen an account.
    pub async fn warm_up(&self) {
        let (_, _) = tokio::join!(self.provider(), self.vault());
    }

    /// Whether this run uses the embedded sandbox (known without waiting for it).
    pub fn is_embedded(&self) -> bool {
        matches!(self.choice, ProviderChoice::Embedded(_))
    }

    /// The provider's base URL when it is known without waiting: a configured one always,
    /// the embedded sandbox's once it listens.
    pub fn known_base_url(&self) -> Option<String> {
        match &self.choice {
            ProviderChoice::Remote(url) => Some(url.trim_end_matches('/').to_owned()),
            ProviderChoice::Embedded(_) => match self.provider.get() {
                Some(Ok(p)) => Some(p.base_url()),
                _ => None,
            },
        }
    }

    pub async fn provider(&self) -> Result<&Provider> {
        self.provider
            .get_or_init(|| async {
                let started = std::time::Instant::now();
                let provider = match &self.choice {
                    #[cfg(feature = "embedded-sandbox")]
                    ProviderChoice::Embedded(dir) => Provider::embedded(dir).await,
                    #[cfg(not(feature = "embedded-sandbox"))]
                    ProviderChoice::Embedded(_) => Err(
                        "this build has no built-in provider: set provider_url in settings.json"
                            .to_owned(),
                    ),
                    ProviderChoice::Remote(url) => Provider::remote(url),
                };
                match &provider {
                    Ok(_) => tracing::debug!(
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "provider ready"
                    ),
                    Err(e) => tracing::error!(error = %e, "the provider could not be set up"),
                }
                provider
            })
            .await
            .as_ref()
            .map_err(|detail| AppError::ProviderUnavailable(detail.clone()))
    }

    /// The provider's client, for the calls that carry their own session (the registry and
    /// renewal portals) rather than the provider's (see [`Connection::authed`]).
    pub async fn client(&self) -> Result<&Client> {
        Ok(self.provider().await?.client())
    }

    async fn vault(&self) -> Result<&Vault> {
        self.vault
            .get_or_init(|| async {
                // The keyring's client is synchronous (D-Bus round trips on Linux).
                let vault = tokio::task::spawn_blocking(|| Vault::system(APP_ID))
                    .await
                    .map_err(|e| pec_vault::VaultError::Failure(e.to_string()))
                    .and_then(|r| r);
                vault.map_err(|e| {
                    tracing::error!(error = %e, "the system keyring is not available");
                    pec_domain::DomainError::to_localized(&e)
                })
            })
            .await
            .as_ref()
            .map_err(|e| AppError::Localized(e.clone()))
    }

    /// Runs one keyring call on the blocking pool, never on the async runtime: each call is a
    /// D-Bus round trip on Linux, and a locked keyring makes it wait for the user to unlock it
    /// (the system's prompt), which must not hold up the commands that do not need the keyring
    /// (or the embedded sandbox, which shares the runtime). The outer error is a keyring that
    /// could not be opened; the inner one, the call's own.
    async fn keyring<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Vault) -> std::result::Result<T, pec_vault::VaultError> + Send + 'static,
    ) -> Result<std::result::Result<T, pec_vault::VaultError>> {
        let vault = self.vault().await?.clone();
        Ok(tokio::task::spawn_blocking(move || call(&vault))
            .await
            .unwrap_or_else(|e| Err(pec_vault::VaultError::Failure(e.to_string()))))
    }

    /// Signs in and keeps the refresh token in the keyring.
    pub async fn sign_in(
        &self,
        login: &str,
        password: &str,
        totp_code: Option<&str>,
    ) -> Result<SessionView> {
        let provider = self.provider().await?;
        // Opened first: without a keyring there is no point in signing in.
        self.vault().await?;
        let tokens = provider
            .client()
            .sign_in(login, password, totp_code)
            .await?;
        // Published under the refresh lock: a call that failed on the old session and waits
        // for the lock must see the new one, not wipe it with the old session's expiry.
        let _one = self.refreshing.lock().await;
        self.generation.fetch_add(1, Ordering::SeqCst);
        let account = tokens.account_id.clone();
        let stored = StoredSession {
            refresh_token: tokens.refresh_token.clone(),
        };
        let secret = Secret::new(serde_json::to_string(&stored).map_err(|_| AppError::Internal)?);
        let key = provider.session_key(&account);
        if let Err(e) = self.keyring(move |v| v.put(&key, &secret)).await? {
            // Without the keyring the session cannot be kept safely: undo it.
            let _ = provider.client().sign_out().await;
            return Err(e.into());
        }
        *self.account.lock().await = Some(account.clone());
        tracing::info!("signed in");
        Ok(SessionView {
            account_id: account,
        })
    }

    /// Picks up the session of `account` from the keyring, if it is still valid.
    pub async fn restore(&self, account: &str) -> Result<Option<SessionView>> {
        let provider = self.provider().await?;
        let refreshed = {
            let _one = self.refreshing.lock().await;
            self.refresh(provider, account).await
        };
        match refreshed {
            Ok(()) => {
                *self.account.lock().await = Some(account.to_owned());
                tracing::info!("session restored from the keyring");
                Ok(Some(SessionView {
                    account_id: account.to_owned(),
                }))
            }
            Err(AppError::SessionExpired) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Signs out at the provider (best effort) and deletes the keyring item.
    pub async fn sign_out(&self) -> Result<()> {
        tracing::info!("signing out");
        let provider = self.provider().await?;
        let _one = self.refreshing.lock().await;
        self.generation.fetch_add(1, Ordering::SeqCst);
        let account = self.account.lock().await.take();
        if let Err(e) = provider.client().sign_out().await {
            tracing::warn!(error = %e, "provider sign-out failed; the local session is removed anyway");
        }
        provider.client().set_access_token(None);
        if let Some(account) = account {
            let key = provider.session_key(&account);
            self.keyring(move |v| v.delete(&key)).await??;
            tracing::info!("signed out");
        }
        Ok(())
    }

    /// The signed-in account.
    pub async fn account(&self) -> Option<String> {
        self.account.lock().await.clone()
    }

    /// Runs `call` with the session; on 401 refreshes once from the keyring and runs it again.
    /// A 401 means the provider did nothing, so repeating is safe for any call.
    pub async fn authed<'s, T, F, Fut>(&'s self, call: F) -> Result<T>
    where
        F: Fn(&'s Client) -> Fut,
        Fut: Future<Output = pec_provider::Result<T>>,
    {
        let provider = self.provider().await?;
        let Some(account) = self.account().await else {
            return Err(AppError::NotSignedIn);
        };
        let seen = self.generation.load(Ordering::SeqCst);
        match call(provider.client()).await {
            Err(e) if e.status() == Some(401) => {
                {
                    let _one = self.refreshing.lock().await;
                    // Another call refreshed while this one was out: its token is the live one.
                    if self.generation.load(Ordering::SeqCst) == seen {
                        self.refresh(provider, &account).await?;
                    }
                }
                call(provider.client()).await.map_err(Into::into)
            }
            other => other.map_err(Into::into),
        }
    }

    /// Exchanges the stored refresh token for new tokens. When the provider refuses it, the
    /// keyring item is deleted and the answer is `session.expired`. Call it holding
    /// `refreshing`: the keyring is read here, under the lock, so it is always the latest token.
    async fn refresh(&self, provider: &Provider, account: &str) -> Result<()> {
        let key = provider.session_key(account);
        let forget = || {
            let key = key.clone();
            self.keyring(move |v| v.delete(&key))
        };
        let stored = match self
            .keyring({
                let key = key.clone();
                move |v| v.get(&key)
            })
            .await?
        {
            Ok(Some(secret)) => serde_json::from_str::<StoredSession>(secret.expose()).ok(),
            Ok(None) => None,
            Err(pec_vault::VaultError::BadData) => None,
            Err(e) => return Err(e.into()),
        };
        let Some(stored) = stored else {
            let _ = forget().await;
            *self.account.lock().await = None;
            return Err(AppError::SessionExpired);
        };
        self.refreshes_sent.fetch_add(1, Ordering::SeqCst);
        match provider
            .client()
            .refresh(stored.refresh_token.expose())
            .await
        {
            Ok(tokens) => {
                self.generation.fetch_add(1, Ordering::SeqCst);
                let next = StoredSession {
                    refresh_token: tokens.refresh_token.clone(),
                };
                let secret =
                    Secret::new(serde_json::to_string(&next).map_err(|_| AppError::Internal)?);
                let key = key.clone();
                self.keyring(move |v| v.put(&key, &secret)).await??;
                Ok(())
            }
            Err(e) if matches!(e.status(), Some(400..=499)) => {
                tracing::info!("session expired");
                let _ = forget().await;
                provider.client().set_access_token(None);
                *self.account.lock().await = None;
                Err(AppError::SessionExpired)
            }
            Err(e) => Err(e.into()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The session as the sign-in screen and the shell use it

/// What the sign-in screen shows, answered without waiting for the provider to start.
pub fn provider_info(core: &Core) -> ProviderInfo {
    let embedded = core.conn.is_embedded();
    ProviderInfo {
        base_url: core.conn.known_base_url(),
        embedded,
        demo_accounts: if embedded {
            demo_accounts()
        } else {
            Vec::new()
        },
        last_login: core.settings.get().last_account,
    }
}

/// Signs in; the account is remembered (not a secret) to prefill the form and restore the
/// session after a restart.
pub async fn sign_in(
    core: &Core,
    login: &str,
    password: &str,
    totp_code: Option<&str>,
) -> Result<SessionView> {
    let session = core.conn.sign_in(login.trim(), password, totp_code).await?;
    remember_account(core, &session.account_id);
    Ok(session)
}

/// Signs in to a demo account of the embedded sandbox; the demo password never crosses IPC.
pub async fn sign_in_demo(core: &Core, login: &str) -> Result<SessionView> {
    #[cfg(feature = "embedded-sandbox")]
    if core.conn.is_embedded() && demo_accounts().iter().any(|a| a.login == login) {
        let session = core
            .conn
            .sign_in(login, pec_sandbox::seed::DEMO_PASSWORD, None)
            .await?;
        remember_account(core, &session.account_id);
        return Ok(session);
    }
    let _ = (core, login);
    Err(refusal(
        "session.not_demo",
        "Questo account dimostrativo non è disponibile con il fornitore configurato.",
        "This demo account is not available with the configured provider.",
    ))
}

/// The session of this run, or the last one from the keyring if the provider still takes it.
pub async fn restore(core: &Core) -> Result<Option<SessionView>> {
    if let Some(account) = core.conn.account().await {
        return Ok(Some(SessionView {
            account_id: account,
        }));
    }
    let restored = match core.settings.get().last_account {
        Some(account) => core.conn.restore(&account).await,
        None => Ok(None),
    };
    if matches!(restored, Ok(Some(_))) {
        core.reminders.wake();
    }
    restored
}

/// Signs out: the provider forgets the session and the keyring item is deleted. The last
/// account stays in the settings only to prefill the form.
pub async fn sign_out(core: &Core) -> Result<()> {
    core.conn.sign_out().await
}

fn remember_account(core: &Core, account: &str) {
    // Signed in: the reminders look at the account now rather than at their next round.
    core.reminders.wake();
    if let Err(e) = core
        .settings
        .update(|s| s.last_account = Some(account.to_owned()))
    {
        // Only the prefill and the restore after a restart are lost.
        tracing::warn!(error = %e, "could not save the last account");
    }
}

#[cfg(test)]
mod stored_tests {
    use super::StoredSession;

    /// L5: the keyring item keeps its plain JSON shape, and `Debug` never shows the token.
    #[test]
    fn the_stored_refresh_token_is_a_plain_string_and_never_shown() {
        let json = r#"{"refresh_token":"rt-9f8e7d6c5b4a"}"#;
        let stored: StoredSession = serde_json::from_str(json).unwrap();
        assert_eq!(stored.refresh_token.expose(), "rt-9f8e7d6c5b4a");
        assert_eq!(serde_json::to_string(&stored).unwrap(), json);
        let shown = format!("{stored:?}");
        assert!(!shown.contains("9f8e7d6c5b4a"), "{shown}");
    }
}

#[cfg(test)]
#[cfg(feature = "embedded-sandbox")]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A connection to a fresh embedded sandbox, with an in-memory keyring.
    async fn connection(dir: &Path) -> Connection {
        let provider = Provider::embedded(dir).await.unwrap();
        let vault = Vault::with_store(keyring_core::mock::Store::new().unwrap(), APP_ID);
        Connection::ready(Ok(provider), Ok(vault))
    }

    async fn stored(conn: &Connection, account: &str) -> Option<String> {
        let provider = conn.provider().await.unwrap();
        conn.vault()
            .await
            .unwrap()
            .get(&provider.session_key(account))
            .unwrap()
            .map(|s| s.expose().to_owned())
    }

    async fn advance_clock(conn: &Connection, seconds: u32) {
        // The app's client holds the embedded sandbox's back-office secret.
        let provider = conn.provider().await.unwrap();
        provider
            .client()
            .sandbox_advance_clock(seconds)
            .await
            .unwrap();
    }

    /// A keyring that answers only while it is unlocked: locked, each call waits, as at the
    /// system's unlock prompt, until the user unlocks it.
    #[derive(Clone, Default)]
    struct Lock(Arc<(std::sync::Mutex<(bool, bool)>, std::sync::Condvar)>);

    impl Lock {
        fn set(&self, locked: bool) {
            let (state, changed) = &*self.0;
            state.lock().unwrap().0 = locked;
            changed.notify_all();
        }

        /// Whether a call has found it locked.
        fn asked(&self) -> bool {
            self.0.0.lock().unwrap().1
        }

        fn wait(&self) {
            let (state, changed) = &*self.0;
            let mut state = state.lock().unwrap();
            while state.0 {
                state.1 = true;
                state = changed.wait(state).unwrap();
            }
        }
    }

    struct LockedStore {
        inner: Arc<keyring_core::CredentialStore>,
        lock: Lock,
    }

    impl keyring_core::api::CredentialStoreApi for LockedStore {
        fn vendor(&self) -> String {
            "test keyring with a lock".into()
        }
        fn id(&self) -> String {
            "locked".into()
        }
        fn build(
            &self,
            service: &str,
            user: &str,
            modifiers: Option<&std::collections::HashMap<&str, &str>>,
        ) -> keyring_core::Result<keyring_core::Entry> {
            let entry = self.inner.build(service, user, modifiers)?;
            Ok(keyring_core::Entry::new_with_credential(Arc::new(
                LockedEntry {
                    entry,
                    lock: self.lock.clone(),
                },
            )))
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    struct LockedEntry {
        entry: keyring_core::Entry,
        lock: Lock,
    }

    impl keyring_core::api::CredentialApi for LockedEntry {
        fn set_secret(&self, secret: &[u8]) -> keyring_core::Result<()> {
            self.lock.wait();
            self.entry.set_secret(secret)
        }
        fn get_secret(&self) -> keyring_core::Result<Vec<u8>> {
            self.lock.wait();
            self.entry.get_secret()
        }
        fn delete_credential(&self) -> keyring_core::Result<()> {
            self.lock.wait();
            self.entry.delete_credential()
        }
        fn get_credential(
            &self,
        ) -> keyring_core::Result<Option<Arc<keyring_core::api::Credential>>> {
            Ok(None)
        }
        fn get_specifiers(&self) -> Option<(String, String)> {
            self.entry.get_specifiers()
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    /// A keyring waiting for the user to unlock it holds up only what needs it: on a runtime
    /// of one worker (the app's has one per core), the embedded sandbox still answers while a
    /// restored session waits for its refresh token. Before, the keyring was called on the
    /// async worker itself, and everything on the runtime waited with it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_locked_keyring_holds_up_only_what_needs_it() {
        let dir = tempfile::tempdir().unwrap();
        let provider = Provider::embedded(dir.path()).await.unwrap();
        let lock = Lock::default();
        let store: Arc<keyring_core::CredentialStore> = Arc::new(LockedStore {
            inner: keyring_core::mock::Store::new().unwrap(),
            lock: lock.clone(),
        });
        let conn = Arc::new(Connection::ready(
            Ok(provider),
            Ok(Vault::with_store(store, APP_ID)),
        ));
        conn.sign_in("acc-demo-acme", pec_sandbox::seed::DEMO_PASSWORD, None)
            .await
            .unwrap();
        let base_url = conn.provider().await.unwrap().base_url();

        // As after a restart, with the keyring locked at login.
        conn.provider()
            .await
            .unwrap()
            .client()
            .set_access_token(None);
        *conn.account.lock().await = None;
        lock.set(true);
        let restoring = tokio::spawn({
            let conn = Arc::clone(&conn);
            async move { conn.restore("acc-demo-acme").await }
        });
        while !lock.asked() {
            tokio::task::yield_now().await;
            std::thread::sleep(std::time::Duration::from_millis(10));
        }

        // Asked from outside this runtime, whose timer would stop with it.
        let answered = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let client = Client::new(&base_url).unwrap();
                tokio::time::timeout(std::time::Duration::from_secs(5), client.health()).await
            })
        })
        .join()
        .unwrap();
        assert!(lock.asked());
        lock.set(false);
        let restored = restoring.await.unwrap().unwrap();
        assert!(
            matches!(answered, Ok(Ok(_))),
            "the sandbox did not answer while the keyring was locked: {answered:?}"
        );
        assert_eq!(restored.unwrap().account_id, "acc-demo-acme");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn sign_in_keeps_only_the_refresh_token_in_the_keyring_and_sign_out_deletes_it() {
        let dir = tempfile::tempdir().unwrap();
        let conn = connection(dir.path()).await;
        let session = conn
            .sign_in(
                "mario.rossi@pec.sandbox.test",
                pec_sandbox::seed::DEMO_PASSWORD,
                None,
            )
            .await
            .unwrap();
        assert_eq!(session.account_id, "acc-demo-mario");
        let item = stored(&conn, "acc-demo-mario").await.expect("keyring item");
        assert!(item.contains("refresh_token"));

        let boxes = conn.authed(|c| c.mailboxes()).await.unwrap();
        assert_eq!(boxes.len(), 2);

        conn.sign_out().await.unwrap();
        assert_eq!(stored(&conn, "acc-demo-mario").await, None);
        assert!(matches!(
            conn.authed(|c| c.mailboxes()).await,
            Err(AppError::NotSignedIn)
        ));
    }

    /// Audit L6: signing in, restoring and signing out log what happened, not who.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_session_logs_name_nobody() {
        let dir = tempfile::tempdir().unwrap();
        let conn = connection(dir.path()).await;
        let (log, guard) = crate::test_log::capture();
        conn.sign_in(
            "mario.rossi@pec.sandbox.test",
            pec_sandbox::seed::DEMO_PASSWORD,
            None,
        )
        .await
        .unwrap();
        *conn.account.lock().await = None;
        conn.restore("acc-demo-mario").await.unwrap().unwrap();
        conn.sign_out().await.unwrap();
        drop(guard);
        let text = log.text();
        assert!(
            text.contains("signed in") && text.contains("signed out"),
            "{text}"
        );
        for personal in ["acc-demo-mario", "mario.rossi"] {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_session_is_restored_from_the_keyring_and_refreshed_when_the_access_token_expires() {
        let dir = tempfile::tempdir().unwrap();
        let conn = connection(dir.path()).await;
        conn.sign_in("acc-demo-acme", pec_sandbox::seed::DEMO_PASSWORD, None)
            .await
            .unwrap();
        let before = stored(&conn, "acc-demo-acme").await.unwrap();

        // As after a restart: a client with no access token, the keyring still full.
        conn.provider()
            .await
            .unwrap()
            .client()
            .set_access_token(None);
        *conn.account.lock().await = None;
        let restored = conn.restore("acc-demo-acme").await.unwrap();
        assert_eq!(restored.unwrap().account_id, "acc-demo-acme");
        let after = stored(&conn, "acc-demo-acme").await.unwrap();
        assert_ne!(before, after, "the refresh token is rotated");

        // 16 minutes later the access token is dead: one refresh, and the call goes through.
        advance_clock(&conn, 16 * 60).await;
        let boxes = conn.authed(|c| c.mailboxes()).await.unwrap();
        assert_eq!(boxes.len(), 3);
    }

    /// Audit L4: three screens whose calls expire together make one refresh, and all three
    /// go through (before: the second refresh spent the revoked token, was refused, deleted
    /// the new keyring item and signed the user out).
    #[tokio::test(flavor = "multi_thread")]
    async fn concurrent_expired_calls_refresh_once_and_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let conn = connection(dir.path()).await;
        conn.sign_in("acc-demo-acme", pec_sandbox::seed::DEMO_PASSWORD, None)
            .await
            .unwrap();
        let before = stored(&conn, "acc-demo-acme").await.unwrap();
        advance_clock(&conn, 16 * 60).await;

        let (boxes, notes, expiries) = tokio::join!(
            conn.authed(|c| c.mailboxes()),
            conn.authed(|c| c.notifications()),
            conn.authed(|c| c.mailbox_expiries()),
        );
        assert_eq!(boxes.unwrap().len(), 3);
        notes.unwrap();
        expiries.unwrap();
        assert_eq!(conn.refreshes_sent.load(Ordering::SeqCst), 1, "one refresh");
        let after = stored(&conn, "acc-demo-acme")
            .await
            .expect("still in the keyring");
        assert_ne!(before, after, "the rotated token is the one kept");
        assert_eq!(conn.account().await.as_deref(), Some("acc-demo-acme"));
        // The kept token is the live one: a later expiry refreshes with it.
        advance_clock(&conn, 16 * 60).await;
        conn.authed(|c| c.mailboxes()).await.unwrap();
        assert_eq!(conn.refreshes_sent.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_expired_session_is_reported_and_removed_from_the_keyring() {
        let dir = tempfile::tempdir().unwrap();
        let conn = connection(dir.path()).await;
        conn.sign_in("acc-demo-mario", pec_sandbox::seed::DEMO_PASSWORD, None)
            .await
            .unwrap();
        advance_clock(&conn, 31 * 24 * 3600).await;
        let err = conn.authed(|c| c.mailboxes()).await.unwrap_err();
        assert_eq!(err.to_localized().code, "session.expired");
        assert_eq!(stored(&conn, "acc-demo-mario").await, None);
        assert_eq!(conn.account().await, None);
        assert_eq!(conn.restore("acc-demo-mario").await.unwrap(), None);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn wrong_password_keeps_the_providers_code_and_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let conn = connection(dir.path()).await;
        let err = conn
            .sign_in("acc-demo-mario", "not-the-password", None)
            .await
            .unwrap_err();
        let loc = err.to_localized();
        assert_eq!(loc.code, "auth.invalid_credentials");
        assert!(!loc.message_it.contains("not-the-password"));
        assert_eq!(stored(&conn, "acc-demo-mario").await, None);
    }

    #[tokio::test]
    async fn a_provider_that_failed_to_start_is_reported_not_fatal() {
        let conn = Connection::ready(
            Err("address in use".into()),
            Err(Localized {
                code: "vault.unavailable".into(),
                message_it: String::new(),
                message_en: String::new(),
            }),
        );
        let err = conn.provider().await.err().unwrap();
        assert_eq!(err.to_localized().code, "provider.unavailable");
        assert!(
            Provider::remote("http://pec.example.it").is_err(),
            "plain http refused"
        );
        assert!(Provider::remote("https://pec.example.it").is_ok());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_embedded_provider_starts_once_and_is_described_before_it_listens() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::new(ProviderChoice::Embedded(dir.path().to_owned()));
        // The sign-in screen's facts need no running sandbox.
        assert!(conn.is_embedded());
        assert_eq!(conn.known_base_url(), None);
        // Commands arriving while it starts wait for the same, single start.
        let (a, b) = tokio::join!(conn.provider(), conn.provider());
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(std::ptr::eq(a, b));
        assert_eq!(conn.known_base_url(), Some(a.base_url()));
        assert!(a.base_url().starts_with("http://127.0.0.1:"));
    }

    #[tokio::test]
    async fn a_configured_provider_is_described_without_starting_anything() {
        let conn = Connection::new(ProviderChoice::Remote("https://pec.example.it/".into()));
        assert!(!conn.is_embedded());
        assert_eq!(
            conn.known_base_url().as_deref(),
            Some("https://pec.example.it")
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_offered_demo_accounts_are_the_seeded_ones() {
        let dir = tempfile::tempdir().unwrap();
        let conn = connection(dir.path()).await;
        let offered = demo_accounts();
        assert_eq!(offered.len(), 2);
        for account in offered {
            conn.sign_in(&account.login, pec_sandbox::seed::DEMO_PASSWORD, None)
                .await
                .unwrap();
            let boxes: Vec<String> = conn
                .authed(|c| c.mailboxes())
                .await
                .unwrap()
                .into_iter()
                .map(|m| m.address)
                .collect();
            assert_eq!(boxes, account.mailboxes, "{}", account.login);
            conn.sign_out().await.unwrap();
        }
    }
}
