//! The association's branding of this build, if it has one.
//!
//! A branded installer carries `branding.json` in the app's resource directory (written and
//! checked by `pec-branding build`, see `crates/branding`). It is read once at start and
//! checked again: a file that fails the checks is logged and ignored, so a broken branding
//! never stops the app, it only makes it the plain one. What it changes:
//!
//! - the provider: its URL is used when the settings name none ([`crate::Settings::effective`]);
//! - the language of a first start ([`crate::Settings::first_start`]);
//! - the release feed of the update notice, unless the settings name one;
//! - what the UI shows: the association's name, colours and support contacts ([`view`]).

use std::path::Path;

use pec_branding::{Branding, Colors, RESOURCE_NAME, Support};
use serde::Serialize;

/// What the UI may show about the association. No URL the UI could be tempted to call.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct BrandingView {
    pub name: String,
    pub product_name: String,
    pub colors: Colors,
    pub support: Support,
}

/// Reads `branding.json` from `resource_dir`. A missing file is the plain build.
pub fn load(resource_dir: Option<&Path>) -> Option<Branding> {
    let path = resource_dir?.join(RESOURCE_NAME);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "branding file unreadable; running unbranded");
            return None;
        }
    };
    match Branding::from_resource(&bytes) {
        Ok(branding) => {
            tracing::info!(id = %branding.id, provider = %branding.provider_url, "branding loaded");
            Some(branding)
        }
        Err(invalid) => {
            tracing::error!(path = %path.display(), problems = %invalid, "branding file invalid; running unbranded");
            None
        }
    }
}

/// What the UI shows of the association behind this build.
pub fn view(brand: &Branding) -> BrandingView {
    BrandingView {
        name: brand.name.clone(),
        product_name: brand.product_name.clone(),
        colors: brand.colors.clone(),
        support: brand.support.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r##"{
      "format": 1, "id": "demo", "name": "Associazione Demo", "product_name": "PEC Demo",
      "default_language": "en",
      "colors": { "primary": "#1F5F8B", "accent": "#E0A526" },
      "provider_url": "http://127.0.0.1:47615",
      "support": { "phone": "+39 06 0000 0000" }
    }"##;

    #[test]
    fn the_plain_build_has_no_branding_and_a_bad_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(None), None);
        assert_eq!(load(Some(dir.path())), None);
        std::fs::write(
            dir.path().join(RESOURCE_NAME),
            GOOD.replace("#1F5F8B", "blue"),
        )
        .unwrap();
        assert_eq!(load(Some(dir.path())), None);
        std::fs::write(dir.path().join(RESOURCE_NAME), GOOD).unwrap();
        let brand = load(Some(dir.path())).unwrap();
        assert_eq!(brand.provider_url, "http://127.0.0.1:47615");
        assert_eq!(brand.default_language, pec_domain::Lang::En);
    }
}
