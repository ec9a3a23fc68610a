//! Live checks of form fields with the same rules the provider (or the backup engine)
//! applies, so a form cannot disagree with what happens when it is sent: every screen's field
//! checks come through here.

use pec_domain::{
    CodiceFiscale, DomainError, EmailAddress, Localized, MobileNumber, Name, PartitaIva, TaxCode,
};
use serde::{Deserialize, Serialize};

/// Longest value checked; anything longer is refused as such.
const MAX_FIELD: usize = 512;

/// Which rule to apply to a form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// A person's codice fiscale (16 characters).
    CodiceFiscale,
    /// A company's or professional's codice fiscale (16 characters or 11 digits).
    TaxCode,
    PartitaIva,
    Email,
    Mobile,
    Name,
    /// An IMAPS server: a name or an address, no scheme, port or path.
    ImapHost,
    /// A TCP port, 1 to 65535.
    Port,
    /// A folder's full path (its shape only: nothing on disk is looked at).
    Folder,
}

/// The answer for one field: valid with its normal form, or the error in both languages.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct FieldCheck {
    pub valid: bool,
    pub normalized: Option<String>,
    pub error: Option<Localized>,
}

/// Checks `value` as a field of `kind`.
pub fn check(kind: FieldKind, value: &str) -> FieldCheck {
    if value.len() > MAX_FIELD {
        return FieldCheck {
            valid: false,
            normalized: None,
            error: Some(too_long()),
        };
    }
    fn done<T, E: DomainError>(r: Result<T, E>, s: impl Fn(&T) -> String) -> FieldCheck {
        match r {
            Ok(v) => FieldCheck {
                valid: true,
                normalized: Some(s(&v)),
                error: None,
            },
            Err(e) => FieldCheck {
                valid: false,
                normalized: None,
                error: Some(e.to_localized()),
            },
        }
    }
    use pec_backup::checks;
    match kind {
        FieldKind::CodiceFiscale => done(CodiceFiscale::parse(value), |v| v.as_str().to_owned()),
        FieldKind::TaxCode => done(TaxCode::parse(value), |v| v.as_str().to_owned()),
        FieldKind::PartitaIva => done(PartitaIva::parse(value), |v| v.as_str().to_owned()),
        FieldKind::Email => done(EmailAddress::parse(value), |v| v.as_str().to_owned()),
        FieldKind::Mobile => done(MobileNumber::parse(value), |v| v.as_str().to_owned()),
        FieldKind::Name => done(Name::parse(value), |v| v.as_str().to_owned()),
        FieldKind::ImapHost => done(checks::host(value), String::clone),
        FieldKind::Port => done(checks::port_text(value), u16::to_string),
        FieldKind::Folder => done(checks::dest(value), |p| p.display().to_string()),
    }
}

/// The refusal of an over-long value (the same wherever a value is bounded).
pub fn too_long() -> Localized {
    Localized::new(
        "field.too_long",
        "Il valore è troppo lungo.",
        "The value is too long.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_checks_use_the_domain_rules() {
        let ok = check(FieldKind::CodiceFiscale, "rssmra80a01h501u");
        assert_eq!(ok.normalized.as_deref(), Some("RSSMRA80A01H501U"));
        let bad = check(FieldKind::CodiceFiscale, "RSSMRA80A01H501A");
        assert!(!bad.valid);
        let e = bad.error.unwrap();
        assert!(e.code.starts_with("cf."), "{}", e.code);
        assert!(!check(FieldKind::Email, "nope").valid);
        assert_eq!(
            check(FieldKind::Name, &"x".repeat(600)).error.unwrap().code,
            "field.too_long"
        );
    }

    #[test]
    fn backup_fields_use_the_backup_engines_rules() {
        assert_eq!(
            check(FieldKind::ImapHost, "Imaps.PEC.it.")
                .normalized
                .as_deref(),
            Some("imaps.pec.it")
        );
        let host = check(FieldKind::ImapHost, "imaps://imaps.pec.it")
            .error
            .unwrap();
        assert_eq!(host.code, "backup.invalid_host");
        assert_eq!(
            check(FieldKind::Port, "993").normalized.as_deref(),
            Some("993")
        );
        assert_eq!(
            check(FieldKind::Port, "70000").error.unwrap().code,
            "backup.invalid_port"
        );
        assert_eq!(
            check(FieldKind::Folder, "PEC/mario").error.unwrap().code,
            "backup.dest_not_absolute"
        );
        assert!(check(FieldKind::Folder, "/home/mario/PEC").valid);
    }
}
