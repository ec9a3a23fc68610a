//! Identity requests: creation, user actions through the domain state machine, the e-mailed OTP,
//! delegation links, document upload, and the provider's evaluation of an identification.
//!
//! The request itself is the domain's [`IdentityRequest`], stored as JSON; this module adds what
//! only a provider knows: OTP codes and attempts, documents, registries, e-mails.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, TimeDelta, Utc};
use pec_domain::identity::OTP_VALIDITY;
use pec_domain::{
    CodiceFiscale, EmailAddress, Holder, HolderDraft, IdentificationMethod, IdentityEvent,
    IdentityRequest, IdentityState, Lang, LinkDeadline, PracticeNumber, TaxCode, TermsAcceptance,
    TransitionError,
};
use pec_provider::api::{
    DelegationView, DocumentView, DraftData, HolderKindData, IdentityAction, IdentityRequestView,
    IdentityStateData, MethodData, OutcomeData, StepData,
};
use rand::Rng;
use rusqlite::{OptionalExtension, params};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::mailboxes::{idem_key, load_mailbox, set_mailbox_state};
use crate::problem::{ApiError, ApiResult};
use crate::state::{
    AppState, Ctx, idempotent, new_id, new_token, notify, parse_ts, random_bytes, send_mail,
    sha256_hex, ts,
};

/// Wrong OTP codes allowed before the code is locked (a new one must be requested).
pub const MAX_OTP_ATTEMPTS: u32 = 5;
/// "Invia di nuovo" is available this long after the last code was sent.
pub const RESEND_COOLDOWN: TimeDelta = TimeDelta::seconds(30);
/// Resends allowed per request.
pub const MAX_RESENDS: u32 = 5;
/// Largest document accepted.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024 * 1024;
/// Documents per request.
pub const MAX_DOCUMENTS: i64 = 10;

/// A stored request with the provider's extra data.
pub(crate) struct ReqRow {
    pub id: String,
    pub account_id: String,
    pub mailbox: String,
    pub req: IdentityRequest,
    pub otp_hash: Option<String>,
    pub otp_attempts: u32,
    pub updated_at: DateTime<Utc>,
}

/// A request row as SQLite returns it.
type RawRequest = (String, String, String, String, Option<String>, u32, String);

pub(crate) fn load_request(ctx: &Ctx<'_>, account_id: &str, id: &str) -> ApiResult<ReqRow> {
    let row: Option<RawRequest> = ctx
        .tx
        .query_row(
            "SELECT id, account_id, mailbox, state, otp_hash, otp_attempts, updated_at
             FROM identity_requests WHERE id = ?1 AND account_id = ?2",
            params![id, account_id],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )
        .optional()?;
    let Some((id, account_id, mailbox, state, otp_hash, otp_attempts, updated)) = row else {
        return Err(ApiError::not_found("Richiesta", "Identity request"));
    };
    Ok(ReqRow {
        id,
        account_id,
        mailbox,
        req: serde_json::from_str(&state)?,
        otp_hash,
        otp_attempts,
        updated_at: parse_ts(&updated)?,
    })
}

/// Loads a request by id alone (operator and IdP endpoints, which have no account).
pub(crate) fn load_request_any(ctx: &Ctx<'_>, id: &str) -> ApiResult<ReqRow> {
    let account: Option<String> = ctx
        .tx
        .query_row(
            "SELECT account_id FROM identity_requests WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )
        .optional()?;
    match account {
        Some(a) => load_request(ctx, &a, id),
        None => Err(ApiError::not_found("Richiesta", "Identity request")),
    }
}

/// Persists the request and mirrors its state on the mailbox.
pub(crate) fn save_request(ctx: &Ctx<'_>, row: &mut ReqRow) -> ApiResult<()> {
    row.updated_at = ctx.now;
    // The delegating user's request ends, but the mailbox still waits for the holder.
    let active = !row.req.is_terminal();
    ctx.tx.execute(
        "UPDATE identity_requests SET state = ?1, active = ?2, otp_hash = ?3, otp_attempts = ?4,
                updated_at = ?5 WHERE id = ?6",
        params![
            serde_json::to_string(&row.req)?,
            active,
            row.otp_hash,
            row.otp_attempts,
            ts(ctx.now),
            row.id
        ],
    )?;
    if !matches!(row.req, IdentityRequest::DelegationLinkSent { .. }) {
        set_mailbox_state(ctx, &row.mailbox, row.req.state())?;
    }
    Ok(())
}

/// Applies a domain event, mapping a refusal to a problem: 409 when the request's state decides
/// (steps out of order, data for another kind of holder than the role chosen before), 410 for
/// an expired code, 422 for what the request itself gets wrong.
pub(crate) fn apply(row: &mut ReqRow, event: IdentityEvent) -> ApiResult<()> {
    row.req = row.req.apply(event).map_err(transition_error)?;
    Ok(())
}

fn transition_error(e: TransitionError) -> ApiError {
    let status = match e {
        TransitionError::Illegal { .. } | TransitionError::HolderKindMismatch { .. } => {
            StatusCode::CONFLICT
        }
        TransitionError::OtpExpired => StatusCode::GONE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::domain(status, &e)
}

pub(crate) fn draft_of(req: &IdentityRequest) -> Option<&HolderDraft> {
    use IdentityRequest as S;
    match req {
        S::Summary { draft }
        | S::ChoosingMethod { draft }
        | S::Identifying { draft, .. }
        | S::Identified { draft, .. }
        | S::AcceptingTerms { draft, .. }
        | S::OtpSent { draft, .. }
        | S::Completed { draft, .. }
        | S::DataMismatch { draft, .. }
        | S::LegalPersonCeased { draft }
        | S::DocumentsMissing { draft, .. }
        | S::ChecksInProgress { draft, .. } => Some(draft),
        S::EnteringData { previous, .. } => previous.as_ref(),
        _ => None,
    }
}

fn method_of(req: &IdentityRequest) -> Option<IdentificationMethod> {
    use IdentityRequest as S;
    match req {
        S::Identifying { method, .. }
        | S::Identified { method, .. }
        | S::AcceptingTerms { method, .. }
        | S::OtpSent { method, .. }
        | S::Completed { method, .. }
        | S::DataMismatch { method, .. }
        | S::DocumentsMissing { method, .. }
        | S::ChecksInProgress { method, .. } => Some(*method),
        _ => None,
    }
}

pub(crate) fn view(ctx: &Ctx<'_>, row: &ReqRow) -> ApiResult<IdentityRequestView> {
    let step: StepData =
        serde_json::from_value(serde_json::Value::String(row.req.step_name().to_owned()))?;
    let state = row.req.state();
    let outcome = row.req.outcome();
    let (otp_expires_at, attempts_left, resend_at) = match &row.req {
        IdentityRequest::OtpSent { sent_at, .. } => (
            Some(*sent_at + OTP_VALIDITY),
            Some(MAX_OTP_ATTEMPTS.saturating_sub(row.otp_attempts)),
            Some(*sent_at + RESEND_COOLDOWN),
        ),
        _ => (None, None, None),
    };
    let practice_number = match &row.req {
        IdentityRequest::DocumentsMissing {
            practice_number, ..
        }
        | IdentityRequest::ChecksInProgress {
            practice_number, ..
        } => Some(practice_number.as_str().to_owned()),
        _ => None,
    };
    Ok(IdentityRequestView {
        id: row.id.clone(),
        mailbox: row.mailbox.clone(),
        step,
        state: IdentityStateData::from(state),
        state_label_it: state.label(Lang::It).to_owned(),
        outcome: outcome.as_ref().map(|o| match o {
            pec_domain::IdentityOutcome::DataMismatch => OutcomeData::DataMismatch,
            pec_domain::IdentityOutcome::LegalPersonCeased => OutcomeData::LegalPersonCeased,
            pec_domain::IdentityOutcome::LegalRepresentativeCheckFailed { .. } => {
                OutcomeData::LegalRepresentativeCheckFailed
            }
            pec_domain::IdentityOutcome::ChecksInProgress { .. } => OutcomeData::ChecksInProgress,
        }),
        outcome_label_it: outcome.as_ref().map(|o| o.label(Lang::It).to_owned()),
        practice_number,
        holder_kind: match &row.req {
            IdentityRequest::EnteringData { kind, .. } => Some(HolderKindData::from(*kind)),
            _ => None,
        },
        draft: draft_of(&row.req).map(DraftData::from),
        method: method_of(&row.req).map(MethodData::from),
        holder_email: match &row.req {
            IdentityRequest::DelegationLinkSent { holder_email } => {
                Some(holder_email.as_str().to_owned())
            }
            _ => None,
        },
        otp_expires_at,
        otp_attempts_left: attempts_left,
        resend_available_at: resend_at,
        conditions: matches!(row.req, IdentityRequest::AcceptingTerms { .. })
            .then(crate::conditions::current),
        documents: documents(ctx, &row.id)?,
        updated_at: row.updated_at,
    })
}

fn documents(ctx: &Ctx<'_>, request_id: &str) -> ApiResult<Vec<DocumentView>> {
    let mut stmt = ctx.tx.prepare(
        "SELECT id, filename, media_type, size, uploaded_at FROM documents
         WHERE request_id = ?1 ORDER BY uploaded_at, id",
    )?;
    let rows = stmt
        .query_map(params![request_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, u64>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(id, filename, media_type, size, at)| {
            Ok(DocumentView {
                id,
                filename,
                media_type,
                size,
                uploaded_at: parse_ts(&at)?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Handlers

/// Starts an identity confirmation ("Conferma identità") for a mailbox. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/v1/mailboxes/{address}/identity-requests", tag = "identity", operation_id = "create_identity_request",
    security(("bearer" = [])),
    params(("address" = String, Path, description = "PEC address"),
           ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe create")),
    responses((status = 201, description = "Created at the role question", body = IdentityRequestView)))]
pub(crate) async fn create(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(address): Path<String>,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let key = idem_key(&headers);
    st.run(move |ctx| {
        let fp = sha256_hex(&[b"identity-request", address.as_bytes()]);
        let account = auth.account_id.clone();
        let (status, body) = idempotent(ctx, &account, key.as_deref(), &fp, |ctx| {
            let m = load_mailbox(ctx, &auth, &address)?;
            if m.state == IdentityState::Completed {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "identity.already_completed",
                    "L'identità del titolare è già confermata.",
                    "The holder's identity is already confirmed.",
                ));
            }
            let active: Option<String> = ctx
                .tx
                .query_row(
                    "SELECT id FROM identity_requests WHERE mailbox = ?1 AND active = 1",
                    params![m.address],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(existing) = active {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "identity.request_exists",
                    &format!("C'è già una richiesta in corso ({existing}): riprendila."),
                    &format!("A request is already in progress ({existing}): resume it."),
                ));
            }
            let id = new_id("idr");
            let req = IdentityRequest::new();
            ctx.tx.execute(
                "INSERT INTO identity_requests (id, account_id, mailbox, state, active, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)",
                params![id, auth.account_id, m.address, serde_json::to_string(&req)?, ts(ctx.now)],
            )?;
            let row = load_request(ctx, &auth.account_id, &id)?;
            Ok((201, serde_json::to_value(view(ctx, &row)?)?))
        })?;
        Ok((
            StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED),
            Json(body),
        ))
    })
    .await
}

/// An identity request.
#[utoipa::path(get, path = "/v1/identity-requests/{id}", tag = "identity", operation_id = "get_identity_request",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, description = "The request", body = IdentityRequestView)))]
pub(crate) async fn get(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<IdentityRequestView>> {
    st.run(move |ctx| {
        let row = load_request(ctx, &auth.account_id, &id)?;
        view(ctx, &row).map(Json)
    })
    .await
}

/// Applies a user action (next wizard step). Provider results are applied by the server.
#[utoipa::path(post, path = "/v1/identity-requests/{id}/actions", tag = "identity",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id")),
    request_body = IdentityAction,
    responses((status = 200, description = "The request after the action", body = IdentityRequestView)))]
pub(crate) async fn act(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    Json(action): Json<IdentityAction>,
) -> ApiResult<Json<IdentityRequestView>> {
    st.run(move |ctx| {
        let mut row = load_request(ctx, &auth.account_id, &id)?;
        act_blocking(ctx, &mut row, action)?;
        view(ctx, &row).map(Json)
    })
    .await
}

fn act_blocking(ctx: &mut Ctx<'_>, row: &mut ReqRow, action: IdentityAction) -> ApiResult<()> {
    use IdentityAction as A;
    match action {
        A::ChooseRole { role } => apply(row, IdentityEvent::ChooseRole { role: role.into() })?,
        A::SubmitHolderEmail { holder_email } => {
            let email = EmailAddress::parse(&holder_email)
                .map_err(|e| ApiError::invalid(pec_domain::DomainError::to_localized(&e)))?;
            apply(
                row,
                IdentityEvent::SubmitHolderEmail {
                    holder_email: email.clone(),
                },
            )?;
            send_delegation(ctx, row, &email)?;
        }
        A::ChooseHolderKind { kind } => {
            apply(row, IdentityEvent::ChooseHolderKind { kind: kind.into() })?
        }
        A::SubmitData { holder, contact } => {
            let draft = HolderDraft {
                holder: holder.to_domain().map_err(ApiError::invalid)?,
                contact: contact.to_domain().map_err(ApiError::invalid)?,
            };
            apply(row, IdentityEvent::SubmitData { draft })?
        }
        A::ConfirmSummary => apply(row, IdentityEvent::ConfirmSummary)?,
        A::Back => apply(row, IdentityEvent::Back)?,
        A::ChooseMethod { method } => apply(
            row,
            IdentityEvent::ChooseMethod {
                method: method.into(),
            },
        )?,
        A::AbandonIdentification => apply(row, IdentityEvent::IdentificationAbandoned)?,
        A::Proceed => apply(row, IdentityEvent::Proceed)?,
        A::CompleteRequest { terms } => {
            apply(
                row,
                IdentityEvent::CompleteRequest {
                    terms: TermsAcceptance {
                        service_conditions: terms.service_conditions,
                        contract_information: terms.contract_information,
                    },
                    at: ctx.now,
                },
            )?;
            send_otp(ctx, row)?;
        }
        A::ResendOtp => {
            if let IdentityRequest::OtpSent {
                sent_at, resends, ..
            } = &row.req
            {
                let available = *sent_at + RESEND_COOLDOWN;
                if ctx.now < available {
                    let wait = (available - ctx.now).num_seconds().max(1);
                    return Err(ApiError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "otp.resend_too_soon",
                        "Attendi qualche secondo prima di chiedere un nuovo codice.",
                        "Wait a few seconds before asking for a new code.",
                    )
                    .retry_after(u64::try_from(wait).unwrap_or(1)));
                }
                if *resends >= MAX_RESENDS {
                    // The way out is "start_over" (L9): the state, not the rate, refuses.
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "otp.resend_limit",
                        "Hai chiesto troppi codici: ricomincia la procedura (\"Ricomincia\").",
                        "Too many codes requested: start the procedure over (\"Start over\").",
                    ));
                }
            }
            apply(row, IdentityEvent::ResendOtp { at: ctx.now })?;
            send_otp(ctx, row)?;
        }
        A::ConfirmOtp { code } => confirm_otp(ctx, row, code.as_str())?,
        A::StartOver => {
            apply(row, IdentityEvent::StartOver)?;
            row.otp_hash = None;
            row.otp_attempts = 0;
        }
        A::Retry => apply(row, IdentityEvent::Retry)?,
        A::ChangeHolder => apply(row, IdentityEvent::ChangeHolder)?,
        A::ChangeLegalRepresentative => apply(row, IdentityEvent::ChangeLegalRepresentative)?,
        A::SubmitDocuments => {
            let n: i64 = ctx.tx.query_row(
                "SELECT COUNT(*) FROM documents WHERE request_id = ?1",
                params![row.id],
                |r| r.get(0),
            )?;
            if n == 0 && matches!(row.req, IdentityRequest::DocumentsMissing { .. }) {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "document.none",
                    "Carica almeno un documento (per esempio la visura camerale).",
                    "Upload at least one document (for example the company register extract).",
                ));
            }
            apply(row, IdentityEvent::UploadDocuments)?;
            outcome_notice(ctx, row)?;
        }
    }
    save_request(ctx, row)
}

fn send_delegation(ctx: &Ctx<'_>, row: &ReqRow, email: &EmailAddress) -> ApiResult<()> {
    let token = new_token();
    let deadline = LinkDeadline::for_receipt(ctx.now);
    ctx.tx.execute(
        "INSERT INTO delegations (token_hash, mailbox, holder_email, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            sha256_hex(&[b"delegation", token.as_bytes()]),
            row.mailbox,
            email.as_str(),
            ts(deadline.expires_at)
        ],
    )?;
    let link = format!("{}/v1/delegations/{token}", ctx.st.base_url);
    send_mail(
        ctx,
        email.as_str(),
        "Conferma l'identità del titolare della casella PEC / Confirm the PEC holder's identity",
        &format!(
            "Ti è stato chiesto di confermare l'identità del titolare della casella {mb}.\n\
             Apri il collegamento, valido fino alle 24:00 del {day} (ora italiana):\n{link}\n\n\
             You were asked to confirm the identity of the holder of {mb}.\n\
             Open the link, valid until 24:00 of {day} (Italian time):\n{link}\n",
            mb = row.mailbox,
            day = deadline.valid_through
        ),
    )
}

fn send_otp(ctx: &Ctx<'_>, row: &mut ReqRow) -> ApiResult<()> {
    let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32));
    row.otp_hash = Some(sha256_hex(&[b"otp", row.id.as_bytes(), code.as_bytes()]));
    row.otp_attempts = 0;
    let to = draft_of(&row.req)
        .map(|d| d.contact.email.as_str().to_owned())
        .ok_or_else(|| ApiError::internal(&"otp without contact"))?;
    send_mail(
        ctx,
        &to,
        "Codice OTP per la conferma dell'identità / Identity confirmation code",
        &format!(
            "Codice OTP: {code}\nValido 60 secondi. Se scade, usa \"Invia di nuovo\".\n\n\
             Code: {code}\nValid for 60 seconds. If it expires, use \"Send again\".\n"
        ),
    )
}

fn confirm_otp(ctx: &mut Ctx<'_>, row: &mut ReqRow, code: &str) -> ApiResult<()> {
    if !matches!(row.req, IdentityRequest::OtpSent { .. }) {
        // Let the machine name the step it is at.
        return apply(row, IdentityEvent::ConfirmOtp { at: ctx.now });
    }
    if row.req.otp_expired(ctx.now) {
        return Err(transition_error(TransitionError::OtpExpired));
    }
    if row.otp_attempts >= MAX_OTP_ATTEMPTS {
        return Err(otp_locked());
    }
    let expected = row.otp_hash.clone().unwrap_or_default();
    let got = sha256_hex(&[b"otp", row.id.as_bytes(), code.trim().as_bytes()]);
    if !crate::state::ct_eq(&expected, &got) {
        row.otp_attempts = row.otp_attempts.saturating_add(1);
        save_request(ctx, row)?;
        if row.otp_attempts >= MAX_OTP_ATTEMPTS {
            return Err(otp_locked());
        }
        let left = MAX_OTP_ATTEMPTS - row.otp_attempts;
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "otp.invalid",
            &format!("Codice errato: restano {left} tentativi."),
            &format!("Wrong code: {left} attempts left."),
        ));
    }
    apply(row, IdentityEvent::ConfirmOtp { at: ctx.now })?;
    row.otp_hash = None;
    completed(ctx, row)
}

fn otp_locked() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "otp.locked",
        "Troppi codici errati: chiedi un nuovo codice con \"Invia di nuovo\".",
        "Too many wrong codes: ask for a new one with \"Send again\".",
    )
}

/// Success: the star, e-mails to the PEC and to the ordinary address, a notification.
pub(crate) fn completed(ctx: &Ctx<'_>, row: &ReqRow) -> ApiResult<()> {
    let subject = "Identificazione avvenuta con successo / Identity confirmed";
    let body = format!(
        "L'identità del titolare della casella {mb} è confermata: la casella è ora qualificata.\n\n\
         The identity of the holder of {mb} is confirmed: the mailbox is now qualified.\n",
        mb = row.mailbox
    );
    send_mail(ctx, &row.mailbox, subject, &body)?;
    if let Some(d) = draft_of(&row.req) {
        send_mail(ctx, d.contact.email.as_str(), subject, &body)?;
    }
    notify(
        ctx,
        &row.account_id,
        &row.mailbox,
        "identity",
        (
            "Identificazione avvenuta con successo",
            "Identity confirmed",
        ),
        (
            "La casella è ora qualificata e identificata (stella europea).",
            "The mailbox is now qualified and identified (European star).",
        ),
    )
}

/// Tells the user about an outcome (bell and e-mail), if the request now has one.
pub(crate) fn outcome_notice(ctx: &Ctx<'_>, row: &ReqRow) -> ApiResult<()> {
    let Some(outcome) = row.req.outcome() else {
        return Ok(());
    };
    let practice = match &outcome {
        pec_domain::IdentityOutcome::LegalRepresentativeCheckFailed { practice_number }
        | pec_domain::IdentityOutcome::ChecksInProgress { practice_number } => {
            format!(" (pratica {practice_number})")
        }
        _ => String::new(),
    };
    let it = format!("{}{practice}", outcome.label(Lang::It));
    let en = format!("{}{practice}", outcome.label(Lang::En));
    notify(
        ctx,
        &row.account_id,
        &row.mailbox,
        "identity",
        (&it, &en),
        (
            &format!("Casella {}: {it}.", row.mailbox),
            &format!("Mailbox {}: {en}.", row.mailbox),
        ),
    )?;
    if let Some(d) = draft_of(&row.req) {
        send_mail(
            ctx,
            d.contact.email.as_str(),
            &format!("{it} / {en}"),
            &format!(
                "Casella {mb}: {it}.\n\nMailbox {mb}: {en}.\n",
                mb = row.mailbox
            ),
        )?;
    }
    Ok(())
}

/// The provider's evaluation after a method identified a person with `identified`: compares it
/// with the declared data and the data on record, and consults the registries.
pub(crate) fn evaluate_identification(
    ctx: &Ctx<'_>,
    row: &mut ReqRow,
    identified: &CodiceFiscale,
) -> ApiResult<()> {
    let IdentityRequest::Identifying { draft, .. } = &row.req else {
        return apply(row, IdentityEvent::IdentificationSucceeded);
    };
    let draft = draft.clone();
    let record: String = ctx.tx.query_row(
        "SELECT holder FROM mailboxes WHERE address = ?1",
        params![row.mailbox],
        |r| r.get(0),
    )?;
    let record: Holder = serde_json::from_str(&record)?;
    let event = decide(ctx, &draft.holder, &record, identified)?;
    apply(row, event)?;
    save_request(ctx, row)?;
    outcome_notice(ctx, row)
}

fn declared_tax_code(h: &Holder) -> String {
    match h {
        Holder::PrivateCitizen { person } => person.tax_code.as_str().to_owned(),
        Holder::Company { tax_code, .. } | Holder::Professional { tax_code, .. } => {
            tax_code.as_str().to_owned()
        }
    }
}

fn decide(
    ctx: &Ctx<'_>,
    declared: &Holder,
    record: &Holder,
    identified: &CodiceFiscale,
) -> ApiResult<IdentityEvent> {
    // "I dati del titolare non corrispondono": the declared holder is not the one on record, or
    // the identified person is not the declared person.
    if declared.kind() != record.kind() || declared_tax_code(declared) != declared_tax_code(record)
    {
        return Ok(IdentityEvent::DataMismatchFound);
    }
    match declared {
        Holder::PrivateCitizen { person } => Ok(if person.tax_code == *identified {
            IdentityEvent::IdentificationSucceeded
        } else {
            IdentityEvent::DataMismatchFound
        }),
        Holder::Professional { tax_code, .. } => Ok(match tax_code {
            TaxCode::Person(cf) if cf != identified => IdentityEvent::DataMismatchFound,
            _ => IdentityEvent::IdentificationSucceeded,
        }),
        Holder::Company {
            tax_code,
            legal_representative,
            ..
        } => {
            if let Some(lr) = legal_representative
                && lr.tax_code != *identified
            {
                return Ok(IdentityEvent::DataMismatchFound);
            }
            let ceased: Option<String> = ctx
                .tx
                .query_row(
                    "SELECT business_name FROM ceased_companies WHERE tax_code = ?1",
                    params![tax_code.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            if ceased.is_some() {
                return Ok(IdentityEvent::LegalPersonCeasedFound);
            }
            let is_lr: Option<i64> = ctx
                .tx
                .query_row(
                    "SELECT 1 FROM legal_representatives
                     WHERE company_tax_code = ?1 AND person_tax_code = ?2",
                    params![tax_code.as_str(), identified.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            if is_lr.is_some() {
                return Ok(IdentityEvent::IdentificationSucceeded);
            }
            let n: u32 = rand::rngs::OsRng.gen_range(0..1_000_000);
            let practice = format!("PR-{}-{n:06}", ctx.now.format("%Y"));
            Ok(IdentityEvent::LegalRepresentativeCheckFailed {
                practice_number: PracticeNumber::parse(&practice)
                    .map_err(|e| ApiError::internal(&e))?,
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Delegation links

/// What a delegation link is for (the holder opens it without signing in).
#[utoipa::path(get, path = "/v1/delegations/{token}", tag = "identity",
    params(("token" = String, Path, description = "Token from the e-mailed link")),
    responses((status = 200, description = "The delegation", body = DelegationView)))]
pub(crate) async fn delegation(
    State(st): State<Arc<AppState>>,
    Path(token): Path<String>,
) -> ApiResult<Json<DelegationView>> {
    st.run(move |ctx| {
        let row: Option<(String, String)> = ctx
            .tx
            .query_row(
                "SELECT mailbox, expires_at FROM delegations WHERE token_hash = ?1",
                params![sha256_hex(&[b"delegation", token.as_bytes()])],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((mailbox, exp)) = row else {
            return Err(ApiError::not_found("Collegamento", "Link"));
        };
        let expires_at = parse_ts(&exp)?;
        Ok(Json(DelegationView {
            mailbox,
            expires_at,
            valid: !pec_domain::is_expired(expires_at, ctx.now),
        }))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Documents

/// Raw document bytes.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub(crate) struct DocumentBytes(Vec<u8>);

/// Query of a document upload.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct UploadQuery {
    /// File name, e.g. `visura.pdf`: its extension must agree with the content.
    filename: String,
}

/// Uploads a document (PDF, JPEG or PNG, at most 5 MiB) for a failed legal-representative
/// check. The content decides the type: a file whose extension or `Content-Type` disagrees with
/// it is refused. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/v1/identity-requests/{id}/documents", tag = "identity",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id"), UploadQuery,
           ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe create")),
    request_body(content = DocumentBytes, content_type = "application/octet-stream",
                 description = "The file's bytes (application/pdf, image/jpeg, image/png or application/octet-stream)"),
    responses((status = 201, description = "Stored", body = DocumentView)))]
pub(crate) async fn upload(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let (bytes, declared) = read_document(&headers, body).await?;
    let key = idem_key(&headers);
    st.run(move |ctx| {
        let fp = sha256_hex(&[b"document", id.as_bytes(), q.filename.as_bytes(), &bytes]);
        let account = auth.account_id.clone();
        let (status, body) = idempotent(ctx, &account, key.as_deref(), &fp, |ctx| {
            let row = load_request(ctx, &auth.account_id, &id)?;
            if !matches!(row.req, IdentityRequest::DocumentsMissing { .. }) {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "document.not_expected",
                    "Questa richiesta non attende documenti.",
                    "This request is not waiting for documents.",
                ));
            }
            let media_type = check_document(&q.filename, declared.as_deref(), &bytes)?;
            let n: i64 = ctx.tx.query_row(
                "SELECT COUNT(*) FROM documents WHERE request_id = ?1",
                params![row.id],
                |r| r.get(0),
            )?;
            if n >= MAX_DOCUMENTS {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "document.too_many",
                    "Hai già caricato il numero massimo di documenti.",
                    "The maximum number of documents is already uploaded.",
                ));
            }
            check_document_space(ctx, bytes.len())?;
            let doc_id = new_id("doc");
            let filename: String = q.filename.trim().chars().take(200).collect();
            ctx.tx.execute(
                "INSERT INTO documents (id, request_id, filename, media_type, size, content, uploaded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![doc_id, row.id, filename, media_type, bytes.len() as u64, bytes.as_ref(), ts(ctx.now)],
            )?;
            let v = DocumentView {
                id: doc_id,
                filename,
                media_type: media_type.to_owned(),
                size: bytes.len() as u64,
                uploaded_at: ctx.now,
            };
            Ok((201, serde_json::to_value(v)?))
        })?;
        Ok((
            StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED),
            Json(body),
        ))
    })
    .await
}

/// Reads an uploaded document's bytes (at most [`MAX_DOCUMENT_BYTES`]) and the media type the
/// client declared, without parameters. Shared by every upload endpoint, so the size limit and
/// its error are the same everywhere; [`check_document`] then sniffs the content.
pub(crate) async fn read_document(
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<(axum::body::Bytes, Option<String>)> {
    let bytes = axum::body::to_bytes(body, MAX_DOCUMENT_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "document.too_large",
                "Il documento supera i 5 MB.",
                "The document is larger than 5 MB.",
            )
        })?;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_lowercase()
        });
    Ok((bytes, declared))
}

/// The media type by content, checked against the extension and the declared type.
pub fn check_document(
    filename: &str,
    declared: Option<&str>,
    bytes: &[u8],
) -> Result<&'static str, ApiError> {
    let sniffed = if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    };
    let Some(sniffed) = sniffed else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "document.unsupported_type",
            "Il file non è un PDF, JPEG o PNG.",
            "The file is not a PDF, JPEG or PNG.",
        ));
    };
    let lower = filename.trim().to_lowercase();
    let by_ext = match lower.rsplit_once('.').map(|(_, e)| e) {
        Some("pdf") => Some("application/pdf"),
        Some("png") => Some("image/png"),
        Some("jpg" | "jpeg") => Some("image/jpeg"),
        _ => None,
    };
    let declared = declared.filter(|d| *d != "application/octet-stream" && !d.is_empty());
    let mismatch = by_ext.is_none_or(|e| e != sniffed) || declared.is_some_and(|d| d != sniffed);
    if mismatch {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "document.type_mismatch",
            "Il contenuto del file non corrisponde alla sua estensione o al tipo dichiarato.",
            "The file's content does not match its extension or declared type.",
        ));
    }
    Ok(sniffed)
}

/// Refuses a document of `size` bytes when the documents kept (identity and support ones
/// together) would pass [`crate::Config::max_stored_document_bytes`]: uploads are capped one
/// by one, and this caps them all (M5). 507: the server's state, not the request, is the
/// reason.
pub(crate) fn check_document_space(ctx: &Ctx<'_>, size: usize) -> ApiResult<()> {
    let stored: i64 = ctx.tx.query_row(
        "SELECT (SELECT COALESCE(SUM(size), 0) FROM documents)
              + (SELECT COALESCE(SUM(size), 0) FROM registry_ticket_documents)",
        [],
        |r| r.get(0),
    )?;
    if stored.saturating_add(i64::try_from(size).unwrap_or(i64::MAX))
        > ctx.st.max_stored_document_bytes
    {
        return Err(ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "document.storage_full",
            "Lo spazio per i documenti è esaurito: riprova più tardi o contatta l'assistenza.",
            "The space for documents is full: try again later or contact support.",
        ));
    }
    Ok(())
}

/// A random byte string (used by the card challenge too).
pub(crate) fn challenge_bytes() -> Vec<u8> {
    random_bytes(32)
}
