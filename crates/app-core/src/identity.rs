//! The identity-confirmation wizard: the provider keeps the request and its step; the core
//! opens it, sends the user's actions, and carries the methods other than the card and the
//! signatures (SPID, CieID, webcam) and the documents of the legal-representative check.
//!
//! The e-mail OTP an action may carry is never logged: actions are logged by name only.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use pec_domain::Lang;
use pec_provider::api::{
    IdDocumentKind, IdentityAction, IdentityRequestView, SpidPoll, WebcamBooking,
    WebcamBookingRequest, WebcamSlot,
};
use serde::Serialize;

use crate::error::refusal;
use crate::{AppError, Core, Result, documents, qr};

/// Opens the wizard for a mailbox: the request already in progress, or a new one.
pub async fn start(core: &Core, address: &str) -> Result<IdentityRequestView> {
    let address = address.trim();
    let mailbox = core.conn.authed(move |c| c.mailbox(address)).await?;
    if let Some(id) = mailbox.active_identity_request.as_deref() {
        return core.conn.authed(move |c| c.identity_request(id)).await;
    }
    // One key for both tries of `authed`, so a refresh in between cannot create two requests.
    let key = pec_provider::new_key();
    let key = key.as_str();
    core.conn
        .authed(move |c| c.create_identity_request_keyed(address, key))
        .await
}

pub async fn get(core: &Core, id: &str) -> Result<IdentityRequestView> {
    core.conn.authed(move |c| c.identity_request(id)).await
}

/// Applies one wizard action (role, data, summary, method, terms, OTP, ...).
pub async fn act(core: &Core, id: &str, action: &IdentityAction) -> Result<IdentityRequestView> {
    let kind = action_name(action);
    let result = core.conn.authed(move |c| c.act(id, action)).await;
    match &result {
        Ok(view) => {
            tracing::info!(request = %view.id, action = kind, step = ?view.step, "wizard action")
        }
        Err(e) => tracing::info!(action = kind, code = %e.code(), "wizard action refused"),
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

/// Uploads a document for request `id` (see [`documents::checked`]) and returns the request.
pub async fn upload(
    core: &Core,
    id: &str,
    encoded_name: Option<&str>,
    bytes: &[u8],
) -> Result<IdentityRequestView> {
    let doc = documents::checked(encoded_name, bytes)?;
    let (media, size, name) = (doc.media, doc.bytes.len(), doc.filename.as_str());
    core.conn
        .authed(move |c| c.upload_document(id, name, media, bytes.to_vec()))
        .await?;
    tracing::info!(request = %id, media, size, "document uploaded");
    get(core, id).await
}

/// The QR code and link that continue the guide on a phone ("Apri su altro dispositivo").
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct Link {
    pub url: String,
    pub qr_svg: String,
}

pub async fn guide_link(core: &Core, lang: Lang) -> Result<Link> {
    let base = core.conn.provider().await?.base_url();
    let page = match lang {
        Lang::It => "guida/conferma-identita",
        Lang::En => "guide/identity-confirmation",
    };
    let url = format!("{}/{page}", base.trim_end_matches('/'));
    let qr_svg = qr::svg(&url)?;
    Ok(Link { url, qr_svg })
}

// ---------------------------------------------------------------------------------------------
// SPID

/// Login pages handed out by the provider, by request: only these can be opened. Replaced per
/// request, so it holds at most one page per request of this run.
#[derive(Default)]
pub struct SpidPages(Mutex<HashMap<String, String>>);

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct SpidStart {
    pub handle: String,
    pub login_url: String,
    pub expires_at: DateTime<Utc>,
    pub qr_svg: String,
}

/// Starts a SPID login for request `id`; the page must be the provider's own (same scheme,
/// host and port as its API), or it is refused.
pub async fn spid_start(core: &Core, id: &str) -> Result<SpidStart> {
    let login = core.conn.authed(move |c| c.start_spid(id)).await?;
    let provider =
        url::Url::parse(&core.conn.provider().await?.base_url()).map_err(|_| AppError::Internal)?;
    let page = url::Url::parse(&login.login_url).map_err(|_| AppError::Internal)?;
    if page.origin() != provider.origin() {
        return Err(refusal(
            "spid.foreign_page",
            "Il fornitore ha indicato una pagina di accesso SPID su un altro sito: per sicurezza non viene aperta.",
            "The provider gave a SPID login page on another site: for safety it is not opened.",
        ));
    }
    crate::lock(&core.spid.0).insert(id.to_owned(), login.login_url.clone());
    Ok(SpidStart {
        qr_svg: qr::svg(&login.login_url)?,
        handle: login.handle,
        login_url: login.login_url,
        expires_at: login.expires_at,
    })
}

/// The login page handed out for request `id`, the only one the front end may open.
pub fn spid_page(core: &Core, id: &str) -> Result<String> {
    crate::lock(&core.spid.0).get(id).cloned().ok_or_else(|| {
        refusal(
            "spid.not_started",
            "Avvia prima l'accesso SPID.",
            "Start the SPID login first.",
        )
    })
}

/// The refusal when the system browser cannot be opened.
pub fn browser_unavailable() -> AppError {
    refusal(
        "spid.browser_unavailable",
        "Non è stato possibile aprire il browser. Inquadra il codice QR con il telefono oppure copia il link.",
        "The browser could not be opened. Scan the QR code with your phone or copy the link.",
    )
}

pub async fn spid_poll(core: &Core, id: &str, handle: &str) -> Result<SpidPoll> {
    core.conn.authed(move |c| c.poll_spid(id, handle)).await
}

// ---------------------------------------------------------------------------------------------
// Webcam

pub async fn webcam_slots(core: &Core) -> Result<Vec<WebcamSlot>> {
    core.conn.authed(|c| c.webcam_slots()).await
}

pub async fn webcam_book(
    core: &Core,
    id: &str,
    starts_at: DateTime<Utc>,
    document: IdDocumentKind,
    language: Lang,
) -> Result<WebcamBooking> {
    let req = WebcamBookingRequest {
        starts_at,
        document,
        language: match language {
            Lang::It => "it".into(),
            Lang::En => "en".into(),
        },
    };
    let req = &req;
    core.conn.authed(move |c| c.book_webcam(id, req)).await
}
