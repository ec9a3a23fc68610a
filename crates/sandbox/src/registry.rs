//! The registry (OAM style, after the providers' registry guide): a public body that keeps, for each registered
//! professional, the PEC address it writes to. Not the PEC provider: its own accounts, sessions,
//! tables and routes under `/registry/v1`.
//!
//! Two paths change the PEC on record:
//!
//! - **private area**: "Modifica dati di registrazione" → new PEC and its confirmation → "Invia
//!   dati" → a link e-mailed to the *new* PEC, valid until 24:00 Europe/Rome of the day after
//!   receipt (`pec_domain::LinkDeadline`) → confirmed, or expired ("Scaduto il periodo di
//!   validità…") and a new request is needed;
//! - **support** (no access to the private area): problem type → *Cambio PEC* → "Accedi all'Area
//!   privata?" *No* → questionnaire → identity document → a ticket the author follows with its
//!   number and a secret; when the technical service accepts it, the same link goes to the new PEC.
//!
//! Expiry is decided when the link is used or read, against the sandbox clock: no background job
//! is needed, and moving the clock in a test is enough to expire a link.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use chrono::TimeDelta;
use pec_domain::{CodiceFiscale, DomainError, EmailAddress, LinkDeadline, Name, deadline::ROME};
use pec_provider::api::{
    DocumentView, PecChangeQuestionnaire, PecChangeRequest, PecChangeState, PecChangeView,
    PortalSession, RegistrationRecord, RegistrySignInRequest, SupportCategory, SupportDecision,
    SupportTicketCreated, SupportTicketRequest, SupportTicketState, SupportTicketView,
    SupportTopic, TICKET_TOKEN_HEADER,
};
use rusqlite::{OptionalExtension, params};
use serde::Deserialize;

use crate::auth::{
    SIGNIN_PER_MINUTE, check_password, finish_portal_sign_in, invalid_credentials, refuse_if_locked,
};
use crate::identity::{check_document, read_document};
use crate::mailboxes::idem_key;
use crate::problem::{ApiError, ApiResult};
use crate::rows::query_value;
use crate::state::{
    AppState, Ctx, UNAUTHENTICATED_WRITES_PER_MINUTE, ct_eq, idempotent, idempotent_redacted,
    new_id, new_token, parse_ts, sha256_hex, ts,
};

/// Portal sessions last 30 minutes: the private area is used for one task at a time.
pub const PORTAL_SESSION_TTL: TimeDelta = TimeDelta::minutes(30);

// ---------------------------------------------------------------------------------------------
// Portal sessions (shared with the renewal portal)

/// Creates a portal session for `subject`; only the token's hash is stored.
pub(crate) fn open_portal_session(
    ctx: &Ctx<'_>,
    portal: &str,
    subject: &str,
) -> ApiResult<PortalSession> {
    let token = new_token();
    let expires_at = ctx.now + PORTAL_SESSION_TTL;
    ctx.tx.execute(
        "INSERT INTO portal_sessions (token_hash, portal, subject, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![sha256_hex(&[portal.as_bytes(), token.as_bytes()]), portal, subject, ts(expires_at)],
    )?;
    Ok(PortalSession {
        access_token: token.into(),
        expires_at,
    })
}

/// The subject of the bearer token of `portal`, or 401.
pub(crate) async fn portal_subject(
    parts: &Parts,
    st: &Arc<AppState>,
    portal: &'static str,
) -> ApiResult<String> {
    let token = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
        .ok_or_else(ApiError::unauthorized)?;
    let hash = sha256_hex(&[portal.as_bytes(), token.as_bytes()]);
    st.read(move |ctx| {
        let row: Option<(String, String)> = ctx
            .tx
            .query_row(
                "SELECT subject, expires_at FROM portal_sessions WHERE token_hash = ?1 AND portal = ?2",
                params![hash, portal],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (subject, exp) = row.ok_or_else(ApiError::unauthorized)?;
        if parse_ts(&exp)? <= ctx.now {
            return Err(ApiError::unauthorized());
        }
        Ok(subject)
    })
    .await
}

/// A signed-in registry user.
pub(crate) struct RegistryAuth {
    username: String,
}

impl FromRequestParts<Arc<AppState>> for RegistryAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self {
            username: portal_subject(parts, state, "registry").await?,
        })
    }
}

/// The per-address rate limit of every sign-in, shared with the provider's.
pub(crate) fn rate_limit(st: &AppState, peer: SocketAddr) -> ApiResult<()> {
    st.signin_allowed(peer.ip(), SIGNIN_PER_MINUTE)
        .map_err(|wait| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "auth.rate_limited",
                "Troppi tentativi di accesso: riprova tra poco.",
                "Too many sign-in attempts: try again shortly.",
            )
            .retry_after(wait)
        })
}

// ---------------------------------------------------------------------------------------------
// Private area

/// Signs in to the registry's private area.
#[utoipa::path(post, path = "/registry/v1/sessions", tag = "registry",
    request_body = RegistrySignInRequest,
    responses((status = 201, description = "Signed in", body = PortalSession)))]
pub(crate) async fn sign_in(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(req): Json<RegistrySignInRequest>,
) -> ApiResult<(StatusCode, Json<PortalSession>)> {
    rate_limit(&st, peer)?;
    let username = req.username.trim().to_lowercase();
    if username.is_empty() || username.len() > 254 || req.password.len() > 1024 {
        return Err(invalid_credentials());
    }
    // Per user, with back-off (M3); the hash is checked outside the writer (M5).
    let key = format!("registry:{username}");
    let (k, u) = (key.clone(), username.clone());
    let hash = st
        .read(move |ctx| {
            refuse_if_locked(ctx, &k)?;
            Ok(query_value::<String>(
                ctx.tx,
                "SELECT password_hash FROM registry_users WHERE username = ?1",
                params![u],
            )?)
        })
        .await?;
    let ok = check_password(&st, req.password, hash).await?;
    st.run(move |ctx| {
        finish_portal_sign_in(ctx, &key, ok)?;
        let s = open_portal_session(ctx, "registry", &username)?;
        Ok((StatusCode::CREATED, Json(s)))
    })
    .await
}

/// The registration record ("Modifica dati di registrazione"), with the change waiting for its
/// link.
#[utoipa::path(get, path = "/registry/v1/registration", tag = "registry",
    security(("registry_session" = [])),
    responses((status = 200, description = "The record", body = RegistrationRecord)))]
pub(crate) async fn registration(
    State(st): State<Arc<AppState>>,
    auth: RegistryAuth,
) -> ApiResult<Json<RegistrationRecord>> {
    st.read(move |ctx| record(ctx, &auth.username).map(Json))
        .await
}

fn record(ctx: &Ctx<'_>, username: &str) -> ApiResult<RegistrationRecord> {
    let rec = ctx
        .tx
        .query_row(
            "SELECT username, last_name, first_name, phone, mobile, fax, email, pec
             FROM registry_users WHERE username = ?1",
            params![username],
            |r| {
                Ok(RegistrationRecord {
                    username: r.get(0)?,
                    last_name: r.get(1)?,
                    first_name: r.get(2)?,
                    phone: r.get(3)?,
                    mobile: r.get(4)?,
                    fax: r.get(5)?,
                    email: r.get(6)?,
                    pec: r.get(7)?,
                    pending_change: None,
                })
            },
        )
        .optional()?;
    let mut rec = rec.ok_or_else(ApiError::unauthorized)?;
    rec.pending_change = changes(ctx, username)?
        .into_iter()
        .find(|c| c.state == PecChangeState::Pending);
    Ok(rec)
}

/// "Invia dati": the new PEC and its confirmation. The link goes to the new PEC; an earlier
/// pending request is superseded (its link stops working). Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/registry/v1/registration/pec-changes", tag = "registry",
    security(("registry_session" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe create")),
    request_body = PecChangeRequest,
    responses((status = 201, description = "Link sent to the new PEC", body = PecChangeView)))]
pub(crate) async fn request_change(
    State(st): State<Arc<AppState>>,
    auth: RegistryAuth,
    headers: HeaderMap,
    Json(req): Json<PecChangeRequest>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let key = idem_key(&headers);
    st.run(move |ctx| {
        let fp = sha256_hex(&[
            b"pec-change",
            req.new_pec.as_bytes(),
            req.confirm_new_pec.as_bytes(),
        ]);
        let account = format!("registry:{}", auth.username);
        let (status, body) = idempotent(ctx, &account, key.as_deref(), &fp, |ctx| {
            let new_pec = check_new_pec(&req.new_pec, &req.confirm_new_pec)?;
            let old: String = ctx.tx.query_row(
                "SELECT pec FROM registry_users WHERE username = ?1",
                params![auth.username],
                |r| r.get(0),
            )?;
            if old.eq_ignore_ascii_case(&new_pec) {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "registry.pec_unchanged",
                    "La nuova PEC è uguale a quella già comunicata.",
                    "The new PEC is the same as the one on record.",
                ));
            }
            let v = start_change(ctx, &auth.username, &old, &new_pec)?;
            Ok((201, serde_json::to_value(v)?))
        })?;
        Ok((
            StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED),
            Json(body),
        ))
    })
    .await
}

/// Validates "Nuova PEC" and "Conferma Nuova PEC": equal (ignoring case and spaces around) and a
/// valid address. Returns the address in lowercase.
pub fn check_new_pec(new_pec: &str, confirm: &str) -> ApiResult<String> {
    if !new_pec.trim().eq_ignore_ascii_case(confirm.trim()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "registry.pec_mismatch",
            "I campi «Nuova PEC» e «Conferma Nuova PEC» non coincidono.",
            "\"New PEC\" and \"Confirm new PEC\" do not match.",
        ));
    }
    let address = EmailAddress::parse(new_pec).map_err(|e| ApiError::invalid(e.to_localized()))?;
    Ok(address.as_str().to_lowercase())
}

/// Supersedes pending changes, records a new one and e-mails its link to the new PEC.
fn start_change(
    ctx: &Ctx<'_>,
    username: &str,
    old_pec: &str,
    new_pec: &str,
) -> ApiResult<PecChangeView> {
    ctx.tx.execute(
        "UPDATE registry_pec_changes SET state = 'superseded' WHERE username = ?1 AND state = 'pending'",
        params![username],
    )?;
    let id = new_id("pecchg");
    let token = new_token();
    ctx.tx.execute(
        "INSERT INTO registry_pec_changes (id, username, old_pec, new_pec, token_hash, state, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6)",
        params![id, username, old_pec, new_pec, link_hash(&token), ts(ctx.now)],
    )?;
    // The sandbox delivers at once: the receipt instant is the request instant.
    let deadline = LinkDeadline::for_receipt(ctx.now);
    let day = deadline.valid_through.format("%d/%m/%Y");
    let link = format!("{}/registry/v1/pec-confirmations/{token}", ctx.st.base_url);
    crate::state::send_mail(
        ctx,
        new_pec,
        "Conferma modifica indirizzo PEC / Confirm the change of PEC address",
        &format!(
            "Per confermare il nuovo indirizzo PEC {new_pec} clicca sul link: {link}\n\
             Il link è valido entro e non oltre le ore 24 del {day} (ora italiana). \
             Scaduto il periodo di validità sarà necessario effettuare nuovamente la richiesta di modifica.\n\n\
             To confirm the new PEC address {new_pec} open the link: {link}\n\
             The link works until 24:00 of {day} (Italian time); after that a new request is needed.\n"
        ),
    )?;
    load_change(ctx, &id)
}

fn link_hash(token: &str) -> String {
    sha256_hex(&[b"pec-change-link", token.as_bytes()])
}

/// Changes of PEC requested by the signed-in user, newest first (by request order, not by
/// timestamp: the sandbox clock may be moved backwards), with state and deadline.
#[utoipa::path(get, path = "/registry/v1/registration/pec-changes", tag = "registry",
    security(("registry_session" = [])),
    responses((status = 200, description = "Changes, newest first", body = Vec<PecChangeView>)))]
pub(crate) async fn list_changes(
    State(st): State<Arc<AppState>>,
    auth: RegistryAuth,
) -> ApiResult<Json<Vec<PecChangeView>>> {
    st.read(move |ctx| changes(ctx, &auth.username).map(Json))
        .await
}

fn changes(ctx: &Ctx<'_>, username: &str) -> ApiResult<Vec<PecChangeView>> {
    let ids: Vec<String> = ctx
        .tx
        .prepare(
            "SELECT id FROM registry_pec_changes WHERE username = ?1
             ORDER BY rowid DESC LIMIT 100",
        )?
        .query_map(params![username], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    ids.iter().map(|id| load_change(ctx, id)).collect()
}

fn load_change(ctx: &Ctx<'_>, id: &str) -> ApiResult<PecChangeView> {
    let (old_pec, new_pec, state, received, confirmed): (
        String,
        String,
        String,
        String,
        Option<String>,
    ) = ctx
        .tx
        .query_row(
            "SELECT old_pec, new_pec, state, received_at, confirmed_at FROM registry_pec_changes WHERE id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?
        .ok_or_else(|| ApiError::not_found("Richiesta", "Request"))?;
    let deadline = LinkDeadline::for_receipt(parse_ts(&received)?);
    let mut state = match state.as_str() {
        "confirmed" => PecChangeState::Confirmed,
        "expired" => PecChangeState::Expired,
        "superseded" => PecChangeState::Superseded,
        _ => PecChangeState::Pending,
    };
    // A pending link past its deadline is expired whether or not anyone tried it.
    if state == PecChangeState::Pending && deadline.is_expired(ctx.now) {
        state = PecChangeState::Expired;
    }
    let day = deadline.valid_through.format("%d/%m/%Y");
    let (notice_it, notice_en) = match state {
        PecChangeState::Pending => (
            format!(
                "Controlla i messaggi in arrivo a {new_pec}: ti abbiamo inviato il link di conferma, \
                 valido entro e non oltre le ore 24 del {day}. Verifica la corretta ricezione anche \
                 nella cartella spam della PEC."
            ),
            format!(
                "Check the messages arriving at {new_pec}: the confirmation link was sent there and \
                 works until 24:00 of {day} (Italian time). Check the PEC's spam folder too."
            ),
        ),
        PecChangeState::Confirmed => (
            format!("Modifica confermata: la PEC registrata è ora {new_pec}."),
            format!("Change confirmed: the PEC on record is now {new_pec}."),
        ),
        PecChangeState::Expired => (
            link_expired().localized.message_it,
            link_expired().localized.message_en,
        ),
        PecChangeState::Superseded => (
            "Sostituita da una richiesta successiva: vale solo il link più recente.".to_owned(),
            "Replaced by a later request: only the latest link works.".to_owned(),
        ),
    };
    Ok(PecChangeView {
        id: id.to_owned(),
        old_pec,
        new_pec,
        state,
        state_label_it: state.label_it().to_owned(),
        deadline: deadline.into(),
        confirmed_at: confirmed.as_deref().map(parse_ts).transpose()?,
        notice_it,
        notice_en,
    })
}

/// The seed's error after the deadline.
fn link_expired() -> ApiError {
    ApiError::new(
        StatusCode::GONE,
        "registry.link_expired",
        "Scaduto il periodo di validità del link di conferma (ore 24 del giorno successivo alla \
         ricezione della PEC): è necessario effettuare nuovamente la richiesta di modifica.",
        "The confirmation link has expired (it worked until 24:00 of the day after the PEC was \
         received): request the change again.",
    )
}

/// Uses the confirmation link from the PEC: the new PEC goes on record, or the seed's error if
/// its validity has ended. Needs no session (the link is the proof of access to the new PEC).
#[utoipa::path(post, path = "/registry/v1/pec-confirmations/{token}", tag = "registry",
    params(("token" = String, Path, description = "The token of the link")),
    responses((status = 200, description = "Confirmed", body = PecChangeView)))]
pub(crate) async fn confirm(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
) -> ApiResult<Json<PecChangeView>> {
    st.write_allowed(peer.ip(), UNAUTHENTICATED_WRITES_PER_MINUTE)?;
    st.run(move |ctx| {
        let row: Option<(String, String, String, String)> = ctx
            .tx
            .query_row(
                "SELECT id, username, new_pec, state FROM registry_pec_changes WHERE token_hash = ?1",
                params![link_hash(&token)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((id, username, new_pec, _)) = row else {
            return Err(ApiError::not_found("Link", "Link"));
        };
        let view = load_change(ctx, &id)?;
        match view.state {
            PecChangeState::Pending => {}
            PecChangeState::Confirmed => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "registry.link_used",
                    "Il link è già stato usato: la modifica è confermata.",
                    "The link was already used: the change is confirmed.",
                ));
            }
            PecChangeState::Superseded => {
                return Err(ApiError::new(
                    StatusCode::GONE,
                    "registry.link_superseded",
                    "Il link non è più valido: è stata fatta una richiesta di modifica più recente.",
                    "The link no longer works: a later change was requested.",
                ));
            }
            PecChangeState::Expired => {
                // Recorded (the transaction commits on error too), so listings agree.
                ctx.tx.execute(
                    "UPDATE registry_pec_changes SET state = 'expired' WHERE id = ?1",
                    params![id],
                )?;
                return Err(link_expired());
            }
        }
        ctx.tx.execute(
            "UPDATE registry_pec_changes SET state = 'confirmed', confirmed_at = ?1 WHERE id = ?2",
            params![ts(ctx.now), id],
        )?;
        ctx.tx.execute(
            "UPDATE registry_users SET pec = ?1 WHERE username = ?2",
            params![new_pec, username],
        )?;
        crate::state::send_mail(
            ctx,
            &new_pec,
            "Modifica indirizzo PEC completata / PEC address changed",
            &format!(
                "Il nuovo indirizzo PEC {new_pec} è stato registrato.\n\n\
                 The new PEC address {new_pec} is now on record.\n"
            ),
        )?;
        load_change(ctx, &id).map(Json)
    })
    .await
}

/// The page the e-mailed link opens: what the change is and until when it can be confirmed, with
/// a button that POSTs the confirmation. Confirming only on POST keeps mail scanners that prefetch
/// links from confirming a change nobody clicked.
#[utoipa::path(get, path = "/registry/v1/pec-confirmations/{token}", tag = "registry",
    params(("token" = String, Path, description = "The token of the link")),
    responses((status = 200, description = "The confirmation page", content_type = "text/html", body = String)))]
pub(crate) async fn confirm_page(
    State(st): State<Arc<AppState>>,
    Path(token): Path<String>,
) -> ApiResult<axum::response::Html<String>> {
    st.read(move |ctx| {
        let id: Option<String> = ctx
            .tx
            .query_row(
                "SELECT id FROM registry_pec_changes WHERE token_hash = ?1",
                params![link_hash(&token)],
                |r| r.get(0),
            )
            .optional()?;
        let id = id.ok_or_else(|| ApiError::not_found("Link", "Link"))?;
        let v = load_change(ctx, &id)?;
        let until = v
            .deadline
            .expires_at
            .with_timezone(&ROME)
            .format("%d/%m/%Y %H:%M");
        let button = if v.state == PecChangeState::Pending {
            "<form method=\"post\"><button>Conferma / Confirm</button></form>"
        } else {
            ""
        };
        Ok(axum::response::Html(format!(
            "<!doctype html><html lang=\"it\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width\">\
             <title>Conferma nuova PEC</title></head><body><h1>Conferma nuova PEC</h1>\
             <p>Nuova PEC / New PEC: <b>{}</b></p><p>Stato / State: {}</p>\
             <p>Valido fino a / Valid until: {until} (Europe/Rome)</p><p>{}</p>{button}</body></html>",
            escape_html(&v.new_pec),
            escape_html(&v.state_label_it),
            escape_html(&v.notice_it),
        )))
    })
    .await
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

// ---------------------------------------------------------------------------------------------
// Support tickets

fn category_code(c: SupportCategory) -> &'static str {
    match c {
        SupportCategory::Registration => "registration",
        SupportCategory::PrivateArea => "private_area",
        SupportCategory::Proceedings => "proceedings",
        SupportCategory::PersonalDataChange => "personal_data_change",
        SupportCategory::Exams => "exams",
        SupportCategory::ListsAndRegisters => "lists_and_registers",
        SupportCategory::Other => "other",
    }
}

fn topic_code(t: SupportTopic) -> &'static str {
    match t {
        SupportTopic::ServicesUnavailable => "services_unavailable",
        SupportTopic::AccountLocked => "account_locked",
        SupportTopic::PecChange => "pec_change",
        SupportTopic::SoftwareProblem => "software_problem",
    }
}

fn ticket_state_code(s: SupportTicketState) -> &'static str {
    match s {
        SupportTicketState::AwaitingDocument => "awaiting_document",
        SupportTicketState::InReview => "in_review",
        SupportTicketState::Resolved => "resolved",
        SupportTicketState::Rejected => "rejected",
    }
}

fn field_error(code: &str, it: &str, en: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, it, en)
}

/// Checks the questionnaire of a change of PEC with the domain's validators.
fn check_questionnaire(q: &PecChangeQuestionnaire) -> ApiResult<PecChangeQuestionnaire> {
    let reason = q.reason.trim();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(field_error(
            "support.reason_required",
            "Indica il motivo per cui non accedi all'Area privata (al massimo 2000 caratteri).",
            "Say why you cannot reach the private area (2000 characters at most).",
        ));
    }
    let first = Name::parse(&q.first_name).map_err(|e| ApiError::invalid(e.to_localized()))?;
    let last = Name::parse(&q.last_name).map_err(|e| ApiError::invalid(e.to_localized()))?;
    let cf = CodiceFiscale::parse(&q.tax_code).map_err(|e| ApiError::invalid(e.to_localized()))?;
    let phone: String = q
        .phone
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '/')
        .collect();
    let digits = phone.strip_prefix('+').unwrap_or(&phone);
    if !(6..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(field_error(
            "support.phone_invalid",
            "Il numero di telefono non è valido (da 6 a 15 cifre).",
            "The phone number is not valid (6 to 15 digits).",
        ));
    }
    let pec = EmailAddress::parse(&q.new_pec).map_err(|e| ApiError::invalid(e.to_localized()))?;
    Ok(PecChangeQuestionnaire {
        reason: reason.to_owned(),
        first_name: first.as_str().to_owned(),
        last_name: last.as_str().to_owned(),
        tax_code: cf.as_str().to_owned(),
        phone,
        new_pec: pec.as_str().to_lowercase(),
    })
}

/// Opens a support ticket ("Assistenza 24 ore su 24", problemi tecnici). For *Cambio PEC* the
/// answer to "Accedi all'Area privata?" decides: *Sì* → use the private area; *No* → the
/// questionnaire, then the identity document. Answers the ticket and a secret to follow it.
/// Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/registry/v1/support/tickets", tag = "registry",
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe create")),
    request_body = SupportTicketRequest,
    responses((status = 201, description = "Opened", body = SupportTicketCreated)))]
pub(crate) async fn open_ticket(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(req): Json<SupportTicketRequest>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    // Anyone may open a ticket (the point is helping who cannot sign in): a limit per address
    // and one for the whole service keep that from filling the disk (M5).
    st.write_allowed(peer.ip(), UNAUTHENTICATED_WRITES_PER_MINUTE)?;
    let key = idem_key(&headers);
    let fp = sha256_hex(&[b"ticket", serde_json::to_string(&req)?.as_bytes()]);
    // Anonymous callers have no account to scope keys by: the namespace is the request itself,
    // so a key names one ticket of one request and nothing else.
    let namespace = format!("registry-support:{fp}");
    st.run(move |ctx| {
        let (status, mut body) = idempotent_redacted(ctx, &namespace, key.as_deref(), &fp, &["/follow_token"], |ctx| {
            let recent: i64 = ctx.tx.query_row(
                "SELECT COUNT(*) FROM registry_tickets WHERE created_at > ?1",
                params![ts(ctx.now - TimeDelta::hours(1))],
                |r| r.get(0),
            )?;
            if recent >= TICKETS_PER_HOUR {
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "support.busy",
                    "Il servizio di assistenza ha ricevuto troppe segnalazioni: riprova tra poco.",
                    "The support service has received too many tickets: try again shortly.",
                )
                .retry_after(600));
            }
            // What is sent is checked even where the topic does not use it: a malformed
            // field is refused, never silently dropped.
            let checked_questionnaire =
                req.questionnaire.as_ref().map(check_questionnaire).transpose()?;
            let checked_description = match req.description.as_deref().map(str::trim) {
                Some(d) if !d.is_empty() && d.chars().count() <= 4000 => Some(d.to_owned()),
                Some(_) => {
                    return Err(field_error(
                        "support.description_required",
                        "Descrivi il problema (al massimo 4000 caratteri).",
                        "Describe the problem (4000 characters at most).",
                    ));
                }
                None => None,
            };
            let (questionnaire, description, state) = if req.topic == SupportTopic::PecChange {
                if req.private_area_access {
                    return Err(field_error(
                        "support.use_private_area",
                        "Se accedi all'Area privata, comunica la nuova PEC da «Modifica dati di registrazione».",
                        "If you can reach the private area, give the new PEC in \"Modifica dati di registrazione\".",
                    ));
                }
                let q = checked_questionnaire.ok_or_else(|| {
                    field_error(
                        "support.questionnaire_required",
                        "Compila il questionario per la richiesta di cambio PEC.",
                        "Fill in the questionnaire of the change of PEC.",
                    )
                })?;
                (Some(serde_json::to_string(&q)?), None, SupportTicketState::AwaitingDocument)
            } else {
                let d = checked_description.ok_or_else(|| {
                    field_error(
                        "support.description_required",
                        "Descrivi il problema (al massimo 4000 caratteri).",
                        "Describe the problem (4000 characters at most).",
                    )
                })?;
                (None, Some(d), SupportTicketState::InReview)
            };
            let year = ctx.now.with_timezone(&ROME).format("%Y").to_string();
            let number = format!("OAM-{year}-{:06}", next_ticket_number(ctx, &year)?);
            let token = new_token();
            ctx.tx.execute(
                "INSERT INTO registry_tickets (number, token_hash, category, topic, questionnaire, description, state, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                params![
                    number,
                    ticket_hash(&token),
                    category_code(req.category),
                    topic_code(req.topic),
                    questionnaire,
                    description,
                    ticket_state_code(state),
                    ts(ctx.now)
                ],
            )?;
            let v = SupportTicketCreated {
                ticket: ticket_view(ctx, &number)?,
                follow_token: token,
            };
            Ok((201, serde_json::to_value(v)?))
        })?;
        // A repeat (the first answer lost on the way): the secret was never stored, so the
        // ticket gets a new one, and the old one, which nobody received, stops working.
        if body.get("follow_token").is_none() {
            let number = body
                .pointer("/ticket/number")
                .and_then(|n| n.as_str())
                .ok_or_else(|| ApiError::internal(&"stored ticket answer without number"))?
                .to_owned();
            let token = new_token();
            ctx.tx.execute(
                "UPDATE registry_tickets SET token_hash = ?1 WHERE number = ?2",
                params![ticket_hash(&token), number],
            )?;
            if let Some(map) = body.as_object_mut() {
                map.insert("follow_token".into(), serde_json::Value::String(token));
            }
        }
        Ok((
            StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED),
            Json(body),
        ))
    })
    .await
}

/// Tickets opened in an hour, at most, whoever opens them.
pub const TICKETS_PER_HOUR: i64 = 200;

/// The next ticket number of `year`: a counter, not a count of the rows (old tickets are
/// pruned, and a number must never come back).
fn next_ticket_number(ctx: &Ctx<'_>, year: &str) -> ApiResult<i64> {
    let key = format!("ticket_seq:{year}");
    let current: i64 = query_value::<String>(
        ctx.tx,
        "SELECT value FROM settings WHERE key = ?1",
        params![key],
    )?
    .and_then(|v| v.parse().ok())
    .unwrap_or(0);
    let next = current.saturating_add(1);
    ctx.tx.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, next.to_string()],
    )?;
    Ok(next)
}

fn ticket_hash(token: &str) -> String {
    sha256_hex(&[b"ticket", token.as_bytes()])
}

/// Checks the follow-up secret; a wrong one answers like a missing ticket.
fn check_ticket_token(ctx: &Ctx<'_>, number: &str, token: Option<&str>) -> ApiResult<()> {
    let stored: Option<String> = ctx
        .tx
        .query_row(
            "SELECT token_hash FROM registry_tickets WHERE number = ?1",
            params![number],
            |r| r.get(0),
        )
        .optional()?;
    match (stored, token) {
        (Some(h), Some(t)) if ct_eq(&h, &ticket_hash(t)) => Ok(()),
        _ => Err(ApiError::not_found("Segnalazione", "Ticket")),
    }
}

fn ticket_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(TICKET_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn ticket_view(ctx: &Ctx<'_>, number: &str) -> ApiResult<SupportTicketView> {
    let (category, topic, state, created, updated): (String, String, String, String, String) = ctx
        .tx
        .query_row(
            "SELECT category, topic, state, created_at, updated_at FROM registry_tickets WHERE number = ?1",
            params![number],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?
        .ok_or_else(|| ApiError::not_found("Segnalazione", "Ticket"))?;
    let category: SupportCategory = serde_json::from_value(serde_json::Value::String(category))?;
    let topic: SupportTopic = serde_json::from_value(serde_json::Value::String(topic))?;
    let state: SupportTicketState = serde_json::from_value(serde_json::Value::String(state))?;
    let document = ctx
        .tx
        .query_row(
            "SELECT id, filename, media_type, size, uploaded_at FROM registry_ticket_documents WHERE ticket = ?1",
            params![number],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, u64>(3)?,
                    r.get::<_, String>(4)?,
                ))
            },
        )
        .optional()?
        .map(|(id, filename, media_type, size, at)| {
            Ok::<_, ApiError>(DocumentView {
                id,
                filename,
                media_type,
                size,
                uploaded_at: parse_ts(&at)?,
            })
        })
        .transpose()?;
    let (notice_it, notice_en) = match state {
        SupportTicketState::AwaitingDocument => (
            "Per validare la richiesta allega un documento di riconoscimento in corso di validità (PDF, JPEG o PNG).",
            "To validate the request attach a valid identity document (PDF, JPEG or PNG).",
        ),
        SupportTicketState::InReview => (
            "La richiesta è in lavorazione presso il servizio tecnico.",
            "The technical service is working on the request.",
        ),
        SupportTicketState::Resolved if topic == SupportTopic::PecChange => (
            "Richiesta accolta: clicca sul link di conferma inviato alla nuova PEC entro le ore 24 del giorno successivo alla ricezione (controlla anche la cartella spam).",
            "Request accepted: open the confirmation link sent to the new PEC by 24:00 of the day after receipt (check the spam folder too).",
        ),
        SupportTicketState::Resolved => ("Richiesta risolta.", "Request resolved."),
        SupportTicketState::Rejected => (
            "Richiesta respinta: il documento non consente di validarla. Puoi aprire una nuova segnalazione.",
            "Request refused: the document does not validate it. You can open a new ticket.",
        ),
    };
    Ok(SupportTicketView {
        number: number.to_owned(),
        category,
        topic,
        state,
        state_label_it: state.label_it().to_owned(),
        document,
        created_at: parse_ts(&created)?,
        updated_at: parse_ts(&updated)?,
        notice_it: notice_it.to_owned(),
        notice_en: notice_en.to_owned(),
    })
}

/// A support ticket, for its author (secret in the `Ticket-Token` header).
#[utoipa::path(get, path = "/registry/v1/support/tickets/{number}", tag = "registry",
    params(("number" = String, Path, description = "Ticket number"),
           ("Ticket-Token" = String, Header, description = "The ticket's follow-up secret")),
    responses((status = 200, description = "The ticket", body = SupportTicketView)))]
pub(crate) async fn get_ticket(
    State(st): State<Arc<AppState>>,
    Path(number): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<SupportTicketView>> {
    let token = ticket_token(&headers);
    st.read(move |ctx| {
        check_ticket_token(ctx, &number, token.as_deref())?;
        ticket_view(ctx, &number).map(Json)
    })
    .await
}

/// Query of a ticket document upload.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct TicketDocumentQuery {
    /// File name, e.g. `carta-identita.pdf`: its extension must agree with the content.
    filename: String,
}

/// Attaches the identity document (PDF, JPEG or PNG by content, at most 5 MiB): the ticket goes
/// to the technical service. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/registry/v1/support/tickets/{number}/document", tag = "registry",
    params(("number" = String, Path, description = "Ticket number"), TicketDocumentQuery,
           ("Ticket-Token" = String, Header, description = "The ticket's follow-up secret"),
           ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe create")),
    request_body(content = crate::identity::DocumentBytes, content_type = "application/octet-stream",
                 description = "The file's bytes"),
    responses((status = 201, description = "Attached", body = SupportTicketView)))]
pub(crate) async fn attach_document(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(number): Path<String>,
    Query(q): Query<TicketDocumentQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    // Without its token the request cannot be about any ticket: answered before it counts
    // against the address's limit, as the same 404 as a wrong token (no oracle).
    let Some(token) = ticket_token(&headers) else {
        return Err(ApiError::not_found("Segnalazione", "Ticket"));
    };
    st.write_allowed(peer.ip(), UNAUTHENTICATED_WRITES_PER_MINUTE)?;
    let (bytes, declared) = read_document(&headers, body).await?;
    let key = idem_key(&headers);
    st.run(move |ctx| {
        check_ticket_token(ctx, &number, Some(&token))?;
        let fp = sha256_hex(&[b"ticket-document", q.filename.as_bytes(), &bytes]);
        let account = format!("ticket:{number}");
        let (status, body) = idempotent(ctx, &account, key.as_deref(), &fp, |ctx| {
            let state: String = ctx.tx.query_row(
                "SELECT state FROM registry_tickets WHERE number = ?1",
                params![number],
                |r| r.get(0),
            )?;
            if state != "awaiting_document" {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "support.document_not_expected",
                    "Questa segnalazione non attende documenti.",
                    "This ticket is not waiting for a document.",
                ));
            }
            let media_type = check_document(&q.filename, declared.as_deref(), &bytes)?;
            crate::identity::check_document_space(ctx, bytes.len())?;
            let filename: String = q.filename.trim().chars().take(200).collect();
            ctx.tx.execute(
                "INSERT INTO registry_ticket_documents (id, ticket, filename, media_type, size, content, uploaded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![new_id("doc"), number, filename, media_type, bytes.len() as u64, bytes.as_ref(), ts(ctx.now)],
            )?;
            ctx.tx.execute(
                "UPDATE registry_tickets SET state = 'in_review', updated_at = ?1 WHERE number = ?2",
                params![ts(ctx.now), number],
            )?;
            Ok((201, serde_json::to_value(ticket_view(ctx, &number)?)?))
        })?;
        Ok((
            StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED),
            Json(body),
        ))
    })
    .await
}

/// The technical service decides on a ticket in review. Accepting a change of PEC sends the
/// confirmation link to the new PEC of the registration with the questionnaire's codice fiscale.
#[utoipa::path(post, path = "/sandbox/registry/tickets/{number}/decision", tag = "sandbox",
    params(("number" = String, Path, description = "Ticket number")),
    request_body = SupportDecision,
    responses((status = 200, description = "The ticket after the decision", body = SupportTicketView)))]
pub(crate) async fn decide_ticket(
    State(st): State<Arc<AppState>>,
    Path(number): Path<String>,
    Json(req): Json<SupportDecision>,
) -> ApiResult<Json<SupportTicketView>> {
    st.run(move |ctx| {
        let view = ticket_view(ctx, &number)?;
        if view.state != SupportTicketState::InReview {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "support.not_in_review",
                "La segnalazione non è in lavorazione.",
                "The ticket is not in review.",
            ));
        }
        let mut state = if req.approved { "resolved" } else { "rejected" };
        if req.approved && view.topic == SupportTopic::PecChange {
            let q: Option<String> = ctx.tx.query_row(
                "SELECT questionnaire FROM registry_tickets WHERE number = ?1",
                params![number],
                |r| r.get(0),
            )?;
            let q: Option<PecChangeQuestionnaire> =
                q.as_deref().map(serde_json::from_str).transpose()?;
            let user: Option<(String, String)> = match &q {
                Some(q) => ctx
                    .tx
                    .query_row(
                        "SELECT username, pec FROM registry_users WHERE tax_code = ?1",
                        params![q.tax_code],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?,
                None => None,
            };
            match (q, user) {
                (Some(q), Some((username, old))) if !old.eq_ignore_ascii_case(&q.new_pec) => {
                    start_change(ctx, &username, &old, &q.new_pec)?;
                }
                // Nobody registered with that codice fiscale: nothing to change.
                (_, None) => state = "rejected",
                _ => {}
            }
        }
        ctx.tx.execute(
            "UPDATE registry_tickets SET state = ?1, updated_at = ?2 WHERE number = ?3",
            params![state, ts(ctx.now), number],
        )?;
        ticket_view(ctx, &number).map(Json)
    })
    .await
}
