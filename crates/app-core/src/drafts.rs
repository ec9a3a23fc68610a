//! Where a wizard was left: the request, and the form as typed but not yet sent, one JSON file
//! per account in `<data>/drafts/`, so closing the app loses nothing. Only allow-listed field
//! names are kept: no PIN, OTP or password can reach the disk through a draft.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::refusal;
use crate::{AppError, Core, Result};

/// Form fields a draft may hold. Anything else (a PIN, an OTP, a password) is refused.
const DRAFT_FIELDS: &[&str] = &[
    "kind",
    "business_name",
    "tax_code",
    "vat_number",
    "name",
    "first_name",
    "last_name",
    "rep_first_name",
    "rep_last_name",
    "rep_tax_code",
    "email",
    "mobile",
    "holder_email",
    "method",
];

/// Where a wizard was left: the request, and the form as typed (not yet sent).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct Draft {
    pub mailbox: String,
    pub request_id: Option<String>,
    pub fields: BTreeMap<String, String>,
    #[serde(default)]
    pub saved_at: Option<DateTime<Utc>>,
}

impl Draft {
    /// Bounded sizes and allow-listed field names only.
    pub fn is_valid(&self) -> bool {
        self.mailbox.len() <= 254
            && self.request_id.as_ref().is_none_or(|r| r.len() <= 128)
            && self.fields.len() <= DRAFT_FIELDS.len()
            && self
                .fields
                .iter()
                .all(|(k, v)| DRAFT_FIELDS.contains(&k.as_str()) && v.len() <= 256)
    }
}

/// Drafts of every account, one file per account in the app's data directory.
pub struct Drafts {
    dir: PathBuf,
    lock: Mutex<()>,
}

impl Drafts {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("drafts"),
            lock: Mutex::new(()),
        }
    }

    fn path(&self, account: &str) -> PathBuf {
        let safe: String = account
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '@' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!("{safe}.json"))
    }

    /// The account's open wizard, if any (an unreadable or invalid file is none).
    pub fn load(&self, account: &str) -> Option<Draft> {
        let _g = crate::lock(&self.lock);
        let bytes = std::fs::read(self.path(account)).ok()?;
        serde_json::from_slice::<Draft>(&bytes)
            .ok()
            .filter(Draft::is_valid)
    }

    pub fn save(&self, account: &str, draft: &Draft) -> std::io::Result<()> {
        let _g = crate::lock(&self.lock);
        crate::settings::write_atomic(&self.path(account), draft)
    }

    pub fn clear(&self, account: &str) -> std::io::Result<()> {
        let _g = crate::lock(&self.lock);
        match std::fs::remove_file(self.path(account)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// The signed-in account's draft.
pub async fn load(core: &Core) -> Result<Option<Draft>> {
    Ok(core.drafts.load(&core.account().await?))
}

/// Saves the signed-in account's draft, stamped with the time.
pub async fn save(core: &Core, mut draft: Draft) -> Result<()> {
    if !draft.is_valid() {
        return Err(refusal(
            "draft.invalid",
            "La bozza contiene campi non previsti e non è stata salvata.",
            "The draft holds unexpected fields and was not saved.",
        ));
    }
    draft.saved_at = Some(Utc::now());
    let account = core.account().await?;
    core.drafts.save(&account, &draft).map_err(|e| {
        tracing::warn!(error = %e, "could not save the wizard draft");
        refusal(
            "draft.save_failed",
            "Non è stato possibile salvare la bozza sul disco: i dati restano finché l'app è aperta.",
            "The draft could not be saved to disk: the data stays while the app is open.",
        )
    })
}

/// Drops the signed-in account's draft (the wizard was left on purpose).
pub async fn clear(core: &Core) -> Result<()> {
    let account = core.account().await?;
    core.drafts.clear(&account).map_err(|e| {
        tracing::warn!(error = %e, "could not remove the wizard draft");
        AppError::Internal
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_refuse_fields_outside_the_allow_list() {
        let mut d = Draft {
            mailbox: "a@pec.test".into(),
            request_id: None,
            fields: BTreeMap::new(),
            saved_at: None,
        };
        d.fields
            .insert("tax_code".into(), "RSSMRA80A01H501U".into());
        assert!(d.is_valid());
        d.fields.insert("pin".into(), "12345678".into());
        assert!(!d.is_valid());
    }

    #[test]
    fn drafts_survive_a_restart_and_clear() {
        let dir = tempfile::tempdir().unwrap();
        let d = Draft {
            mailbox: "a@pec.test".into(),
            request_id: Some("req-1".into()),
            fields: [("email".to_owned(), "a@example.com".to_owned())].into(),
            saved_at: None,
        };
        Drafts::new(dir.path()).save("acc/1", &d).unwrap();
        assert_eq!(Drafts::new(dir.path()).load("acc/1"), Some(d));
        Drafts::new(dir.path()).clear("acc/1").unwrap();
        assert_eq!(Drafts::new(dir.path()).load("acc/1"), None);
    }
}
