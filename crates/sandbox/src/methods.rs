//! Identification methods: card challenge/response, SPID (with the sandbox's test identity
//! provider page, on the login mechanism of `crate::idp`), webcam appointments. Firma digitale
//! and firma remota identify by the signed request form (`crate::form`).
//!
//! Each method ends in [`crate::identity::evaluate_identification`] with the codice fiscale it
//! proved; what happens next (success, mismatch, ceased company, documents) is the provider's
//! common evaluation, as in the guides.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Html;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{Datelike, TimeDelta, Timelike, Weekday};
use pec_domain::{CodiceFiscale, IdentificationMethod, IdentityRequest};
use pec_provider::api::{
    CardChallenge, CardResponse, IdentityRequestView, SpidLogin, SpidPoll, SpidStatus,
    WebcamBooking, WebcamBookingRequest, WebcamSlot, WebcamStatus,
};
use rusqlite::{OptionalExtension, params};
use serde::Deserialize;

use crate::auth::Auth;
use crate::identity::{ReqRow, challenge_bytes, evaluate_identification, load_request, view};
use crate::idp::{Decision, Idp, LoginState};
use crate::mailboxes::idem_key;
use crate::problem::{ApiError, ApiResult};
use crate::state::{AppState, Ctx, idempotent, new_id, parse_ts, sha256_hex, ts};

/// A card challenge is valid this long, and once.
pub const CHALLENGE_TTL: TimeDelta = TimeDelta::minutes(2);
/// A SPID login must be completed within this time.
pub const SPID_TTL: TimeDelta = TimeDelta::minutes(10);

pub(crate) fn require_identifying(
    row: &ReqRow,
    accepted: &[IdentificationMethod],
) -> ApiResult<()> {
    match &row.req {
        IdentityRequest::Identifying { method, .. } if accepted.contains(method) => Ok(()),
        IdentityRequest::Identifying { .. } => Err(ApiError::new(
            StatusCode::CONFLICT,
            "method.mismatch",
            "Questo metodo non è quello scelto per la richiesta.",
            "This is not the method chosen for the request.",
        )),
        _ => Err(ApiError::new(
            StatusCode::CONFLICT,
            "method.not_identifying",
            "La richiesta non è al passo di riconoscimento.",
            "The request is not at the identification step.",
        )),
    }
}

/// The methods identified by a card's authentication key. Firma digitale is not one of them:
/// it signs the request form with the qualified signature certificate (`crate::form`).
const CARD_METHODS: &[IdentificationMethod] =
    &[IdentificationMethod::Cns, IdentificationMethod::Cie];

// ---------------------------------------------------------------------------------------------
// Card

/// Issues a single-use challenge for the card to sign. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/v1/identity-requests/{id}/card/challenge", tag = "methods",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe create")),
    responses((status = 201, description = "Challenge", body = CardChallenge)))]
pub(crate) async fn card_challenge(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let key = idem_key(&headers);
    st.run(move |ctx| {
        let fp = sha256_hex(&[b"card-challenge", id.as_bytes()]);
        let account = auth.account_id.clone();
        let (status, body) = idempotent(ctx, &account, key.as_deref(), &fp, |ctx| {
            let row = load_request(ctx, &auth.account_id, &id)?;
            require_identifying(&row, CARD_METHODS)?;
            let challenge = challenge_bytes();
            let cid = new_id("chl");
            let expires_at = ctx.now + CHALLENGE_TTL;
            ctx.tx.execute(
                "INSERT INTO card_challenges (id, request_id, challenge, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![cid, row.id, challenge, ts(expires_at)],
            )?;
            let v = CardChallenge {
                challenge_id: cid,
                challenge: B64.encode(&challenge),
                expires_at,
            };
            Ok((201, serde_json::to_value(v)?))
        })?;
        Ok((StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED), Json(body)))
    })
    .await
}

fn card_error(e: crate::card::CardError) -> ApiError {
    // Only an unreachable revocation source is the server's own trouble (and temporary).
    let status = match e {
        crate::card::CardError::RevocationUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::new(status, e.code(), e.message_it(), e.message_en())
}

/// Verifies the card's signature of a challenge; on success the provider evaluates the
/// identified codice fiscale (the request moves to an outcome or to "identified").
///
/// The signature is over the message of `pec_provider::card_message` (prefix, this server's
/// origin, the request id, the nonce), never over the nonce alone. The certificate chain must
/// end at a configured trust anchor and the card's certificate must not be revoked: OCSP and
/// CRL are asked outside the writer, so a slow responder delays this answer only.
#[utoipa::path(post, path = "/v1/identity-requests/{id}/card/response", tag = "methods",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id")),
    request_body = CardResponse,
    responses((status = 200, description = "The request after the identification", body = IdentityRequestView),
              (status = 422, description = "Refused: `card.signature_invalid`, `card.untrusted_issuer`, `card.revoked`, `card.weak_key`, `card.not_authentication`, `card.not_cie` (method `cie`: not a CIE authentication certificate), …", body = pec_provider::api::Problem, content_type = "application/problem+json"),
              (status = 503, description = "`card.revocation_unavailable`: the revocation status could not be checked (hard-fail configuration)",
               body = pec_provider::api::Problem, content_type = "application/problem+json")))]
pub(crate) async fn card_response(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    Json(resp): Json<CardResponse>,
) -> ApiResult<Json<IdentityRequestView>> {
    let account = auth.account_id.clone();
    let (request_id, nonce, now, method) = st
        .run(move |ctx| {
            let row = load_request(ctx, &account, &id)?;
            require_identifying(&row, CARD_METHODS)?;
            let method = match &row.req {
                IdentityRequest::Identifying { method, .. } => *method,
                _ => IdentificationMethod::Cns,
            };
            let nonce = claim_challenge(ctx, &row.id, &resp.challenge_id)?;
            Ok((row.id, nonce, ctx.now, method))
        })
        .await?;

    let chain = resp
        .certificate_chain
        .iter()
        .map(|c| B64.decode(c.trim()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| card_error(crate::card::CardError::Encoding))?;
    let signature = B64
        .decode(resp.signature.trim())
        .map_err(|_| card_error(crate::card::CardError::Encoding))?;
    let origin = url::Url::parse(&st.base_url)
        .ok()
        .and_then(|u| pec_provider::card_message::origin_of(&u).ok())
        .ok_or_else(|| ApiError::internal(&"the server's public URL has no origin"))?;
    let message = pec_provider::card_message::message(&origin, &request_id, &nonce)
        .map_err(|_| card_error(crate::card::CardError::Signature))?;
    // A CIE chains to the CIE roots only, and a CNS never does: each method its own anchors.
    let (purpose, anchors) = if method == IdentificationMethod::Cie {
        (crate::card::Purpose::Cie, &st.cie_trust_anchors)
    } else {
        (crate::card::Purpose::CardAuthentication, &st.trust_anchors)
    };
    let verified = crate::card::verify_for(
        purpose,
        &chain,
        &message,
        &signature,
        anchors,
        &st.card_rules,
        now,
    )
    .map_err(card_error)?;
    st.revocation
        .check(&verified.issued, now)
        .await
        .map_err(card_error)?;

    st.run(move |ctx| {
        let mut row = load_request(ctx, &auth.account_id, &request_id)?;
        // The request may have moved on while the revocation was being checked.
        require_identifying(&row, CARD_METHODS)?;
        evaluate_identification(ctx, &mut row, &verified.codice_fiscale)?;
        view(ctx, &row).map(Json)
    })
    .await
}

/// Marks the challenge used (whatever comes next: a failed answer cannot be retried on the
/// same nonce) and returns its nonce if it was still unused and current.
fn claim_challenge(
    ctx: &mut crate::state::Ctx<'_>,
    request_id: &str,
    challenge_id: &str,
) -> ApiResult<Vec<u8>> {
    let ch: Option<(Vec<u8>, String, bool)> = ctx
        .tx
        .query_row(
            "SELECT challenge, expires_at, used FROM card_challenges WHERE id = ?1 AND request_id = ?2",
            params![challenge_id, request_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((nonce, exp, used)) = ch else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "card.challenge_unknown",
            "Sfida sconosciuta: richiedine una nuova.",
            "Unknown challenge: ask for a new one.",
        ));
    };
    if used {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "card.challenge_used",
            "Questa sfida è già stata usata: richiedine una nuova.",
            "This challenge was already used: ask for a new one.",
        ));
    }
    ctx.tx.execute(
        "UPDATE card_challenges SET used = 1 WHERE id = ?1",
        params![challenge_id],
    )?;
    if parse_ts(&exp)? <= ctx.now {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "card.challenge_expired",
            "La sfida è scaduta: richiedine una nuova.",
            "The challenge has expired: ask for a new one.",
        ));
    }
    Ok(nonce)
}

// ---------------------------------------------------------------------------------------------
// SPID

/// The sandbox's test SPID identity provider.
pub(crate) const SPID: Idp = Idp {
    prefix: "spid",
    method: IdentificationMethod::Spid,
    login_it: "Accesso SPID",
    login_en: "SPID login",
    not_configured_code: "spid.not_configured",
    not_configured_it: "SPID non è configurato su questo server.",
    not_configured_en: "SPID is not configured on this server.",
    finished_code: "spid.finished",
    ttl: SPID_TTL,
};

impl From<LoginState> for SpidStatus {
    fn from(s: LoginState) -> SpidStatus {
        match s {
            LoginState::Pending => SpidStatus::Pending,
            LoginState::Authorised => SpidStatus::Authorised,
            LoginState::Denied => SpidStatus::Denied,
            LoginState::Expired => SpidStatus::Expired,
        }
    }
}

/// Starts a SPID login: open `login_url` in a browser (or show it as a QR code), then poll.
/// Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/v1/identity-requests/{id}/spid", tag = "methods",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe create")),
    responses((status = 201, description = "Login started", body = SpidLogin)))]
pub(crate) async fn spid_start(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let key = idem_key(&headers);
    st.run(move |ctx| {
        let fp = sha256_hex(&[b"spid", id.as_bytes()]);
        let account = auth.account_id.clone();
        let (status, body) = idempotent(ctx, &account, key.as_deref(), &fp, |ctx| {
            let (handle, expires_at) = SPID.start(ctx, &auth.account_id, &id)?;
            let v = SpidLogin {
                login_url: format!("{}/sandbox/spid/login/{handle}", ctx.st.base_url),
                handle,
                expires_at,
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

/// Polls a SPID login.
#[utoipa::path(get, path = "/v1/identity-requests/{id}/spid/{handle}", tag = "methods",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id"),
           ("handle" = String, Path, description = "Login handle")),
    responses((status = 200, description = "Login state", body = SpidPoll)))]
pub(crate) async fn spid_poll(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path((id, handle)): Path<(String, String)>,
) -> ApiResult<Json<SpidPoll>> {
    st.run(move |ctx| {
        let (state, request) = SPID.poll(ctx, &auth.account_id, &id, &handle)?;
        Ok(Json(SpidPoll {
            status: state.into(),
            request,
        }))
    })
    .await
}

/// The test identity provider's page (sandbox only, not part of the API document).
pub(crate) async fn spid_page(
    State(st): State<Arc<AppState>>,
    Path(handle): Path<String>,
) -> ApiResult<Html<String>> {
    st.run(move |ctx| {
        let (_, status) = SPID.status(ctx, &handle)?;
        let mut stmt = ctx
            .tx
            .prepare("SELECT tax_code, first_name, last_name FROM spid_identities ORDER BY last_name")?;
        let ids = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let options: String = ids
            .iter()
            .enumerate()
            .map(|(i, (cf, f, l))| {
                format!(
                    "<label><input type=\"radio\" name=\"tax_code\" value=\"{cf}\"{}> {f} {l} ({cf})</label><br>",
                    if i == 0 { " checked" } else { "" }
                )
            })
            .collect();
        let body = if status == LoginState::Pending {
            format!(
                "<form method=\"post\">{options}<p>\
                 <button name=\"decision\" value=\"authorise\">Autorizza / Authorise</button> \
                 <button name=\"decision\" value=\"deny\">Annulla / Cancel</button></p></form>"
            )
        } else {
            "<p>Accesso già concluso o scaduto. / Login already finished or expired.</p>".into()
        };
        Ok(Html(format!(
            "<!doctype html><html lang=\"it\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width\">\
             <title>SPID di prova</title></head><body><h1>SPID — identity provider di prova</h1>\
             <p>Scegli un'identità di prova e autorizza l'accesso. / Choose a test identity and authorise.</p>\
             {body}</body></html>"
        )))
    })
    .await
}

/// The IdP form.
#[derive(Debug, Deserialize)]
pub(crate) struct SpidForm {
    tax_code: Option<String>,
    decision: String,
}

/// The test IdP's decision (sandbox only): one of its test identities.
pub(crate) async fn spid_decide(
    State(st): State<Arc<AppState>>,
    Path(handle): Path<String>,
    Form(form): Form<SpidForm>,
) -> ApiResult<Html<String>> {
    st.run(move |ctx| {
        let decision = Decision::from_form(&form.decision, form.tax_code);
        let state = SPID.decide(ctx, &handle, decision, |ctx, cf| {
            let known: Option<String> = ctx
                .tx
                .query_row(
                    "SELECT tax_code FROM spid_identities WHERE tax_code = ?1",
                    params![cf],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(known.and_then(|c| CodiceFiscale::parse(&c).ok()))
        })?;
        Ok(Html(if state == LoginState::Authorised {
            "<p>Accesso autorizzato: torna all'applicazione. / Authorised: go back to the app.</p>"
                .into()
        } else {
            "<p>Accesso annullato. / Login cancelled.</p>".into()
        }))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Webcam

/// Free slots in the next five working days, 9:00–17:30 UTC, every 30 minutes.
#[utoipa::path(get, path = "/v1/webcam/slots", tag = "methods",
    security(("bearer" = [])),
    responses((status = 200, description = "Free slots", body = Vec<WebcamSlot>)))]
pub(crate) async fn webcam_slots(
    State(st): State<Arc<AppState>>,
    _auth: Auth,
) -> ApiResult<Json<Vec<WebcamSlot>>> {
    st.run(move |ctx| free_slots(ctx).map(Json)).await
}

fn free_slots(ctx: &Ctx<'_>) -> ApiResult<Vec<WebcamSlot>> {
    let mut stmt = ctx
        .tx
        .prepare("SELECT starts_at FROM webcam_bookings WHERE status = 'booked'")?;
    let booked = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::new();
    let mut day = ctx.now.date_naive();
    let mut days = 0;
    while days < 5 {
        day = day.succ_opt().unwrap_or(day);
        if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            continue;
        }
        days += 1;
        for half_hour in 18..36u32 {
            let Some(t) = day.and_hms_opt(half_hour / 2, (half_hour % 2) * 30, 0) else {
                continue;
            };
            let t = t.and_utc();
            if !booked.contains(&ts(t)) {
                out.push(WebcamSlot {
                    starts_at: t,
                    minutes: 30,
                });
            }
        }
    }
    Ok(out)
}

/// Books a video call with an operator. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/v1/identity-requests/{id}/webcam/booking", tag = "methods",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe create")),
    request_body = WebcamBookingRequest,
    responses((status = 201, description = "Booked", body = WebcamBooking)))]
pub(crate) async fn webcam_book(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(req): Json<WebcamBookingRequest>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let key = idem_key(&headers);
    st.run(move |ctx| {
        let fp = sha256_hex(&[
            b"webcam",
            id.as_bytes(),
            ts(req.starts_at).as_bytes(),
            req.language.as_bytes(),
        ]);
        let account = auth.account_id.clone();
        let (status, body) = idempotent(ctx, &account, key.as_deref(), &fp, |ctx| {
            let row = load_request(ctx, &auth.account_id, &id)?;
            require_identifying(&row, &[IdentificationMethod::Webcam])?;
            if !matches!(req.language.as_str(), "it" | "en") {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "webcam.language",
                    "La videochiamata si svolge in italiano (it) o in inglese (en).",
                    "The call is held in Italian (it) or English (en).",
                ));
            }
            let starts = req
                .starts_at
                .with_nanosecond(0)
                .unwrap_or(req.starts_at);
            if !free_slots(ctx)?.iter().any(|s| s.starts_at == starts) {
                return Err(slot_unavailable());
            }
            ctx.tx.execute(
                "UPDATE webcam_bookings SET status = 'cancelled' WHERE request_id = ?1 AND status = 'booked'",
                params![row.id],
            )?;
            let bid = new_id("cam");
            // One booked row per slot (a partial unique index, migration 7): the decided and
            // cancelled bookings of other requests at that time stay as they are (L10).
            let inserted = ctx.tx.execute(
                "INSERT INTO webcam_bookings (id, request_id, starts_at, document, language, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'booked')
                 ON CONFLICT (starts_at) WHERE status = 'booked' DO NOTHING",
                params![bid, row.id, ts(starts), serde_json::to_string(&req.document)?, req.language],
            )?;
            if inserted == 0 {
                return Err(slot_unavailable());
            }
            let v = WebcamBooking {
                id: bid,
                request_id: row.id.clone(),
                starts_at: starts,
                status: WebcamStatus::Booked,
            };
            Ok((201, serde_json::to_value(v)?))
        })?;
        Ok((StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED), Json(body)))
    })
    .await
}

fn slot_unavailable() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "webcam.slot_unavailable",
        "L'orario scelto non è disponibile.",
        "The chosen time is not available.",
    )
}

/// Used by the admin decision.
pub(crate) fn webcam_booking(ctx: &Ctx<'_>, id: &str) -> ApiResult<(String, WebcamStatus)> {
    let row: Option<(String, String)> = ctx
        .tx
        .query_row(
            "SELECT request_id, status FROM webcam_bookings WHERE id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((req, status)) = row else {
        return Err(ApiError::not_found("Prenotazione", "Booking"));
    };
    let status = match status.as_str() {
        "approved" => WebcamStatus::Approved,
        "rejected" => WebcamStatus::Rejected,
        "booked" => WebcamStatus::Booked,
        // Cancelled by a later booking of the same request: kept as history, no decision.
        "cancelled" => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "webcam.cancelled",
                "La prenotazione è stata sostituita da una successiva.",
                "The booking was replaced by a later one.",
            ));
        }
        _ => return Err(ApiError::not_found("Prenotazione", "Booking")),
    };
    Ok((req, status))
}
