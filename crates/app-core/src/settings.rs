//! User settings, kept as a small JSON file in the app's config directory.
//!
//! Writes are atomic (temporary file, then rename) so a crash never leaves half a file,
//! and a file that cannot be parsed is moved aside rather than overwritten, so nothing the
//! user had is silently lost.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use pec_domain::Lang;
use serde::{Deserialize, Serialize};

const FILE_NAME: &str = "settings.json";

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
#[serde(default)]
pub struct Settings {
    /// Italian unless the user chose otherwise ([`Lang`]'s default).
    pub language: Lang,
    /// The provider's API base URL; none means the embedded sandbox (the demo).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_url: Option<String>,
    /// The account of the last session, to restore it from the keyring and prefill the
    /// sign-in form. An account id, never a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_account: Option<String>,
    /// The release feed of the update notice; none means the branding's, if any (see
    /// [`crate::updates`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_feed_url: Option<String>,
    /// The IMAPS server and folder of each mailbox's last backup, by PEC address, to prefill
    /// the backup form and resume into the same folder. Never a password.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub backup_servers: BTreeMap<String, BackupServer>,
    /// Which reminders come and when, autostart and the tray (see [`crate::reminders`]).
    pub reminders: crate::reminders::ReminderSettings,
}

/// Where a mailbox's messages were last backed up from and to (see [`crate::backup`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct BackupServer {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub dest: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("could not write the settings file: {0}")]
    Write(#[source] io::Error),
    #[error("could not encode the settings: {0}")]
    Encode(#[from] serde_json::Error),
}

impl SettingsError {
    /// A short, non-sensitive detail for user-facing messages.
    pub fn detail(&self) -> String {
        match self {
            SettingsError::Write(e) => e.to_string(),
            SettingsError::Encode(e) => e.to_string(),
        }
    }
}

/// What this run uses, from the user's settings and the build's branding: the user's
/// choices win, the branding presets what they left unset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    /// The provider's base URL; none: the embedded sandbox, where the build has it.
    pub provider_url: Option<String>,
    /// The release feed of the update notice; none: no check.
    pub release_feed_url: Option<String>,
}

impl Settings {
    /// The settings a first start begins with: a branded build's language.
    pub fn first_start(brand: Option<&pec_branding::Branding>) -> Settings {
        Settings {
            language: brand.map(|b| b.default_language).unwrap_or_default(),
            ..Settings::default()
        }
    }

    /// The provider and the release feed of this run (see [`Effective`]).
    pub fn effective(&self, brand: Option<&pec_branding::Branding>) -> Effective {
        Effective {
            provider_url: self
                .provider_url
                .clone()
                .or_else(|| brand.map(|b| b.provider_url.clone())),
            release_feed_url: self
                .release_feed_url
                .clone()
                .or_else(|| brand.and_then(|b| b.release_feed_url.clone())),
        }
    }
}

/// The settings file and its value in memory.
pub struct SettingsStore {
    path: PathBuf,
    current: Mutex<Settings>,
}

impl SettingsStore {
    /// Loads the settings in `dir`, falling back to defaults when there are none yet.
    pub fn load(dir: &Path) -> Self {
        Self::load_or(dir, Settings::default())
    }

    /// Loads the settings in `dir`; with no file yet (a first start) or an unreadable one,
    /// starts from `defaults` (a branded build's language, say).
    pub fn load_or(dir: &Path, defaults: Settings) -> Self {
        let path = dir.join(FILE_NAME);
        let current = match fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<Settings>(&bytes) {
                Ok(settings) => settings,
                Err(err) => {
                    let aside = path.with_extension("json.unreadable");
                    tracing::warn!(%err, "settings file unreadable; kept aside as settings.json.unreadable, using defaults");
                    if let Err(err) = fs::rename(&path, &aside) {
                        tracing::warn!(%err, "could not move the unreadable settings file aside");
                    }
                    defaults
                }
            },
            Err(err) if err.kind() == io::ErrorKind::NotFound => defaults,
            Err(err) => {
                tracing::warn!(%err, "settings file could not be read; using defaults");
                defaults
            }
        };
        Self {
            path,
            current: Mutex::new(current),
        }
    }

    pub fn get(&self) -> Settings {
        self.lock().clone()
    }

    /// Applies `change` and saves. The in-memory value changes even if saving fails, so the
    /// running app honours the user's choice; the error tells them it will not persist.
    pub fn update(&self, change: impl FnOnce(&mut Settings)) -> Result<Settings, SettingsError> {
        let mut guard = self.lock();
        change(&mut guard);
        let snapshot = guard.clone();
        drop(guard);
        self.save(&snapshot)?;
        Ok(snapshot)
    }

    fn save(&self, settings: &Settings) -> Result<(), SettingsError> {
        let bytes = serde_json::to_vec_pretty(settings)?;
        if let Some(dir) = self.path.parent() {
            pec_files::private_dir_all(dir).map_err(SettingsError::Write)?;
        }
        pec_files::write_atomic(&self.path, &bytes).map_err(SettingsError::Write)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Settings> {
        crate::lock(&self.current)
    }
}

/// Writes `value` as JSON to `path` atomically and privately (`pec_files`: a random temporary
/// name created exclusively, mode 0600, then a rename; missing folders 0700). Shared by the
/// app's small state files (drafts hold tax codes and contacts; what is known about cards).
pub fn write_atomic<T: serde::Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        pec_files::private_dir_all(dir)?;
    }
    let bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    pec_files::write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Audit L6: settings, drafts and cards.json are the user's alone (0600, folders 0700),
    /// written under an unpredictable name: a link planted at the old `x.json.tmp` is not
    /// followed.
    #[cfg(unix)]
    #[test]
    fn app_files_are_private_and_planted_links_are_not_followed() {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config/it.pecdesktop.app");
        let victim = dir.path().join("victim");
        fs::write(&victim, b"keep me").unwrap();
        let store = SettingsStore::load(&config);
        store.update(|s| s.language = Lang::En).unwrap();
        assert_eq!(mode(&config.join(FILE_NAME)), 0o600);
        assert_eq!(mode(&config), 0o700);
        assert_eq!(mode(&dir.path().join("config")), 0o700);

        let drafts = dir.path().join("data/drafts/acc-1.json");
        fs::create_dir_all(dir.path().join("data")).unwrap();
        // The old temporary names: settings.json.tmp, acc-1.json.tmp.
        std::os::unix::fs::symlink(&victim, config.join("settings.json.tmp")).unwrap();
        fs::create_dir_all(drafts.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&victim, drafts.with_extension("json.tmp")).unwrap();
        store.update(|s| s.language = Lang::It).unwrap();
        write_atomic(
            &drafts,
            &serde_json::json!({"codice_fiscale": "RSSMRA45C12F205C"}),
        )
        .unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep me");
        assert_eq!(mode(&drafts), 0o600);
        assert_eq!(SettingsStore::load(&config).get().language, Lang::It);
    }

    #[test]
    fn defaults_to_italian_when_no_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(SettingsStore::load(dir.path()).get().language, Lang::It);
    }

    #[test]
    fn language_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = SettingsStore::load(dir.path());
        store.update(|s| s.language = Lang::En).unwrap();
        assert_eq!(SettingsStore::load(dir.path()).get().language, Lang::En);
        assert!(!dir.path().join("settings.json.tmp").exists());
    }

    #[test]
    fn unreadable_file_is_kept_aside_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(FILE_NAME), b"{not json").unwrap();
        let store = SettingsStore::load(dir.path());
        assert_eq!(store.get(), Settings::default());
        let aside = fs::read(dir.path().join("settings.json.unreadable")).unwrap();
        assert_eq!(aside, b"{not json");
    }

    #[test]
    fn unknown_fields_and_missing_fields_are_tolerated() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(FILE_NAME), br#"{"future":1}"#).unwrap();
        assert_eq!(SettingsStore::load(dir.path()).get().language, Lang::It);
    }

    #[test]
    fn provider_and_last_account_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(FILE_NAME),
            br#"{"language":"en","provider_url":"https://pec.example.it"}"#,
        )
        .unwrap();
        let store = SettingsStore::load(dir.path());
        assert_eq!(
            store.get().provider_url.as_deref(),
            Some("https://pec.example.it")
        );
        store
            .update(|s| s.last_account = Some("acc-demo-mario".into()))
            .unwrap();
        let again = SettingsStore::load(dir.path()).get();
        assert_eq!(again.last_account.as_deref(), Some("acc-demo-mario"));
        assert_eq!(again.language, Lang::En);
    }

    #[test]
    fn a_first_start_takes_the_given_defaults_a_saved_choice_wins() {
        let dir = tempfile::tempdir().unwrap();
        let english = Settings {
            language: Lang::En,
            ..Settings::default()
        };
        let store = SettingsStore::load_or(dir.path(), english.clone());
        assert_eq!(store.get().language, Lang::En);
        store.update(|s| s.language = Lang::It).unwrap();
        assert_eq!(
            SettingsStore::load_or(dir.path(), english).get().language,
            Lang::It
        );
    }

    #[test]
    fn backup_servers_survive_a_restart_and_hold_no_password() {
        let dir = tempfile::tempdir().unwrap();
        let store = SettingsStore::load(dir.path());
        store
            .update(|s| {
                s.backup_servers.insert(
                    "mario.rossi@pec.example.it".into(),
                    BackupServer {
                        host: "imaps.pec.example.it".into(),
                        port: 993,
                        user: "mario.rossi@pec.example.it".into(),
                        dest: "/home/mario/PEC".into(),
                    },
                );
            })
            .unwrap();
        let again = SettingsStore::load(dir.path()).get();
        let server = &again.backup_servers["mario.rossi@pec.example.it"];
        assert_eq!(server.host, "imaps.pec.example.it");
        assert_eq!(server.dest, "/home/mario/PEC");
        let file = fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert!(!file.contains("password"), "{file}");
    }

    fn brand() -> pec_branding::Branding {
        let json = r##"{
          "format": 1, "id": "demo", "name": "Associazione Demo", "product_name": "PEC Demo",
          "default_language": "en",
          "colors": { "primary": "#1F5F8B", "accent": "#E0A526" },
          "provider_url": "https://pec.demo.example.it",
          "release_feed_url": "https://demo.example.it/feed.json",
          "support": { "phone": "+39 06 0000 0000" }
        }"##;
        pec_branding::Branding::from_resource(json.as_bytes()).unwrap()
    }

    #[test]
    fn the_branding_presets_what_the_user_left_unset() {
        let brand = brand();
        assert_eq!(Settings::first_start(Some(&brand)).language, Lang::En);
        assert_eq!(Settings::first_start(None).language, Lang::It);
        let plain = Settings::default().effective(Some(&brand));
        assert_eq!(
            plain.provider_url.as_deref(),
            Some("https://pec.demo.example.it")
        );
        assert_eq!(
            plain.release_feed_url.as_deref(),
            Some("https://demo.example.it/feed.json")
        );
        let own = Settings {
            provider_url: Some("https://mine.example.it".into()),
            ..Settings::default()
        };
        let own = own.effective(Some(&brand));
        assert_eq!(own.provider_url.as_deref(), Some("https://mine.example.it"));
        assert_eq!(
            Settings::default().effective(None),
            Effective {
                provider_url: None,
                release_feed_url: None
            }
        );
    }

    #[test]
    fn save_failure_is_reported_but_choice_kept_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be makes the final rename fail.
        fs::create_dir(dir.path().join(FILE_NAME)).unwrap();
        let store = SettingsStore::load(dir.path());
        assert!(store.update(|s| s.language = Lang::En).is_err());
        assert_eq!(store.get().language, Lang::En);
    }
}
