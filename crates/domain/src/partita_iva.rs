//! 11-digit codice fiscale of legal persons and partita IVA, and the holder's tax code.
//!
//! Both are 11 digits: a 7-digit serial, a 3-digit *ufficio* (province office) code and a Luhn
//! mod-10 check digit (`shared/reference/pec-domain.md` §5.2, python-stdnum `it/iva.py`).
//! The ufficio rule (001–100, 120, 121, 888, 999) is applied only to the partita IVA: it is not
//! confirmed that every numeric codice fiscale of a non-VAT body follows it, and rejecting a real
//! association's code would lock its holder out of the flow.
//!
//! [`TaxCode`] is what a holder record carries: a person's 16-character code or a legal person's
//! numeric one. [`normalize_company_cf`] implements the renewal portal's form (11 digits
//! left-padded with zeros to 16), kept as a per-provider option ([`CompanyCfPadding`]) because only
//! one provider is known to want it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::codice_fiscale::{CodiceFiscale, CodiceFiscaleError};
use crate::error::{DomainError, Lang, pick};

/// Why a string is not a valid 11-digit code.
///
/// One error type for both the numeric codice fiscale and the partita IVA, with `piva.*` codes:
/// they share the algorithm, and the UI field is usually labelled "Codice fiscale / Partita IVA".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumericCodeError {
    /// Nothing but whitespace. Code `piva.empty`.
    #[error("the code is empty")]
    Empty,
    /// Not 11 characters. Code `piva.length`.
    #[error("the code has 11 digits, this one has {found} characters")]
    Length {
        /// Characters found after normalisation.
        found: usize,
    },
    /// A character other than a digit. Code `piva.digits`.
    #[error("character {position} ('{found}') is not a digit")]
    NotDigit {
        /// 1-based position.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// Serial (digits 1–7) all zero. Code `piva.serial_zero`.
    #[error("the first seven digits cannot all be zero")]
    SerialZero,
    /// Ufficio code (digits 8–10) not assigned. Code `piva.office`. Partita IVA only.
    #[error("the office code {office:03} (digits 8-10) does not exist")]
    Office {
        /// The 3-digit ufficio code.
        office: u32,
    },
    /// Luhn check digit wrong. Code `piva.checksum`.
    #[error("the check digit is wrong: the code may contain a typo")]
    Checksum {
        /// The digit computed from the first ten.
        expected: u8,
        /// The digit found.
        found: u8,
    },
}

impl DomainError for NumericCodeError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "piva.empty",
            Self::Length { .. } => "piva.length",
            Self::NotDigit { .. } => "piva.digits",
            Self::SerialZero => "piva.serial_zero",
            Self::Office { .. } => "piva.office",
            Self::Checksum { .. } => "piva.checksum",
        }
    }

    fn message(&self, lang: Lang) -> String {
        let it = match self {
            Self::Empty => "Il codice è vuoto.".to_owned(),
            Self::Length { found } => {
                format!("Il codice ha 11 cifre, questo ha {found} caratteri.")
            }
            Self::NotDigit { position, found } => {
                format!("Il carattere {position} ('{found}') non è una cifra.")
            }
            Self::SerialZero => "Le prime sette cifre non possono essere tutte zero.".to_owned(),
            Self::Office { office } => {
                format!("Il codice ufficio {office:03} (cifre 8-10) non esiste.")
            }
            Self::Checksum { .. } => {
                "La cifra di controllo non corrisponde: il codice contiene probabilmente un errore di battitura."
                    .to_owned()
            }
        };
        pick(lang, it, format!("{self}."))
    }
}

/// A valid 11-digit numeric codice fiscale (legal persons, associations, bodies).
///
/// Checks: 11 digits, serial not all zero, Luhn. Serialised as the 11-digit string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NumericCodiceFiscale(String);

impl NumericCodiceFiscale {
    /// Validates an 11-digit numeric codice fiscale. Spaces are ignored.
    pub fn parse(input: &str) -> Result<Self, NumericCodeError> {
        let digits = check_eleven(&strip_spaces(input))?;
        Ok(Self(digits))
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A valid partita IVA (Italian VAT number).
///
/// Checks the numeric-code rules plus the ufficio code. An `IT` prefix (as in EU VAT listings) is
/// accepted and dropped. Serialised as the 11-digit string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PartitaIva(String);

impl PartitaIva {
    /// Validates a partita IVA. Spaces and a leading `IT` are ignored.
    pub fn parse(input: &str) -> Result<Self, NumericCodeError> {
        let s = strip_spaces(input);
        let s = s
            .strip_prefix("IT")
            .or_else(|| s.strip_prefix("it"))
            .unwrap_or(&s);
        let digits = check_eleven(s)?;
        let office = digits
            .get(7..10)
            .and_then(|o| o.parse::<u32>().ok())
            .unwrap_or(0);
        if !matches!(office, 1..=100 | 120 | 121 | 888 | 999) {
            return Err(NumericCodeError::Office { office });
        }
        Ok(Self(digits))
    }

    /// The 11 digits, without the `IT` prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Luhn check digit of the first ten digits of an 11-digit code.
///
/// Digits at 1-based odd positions count as they are; digits at even positions are doubled, minus
/// 9 when over 9; the check digit brings the sum to a multiple of 10.
/// Returns `None` unless `first10` is exactly ten ASCII digits.
pub fn luhn_check_digit(first10: &str) -> Option<u8> {
    if first10.len() != 10 || !first10.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(luhn_of(first10.as_bytes()))
}

fn luhn_of(first10: &[u8]) -> u8 {
    // The check digit goes to the right of the ten: the tenth is the first one doubled.
    ((10 - luhn_sum(first10, true) % 10) % 10) as u8
}

/// Whether a whole number (payment card, or an 11-digit code with its check digit) passes the
/// Luhn check: non-empty, ASCII digits only, sum a multiple of 10.
pub fn luhn_valid(number: &str) -> bool {
    !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && luhn_sum(number.as_bytes(), false).is_multiple_of(10)
}

/// Luhn sum of ASCII digits counted from the right: every second digit doubled (minus 9 when
/// over 9), starting with the rightmost when `double_rightmost`.
fn luhn_sum(digits: &[u8], double_rightmost: bool) -> u32 {
    digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &b)| {
            let d = u32::from(b - b'0');
            if (i % 2 == 0) == double_rightmost {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum()
}

fn strip_spaces(input: &str) -> String {
    input.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Shared checks of both 11-digit codes; returns the digits.
fn check_eleven(s: &str) -> Result<String, NumericCodeError> {
    let n = s.chars().count();
    if n == 0 {
        return Err(NumericCodeError::Empty);
    }
    if let Some((i, c)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        // Report a letter before a length problem: "a letter in my VAT number" is the clearer fix.
        if n == 11 {
            return Err(NumericCodeError::NotDigit {
                position: i + 1,
                found: c,
            });
        }
    }
    if n != 11 {
        return Err(NumericCodeError::Length { found: n });
    }
    let b = s.as_bytes();
    if b[..7].iter().all(|&d| d == b'0') {
        return Err(NumericCodeError::SerialZero);
    }
    let expected = luhn_of(&b[..10]);
    let found = b[10] - b'0';
    if expected != found {
        return Err(NumericCodeError::Checksum { expected, found });
    }
    Ok(s.to_owned())
}

crate::newtype::string_newtype_impls!(NumericCodiceFiscale, NumericCodeError);
crate::newtype::string_newtype_impls!(PartitaIva, NumericCodeError);

// ---------------------------------------------------------------------------------------------
// The holder's tax code and the renewal padding.

/// How a provider wants a legal person's 11-digit codice fiscale typed into its forms.
///
/// Seed 004 (a renewal portal) demands 16 characters, "aggiungendo eventualmente gli zeri a
/// sinistra"; other providers take the 11 digits as they are. JSON: `"none"` / `"zero_left_to_16"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompanyCfPadding {
    /// Keep the 11 digits.
    #[default]
    None,
    /// Left-pad the 11 digits with zeros to 16 characters.
    #[serde(rename = "zero_left_to_16")]
    ZeroLeftTo16,
}

/// A holder's codice fiscale: a natural person's 16 characters or a legal person's 11 digits.
///
/// Sole traders and professionals use their personal code, companies and bodies the numeric one.
/// Serialised as the plain string (16 or 11 characters); deserialisation validates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum TaxCode {
    /// Codice fiscale of a natural person.
    Person(CodiceFiscale),
    /// Numeric codice fiscale of a legal person.
    Numeric(NumericCodiceFiscale),
}

/// Why a string is not a valid holder tax code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxCodeError {
    /// Nothing but whitespace. Code `tax_code.empty`.
    #[error("the codice fiscale is empty")]
    Empty,
    /// Neither 11 nor 16 characters. Code `tax_code.length`.
    #[error(
        "a codice fiscale has 16 characters (persons) or 11 digits (companies), this one has {found}"
    )]
    Length {
        /// Characters found after normalisation.
        found: usize,
    },
    /// 16 characters, but not a valid personal code; codes `cf.*`.
    #[error(transparent)]
    Person(#[from] CodiceFiscaleError),
    /// 11 digits (possibly zero-padded to 16), but not a valid numeric code; codes `piva.*`.
    #[error(transparent)]
    Numeric(#[from] NumericCodeError),
}

impl DomainError for TaxCodeError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "tax_code.empty",
            Self::Length { .. } => "tax_code.length",
            Self::Person(e) => e.code(),
            Self::Numeric(e) => e.code(),
        }
    }

    fn message(&self, lang: Lang) -> String {
        match self {
            Self::Empty => pick(
                lang,
                "Il codice fiscale è vuoto.".to_owned(),
                format!("{self}."),
            ),
            Self::Length { found } => pick(
                lang,
                format!(
                    "Il codice fiscale ha 16 caratteri (persone) o 11 cifre (imprese), questo ne ha {found}."
                ),
                format!("{self}."),
            ),
            Self::Person(e) => e.message(lang),
            Self::Numeric(e) => e.message(lang),
        }
    }
}

impl TaxCode {
    /// Validates a holder's codice fiscale of either kind.
    ///
    /// 11 characters → numeric code; 16 characters → a personal code, or a numeric code that a
    /// padding provider already left-padded with five zeros (people paste what they typed there).
    pub fn parse(input: &str) -> Result<Self, TaxCodeError> {
        let s = crate::codice_fiscale::normalize(input);
        match s.chars().count() {
            0 => Err(TaxCodeError::Empty),
            11 => Ok(Self::Numeric(NumericCodiceFiscale::parse(&s)?)),
            16 if s.starts_with("00000") && s.bytes().all(|b| b.is_ascii_digit()) => Ok(
                Self::Numeric(NumericCodiceFiscale::parse(s.get(5..).unwrap_or_default())?),
            ),
            16 => Ok(Self::Person(CodiceFiscale::parse(&s)?)),
            found => Err(TaxCodeError::Length { found }),
        }
    }

    /// The canonical string: 16 characters for persons, 11 digits for legal persons.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Person(cf) => cf.as_str(),
            Self::Numeric(n) => n.as_str(),
        }
    }

    /// The code as a provider wants it typed, e.g. zero-padded to 16 for the renewal portal's form.
    pub fn for_provider(&self, padding: CompanyCfPadding) -> String {
        match (self, padding) {
            (Self::Numeric(n), CompanyCfPadding::ZeroLeftTo16) => format!("{:0>16}", n.as_str()),
            _ => self.as_str().to_owned(),
        }
    }
}

/// Renewal normalisation (the renewal portal's rule): validates a company's codice fiscale and returns it as the
/// provider wants it: letters uppercased, spaces removed, an 11-digit code left-padded with zeros
/// to 16 when `padding` says so.
pub fn normalize_company_cf(
    input: &str,
    padding: CompanyCfPadding,
) -> Result<String, TaxCodeError> {
    Ok(TaxCode::parse(input)?.for_provider(padding))
}

impl FromStr for TaxCode {
    type Err = TaxCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for TaxCode {
    type Error = TaxCodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<TaxCode> for String {
    fn from(t: TaxCode) -> Self {
        t.as_str().to_owned()
    }
}

impl fmt::Display for TaxCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VALID: [&str; 7] = [
        "00743110157",
        "07973780013",
        "03189950961",
        "00140869991",
        "12345670017",
        "97678190584",
        "00159560366",
    ];

    #[test]
    fn reference_valid_vectors_as_numeric_cf() {
        for v in VALID {
            assert_eq!(NumericCodiceFiscale::parse(v).unwrap().as_str(), v);
        }
    }

    #[test]
    fn reference_valid_vectors_as_partita_iva() {
        // 97678190584 (OAM) has ufficio 058, a numeric CF of a body; all pass the ufficio rule.
        for v in VALID {
            assert_eq!(PartitaIva::parse(v).unwrap().as_str(), v);
        }
        assert_eq!(
            PartitaIva::parse("IT00140869991").unwrap().as_str(),
            "00140869991"
        );
        assert_eq!(
            PartitaIva::parse(" it 0014 0869 991 ").unwrap().as_str(),
            "00140869991"
        );
    }

    #[test]
    fn reference_invalid_vectors() {
        for v in ["00743110158", "12345670018"] {
            let e = PartitaIva::parse(v).unwrap_err();
            assert_eq!(e.code(), "piva.checksum", "{v}");
            assert_eq!(
                NumericCodiceFiscale::parse(v).unwrap_err().code(),
                "piva.checksum"
            );
        }
    }

    #[test]
    fn luhn_valid_on_cards_and_codes() {
        // Test card numbers of the payment networks, and the reference partite IVA.
        assert!(luhn_valid("4242424242424242"));
        assert!(luhn_valid("4000000000000002"));
        assert!(!luhn_valid("4242424242424241"));
        assert!(luhn_valid("00743110157"));
        assert!(!luhn_valid("00743110158"));
        assert!(!luhn_valid(""));
        assert!(!luhn_valid("4242 4242"));
        for body in ["0074311015", "0797378001", "1000743115"] {
            let d = luhn_check_digit(body).unwrap();
            assert!(luhn_valid(&format!("{body}{d}")), "{body}{d}");
        }
    }

    #[test]
    fn luhn_vectors() {
        assert_eq!(luhn_check_digit("0074311015"), Some(7));
        assert_eq!(luhn_check_digit("1234567001"), Some(7));
        assert_eq!(luhn_check_digit("123456700"), None);
        assert_eq!(luhn_check_digit("123456700x"), None);
    }

    fn with_luhn(first10: &str) -> String {
        format!("{first10}{}", luhn_check_digit(first10).unwrap())
    }

    #[test]
    fn serial_and_office_rules() {
        let zero_serial = with_luhn("0000000001");
        assert_eq!(
            NumericCodiceFiscale::parse(&zero_serial).unwrap_err(),
            NumericCodeError::SerialZero
        );
        // Office 101 is not assigned: fine for a numeric CF, not for a partita IVA.
        let office_101 = with_luhn("1234567101");
        assert!(NumericCodiceFiscale::parse(&office_101).is_ok());
        assert_eq!(
            PartitaIva::parse(&office_101).unwrap_err(),
            NumericCodeError::Office { office: 101 }
        );
        for office in ["000", "119", "122", "887", "998"] {
            let v = with_luhn(&format!("1234567{office}"));
            assert_eq!(
                PartitaIva::parse(&v).unwrap_err().code(),
                "piva.office",
                "{v}"
            );
        }
        for office in ["001", "100", "120", "121", "888", "999"] {
            let v = with_luhn(&format!("1234567{office}"));
            assert!(PartitaIva::parse(&v).is_ok(), "{v}");
        }
    }

    #[test]
    fn shape_errors() {
        assert_eq!(PartitaIva::parse(" ").unwrap_err(), NumericCodeError::Empty);
        assert_eq!(
            PartitaIva::parse("0074311015").unwrap_err(),
            NumericCodeError::Length { found: 10 }
        );
        assert_eq!(
            PartitaIva::parse("0074311015A").unwrap_err(),
            NumericCodeError::NotDigit {
                position: 11,
                found: 'A'
            }
        );
        assert_eq!(
            NumericCodiceFiscale::parse("0074311015€").unwrap_err(),
            NumericCodeError::NotDigit {
                position: 11,
                found: '€'
            }
        );
        assert_eq!(PartitaIva::parse("abc").unwrap_err().code(), "piva.length");
        for e in [
            NumericCodeError::Empty,
            NumericCodeError::Length { found: 3 },
            NumericCodeError::SerialZero,
            NumericCodeError::Office { office: 101 },
            NumericCodeError::Checksum {
                expected: 1,
                found: 2,
            },
        ] {
            let l = e.to_localized();
            assert!(l.code.starts_with("piva."));
            assert_ne!(l.message_it, l.message_en);
        }
    }

    #[test]
    fn tax_code_accepts_both_kinds_and_padded_numeric() {
        assert!(matches!(
            TaxCode::parse("rssmra45c12f205c").unwrap(),
            TaxCode::Person(_)
        ));
        assert!(matches!(
            TaxCode::parse("00743110157").unwrap(),
            TaxCode::Numeric(_)
        ));
        let padded = TaxCode::parse("0000000743110157").unwrap();
        assert_eq!(padded.as_str(), "00743110157");
        assert_eq!(TaxCode::parse("").unwrap_err(), TaxCodeError::Empty);
        assert_eq!(TaxCode::parse("123").unwrap_err().code(), "tax_code.length");
        assert_eq!(
            TaxCode::parse("00743110158").unwrap_err().code(),
            "piva.checksum"
        );
        assert_eq!(
            TaxCode::parse("FOXDRA26C24H872A").unwrap_err().code(),
            "cf.checksum"
        );
        // Localised messages of wrapped errors come from the inner error.
        let e = TaxCode::parse("00743110158").unwrap_err();
        assert!(e.message(Lang::It).contains("cifra di controllo"));
        assert!(
            TaxCodeError::Length { found: 3 }
                .message(Lang::It)
                .contains("16 caratteri")
        );
    }

    #[test]
    fn renewal_normalisation_of_seed_004() {
        assert_eq!(
            normalize_company_cf(" 00743110157 ", CompanyCfPadding::ZeroLeftTo16).unwrap(),
            "0000000743110157"
        );
        assert_eq!(
            normalize_company_cf("00743110157", CompanyCfPadding::None).unwrap(),
            "00743110157"
        );
        // Sole traders use their personal code: uppercased, never padded.
        assert_eq!(
            normalize_company_cf("rssmra45c12f205c", CompanyCfPadding::ZeroLeftTo16).unwrap(),
            "RSSMRA45C12F205C"
        );
        // Already padded input is idempotent.
        assert_eq!(
            normalize_company_cf("0000000743110157", CompanyCfPadding::ZeroLeftTo16).unwrap(),
            "0000000743110157"
        );
        assert_eq!(
            normalize_company_cf("0000000743110157", CompanyCfPadding::None).unwrap(),
            "00743110157"
        );
        assert!(normalize_company_cf("00743110158", CompanyCfPadding::ZeroLeftTo16).is_err());
        assert_eq!(
            serde_json::to_string(&CompanyCfPadding::ZeroLeftTo16).unwrap(),
            "\"zero_left_to_16\""
        );
    }

    #[test]
    fn serde_round_trips() {
        let t = TaxCode::parse("00743110157").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"00743110157\"");
        let back: TaxCode = serde_json::from_str("\"00743110157\"").unwrap();
        assert_eq!(back, t);
        let p: PartitaIva = serde_json::from_str("\"IT00743110157\"").unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"00743110157\"");
        assert!(serde_json::from_str::<PartitaIva>("\"00743110158\"").is_err());
    }

    fn valid_piva() -> impl Strategy<Value = String> {
        let offices =
            prop::sample::select((1u32..=100).chain([120, 121, 888, 999]).collect::<Vec<_>>());
        (1u32..10_000_000, offices)
            .prop_map(|(serial, office)| with_luhn(&format!("{serial:07}{office:03}")))
    }

    proptest! {
        #[test]
        fn every_generated_partita_iva_passes(code in valid_piva()) {
            prop_assert!(PartitaIva::parse(&code).is_ok(), "{code}");
            prop_assert!(NumericCodiceFiscale::parse(&code).is_ok(), "{code}");
            prop_assert!(TaxCode::parse(&code).is_ok(), "{code}");
        }

        #[test]
        fn any_single_digit_change_fails(code in valid_piva(), pos in 0usize..11, shift in 1u8..10) {
            // A shift of 1..=9 modulo 10 always gives a different digit: no rejected cases.
            let mut b = code.into_bytes();
            b[pos] = b'0' + (b[pos] - b'0' + shift) % 10;
            let changed = String::from_utf8(b).unwrap();
            prop_assert!(PartitaIva::parse(&changed).is_err(), "{changed}");
            prop_assert!(NumericCodiceFiscale::parse(&changed).is_err(), "{changed}");
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,30}") {
            let _ = PartitaIva::parse(&s);
            let _ = NumericCodiceFiscale::parse(&s);
            let _ = TaxCode::parse(&s);
        }
    }
}
