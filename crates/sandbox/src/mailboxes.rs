//! Mailboxes, notifications (bell and "adegua la PEC" banner), two-step login and app passwords.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pec_domain::{IdentityState, Lang};
use pec_provider::api::{
    AppPasswordRequest, AppPasswordView, CodeRequest, ContactData, HolderData, IdentityStateData,
    ImapServer, MailboxView, NotificationKind, NotificationView, SecondFactorProof,
    TwoStepEnrolment,
};
use rusqlite::{OptionalExtension, params};
use serde_json::value::RawValue;

use crate::auth::Auth;
use crate::factor;
use crate::problem::{ApiError, ApiResult};
use crate::state::{
    AppState, Ctx, hash_password, idempotent_redacted, new_id, new_token, parse_ts, sha256_hex, ts,
};

/// A mailbox row, decoded.
pub(crate) struct MailboxRow {
    pub address: String,
    /// Wire form straight from the stored JSON (same shape as the domain's): it was validated
    /// when written, and re-validating it on every status read cost measurable time.
    pub holder: HolderData,
    pub contact: ContactData,
    pub state: IdentityState,
    pub qualified: bool,
    pub expires_on: String,
    pub two_step: bool,
    /// The authenticator's secret while two-step login is on.
    pub totp_secret: Option<String>,
    /// The last step whose code was accepted (a code is accepted once).
    pub totp_last_step: Option<i64>,
    pub totp_pending: Option<String>,
    /// The session that started the pending enrolment: only it may confirm it.
    pub totp_pending_session: Option<String>,
    /// The mailbox's own IMAPS server, when seeded with one (else the server's).
    pub imap_host: Option<String>,
    pub imap_port: Option<u16>,
}

const MAILBOX_COLS: &str = "address, holder, contact, identity_state, qualified, \
                            expires_on, two_step_login, totp_secret, totp_last_step, \
                            totp_pending_secret, totp_pending_session, imap_host, imap_port";

impl crate::rows::FromRow for MailboxRow {
    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let json = |i: usize| -> rusqlite::Result<String> { r.get(i) };
        let decode = |i: usize, e: serde_json::Error| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        };
        Ok(MailboxRow {
            address: r.get(0)?,
            holder: serde_json::from_str(&json(1)?).map_err(|e| decode(1, e))?,
            contact: serde_json::from_str(&json(2)?).map_err(|e| decode(2, e))?,
            state: serde_json::from_str(&json(3)?).map_err(|e| decode(3, e))?,
            qualified: r.get(4)?,
            expires_on: r.get(5)?,
            two_step: r.get(6)?,
            totp_secret: r.get(7)?,
            totp_last_step: r.get(8)?,
            totp_pending: r.get(9)?,
            totp_pending_session: r.get(10)?,
            imap_host: r.get(11)?,
            imap_port: r.get(12)?,
        })
    }
}

/// Loads a mailbox of `account_id`; someone else's mailbox is "not found" too. For reads of
/// the account's own records (status, expiry) and for the two-step endpoints, which prove the
/// factor themselves; anything else that acts on a mailbox goes through [`load_mailbox`].
pub(crate) fn load_mailbox_record(
    ctx: &Ctx<'_>,
    account_id: &str,
    address: &str,
) -> ApiResult<MailboxRow> {
    let address = address.trim().to_lowercase();
    let row: Option<MailboxRow> = crate::rows::query_opt(
        ctx.tx,
        &format!("SELECT {MAILBOX_COLS} FROM mailboxes WHERE address = ?1 AND account_id = ?2"),
        params![address, account_id],
    )?;
    row.ok_or_else(|| ApiError::not_found("Casella", "Mailbox"))
}

/// Loads a mailbox the session may act on: one of its account's, and, when the mailbox has
/// two-step login, one whose code was proven in this session (H1: the password is the
/// account's, the second factor the mailbox's; a session opened through another mailbox, or
/// with another mailbox's code, does not reach this one).
pub(crate) fn load_mailbox(ctx: &Ctx<'_>, auth: &Auth, address: &str) -> ApiResult<MailboxRow> {
    let m = load_mailbox_record(ctx, &auth.account_id, address)?;
    crate::factor::require_factor(ctx, auth, &m)?;
    Ok(m)
}

/// Sets the identity state on the mailbox (and the star when completed).
pub(crate) fn set_mailbox_state(
    ctx: &Ctx<'_>,
    address: &str,
    state: IdentityState,
) -> ApiResult<()> {
    ctx.tx.execute(
        "UPDATE mailboxes SET identity_state = ?1, qualified = (qualified OR ?2) WHERE address = ?3",
        params![
            serde_json::to_string(&state)?,
            state == IdentityState::Completed,
            address
        ],
    )?;
    Ok(())
}

/// The IMAPS server published for a mailbox: its own, else the server's configured one.
fn imap_server(st: &crate::state::AppState, host: Option<&str>, port: Option<u16>) -> ImapServer {
    match host {
        Some(host) => ImapServer {
            host: host.to_owned(),
            port: port.unwrap_or(st.imap.port),
        },
        None => st.imap.clone(),
    }
}

/// The wire view of a mailbox, with its active identity request.
fn view(ctx: &Ctx<'_>, m: MailboxRow) -> ApiResult<MailboxView> {
    let active: Option<String> = ctx
        .tx
        .prepare_cached(
            "SELECT id FROM identity_requests WHERE mailbox = ?1 AND active = 1
             ORDER BY created_at DESC LIMIT 1",
        )?
        .query_row(params![m.address], |r| r.get(0))
        .optional()?;
    Ok(MailboxView {
        identity_state: IdentityStateData::from(m.state),
        identity_state_label_it: m.state.label(Lang::It).to_owned(),
        qualified: m.qualified,
        expires_on: m.expires_on.parse().map_err(|e| ApiError::internal(&e))?,
        two_step_login: m.two_step,
        imap: imap_server(ctx.st, m.imap_host.as_deref(), m.imap_port),
        address: m.address,
        holder: m.holder,
        contact: m.contact,
        active_identity_request: active,
    })
}

/// The status read the app polls, answered as the JSON of a [`MailboxView`] written straight
/// from the row: the mailbox and its active request in one statement (one read transaction),
/// statement text fixed so the cache finds it without formatting it first.
///
/// This is the hottest read of the API, so nothing is decoded that the answer does not need:
/// the holder and contact JSON go out as stored (written from the same types, and still
/// checked to be JSON), the state and the date as stored, and the row's text is borrowed, not
/// copied. The body is written by [`StatusJson`] into one buffer of the right size: serde's
/// serializer escaped every key and grew its buffer twice, a fifth of this function's
/// instructions (callgrind, `examples/bench_status.rs`). Its tests check it writes the very
/// bytes serde writes; `tests/flows.rs` checks it is the same view as the typed path of the
/// list.
fn status_json(ctx: &Ctx<'_>, account_id: &str, address: &str) -> ApiResult<Vec<u8>> {
    // The address is not read back: the row matched it byte for byte (binary collation).
    const SQL: &str = "SELECT holder, contact, identity_state, qualified, expires_on, \
                       two_step_login, \
                       (SELECT r.id FROM identity_requests r \
                        WHERE r.mailbox = m.address AND r.active = 1 \
                        ORDER BY r.created_at DESC LIMIT 1), \
                       imap_host, imap_port \
                       FROM mailboxes m WHERE m.address = ?1 AND m.account_id = ?2";
    let address = lowercase(address.trim());
    let mut stmt = ctx.tx.prepare_cached(SQL)?;
    let mut rows = stmt.query(params![address.as_ref(), account_id])?;
    let Some(r) = rows.next()? else {
        return Err(ApiError::not_found("Casella", "Mailbox"));
    };
    let stored_state = text(r, 2)?;
    let state = IdentityState::ALL
        .into_iter()
        .find(|s| stored_state == stored_state_json(*s))
        .ok_or_else(|| ApiError::internal(&"unknown stored identity state"))?;
    let body = StatusJson {
        address: &address,
        holder: serde_json::from_str(text(r, 0)?)?,
        contact: serde_json::from_str(text(r, 1)?)?,
        state,
        qualified: r.get(3)?,
        expires_on: text(r, 4)?,
        two_step_login: r.get(5)?,
        active_identity_request: r
            .get_ref(6)?
            .as_str_or_null()
            .map_err(|e| ApiError::internal(&e))?,
        imap_host: r
            .get_ref(7)?
            .as_str_or_null()
            .map_err(|e| ApiError::internal(&e))?
            .unwrap_or(&ctx.st.imap.host),
        imap_port: r.get::<_, Option<u16>>(8)?.unwrap_or(ctx.st.imap.port),
    };
    body.to_vec()
}

/// `s` in lowercase, copied only when that changes it: addresses are stored lowercase and the
/// app sends them so. (Only plain ASCII without capitals is taken as is: outside ASCII a
/// character need not be "uppercase" to have a lowercase form, as the titlecase `ǅ`.)
fn lowercase(s: &str) -> std::borrow::Cow<'_, str> {
    if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(s.to_lowercase())
    }
}

/// How an identity state is stored in `mailboxes.identity_state`: its JSON, which is also its
/// JSON on the wire ([`IdentityStateData`] has the same names; a test checks both).
const fn stored_state_json(state: IdentityState) -> &'static str {
    match state {
        IdentityState::ToConfirm => "\"to_confirm\"",
        IdentityState::ChecksInProgress => "\"checks_in_progress\"",
        IdentityState::DocumentsMissing => "\"documents_missing\"",
        IdentityState::Completed => "\"completed\"",
    }
}

/// [`MailboxView`]'s JSON, borrowed from a row (same field names, same order, same bytes as
/// serde writes them).
struct StatusJson<'a> {
    address: &'a str,
    holder: &'a RawValue,
    contact: &'a RawValue,
    state: IdentityState,
    qualified: bool,
    expires_on: &'a str,
    two_step_login: bool,
    active_identity_request: Option<&'a str>,
    imap_host: &'a str,
    imap_port: u16,
}

impl StatusJson<'_> {
    fn to_vec(&self) -> ApiResult<Vec<u8>> {
        let label = self.state.label(Lang::It);
        let state = stored_state_json(self.state);
        let request = self.active_identity_request.unwrap_or_default();
        // The fixed text below is under 200 bytes; strings may grow when escaped, which only
        // costs a reallocation.
        let mut out = Vec::with_capacity(
            200 + self.address.len()
                + self.holder.get().len()
                + self.contact.get().len()
                + label.len()
                + self.expires_on.len()
                + request.len()
                + self.imap_host.len(),
        );
        out.extend_from_slice(b"{\"address\":");
        json_str(&mut out, self.address)?;
        out.extend_from_slice(b",\"holder\":");
        out.extend_from_slice(self.holder.get().as_bytes());
        out.extend_from_slice(b",\"contact\":");
        out.extend_from_slice(self.contact.get().as_bytes());
        out.extend_from_slice(b",\"identity_state\":");
        out.extend_from_slice(state.as_bytes());
        out.extend_from_slice(b",\"identity_state_label_it\":");
        json_str(&mut out, label)?;
        out.extend_from_slice(b",\"qualified\":");
        out.extend_from_slice(json_bool(self.qualified));
        out.extend_from_slice(b",\"expires_on\":");
        json_str(&mut out, self.expires_on)?;
        out.extend_from_slice(b",\"two_step_login\":");
        out.extend_from_slice(json_bool(self.two_step_login));
        out.extend_from_slice(b",\"imap\":{\"host\":");
        json_str(&mut out, self.imap_host)?;
        out.extend_from_slice(b",\"port\":");
        out.extend_from_slice(self.imap_port.to_string().as_bytes());
        out.push(b'}');
        if let Some(id) = self.active_identity_request {
            out.extend_from_slice(b",\"active_identity_request\":");
            json_str(&mut out, id)?;
        }
        out.push(b'}');
        Ok(out)
    }
}

fn json_bool(b: bool) -> &'static [u8] {
    if b { b"true" } else { b"false" }
}

/// Appends `s` as a JSON string, escaped exactly as serde_json escapes it.
fn json_str(out: &mut Vec<u8>, s: &str) -> ApiResult<()> {
    let plain = |b: &u8| *b >= 0x20 && *b != b'"' && *b != b'\\';
    if s.as_bytes().iter().all(plain) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(&mut *out, s)?;
    }
    Ok(())
}

/// A text column, borrowed from the row.
fn text<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> ApiResult<&'r str> {
    r.get_ref(i)?.as_str().map_err(|e| ApiError::internal(&e))
}

fn account_mailboxes(ctx: &Ctx<'_>, account_id: &str) -> ApiResult<Vec<MailboxRow>> {
    Ok(crate::rows::query_all(
        ctx.tx,
        &format!("SELECT {MAILBOX_COLS} FROM mailboxes WHERE account_id = ?1 ORDER BY address"),
        params![account_id],
    )?)
}

/// The mailboxes of the signed-in account.
#[utoipa::path(get, path = "/v1/mailboxes", tag = "mailboxes",
    security(("bearer" = [])),
    responses((status = 200, description = "Mailboxes", body = Vec<MailboxView>)))]
pub(crate) async fn list(
    State(st): State<Arc<AppState>>,
    auth: Auth,
) -> ApiResult<Json<Vec<MailboxView>>> {
    st.read(move |ctx| {
        let rows = account_mailboxes(ctx, &auth.account_id)?;
        rows.into_iter()
            .map(|m| view(ctx, m))
            .collect::<ApiResult<Vec<_>>>()
            .map(Json)
    })
    .await
}

/// One mailbox (its identity state is the "mailbox status" the app polls).
#[utoipa::path(get, path = "/v1/mailboxes/{address}", tag = "mailboxes", operation_id = "get_mailbox",
    security(("bearer" = [])),
    params(("address" = String, Path, description = "PEC address")),
    responses((status = 200, description = "The mailbox", body = MailboxView)))]
pub(crate) async fn get(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(address): Path<String>,
) -> ApiResult<Response> {
    const JSON: HeaderValue = HeaderValue::from_static("application/json");
    // One indexed lookup on a memory-mapped file takes microseconds: run it on the async
    // worker rather than pay two thread hand-offs per poll (examples/bench_status.rs).
    let body = st.read_inline(|ctx| status_json(ctx, &auth.account_id, &address))?;
    Ok(([(header::CONTENT_TYPE, JSON)], body).into_response())
}

/// Notifications for the bell; one "adegua la PEC" banner per mailbox still to confirm.
#[utoipa::path(get, path = "/v1/notifications", tag = "mailboxes",
    security(("bearer" = [])),
    responses((status = 200, description = "Notifications, newest first", body = Vec<NotificationView>)))]
pub(crate) async fn notifications(
    State(st): State<Arc<AppState>>,
    auth: Auth,
) -> ApiResult<Json<Vec<NotificationView>>> {
    st.run(move |ctx| {
        let mut out = Vec::new();
        for m in account_mailboxes(ctx, &auth.account_id)? {
            if m.state != IdentityState::Completed {
                out.push(NotificationView {
                    id: format!("banner:{}", m.address),
                    kind: NotificationKind::IdentityBanner,
                    mailbox: m.address.clone(),
                    title_it: "Adegua la PEC agli standard europei".into(),
                    title_en: "Bring your PEC up to the European standard".into(),
                    body_it: format!(
                        "Conferma l'identità del titolare di {}: clicca su \"Conferma identità\". Stato: {}.",
                        m.address,
                        m.state.label(Lang::It)
                    ),
                    body_en: format!(
                        "Confirm the identity of the holder of {}: click \"Confirm identity\". State: {}.",
                        m.address,
                        m.state.label(Lang::En)
                    ),
                    created_at: ctx.now,
                    read: false,
                });
            }
        }
        let mut stmt = ctx.tx.prepare(
            "SELECT id, kind, mailbox, title_it, title_en, body_it, body_en, created_at, read
             FROM notifications WHERE account_id = ?1 ORDER BY id DESC LIMIT 200",
        )?;
        let rows = stmt
            .query_map(params![auth.account_id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, bool>(8)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for (id, kind, mailbox, ti, te, bi, be, at, read) in rows {
            out.push(NotificationView {
                id: id.to_string(),
                kind: if kind == "security" {
                    NotificationKind::Security
                } else {
                    NotificationKind::IdentityOutcome
                },
                mailbox,
                title_it: ti,
                title_en: te,
                body_it: bi,
                body_en: be,
                created_at: parse_ts(&at)?,
                read,
            });
        }
        Ok(Json(out))
    })
    .await
}

/// Marks a notification read (banners cannot be dismissed: they go when the identity is confirmed).
#[utoipa::path(post, path = "/v1/notifications/{id}/read", tag = "mailboxes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Notification id")),
    responses((status = 204, description = "Marked read")))]
pub(crate) async fn mark_read(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    st.run(move |ctx| {
        let Ok(id) = id.parse::<i64>() else {
            return Err(ApiError::not_found("Notifica", "Notification"));
        };
        let n = ctx.tx.execute(
            "UPDATE notifications SET read = 1 WHERE id = ?1 AND account_id = ?2",
            params![id, auth.account_id],
        )?;
        if n == 0 {
            return Err(ApiError::not_found("Notifica", "Notification"));
        }
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Two-step login

fn require_completed(m: &MailboxRow) -> ApiResult<()> {
    if m.state != IdentityState::Completed {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "two_step.identity_not_confirmed",
            "Conferma prima l'identità del titolare: la verifica in due passaggi viene dopo.",
            "Confirm the holder's identity first: two-step login comes after.",
        ));
    }
    Ok(())
}

/// Starts two-step enrolment: a new secret to add to an authenticator app, and recovery
/// codes, shown only now. While two-step login is on (replacing the authenticator), a proof
/// of the current factor is needed: a code, or a recovery code.
#[utoipa::path(post, path = "/v1/mailboxes/{address}/two-step/enrolment", tag = "security",
    security(("bearer" = [])),
    params(("address" = String, Path, description = "PEC address")),
    request_body(content = Option<SecondFactorProof>,
                 description = "Proof of the current factor, when two-step login is already on"),
    responses((status = 201, description = "Secret, otpauth URI and recovery codes", body = TwoStepEnrolment)))]
pub(crate) async fn two_step_enrol(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(address): Path<String>,
    proof: Option<Json<Option<SecondFactorProof>>>,
) -> ApiResult<(StatusCode, Json<TwoStepEnrolment>)> {
    // No body, or `null` (the document's optional body): no proof.
    let proof = proof.and_then(|Json(p)| p).unwrap_or_default();
    st.run(move |ctx| {
        let m = load_mailbox_record(ctx, &auth.account_id, &address)?;
        require_completed(&m)?;
        if m.two_step {
            // H2: replacing the authenticator needs the current one (or a recovery code).
            factor::prove(
                ctx,
                &auth,
                &m,
                &factor::Proof {
                    code: proof.code.as_deref(),
                    recovery_code: proof.recovery_code.as_deref(),
                },
            )?;
        }
        let secret = factor::new_totp_secret();
        ctx.tx.execute(
            "UPDATE mailboxes SET totp_pending_secret = ?1, totp_pending_session = ?2
             WHERE address = ?3",
            params![secret, auth.session_id, m.address],
        )?;
        let recovery_codes = factor::issue_recovery_codes(ctx, &m.address)?;
        let uri = format!(
            "otpauth://totp/PEC%20Sandbox:{}?secret={secret}&issuer=PEC%20Sandbox&algorithm=SHA1&digits=6&period=30",
            m.address.replace('@', "%40")
        );
        Ok((
            StatusCode::CREATED,
            Json(TwoStepEnrolment {
                secret,
                otpauth_uri: uri,
                recovery_codes,
            }),
        ))
    })
    .await
}

/// Confirms enrolment with a code of the new authenticator: two-step login is on from now
/// (or moved to the new one). Only the session that started the enrolment can confirm it;
/// the account's other sessions end and the holder is told by e-mail.
#[utoipa::path(post, path = "/v1/mailboxes/{address}/two-step/confirmation", tag = "security",
    security(("bearer" = [])),
    params(("address" = String, Path, description = "PEC address")),
    request_body = CodeRequest,
    responses((status = 200, description = "Two-step login on", body = MailboxView)))]
pub(crate) async fn two_step_confirm(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(address): Path<String>,
    Json(req): Json<CodeRequest>,
) -> ApiResult<Json<MailboxView>> {
    let (account, session) = (Arc::clone(&auth.account_id), Arc::clone(&auth.session_id));
    let view = st
        .run(move |ctx| {
            let m = load_mailbox_record(ctx, &auth.account_id, &address)?;
            let pending = m
                .totp_pending
                .clone()
                .filter(|_| m.totp_pending_session.as_deref() == Some(&*auth.session_id));
            let Some(secret) = pending else {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "two_step.not_enrolling",
                    "Nessuna attivazione in corso in questa sessione: ricomincia.",
                    "No enrolment in progress in this session: start again.",
                ));
            };
            let step = factor::verify_code(ctx, &m.address, &secret, None, &req.code)?;
            let change = if m.two_step {
                factor::Change::Replaced
            } else {
                factor::Change::Enabled
            };
            ctx.tx.execute(
                "UPDATE mailboxes SET totp_secret = ?1, totp_last_step = ?2, two_step_login = 1,
                        totp_pending_secret = NULL, totp_pending_session = NULL
                 WHERE address = ?3",
                params![secret, step, m.address],
            )?;
            factor::activate_recovery_codes(ctx, &m.address)?;
            factor::add_factor(ctx, &auth.session_id, &m.address)?;
            factor::revoke_other_sessions(ctx, &auth.account_id, &auth.session_id)?;
            factor::tell_holder(ctx, &auth.account_id, &m, change)?;
            let m = load_mailbox_record(ctx, &auth.account_id, &address)?;
            view(ctx, m)
        })
        .await?;
    // Committed: the other sessions' cached tokens stop working now.
    st.forget_account_sessions(&account, &session);
    Ok(Json(view))
}

/// Turns two-step login off, with a proof of the current factor (a code or a recovery code);
/// the account's other sessions end and the holder is told by e-mail.
#[utoipa::path(post, path = "/v1/mailboxes/{address}/two-step/disable", tag = "security",
    security(("bearer" = [])),
    params(("address" = String, Path, description = "PEC address")),
    request_body = SecondFactorProof,
    responses((status = 200, description = "Two-step login off", body = MailboxView)))]
pub(crate) async fn two_step_disable(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(address): Path<String>,
    Json(proof): Json<SecondFactorProof>,
) -> ApiResult<Json<MailboxView>> {
    let (account, session) = (Arc::clone(&auth.account_id), Arc::clone(&auth.session_id));
    let view = st
        .run(move |ctx| {
            let m = load_mailbox_record(ctx, &auth.account_id, &address)?;
            if !m.two_step {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "two_step.not_enabled",
                    "La verifica in due passaggi non è attiva per questa casella.",
                    "Two-step login is not on for this mailbox.",
                ));
            }
            factor::prove(
                ctx,
                &auth,
                &m,
                &factor::Proof {
                    code: proof.code.as_deref(),
                    recovery_code: proof.recovery_code.as_deref(),
                },
            )?;
            ctx.tx.execute(
                "UPDATE mailboxes SET totp_secret = NULL, totp_last_step = NULL, two_step_login = 0,
                        totp_pending_secret = NULL, totp_pending_session = NULL
                 WHERE address = ?1",
                params![m.address],
            )?;
            factor::drop_recovery_codes(ctx, &m.address)?;
            ctx.tx.execute(
                "DELETE FROM session_factors WHERE mailbox = ?1",
                params![m.address],
            )?;
            factor::revoke_other_sessions(ctx, &auth.account_id, &auth.session_id)?;
            factor::tell_holder(ctx, &auth.account_id, &m, factor::Change::Disabled)?;
            let m = load_mailbox_record(ctx, &auth.account_id, &address)?;
            view(ctx, m)
        })
        .await?;
    st.forget_account_sessions(&account, &session);
    Ok(Json(view))
}

// ---------------------------------------------------------------------------------------------
// App passwords

/// Creates an app password for a mail program (shown once). It opens the mailbox over IMAP,
/// so it needs two-step login on and a fresh code of it (step-up), whatever the session
/// proved before. Honours `Idempotency-Key`: a repeat answers the same app password without
/// the password itself, which is never stored.
#[utoipa::path(post, path = "/v1/mailboxes/{address}/app-passwords", tag = "security",
    security(("bearer" = [])),
    params(("address" = String, Path, description = "PEC address"),
           ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe create")),
    request_body = AppPasswordRequest,
    responses((status = 201, description = "Created; the password is shown only now", body = AppPasswordView)))]
pub(crate) async fn create_app_password(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(address): Path<String>,
    headers: HeaderMap,
    Json(req): Json<AppPasswordRequest>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let key = idem_key(&headers);
    // Hashed before the writer is taken (argon2: tens of milliseconds of CPU that no other
    // write should wait for); wasted only when the request is refused or replayed.
    let password = new_token();
    let hash = {
        let password = password.clone();
        st.password_work(move || hash_password(&password))
            .await?
            .map_err(|e| ApiError::internal(&e))?
    };
    st.run(move |ctx| {
        let m = load_mailbox_record(ctx, &auth.account_id, &address)?;
        if !m.two_step {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "app_password.two_step_required",
                "Le password per le app servono con la verifica in due passaggi: attivala prima.",
                "App passwords go with two-step login: turn it on first.",
            ));
        }
        // Step-up (H1): a fresh code of this mailbox, on every creation.
        factor::prove(
            ctx,
            &auth,
            &m,
            &factor::Proof {
                code: req.totp_code.as_deref(),
                recovery_code: None,
            },
        )?;
        let fp = sha256_hex(&[b"app-password", m.address.as_bytes(), req.label.as_bytes()]);
        let account = auth.account_id.clone();
        let (status, body) =
            idempotent_redacted(ctx, &account, key.as_deref(), &fp, &["/password"], |ctx| {
                let label = req.label.trim();
                if label.is_empty()
                    || label.chars().count() > 100
                    || label.chars().any(char::is_control)
                {
                    return Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "app_password.label",
                        "Indica un nome da 1 a 100 caratteri.",
                        "Give a label of 1 to 100 characters.",
                    ));
                }
                let count: i64 = ctx.tx.query_row(
                    "SELECT COUNT(*) FROM app_passwords WHERE mailbox = ?1",
                    params![m.address],
                    |r| r.get(0),
                )?;
                if count >= 20 {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "app_password.too_many",
                        "Al massimo 20 password per programmi: eliminane una.",
                        "At most 20 app passwords: delete one first.",
                    ));
                }
                let id = new_id("app");
                ctx.tx.execute(
                    "INSERT INTO app_passwords (id, mailbox, label, password_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, m.address, label, hash, ts(ctx.now)],
                )?;
                let v = AppPasswordView {
                    id,
                    label: label.to_owned(),
                    password: Some(password),
                    created_at: ctx.now,
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

/// App passwords of a mailbox (without the passwords).
#[utoipa::path(get, path = "/v1/mailboxes/{address}/app-passwords", tag = "security",
    security(("bearer" = [])),
    params(("address" = String, Path, description = "PEC address")),
    responses((status = 200, description = "App passwords", body = Vec<AppPasswordView>)))]
pub(crate) async fn list_app_passwords(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(address): Path<String>,
) -> ApiResult<Json<Vec<AppPasswordView>>> {
    st.run(move |ctx| {
        let m = load_mailbox(ctx, &auth, &address)?;
        let rows: Vec<(String, String, String)> = crate::rows::query_all(
            ctx.tx,
            "SELECT id, label, created_at FROM app_passwords WHERE mailbox = ?1 ORDER BY created_at",
            params![m.address],
        )?;
        rows.into_iter()
            .map(|(id, label, at)| {
                Ok(AppPasswordView {
                    id,
                    label,
                    password: None,
                    created_at: parse_ts(&at)?,
                })
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Json)
    })
    .await
}

/// Revokes an app password.
#[utoipa::path(delete, path = "/v1/mailboxes/{address}/app-passwords/{id}", tag = "security",
    security(("bearer" = [])),
    params(("address" = String, Path, description = "PEC address"),
           ("id" = String, Path, description = "App password id")),
    responses((status = 204, description = "Revoked")))]
pub(crate) async fn delete_app_password(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path((address, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    st.run(move |ctx| {
        let m = load_mailbox(ctx, &auth, &address)?;
        let n = ctx.tx.execute(
            "DELETE FROM app_passwords WHERE id = ?1 AND mailbox = ?2",
            params![id, m.address],
        )?;
        if n == 0 {
            return Err(ApiError::not_found("Password", "App password"));
        }
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// The `Idempotency-Key` header, if any. An unreadable one (not ASCII) comes back empty, so
/// that it is refused like any other malformed key rather than ignored.
pub(crate) fn idem_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get(pec_provider::api::IDEMPOTENCY_KEY_HEADER)
        .map(|v| v.to_str().unwrap_or_default().to_owned())
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use pec_provider::api::PersonData;
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn stored_state_is_the_json_of_both_state_types() {
        for s in IdentityState::ALL {
            let stored = stored_state_json(s);
            assert_eq!(serde_json::to_string(&s).unwrap(), stored);
            assert_eq!(
                serde_json::to_string(&IdentityStateData::from(s)).unwrap(),
                stored
            );
        }
    }

    #[test]
    fn lowercase_copies_only_when_it_changes_something() {
        assert!(matches!(
            lowercase("box1@pec.example.it"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(lowercase("Box1@PEC.example.it"), "box1@pec.example.it");
        // Not uppercase, yet with a lowercase form: the titlecase digraph.
        assert!(!'ǅ'.is_uppercase());
        assert_eq!(lowercase("ǅ@pec.example.it"), "ǆ@pec.example.it");
        assert_eq!(lowercase("ÀB@pec.example.it"), "àb@pec.example.it");
    }

    /// What [`StatusJson`] writes for the row that `view` was made from.
    fn hand_written(view: &MailboxView, state: IdentityState) -> String {
        let holder = serde_json::to_string(&view.holder).unwrap();
        let contact = serde_json::to_string(&view.contact).unwrap();
        let date = view.expires_on.to_string();
        let bytes = StatusJson {
            address: &view.address,
            holder: serde_json::from_str(&holder).unwrap(),
            contact: serde_json::from_str(&contact).unwrap(),
            state,
            qualified: view.qualified,
            expires_on: &date,
            two_step_login: view.two_step_login,
            active_identity_request: view.active_identity_request.as_deref(),
            imap_host: &view.imap.host,
            imap_port: view.imap.port,
        }
        .to_vec()
        .unwrap();
        String::from_utf8(bytes).unwrap()
    }

    fn text() -> impl Strategy<Value = String> {
        // Any text, with the characters JSON must escape made likely.
        prop_oneof![any::<String>(), "[a-z\"\\\\\u{0}-\u{1f}\u{7f}é€😀 ]{0,24}",]
    }

    proptest! {
        /// The hand-written body is byte for byte what serde writes for the same view.
        #[test]
        fn status_json_is_serdes_mailbox_view(
            address in text(),
            first_name in text(),
            last_name in text(),
            email in text(),
            mobile in proptest::option::of(text()),
            state in proptest::sample::select(IdentityState::ALL.to_vec()),
            qualified in any::<bool>(),
            day in 0i32..200_000,
            two_step_login in any::<bool>(),
            request in proptest::option::of(text()),
            imap_host in text(),
            imap_port in any::<u16>(),
        ) {
            let expires_on = NaiveDate::from_num_days_from_ce_opt(day).unwrap();
            let view = MailboxView {
                address,
                holder: HolderData::PrivateCitizen {
                    first_name,
                    last_name,
                    tax_code: "RSSMRA80A01H501U".into(),
                },
                contact: ContactData { email, mobile },
                identity_state: IdentityStateData::from(state),
                identity_state_label_it: state.label(Lang::It).to_owned(),
                qualified,
                expires_on,
                two_step_login,
                imap: ImapServer { host: imap_host, port: imap_port },
                active_identity_request: request,
            };
            prop_assert_eq!(
                hand_written(&view, state),
                serde_json::to_string(&view).unwrap()
            );
        }
    }

    #[test]
    fn status_json_of_a_company_with_its_representative() {
        let view = MailboxView {
            address: "info@pec.rossi-srl.it".into(),
            holder: HolderData::Company {
                business_name: "Rossi \"& figli\" S.r.l.".into(),
                tax_code: "01234567890".into(),
                legal_representative: Some(PersonData {
                    first_name: "Mario".into(),
                    last_name: "Rossi".into(),
                    tax_code: "RSSMRA80A01H501U".into(),
                }),
            },
            contact: ContactData {
                email: "mario@example.it".into(),
                mobile: None,
            },
            identity_state: IdentityStateData::Completed,
            identity_state_label_it: IdentityState::Completed.label(Lang::It).to_owned(),
            qualified: true,
            expires_on: NaiveDate::from_ymd_opt(2027, 3, 31).unwrap(),
            two_step_login: false,
            imap: ImapServer {
                host: "imaps.pec.rossi-srl.it".into(),
                port: 993,
            },
            active_identity_request: None,
        };
        assert_eq!(
            hand_written(&view, IdentityState::Completed),
            serde_json::to_string(&view).unwrap()
        );
    }
}
