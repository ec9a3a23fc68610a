//! PEC Desktop's logic, without Tauri.
//!
//! Everything the app does between a screen and the crates that do the work lives here, so it
//! is tested with plain `cargo test` (no WebKit) and a front end only adapts: the Tauri app's
//! commands parse their arguments, call one function of this crate and map its [`AppError`].
//! Rules of the PEC world stay in the crates that own them (`pec-domain`, `pec-card`'s
//! pre-flight, `pec-provider`'s payment keys, `pec-backup`'s option checks); this crate
//! orchestrates them and keeps the app's state.
//!
//! - [`Core`]: the state of one run (settings, provider connection, drafts, cards, the
//!   portals' secrets, the running backup), built once at start.
//! - [`session`]: the provider (configured, or the embedded sandbox with the
//!   `embedded-sandbox` feature), sign-in, the refresh token in the OS keyring, and
//!   [`session::Connection::authed`]'s refresh-once on a 401.
//! - [`identity`]: the identity wizard's request and actions, SPID, remote signature,
//!   webcam, documents; [`drafts`] of the form on disk; [`fields`]: live field checks.
//! - [`security`]: two-step login and app passwords.
//! - [`cards`]: readers, the pre-flight check and identification with the card; [`cie`]:
//!   the CIE with an NFC reader (pre-flight, one VERIFY, the holder check before the
//!   provider) and CieID on the phone.
//! - [`registry`], [`renewal`], [`backup`]: the change of the PEC on record, the renewal
//!   portal, saving a mailbox.
//! - [`reminders`]: what has a deadline, due by the provider's clock, delivered once.
//! - Desktop habits: [`clipboard`] (copy buttons, the app password wiped after a minute),
//!   [`links`] (support contacts opened only if they are the branding's), [`window_state`]
//!   (size and position kept across runs), [`diagnostics`] (the helpdesk zip, scrubbed).
//! - [`error`]: [`AppError`], its boundary shape, and the codes the UI acts on ([`UiCode`]).

pub mod backup;
pub mod branding;
pub mod cards;
pub mod cie;
pub mod clipboard;
pub mod diagnostics;
pub mod documents;
pub mod drafts;
pub mod error;
pub mod fields;
pub mod identity;
pub mod links;
pub mod mailboxes;
pub mod pickers;
pub mod qr;
pub mod registry;
pub mod reminders;
pub mod renewal;
pub mod security;
pub mod session;
pub mod settings;
pub mod signature;
pub mod tray;
pub mod updates;
pub mod window_state;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

pub use error::{AppError, Result, UiCode};
pub use settings::{Settings, SettingsStore};

/// The state of one run of the app.
pub struct Core {
    pub settings: SettingsStore,
    pub conn: session::Connection,
    pub drafts: drafts::Drafts,
    pub cards: cards::Cards,
    pub spid: identity::SpidPages,
    pub cieid: cie::CieIdPages,
    /// Firma digitale / firma remota: forms, signed copies, the remote-signature session.
    pub signatures: signature::Signatures,
    pub tickets: registry::Tickets,
    pub payments: pec_provider::PaymentKeys,
    pub backups: backup::Backups,
    pub updates: updates::UpdateCheck,
    /// Deadline reminders: what was delivered, what comes next.
    pub reminders: std::sync::Arc<reminders::Reminders>,
    /// The association of a branded build; `None` for the plain build.
    pub brand: Option<pec_branding::Branding>,
    /// Where the rolling log files go (shown for support requests).
    pub log_dir: PathBuf,
}

/// The directories a front end resolves for the core.
pub struct Dirs {
    pub config: PathBuf,
    pub data: PathBuf,
    pub log: PathBuf,
}

impl Core {
    /// Loads the settings and sets up the state. Nothing slow happens here: the provider and
    /// the keyring are set up in the background ([`session::Connection::warm_up`]) or by the
    /// first call that needs them, so the window opens at once.
    pub fn new(dirs: Dirs, brand: Option<pec_branding::Branding>) -> Core {
        let settings = SettingsStore::load_or(&dirs.config, Settings::first_start(brand.as_ref()));
        let effective = settings.get().effective(brand.as_ref());
        let choice = match effective.provider_url {
            Some(url) => session::ProviderChoice::Remote(url),
            None => session::ProviderChoice::Embedded(dirs.data.clone()),
        };
        Core {
            settings,
            conn: session::Connection::new(choice),
            drafts: drafts::Drafts::new(&dirs.data),
            cards: cards::Cards::new(&dirs.data),
            spid: identity::SpidPages::default(),
            cieid: cie::CieIdPages::default(),
            signatures: signature::Signatures::default(),
            tickets: registry::Tickets::default(),
            payments: pec_provider::PaymentKeys::default(),
            backups: backup::Backups::new(&[&dirs.config, &dirs.data, &dirs.log]),
            updates: updates::UpdateCheck::new(effective.release_feed_url),
            reminders: std::sync::Arc::new(reminders::Reminders::new(&dirs.data)),
            brand,
            log_dir: dirs.log,
        }
    }

    /// The association behind this build, as the UI may show it.
    pub fn branding(&self) -> Option<branding::BrandingView> {
        self.brand.as_ref().map(branding::view)
    }

    /// A newer release, or none. Never an error: an unreachable feed is not the user's problem.
    pub async fn update_notice(&self) -> Option<pec_updates::Notice> {
        self.updates.notice(env!("CARGO_PKG_VERSION")).await
    }

    /// Changes the UI language (kept in memory even if the file cannot be written).
    pub fn set_language(&self, language: pec_domain::Lang) -> Result<Settings> {
        let settings = self.settings.update(|s| s.language = language)?;
        tracing::info!(?language, "language changed");
        Ok(settings)
    }

    /// The signed-in account, or `session.required`.
    pub async fn account(&self) -> Result<String> {
        self.conn.account().await.ok_or(AppError::NotSignedIn)
    }
}

/// Locks a mutex whose data a panic cannot leave half-updated (plain values and maps, each
/// change made in one statement), so a poisoned lock is taken as it is.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs blocking work (PC/SC, file probes) off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| AppError::Internal)?
}

/// `<documents>/PEC/<address>`: one folder per mailbox, so backups of two never mix.
pub fn suggested_backup_dest(documents: &Path, address: &str) -> String {
    documents.join("PEC").join(address).display().to_string()
}

/// What the code under test logs on this thread, as the app's log file would hold it.
///
/// One global subscriber writes each event to the capture of the thread that emitted it. A
/// per-test `set_default` subscriber is not enough: when another test thread registers the
/// same callsite at the same moment, tracing may cache "nobody is interested" for it, and
/// the capturing test then sees nothing.
#[cfg(test)]
pub(crate) mod test_log {
    use std::cell::RefCell;
    use std::sync::{Arc, Mutex, Once};

    #[derive(Clone, Default)]
    pub struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Captured {
        pub fn text(&self) -> String {
            String::from_utf8_lossy(&super::lock(&self.0)).into_owned()
        }
    }

    thread_local! {
        static TARGET: RefCell<Option<Captured>> = const { RefCell::new(None) };
    }

    /// Writes to this thread's capture, if any.
    struct ThreadWriter;

    impl std::io::Write for ThreadWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            TARGET.with(|t| {
                if let Some(c) = t.borrow().as_ref() {
                    super::lock(&c.0).extend_from_slice(buf);
                }
            });
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Ends the capture when dropped.
    pub struct Guard(());

    impl Drop for Guard {
        fn drop(&mut self) {
            TARGET.with(|t| t.borrow_mut().take());
        }
    }

    /// Captures every level on this thread until the guard drops.
    pub fn capture() -> (Captured, Guard) {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(|| ThreadWriter)
                .finish();
            // Only this module installs one; were another there, captures would stay empty
            // and the tests that read them fail, which is what should happen.
            let _ = tracing::subscriber::set_global_default(subscriber);
        });
        let captured = Captured::default();
        TARGET.with(|t| *t.borrow_mut() = Some(captured.clone()));
        (captured, Guard(()))
    }
}
