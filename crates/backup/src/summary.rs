//! What the index says about one message: sender, date, subject, and its PEC type.
//!
//! The PEC type comes from the headers the PEC system itself sets (DM 2 novembre 2005, "Regole
//! tecniche", allegato; the same rules in English are RFC 6109 §3):
//!
//! - receipts and notices carry `X-Ricevuta:` with one of `accettazione`, `non-accettazione`,
//!   `presa-in-carico`, `avvenuta-consegna`, `errore-consegna`, `preavviso-errore-consegna`,
//!   `rilevazione-virus` (RFC 6109 §3.1.2–3.1.3, §3.2, §3.3), and `X-Riferimento-Message-ID:`
//!   with the Message-ID of the message they are about;
//! - the envelopes that carry a message carry `X-Trasporto:`: `posta-certificata` for the
//!   transport envelope ("busta di trasporto", §3.1.4: an S/MIME `multipart/signed` whose
//!   content holds the text, the original message as `postacert.eml` and the certification
//!   data `daticert.xml`), `errore` for the anomaly envelope ("busta di anomalia", §3.2.2)
//!   around a message that failed the provider's checks;
//! - anything else is ordinary mail that reached the PEC mailbox.
//!
//! Header values are compared case-insensitively and trimmed; an unknown value of `X-Ricevuta`
//! or `X-Trasporto` is kept as `altro` rather than guessed.

use mail_parser::{HeaderValue, MessageParser};
use serde::{Deserialize, Serialize};

/// The PEC type of a message, as written in the index (kebab-case, the regulation's own words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum PecType {
    /// Ricevuta di accettazione: the sender's provider accepted the message.
    Accettazione,
    /// Avviso di non accettazione: the sender's provider refused it (formal errors, virus).
    NonAccettazione,
    /// Ricevuta di presa in carico: exchanged between providers.
    PresaInCarico,
    /// Ricevuta di avvenuta consegna: delivered to the recipient's mailbox.
    AvvenutaConsegna,
    /// Avviso di mancata consegna.
    ErroreConsegna,
    /// Avviso di mancata consegna per superamento dei tempi massimi (first 12 hours).
    PreavvisoErroreConsegna,
    /// Avviso di rilevazione virus informatici.
    RilevazioneVirus,
    /// Busta di trasporto: a certified message (the original inside, as `postacert.eml`).
    PostaCertificata,
    /// Busta di anomalia (`X-Trasporto: errore`).
    Errore,
    /// A PEC header with a value this version does not know.
    Altro,
    /// Ordinary mail, with no PEC header.
    Ordinaria,
}

impl PecType {
    /// The value as written in the index.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accettazione => "accettazione",
            Self::NonAccettazione => "non-accettazione",
            Self::PresaInCarico => "presa-in-carico",
            Self::AvvenutaConsegna => "avvenuta-consegna",
            Self::ErroreConsegna => "errore-consegna",
            Self::PreavvisoErroreConsegna => "preavviso-errore-consegna",
            Self::RilevazioneVirus => "rilevazione-virus",
            Self::PostaCertificata => "posta-certificata",
            Self::Errore => "errore",
            Self::Altro => "altro",
            Self::Ordinaria => "ordinaria",
        }
    }

    fn from_ricevuta(value: &str) -> Self {
        match value.to_ascii_lowercase().as_str() {
            "accettazione" => Self::Accettazione,
            "non-accettazione" => Self::NonAccettazione,
            "presa-in-carico" => Self::PresaInCarico,
            "avvenuta-consegna" => Self::AvvenutaConsegna,
            "errore-consegna" => Self::ErroreConsegna,
            "preavviso-errore-consegna" => Self::PreavvisoErroreConsegna,
            "rilevazione-virus" => Self::RilevazioneVirus,
            _ => Self::Altro,
        }
    }

    fn from_trasporto(value: &str) -> Self {
        match value.to_ascii_lowercase().as_str() {
            "posta-certificata" => Self::PostaCertificata,
            "errore" => Self::Errore,
            _ => Self::Altro,
        }
    }
}

/// The index fields read from one message's header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageSummary {
    /// `From:` as "Name <address>" or the bare address.
    pub from: Option<String>,
    /// `Date:` in RFC 3339 when it parses, else as written.
    pub date: Option<String>,
    /// `Subject:` with RFC 2047 encoded words decoded.
    pub subject: Option<String>,
    pub message_id: Option<String>,
    /// `X-Riferimento-Message-ID:`: on a receipt, the message it is about.
    pub riferimento_message_id: Option<String>,
    pub pec_type: Option<PecType>,
}

impl MessageSummary {
    /// Reads the header of a raw RFC 822 message. Never fails: a message whose header cannot
    /// be read is still saved, with empty fields and type `ordinaria`.
    pub fn parse(raw: &[u8]) -> Self {
        let Some(msg) = MessageParser::default().parse_headers(raw) else {
            return Self {
                pec_type: Some(PecType::Ordinaria),
                ..Self::default()
            };
        };
        let from = msg.from().and_then(|a| a.first()).map(|a| {
            match (a.name().map(str::trim), a.address()) {
                (Some(n), Some(addr)) if !n.is_empty() => format!("{n} <{addr}>"),
                (_, Some(addr)) => addr.to_owned(),
                (Some(n), None) => n.to_owned(),
                (None, None) => String::new(),
            }
        });
        let date = msg
            .date()
            .map(|d| d.to_rfc3339())
            .or_else(|| raw_text(&msg, "Date"));
        let ricevuta = raw_text(&msg, "X-Ricevuta");
        let trasporto = raw_text(&msg, "X-Trasporto");
        // A receipt never carries X-Trasporto and an envelope never X-Ricevuta; if a message
        // had both, the receipt header wins because it is the more specific statement.
        let pec_type = match (ricevuta, trasporto) {
            (Some(r), _) => PecType::from_ricevuta(&r),
            (None, Some(t)) => PecType::from_trasporto(&t),
            (None, None) => PecType::Ordinaria,
        };
        Self {
            from: from.filter(|s| !s.is_empty()),
            date,
            subject: msg.subject().map(|s| s.trim().to_owned()),
            message_id: msg.message_id().map(str::to_owned),
            riferimento_message_id: raw_text(&msg, "X-Riferimento-Message-ID")
                .map(|s| s.trim_matches(['<', '>']).to_owned()),
            pec_type: Some(pec_type),
        }
    }

    /// The PEC type, `ordinaria` when the header said nothing.
    pub fn pec_type(&self) -> PecType {
        self.pec_type.unwrap_or(PecType::Ordinaria)
    }
}

/// A header's value as text, unfolded and trimmed; the first occurrence, case-insensitive.
fn raw_text(msg: &mail_parser::Message<'_>, name: &str) -> Option<String> {
    let header = msg
        .root_part()
        .headers()
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))?;
    let text = match header.value() {
        HeaderValue::Text(t) => t.to_string(),
        HeaderValue::TextList(l) => l.join(", "),
        _ => {
            let start = usize::try_from(header.offset_start()).ok()?;
            let end = usize::try_from(header.offset_end()).ok()?;
            let bytes = msg.raw_message().get(start..end)?;
            String::from_utf8_lossy(bytes).into_owned()
        }
    };
    let unfolded: String = text
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!unfolded.is_empty()).then_some(unfolded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(headers: &str) -> Vec<u8> {
        format!("{headers}\r\n\r\nbody\r\n").into_bytes()
    }

    #[test]
    fn receipts_are_typed_by_x_ricevuta() {
        for (value, ty) in [
            ("accettazione", PecType::Accettazione),
            ("non-accettazione", PecType::NonAccettazione),
            ("presa-in-carico", PecType::PresaInCarico),
            ("avvenuta-consegna", PecType::AvvenutaConsegna),
            ("errore-consegna", PecType::ErroreConsegna),
            (
                "preavviso-errore-consegna",
                PecType::PreavvisoErroreConsegna,
            ),
            ("rilevazione-virus", PecType::RilevazioneVirus),
            ("Avvenuta-Consegna", PecType::AvvenutaConsegna),
            ("qualcosa-di-nuovo", PecType::Altro),
        ] {
            let raw = msg(&format!(
                "From: posta-certificata@pec.example.it\r\nX-Ricevuta: {value}\r\nX-Riferimento-Message-ID: <abc@example.it>"
            ));
            let s = MessageSummary::parse(&raw);
            assert_eq!(s.pec_type(), ty, "{value}");
            assert_eq!(s.riferimento_message_id.as_deref(), Some("abc@example.it"));
        }
    }

    #[test]
    fn envelopes_are_typed_by_x_trasporto() {
        let s = MessageSummary::parse(&msg("X-Trasporto: posta-certificata"));
        assert_eq!(s.pec_type(), PecType::PostaCertificata);
        let s = MessageSummary::parse(&msg("x-trasporto:   errore  "));
        assert_eq!(s.pec_type(), PecType::Errore);
        let s = MessageSummary::parse(&msg("Subject: hi"));
        assert_eq!(s.pec_type(), PecType::Ordinaria);
    }

    #[test]
    fn sender_date_subject_are_decoded() {
        let raw = msg(
            "From: \"Mario Rossi\" <mario.rossi@pec.example.it>\r\nDate: Tue, 1 Apr 2025 10:00:00 +0200\r\nSubject: =?UTF-8?B?UGVyY2jDqSDDqCB1cmdlbnRl?=\r\nMessage-ID: <m1@example.it>",
        );
        let s = MessageSummary::parse(&raw);
        assert_eq!(
            s.from.as_deref(),
            Some("Mario Rossi <mario.rossi@pec.example.it>")
        );
        assert_eq!(s.date.as_deref(), Some("2025-04-01T10:00:00+02:00"));
        assert_eq!(s.subject.as_deref(), Some("Perché è urgente"));
        assert_eq!(s.message_id.as_deref(), Some("m1@example.it"));
    }

    #[test]
    fn garbage_never_panics() {
        for raw in [
            &b""[..],
            b"\xff\xfe",
            b"X-Ricevuta",
            b"X-Ricevuta:\r\n\r\n",
            b"\r\n\r\n",
        ] {
            let _ = MessageSummary::parse(raw);
        }
    }

    #[test]
    fn index_names_are_the_regulation_words() {
        assert_eq!(
            serde_json::to_string(&PecType::PreavvisoErroreConsegna).unwrap_or_default(),
            "\"preavviso-errore-consegna\""
        );
        assert_eq!(PecType::PostaCertificata.as_str(), "posta-certificata");
    }
}
