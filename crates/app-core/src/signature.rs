//! Firma digitale and firma remota: the holder signs the provider's request form
//! ("Modulo di richiesta di identificazione del titolare") and the app sends the `.p7m`.
//!
//! The flow, per request:
//!
//! 1. [`form`]: the provider issues the form; the app keeps its bytes (those exact bytes are
//!    signed) and shows its text. [`form_file`] writes it to the app's data folder for the
//!    system viewer ("Apri il modulo") and [`save_form`] copies it where the user chose ("Salva").
//! 2. The signature, with one of three devices, each with **one** PIN presentation per click
//!    (`C_Login` / VERIFY exactly once, never repeated by the app):
//!    - a PKCS#11 module ([`pkcs11_modules`] lists the installed ones; the user may also pick a
//!      file): [`pkcs11_certificates`] shows the signature certificates and the token's PIN
//!      warning before the PIN is asked; [`sign_with_pkcs11`];
//!    - the card's own signature DF over PC/SC: [`sign_with_card`];
//!    - the provider's remote signature service (CSC API v2): [`remote_sign_in`] (username,
//!      password → the credentials), then [`sign_remotely`] (credential, OTP → SAD → signature).
//! 3. The `.p7m` goes to the provider, which verifies it and evaluates the person; the app keeps
//!    a copy for [`save_signed_copy`] ("Salva la copia firmata (.p7m)").
//!
//! PINs, passwords, OTPs and SADs live in zeroized types of `pec-sign` and are never logged:
//! the log says which device signed and the outcome's code only.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use pec_domain::{DomainError, Localized};
use pec_provider::api::{IdentityRequestView, SignedFormUpload};
use pec_sign::SignError;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::{AppError, Core, Result, blocking};

/// The form as the wizard shows it (its bytes stay in the core).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct FormView {
    pub request_id: String,
    pub title: String,
    pub paragraphs: Vec<String>,
    pub filename: String,
    /// SHA-256 of the PDF, hex (shown small, for the careful holder).
    pub sha256: String,
    pub issued_at: DateTime<Utc>,
    /// Firma remota: the service the provider names (shown with the credentials form).
    pub remote_signature_url: Option<String>,
}

/// A PKCS#11 module found on this computer.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct ModuleView {
    pub vendor: String,
    pub path: String,
}

/// A signature certificate on a token, and what the token says about its PIN.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct TokenCertificateView {
    pub token_label: String,
    pub manufacturer: String,
    /// `CKA_ID`, hex: what [`sign_with_pkcs11`] is given back.
    pub cert_id: String,
    pub subject: String,
    /// "ultimo tentativo prima del blocco", …: shown before the PIN is typed.
    pub pin_warning: Option<Localized>,
}

/// A remote-signature credential of the signed-in account.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct RemoteCredentialView {
    pub id: String,
    /// The certificate's subject (who signs).
    pub subject: Option<String>,
    /// What the service asks to authorise a signature (e.g. "OTP").
    pub otp_label: Option<String>,
}

/// The forms fetched and the signed copies made, per request, and the remote-signature session
/// between its two steps.
#[derive(Default)]
pub struct Signatures {
    forms: Mutex<HashMap<String, Vec<u8>>>,
    signed: Mutex<HashMap<String, Vec<u8>>>,
    remote: tokio::sync::Mutex<Option<(String, pec_sign::csc::CscClient)>>,
}

fn sign_error(e: SignError) -> AppError {
    AppError::Localized(e.to_localized())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Fetches the form of request `id` and keeps its bytes for the signature.
pub async fn form(core: &Core, id: &str) -> Result<FormView> {
    let form = core.conn.authed(move |c| c.signature_form(id)).await?;
    let pdf = B64.decode(form.pdf.trim()).map_err(|_| {
        AppError::Provider(pec_provider::Error::Decode(
            "signature form: not base64".into(),
        ))
    })?;
    if !pdf.starts_with(b"%PDF-") {
        return Err(AppError::Provider(pec_provider::Error::Decode(
            "signature form: not a PDF".into(),
        )));
    }
    lock(&core.signatures.forms).insert(form.request_id.clone(), pdf);
    Ok(FormView {
        request_id: form.request_id,
        title: form.title,
        paragraphs: form.paragraphs,
        filename: form.filename,
        sha256: form.sha256,
        issued_at: form.issued_at,
        remote_signature_url: form.remote_signature_url,
    })
}

fn form_bytes(core: &Core, id: &str) -> Result<Vec<u8>> {
    lock(&core.signatures.forms)
        .get(id)
        .cloned()
        .ok_or_else(|| {
            AppError::Localized(Localized {
                code: "signature.form_missing".into(),
                message_it: "Apri di nuovo il modulo prima di firmarlo.".into(),
                message_en: "Open the form again before signing it.".into(),
            })
        })
}

/// A safe file name: the provider's, reduced to letters, digits, `-`, `_` and `.`.
fn file_name(name: &str, fallback: &str) -> String {
    let clean: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    let clean = clean.trim_start_matches('.');
    if clean.is_empty() {
        fallback.to_owned()
    } else {
        clean.to_owned()
    }
}

/// Writes the form into `<data>/forms/` for the system viewer and returns the file.
pub fn form_file(core: &Core, data_dir: &Path, id: &str) -> Result<PathBuf> {
    let pdf = form_bytes(core, id)?;
    let dir = data_dir.join("forms");
    std::fs::create_dir_all(&dir).map_err(|_| io_error())?;
    let path = dir.join(file_name(&format!("modulo-{id}.pdf"), "modulo.pdf"));
    std::fs::write(&path, pdf).map_err(|_| io_error())?;
    Ok(path)
}

/// Copies the form to `dest` (a path the user picked in the save dialog).
pub fn save_form(core: &Core, id: &str, dest: &Path) -> Result<()> {
    std::fs::write(dest, form_bytes(core, id)?).map_err(|_| io_error())
}

fn io_error() -> AppError {
    AppError::Localized(Localized {
        code: "signature.file_error".into(),
        message_it: "Impossibile scrivere il file: controlla la cartella scelta.".into(),
        message_en: "The file could not be written: check the chosen folder.".into(),
    })
}

/// Extra PKCS#11 modules to offer, separated like `PATH`: for a deployment whose signature
/// devices' module lives elsewhere (and the end-to-end tests' SoftHSM2 token).
pub const EXTRA_MODULES_ENV: &str = "PEC_PKCS11_MODULES";

/// The PKCS#11 modules installed in their usual places on this OS, then those of
/// [`EXTRA_MODULES_ENV`] that exist.
pub fn pkcs11_modules() -> Vec<ModuleView> {
    let mut out: Vec<ModuleView> = pec_sign::pkcs11::installed_modules()
        .into_iter()
        .map(|m| ModuleView {
            vendor: m.vendor.to_owned(),
            path: m.path.display().to_string(),
        })
        .collect();
    if let Some(extra) = std::env::var_os(EXTRA_MODULES_ENV) {
        for path in std::env::split_paths(&extra).filter(|p| p.is_file()) {
            let path = path.display().to_string();
            if !out.iter().any(|m| m.path == path) {
                out.push(ModuleView {
                    vendor: String::new(),
                    path,
                });
            }
        }
    }
    out
}

/// The signature certificates of the tokens `module` sees (no login).
pub async fn pkcs11_certificates(module: String) -> Result<Vec<TokenCertificateView>> {
    blocking(move || {
        let m = pec_sign::pkcs11::Pkcs11Module::load(Path::new(&module)).map_err(sign_error)?;
        let certs = m.signing_certificates(None).map_err(sign_error)?;
        Ok(certs
            .into_iter()
            .map(|c| TokenCertificateView {
                pin_warning: c.token.pin_warning(),
                token_label: c.token.label,
                manufacturer: c.token.manufacturer,
                cert_id: c.id,
                subject: c.subject,
            })
            .collect())
    })
    .await
}

/// Signs the form with a token through `module`: one `C_Login` with `pin`, one signature.
pub async fn sign_with_pkcs11(
    core: &Core,
    id: &str,
    module: String,
    token_label: Option<String>,
    cert_id: Option<String>,
    pin: Zeroizing<String>,
) -> Result<IdentityRequestView> {
    let form = form_bytes(core, id)?;
    let pin = pec_sign::pkcs11::TokenPin::new(pin.to_string()).map_err(sign_error)?;
    let cert_id = match cert_id {
        Some(hex) => Some(pec_sign::pkcs11::parse_cert_id(&hex).ok_or(AppError::Internal)?),
        None => None,
    };
    let p7m = blocking(move || {
        let m = pec_sign::pkcs11::Pkcs11Module::load(Path::new(&module)).map_err(sign_error)?;
        let selection = pec_sign::pkcs11::Selection {
            token_label,
            cert_id,
        };
        let mut signer = m.signer(&selection, pin).map_err(sign_error)?;
        pec_sign::cades::sign(&form, &mut signer, SystemTime::now()).map_err(sign_error)
    })
    .await
    .inspect_err(|e| tracing::info!(code = %e.code(), "PKCS#11 signature failed"))?;
    send(core, id, p7m, "pkcs11").await
}

/// Signs the form with the card's signature DF: one VERIFY of the signature PIN, one signature,
/// in one PC/SC transaction on a reader held for this signature alone. The signature PIN has
/// its own tries, remembered apart from the authentication PIN's ([`signature_pin_key`]): when
/// the last attempt left one, nothing goes to the card unless `confirm_last_try` says the
/// holder accepted the risk (`card.pin_last_try` otherwise), as for the identification.
pub async fn sign_with_card(
    core: &Core,
    id: &str,
    reader: String,
    pin: Zeroizing<String>,
    confirm_last_try: bool,
) -> Result<IdentityRequestView> {
    let form = form_bytes(core, id)?;
    let pin = pec_card::Pin::new(pin.to_string()).map_err(AppError::from)?;
    let p7m = sign_form_on_card(core, reader, pin, form, confirm_last_try).await?;
    send(core, id, p7m, "card").await
}

/// The card part of [`sign_with_card`]: the last-try guard, VERIFY and the signature, and what
/// the attempt teaches remembered.
pub(crate) async fn sign_form_on_card(
    core: &Core,
    reader: String,
    pin: pec_card::Pin,
    form: Vec<u8>,
    confirm_last_try: bool,
) -> Result<Vec<u8>> {
    let pcsc = core.cards.pcsc();
    let known = core.cards.snapshot();
    let confirmation = if confirm_last_try {
        pec_card::guard::LastTry::Confirmed
    } else {
        pec_card::guard::LastTry::NotConfirmed
    };
    let (key, signed) = blocking(move || {
        let _one_at_a_time = pec_card::guard::ReaderLock::try_acquire(&reader)?;
        let mut card = pcsc.connect(&reader).map_err(AppError::from)?;
        // Checked on the card actually in the reader (by its serial), right before VERIFY.
        let key = card
            .read_serial()
            .ok()
            .map(|s| pec_sign::card::signature_pin_key(&s));
        let k = key
            .as_deref()
            .and_then(|k| known.get(k))
            .copied()
            .unwrap_or_default();
        if let Err(e) = pec_card::guard::PinTries::of(k).allow(confirmation) {
            tracing::info!(code = e.code(), "card signature held before VERIFY");
            return Err(e.into());
        }
        let mut signer = pec_sign::card::CardSigner::new(card, pin);
        Ok((
            key,
            pec_sign::cades::sign(&form, &mut signer, SystemTime::now()),
        ))
    })
    .await?;
    if let Some(outcome) = pec_sign::card::pin_outcome(&signed) {
        core.cards.learn(key.as_deref(), &outcome);
    }
    signed
        .map_err(sign_error)
        .inspect_err(|e| tracing::info!(code = %e.code(), "card signature failed"))
}

/// Signs in to the remote-signature service the form names and lists the account's
/// credentials. The password is dropped (zeroized) once the service answered.
pub async fn remote_sign_in(
    core: &Core,
    id: &str,
    username: &str,
    password: Zeroizing<String>,
) -> Result<Vec<RemoteCredentialView>> {
    let base = remote_url(core, id).await?;
    let mut client = pec_sign::csc::CscClient::new(&base).map_err(sign_error)?;
    let password = pec_sign::csc::Secret::new(password.to_string());
    client
        .login(username.trim(), &password)
        .await
        .map_err(sign_error)?;
    drop(password);
    let mut out = Vec::new();
    for cred in client.credentials_list().await.map_err(sign_error)? {
        let info = client.credential_info(&cred).await.map_err(sign_error)?;
        out.push(RemoteCredentialView {
            subject: info.cert.subject_dn.clone(),
            otp_label: info
                .auth
                .as_ref()
                .and_then(|a| a.objects.first())
                .map(|o| o.id.clone()),
            id: cred,
        });
    }
    *core.signatures.remote.lock().await = Some((id.to_owned(), client));
    Ok(out)
}

async fn remote_url(core: &Core, id: &str) -> Result<String> {
    let form = core.conn.authed(move |c| c.signature_form(id)).await?;
    form.remote_signature_url.ok_or_else(|| {
        AppError::Localized(Localized {
            code: "signature.no_remote_service".into(),
            message_it: "Il gestore non indica un servizio di firma remota.".into(),
            message_en: "The provider names no remote signature service.".into(),
        })
    })
}

/// Signs the form remotely with `credential`, authorised by `otp` (one SAD, one signature).
pub async fn sign_remotely(
    core: &Core,
    id: &str,
    credential: &str,
    otp: Zeroizing<String>,
) -> Result<IdentityRequestView> {
    let form = form_bytes(core, id)?;
    let p7m = {
        let session = core.signatures.remote.lock().await;
        let Some((for_id, client)) = session.as_ref().filter(|(r, _)| r == id) else {
            return Err(AppError::Localized(Localized {
                code: "signature.remote_session_missing".into(),
                message_it: "Accedi di nuovo al servizio di firma remota.".into(),
                message_en: "Sign in to the remote signature service again.".into(),
            }));
        };
        let _ = for_id;
        pec_sign::csc::sign_cades(
            client,
            credential,
            pec_sign::csc::Secret::new(otp.trim().to_owned()),
            &form,
            SystemTime::now(),
        )
        .await
        .map_err(sign_error)
        .inspect_err(|e| tracing::info!(code = %e.code(), "remote signature failed"))?
    };
    let view = send(core, id, p7m, "csc").await?;
    *core.signatures.remote.lock().await = None;
    Ok(view)
}

async fn send(core: &Core, id: &str, p7m: Vec<u8>, device: &str) -> Result<IdentityRequestView> {
    let upload = SignedFormUpload {
        p7m: B64.encode(&p7m),
    };
    let upload = &upload;
    let result = core
        .conn
        .authed(move |c| c.send_signed_form(id, upload))
        .await;
    match &result {
        Ok(view) => {
            tracing::info!(request = %view.id, device, step = ?view.step, "signed form sent");
            lock(&core.signatures.signed).insert(id.to_owned(), p7m);
        }
        Err(e) => tracing::info!(device, code = %e.code(), "signed form refused"),
    }
    result
}

/// Writes the signed form (`.p7m`) to `dest`: the copy made here, or the provider's.
pub async fn save_signed_copy(core: &Core, id: &str, dest: &Path) -> Result<()> {
    let local = lock(&core.signatures.signed).get(id).cloned();
    let p7m = match local {
        Some(p) => p,
        None => {
            let kept = core.conn.authed(move |c| c.signed_form(id)).await?;
            B64.decode(kept.p7m.trim()).map_err(|_| {
                AppError::Provider(pec_provider::Error::Decode(
                    "signed form: not base64".into(),
                ))
            })?
        }
    };
    std::fs::write(dest, p7m).map_err(|_| io_error())
}

/// The file name offered in the save dialog for the signed copy.
pub fn signed_copy_name(id: &str) -> String {
    file_name(&format!("modulo-{id}.pdf.p7m"), "modulo.pdf.p7m")
}

/// The file name offered in the save dialog for the form.
pub fn form_name(id: &str) -> String {
    file_name(&format!("modulo-{id}.pdf"), "modulo.pdf")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_cannot_leave_the_folder() {
        assert_eq!(file_name("../../etc/passwd", "x"), "etcpasswd");
        assert_eq!(file_name("...", "x"), "x");
        assert_eq!(signed_copy_name("idr_1/2"), "modulo-idr_12.pdf.p7m");
    }
}
