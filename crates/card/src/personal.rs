//! EF_DatiPersonali (3F00 1100 1102): the holder's personal data as the card stores it.
//!
//! Format (OpenSC `pkcs15-itacns.c`): six ASCII-hex characters with the length of what follows,
//! then fields each made of two ASCII-hex length characters and the value. Cards may stop
//! after any field; missing trailing fields are empty. The parser is strict about framing and
//! lenient about content, and never panics: the bytes come from the card.

use crate::error::CardError;

/// Largest EF_DatiPersonali accepted (OpenSC caps it at 400 bytes too).
const MAX_LEN: usize = 400;

/// The holder's data from EF_DatiPersonali.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PersonalData {
    /// Issuing authority code.
    pub issuer_code: String,
    /// Issuing date (ddmmyyyy).
    pub issuing_date: String,
    /// Expiry date (ddmmyyyy).
    pub expiry_date: String,
    /// Surname.
    pub surname: String,
    /// Given name(s).
    pub given_name: String,
    /// Birth date (ddmmyyyy).
    pub birth_date: String,
    /// Sex.
    pub sex: String,
    /// Height.
    pub height: String,
    /// Codice fiscale.
    pub codice_fiscale: String,
    /// Citizenship code.
    pub citizenship: String,
    /// Birth town (cadastral code).
    pub birth_town_code: String,
    /// Birth country (if abroad).
    pub birth_country: String,
    /// Birth certificate reference.
    pub birth_certificate: String,
    /// Residence town (cadastral code).
    pub residence_town_code: String,
    /// Residence address.
    pub residence_address: String,
    /// Notes for citizens living abroad.
    pub expat_notes: String,
}

impl PersonalData {
    /// Parses the file content (trailing padding after the declared length is ignored).
    pub fn parse(raw: &[u8]) -> Result<PersonalData, CardError> {
        let bad = |what: &str| CardError::Malformed {
            what: format!("EF_DatiPersonali: {what}"),
        };
        let total = hex_len(raw.get(..6).ok_or_else(|| bad("shorter than its header"))?)
            .ok_or_else(|| bad("header is not hex"))?;
        if total > MAX_LEN {
            return Err(bad("declared length too large"));
        }
        let body = raw
            .get(6..6 + total)
            .ok_or_else(|| bad("shorter than its declared length"))?;
        let mut fields: Vec<String> = Vec::with_capacity(16);
        let mut i = 0;
        while i < body.len() && fields.len() < 16 {
            let len = body
                .get(i..i + 2)
                .and_then(hex_len)
                .ok_or_else(|| bad("field length is not hex"))?;
            let value = body
                .get(i + 2..i + 2 + len)
                .ok_or_else(|| bad("field runs past the end"))?;
            fields.push(latin1(value));
            i += 2 + len;
        }
        fields.resize(16, String::new());
        let mut f = fields.into_iter();
        let mut next = || f.next().unwrap_or_default();
        Ok(PersonalData {
            issuer_code: next(),
            issuing_date: next(),
            expiry_date: next(),
            surname: next(),
            given_name: next(),
            birth_date: next(),
            sex: next(),
            height: next(),
            codice_fiscale: next(),
            citizenship: next(),
            birth_town_code: next(),
            birth_country: next(),
            birth_certificate: next(),
            residence_town_code: next(),
            residence_address: next(),
            expat_notes: next(),
        })
    }
}

fn hex_len(b: &[u8]) -> Option<usize> {
    let s = std::str::from_utf8(b).ok()?;
    usize::from_str_radix(s, 16).ok()
}

/// Cards predate UTF-8; Latin-1 maps every byte to a char, so nothing is lost or rejected.
fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| char::from(c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_in_order() {
        let fields = [
            "01",
            "01012024",
            "01012030",
            "ROSSI",
            "MARIO",
            "01011980",
            "M",
            "",
            "RSSMRA80A01H501U",
        ];
        let body: String = fields
            .iter()
            .map(|f| format!("{:02X}{f}", f.len()))
            .collect();
        let raw = format!("{:06X}{body}", body.len());
        let p = PersonalData::parse(raw.as_bytes()).expect("parse");
        assert_eq!(p.issuer_code, "01");
        assert_eq!(p.issuing_date, "01012024");
        assert_eq!(p.surname, "ROSSI");
        assert_eq!(p.given_name, "MARIO");
        assert_eq!(p.sex, "M");
        assert_eq!(p.codice_fiscale, "RSSMRA80A01H501U");
        assert_eq!(p.residence_address, "");
    }

    #[test]
    fn rejects_broken_framing() {
        assert!(PersonalData::parse(b"").is_err());
        assert!(PersonalData::parse(b"00000Z").is_err());
        assert!(PersonalData::parse(b"000010").is_err());
        assert!(PersonalData::parse(b"00000405AB").is_err());
        assert!(PersonalData::parse(b"000FFF").is_err());
        assert_eq!(
            PersonalData::parse(b"000000").expect("empty"),
            PersonalData::default()
        );
    }
}
