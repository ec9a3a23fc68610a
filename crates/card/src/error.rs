//! Errors of the card layer.
//!
//! Every error has a stable machine code ([`CardError::code`]) that crosses the IPC boundary
//! and lands in logs and support tickets, an Italian message for the holder
//! ([`CardError::message_it`]) and an English one ([`CardError::message_en`], also `Display`).
//! Errors caused by a card answer keep its status word, because "6A82 on 3F00 1400 9001 2002"
//! is what lets a helpdesk tell an IDEMIA 2021 card from a broken one.
//!
//! No variant can carry a PIN: the PIN type has no `Display` and is never formatted into an
//! error.

use std::fmt;

/// Status word SW1SW2 answered by the card.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    /// Success.
    pub const OK: StatusWord = StatusWord(0x9000);

    /// SW1.
    pub fn sw1(self) -> u8 {
        self.0.to_be_bytes()[0]
    }

    /// SW2.
    pub fn sw2(self) -> u8 {
        self.0.to_be_bytes()[1]
    }

    /// What the ISO 7816-4 (and CNS) meaning of this status word is.
    pub fn kind(self) -> StatusKind {
        match (self.sw1(), self.sw2()) {
            (0x90, 0x00) => StatusKind::Ok,
            (0x62, 0x82) => StatusKind::EndOfFile,
            (0x62 | 0x63, _) if self.0 & 0xFFF0 == 0x63C0 => StatusKind::VerificationFailed,
            (0x62, _) | (0x63, _) => StatusKind::Warning,
            (0x64, _) | (0x65, _) => StatusKind::MemoryFailure,
            (0x67, 0x00) => StatusKind::WrongLength,
            (0x68, 0x82) => StatusKind::SecureMessagingUnsupported,
            (0x68, 0x83 | 0x84) => StatusKind::ChainingUnsupported,
            (0x68, _) => StatusKind::ClaFunctionUnsupported,
            (0x69, 0x82) => StatusKind::SecurityStatusNotSatisfied,
            (0x69, 0x83) => StatusKind::AuthenticationBlocked,
            (0x69, 0x84) => StatusKind::ReferenceDataUnusable,
            (0x69, 0x85) => StatusKind::ConditionsNotSatisfied,
            (0x69, 0x86) => StatusKind::CommandNotAllowed,
            (0x69, _) => StatusKind::CommandNotAllowed,
            (0x6A, 0x80) => StatusKind::WrongData,
            (0x6A, 0x81) => StatusKind::FunctionNotSupported,
            (0x6A, 0x82) => StatusKind::FileNotFound,
            (0x6A, 0x84) => StatusKind::NotEnoughMemory,
            (0x6A, 0x88) => StatusKind::ReferencedDataNotFound,
            (0x6A, _) | (0x6B, 0x00) => StatusKind::WrongParameters,
            (0x6D, 0x00) => StatusKind::InstructionNotSupported,
            (0x6E, 0x00) => StatusKind::ClassNotSupported,
            (0x6F, _) => StatusKind::CardFault,
            _ => StatusKind::Other,
        }
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

/// Meaning of a status word (ISO 7816-4 §5.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusKind {
    /// 9000.
    Ok,
    /// 6282: end of file before Le bytes.
    EndOfFile,
    /// 63Cx: verification failed, x tries left.
    VerificationFailed,
    /// Other 62xx/63xx warnings.
    Warning,
    /// 64xx/65xx.
    MemoryFailure,
    /// 6700.
    WrongLength,
    /// 6882.
    SecureMessagingUnsupported,
    /// 6883/6884.
    ChainingUnsupported,
    /// Other 68xx.
    ClaFunctionUnsupported,
    /// 6982: e.g. PIN not verified.
    SecurityStatusNotSatisfied,
    /// 6983: PIN (or PUK) blocked.
    AuthenticationBlocked,
    /// 6984.
    ReferenceDataUnusable,
    /// 6985.
    ConditionsNotSatisfied,
    /// 6986 and other 69xx.
    CommandNotAllowed,
    /// 6A80.
    WrongData,
    /// 6A81.
    FunctionNotSupported,
    /// 6A82.
    FileNotFound,
    /// 6A84.
    NotEnoughMemory,
    /// 6A88.
    ReferencedDataNotFound,
    /// Other 6Axx, 6B00.
    WrongParameters,
    /// 6D00.
    InstructionNotSupported,
    /// 6E00.
    ClassNotSupported,
    /// 6Fxx.
    CardFault,
    /// Anything else.
    Other,
}

/// An error of the card layer.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    /// The PC/SC service (pcscd, Windows Smart Card service) is not running or went away.
    #[error("the smart-card service (PC/SC) is not available")]
    ServiceUnavailable,
    /// No reader is connected.
    #[error("no smart-card reader connected")]
    NoReaders,
    /// The named reader does not exist (unplugged, or a typo).
    #[error("reader not found: {reader}")]
    ReaderNotFound {
        /// Reader name as requested.
        reader: String,
    },
    /// The reader disappeared or stopped answering during the operation.
    #[error("the reader is no longer available")]
    ReaderUnavailable,
    /// No card in the reader.
    #[error("no card in the reader")]
    NoCard,
    /// The card was removed (or reset by someone else) during the operation.
    #[error("the card was removed during the operation")]
    CardRemoved,
    /// The card does not answer (inserted the wrong way, dirty contacts, not a chip card).
    #[error("the card does not respond")]
    CardUnresponsive,
    /// Another application holds the card exclusively.
    #[error("the card is in use by another application")]
    CardBusy,
    /// The card is neither a CNS nor a CIE this crate can read (CardOS token, unknown), or a
    /// CIE was asked for and the card has no CIE application.
    #[error("unsupported card: {description} (ATR {atr})")]
    UnsupportedCard {
        /// What the ATR says the card is (Italian, from [`crate::CardProfile::describe`]).
        description: String,
        /// ATR in hex.
        atr: String,
    },
    /// The PIN does not have the shape the card requires (5 to 8 digits); nothing was sent.
    #[error("the PIN must be 5 to 8 digits")]
    InvalidPinFormat,
    /// The card rejected the PIN.
    #[error("wrong PIN, {tries_left} tries left")]
    WrongPin {
        /// Tries left before the PIN blocks.
        tries_left: u8,
    },
    /// The PIN is blocked: only the PUK can unblock it.
    #[error("the PIN is blocked")]
    PinBlocked,
    /// One PIN try is left and the holder has not confirmed this attempt: nothing was sent
    /// (see [`crate::guard::PinTries`]).
    #[error("last try: if the PIN is wrong the card blocks; confirm to go on")]
    PinLastTry,
    /// Another operation of this program is using the card in this reader (see
    /// [`crate::guard::ReaderLock`]); nothing was sent.
    #[error("another operation is using the card in this reader")]
    ReaderInUse,
    /// The card rejected the PUK.
    #[error("wrong PUK, {tries_left} tries left")]
    WrongPuk {
        /// Tries left before the PUK blocks.
        tries_left: u8,
    },
    /// The PUK is blocked too: the card must be replaced by its issuer.
    #[error("the PUK is blocked")]
    PukBlocked,
    /// The operation needs the PIN to be verified first.
    #[error("the PIN must be verified first")]
    PinRequired,
    /// A file the CNS specification requires is missing.
    #[error("file not found on the card: {path}")]
    FileNotFound {
        /// Path in hex (e.g. `3F00 1100 1101`).
        path: String,
    },
    /// The card holds no authentication certificate at any known path.
    #[error("no authentication certificate on the card")]
    CertificateMissing,
    /// Card content that does not parse (certificate, EF_DatiPersonali, response framing).
    #[error("malformed data from the card: {what}")]
    Malformed {
        /// What could not be parsed, and why.
        what: String,
    },
    /// The card answered a status word the operation cannot go on with.
    #[error("the card answered {sw} ({kind:?}) to {command}")]
    Status {
        /// The status word.
        sw: StatusWord,
        /// Its meaning.
        kind: StatusKind,
        /// Which command (name, not bytes).
        command: &'static str,
    },
    /// The signature returned by the card does not verify with the certificate's key.
    #[error("the card's signature does not verify with its certificate")]
    SignatureMismatch,
    /// The operation was cancelled (e.g. a watcher was stopped).
    #[error("cancelled")]
    Cancelled,
    /// Any other PC/SC failure, with the PC/SC error name.
    #[error("PC/SC error: {0}")]
    Pcsc(String),
    /// The CIE left the reader's field (or stopped answering) in the middle of a session.
    /// Nothing is re-sent: the next attempt, on the holder's request, opens a new secure
    /// channel. When the VERIFY had gone out without an answer, one PIN try may be spent.
    #[error(
        "keep the card on the reader: the CIE left the field during the operation{}",
        if *pin_try_may_be_used { "; the PIN had been sent, so one try may have been used" } else { "" }
    )]
    CieCardLost {
        /// A VERIFY was sent and its answer never came back.
        pin_try_may_be_used: bool,
    },
    /// The CIE PIN must be exactly 8 digits; nothing was sent.
    #[error("the CIE PIN must be exactly 8 digits")]
    InvalidCiePinFormat,
    /// An answer under secure messaging failed its checks (MAC, format, padding): the
    /// session is over.
    #[error("secure messaging with the card failed: {what}")]
    SecureMessaging {
        /// What was wrong.
        what: String,
    },
    /// The chip did not prove it holds the key of EF.IntAuth (DAPP chip authentication).
    #[error("the card's chip failed authentication")]
    ChipAuthenticationFailed,
}

impl CardError {
    /// Stable code for programs (IPC, logs, tests). Never changes once released.
    pub fn code(&self) -> &'static str {
        match self {
            CardError::ServiceUnavailable => "card.service_unavailable",
            CardError::NoReaders => "card.no_readers",
            CardError::ReaderNotFound { .. } => "card.reader_not_found",
            CardError::ReaderUnavailable => "card.reader_unavailable",
            CardError::NoCard => "card.no_card",
            CardError::CardRemoved => "card.removed",
            CardError::CardUnresponsive => "card.unresponsive",
            CardError::CardBusy => "card.busy",
            CardError::UnsupportedCard { .. } => "card.unsupported",
            CardError::InvalidPinFormat => "card.pin_invalid_format",
            CardError::WrongPin { .. } => "card.pin_wrong",
            CardError::PinBlocked => "card.pin_blocked",
            CardError::PinLastTry => "card.pin_last_try",
            CardError::ReaderInUse => "card.reader_in_use",
            CardError::WrongPuk { .. } => "card.puk_wrong",
            CardError::PukBlocked => "card.puk_blocked",
            CardError::PinRequired => "card.pin_required",
            CardError::FileNotFound { .. } => "card.file_not_found",
            CardError::CertificateMissing => "card.certificate_missing",
            CardError::Malformed { .. } => "card.malformed",
            CardError::Status { .. } => "card.status",
            CardError::SignatureMismatch => "card.signature_mismatch",
            CardError::Cancelled => "card.cancelled",
            CardError::Pcsc(_) => "card.pcsc",
            CardError::CieCardLost { .. } => "card.cie_lost",
            CardError::InvalidCiePinFormat => "card.cie_pin_invalid_format",
            CardError::SecureMessaging { .. } => "card.secure_messaging",
            CardError::ChipAuthenticationFailed => "card.cie_chip_authentication",
        }
    }

    /// The message for the holder, in Italian.
    pub fn message_it(&self) -> String {
        match self {
            CardError::ServiceUnavailable => {
                service_unavailable_message(Platform::CURRENT).0.into()
            }
            CardError::NoReaders => "Nessun lettore di smart card collegato.".into(),
            CardError::ReaderNotFound { reader } => {
                format!("Lettore «{reader}» non trovato: è collegato?")
            }
            CardError::ReaderUnavailable => {
                "Il lettore non risponde più: è stato scollegato? Ricollegalo e riprova.".into()
            }
            CardError::NoCard => "Nessuna carta nel lettore: inserisci la carta.".into(),
            CardError::CardRemoved => {
                "La carta è stata estratta durante l'operazione: reinseriscila e riprova.".into()
            }
            CardError::CardUnresponsive => "La carta non risponde: controlla che sia inserita \
                 nel verso giusto, con il chip verso i contatti."
                .into(),
            CardError::CardBusy => "La carta è in uso da un altro programma (ad esempio un \
                 software di firma): chiudilo e riprova."
                .into(),
            CardError::UnsupportedCard { description, atr } => format!(
                "La carta nel lettore ({description}) non è una CNS né una CIE utilizzabile da questa \
                 applicazione (ATR {atr})."
            ),
            CardError::InvalidPinFormat => "Il PIN deve essere composto da 5 a 8 cifre.".into(),
            CardError::WrongPin { tries_left: 1 } => {
                "PIN errato. Resta un solo tentativo prima del blocco.".into()
            }
            CardError::WrongPin { tries_left } => {
                format!("PIN errato. Restano {tries_left} tentativi prima del blocco.")
            }
            CardError::PinBlocked => "Il PIN è bloccato. Per sbloccarlo serve il PUK \
                 (nella busta ricevuta con la carta)."
                .into(),
            CardError::PinLastTry => "Ultimo tentativo: se il PIN è errato la carta si \
                 blocca. Controlla il PIN e conferma per continuare."
                .into(),
            CardError::ReaderInUse => "Un'altra operazione sta già usando la carta in questo \
                 lettore: attendi che finisca."
                .into(),
            CardError::WrongPuk { tries_left } => {
                format!("PUK errato. Tentativi rimasti: {tries_left}.")
            }
            CardError::PukBlocked => "Anche il PUK è bloccato: la carta va sostituita \
                 dall'ente che l'ha emessa."
                .into(),
            CardError::PinRequired => "Serve prima inserire il PIN.".into(),
            CardError::FileNotFound { path } => {
                format!("Sulla carta manca un file previsto ({path}).")
            }
            CardError::CertificateMissing => {
                "Sulla carta non c'è un certificato di autenticazione.".into()
            }
            CardError::Malformed { .. } => "La carta ha restituito dati non validi.".into(),
            CardError::Status { sw, command, .. } => {
                format!("La carta ha rifiutato l'operazione ({command}, codice {sw}).")
            }
            CardError::SignatureMismatch => "La firma prodotta dalla carta non corrisponde al \
                 suo certificato."
                .into(),
            CardError::Cancelled => "Operazione annullata.".into(),
            CardError::Pcsc(e) => format!("Errore del sistema smart card: {e}."),
            CardError::CieCardLost {
                pin_try_may_be_used: false,
            } => "Tieni la carta appoggiata al lettore: la CIE si è allontanata durante \
                 l'operazione. Appoggiala di nuovo, non muoverla, e riprova."
                .into(),
            CardError::CieCardLost {
                pin_try_may_be_used: true,
            } => "Tieni la carta appoggiata al lettore: la CIE si è allontanata subito dopo \
                 l'invio del PIN, quindi potrebbe essere stato usato un tentativo. Appoggiala \
                 di nuovo, non muoverla, e riprova."
                .into(),
            CardError::InvalidCiePinFormat => "Il PIN della CIE è di 8 cifre: le prime 4 sono \
                 nella ricevuta della richiesta della carta, le ultime 4 nella lettera che \
                 accompagna la carta."
                .into(),
            CardError::SecureMessaging { .. } => "La comunicazione protetta con la CIE non è \
                 riuscita. Appoggia di nuovo la carta e riprova."
                .into(),
            CardError::ChipAuthenticationFailed => "Il chip della carta non ha superato il \
                 controllo di autenticità: la carta potrebbe non essere una CIE originale."
                .into(),
        }
    }

    /// The message in English (same as `Display`).
    pub fn message_en(&self) -> String {
        match self {
            CardError::ServiceUnavailable => {
                service_unavailable_message(Platform::CURRENT).1.into()
            }
            _ => self.to_string(),
        }
    }

    /// The status word behind this error, when a card answer caused it.
    pub fn status_word(&self) -> Option<StatusWord> {
        match self {
            CardError::Status { sw, .. } => Some(*sw),
            CardError::WrongPin { tries_left } => Some(StatusWord(0x63C0 | u16::from(*tries_left))),
            CardError::WrongPuk { tries_left } => {
                Some(StatusWord(0x63C0 | u16::from((*tries_left).min(15))))
            }
            CardError::PinBlocked | CardError::PukBlocked => Some(StatusWord(0x6983)),
            _ => None,
        }
    }

    /// Maps a status word that ends an operation to the error for it.
    pub(crate) fn from_status(sw: StatusWord, command: &'static str) -> CardError {
        CardError::Status {
            sw,
            kind: sw.kind(),
            command,
        }
    }
}

/// The shape every crate's errors share at the app's boundary (`{code, message_it, message_en}`).
impl pec_domain::DomainError for CardError {
    fn code(&self) -> &'static str {
        CardError::code(self)
    }

    fn message(&self, lang: pec_domain::Lang) -> String {
        match lang {
            pec_domain::Lang::It => self.message_it(),
            pec_domain::Lang::En => self.message_en(),
        }
    }
}

/// Serialised as `{code, message, message_en, sw?}` for the UI and `--json` output.
impl serde::Serialize for CardError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let sw = self.status_word();
        let mut st = s.serialize_struct("CardError", if sw.is_some() { 4 } else { 3 })?;
        st.serialize_field("code", self.code())?;
        st.serialize_field("message", &self.message_it())?;
        st.serialize_field("message_en", &self.message_en())?;
        if let Some(sw) = sw {
            st.serialize_field("sw", &sw.to_string())?;
        }
        st.end()
    }
}

impl From<pcsc::Error> for CardError {
    fn from(e: pcsc::Error) -> CardError {
        use pcsc::Error as E;
        match e {
            E::NoService | E::ServiceStopped | E::Shutdown | E::CommDataLost => {
                CardError::ServiceUnavailable
            }
            E::NoReadersAvailable => CardError::NoReaders,
            E::UnknownReader => CardError::ReaderNotFound {
                reader: String::new(),
            },
            E::ReaderUnavailable | E::CommError | E::ReaderUnsupported => {
                CardError::ReaderUnavailable
            }
            E::NoSmartcard => CardError::NoCard,
            E::RemovedCard | E::ResetCard | E::InvalidHandle => CardError::CardRemoved,
            E::UnresponsiveCard | E::UnpoweredCard | E::UnsupportedCard => {
                CardError::CardUnresponsive
            }
            E::SharingViolation => CardError::CardBusy,
            E::Cancelled => CardError::Cancelled,
            other => CardError::Pcsc(format!("{other:?}")),
        }
    }
}

/// The operating system whose advice the messages give.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// Linux and the other Unix systems with pcscd.
    Linux,
    /// Windows.
    Windows,
    /// macOS.
    MacOs,
}

impl Platform {
    /// The platform this build runs on.
    pub const CURRENT: Platform = if cfg!(windows) {
        Platform::Windows
    } else if cfg!(target_os = "macos") {
        Platform::MacOs
    } else {
        Platform::Linux
    };
}

/// What to tell the holder (Italian, English) when the PC/SC service cannot be reached.
///
/// On Windows 8 and later the Smart Card service starts when a reader is plugged in and stops
/// when the last one is removed, so "no service" almost always means "no reader": the holder
/// is told to plug it in, never to open the services panel. On macOS the service is part of
/// the system and wakes with a reader too. Only on Linux is pcscd a service one may have to
/// start.
pub fn service_unavailable_message(platform: Platform) -> (&'static str, &'static str) {
    match platform {
        Platform::Windows => (
            "Nessun lettore di smart card trovato: collega il lettore al computer (porta USB), \
             attendi qualche secondo e riprova.",
            "No smart-card reader found: plug the reader into the computer (USB port), wait a \
             few seconds and try again.",
        ),
        Platform::MacOs => (
            "Nessun lettore di smart card trovato: collega il lettore al Mac, attendi qualche \
             secondo e riprova. Se è già collegato, scollegalo e ricollegalo.",
            "No smart-card reader found: plug the reader into the Mac, wait a few seconds and \
             try again. If it is already plugged in, unplug it and plug it back in.",
        ),
        Platform::Linux => (
            "Il servizio per le smart card (pcscd) non è attivo: avvialo (sudo systemctl start \
             pcscd.socket) e riprova.",
            "The smart-card service (pcscd) is not running: start it (sudo systemctl start \
             pcscd.socket) and try again.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_no_service_advice_fits_the_platform() {
        let (it, en) = service_unavailable_message(Platform::Windows);
        assert!(it.contains("collega il lettore") && en.contains("plug the reader"));
        for text in [it, en] {
            let lower = text.to_lowercase();
            for word in ["servizi", "service", "pcscd", "services.msc"] {
                assert!(!lower.contains(word), "{word} in {text}");
            }
        }
        let (it, en) = service_unavailable_message(Platform::MacOs);
        assert!(it.contains("collega il lettore") && en.contains("plug the reader"));
        assert!(!it.contains("pcscd") && !en.contains("pcscd"));
        let (it, en) = service_unavailable_message(Platform::Linux);
        assert!(it.contains("pcscd") && en.contains("pcscd"));
        assert!(!it.contains("Windows") && !en.contains("Windows"));
        // The error itself speaks for the platform it runs on.
        let e = CardError::ServiceUnavailable;
        assert_eq!(
            (e.message_it().as_str(), e.message_en().as_str()),
            service_unavailable_message(Platform::CURRENT)
        );
        assert_eq!(e.code(), "card.service_unavailable");
    }

    #[test]
    fn kinds_of_common_status_words() {
        assert_eq!(StatusWord(0x9000).kind(), StatusKind::Ok);
        assert_eq!(StatusWord(0x63C2).kind(), StatusKind::VerificationFailed);
        assert_eq!(StatusWord(0x6983).kind(), StatusKind::AuthenticationBlocked);
        assert_eq!(StatusWord(0x6A82).kind(), StatusKind::FileNotFound);
        assert_eq!(StatusWord(0x6B00).kind(), StatusKind::WrongParameters);
        assert_eq!(StatusWord(0x1234).kind(), StatusKind::Other);
    }

    #[test]
    fn serialises_code_and_italian_message() {
        let e = CardError::WrongPin { tries_left: 2 };
        let v = serde_json::to_value(&e).expect("json");
        assert_eq!(v["code"], "card.pin_wrong");
        assert_eq!(v["sw"], "63C2");
        assert!(v["message"].as_str().expect("str").contains("Restano 2"));
    }
}
