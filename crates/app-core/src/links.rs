//! Clickable support contacts.
//!
//! The webview never navigates and cannot open anything by itself: it asks Rust to open one
//! of the branding's support contacts by kind, and Rust builds the `mailto:`, `tel:` or
//! `https:` target from the branding it read at start. Anything that is not exactly one of
//! those addresses is refused, so a compromised page cannot use the opener to launch files,
//! other schemes or other sites.

use pec_branding::Support;
use pec_domain::Localized;
use serde::Deserialize;

use crate::error::{AppError, Result};

/// Which support contact to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SupportLink {
    Email,
    Phone,
    Web,
}

fn refused() -> AppError {
    AppError::Localized(Localized::new(
        "link.not_allowed",
        "Questo collegamento non è tra i contatti di assistenza e non è stato aperto.",
        "This link is not one of the support contacts and was not opened.",
    ))
}

/// The address to hand to the system's opener for `which`, from the branding's contacts.
pub fn support_target(support: Option<&Support>, which: SupportLink) -> Result<String> {
    let support = support.ok_or_else(refused)?;
    match which {
        SupportLink::Email => {
            let email = support.email.as_deref().ok_or_else(refused)?;
            // Checked by pec-branding already; checked again because it becomes a URL.
            if email.is_empty()
                || !email.contains('@')
                || email
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || "?&#:/\\<>\"'%".contains(c))
            {
                return Err(refused());
            }
            Ok(format!("mailto:{email}"))
        }
        SupportLink::Phone => {
            let phone = support.phone.as_deref().ok_or_else(refused)?;
            let plus = phone.starts_with('+');
            let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
            let only_separators = phone
                .chars()
                .enumerate()
                .all(|(i, c)| c.is_ascii_digit() || " .-".contains(c) || (i == 0 && c == '+'));
            if !only_separators || !(6..=15).contains(&digits.len()) {
                return Err(refused());
            }
            Ok(format!("tel:{}{digits}", if plus { "+" } else { "" }))
        }
        SupportLink::Web => {
            let web = support.web.as_deref().ok_or_else(refused)?;
            let url = url::Url::parse(web).map_err(|_| refused())?;
            if url.scheme() != "https" || url.host_str().is_none() || !url.username().is_empty() {
                return Err(refused());
            }
            Ok(url.to_string())
        }
    }
}

/// The address the opener gets for `which` of this build's support contacts: made from the
/// branding, then checked against the allow-list once more.
pub fn support_url(core: &crate::Core, which: SupportLink) -> Result<String> {
    let support = core.brand.as_ref().map(|b| &b.support);
    let target = support_target(support, which)?;
    if !is_allowed(support, &target) {
        return Err(AppError::Internal);
    }
    Ok(target)
}

/// The system could not open a support link.
pub fn open_failed() -> AppError {
    AppError::Localized(Localized::new(
        "link.open_failed",
        "Non è stato possibile aprire il collegamento: usa il contatto mostrato.",
        "The link could not be opened: use the contact shown.",
    ))
}

/// Whether `target` is one of the addresses [`support_target`] makes for this branding: the
/// last check before the opener runs, and what the tests hold the command to.
pub fn is_allowed(support: Option<&Support>, target: &str) -> bool {
    [SupportLink::Email, SupportLink::Phone, SupportLink::Web]
        .into_iter()
        .filter_map(|which| support_target(support, which).ok())
        .any(|allowed| allowed == target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn support() -> Support {
        Support {
            phone: Some("+39 06 1234.5678".into()),
            email: Some("aiuto@artigiani.example".into()),
            web: Some("https://artigiani.example/assistenza".into()),
        }
    }

    #[test]
    fn the_brandings_contacts_become_links() {
        let s = support();
        assert_eq!(
            support_target(Some(&s), SupportLink::Email).unwrap(),
            "mailto:aiuto@artigiani.example"
        );
        assert_eq!(
            support_target(Some(&s), SupportLink::Phone).unwrap(),
            "tel:+390612345678"
        );
        assert_eq!(
            support_target(Some(&s), SupportLink::Web).unwrap(),
            "https://artigiani.example/assistenza"
        );
        for t in [
            "mailto:aiuto@artigiani.example",
            "tel:+390612345678",
            "https://artigiani.example/assistenza",
        ] {
            assert!(is_allowed(Some(&s), t), "{t}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        let s = support();
        for t in [
            "https://evil.example/",
            "https://artigiani.example/altro",
            "http://artigiani.example/assistenza",
            "file:///etc/passwd",
            "mailto:altri@artigiani.example",
            "tel:+39000",
            "javascript:alert(1)",
            "/usr/bin/xterm",
            "",
        ] {
            assert!(!is_allowed(Some(&s), t), "{t}");
        }
        // No branding (the plain build): nothing at all.
        assert!(!is_allowed(None, "https://artigiani.example/assistenza"));
        assert_eq!(
            support_target(None, SupportLink::Web).unwrap_err().code(),
            "link.not_allowed"
        );
        // Contacts that do not make a safe link are refused, not passed through.
        let odd = Support {
            phone: Some("+39 06 1234 5678; rm -rf".into()),
            email: Some("aiuto@x.example?body=ciao".into()),
            web: Some("http://artigiani.example/".into()),
        };
        for which in [SupportLink::Email, SupportLink::Phone, SupportLink::Web] {
            assert!(support_target(Some(&odd), which).is_err(), "{which:?}");
        }
        let missing = Support {
            email: Some("aiuto@artigiani.example".into()),
            ..Default::default()
        };
        assert!(support_target(Some(&missing), SupportLink::Web).is_err());
    }
}
