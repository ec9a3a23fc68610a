//! The error shape that crosses IPC: the domain's `Localized` — a stable code for the UI's
//! logic and tests, and the message in both languages so the UI can show it in whichever the
//! user picked without another round trip.

use pec_domain::{DomainError, Lang};
use serde::{Serialize, Serializer};

use crate::settings::SettingsError;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

impl DomainError for CommandError {
    fn code(&self) -> &'static str {
        match self {
            CommandError::Settings(_) => "settings.save_failed",
        }
    }

    fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (CommandError::Settings(e), Lang::It) => format!(
                "Non è stato possibile salvare le impostazioni ({}). La scelta vale fino alla chiusura dell'app.",
                e.detail()
            ),
            (CommandError::Settings(e), Lang::En) => format!(
                "The settings could not be saved ({}). Your choice applies until the app is closed.",
                e.detail()
            ),
        }
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
}
