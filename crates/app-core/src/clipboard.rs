//! Copy buttons: the app password and the practice number.
//!
//! The clipboard is reached only from Rust (the Tauri app implements [`Clipboard`] over
//! `tauri-plugin-clipboard-manager`; the webview has no clipboard permission, only our one
//! command). An app password is a secret: one minute after the copy it is wiped from the
//! clipboard, but only if the clipboard still holds it, so whatever the user copied since is
//! left alone.

use std::sync::Arc;
use std::time::Duration;

use pec_domain::Localized;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::error::{AppError, Result};

/// How long a copied app password stays in the clipboard.
pub const SECRET_LIFETIME: Duration = Duration::from_secs(60);

/// How long this run keeps a copied app password: [`SECRET_LIFETIME`], or less when
/// `PEC_CLIPBOARD_SECRET_SECS` says so (the end-to-end rig waits a few seconds, not a minute,
/// for the wipe). Never more: the variable can only shorten it.
pub fn secret_lifetime() -> Duration {
    lifetime_from(std::env::var("PEC_CLIPBOARD_SECRET_SECS").ok().as_deref())
}

fn lifetime_from(var: Option<&str>) -> Duration {
    var.and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs)
        .filter(|d| !d.is_zero() && *d < SECRET_LIFETIME)
        .unwrap_or(SECRET_LIFETIME)
}

/// The longest text a copy button copies (an app password, a practice number).
const MAX_TEXT: usize = 256;

/// The system clipboard's text, as far as this app needs it.
pub trait Clipboard: Send + Sync + 'static {
    /// The text in the clipboard, if it holds text.
    fn read_text(&self) -> Option<String>;
    /// Puts `text` in the clipboard.
    fn write_text(&self, text: &str) -> std::result::Result<(), String>;
    /// Empties the clipboard.
    fn clear(&self) -> std::result::Result<(), String>;
}

/// What a copy button copies: it decides whether the text is wiped afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CopyKind {
    /// A mailbox's app password: wiped after [`SECRET_LIFETIME`].
    AppPassword,
    /// An identity request's practice number: stays.
    PracticeNumber,
}

fn refused() -> AppError {
    AppError::Localized(Localized::new(
        "clipboard.unavailable",
        "Non è stato possibile copiare negli appunti: seleziona il testo e copialo a mano.",
        "Could not copy to the clipboard: select the text and copy it by hand.",
    ))
}

/// Copies `text`. For an app password it returns the task that wipes it after
/// [`secret_lifetime`] (resolving to whether it wiped anything); call from a Tokio runtime.
pub fn copy(
    clipboard: Arc<dyn Clipboard>,
    kind: CopyKind,
    text: &str,
) -> Result<Option<tokio::task::JoinHandle<bool>>> {
    if text.is_empty() || text.len() > MAX_TEXT || text.chars().any(char::is_control) {
        return Err(AppError::Internal);
    }
    clipboard.write_text(text).map_err(|e| {
        tracing::warn!(error = %e, "clipboard write failed");
        refused()
    })?;
    match kind {
        CopyKind::PracticeNumber => Ok(None),
        CopyKind::AppPassword => {
            let copied = Zeroizing::new(text.to_owned());
            let lifetime = secret_lifetime();
            tracing::info!(
                secs = lifetime.as_secs(),
                "app password copied to the clipboard"
            );
            Ok(Some(tokio::spawn(async move {
                tokio::time::sleep(lifetime).await;
                let wiped = clear_if_unchanged(clipboard.as_ref(), &copied);
                tracing::info!(wiped, "copied app password: clipboard checked");
                wiped
            })))
        }
    }
}

/// Empties the clipboard if it still holds `copied`; whether it did.
pub fn clear_if_unchanged(clipboard: &dyn Clipboard, copied: &str) -> bool {
    let current = clipboard.read_text().map(Zeroizing::new);
    if current.as_deref().map(String::as_str) != Some(copied) {
        return false;
    }
    match clipboard.clear() {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "clipboard clear failed");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Fake {
        text: Mutex<Option<String>>,
        clears: Mutex<u32>,
    }

    impl Clipboard for Fake {
        fn read_text(&self) -> Option<String> {
            self.text.lock().unwrap().clone()
        }
        fn write_text(&self, text: &str) -> std::result::Result<(), String> {
            *self.text.lock().unwrap() = Some(text.to_owned());
            Ok(())
        }
        fn clear(&self) -> std::result::Result<(), String> {
            *self.text.lock().unwrap() = None;
            *self.clears.lock().unwrap() += 1;
            Ok(())
        }
    }

    // The runtime's clock is paused: `advance` is the fake clock.
    #[tokio::test(start_paused = true)]
    async fn an_app_password_is_wiped_after_a_minute() {
        let fake = Arc::new(Fake::default());
        let task = copy(fake.clone(), CopyKind::AppPassword, "abcd-efgh-ijkl")
            .unwrap()
            .unwrap();
        assert_eq!(fake.read_text().as_deref(), Some("abcd-efgh-ijkl"));
        tokio::time::advance(SECRET_LIFETIME - Duration::from_secs(1)).await;
        tokio::task::yield_now().await;
        assert_eq!(fake.read_text().as_deref(), Some("abcd-efgh-ijkl"));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(task.await.unwrap());
        assert_eq!(fake.read_text(), None);
        assert_eq!(*fake.clears.lock().unwrap(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn what_the_user_copied_since_is_left_alone() {
        let fake = Arc::new(Fake::default());
        let task = copy(fake.clone(), CopyKind::AppPassword, "abcd-efgh-ijkl")
            .unwrap()
            .unwrap();
        fake.write_text("un altro testo").unwrap();
        tokio::time::advance(SECRET_LIFETIME * 2).await;
        assert!(!task.await.unwrap());
        assert_eq!(fake.read_text().as_deref(), Some("un altro testo"));
        assert_eq!(*fake.clears.lock().unwrap(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_practice_number_stays_and_bad_text_is_refused() {
        let fake = Arc::new(Fake::default());
        assert!(
            copy(fake.clone(), CopyKind::PracticeNumber, "PR-2026-000123")
                .unwrap()
                .is_none()
        );
        tokio::time::advance(SECRET_LIFETIME * 3).await;
        assert_eq!(fake.read_text().as_deref(), Some("PR-2026-000123"));
        for bad in ["", "a\nb", &"x".repeat(MAX_TEXT + 1)] {
            assert!(copy(fake.clone(), CopyKind::PracticeNumber, bad).is_err());
        }
        assert_eq!(fake.read_text().as_deref(), Some("PR-2026-000123"));
    }

    #[test]
    fn the_rig_can_shorten_the_wipe_but_never_lengthen_it() {
        assert_eq!(lifetime_from(None), SECRET_LIFETIME);
        assert_eq!(lifetime_from(Some("3")), Duration::from_secs(3));
        assert_eq!(lifetime_from(Some("0")), SECRET_LIFETIME);
        assert_eq!(lifetime_from(Some("3600")), SECRET_LIFETIME);
        assert_eq!(lifetime_from(Some("soon")), SECRET_LIFETIME);
    }
}
