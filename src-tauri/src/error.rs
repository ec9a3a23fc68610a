//! The error shape that crosses IPC: the domain's `Localized` — a stable code for the UI's
//! logic and tests, and the message in both languages so the UI can show it in whichever the
//! user picked without another round trip.
//!
//! Provider problems keep the provider's own code and messages (`auth.invalid_credentials`,
//! `otp.invalid`, ...); transport failures get ours. No variant carries a secret: the
//! provider client strips URLs from transport errors, and tokens never reach an error.

use pec_domain::{DomainError, Lang, Localized};
use serde::{Serialize, Serializer};

use crate::settings::SettingsError;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Provider(#[from] pec_provider::Error),
    #[error(transparent)]
    Vault(#[from] pec_vault::VaultError),
    /// An error already in the boundary shape (a domain validator, a failed start).
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
    #[error("internal error")]
    Internal,
}

/// An error with its own stable code and text: the commands' checks of their input.
pub(crate) fn localized(code: &str, it: &str, en: &str) -> CommandError {
    CommandError::Localized(Localized {
        code: code.to_owned(),
        message_it: it.to_owned(),
        message_en: en.to_owned(),
    })
}

/// A domain validator's refusal, with its code and text.
pub(crate) fn domain(e: &impl DomainError) -> CommandError {
    CommandError::Localized(e.to_localized())
}

impl CommandError {
    pub fn to_localized(&self) -> Localized {
        let l = |code: &str, it: String, en: String| Localized {
            code: code.to_owned(),
            message_it: it,
            message_en: en,
        };
        match self {
            CommandError::Settings(e) => l(
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
            CommandError::Vault(e) => e.to_localized(),
            CommandError::Localized(loc) => loc.clone(),
            CommandError::Provider(e) => provider_error(e),
            CommandError::ProviderUnavailable(detail) => l(
                "provider.unavailable",
                format!("Il fornitore PEC non è disponibile: {detail}"),
                format!("The PEC provider is not available: {detail}"),
            ),
            CommandError::NotSignedIn => l(
                "session.required",
                "Accedi per continuare.".into(),
                "Sign in to continue.".into(),
            ),
            CommandError::SessionExpired => l(
                "session.expired",
                "La sessione è scaduta: accedi di nuovo per continuare da dove eri rimasto.".into(),
                "Your session has expired: sign in again to continue where you left off.".into(),
            ),
            CommandError::Internal => l(
                "app.internal",
                "Errore interno dell'applicazione.".into(),
                "Internal application error.".into(),
            ),
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        let loc = self.to_localized();
        match lang {
            Lang::It => loc.message_it,
            Lang::En => loc.message_en,
        }
    }
}

fn provider_error(e: &pec_provider::Error) -> Localized {
    use pec_provider::Error as E;
    let l = |code: &str, it: String, en: String| Localized {
        code: code.to_owned(),
        message_it: it,
        message_en: en,
    };
    match e {
        E::Api { problem, .. } => problem.localized(),
        E::InsecureUrl(_) => l(
            "provider.insecure_url",
            "L'indirizzo del fornitore deve usare https (http solo in locale).".into(),
            "The provider address must use https (plain http only on this computer).".into(),
        ),
        E::InvalidUrl(_) => l(
            "provider.invalid_url",
            "L'indirizzo del fornitore non è valido.".into(),
            "The provider address is not valid.".into(),
        ),
        E::Timeout => l(
            "provider.timeout",
            "Il fornitore non ha risposto in tempo. Riprova tra poco.".into(),
            "The provider did not answer in time. Try again shortly.".into(),
        ),
        E::Transport(detail) => l(
            "provider.unreachable",
            format!(
                "Impossibile contattare il fornitore ({detail}). Controlla la connessione e riprova."
            ),
            format!("Cannot reach the provider ({detail}). Check the connection and try again."),
        ),
        E::Decode(_) => l(
            "provider.bad_answer",
            "Il fornitore ha dato una risposta inattesa.".into(),
            "The provider gave an unexpected answer.".into(),
        ),
        E::NotSignedIn => l(
            "session.required",
            "Accedi per continuare.".into(),
            "Sign in to continue.".into(),
        ),
    }
}

impl Serialize for CommandError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_localized().serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_code_and_both_messages() {
        let err = CommandError::from(SettingsError::Write(std::io::Error::other("disk full")));
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
        let err = CommandError::from(pec_provider::Error::Api {
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
        assert_eq!(
            CommandError::SessionExpired.to_localized().code,
            "session.expired"
        );
        let t = CommandError::from(pec_provider::Error::Transport("refused".into()));
        assert_eq!(t.to_localized().code, "provider.unreachable");
        assert!(t.message(Lang::It).contains("Impossibile contattare"));
    }
}
