//! Contact data: e-mail address and Italian mobile number.
//!
//! The providers send the final OTP to the contact e-mail and verification codes by SMS to the
//! mobile (seeds 000, 001, 004), so a typo here means a code that never arrives. The checks are a
//! practical subset of RFC 5321/5322, not the full grammar: quoted local parts, comments and IP
//! literals are valid in theory but no provider form accepts them, and accepting them here would
//! only move the rejection to a worse place.

use serde::{Deserialize, Serialize};

use crate::error::{DomainError, Lang, pick};

/// Longest address in a path (RFC 5321 §4.5.3.1.3: 256 octets minus the angle brackets).
pub const EMAIL_MAX_LEN: usize = 254;
/// Longest local part (RFC 5321 §4.5.3.1.1).
pub const EMAIL_LOCAL_MAX_LEN: usize = 64;
/// Longest domain (RFC 5321 §4.5.3.1.2 less the trailing dot).
pub const EMAIL_DOMAIN_MAX_LEN: usize = 253;
/// Longest domain label (RFC 1035).
pub const EMAIL_LABEL_MAX_LEN: usize = 63;

/// A syntactically valid e-mail address (ordinary or PEC).
///
/// Normalised: surrounding whitespace trimmed, domain lowercased (domains are case-insensitive;
/// the local part is kept as typed because RFC 5321 lets the receiving server treat its case as
/// significant). Serialised as the string; deserialisation validates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

/// Why a string is not an acceptable e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing but whitespace. Code `email.empty`.
    #[error("the e-mail address is empty")]
    Empty,
    /// Over 254 characters. Code `email.too_long`.
    #[error("the e-mail address is too long (at most {EMAIL_MAX_LEN} characters)")]
    TooLong,
    /// Not exactly one `@`. Code `email.at_sign`.
    #[error("the e-mail address must contain exactly one '@'")]
    AtSign,
    /// Characters outside ASCII; internationalised addresses are not supported. Code `email.non_ascii`.
    #[error(
        "the e-mail address contains accented or non-Latin characters, which are not supported"
    )]
    NonAscii,
    /// Empty, too long, or bad characters or dots before the `@`. Code `email.local_part`.
    #[error("the part before '@' is not valid")]
    LocalPart,
    /// Bad domain after the `@`. Code `email.domain`.
    #[error("the domain after '@' is not valid")]
    Domain,
}

impl DomainError for EmailError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "email.empty",
            Self::TooLong => "email.too_long",
            Self::AtSign => "email.at_sign",
            Self::NonAscii => "email.non_ascii",
            Self::LocalPart => "email.local_part",
            Self::Domain => "email.domain",
        }
    }

    fn message(&self, lang: Lang) -> String {
        let it = match self {
            Self::Empty => "L'indirizzo e-mail è vuoto.".to_owned(),
            Self::TooLong => {
                format!("L'indirizzo e-mail è troppo lungo (al massimo {EMAIL_MAX_LEN} caratteri).")
            }
            Self::AtSign => "L'indirizzo e-mail deve contenere una sola '@'.".to_owned(),
            Self::NonAscii => {
                "L'indirizzo e-mail contiene lettere accentate o caratteri non latini, che non sono supportati."
                    .to_owned()
            }
            Self::LocalPart => "La parte prima della '@' non è valida.".to_owned(),
            Self::Domain => "Il dominio dopo la '@' non è valido.".to_owned(),
        };
        pick(lang, it, format!("{self}."))
    }
}

impl EmailAddress {
    /// Validates and normalises an e-mail address.
    ///
    /// Local part: dot-atom (letters, digits, `` !#$%&'*+/=?^_`{|}~- ``, dots not first, last or
    /// doubled), 1–64 characters. Domain: at least two labels of letters, digits and inner hyphens,
    /// each 1–63 characters, 253 in all, top-level label not all digits.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if !s.is_ascii() {
            return Err(EmailError::NonAscii);
        }
        if s.len() > EMAIL_MAX_LEN {
            return Err(EmailError::TooLong);
        }
        let mut parts = s.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EmailError::AtSign);
        };
        if !valid_local(local) {
            return Err(EmailError::LocalPart);
        }
        let domain = domain.to_ascii_lowercase();
        if !valid_domain(&domain) {
            return Err(EmailError::Domain);
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after `@`, lowercase. Useful to tell a PEC provider's domain.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

fn valid_local(local: &str) -> bool {
    const SPECIALS: &[u8] = b"!#$%&'*+/=?^_`{|}~-";
    !local.is_empty()
        && local.len() <= EMAIL_LOCAL_MAX_LEN
        && local.split('.').all(|atom| {
            !atom.is_empty()
                && atom
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || SPECIALS.contains(&b))
        })
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    !domain.is_empty()
        && domain.len() <= EMAIL_DOMAIN_MAX_LEN
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= EMAIL_LABEL_MAX_LEN
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()))
}

/// An Italian mobile number in E.164 form, e.g. `+393331234567`.
///
/// Italian mobile numbers start with 3 and have 9 or 10 digits after the country code. Only
/// Italian mobiles are accepted because the providers' SMS codes and the two-step login app are
/// bound to one (the renewal portal, and Aruba's 2FA). Serialised as the E.164 string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MobileNumber(String);

/// Why a string is not an Italian mobile number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MobileError {
    /// Nothing but separators. Code `mobile.empty`.
    #[error("the mobile number is empty")]
    Empty,
    /// Characters other than digits, a leading `+`, spaces, dashes, dots, slashes or brackets.
    /// Code `mobile.chars`.
    #[error("the mobile number may contain only digits, spaces and dashes")]
    Chars,
    /// International prefix other than +39 / 0039. Code `mobile.country`.
    #[error("only Italian mobile numbers (+39) are accepted")]
    Country,
    /// Does not start with 3 after the prefix, e.g. a landline. Code `mobile.not_mobile`.
    #[error("Italian mobile numbers start with 3")]
    NotMobile,
    /// Not 9–10 digits after the prefix. Code `mobile.length`.
    #[error("an Italian mobile number has 9 or 10 digits after +39")]
    Length,
}

impl DomainError for MobileError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "mobile.empty",
            Self::Chars => "mobile.chars",
            Self::Country => "mobile.country",
            Self::NotMobile => "mobile.not_mobile",
            Self::Length => "mobile.length",
        }
    }

    fn message(&self, lang: Lang) -> String {
        let it = match self {
            Self::Empty => "Il numero di cellulare è vuoto.",
            Self::Chars => "Il numero di cellulare può contenere solo cifre, spazi e trattini.",
            Self::Country => "Sono accettati solo numeri di cellulare italiani (+39).",
            Self::NotMobile => "I numeri di cellulare italiani iniziano con 3.",
            Self::Length => "Un numero di cellulare italiano ha 9 o 10 cifre dopo il +39.",
        };
        pick(lang, it.to_owned(), format!("{self}."))
    }
}

impl MobileNumber {
    /// Validates an Italian mobile number and normalises it to E.164 (`+39` and the digits).
    ///
    /// Accepts `+39`, `0039` or no prefix, and spaces, dashes, dots, slashes and brackets as
    /// separators, as people write numbers.
    pub fn parse(input: &str) -> Result<Self, MobileError> {
        let trimmed = input.trim();
        // A leading '+' is the only place a plus may appear: it announces the country code.
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '/' | '(' | ')' => {}
                _ => return Err(MobileError::Chars),
            }
        }
        if digits.is_empty() {
            return Err(MobileError::Empty);
        }
        let national = if plus {
            digits.strip_prefix("39").ok_or(MobileError::Country)?
        } else if let Some(intl) = digits.strip_prefix("00") {
            intl.strip_prefix("39").ok_or(MobileError::Country)?
        } else {
            digits.as_str()
        };
        if !national.starts_with('3') {
            return Err(if national.is_empty() {
                MobileError::Length
            } else {
                MobileError::NotMobile
            });
        }
        if !(9..=10).contains(&national.len()) {
            return Err(MobileError::Length);
        }
        Ok(Self(format!("+39{national}")))
    }

    /// The E.164 form, e.g. `+393331234567`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::newtype::string_newtype_impls!(EmailAddress, EmailError);
crate::newtype::string_newtype_impls!(MobileNumber, MobileError);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_emails() {
        for (input, norm) in [
            ("mario.rossi@example.it", "mario.rossi@example.it"),
            ("  Mario.Rossi@Example.IT ", "Mario.Rossi@example.it"),
            (
                "studio+pec@pec.studio-rossi.it",
                "studio+pec@pec.studio-rossi.it",
            ),
            ("a@b.co", "a@b.co"),
            (
                "o'brien!#$%&*/=?^_`{|}~-@x-1.example.com",
                "o'brien!#$%&*/=?^_`{|}~-@x-1.example.com",
            ),
            ("info@legalmail.it", "info@legalmail.it"),
        ] {
            assert_eq!(
                EmailAddress::parse(input).unwrap().as_str(),
                norm,
                "{input}"
            );
        }
        assert_eq!(
            EmailAddress::parse("x@PEC.Aruba.it").unwrap().domain(),
            "pec.aruba.it"
        );
    }

    #[test]
    fn invalid_emails_with_codes() {
        let long_local = format!("{}@example.it", "a".repeat(65));
        let long_label = format!("a@{}.it", "b".repeat(64));
        let long_total = format!("a@{}.it", vec!["c".repeat(60); 5].join("."));
        for (input, code) in [
            ("", "email.empty"),
            ("   ", "email.empty"),
            ("mario.rossi", "email.at_sign"),
            ("a@b@c.it", "email.at_sign"),
            ("@example.it", "email.local_part"),
            (".mario@example.it", "email.local_part"),
            ("mario.@example.it", "email.local_part"),
            ("ma..rio@example.it", "email.local_part"),
            ("ma rio@example.it", "email.local_part"),
            ("\"mario\"@example.it", "email.local_part"),
            ("mario(x)@example.it", "email.local_part"),
            (long_local.as_str(), "email.local_part"),
            ("mario@", "email.domain"),
            ("mario@localhost", "email.domain"),
            ("mario@example..it", "email.domain"),
            ("mario@-example.it", "email.domain"),
            ("mario@example-.it", "email.domain"),
            ("mario@exa_mple.it", "email.domain"),
            ("mario@example.it.", "email.domain"),
            ("mario@[192.168.0.1]", "email.domain"),
            ("mario@192.168.0.1", "email.domain"),
            (long_label.as_str(), "email.domain"),
            (long_total.as_str(), "email.too_long"),
            ("màrio@example.it", "email.non_ascii"),
            ("mario@esempìo.it", "email.non_ascii"),
        ] {
            let e = EmailAddress::parse(input).unwrap_err();
            assert_eq!(e.code(), code, "{input}");
            assert_ne!(e.message(Lang::It), e.message(Lang::En));
        }
    }

    #[test]
    fn email_serde() {
        let e: EmailAddress = serde_json::from_str("\"A@B.IT\"").unwrap();
        assert_eq!(serde_json::to_string(&e).unwrap(), "\"A@b.it\"");
        assert!(serde_json::from_str::<EmailAddress>("\"nope\"").is_err());
    }

    #[test]
    fn valid_mobiles() {
        for (input, norm) in [
            ("3331234567", "+393331234567"),
            ("333 123 4567", "+393331234567"),
            ("333-123-4567", "+393331234567"),
            ("+39 333 1234567", "+393331234567"),
            ("+39-333-123-4567", "+393331234567"),
            ("0039 333 1234567", "+393331234567"),
            ("+39 (333) 123.45.67", "+393331234567"),
            ("333/123456", "+39333123456"),
            (" 320 123 4567 ", "+393201234567"),
        ] {
            assert_eq!(
                MobileNumber::parse(input).unwrap().as_str(),
                norm,
                "{input}"
            );
        }
    }

    #[test]
    fn invalid_mobiles_with_codes() {
        for (input, code) in [
            ("", "mobile.empty"),
            (" - ", "mobile.empty"),
            ("+", "mobile.empty"),
            ("333 123 456a", "mobile.chars"),
            ("+39 333 12+34", "mobile.chars"),
            ("333١٢٣٤٥٦٧", "mobile.chars"),
            ("+41 79 123 45 67", "mobile.country"),
            ("0041 79 123 45 67", "mobile.country"),
            ("06 1234 5678", "mobile.not_mobile"),
            ("+39 06 12345678", "mobile.not_mobile"),
            ("+39", "mobile.length"),
            ("33312345", "mobile.length"),
            ("333123456789", "mobile.length"),
            ("+39 333 12345678", "mobile.length"),
        ] {
            let e = MobileNumber::parse(input).unwrap_err();
            assert_eq!(e.code(), code, "{input}");
            assert_ne!(e.message(Lang::It), e.message(Lang::En));
        }
    }

    #[test]
    fn mobile_serde() {
        let m: MobileNumber = serde_json::from_str("\"+39 333 1234567\"").unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"+393331234567\"");
    }

    proptest! {
        #[test]
        fn generated_mobiles_normalise(national in "3[0-9]{8,9}", prefix in prop::sample::select(vec!["", "+39", "0039", "+39 "])) {
            let m = MobileNumber::parse(&format!("{prefix}{national}")).unwrap();
            prop_assert_eq!(m.as_str(), format!("+39{national}"));
        }

        #[test]
        fn generated_emails_pass(local in "[a-z0-9]{1,20}(\\.[a-z0-9_+-]{1,10}){0,2}", domain in "[a-z0-9]{1,20}(\\.[a-z]{2,6}){1,2}") {
            let s = format!("{local}@{domain}");
            prop_assert!(EmailAddress::parse(&s).is_ok(), "{s}");
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,80}") {
            let _ = EmailAddress::parse(&s);
            let _ = MobileNumber::parse(&s);
        }
    }
}
