//! Session secrets in the operating system's keyring, and nowhere else.
//!
//! The provider's session token (and later app passwords) must never touch a file of ours,
//! a log, or the webview. This crate is the only place that stores them: in the Secret
//! Service on Linux (gnome-keyring, KWallet), the Keychain on macOS and the Credential
//! Manager on Windows, through `keyring-core` and one native store per OS.
//!
//! Secrets travel as [`Secret`], which zeroizes its memory on drop and never prints itself.
//! Errors carry no secret either: they say what failed, with a stable code and Italian and
//! English messages ([`pec_domain::DomainError`]).
//!
//! ```no_run
//! use pec_vault::{Secret, SecretKey, Vault};
//! let vault = Vault::system("it.pecdesktop.app")?;
//! let key = SecretKey::session("https://pec.example.it", "mario.rossi@pec.example.it");
//! vault.put(&key, &Secret::new("opaque-token".to_owned()))?;
//! assert!(vault.get(&key)?.is_some());
//! vault.delete(&key)?; // sign-out
//! # Ok::<(), pec_vault::VaultError>(())
//! ```

use std::fmt;
use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};
use pec_domain::{DomainError, Lang};
use zeroize::Zeroizing;

/// A secret value: zeroized when dropped, redacted in `Debug`.
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The secret itself, for the one call that needs it (an HTTP header, say).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Which secret: its kind, the provider it belongs to, and the account there.
///
/// In the keyring this becomes the item's *service* (`<app id>/<kind>`) and *user*
/// (`<account> @ <provider>`), so a user looking at their keyring can tell what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretKey {
    kind: &'static str,
    user: String,
}

impl SecretKey {
    /// The session token for `account` at the provider whose API base URL is `provider`.
    pub fn session(provider: &str, account: &str) -> Self {
        Self {
            kind: "session",
            user: format!("{account} @ {provider}"),
        }
    }

    /// An app password (for mail programs) of `account` at `provider`.
    pub fn app_password(provider: &str, account: &str) -> Self {
        Self {
            kind: "app-password",
            user: format!("{account} @ {provider}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// No keyring service answered (on Linux: no Secret Service on the session bus).
    #[error("the system keyring is not available: {0}")]
    Unavailable(String),
    /// The keyring exists but refused access (locked, or the user said no).
    #[error("the system keyring refused access: {0}")]
    Denied(String),
    /// What was stored is not text we wrote.
    #[error("the stored secret is not readable")]
    BadData,
    /// Any other failure of the keyring service.
    #[error("the system keyring failed: {0}")]
    Failure(String),
}

impl DomainError for VaultError {
    fn code(&self) -> &'static str {
        match self {
            VaultError::Unavailable(_) => "vault.unavailable",
            VaultError::Denied(_) => "vault.denied",
            VaultError::BadData => "vault.bad_data",
            VaultError::Failure(_) => "vault.failure",
        }
    }

    fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (VaultError::Unavailable(_), Lang::It) => "Il portachiavi di sistema non è disponibile: la sessione non può essere salvata in modo sicuro. Su Linux serve un servizio come GNOME Portachiavi o KWallet.".into(),
            (VaultError::Unavailable(_), Lang::En) => "The system keyring is not available, so the session cannot be stored safely. On Linux a service such as GNOME Keyring or KWallet is needed.".into(),
            (VaultError::Denied(_), Lang::It) => "Il portachiavi di sistema ha negato l'accesso. Sbloccalo e riprova.".into(),
            (VaultError::Denied(_), Lang::En) => "The system keyring refused access. Unlock it and try again.".into(),
            (VaultError::BadData, Lang::It) => "Il dato salvato nel portachiavi non è leggibile: accedi di nuovo.".into(),
            (VaultError::BadData, Lang::En) => "The value stored in the keyring is unreadable: please sign in again.".into(),
            (VaultError::Failure(detail), Lang::It) => format!("Errore del portachiavi di sistema: {detail}"),
            (VaultError::Failure(detail), Lang::En) => format!("The system keyring failed: {detail}"),
        }
    }
}

/// The keyring of this user, scoped to one application id. A clone is the same keyring (the
/// store is shared), for a call made on another thread.
#[derive(Clone)]
pub struct Vault {
    store: Arc<CredentialStore>,
    app_id: String,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("app_id", &self.app_id)
            .finish()
    }
}

impl Vault {
    /// The native keyring of this OS. `app_id` namespaces our items (use the bundle id).
    pub fn system(app_id: &str) -> Result<Self, VaultError> {
        Ok(Self::with_store(native_store()?, app_id))
    }

    /// A vault over any `keyring-core` store: tests pass `keyring_core::mock::Store`.
    pub fn with_store(store: Arc<CredentialStore>, app_id: &str) -> Self {
        Self {
            store,
            app_id: app_id.to_owned(),
        }
    }

    /// Stores `secret` under `key`, replacing what was there.
    pub fn put(&self, key: &SecretKey, secret: &Secret) -> Result<(), VaultError> {
        self.entry(key)?
            .set_password(secret.expose())
            .map_err(map_error)
    }

    /// The secret under `key`, or `None` when there is none.
    pub fn get(&self, key: &SecretKey) -> Result<Option<Secret>, VaultError> {
        match self.entry(key)?.get_password() {
            Ok(value) => Ok(Some(Secret::new(value))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_error(e)),
        }
    }

    /// Removes the secret under `key`; `true` if there was one.
    pub fn delete(&self, key: &SecretKey) -> Result<bool, VaultError> {
        match self.entry(key)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(e) => Err(map_error(e)),
        }
    }

    /// The keyring item's service and user for `key` (what `secret-tool` shows).
    pub fn item_name(&self, key: &SecretKey) -> (String, String) {
        (format!("{}/{}", self.app_id, key.kind), key.user.clone())
    }

    fn entry(&self, key: &SecretKey) -> Result<Entry, VaultError> {
        let (service, user) = self.item_name(key);
        self.store.build(&service, &user, None).map_err(map_error)
    }
}

/// Maps keyring errors without ever formatting stored data into the message.
fn map_error(err: keyring_core::Error) -> VaultError {
    use keyring_core::Error as E;
    match err {
        E::NoStorageAccess(e) => VaultError::Denied(e.to_string()),
        E::NoDefaultStore => VaultError::Unavailable("no keyring store".into()),
        E::BadEncoding(_) | E::BadDataFormat(_, _) => VaultError::BadData,
        E::PlatformFailure(e) => VaultError::Failure(e.to_string()),
        E::TooLong(what, limit) => VaultError::Failure(format!("{what} longer than {limit}")),
        E::Invalid(what, why) => VaultError::Failure(format!("invalid {what}: {why}")),
        other => VaultError::Failure(other.to_string()),
    }
}

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
fn native_store() -> Result<Arc<CredentialStore>, VaultError> {
    let store = zbus_secret_service_keyring_store::Store::new()
        .map_err(|e| VaultError::Unavailable(e.to_string()))?;
    Ok(store)
}

#[cfg(target_os = "macos")]
fn native_store() -> Result<Arc<CredentialStore>, VaultError> {
    let store = apple_native_keyring_store::keychain::Store::new()
        .map_err(|e| VaultError::Unavailable(e.to_string()))?;
    Ok(store)
}

#[cfg(target_os = "windows")]
fn native_store() -> Result<Arc<CredentialStore>, VaultError> {
    let store = windows_native_keyring_store::Store::new()
        .map_err(|e| VaultError::Unavailable(e.to_string()))?;
    Ok(store)
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "macos",
    target_os = "windows"
)))]
fn native_store() -> Result<Arc<CredentialStore>, VaultError> {
    Err(VaultError::Unavailable(
        "no native keyring on this platform".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        Vault::with_store(keyring_core::mock::Store::new().unwrap(), "test.app")
    }

    #[test]
    fn put_get_delete_round_trip() {
        let v = vault();
        let key = SecretKey::session("https://p.example", "a@pec.example");
        assert!(v.get(&key).unwrap().is_none());
        v.put(&key, &Secret::new("tok-1".into())).unwrap();
        assert_eq!(v.get(&key).unwrap().unwrap().expose(), "tok-1");
        v.put(&key, &Secret::new("tok-2".into())).unwrap();
        assert_eq!(v.get(&key).unwrap().unwrap().expose(), "tok-2");
        assert!(v.delete(&key).unwrap());
        assert!(v.get(&key).unwrap().is_none());
        assert!(!v.delete(&key).unwrap());
    }

    #[test]
    fn keys_of_other_accounts_kinds_and_providers_do_not_mix() {
        let v = vault();
        let a = SecretKey::session("https://p.example", "a@pec.example");
        let b = SecretKey::session("https://p.example", "b@pec.example");
        let c = SecretKey::session("https://q.example", "a@pec.example");
        let d = SecretKey::app_password("https://p.example", "a@pec.example");
        v.put(&a, &Secret::new("A".into())).unwrap();
        for other in [&b, &c, &d] {
            assert!(v.get(other).unwrap().is_none(), "{other:?}");
        }
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("super-secret-token".into());
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
    }

    #[test]
    fn errors_have_codes_and_both_languages_without_data() {
        let e = map_error(keyring_core::Error::BadEncoding(b"super-secret".to_vec()));
        let l = e.to_localized();
        assert_eq!(l.code, "vault.bad_data");
        assert!(!l.message_it.contains("super-secret") && !l.message_en.contains("super-secret"));
        assert!(!format!("{e} {e:?}").contains("super-secret"));
    }
}
