//! The native file dialogs the app opens (from Rust: the webview has no dialog permission),
//! by purpose, with their titles in the user's language.

use pec_domain::Lang;

/// Why a dialog opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Picker {
    /// The folder a mailbox backup writes to.
    BackupFolder,
    /// The PKCS#11 module of a signature device.
    Pkcs11Module,
    /// Where "Esporta diagnostica" saves its zip.
    Diagnostics,
}

impl Picker {
    pub fn title(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Picker::BackupFolder, Lang::It) => "Scegli la cartella in cui salvare i messaggi",
            (Picker::BackupFolder, Lang::En) => "Choose the folder to save the messages to",
            (Picker::Pkcs11Module, Lang::It) => "Scegli il modulo PKCS#11 del dispositivo di firma",
            (Picker::Pkcs11Module, Lang::En) => "Choose the signature device's PKCS#11 module",
            (Picker::Diagnostics, Lang::It) => "Salva la diagnostica per l'assistenza",
            (Picker::Diagnostics, Lang::En) => "Save the diagnostics for support",
        }
    }

    /// The files the dialog offers: a name for the filter and the extensions.
    pub fn filter(self) -> Option<(&'static str, &'static [&'static str])> {
        match self {
            Picker::BackupFolder => None,
            Picker::Pkcs11Module => Some(("PKCS#11", &["so", "dylib", "dll"])),
            Picker::Diagnostics => Some(("Zip", &["zip"])),
        }
    }
}
