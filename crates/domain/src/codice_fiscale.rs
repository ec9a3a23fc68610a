//! Codice fiscale of natural persons (16 characters).
//!
//! Algorithm: DM 23 dicembre 1976 n. 13813, as implemented by python-stdnum
//! (`stdnum/it/codicefiscale.py`); see `shared/reference/pec-domain.md` §5.1.
//! Layout `SSS NNN YY M DD CCCC K`: surname, name, year, month letter, day (+40 for women),
//! catastale code of the birthplace, check character.
//!
//! Why the app validates it locally: the holder's or legal representative's code is compared with
//! the one in a smart card's certificate *before* the provider step, and a typo caught here saves a
//! failed identification ("Dati non corrispondenti") at the provider.
//!
//! Omocodia: when two people would get the same code, the Agenzia delle Entrate replaces digits with
//! letters (`0→L 1→M … 9→V`) at positions 7, 8, 10, 11, 13, 14, 15 (1-based) and recomputes the check
//! character. Such codes are real and must be accepted; the decoded date and place are read after
//! mapping the letters back.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, Lang, pick};

/// Month letters, January to December.
const MONTHS: &[u8; 12] = b"ABCDEHLMPRST";

/// Omocodia letters: index = the digit they replace.
const OMOCODE: &[u8; 10] = b"LMNPQRSTUV";

/// 0-based positions that may hold a digit or its omocodia letter.
const DIGIT_POSITIONS: [usize; 7] = [6, 7, 9, 10, 12, 13, 14];

/// Values of characters at 1-based odd positions; index 0–9 for digits and A–J alike
/// (the table gives them the same value), then K–Z.
const ODD_VALUES: [u32; 26] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, // 0/A … 9/J
    2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23, // K … Z
];

/// A valid, normalised codice fiscale of a natural person.
///
/// Constructed only through [`CodiceFiscale::parse`] (also used by `FromStr` and by serde), so a
/// value of this type is always well formed, has a correct check character and a possible birth
/// date. Serialised as its 16-character string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CodiceFiscale {
    code: String,
    /// Birth date in 1900+YY if it exists, else 2000+YY (only 29 February of year 00 needs it).
    birth_primary: NaiveDate,
    /// Birth date in 2000+YY when that date exists.
    birth_2000: Option<NaiveDate>,
}

/// Sex as encoded in the day field (women have 40 added).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// Day field 01–31.
    Male,
    /// Day field 41–71.
    Female,
}

/// Why a string is not a valid codice fiscale of a natural person.
///
/// Positions are 1-based, as a person counts them on paper.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodiceFiscaleError {
    /// Nothing but whitespace. Code `cf.empty`.
    #[error("the codice fiscale is empty")]
    Empty,
    /// Not 16 characters after removing spaces. Code `cf.length`.
    #[error("a codice fiscale has 16 characters, this one has {found}")]
    Length {
        /// Characters found after normalisation.
        found: usize,
    },
    /// A character of the wrong kind at a position. Code `cf.format`.
    #[error("character {position} ('{found}') is not allowed at that position")]
    Format {
        /// 1-based position.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// The 9th character is not a month letter (A B C D E H L M P R S T). Code `cf.month`.
    #[error("character 9 ('{found}') is not a month letter")]
    Month {
        /// The offending character.
        found: char,
    },
    /// The day field is not 01–31 (men) or 41–71 (women). Code `cf.day`.
    #[error("the day of birth {raw:02} is not valid (01-31 for men, 41-71 for women)")]
    Day {
        /// The two-digit day field, omocodia decoded.
        raw: u32,
    },
    /// Day and month do not make a date, e.g. 30 February. Code `cf.date`.
    #[error("the date of birth (day {day}, month {month}, year ..{year:02}) does not exist")]
    Date {
        /// Two-digit year.
        year: u32,
        /// Month 1–12.
        month: u32,
        /// Day 1–31.
        day: u32,
    },
    /// The check character does not match. Code `cf.checksum`.
    #[error("the check character is wrong: the code may contain a typo")]
    Checksum {
        /// Check character computed from the first 15.
        expected: char,
        /// Check character found.
        found: char,
    },
}

impl DomainError for CodiceFiscaleError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "cf.empty",
            Self::Length { .. } => "cf.length",
            Self::Format { .. } => "cf.format",
            Self::Month { .. } => "cf.month",
            Self::Day { .. } => "cf.day",
            Self::Date { .. } => "cf.date",
            Self::Checksum { .. } => "cf.checksum",
        }
    }

    fn message(&self, lang: Lang) -> String {
        let it = match self {
            Self::Empty => "Il codice fiscale è vuoto.".to_owned(),
            Self::Length { found } => {
                format!("Il codice fiscale ha 16 caratteri, questo ne ha {found}.")
            }
            Self::Format { position, found } => {
                format!("Il carattere {position} ('{found}') non è ammesso in quella posizione.")
            }
            Self::Month { found } => format!(
                "Il carattere 9 ('{found}') non è una lettera del mese (A B C D E H L M P R S T)."
            ),
            Self::Day { raw } => format!(
                "Il giorno di nascita {raw:02} non è valido (01-31 per gli uomini, 41-71 per le donne)."
            ),
            Self::Date { year, month, day } => format!(
                "La data di nascita (giorno {day}, mese {month}, anno ..{year:02}) non esiste."
            ),
            Self::Checksum { .. } => {
                "Il carattere di controllo non corrisponde: il codice contiene probabilmente un errore di battitura."
                    .to_owned()
            }
        };
        pick(lang, it, format!("{self}."))
    }
}

impl CodiceFiscale {
    /// Validates and normalises a codice fiscale of a natural person.
    ///
    /// Accepts lowercase, surrounding and inner spaces (people copy codes from cards and PDFs that
    /// group them); the stored form is 16 uppercase characters. Checks, in this order: length,
    /// character classes per position, month letter, check character, day and date. The check
    /// character comes before the date because a typo is the likelier cause of a bad date.
    pub fn parse(input: &str) -> Result<Self, CodiceFiscaleError> {
        let code = normalize(input);
        let chars: Vec<char> = code.chars().collect();
        if chars.is_empty() {
            return Err(CodiceFiscaleError::Empty);
        }
        if chars.len() != 16 {
            return Err(CodiceFiscaleError::Length { found: chars.len() });
        }
        for (i, &c) in chars.iter().enumerate() {
            let ok = match i {
                8 => true, // month, checked below with its own error
                _ if DIGIT_POSITIONS.contains(&i) => digit_value(c).is_some(),
                _ => c.is_ascii_uppercase(),
            };
            if !ok {
                return Err(CodiceFiscaleError::Format {
                    position: i + 1,
                    found: c,
                });
            }
        }
        // All characters are ASCII from here on, so byte indexing is safe.
        let bytes = code.as_bytes();
        let month_letter = chars[8];
        let month = MONTHS
            .iter()
            .position(|&m| char::from(m) == month_letter)
            .map(|i| i as u32 + 1)
            .ok_or(CodiceFiscaleError::Month {
                found: month_letter,
            })?;

        let expected = check_char_of(&bytes[..15]);
        if expected != chars[15] {
            return Err(CodiceFiscaleError::Checksum {
                expected,
                found: chars[15],
            });
        }

        let year = two_digits(chars[6], chars[7]);
        let raw_day = two_digits(chars[9], chars[10]);
        let day = match raw_day {
            1..=31 => raw_day,
            41..=71 => raw_day - 40,
            _ => return Err(CodiceFiscaleError::Day { raw: raw_day }),
        };
        let birth_1900 = NaiveDate::from_ymd_opt(1900 + year as i32, month, day);
        let birth_2000 = NaiveDate::from_ymd_opt(2000 + year as i32, month, day);
        let birth_primary =
            birth_1900
                .or(birth_2000)
                .ok_or(CodiceFiscaleError::Date { year, month, day })?;
        Ok(Self {
            code,
            birth_primary,
            birth_2000,
        })
    }

    /// The normalised 16-character code.
    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// Sex encoded in the code.
    pub fn sex(&self) -> Sex {
        if self.raw_day() > 40 {
            Sex::Female
        } else {
            Sex::Male
        }
    }

    /// Birth date, with the century resolved against `today`.
    ///
    /// The code carries only two year digits, so the century is a guess: the latest date that is not
    /// after `today`. `today` is a parameter because this crate reads no clock. For people over 100
    /// the guess is wrong by a century; nothing in the code can tell.
    pub fn birth_date(&self, today: NaiveDate) -> NaiveDate {
        match self.birth_2000 {
            Some(d) if d <= today => d,
            _ => self.birth_primary,
        }
    }

    /// Month (1–12) and day (1–31) of birth; these need no century.
    pub fn birth_month_day(&self) -> (u32, u32) {
        (self.birth_primary.month(), self.birth_primary.day())
    }

    /// The 4-character catastale code of the birthplace (a `Z` prefix means abroad), omocodia decoded.
    pub fn birthplace_code(&self) -> String {
        self.code
            .chars()
            .enumerate()
            .skip(11)
            .take(4)
            .map(|(i, c)| match (i, digit_value(c)) {
                (12.., Some(d)) => char::from(b'0' + d as u8),
                _ => c,
            })
            .collect()
    }

    /// Whether the Agenzia replaced any digit with an omocodia letter.
    pub fn is_omocodic(&self) -> bool {
        self.code
            .bytes()
            .enumerate()
            .any(|(i, b)| DIGIT_POSITIONS.contains(&i) && b.is_ascii_uppercase())
    }

    fn raw_day(&self) -> u32 {
        let b = self.code.as_bytes();
        two_digits(char::from(b[9]), char::from(b[10]))
    }
}

/// Normalises user input: trims, drops every whitespace character, uppercases ASCII letters.
pub fn normalize(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Computes the check character of the first 15 characters of a codice fiscale.
///
/// Returns `None` unless `first15` is exactly 15 ASCII letters or digits (after normalisation).
/// Useful to generate test codes and to tell the user which character was expected.
pub fn check_character(first15: &str) -> Option<char> {
    let s = normalize(first15);
    if s.len() != 15
        || !s
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return None;
    }
    Some(check_char_of(s.as_bytes()))
}

/// Check character over uppercase ASCII alphanumerics (caller guarantees the class).
fn check_char_of(first15: &[u8]) -> char {
    let sum: u32 = first15
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            // Digits and letters A–J share a value in both tables.
            let idx = if b.is_ascii_digit() {
                u32::from(b - b'0')
            } else {
                u32::from(b.saturating_sub(b'A'))
            };
            if i % 2 == 0 {
                ODD_VALUES.get(idx as usize).copied().unwrap_or(0)
            } else {
                idx
            }
        })
        .sum();
    char::from(b'A' + (sum % 26) as u8)
}

/// The digit a character stands for at a digit position: itself, or its omocodia letter.
fn digit_value(c: char) -> Option<u32> {
    if let Some(d) = c.to_digit(10) {
        return Some(d);
    }
    OMOCODE
        .iter()
        .position(|&l| char::from(l) == c)
        .map(|d| d as u32)
}

/// Two-digit number at digit positions; callers have validated both characters.
fn two_digits(a: char, b: char) -> u32 {
    digit_value(a).unwrap_or(0) * 10 + digit_value(b).unwrap_or(0)
}

impl FromStr for CodiceFiscale {
    type Err = CodiceFiscaleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for CodiceFiscale {
    type Error = CodiceFiscaleError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<CodiceFiscale> for String {
    fn from(cf: CodiceFiscale) -> Self {
        cf.code
    }
}

impl fmt::Display for CodiceFiscale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)
    }
}

impl AsRef<str> for CodiceFiscale {
    fn as_ref(&self) -> &str {
        &self.code
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn today() -> NaiveDate {
        ymd(2026, 11, 22)
    }

    fn code(e: &CodiceFiscaleError) -> &'static str {
        e.code()
    }

    #[test]
    fn reference_valid_vectors() {
        for v in [
            "MRTNTN23M02D969P",
            "RCCMNL83S18D969H",
            "MRSMSR81D60Z611H",
            "CNTCHR83T41D969D",
            "FOXDRA26C24H872Y",
            "MAILCU91A25F839D",
            "RSSMRA45C12F205C",
            "RSSMRA45C12F20RX",
            "RSSMRA45C12F2L5N",
            "RSSMRA45C12F2LRI",
            "RSSMRAQRCMNFNLRG",
        ] {
            let cf = CodiceFiscale::parse(v).unwrap_or_else(|e| panic!("{v}: {e}"));
            assert_eq!(cf.as_str(), v);
        }
    }

    #[test]
    fn decodes_date_and_sex() {
        let f = CodiceFiscale::parse("MRSMSR81D60Z611H").unwrap();
        assert_eq!(f.sex(), Sex::Female);
        assert_eq!(f.birth_date(today()), ymd(1981, 4, 20));
        assert_eq!(f.birthplace_code(), "Z611");
        assert!(!f.is_omocodic());

        let c = CodiceFiscale::parse("CNTCHR83T41D969D").unwrap();
        assert_eq!(c.sex(), Sex::Female);
        assert_eq!(c.birth_month_day(), (12, 1));

        let m = CodiceFiscale::parse("RCCMNL83S18D969H").unwrap();
        assert_eq!(m.sex(), Sex::Male);
        assert_eq!(m.birth_date(today()), ymd(1983, 11, 18));
    }

    #[test]
    fn omocodic_variants_decode_to_the_same_person_data() {
        for v in [
            "RSSMRA45C12F205C",
            "RSSMRA45C12F20RX",
            "RSSMRA45C12F2L5N",
            "RSSMRA45C12F2LRI",
            "RSSMRAQRCMNFNLRG",
        ] {
            let cf = CodiceFiscale::parse(v).unwrap();
            assert_eq!(cf.birth_date(today()), ymd(1945, 3, 12), "{v}");
            assert_eq!(cf.birthplace_code(), "F205", "{v}");
            assert_eq!(cf.sex(), Sex::Male);
            assert_eq!(cf.is_omocodic(), v != "RSSMRA45C12F205C");
        }
    }

    #[test]
    fn check_character_vectors() {
        assert_eq!(check_character("BNCSFN85T58G702"), Some('W'));
        assert_eq!(check_character("RCDLSN84S16D969"), Some('Z'));
        assert_eq!(check_character("rcdlsn84s16d969"), Some('Z'));
        assert_eq!(check_character("RCDLSN84S16D96"), None);
        assert_eq!(check_character("RCDLSN84S16D96-"), None);
    }

    #[test]
    fn reference_invalid_vectors() {
        let e = CodiceFiscale::parse("CSTNGL22I10D086I").unwrap_err();
        assert_eq!(e, CodiceFiscaleError::Month { found: 'I' });
        let e = CodiceFiscale::parse("FOXDRA26C24H872A").unwrap_err();
        assert_eq!(
            e,
            CodiceFiscaleError::Checksum {
                expected: 'Y',
                found: 'A'
            }
        );
        let e = CodiceFiscale::parse("CNTCHR83T32D969H").unwrap_err();
        assert_eq!(e, CodiceFiscaleError::Day { raw: 32 });
    }

    /// Builds a code with a correct check character from its first 15 characters.
    fn with_check(first15: &str) -> String {
        format!("{first15}{}", check_character(first15).unwrap())
    }

    #[test]
    fn impossible_dates_are_rejected() {
        // 30 February, 31 April, day 00, day 40, day 72, 29 February of a non-leap year.
        let cases = [
            ("RSSMRA45B30F205", "cf.date"),
            ("RSSMRA45D31F205", "cf.date"),
            ("RSSMRA45C00F205", "cf.day"),
            ("RSSMRA45C40F205", "cf.day"),
            ("RSSMRA45C72F205", "cf.day"),
            ("RSSMRA45C35F205", "cf.day"),
            ("RSSMRA45C99F205", "cf.day"),
            ("RSSMRA45B29F205", "cf.date"),
            ("RSSMRA45B69F205", "cf.date"),
        ];
        for (first15, want) in cases {
            let e = CodiceFiscale::parse(&with_check(first15)).unwrap_err();
            assert_eq!(code(&e), want, "{first15}");
        }
    }

    #[test]
    fn leap_days_and_century_resolution() {
        // 29 Feb 1984 / 2084: exists.
        let cf = CodiceFiscale::parse(&with_check("RSSMRA84B29F205")).unwrap();
        assert_eq!(cf.birth_date(today()), ymd(1984, 2, 29));
        // Year 00: 1900 is not leap but 2000 is, so 29 Feb "00" is a real date.
        let cf = CodiceFiscale::parse(&with_check("RSSMRA00B69F205")).unwrap();
        assert_eq!(cf.birth_date(today()), ymd(2000, 2, 29));
        assert_eq!(cf.sex(), Sex::Female);
        // A recent year resolves to this century.
        let cf = CodiceFiscale::parse(&with_check("RSSMRA20A01F205")).unwrap();
        assert_eq!(cf.birth_date(today()), ymd(2020, 1, 1));
        assert_eq!(cf.birth_date(ymd(2019, 1, 1)), ymd(1920, 1, 1));
    }

    #[test]
    fn input_is_normalised() {
        let cf = CodiceFiscale::parse("  rssmra 45c12 f205c\t").unwrap();
        assert_eq!(cf.as_str(), "RSSMRA45C12F205C");
        assert_eq!(cf.to_string(), "RSSMRA45C12F205C");
        let parsed: CodiceFiscale = "rssmra45c12f205c".parse().unwrap();
        assert_eq!(parsed, cf);
    }

    #[test]
    fn format_errors_name_the_position() {
        assert_eq!(
            CodiceFiscale::parse("   ").unwrap_err(),
            CodiceFiscaleError::Empty
        );
        assert_eq!(
            CodiceFiscale::parse("RSSMRA45C12F205").unwrap_err(),
            CodiceFiscaleError::Length { found: 15 }
        );
        assert_eq!(
            CodiceFiscale::parse("R5SMRA45C12F205C").unwrap_err(),
            CodiceFiscaleError::Format {
                position: 2,
                found: '5'
            }
        );
        // 'A' is not an omocodia letter.
        assert_eq!(
            CodiceFiscale::parse("RSSMRA4AC12F205C").unwrap_err(),
            CodiceFiscaleError::Format {
                position: 8,
                found: 'A'
            }
        );
        // Non-ASCII must not panic on byte indexing.
        assert_eq!(
            CodiceFiscale::parse("RSSMRÀ45C12F205C").unwrap_err(),
            CodiceFiscaleError::Format {
                position: 6,
                found: 'À'
            }
        );
        assert_eq!(
            code(&CodiceFiscale::parse("RSSMRA45C12F205CX").unwrap_err()),
            "cf.length"
        );
    }

    #[test]
    fn errors_are_localised() {
        let e = CodiceFiscale::parse("FOXDRA26C24H872A").unwrap_err();
        let l = e.to_localized();
        assert_eq!(l.code, "cf.checksum");
        assert!(l.message_it.contains("carattere di controllo"));
        assert!(l.message_en.contains("check character"));
        for e in [
            CodiceFiscaleError::Empty,
            CodiceFiscaleError::Length { found: 3 },
            CodiceFiscaleError::Format {
                position: 1,
                found: '1',
            },
            CodiceFiscaleError::Month { found: 'I' },
            CodiceFiscaleError::Day { raw: 32 },
            CodiceFiscaleError::Date {
                year: 45,
                month: 2,
                day: 30,
            },
        ] {
            let l = e.to_localized();
            assert!(l.code.starts_with("cf."));
            assert_ne!(l.message_it, l.message_en);
        }
    }

    #[test]
    fn serde_is_a_validated_string() {
        let cf = CodiceFiscale::parse("RSSMRA45C12F205C").unwrap();
        assert_eq!(serde_json::to_string(&cf).unwrap(), "\"RSSMRA45C12F205C\"");
        let back: CodiceFiscale = serde_json::from_str("\"rssmra45c12f205c\"").unwrap();
        assert_eq!(back, cf);
        assert!(serde_json::from_str::<CodiceFiscale>("\"RSSMRA45C12F205D\"").is_err());
        assert_eq!(serde_json::to_string(&Sex::Female).unwrap(), "\"female\"");
    }

    // ---- property tests ----

    /// A generated valid code: random letters, a real date, a place, an omocodia mask.
    pub(crate) fn valid_code() -> impl Strategy<Value = String> {
        (
            "[A-Z]{6}",
            0u32..100,
            0usize..12,
            1u32..=28,
            any::<bool>(),
            "[A-Z][0-9]{3}",
            0u8..128,
        )
            .prop_map(|(names, year, month, day, female, place, mask)| {
                let day = if female { day + 40 } else { day };
                let mut s: Vec<u8> = format!(
                    "{names}{year:02}{}{day:02}{place}",
                    char::from(MONTHS[month])
                )
                .into_bytes();
                // Omocodia: replace the digits selected by the mask with their letters.
                for (bit, &pos) in DIGIT_POSITIONS.iter().enumerate() {
                    if mask & (1 << bit) != 0 {
                        s[pos] = OMOCODE[usize::from(s[pos] - b'0')];
                    }
                }
                let first15 = String::from_utf8(s).unwrap();
                with_check(&first15)
            })
    }

    proptest! {
        #[test]
        fn every_generated_valid_code_passes(code in valid_code()) {
            let cf = CodiceFiscale::parse(&code);
            prop_assert!(cf.is_ok(), "{code}: {:?}", cf);
        }

        #[test]
        fn any_single_character_change_fails(
            code in valid_code(),
            pos in 0usize..16,
            shift in 1usize..36,
        ) {
            // A shift of 1..=35 within the 36 symbols always gives a different one: no rejects.
            const SYMBOLS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
            let mut chars: Vec<char> = code.chars().collect();
            let at = SYMBOLS.iter().position(|&c| char::from(c) == chars[pos]).unwrap();
            chars[pos] = char::from(SYMBOLS[(at + shift) % SYMBOLS.len()]);
            let changed: String = chars.into_iter().collect();
            prop_assert!(CodiceFiscale::parse(&changed).is_err(), "{code} -> {changed}");
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = CodiceFiscale::parse(&s);
        }
    }
}
