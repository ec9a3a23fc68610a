//! The app's error: what any flow of the core can fail with, turned into the boundary shape
//! the UI receives, the domain's `Localized` (a stable code for the UI's logic and tests, and
//! the message in both languages so the UI shows it in whichever the user picked without
//! another round trip).
//!
//! Provider problems keep the provider's own code and messages (`auth.invalid_credentials`,
//! `otp.invalid`, ...); transport failures get ours. No variant carries a secret: the provider
//! client strips URLs from transport errors, and tokens never reach an error.
//!
//! The codes the UI *acts on* (rather than only shows) are [`UiCode`]: defined here once,
//! exported to TypeScript as a union, so a branch on a misspelt code fails type-checking.

use pec_domain::{DomainError, Lang, Localized};
use serde::Serialize;

use crate::settings::SettingsError;

/// Result of a core call.
pub type Result<T> = std::result::Result<T, AppError>;

/// Everything a core call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Provider(#[from] pec_provider::Error),
    #[error(transparent)]
    Payment(#[from] pec_provider::PaymentError),
    #[error(transparent)]
    Vault(#[from] pec_vault::VaultError),
    /// An error already in the boundary shape (a domain validator, a card, a form check).
    #[error("{}", .0.code)]
    Localized(Localized),
    /// The provider could not be started or configured.
    #[error("provider unavailable: {0}")]
    ProviderUnavailable(String),
    #[error("not signed in")]
    NotSignedIn,
    /// The provider no longer accepts the session and it could not be refreshed.
    #[error("session expired")]
    SessionExpired,
    /// A request the UI can only make by mistake (an id that was never handed out, a missing
    /// upload header): no user-facing reason to give.
    #[error("internal error")]
    Internal,
}

/// Codes the UI branches on. Every other code is only shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum UiCode {
    /// The session could not be refreshed: back to sign-in, keeping the screen.
    #[serde(rename = "session.expired")]
    SessionExpired,
    /// A call needed a session (the provider's or a portal's) and there was none.
    #[serde(rename = "session.required")]
    SessionRequired,
    /// A portal refused its session (expired, or the app restarted): sign in to it again.
    #[serde(rename = "auth.unauthorized")]
    AuthUnauthorized,
    /// The account has two-step login: ask for the code.
    #[serde(rename = "auth.totp_required")]
    AuthTotpRequired,
    /// The card was declined: nothing charged, ask for another card.
    #[serde(rename = "payment.declined")]
    PaymentDeclined,
    /// The payment gateway did not answer: the outcome is unknown, a retry reuses the key.
    #[serde(rename = "payment.gateway_timeout")]
    PaymentGatewayTimeout,
    #[serde(rename = "provider.timeout")]
    ProviderTimeout,
    #[serde(rename = "provider.unreachable")]
    ProviderUnreachable,
    #[serde(rename = "provider.bad_answer")]
    ProviderBadAnswer,
    /// The user stopped the backup: a notice, not an error.
    #[serde(rename = "backup.cancelled")]
    BackupCancelled,
    /// Another backup runs: offer to stop it.
    #[serde(rename = "backup.busy")]
    BackupBusy,
    /// The registry's confirmation link expired: offer a new request.
    #[serde(rename = "registry.link_expired")]
    RegistryLinkExpired,
    /// Anything the UI could not read as one of ours (a bug, a dead IPC): made in the UI.
    #[serde(rename = "ipc.unexpected")]
    IpcUnexpected,
}

impl UiCode {
    /// Every code, for the TypeScript export and the tests.
    pub const ALL: &[UiCode] = &[
        UiCode::SessionExpired,
        UiCode::SessionRequired,
        UiCode::AuthUnauthorized,
        UiCode::AuthTotpRequired,
        UiCode::PaymentDeclined,
        UiCode::PaymentGatewayTimeout,
        UiCode::ProviderTimeout,
        UiCode::ProviderUnreachable,
        UiCode::ProviderBadAnswer,
        UiCode::BackupCancelled,
        UiCode::BackupBusy,
        UiCode::RegistryLinkExpired,
        UiCode::IpcUnexpected,
    ];

    /// The code as it travels.
    pub fn as_str(self) -> &'static str {
        match self {
            UiCode::SessionExpired => "session.expired",
            UiCode::SessionRequired => pec_provider::SESSION_REQUIRED,
            UiCode::AuthUnauthorized => "auth.unauthorized",
            UiCode::AuthTotpRequired => "auth.totp_required",
            UiCode::PaymentDeclined => "payment.declined",
            UiCode::PaymentGatewayTimeout => "payment.gateway_timeout",
            UiCode::ProviderTimeout => "provider.timeout",
            UiCode::ProviderUnreachable => "provider.unreachable",
            UiCode::ProviderBadAnswer => "provider.bad_answer",
            UiCode::BackupCancelled => "backup.cancelled",
            UiCode::BackupBusy => "backup.busy",
            UiCode::RegistryLinkExpired => "registry.link_expired",
            UiCode::IpcUnexpected => "ipc.unexpected",
        }
    }
}

/// A refusal with its own code and text (the core's checks of what the UI sent).
pub(crate) fn refusal(code: &str, it: &str, en: &str) -> AppError {
    AppError::Localized(Localized::new(code, it, en))
}

/// A crate's error (domain validator, card, backup option), with its code and text.
pub(crate) fn domain(e: &impl DomainError) -> AppError {
    AppError::Localized(e.to_localized())
}

impl From<pec_card::CardError> for AppError {
    fn from(e: pec_card::CardError) -> Self {
        domain(&e)
    }
}

impl From<pec_backup::OptionError> for AppError {
    fn from(e: pec_backup::OptionError) -> Self {
        domain(&e)
    }
}

impl AppError {
    /// The boundary shape.
    pub fn to_localized(&self) -> Localized {
        match self {
            AppError::Settings(e) => Localized::new(
                "settings.save_failed",
                format!(
                    "Non è stato possibile salvare le impostazioni ({}). La scelta vale fino alla chiusura dell'app.",
                    e.detail()
                ),
                format!(
                    "The settings could not be saved ({}). Your choice applies until the app is closed.",
                    e.detail()
                ),
            ),
            AppError::Vault(e) => e.to_localized(),
            AppError::Localized(loc) => loc.clone(),
            AppError::Provider(e) => e.to_localized(),
            AppError::Payment(e) => e.to_localized(),
            AppError::ProviderUnavailable(detail) => Localized::new(
                "provider.unavailable",
                format!("Il fornitore PEC non è disponibile: {detail}"),
                format!("The PEC provider is not available: {detail}"),
            ),
            // The same code and text as the provider client's: one "sign in" for the UI.
            AppError::NotSignedIn => pec_provider::Error::NotSignedIn.to_localized(),
            AppError::SessionExpired => Localized::new(
                UiCode::SessionExpired.as_str(),
                "La sessione è scaduta: accedi di nuovo per continuare da dove eri rimasto.",
                "Your session has expired: sign in again to continue where you left off.",
            ),
            AppError::Internal => Localized::new(
                "app.internal",
                "Errore interno dell'applicazione.",
                "Internal application error.",
            ),
        }
    }

    /// The stable code (for logs and tests).
    pub fn code(&self) -> String {
        self.to_localized().code
    }

    /// The message in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        let loc = self.to_localized();
        match lang {
            Lang::It => loc.message_it,
            Lang::En => loc.message_en,
        }
    }
}

/// Serialised in the boundary shape, so a front end can send it as it is.
impl Serialize for AppError {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        self.to_localized().serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_code_and_both_messages() {
        let err = AppError::from(SettingsError::Write(std::io::Error::other("disk full")));
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["code"], "settings.save_failed");
        assert!(
            json["message_it"]
                .as_str()
                .unwrap()
                .contains("impostazioni")
        );
        assert!(json["message_en"].as_str().unwrap().contains("disk full"));
    }

    #[test]
    fn provider_problems_keep_their_code_and_messages() {
        let problem = pec_provider::api::Problem {
            type_uri: "urn:pec:problem:auth.invalid_credentials".into(),
            title: "Wrong".into(),
            status: 401,
            code: "auth.invalid_credentials".into(),
            message_it: "Credenziali errate.".into(),
            message_en: "Wrong credentials.".into(),
            retry_after: None,
        };
        let err = AppError::from(pec_provider::Error::Api {
            status: 401,
            problem: Box::new(problem),
        });
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["code"], "auth.invalid_credentials");
        assert_eq!(json["message_it"], "Credenziali errate.");
        assert_eq!(err.message(Lang::En), "Wrong credentials.");
    }

    #[test]
    fn session_expiry_and_transport_errors_have_stable_codes() {
        assert_eq!(AppError::SessionExpired.code(), "session.expired");
        assert_eq!(AppError::NotSignedIn.code(), "session.required");
        let t = AppError::from(pec_provider::Error::Transport("refused".into()));
        assert_eq!(t.code(), "provider.unreachable");
        assert!(t.message(Lang::It).contains("Impossibile contattare"));
    }

    #[test]
    fn ui_codes_serialise_as_they_travel() {
        for code in UiCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }
}
