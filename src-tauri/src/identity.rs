//! The identity-confirmation wizard's commands: the request and its actions, live field
//! validation with the domain's rules, the methods other than the card (SPID, firma remota,
//! webcam), two-step login, app passwords, QR codes, and the wizard drafts on disk.
//!
//! Secrets that must cross IPC (the OTP typed by the user, the remote-signature password, an
//! app password shown once) are held in `Zeroizing` and never logged. Drafts hold only the
//! form's fields, by an allow-list of names, so no secret can reach the disk through them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use pec_domain::{
    CodiceFiscale, DomainError, EmailAddress, Localized, MobileNumber, Name, PartitaIva, TaxCode,
};
use pec_provider::api::{
    AppPasswordView, IdDocumentKind, IdentityAction, IdentityRequestView, MailboxView,
    RemoteSignatureRequest, SpidPoll, WebcamBooking, WebcamBookingRequest, WebcamSlot,
};
use serde::{Deserialize, Serialize};
use tauri::State;
use zeroize::Zeroizing;

use crate::CommandError;
use crate::error::localized;
use crate::session::Connection;

// ---------------------------------------------------------------------------------------------
// The request

/// Opens the wizard for a mailbox: the request already in progress, or a new one.
#[tauri::command]
pub async fn identity_start(
    conn: State<'_, Connection>,
    address: String,
) -> Result<IdentityRequestView, CommandError> {
    let address = address.trim();
    let mailbox = conn.authed(move |c| c.mailbox(address)).await?;
    if let Some(id) = mailbox.active_identity_request.as_deref() {
        return conn.authed(move |c| c.identity_request(id)).await;
    }
    // One key for both tries of `authed`, so a refresh in between cannot create two requests.
    let key = pec_provider::new_key();
    let key = key.as_str();
    conn.authed(move |c| c.create_identity_request_keyed(address, key))
        .await
}

#[tauri::command]
pub async fn identity_get(
    conn: State<'_, Connection>,
    id: String,
) -> Result<IdentityRequestView, CommandError> {
    let id = id.as_str();
    conn.authed(move |c| c.identity_request(id)).await
}

/// Applies one wizard action (role, data, summary, method, terms, OTP, ...).
#[tauri::command]
pub async fn identity_act(
    conn: State<'_, Connection>,
    id: String,
    action: IdentityAction,
) -> Result<IdentityRequestView, CommandError> {
    let kind = action_name(&action);
    let (id, action) = (id.as_str(), &action);
    let result = conn.authed(move |c| c.act(id, action)).await;
    match &result {
        Ok(view) => {
            tracing::info!(request = %view.id, action = kind, step = ?view.step, "wizard action")
        }
        Err(e) => {
            tracing::info!(action = kind, code = %e.to_localized().code, "wizard action refused")
        }
    }
    result
}

/// The action's name for the log (never its content: `confirm_otp` carries the OTP).
fn action_name(a: &IdentityAction) -> &'static str {
    match a {
        IdentityAction::ChooseRole { .. } => "choose_role",
        IdentityAction::SubmitHolderEmail { .. } => "submit_holder_email",
        IdentityAction::ChooseHolderKind { .. } => "choose_holder_kind",
        IdentityAction::SubmitData { .. } => "submit_data",
        IdentityAction::ConfirmSummary => "confirm_summary",
        IdentityAction::Back => "back",
        IdentityAction::ChooseMethod { .. } => "choose_method",
        IdentityAction::AbandonIdentification => "abandon_identification",
        IdentityAction::Proceed => "proceed",
        IdentityAction::CompleteRequest { .. } => "complete_request",
        IdentityAction::ResendOtp => "resend_otp",
        IdentityAction::ConfirmOtp { .. } => "confirm_otp",
        IdentityAction::StartOver => "start_over",
        IdentityAction::Retry => "retry",
        IdentityAction::ChangeHolder => "change_holder",
        IdentityAction::ChangeLegalRepresentative => "change_legal_representative",
        IdentityAction::SubmitDocuments => "submit_documents",
    }
}

/// Largest document the app sends (the provider has its own limit too).
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

/// A document picked by the user, as it arrives over IPC: the bytes as the raw body (no
/// base64), the owner's id (request or ticket) and the file name in headers. Checked here:
/// not empty, at most [`MAX_DOCUMENT_BYTES`], and a PDF, JPEG or PNG by its content.
pub(crate) struct DocumentUpload<'r> {
    pub owner: String,
    pub filename: String,
    pub media: &'static str,
    pub bytes: &'r [u8],
}

pub(crate) fn document_upload<'r>(
    request: &'r tauri::ipc::Request<'_>,
    owner_header: &str,
) -> Result<DocumentUpload<'r>, CommandError> {
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(CommandError::Internal);
    };
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let owner = header(owner_header).ok_or(CommandError::Internal)?;
    let filename = header("x-filename")
        .map(|f| percent_decode(&f))
        .unwrap_or_else(|| "documento".into());
    if bytes.is_empty() {
        return Err(localized(
            "document.empty",
            "Il file scelto è vuoto.",
            "The chosen file is empty.",
        ));
    }
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(localized(
            "document.too_large",
            "Il file supera i 10 MB: scegline uno più piccolo (ad esempio una scansione a risoluzione minore).",
            "The file is larger than 10 MB: choose a smaller one (for instance a lower-resolution scan).",
        ));
    }
    let media = sniff(bytes).ok_or_else(|| {
        localized(
            "document.unsupported_type",
            "Sono accettati solo documenti PDF, JPEG o PNG.",
            "Only PDF, JPEG or PNG documents are accepted.",
        )
    })?;
    Ok(DocumentUpload {
        owner,
        filename,
        media,
        bytes,
    })
}

/// Uploads a document picked by the user for an identity request.
#[tauri::command]
pub async fn identity_upload(
    conn: State<'_, Connection>,
    request: tauri::ipc::Request<'_>,
) -> Result<IdentityRequestView, CommandError> {
    let doc = document_upload(&request, "x-request-id")?;
    let (id, media, size) = (doc.owner.as_str(), doc.media, doc.bytes.len());
    let (name, bytes) = (doc.filename.as_str(), doc.bytes);
    conn.authed(move |c| c.upload_document(id, name, media, bytes.to_vec()))
        .await?;
    tracing::info!(request = %id, media, size, "document uploaded");
    conn.authed(move |c| c.identity_request(id)).await
}

/// The media type by content (the provider checks again).
pub(crate) fn sniff(b: &[u8]) -> Option<&'static str> {
    if b.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if b.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

/// Decodes `encodeURIComponent` output; anything malformed is kept as written.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(h) = s.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(h, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    let name = String::from_utf8(out).unwrap_or_else(|_| s.to_owned());
    // Only a base name, no path, no control characters, at most 120 characters.
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control()).take(120).collect();
    if clean.trim().is_empty() {
        "documento".into()
    } else {
        clean
    }
}

// ---------------------------------------------------------------------------------------------
// Live validation

/// Which rule to apply to a form field.
#[derive(Debug, Clone, Copy, Deserialize)]
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
}

/// The answer for one field: valid with its normal form, or the error in both languages.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldCheck {
    pub valid: bool,
    pub normalized: Option<String>,
    pub error: Option<Localized>,
}

pub fn check_field(kind: FieldKind, value: &str) -> FieldCheck {
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
    match kind {
        FieldKind::CodiceFiscale => done(CodiceFiscale::parse(value), |v| v.as_str().to_owned()),
        FieldKind::TaxCode => done(TaxCode::parse(value), |v| v.as_str().to_owned()),
        FieldKind::PartitaIva => done(PartitaIva::parse(value), |v| v.as_str().to_owned()),
        FieldKind::Email => done(EmailAddress::parse(value), |v| v.as_str().to_owned()),
        FieldKind::Mobile => done(MobileNumber::parse(value), |v| v.as_str().to_owned()),
        FieldKind::Name => done(Name::parse(value), |v| v.as_str().to_owned()),
    }
}

/// Checks one form field with the same rules the provider applies.
#[tauri::command]
pub fn validate_field(kind: FieldKind, value: String) -> FieldCheck {
    if value.len() > 512 {
        return FieldCheck {
            valid: false,
            normalized: None,
            error: Some(Localized {
                code: "field.too_long".into(),
                message_it: "Il valore è troppo lungo.".into(),
                message_en: "The value is too long.".into(),
            }),
        };
    }
    check_field(kind, &value)
}

// ---------------------------------------------------------------------------------------------
// QR codes

/// An SVG QR code of `text` (no inline styles: the CSP forbids them), without the XML prolog.
pub fn qr_svg(text: &str) -> Result<String, CommandError> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|_| CommandError::Internal)?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(match svg.find("<svg") {
        Some(i) => svg[i..].to_owned(),
        None => svg,
    })
}

/// The QR code and link that continue the guide on a phone ("Apri su altro dispositivo").
#[derive(Debug, Serialize)]
pub struct Link {
    pub url: String,
    pub qr_svg: String,
}

#[tauri::command]
pub async fn guide_link(
    conn: State<'_, Connection>,
    lang: pec_domain::Lang,
) -> Result<Link, CommandError> {
    let base = conn.provider().await?.base_url();
    let page = match lang {
        pec_domain::Lang::It => "guida/conferma-identita",
        pec_domain::Lang::En => "guide/identity-confirmation",
    };
    let url = format!("{}/{page}", base.trim_end_matches('/'));
    let qr_svg = qr_svg(&url)?;
    Ok(Link { url, qr_svg })
}

// ---------------------------------------------------------------------------------------------
// SPID

/// Login pages handed out by the provider, by request: only these can be opened.
#[derive(Default)]
pub struct SpidPages(Mutex<HashMap<String, String>>);

#[derive(Debug, Serialize)]
pub struct SpidStart {
    pub handle: String,
    pub login_url: String,
    pub expires_at: DateTime<Utc>,
    pub qr_svg: String,
}

#[tauri::command]
pub async fn spid_start(
    conn: State<'_, Connection>,
    pages: State<'_, SpidPages>,
    id: String,
) -> Result<SpidStart, CommandError> {
    let idr = id.as_str();
    let login = conn.authed(move |c| c.start_spid(idr)).await?;
    // The page must be the provider's own: same scheme, host and port as its API.
    let provider =
        url::Url::parse(&conn.provider().await?.base_url()).map_err(|_| CommandError::Internal)?;
    let page = url::Url::parse(&login.login_url).map_err(|_| CommandError::Internal)?;
    if page.origin() != provider.origin() {
        return Err(localized(
            "spid.foreign_page",
            "Il fornitore ha indicato una pagina di accesso SPID su un altro sito: per sicurezza non viene aperta.",
            "The provider gave a SPID login page on another site: for safety it is not opened.",
        ));
    }
    pages
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(id, login.login_url.clone());
    Ok(SpidStart {
        qr_svg: qr_svg(&login.login_url)?,
        handle: login.handle,
        login_url: login.login_url,
        expires_at: login.expires_at,
    })
}

/// Opens the SPID login page of a request in the system browser. Only a page the provider
/// handed out for this request can be opened: the webview gets no opener permission at all.
#[tauri::command]
pub fn spid_open(
    app: tauri::AppHandle,
    pages: State<'_, SpidPages>,
    id: String,
) -> Result<(), CommandError> {
    use tauri_plugin_opener::OpenerExt as _;
    let url = pages
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&id)
        .cloned()
        .ok_or(CommandError::Internal)?;
    app.opener().open_url(url, None::<&str>).map_err(|e| {
        tracing::warn!(error = %e, "the browser could not be opened");
        localized(
            "spid.browser_unavailable",
            "Non è stato possibile aprire il browser. Inquadra il codice QR con il telefono oppure copia il link.",
            "The browser could not be opened. Scan the QR code with your phone or copy the link.",
        )
    })
}

#[tauri::command]
pub async fn spid_poll(
    conn: State<'_, Connection>,
    id: String,
    handle: String,
) -> Result<SpidPoll, CommandError> {
    let (id, handle) = (id.as_str(), handle.as_str());
    conn.authed(move |c| c.poll_spid(id, handle)).await
}

// ---------------------------------------------------------------------------------------------
// Firma remota and webcam

#[tauri::command]
pub async fn remote_signature(
    conn: State<'_, Connection>,
    id: String,
    username: String,
    password: Zeroizing<String>,
    otp: Zeroizing<String>,
) -> Result<IdentityRequestView, CommandError> {
    use zeroize::Zeroize as _;
    let mut req = RemoteSignatureRequest {
        username: username.trim().to_owned(),
        password: password.to_string(),
        otp: otp.trim().to_owned(),
    };
    let result = {
        let (id, r) = (id.as_str(), &req);
        conn.authed(move |c| c.remote_signature(id, r)).await
    };
    req.password.zeroize();
    req.otp.zeroize();
    result
}

#[tauri::command]
pub async fn webcam_slots(conn: State<'_, Connection>) -> Result<Vec<WebcamSlot>, CommandError> {
    conn.authed(|c| c.webcam_slots()).await
}

#[tauri::command]
pub async fn webcam_book(
    conn: State<'_, Connection>,
    id: String,
    starts_at: DateTime<Utc>,
    document: IdDocumentKind,
    language: pec_domain::Lang,
) -> Result<WebcamBooking, CommandError> {
    let req = WebcamBookingRequest {
        starts_at,
        document,
        language: match language {
            pec_domain::Lang::It => "it".into(),
            pec_domain::Lang::En => "en".into(),
        },
    };
    let (id, req) = (id.as_str(), &req);
    conn.authed(move |c| c.book_webcam(id, req)).await
}

// ---------------------------------------------------------------------------------------------
// Two-step login and app passwords

/// The secret to add to an authenticator app, as a QR code and as text for typing.
#[derive(Serialize)]
pub struct TwoStepSetup {
    pub secret: String,
    pub qr_svg: String,
}

#[tauri::command]
pub async fn two_step_enrol(
    conn: State<'_, Connection>,
    address: String,
) -> Result<TwoStepSetup, CommandError> {
    let a = address.as_str();
    let enrolment = conn.authed(move |c| c.two_step_enrol(a)).await?;
    let uri = Zeroizing::new(enrolment.otpauth_uri);
    Ok(TwoStepSetup {
        qr_svg: qr_svg(&uri)?,
        secret: enrolment.secret,
    })
}

#[tauri::command]
pub async fn two_step_confirm(
    conn: State<'_, Connection>,
    address: String,
    code: Zeroizing<String>,
) -> Result<MailboxView, CommandError> {
    let (a, code) = (address.as_str(), code.trim());
    conn.authed(move |c| c.two_step_confirm(a, code)).await
}

#[tauri::command]
pub async fn app_passwords(
    conn: State<'_, Connection>,
    address: String,
) -> Result<Vec<AppPasswordView>, CommandError> {
    let a = address.as_str();
    conn.authed(move |c| c.app_passwords(a)).await
}

#[tauri::command]
pub async fn app_password_create(
    conn: State<'_, Connection>,
    address: String,
    label: String,
    // A fresh two-step code of the mailbox: the provider asks for one on every creation.
    code: Option<String>,
) -> Result<AppPasswordView, CommandError> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 60 {
        return Err(localized(
            "app_password.label",
            "Indica per quale programma è la password (al massimo 60 caratteri).",
            "Say which program the password is for (at most 60 characters).",
        ));
    }
    let (a, code) = (address.as_str(), code.as_deref());
    conn.authed(move |c| c.create_app_password(a, label, code))
        .await
}

#[tauri::command]
pub async fn app_password_delete(
    conn: State<'_, Connection>,
    address: String,
    id: String,
) -> Result<(), CommandError> {
    let (a, id) = (address.as_str(), id.as_str());
    conn.authed(move |c| c.delete_app_password(a, id)).await
}

// ---------------------------------------------------------------------------------------------
// Drafts

/// Form fields a draft may hold. Anything else (a PIN, an OTP, a password) is refused.
const DRAFT_FIELDS: &[&str] = &[
    "kind",
    "business_name",
    "tax_code",
    "vat_number",
    "name",
    "first_name",
    "last_name",
    "rep_first_name",
    "rep_last_name",
    "rep_tax_code",
    "email",
    "mobile",
    "holder_email",
    "method",
];

/// Where a wizard was left: the request, and the form as typed (not yet sent).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Draft {
    pub mailbox: String,
    pub request_id: Option<String>,
    pub fields: BTreeMap<String, String>,
    #[serde(default)]
    pub saved_at: Option<DateTime<Utc>>,
}

/// Drafts of every account, one file per account in the app data dir.
pub struct Drafts {
    dir: PathBuf,
    lock: Mutex<()>,
}

impl Drafts {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("drafts"),
            lock: Mutex::new(()),
        }
    }

    fn path(&self, account: &str) -> PathBuf {
        let safe: String = account
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '@' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!("{safe}.json"))
    }

    /// The account's open wizard, if any.
    pub fn load(&self, account: &str) -> Option<Draft> {
        let _g = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bytes = std::fs::read(self.path(account)).ok()?;
        serde_json::from_slice::<Draft>(&bytes)
            .ok()
            .filter(valid_draft)
    }

    pub fn save(&self, account: &str, draft: &Draft) -> std::io::Result<()> {
        let _g = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        crate::settings::write_atomic(&self.path(account), draft)
    }

    pub fn clear(&self, account: &str) -> std::io::Result<()> {
        let _g = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match std::fs::remove_file(self.path(account)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

fn valid_draft(d: &Draft) -> bool {
    d.mailbox.len() <= 254
        && d.request_id.as_ref().is_none_or(|r| r.len() <= 128)
        && d.fields.len() <= DRAFT_FIELDS.len()
        && d.fields
            .iter()
            .all(|(k, v)| DRAFT_FIELDS.contains(&k.as_str()) && v.len() <= 256)
}

async fn signed_in(conn: &Connection) -> Result<String, CommandError> {
    conn.account().await.ok_or(CommandError::NotSignedIn)
}

#[tauri::command]
pub async fn draft_load(
    conn: State<'_, Connection>,
    drafts: State<'_, Drafts>,
) -> Result<Option<Draft>, CommandError> {
    Ok(drafts.load(&signed_in(&conn).await?))
}

#[tauri::command]
pub async fn draft_save(
    conn: State<'_, Connection>,
    drafts: State<'_, Drafts>,
    mut draft: Draft,
) -> Result<(), CommandError> {
    if !valid_draft(&draft) {
        return Err(localized(
            "draft.invalid",
            "La bozza contiene campi non previsti e non è stata salvata.",
            "The draft holds unexpected fields and was not saved.",
        ));
    }
    draft.saved_at = Some(Utc::now());
    let account = signed_in(&conn).await?;
    drafts.save(&account, &draft).map_err(|e| {
        tracing::warn!(error = %e, "could not save the wizard draft");
        localized(
            "draft.save_failed",
            "Non è stato possibile salvare la bozza sul disco: i dati restano finché l'app è aperta.",
            "The draft could not be saved to disk: the data stays while the app is open.",
        )
    })
}

#[tauri::command]
pub async fn draft_clear(
    conn: State<'_, Connection>,
    drafts: State<'_, Drafts>,
) -> Result<(), CommandError> {
    let account = signed_in(&conn).await?;
    drafts.clear(&account).map_err(|_| CommandError::Internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_refuse_fields_outside_the_allow_list() {
        let mut d = Draft {
            mailbox: "a@pec.test".into(),
            request_id: None,
            fields: BTreeMap::new(),
            saved_at: None,
        };
        d.fields
            .insert("tax_code".into(), "RSSMRA80A01H501U".into());
        assert!(valid_draft(&d));
        d.fields.insert("pin".into(), "12345678".into());
        assert!(!valid_draft(&d));
    }

    #[test]
    fn drafts_survive_a_restart_and_clear() {
        let dir = tempfile::tempdir().unwrap();
        let d = Draft {
            mailbox: "a@pec.test".into(),
            request_id: Some("req-1".into()),
            fields: [("email".to_owned(), "a@example.com".to_owned())].into(),
            saved_at: None,
        };
        Drafts::new(dir.path()).save("acc/1", &d).unwrap();
        assert_eq!(Drafts::new(dir.path()).load("acc/1"), Some(d));
        Drafts::new(dir.path()).clear("acc/1").unwrap();
        assert_eq!(Drafts::new(dir.path()).load("acc/1"), None);
    }

    #[test]
    fn field_checks_use_the_domain_rules() {
        let ok = check_field(FieldKind::CodiceFiscale, "rssmra80a01h501u");
        assert_eq!(ok.normalized.as_deref(), Some("RSSMRA80A01H501U"));
        let bad = check_field(FieldKind::CodiceFiscale, "RSSMRA80A01H501A");
        assert!(!bad.valid);
        let e = bad.error.unwrap();
        assert!(e.code.starts_with("cf."), "{}", e.code);
        assert!(!check_field(FieldKind::Email, "nope").valid);
    }

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(percent_decode("..%2F..%2Fetc%2Fpasswd"), "passwd");
        assert_eq!(
            percent_decode("visura%20camerale.pdf"),
            "visura camerale.pdf"
        );
        assert_eq!(percent_decode("%0A"), "documento");
    }

    #[test]
    fn documents_are_recognised_by_content() {
        assert_eq!(sniff(b"%PDF-1.7 ..."), Some("application/pdf"));
        assert_eq!(sniff(b"GIF89a"), None);
    }

    #[test]
    fn qr_codes_have_no_inline_style() {
        let svg = qr_svg("https://example.test/guida").unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(!svg.contains("style"));
    }
}
