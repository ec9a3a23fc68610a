//! Errors of this crate: what goes wrong while signing ([`SignError`]) and why a `.p7m` is not
//! accepted ([`VerifyError`]).
//!
//! Each has a stable code (`sign.*` for signing, `p7m.*` for verification), an Italian message
//! for the holder or the provider's operator and an English one (also `Display`), and implements
//! [`pec_domain::DomainError`], so the app, the CLI and the sandbox carry them as
//! [`pec_domain::Localized`]. No variant carries a PIN, an OTP, a password or a SAD: the types
//! that hold those have no `Display` and redact their `Debug`.

use pec_domain::{DomainError, Lang};

/// Why a signature could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The signer's certificate does not parse or its key is not RSA.
    #[error("the signing certificate is not usable: {0}")]
    Certificate(String),
    /// The device returned a signature that does not verify with the certificate's key.
    #[error("the signature made by the device does not match its certificate")]
    SignatureMismatch,
    /// The device or token holds no certificate with nonRepudiation key usage.
    #[error("no signature certificate (key usage nonRepudiation) found on the device")]
    NoSigningCertificate,
    /// More than one signature certificate: the caller must pick one.
    #[error("{count} signature certificates found: choose one")]
    AmbiguousCertificate {
        /// How many there are.
        count: usize,
    },
    /// The PIN was wrong. `tries_left` when the device tells it; `final_try` when the next
    /// wrong PIN blocks it.
    #[error("wrong PIN{}", tries_suffix(*.tries_left, *.final_try))]
    WrongPin {
        /// Tries left, when known (smart cards: `63Cx`).
        tries_left: Option<u8>,
        /// The next wrong PIN blocks the device (PKCS#11 `CKF_USER_PIN_FINAL_TRY`).
        final_try: bool,
    },
    /// The PIN is blocked.
    #[error("the PIN is blocked")]
    PinBlocked,
    /// The PIN does not have the shape the device accepts; nothing was sent.
    #[error("the PIN does not have the required format")]
    InvalidPinFormat,
    /// A smart-card error (reader, card, status word), with its own code kept.
    #[error("card: {message_en}")]
    Card {
        /// The card layer's code (`card.*`).
        code: &'static str,
        /// Its Italian message.
        message_it: String,
        /// Its English message.
        message_en: String,
    },
    /// A PKCS#11 module failed (cannot be loaded, or returned an error code).
    #[error("PKCS#11: {0}")]
    Pkcs11(String),
    /// No PKCS#11 module found, or the path given is not one.
    #[error("no PKCS#11 module found{}", .0.as_ref().map(|p| format!(" at {p}")).unwrap_or_default())]
    ModuleNotFound(Option<String>),
    /// No token in the module's slots, or none with the requested label.
    #[error("no token found{}", .0.as_ref().map(|l| format!(" with label {l}")).unwrap_or_default())]
    TokenNotFound(Option<String>),
    /// The remote signature service refused or failed.
    #[error("remote signature service: {code}")]
    Remote {
        /// The CSC error code (`invalid_request`, `invalid_otp`, ...) or the HTTP status.
        code: String,
        /// The service's own description, when it sent one (never contains our secrets).
        description: Option<String>,
    },
    /// The remote service refused the credentials or the OTP.
    #[error("remote signature: credentials or OTP refused")]
    RemoteRefused,
    /// Too many wrong credentials or OTPs: the service refuses every attempt for a while.
    #[error("remote signature: too many failed attempts, try again in {} minutes", minutes(*.retry_after))]
    RemoteLocked {
        /// Seconds to wait, when the service says (`Retry-After`).
        retry_after: Option<u64>,
    },
    /// The remote service cannot be reached.
    #[error("remote signature service unreachable: {0}")]
    RemoteUnreachable(String),
    /// The remote service answered something this client cannot use.
    #[error("remote signature service: unexpected answer ({0})")]
    RemoteMalformed(String),
    /// Building the CMS structure failed (an encoding limit was hit).
    #[error("could not build the signature: {0}")]
    Encoding(String),
}

/// Whole minutes to wait, at least one; 15 (the usual first lock) when the service did not say.
fn minutes(retry_after: Option<u64>) -> u64 {
    retry_after.map_or(15, |s| s.div_ceil(60).max(1))
}

fn tries_suffix(tries_left: Option<u8>, final_try: bool) -> String {
    match (tries_left, final_try) {
        (Some(n), _) => format!(", {n} tries left"),
        (None, true) => ", last try before the PIN blocks".to_owned(),
        (None, false) => String::new(),
    }
}

impl DomainError for SignError {
    fn code(&self) -> &'static str {
        match self {
            SignError::Certificate(_) => "sign.certificate_unusable",
            SignError::SignatureMismatch => "sign.signature_mismatch",
            SignError::NoSigningCertificate => "sign.no_signing_certificate",
            SignError::AmbiguousCertificate { .. } => "sign.ambiguous_certificate",
            SignError::WrongPin { .. } => "sign.pin_wrong",
            SignError::PinBlocked => "sign.pin_blocked",
            SignError::InvalidPinFormat => "sign.pin_invalid_format",
            SignError::Card { code, .. } => code,
            SignError::Pkcs11(_) => "sign.pkcs11",
            SignError::ModuleNotFound(_) => "sign.module_not_found",
            SignError::TokenNotFound(_) => "sign.token_not_found",
            SignError::Remote { .. } => "sign.remote_error",
            SignError::RemoteRefused => "sign.remote_refused",
            SignError::RemoteLocked { .. } => "sign.remote_locked",
            SignError::RemoteUnreachable(_) => "sign.remote_unreachable",
            SignError::RemoteMalformed(_) => "sign.remote_malformed",
            SignError::Encoding(_) => "sign.encoding",
        }
    }

    fn message(&self, lang: Lang) -> String {
        match lang {
            Lang::En => self.to_string(),
            Lang::It => self.message_it(),
        }
    }
}

impl SignError {
    fn message_it(&self) -> String {
        match self {
            SignError::Certificate(_) => {
                "Il certificato di firma del dispositivo non è utilizzabile.".into()
            }
            SignError::SignatureMismatch => {
                "La firma prodotta dal dispositivo non corrisponde al suo certificato.".into()
            }
            SignError::NoSigningCertificate => "Sul dispositivo non c'è un certificato di firma \
                 digitale (uso della chiave «non ripudio»)."
                .into(),
            SignError::AmbiguousCertificate { count } => {
                format!("Sul dispositivo ci sono {count} certificati di firma: scegli quale usare.")
            }
            SignError::WrongPin {
                tries_left: Some(1),
                ..
            }
            | SignError::WrongPin {
                tries_left: None,
                final_try: true,
            } => "PIN errato. Attenzione: resta l'ultimo tentativo prima del blocco.".into(),
            SignError::WrongPin {
                tries_left: Some(n),
                ..
            } => format!("PIN errato. Restano {n} tentativi prima del blocco."),
            SignError::WrongPin { .. } => "PIN errato.".into(),
            SignError::PinBlocked => "Il PIN di firma è bloccato: per sbloccarlo serve il PUK \
                 (o l'assistenza di chi ha emesso il dispositivo)."
                .into(),
            SignError::InvalidPinFormat => {
                "Il PIN non ha il formato richiesto dal dispositivo: nessun tentativo è stato \
                 usato."
                    .into()
            }
            SignError::Card { message_it, .. } => message_it.clone(),
            SignError::Pkcs11(_) => {
                "Il modulo PKCS#11 del dispositivo ha restituito un errore.".into()
            }
            SignError::ModuleNotFound(Some(p)) => {
                format!("Il file {p} non è un modulo PKCS#11 utilizzabile.")
            }
            SignError::ModuleNotFound(None) => "Non è installato alcun modulo PKCS#11 noto: \
                 installa il software del dispositivo di firma o indica il file del modulo."
                .into(),
            SignError::TokenNotFound(Some(l)) => {
                format!("Nessun dispositivo di firma «{l}» collegato.")
            }
            SignError::TokenNotFound(None) => {
                "Nessun dispositivo di firma collegato: inserisci la carta o il token.".into()
            }
            SignError::Remote { code, .. } => {
                format!("Il servizio di firma remota ha rifiutato l'operazione ({code}).")
            }
            SignError::RemoteRefused => {
                "Credenziali o codice OTP della firma remota non validi.".into()
            }
            SignError::RemoteLocked { retry_after } => format!(
                "Troppi tentativi errati per questa firma remota: riprova tra {} minuti.",
                minutes(*retry_after)
            ),
            SignError::RemoteUnreachable(_) => {
                "Il servizio di firma remota non è raggiungibile: riprova più tardi.".into()
            }
            SignError::RemoteMalformed(_) => {
                "Il servizio di firma remota ha risposto in modo non valido.".into()
            }
            SignError::Encoding(_) => "Non è stato possibile comporre la firma.".into(),
        }
    }
}

/// Why a `.p7m` is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not a CMS SignedData, or not DER.
    #[error("not a CAdES signature (.p7m): {0}")]
    Malformed(String),
    /// No signer, or more than one (a form carries exactly one).
    #[error("the file has {0} signatures, exactly one is expected")]
    SignerCount(usize),
    /// The signed content is not inside the file.
    #[error("the signed document is not inside the file (detached signature)")]
    Detached,
    /// Signed attributes missing or without content-type / message-digest.
    #[error("the signature lacks a required signed attribute: {0}")]
    MissingAttribute(&'static str),
    /// An algorithm other than SHA-256 with RSA PKCS#1 v1.5.
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// The content does not match the message digest: it was altered after signing.
    #[error("the signed document was altered after signing")]
    ContentAltered,
    /// The content is intact but is not the document the verifier expected.
    #[error("the signed document is not the expected one")]
    ContentMismatch,
    /// The signer's certificate is not in the file.
    #[error("the signer's certificate is not in the file")]
    SignerCertificateMissing,
    /// The signature value does not verify with the signer's key.
    #[error("the signature does not verify with the signer's certificate")]
    SignatureInvalid,
    /// No signing-certificate-v2 attribute (CAdES-BES requires it).
    #[error("the signing-certificate-v2 attribute is missing")]
    SigningCertificateMissing,
    /// signing-certificate-v2 names another certificate.
    #[error("the signing-certificate-v2 attribute does not match the signer's certificate")]
    SigningCertificateMismatch,
    /// signing-time after the verification time.
    #[error("the signing time is in the future")]
    SigningTimeInFuture,
    /// A certificate of the chain was not yet valid at the time checked.
    #[error("the certificate {subject} was not yet valid")]
    CertificateNotYetValid {
        /// The certificate's subject.
        subject: String,
    },
    /// A certificate of the chain had expired at the time checked.
    #[error("the certificate {subject} has expired")]
    CertificateExpired {
        /// The certificate's subject.
        subject: String,
    },
    /// The chain does not end at a trusted CA.
    #[error("the certificate is not issued by a trusted certification authority")]
    Untrusted,
    /// A certificate of the chain has a bad signature or is not a CA where it must be.
    #[error("invalid certificate chain: {0}")]
    ChainInvalid(String),
    /// The certificate is not for signatures (no nonRepudiation): an authentication certificate.
    #[error("the certificate is not a signature certificate (no nonRepudiation key usage)")]
    NotSignatureCertificate,
    /// No QC statement of compliance and no qualified policy.
    #[error("the certificate is not qualified (no QC statements, no qualified policy)")]
    NotQualified,
    /// No codice fiscale in the subject's serialNumber.
    #[error("the certificate carries no Italian codice fiscale")]
    CodiceFiscaleMissing,
    /// The codice fiscale is not the declared person's.
    #[error("the certificate belongs to another person (codice fiscale {found})")]
    CodiceFiscaleMismatch {
        /// The codice fiscale in the certificate.
        found: String,
    },
}

impl DomainError for VerifyError {
    fn code(&self) -> &'static str {
        match self {
            VerifyError::Malformed(_) => "p7m.malformed",
            VerifyError::SignerCount(_) => "p7m.signer_count",
            VerifyError::Detached => "p7m.detached",
            VerifyError::MissingAttribute(_) => "p7m.attribute_missing",
            VerifyError::UnsupportedAlgorithm(_) => "p7m.unsupported_algorithm",
            VerifyError::ContentAltered => "p7m.content_altered",
            VerifyError::ContentMismatch => "p7m.content_mismatch",
            VerifyError::SignerCertificateMissing => "p7m.signer_certificate_missing",
            VerifyError::SignatureInvalid => "p7m.signature_invalid",
            VerifyError::SigningCertificateMissing => "p7m.signing_certificate_missing",
            VerifyError::SigningCertificateMismatch => "p7m.signing_certificate_mismatch",
            VerifyError::SigningTimeInFuture => "p7m.signing_time_future",
            VerifyError::CertificateNotYetValid { .. } => "p7m.certificate_not_yet_valid",
            VerifyError::CertificateExpired { .. } => "p7m.certificate_expired",
            VerifyError::Untrusted => "p7m.untrusted",
            VerifyError::ChainInvalid(_) => "p7m.chain_invalid",
            VerifyError::NotSignatureCertificate => "p7m.not_signature_certificate",
            VerifyError::NotQualified => "p7m.not_qualified",
            VerifyError::CodiceFiscaleMissing => "p7m.codice_fiscale_missing",
            VerifyError::CodiceFiscaleMismatch { .. } => "p7m.codice_fiscale_mismatch",
        }
    }

    fn message(&self, lang: Lang) -> String {
        match lang {
            Lang::En => self.to_string(),
            Lang::It => self.message_it(),
        }
    }
}

impl VerifyError {
    fn message_it(&self) -> String {
        match self {
            VerifyError::Malformed(_) => "Il file non è una firma CAdES (.p7m) valida.".into(),
            VerifyError::SignerCount(n) => {
                format!("Il file contiene {n} firme: ne è attesa esattamente una.")
            }
            VerifyError::Detached => {
                "Il documento firmato non è contenuto nel file (firma separata).".into()
            }
            VerifyError::MissingAttribute(what) => {
                format!("Alla firma manca un attributo firmato obbligatorio ({what}).")
            }
            VerifyError::UnsupportedAlgorithm(alg) => {
                format!("Algoritmo non supportato ({alg}): è richiesto SHA-256 con RSA.")
            }
            VerifyError::ContentAltered => {
                "Il documento è stato modificato dopo la firma: il contenuto non è integro.".into()
            }
            VerifyError::ContentMismatch => {
                "Il documento firmato non è quello atteso (il modulo emesso dal gestore).".into()
            }
            VerifyError::SignerCertificateMissing => {
                "Nel file manca il certificato del firmatario.".into()
            }
            VerifyError::SignatureInvalid => {
                "La firma non è valida per il certificato del firmatario.".into()
            }
            VerifyError::SigningCertificateMissing => {
                "Manca l'attributo signing-certificate-v2 richiesto da CAdES-BES.".into()
            }
            VerifyError::SigningCertificateMismatch => "L'attributo signing-certificate-v2 non \
                 corrisponde al certificato del firmatario."
                .into(),
            VerifyError::SigningTimeInFuture => "L'ora di firma dichiarata è nel futuro.".into(),
            VerifyError::CertificateNotYetValid { subject } => {
                format!("Il certificato «{subject}» non era ancora valido.")
            }
            VerifyError::CertificateExpired { subject } => {
                format!("Il certificato «{subject}» è scaduto.")
            }
            VerifyError::Untrusted => "Il certificato non è emesso da un'autorità di \
                 certificazione riconosciuta."
                .into(),
            VerifyError::ChainInvalid(_) => "La catena dei certificati non è valida.".into(),
            VerifyError::NotSignatureCertificate => "Il certificato non è di firma digitale \
                 (manca l'uso «non ripudio»): è un certificato di autenticazione."
                .into(),
            VerifyError::NotQualified => "Il certificato non è qualificato (mancano le \
                 dichiarazioni QC e una policy qualificata)."
                .into(),
            VerifyError::CodiceFiscaleMissing => {
                "Il certificato di firma non contiene il codice fiscale italiano.".into()
            }
            VerifyError::CodiceFiscaleMismatch { found } => format!(
                "Il certificato di firma appartiene a un'altra persona (codice fiscale {found})."
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_italian_messages() {
        let e = SignError::WrongPin {
            tries_left: None,
            final_try: true,
        };
        assert_eq!(e.code(), "sign.pin_wrong");
        assert!(
            e.message(Lang::It)
                .contains("ultimo tentativo prima del blocco")
        );
        let e = SignError::WrongPin {
            tries_left: Some(2),
            final_try: false,
        };
        assert!(
            e.message(Lang::It).contains("Restano 2"),
            "{}",
            e.message(Lang::It)
        );
        assert_eq!(e.to_string(), "wrong PIN, 2 tries left");
        let l = VerifyError::ContentAltered.to_localized();
        assert_eq!(l.code, "p7m.content_altered");
        assert!(l.message_it.contains("modificato"));
    }
}
