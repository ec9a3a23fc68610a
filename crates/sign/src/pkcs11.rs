//! Signature tokens through their vendor's PKCS#11 module (`cryptoki`).
//!
//! On modern Italian signature devices the qualified key lives in a vendor applet that only the
//! vendor's module reaches (Bit4id, IDEMIA/Oberthur, Actalis/CardOS tokens); OpenSC's module
//! covers what OpenSC knows. This module:
//!
//! - finds installed modules in their usual places ([`installed_modules`], table
//!   [`KNOWN_MODULES`] with where each path comes from), or takes the file the user picks
//!   ([`Pkcs11Module::load`]);
//! - lists the tokens and their signature certificates, picked by key usage nonRepudiation
//!   ([`Pkcs11Module::signing_certificates`]); the choice is automatic when exactly one exists
//!   ([`Pkcs11Module::signer`]);
//! - signs with one `C_Login` per signature: the PIN given to [`Pkcs11Signer`] is consumed by
//!   its first signature, and no code path calls `C_Login` a second time by itself;
//! - turns `CKR_PIN_INCORRECT`, `CKR_PIN_LOCKED` and the token flags `CKF_USER_PIN_COUNT_LOW`,
//!   `CKF_USER_PIN_FINAL_TRY`, `CKF_USER_PIN_LOCKED` into [`SignError`]s with clear Italian text
//!   ("ultimo tentativo prima del blocco"); [`TokenSummary::pin_warning`] says the same before
//!   the PIN is asked for.
//!
//! The mechanism is `CKM_SHA256_RSA_PKCS` over the DER of the signed attributes when the token
//! offers it, otherwise `CKM_RSA_PKCS` over the DigestInfo (both give the same signature).

use std::path::{Path, PathBuf};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, CertificateType, ObjectClass};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::{Slot, TokenInfo};
use cryptoki::types::AuthPin;
use der::Decode;
use x509_cert::Certificate;
use x509_cert::ext::pkix::KeyUsage;
use zeroize::Zeroizing;

use crate::cades::ToBeSigned;
use crate::error::SignError;
use crate::signer::{Signer, SignerCertificate};

/// Where vendors install their modules, per OS: (vendor, path). The paths come from the
/// vendors' packages and from the configuration lists of signing applications that load them:
///
/// - OpenSC: Debian/Ubuntu `opensc-pkcs11` (`dpkg -L`: `/usr/lib/<triplet>/opensc-pkcs11.so` and
///   the `pkcs11/` subdirectory), Fedora/RHEL (`/usr/lib64/pkcs11/`), the macOS installer
///   (`/Library/OpenSC/lib`), the Windows MSI (`System32`).
/// - Bit4id Universal Middleware (Aruba Key, InfoCert/Dike, InfoCamere tokens): `libbit4xpki`
///   (and the older `libbit4ipki`) in `/usr/lib` or `/usr/lib/bit4id`, `/Library/bit4id/pkcs11`
///   on macOS, `bit4xpki.dll` in `System32`.
/// - IDEMIA/Oberthur AWP middleware: `libOcsCryptoki` under `/usr/local/AWP/lib`, and
///   `OcsCryptoki.dll` on Windows.
/// - Actalis and other CardOS tokens, Atos CardOS API: `libcardos11` (`/usr/lib`,
///   `/usr/local/lib` on macOS, `cardos11.dll`).
/// - Athena IDProtect (some CNS lots): `libASEP11` in `/usr/lib` and `/usr/lib/x64-athena`.
#[cfg(target_os = "linux")]
pub const KNOWN_MODULES: &[(&str, &str)] = &[
    ("Bit4id", "/usr/lib/libbit4xpki.so"),
    ("Bit4id", "/usr/lib/bit4id/libbit4xpki.so"),
    ("Bit4id", "/usr/lib/libbit4ipki.so"),
    ("IDEMIA/Oberthur", "/usr/local/AWP/lib/libOcsCryptoki.so"),
    ("Actalis/CardOS", "/usr/lib/libcardos11.so"),
    ("Actalis/CardOS", "/usr/local/lib/libcardos11.so"),
    ("Athena", "/usr/lib/libASEP11.so"),
    ("Athena", "/usr/lib/x64-athena/libASEP11.so"),
    ("OpenSC", "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"),
    ("OpenSC", "/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so"),
    ("OpenSC", "/usr/lib64/pkcs11/opensc-pkcs11.so"),
    ("OpenSC", "/usr/lib/pkcs11/opensc-pkcs11.so"),
    ("OpenSC", "/usr/lib/opensc-pkcs11.so"),
];
/// See the Linux table.
#[cfg(target_os = "macos")]
pub const KNOWN_MODULES: &[(&str, &str)] = &[
    ("Bit4id", "/Library/bit4id/pkcs11/libbit4xpki.dylib"),
    ("Bit4id", "/usr/local/lib/libbit4xpki.dylib"),
    (
        "IDEMIA/Oberthur",
        "/Library/Frameworks/AWP/lib/libOcsCryptoki.dylib",
    ),
    ("Actalis/CardOS", "/usr/local/lib/libcardos11.dylib"),
    ("Athena", "/usr/local/lib/libASEP11.dylib"),
    ("OpenSC", "/Library/OpenSC/lib/opensc-pkcs11.so"),
    ("OpenSC", "/usr/local/lib/opensc-pkcs11.so"),
];
/// See the Linux table.
#[cfg(target_os = "windows")]
pub const KNOWN_MODULES: &[(&str, &str)] = &[
    ("Bit4id", r"C:\Windows\System32\bit4xpki.dll"),
    ("IDEMIA/Oberthur", r"C:\Windows\System32\OcsCryptoki.dll"),
    ("Actalis/CardOS", r"C:\Windows\System32\cardos11.dll"),
    ("Athena", r"C:\Windows\System32\asepkcs.dll"),
    ("OpenSC", r"C:\Windows\System32\opensc-pkcs11.dll"),
    (
        "OpenSC",
        r"C:\Program Files\OpenSC Project\OpenSC\pkcs11\opensc-pkcs11.dll",
    ),
];
/// No known locations on other systems: the user points to the file.
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
pub const KNOWN_MODULES: &[(&str, &str)] = &[];

/// A module found on this computer.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ModuleCandidate {
    /// Vendor, for display.
    pub vendor: &'static str,
    /// The file.
    pub path: PathBuf,
}

/// The modules of [`KNOWN_MODULES`] that exist here, vendors' modules first (they reach the
/// vendor applets), the same file only once.
pub fn installed_modules() -> Vec<ModuleCandidate> {
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut out = Vec::new();
    for (vendor, path) in KNOWN_MODULES {
        let p = Path::new(path);
        if !p.is_file() {
            continue;
        }
        let canonical = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        if seen.contains(&canonical) {
            continue;
        }
        seen.push(canonical);
        out.push(ModuleCandidate {
            vendor,
            path: p.to_path_buf(),
        });
    }
    out
}

/// A token PIN: whatever the token accepts (length checked against the token's limits before
/// `C_Login`), zeroized, never printed.
pub struct TokenPin(Zeroizing<String>);

impl TokenPin {
    /// Takes the PIN (a trailing newline from a terminal or a pipe is not part of it).
    pub fn new(pin: String) -> Result<TokenPin, SignError> {
        let mut pin = Zeroizing::new(pin);
        let len = pin.trim_end_matches(['\r', '\n']).len();
        pin.truncate(len);
        if pin.is_empty() || pin.len() > 256 {
            return Err(SignError::InvalidPinFormat);
        }
        Ok(TokenPin(pin))
    }
}

impl std::fmt::Debug for TokenPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenPin(***)")
    }
}

/// A token in one of the module's slots.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TokenSummary {
    /// The slot id (module-specific).
    pub slot: u64,
    /// Token label, trimmed.
    pub label: String,
    /// Manufacturer, trimmed.
    pub manufacturer: String,
    /// Serial number, trimmed.
    pub serial: String,
    /// `CKF_USER_PIN_COUNT_LOW`: a wrong PIN was entered since the last good one.
    pub pin_count_low: bool,
    /// `CKF_USER_PIN_FINAL_TRY`: the next wrong PIN blocks it.
    pub pin_final_try: bool,
    /// `CKF_USER_PIN_LOCKED`.
    pub pin_locked: bool,
}

impl TokenSummary {
    /// What the token's PIN flags mean for the holder, before they type the PIN: `None` when
    /// nothing is to be said.
    pub fn pin_warning(&self) -> Option<pec_domain::Localized> {
        let (code, it, en) = if self.pin_final_try {
            (
                "sign.pin_final_try",
                "Attenzione: è l'ultimo tentativo prima del blocco del PIN.",
                "Careful: this is the last try before the PIN blocks.",
            )
        } else if self.pin_count_low {
            (
                "sign.pin_count_low",
                "Attenzione: un PIN errato è già stato inserito; pochi tentativi restano prima \
                 del blocco.",
                "Careful: a wrong PIN was already entered; few tries are left before it blocks.",
            )
        } else if self.pin_locked {
            (
                "sign.pin_maybe_locked",
                "Il dispositivo indica il PIN come bloccato (alcuni moduli lo indicano anche \
                 quando non lo è): se la firma non riesce, serve il PUK.",
                "The device reports the PIN as locked (some modules report it even when it is \
                 not): if signing fails, the PUK is needed.",
            )
        } else {
            return None;
        };
        Some(pec_domain::Localized {
            code: code.to_owned(),
            message_it: it.to_owned(),
            message_en: en.to_owned(),
        })
    }
}

/// A signature certificate on a token.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TokenCertificate {
    /// The token.
    pub token: TokenSummary,
    /// `CKA_ID`, hex (also the private key's).
    pub id: String,
    /// `CKA_LABEL`.
    pub label: String,
    /// Subject, RFC 4514.
    pub subject: String,
    /// DER.
    #[serde(skip)]
    pub der: Vec<u8>,
    #[serde(skip)]
    id_raw: Vec<u8>,
}

/// Which token and certificate to use; `None` fields mean "the only one there is".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Token label.
    pub token_label: Option<String>,
    /// Certificate `CKA_ID`, as bytes.
    pub cert_id: Option<Vec<u8>>,
}

/// A loaded and initialised module.
pub struct Pkcs11Module {
    ctx: Pkcs11,
    path: PathBuf,
}

impl std::fmt::Debug for Pkcs11Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Module")
            .field("path", &self.path)
            .finish()
    }
}

impl Pkcs11Module {
    /// Loads the module at `path` and calls `C_Initialize` (OS locking).
    pub fn load(path: &Path) -> Result<Pkcs11Module, SignError> {
        let shown = || Some(path.display().to_string());
        if !path.is_file() {
            return Err(SignError::ModuleNotFound(shown()));
        }
        let ctx = Pkcs11::new(path).map_err(|_| SignError::ModuleNotFound(shown()))?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(ck(e)),
        }
        Ok(Pkcs11Module {
            ctx,
            path: path.to_path_buf(),
        })
    }

    /// The module's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Initialised tokens present in the module's slots (SoftHSM2 and some vendor modules
    /// also show an empty, uninitialised token, which cannot even open a session).
    pub fn tokens(&self) -> Result<Vec<TokenSummary>, SignError> {
        let mut out = Vec::new();
        for slot in self.ctx.get_slots_with_token().map_err(ck)? {
            let info = self.ctx.get_token_info(slot).map_err(ck)?;
            if info.token_initialized() {
                out.push(summary(slot, &info));
            }
        }
        Ok(out)
    }

    /// Certificates with key usage nonRepudiation on every token (or the one labelled
    /// `token_label`), read without logging in.
    pub fn signing_certificates(
        &self,
        token_label: Option<&str>,
    ) -> Result<Vec<TokenCertificate>, SignError> {
        let tokens = self.tokens()?;
        let tokens: Vec<_> = tokens
            .into_iter()
            .filter(|t| token_label.is_none_or(|l| t.label == l.trim()))
            .collect();
        if tokens.is_empty() {
            return Err(SignError::TokenNotFound(token_label.map(str::to_owned)));
        }
        let mut out = Vec::new();
        for token in tokens {
            let session = self
                .ctx
                .open_ro_session(slot_of(&self.ctx, token.slot)?)
                .map_err(ck)?;
            let handles = session
                .find_objects(&[
                    Attribute::Class(ObjectClass::CERTIFICATE),
                    Attribute::CertificateType(CertificateType::X_509),
                ])
                .map_err(ck)?;
            for h in handles {
                let attrs = session
                    .get_attributes(
                        h,
                        &[
                            AttributeType::Value,
                            AttributeType::Id,
                            AttributeType::Label,
                        ],
                    )
                    .map_err(ck)?;
                let (mut der, mut id, mut label) = (Vec::new(), Vec::new(), String::new());
                for a in attrs {
                    match a {
                        Attribute::Value(v) => der = v,
                        Attribute::Id(v) => id = v,
                        Attribute::Label(v) => label = String::from_utf8_lossy(&v).into_owned(),
                        _ => {}
                    }
                }
                let Ok(cert) = Certificate::from_der(&der) else {
                    continue;
                };
                let non_repudiation = matches!(
                    cert.tbs_certificate.get::<KeyUsage>(),
                    Ok(Some((_, ku))) if ku.non_repudiation()
                );
                if non_repudiation {
                    out.push(TokenCertificate {
                        token: token.clone(),
                        id: hex(&id),
                        label,
                        subject: cert.tbs_certificate.subject.to_string(),
                        der,
                        id_raw: id,
                    });
                }
            }
        }
        Ok(out)
    }

    /// The one signature certificate `selection` designates (by itself when there is exactly
    /// one), read without logging in: the caller can show it, and the token's PIN warning,
    /// before asking for the PIN.
    pub fn select(&self, selection: &Selection) -> Result<TokenCertificate, SignError> {
        let certs: Vec<_> = self
            .signing_certificates(selection.token_label.as_deref())?
            .into_iter()
            .filter(|c| selection.cert_id.as_ref().is_none_or(|id| *id == c.id_raw))
            .collect();
        match certs.len() {
            0 => Err(SignError::NoSigningCertificate),
            1 => certs
                .into_iter()
                .next()
                .ok_or(SignError::NoSigningCertificate),
            count => Err(SignError::AmbiguousCertificate { count }),
        }
    }

    /// The signer for `selection` ([`Pkcs11Module::select`]); `pin` will be presented once, at
    /// the signature.
    pub fn signer(&self, selection: &Selection, pin: TokenPin) -> Result<Pkcs11Signer, SignError> {
        Ok(self.signer_for(self.select(selection)?, pin))
    }

    /// The signer for a certificate [`Pkcs11Module::select`] returned.
    pub fn signer_for(&self, cert: TokenCertificate, pin: TokenPin) -> Pkcs11Signer {
        Pkcs11Signer {
            ctx: self.ctx.clone(),
            cert,
            pin: Some(pin),
            logins: 0,
        }
    }
}

/// Signs with a token's key; see the module documentation for the PIN rules.
pub struct Pkcs11Signer {
    ctx: Pkcs11,
    cert: TokenCertificate,
    pin: Option<TokenPin>,
    logins: usize,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("token", &self.cert.token.label)
            .field("cert_id", &self.cert.id)
            .field("pin", &self.pin.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Pkcs11Signer {
    /// The certificate this signer uses.
    pub fn token_certificate(&self) -> &TokenCertificate {
        &self.cert
    }

    /// How many times `C_Login` was called (at most once; tests).
    pub fn login_count(&self) -> usize {
        self.logins
    }

    fn login_and_sign(&mut self, tbs: &ToBeSigned) -> Result<Vec<u8>, SignError> {
        let slot = slot_of(&self.ctx, self.cert.token.slot)?;
        // CKF_USER_PIN_LOCKED before a login is not trusted to refuse: OpenSC's CNS emulation
        // (pkcs15-itacns.c leaves tries_left at 0) reports it on every CNS, locked or not. A
        // login on a PIN that is really locked costs nothing and answers CKR_PIN_LOCKED.
        let info = self.ctx.get_token_info(slot).map_err(ck)?;
        // Taken before anything can fail, so a failed signature never leaves a PIN to re-use.
        let pin = self.pin.take().ok_or(SignError::InvalidPinFormat)?;
        let len = pin.0.chars().count();
        let (min, max) = (info.min_pin_length(), info.max_pin_length());
        if len < min || (max > 0 && len > max) {
            return Err(SignError::InvalidPinFormat);
        }
        let session = self.ctx.open_ro_session(slot).map_err(ck)?;
        self.logins += 1;
        let secret = AuthPin::from(pin.0.as_str().to_owned());
        drop(pin);
        match session.login(UserType::User, Some(&secret)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(CkError::Pkcs11(rv, _)) => {
                let after = self.ctx.get_token_info(slot).ok();
                return Err(login_error(rv, after.as_ref()));
            }
            Err(e) => return Err(ck(e)),
        }
        let result = self.sign_logged_in(&session, slot, tbs);
        // Best effort: closing the session logs out anyway.
        let _ = session.logout();
        result
    }

    fn sign_logged_in(
        &self,
        session: &Session,
        slot: Slot,
        tbs: &ToBeSigned,
    ) -> Result<Vec<u8>, SignError> {
        let keys = session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Id(self.cert.id_raw.clone()),
            ])
            .map_err(ck)?;
        let key = keys
            .first()
            .copied()
            .ok_or(SignError::NoSigningCertificate)?;
        let mechanisms = self.ctx.get_mechanism_list(slot).map_err(ck)?;
        if mechanisms.contains(&MechanismType::SHA256_RSA_PKCS) {
            session
                .sign(&Mechanism::Sha256RsaPkcs, key, tbs.der())
                .map_err(ck)
        } else {
            session
                .sign(&Mechanism::RsaPkcs, key, &tbs.digest_info())
                .map_err(ck)
        }
    }
}

impl Signer for Pkcs11Signer {
    fn certificate(&mut self) -> Result<SignerCertificate, SignError> {
        Ok(SignerCertificate {
            der: self.cert.der.clone(),
            chain: Vec::new(),
        })
    }

    fn sign(&mut self, tbs: &ToBeSigned) -> Result<Vec<u8>, SignError> {
        self.login_and_sign(tbs)
    }
}

/// A refused `C_Login`, with the token's flags read right after it.
pub fn login_error(rv: RvError, after: Option<&TokenInfo>) -> SignError {
    let locked = after.is_some_and(TokenInfo::user_pin_locked);
    let final_try = after.is_some_and(TokenInfo::user_pin_final_try);
    pin_error(rv, locked, final_try)
}

/// The mapping behind [`login_error`], on plain flags (unit-tested).
pub fn pin_error(rv: RvError, locked: bool, final_try: bool) -> SignError {
    match rv {
        RvError::PinLocked => SignError::PinBlocked,
        RvError::PinIncorrect if locked => SignError::PinBlocked,
        RvError::PinIncorrect => SignError::WrongPin {
            tries_left: final_try.then_some(1),
            final_try,
        },
        RvError::PinLenRange | RvError::PinInvalid => SignError::InvalidPinFormat,
        other => SignError::Pkcs11(format!("C_Login: {other}")),
    }
}

fn summary(slot: Slot, info: &TokenInfo) -> TokenSummary {
    TokenSummary {
        slot: slot.id(),
        label: info.label().trim().to_owned(),
        manufacturer: info.manufacturer_id().trim().to_owned(),
        serial: info.serial_number().trim().to_owned(),
        pin_count_low: info.user_pin_count_low(),
        pin_final_try: info.user_pin_final_try(),
        pin_locked: info.user_pin_locked(),
    }
}

fn slot_of(ctx: &Pkcs11, id: u64) -> Result<Slot, SignError> {
    ctx.get_slots_with_token()
        .map_err(ck)?
        .into_iter()
        .find(|s| s.id() == id)
        .ok_or(SignError::TokenNotFound(None))
}

fn ck(e: CkError) -> SignError {
    match e {
        CkError::Pkcs11(RvError::TokenNotPresent | RvError::DeviceRemoved, _) => {
            SignError::TokenNotFound(None)
        }
        other => SignError::Pkcs11(other.to_string()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses a `--cert-id` value (hex, spaces and colons allowed).
pub fn parse_cert_id(s: &str) -> Option<Vec<u8>> {
    let clean: Vec<u8> = s.bytes().filter(|b| !matches!(b, b' ' | b':')).collect();
    if clean.is_empty() || !clean.len().is_multiple_of(2) {
        return None;
    }
    clean
        .chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).ok()?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pec_domain::{DomainError, Lang};

    #[test]
    fn pin_errors_become_clear_messages() {
        let e = pin_error(RvError::PinIncorrect, false, true);
        assert_eq!(e.code(), "sign.pin_wrong");
        assert!(
            e.message(Lang::It)
                .contains("ultimo tentativo prima del blocco")
        );
        let e = pin_error(RvError::PinIncorrect, false, false);
        assert_eq!(e.message(Lang::It), "PIN errato.");
        assert_eq!(
            pin_error(RvError::PinIncorrect, true, false).code(),
            "sign.pin_blocked"
        );
        assert_eq!(
            pin_error(RvError::PinLocked, false, false).code(),
            "sign.pin_blocked"
        );
        assert_eq!(
            pin_error(RvError::PinLenRange, false, false).code(),
            "sign.pin_invalid_format"
        );
    }

    #[test]
    fn cert_ids_and_pins() {
        assert_eq!(parse_cert_id("10"), Some(vec![0x10]));
        assert_eq!(parse_cert_id("a1:b2"), Some(vec![0xA1, 0xB2]));
        assert_eq!(parse_cert_id("abc"), None);
        assert_eq!(parse_cert_id("zz"), None);
        assert!(TokenPin::new("\n".into()).is_err());
        let p = TokenPin::new("123456\n".into()).expect("pin");
        assert_eq!(format!("{p:?}"), "TokenPin(***)");
    }
}
