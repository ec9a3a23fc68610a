//! Sandbox-only endpoints: the outbox, the clock, operator decisions and test accounts.
//!
//! They are what a test or a demo needs to play the provider's back office. They have no
//! authentication on purpose and exist only in [`crate::Mode::Sandbox`].

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::TimeDelta;
use pec_domain::{CodiceFiscale, DomainError, IdentityEvent, IdentityRequest, IdentityState};
use pec_provider::api::{
    ChecksDecision, ClockAdvance, ClockSet, ClockView, IdentityRequestView, ImapServer,
    OutboxMessage, SeedAccountRequest, SeededAccount, WebcamBooking, WebcamDecision, WebcamStatus,
};
use rusqlite::{OptionalExtension, params};
use serde::Deserialize;

use crate::identity::{
    apply, completed, evaluate_identification, load_request_any, outcome_notice, save_request, view,
};
use crate::methods::webcam_booking;
use crate::problem::{ApiError, ApiResult};
use crate::state::{AppState, hash_password, new_id, parse_ts, ts};

/// Outbox filter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct OutboxQuery {
    /// Only messages to this address.
    to: Option<String>,
}

/// E-mails the sandbox "sent", newest last.
#[utoipa::path(get, path = "/sandbox/outbox", tag = "sandbox",
    params(OutboxQuery),
    responses((status = 200, description = "Messages", body = Vec<OutboxMessage>)))]
pub(crate) async fn outbox(
    State(st): State<Arc<AppState>>,
    Query(q): Query<OutboxQuery>,
) -> ApiResult<Json<Vec<OutboxMessage>>> {
    st.run(move |ctx| {
        let mut stmt = ctx.tx.prepare(
            "SELECT id, recipient, subject, body, sent_at FROM outbox
             WHERE (?1 IS NULL OR recipient = ?1) ORDER BY id DESC LIMIT 500",
        )?;
        let to = q.to.map(|t| t.trim().to_lowercase());
        let rows = stmt
            .query_map(params![to], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = rows
            .into_iter()
            .map(|(id, to, subject, body, at)| {
                Ok(OutboxMessage {
                    id,
                    to,
                    subject,
                    body,
                    sent_at: parse_ts(&at)?,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        out.reverse();
        Ok(Json(out))
    })
    .await
}

/// The sandbox clock.
#[utoipa::path(get, path = "/sandbox/clock", tag = "sandbox",
    responses((status = 200, description = "Clock", body = ClockView)))]
pub(crate) async fn clock(State(st): State<Arc<AppState>>) -> Json<ClockView> {
    Json(ClockView {
        now: st.now(),
        offset_seconds: st.clock_offset(),
    })
}

/// Moves the sandbox clock forward (persisted: a restart keeps it).
#[utoipa::path(post, path = "/sandbox/clock/advance", tag = "sandbox",
    request_body = ClockAdvance,
    responses((status = 200, description = "Clock after the move", body = ClockView)))]
pub(crate) async fn advance_clock(
    State(st): State<Arc<AppState>>,
    Json(req): Json<ClockAdvance>,
) -> ApiResult<Json<ClockView>> {
    if req.seconds > 31_622_400 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "clock.too_far",
            "Si può avanzare al massimo di un anno per volta.",
            "The clock moves at most one year at a time.",
        ));
    }
    // Ten years in total at most, so timestamps stay far from chrono's limits.
    let offset = st.clock_offset().saturating_add(i64::from(req.seconds));
    if offset > 10 * 366 * 86_400 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "clock.too_far",
            "L'orologio è già troppo avanti.",
            "The clock is already too far ahead.",
        ));
    }
    move_clock(&st, offset).await?;
    Ok(Json(ClockView {
        now: st.now() + TimeDelta::zero(),
        offset_seconds: offset,
    }))
}

/// Sets the sandbox clock to an instant, forwards or backwards (persisted). Lets a test put the
/// server on a given day, e.g. a daylight-saving weekend, whatever the real date.
#[utoipa::path(post, path = "/sandbox/clock/set", tag = "sandbox",
    request_body = ClockSet,
    responses((status = 200, description = "Clock after the change", body = ClockView)))]
pub(crate) async fn set_clock(
    State(st): State<Arc<AppState>>,
    Json(req): Json<ClockSet>,
) -> ApiResult<Json<ClockView>> {
    let offset = (req.now - chrono::Utc::now()).num_seconds();
    if offset.abs() > 10 * 366 * 86_400 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "clock.too_far",
            "L'orologio può stare al massimo dieci anni lontano dall'ora reale.",
            "The clock may be at most ten years away from the real time.",
        ));
    }
    move_clock(&st, offset).await?;
    Ok(Json(ClockView {
        now: st.now(),
        offset_seconds: offset,
    }))
}

/// Sets the clock offset (persisted), then runs the housekeeping that the time passed would
/// have run: expired secrets and rows go as they would on a real clock.
async fn move_clock(st: &Arc<AppState>, offset: i64) -> ApiResult<()> {
    let st2 = Arc::clone(st);
    st.run(move |ctx| {
        ctx.tx.execute(
            "INSERT INTO settings (key, value) VALUES ('clock_offset', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![offset.to_string()],
        )?;
        st2.set_clock_offset(offset);
        Ok(())
    })
    .await?;
    st.run(crate::housekeeping::prune).await?;
    st.prune_rate_windows();
    Ok(())
}

/// The operator's decision on the documents of a request in "Verifiche in corso".
#[utoipa::path(post, path = "/sandbox/identity-requests/{id}/checks", tag = "sandbox",
    params(("id" = String, Path, description = "Request id")),
    request_body = ChecksDecision,
    responses((status = 200, description = "The request after the decision", body = IdentityRequestView)))]
pub(crate) async fn checks(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    Json(req): Json<ChecksDecision>,
) -> ApiResult<Json<IdentityRequestView>> {
    st.run(move |ctx| {
        let mut row = load_request_any(ctx, &id)?;
        apply(
            &mut row,
            if req.passed {
                IdentityEvent::ChecksPassed
            } else {
                IdentityEvent::ChecksFailed
            },
        )?;
        save_request(ctx, &mut row)?;
        if matches!(row.req, IdentityRequest::Completed { .. }) {
            completed(ctx, &row)?;
        } else {
            outcome_notice(ctx, &row)?;
        }
        view(ctx, &row).map(Json)
    })
    .await
}

/// The back office records a change of holder ("Cambia titolare PEC", a separate procedure):
/// the request starts again from the role question.
#[utoipa::path(post, path = "/sandbox/identity-requests/{id}/holder-changed", tag = "sandbox",
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, description = "The request, back at the start", body = IdentityRequestView)))]
pub(crate) async fn holder_changed(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<IdentityRequestView>> {
    st.run(move |ctx| {
        let mut row = load_request_any(ctx, &id)?;
        apply(&mut row, IdentityEvent::HolderChanged)?;
        save_request(ctx, &mut row)?;
        view(ctx, &row).map(Json)
    })
    .await
}

/// The operator's decision after a video call.
#[utoipa::path(post, path = "/sandbox/webcam/bookings/{id}/decision", tag = "sandbox",
    params(("id" = String, Path, description = "Booking id")),
    request_body = WebcamDecision,
    responses((status = 200, description = "The booking after the decision", body = WebcamBooking)))]
pub(crate) async fn webcam_decision(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    Json(req): Json<WebcamDecision>,
) -> ApiResult<Json<WebcamBooking>> {
    st.run(move |ctx| {
        let (request_id, status) = webcam_booking(ctx, &id)?;
        if status != WebcamStatus::Booked {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "webcam.already_decided",
                "La videochiamata ha già un esito.",
                "The call already has an outcome.",
            ));
        }
        let mut row = load_request_any(ctx, &request_id)?;
        if !matches!(row.req, IdentityRequest::Identifying { .. }) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "method.not_identifying",
                "La richiesta non è al passo di riconoscimento.",
                "The request is not at the identification step.",
            ));
        }
        let new_status = if req.approved {
            let cf = CodiceFiscale::parse(req.tax_code.as_deref().unwrap_or_default())
                .map_err(|e| ApiError::invalid(e.to_localized()))?;
            evaluate_identification(ctx, &mut row, &cf)?;
            WebcamStatus::Approved
        } else {
            apply(&mut row, IdentityEvent::IdentificationAbandoned)?;
            save_request(ctx, &mut row)?;
            WebcamStatus::Rejected
        };
        let label = match new_status {
            WebcamStatus::Approved => "approved",
            _ => "rejected",
        };
        ctx.tx.execute(
            "UPDATE webcam_bookings SET status = ?1 WHERE id = ?2",
            params![label, id],
        )?;
        let starts: String = ctx.tx.query_row(
            "SELECT starts_at FROM webcam_bookings WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )?;
        Ok(Json(WebcamBooking {
            id,
            request_id,
            starts_at: parse_ts(&starts)?,
            status: new_status,
        }))
    })
    .await
}

/// Seeds a test account with its mailboxes (all *Da confermare*).
#[utoipa::path(post, path = "/sandbox/accounts", tag = "sandbox",
    request_body = SeedAccountRequest,
    responses((status = 201, description = "Created", body = SeededAccount)))]
pub(crate) async fn seed_account(
    State(st): State<Arc<AppState>>,
    Json(req): Json<SeedAccountRequest>,
) -> ApiResult<(StatusCode, Json<SeededAccount>)> {
    // Characters both ways, as the document's minLength/maxLength count them.
    if !(8..=256).contains(&req.password.chars().count()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "account.password",
            "La password deve avere da 8 a 256 caratteri.",
            "The password must have 8 to 256 characters.",
        ));
    }
    if req.mailboxes.is_empty() || req.mailboxes.len() > 20 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "account.mailboxes",
            "Da 1 a 20 caselle per account.",
            "1 to 20 mailboxes per account.",
        ));
    }
    let mut parsed = Vec::new();
    for m in &req.mailboxes {
        let address = pec_domain::EmailAddress::parse(&m.address)
            .map_err(|e| ApiError::invalid(e.to_localized()))?;
        let holder = m.holder.to_domain().map_err(ApiError::invalid)?;
        let contact = m.contact.to_domain().map_err(ApiError::invalid)?;
        let imap = match &m.imap {
            Some(s) if !ImapServer::host_is_valid(&s.host) || s.port == 0 => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "account.imap_server",
                    "Il server IMAP va indicato come nome o indirizzo IPv4, con una porta da 1 a 65535.",
                    "The IMAP server must be a host name or IPv4 address, with a port from 1 to 65535.",
                ));
            }
            Some(s) => Some((s.host.to_ascii_lowercase(), s.port)),
            None => None,
        };
        parsed.push((address.as_str().to_lowercase(), holder, contact, imap));
    }
    // On the blocking pool, never on an async worker nor under the writer (M5).
    let password = req.password;
    let hash = st
        .password_work(move || hash_password(&password))
        .await?
        .map_err(|e| ApiError::internal(&e))?;
    st.run(move |ctx| {
        for (address, ..) in &parsed {
            let exists: Option<i64> = ctx
                .tx
                .query_row(
                    "SELECT 1 FROM mailboxes WHERE address = ?1",
                    params![address],
                    |r| r.get(0),
                )
                .optional()?;
            if exists.is_some() {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "account.mailbox_exists",
                    "Una delle caselle esiste già.",
                    "One of the mailboxes already exists.",
                ));
            }
        }
        let id = new_id("acc");
        ctx.tx.execute(
            "INSERT INTO accounts (id, password_hash, created_at) VALUES (?1, ?2, ?3)",
            params![id, hash, ts(ctx.now)],
        )?;
        let mut seen = std::collections::HashSet::new();
        for (address, holder, contact, imap) in &parsed {
            if !seen.insert(address.clone()) {
                continue;
            }
            crate::seed::insert_mailbox(
                ctx.tx,
                &id,
                address,
                holder,
                contact,
                IdentityState::ToConfirm,
                ctx.now,
            )
            .map_err(|e| ApiError::internal(&e))?;
            if let Some((host, port)) = imap {
                ctx.tx.execute(
                    "UPDATE mailboxes SET imap_host = ?1, imap_port = ?2 WHERE address = ?3",
                    params![host, port, address],
                )?;
            }
        }
        Ok((StatusCode::CREATED, Json(SeededAccount { account_id: id })))
    })
    .await
}
