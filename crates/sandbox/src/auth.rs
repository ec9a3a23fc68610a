//! Sessions: sign in (with lock-out), refresh with rotation, sign out, and the bearer extractor.
//!
//! Tokens are 256-bit random strings; only their SHA-256 is stored, so a copy of the database
//! does not hand out sessions. Passwords are argon2id hashes.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use chrono::TimeDelta;
use pec_provider::api::{RefreshRequest, SessionTokens, SignInRequest};
use rusqlite::{OptionalExtension, params};

use crate::rows::{query_all, query_opt, query_value};
use crate::throttle::{self, CREDENTIALS, Failure, Gate};

use crate::problem::{ApiError, ApiResult};
use crate::state::{
    AppState, CachedSession, Ctx, hex, new_id, new_token, parse_ts, sha256, sha256_hex, ts,
    verify_password,
};

/// Access tokens live 15 minutes: short enough that a leaked one is of little use.
pub const ACCESS_TTL: TimeDelta = TimeDelta::minutes(15);
/// Refresh tokens live 30 days, rotated on every use.
pub const REFRESH_TTL: TimeDelta = TimeDelta::days(30);
/// Sign-in attempts per client address per minute.
pub const SIGNIN_PER_MINUTE: usize = 30;

/// The authenticated caller. The ids are shared with the session cache, so a request that
/// finds its token there copies no string.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    pub account_id: Arc<str>,
    pub session_id: Arc<str>,
}

impl FromRequestParts<Arc<AppState>> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 256)
            .ok_or_else(ApiError::unauthorized)?;
        let digest = sha256(&[b"access", token.as_bytes()]);
        if let Some(s) = state.cached_session(&digest) {
            return Ok(Auth {
                account_id: s.account_id,
                session_id: s.session_id,
            });
        }
        let epoch = state.revocation_epoch();
        let hash = hex(&digest);
        let st = Arc::clone(state);
        state
            .read(move |ctx| {
                let row: Option<(String, String, String)> = ctx
                    .tx
                    .prepare_cached(
                        "SELECT id, account_id, access_expires_at FROM sessions
                         WHERE access_hash = ?1 AND revoked = 0",
                    )?
                    .query_row(params![hash], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()?;
                let (session_id, account_id, exp) = row.ok_or_else(ApiError::unauthorized)?;
                let expires_at = parse_ts(&exp)?;
                if expires_at <= ctx.now {
                    return Err(ApiError::unauthorized());
                }
                let account_id: Arc<str> = account_id.into();
                let session_id: Arc<str> = session_id.into();
                st.cache_session(
                    digest,
                    CachedSession {
                        account_id: Arc::clone(&account_id),
                        session_id: Arc::clone(&session_id),
                        expires_at,
                    },
                    epoch,
                );
                Ok(Auth {
                    account_id,
                    session_id,
                })
            })
            .await
    }
}

/// Sign in. Failures count per account (every login that names it shares one counter) and
/// lock it with back-off; a wrong two-step code counts for the account and for the mailbox.
#[utoipa::path(post, path = "/v1/sessions", tag = "sessions",
    request_body = SignInRequest,
    responses((status = 201, description = "Signed in", body = SessionTokens)))]
pub(crate) async fn sign_in(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(req): Json<SignInRequest>,
) -> ApiResult<(StatusCode, Json<SessionTokens>)> {
    if let Err(wait) = st.signin_allowed(peer.ip(), SIGNIN_PER_MINUTE) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "auth.rate_limited",
            "Troppi tentativi di accesso: riprova tra poco.",
            "Too many sign-in attempts: try again shortly.",
        )
        .retry_after(wait));
    }
    let login = req.login.trim().to_lowercase();
    if login.is_empty() || login.len() > 254 || req.password.len() > 1024 {
        return Err(invalid_credentials());
    }
    // The password hash (argon2: tens of milliseconds of CPU) is checked between a read and a
    // write, never under the writer: holding it there stopped every other write of the server
    // for each sign-in.
    let l = login.clone();
    let (account_id, hash) = st
        .read(move |ctx| {
            let account_id = account_of(ctx, &l)?;
            refuse_if_locked(ctx, &counter_key(&l, account_id.as_deref()))?;
            let hash: Option<String> = match &account_id {
                Some(id) => query_value(
                    ctx.tx,
                    "SELECT password_hash FROM accounts WHERE id = ?1",
                    params![id],
                )?,
                None => None,
            };
            Ok((account_id, hash))
        })
        .await?;
    let password_ok = check_password(&st, req.password, hash).await?;
    let totp_code = req.totp_code;
    let tokens = st
        .run(move |ctx| {
            finish_sign_in(
                ctx,
                &login,
                account_id.as_deref(),
                password_ok,
                totp_code.as_deref(),
            )
        })
        .await?;
    Ok((StatusCode::CREATED, Json(tokens)))
}

/// Checks `password` against `hash` on the blocking pool, outside the writer (argon2 takes
/// tens of milliseconds of CPU); an unknown user (`None`) is checked against a real hash too,
/// so both take the same time. Used by every password check of the server.
pub(crate) async fn check_password(
    st: &Arc<AppState>,
    password: String,
    hash: Option<String>,
) -> ApiResult<bool> {
    let dummy = st.dummy_hash.clone();
    st.password_work(move || {
        let ok = verify_password(&password, hash.as_deref().unwrap_or(&dummy));
        ok && hash.is_some()
    })
    .await
}

/// The writer's part of a portal sign-in (registry, renewal) once the password is checked:
/// the user's counter read again (concurrent failures count), the failure counted or the
/// counter cleared.
pub(crate) fn finish_portal_sign_in(ctx: &Ctx<'_>, key: &str, password_ok: bool) -> ApiResult<()> {
    refuse_if_locked(ctx, key)?;
    if password_ok {
        return CREDENTIALS.clear(ctx, key);
    }
    Err(count_failure(ctx, key)?.unwrap_or_else(invalid_credentials))
}

pub(crate) fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "auth.invalid_credentials",
        "Credenziali non valide.",
        "Invalid credentials.",
    )
}

/// The password counter of a login: the account's when the login names one (so an account
/// with many mailboxes does not get five tries per address, M3), else the login's own.
fn counter_key(login: &str, account_id: Option<&str>) -> String {
    match account_id {
        Some(id) => throttle::account_key(id),
        None => throttle::unknown_login_key(login),
    }
}

pub(crate) fn refuse_if_locked(ctx: &Ctx<'_>, key: &str) -> ApiResult<()> {
    match CREDENTIALS.gate(ctx, key)? {
        Gate::Locked(wait) => Err(locked(wait)),
        Gate::Open(_) => Ok(()),
    }
}

/// The writer's part of a sign-in, once the password is checked. The lock is read again
/// here: failures counted by concurrent attempts while this one was hashing are seen, and a
/// lock set meanwhile wins.
fn finish_sign_in(
    ctx: &Ctx<'_>,
    login: &str,
    account_id: Option<&str>,
    password_ok: bool,
    totp_code: Option<&str>,
) -> ApiResult<SessionTokens> {
    let key = counter_key(login, account_id);
    refuse_if_locked(ctx, &key)?;
    let (Some(account_id), true) = (account_id, password_ok) else {
        return Err(count_failure(ctx, &key)?.unwrap_or_else(invalid_credentials));
    };
    // Read under the writer: two-step login turned on since the password was checked applies.
    let factors = two_step_factors(ctx, login, account_id)?;
    let mut proven = Vec::new();
    if !factors.is_empty() {
        let Some(code) = totp_code.map(str::trim).filter(|c| !c.is_empty()) else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "auth.totp_required",
                "Verifica in due passaggi attiva: inserisci il codice dell'app.",
                "Two-step login is on: enter the code from your app.",
            ));
        };
        let mut all_locked = true;
        for f in &factors {
            match crate::factor::verify_code(ctx, &f.address, &f.secret, f.last_step, code) {
                Ok(step) => {
                    ctx.tx.execute(
                        "UPDATE mailboxes SET totp_last_step = ?1 WHERE address = ?2",
                        params![step, f.address],
                    )?;
                    proven.push(f.address.clone());
                    all_locked = false;
                }
                Err(e) if e.localized.code == "two_step.locked" => {}
                Err(_) => all_locked = false,
            }
        }
        if proven.is_empty() {
            if let Some(e) = count_failure(ctx, &key)? {
                return Err(e);
            }
            if all_locked {
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "two_step.locked",
                    "Troppi codici errati per questa casella: riprova più tardi.",
                    "Too many wrong codes for this mailbox: try again later.",
                ));
            }
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "auth.totp_invalid",
                "Codice di verifica non valido.",
                "Invalid verification code.",
            ));
        }
    }
    CREDENTIALS.clear(ctx, &key)?;
    let (session_id, tokens) = issue_session(ctx, account_id)?;
    for mailbox in &proven {
        crate::factor::add_factor(ctx, &session_id, mailbox)?;
    }
    Ok(tokens)
}

fn locked(wait: i64) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "auth.locked",
        "Troppi tentativi errati: accesso bloccato temporaneamente.",
        "Too many failed attempts: sign-in is temporarily locked.",
    )
    .retry_after(u64::try_from(wait).unwrap_or(1))
}

/// Counts a failed sign-in; `Some(locked)` when this failure locked the counter.
fn count_failure(ctx: &Ctx<'_>, key: &str) -> ApiResult<Option<ApiError>> {
    tracing::info!("sign-in failed");
    Ok(match CREDENTIALS.fail(ctx, key)? {
        Failure::Locked(wait) => Some(locked(wait)),
        Failure::Counted => None,
    })
}

/// The account a login names: a mailbox address, or the account id itself.
fn account_of(ctx: &Ctx<'_>, login: &str) -> ApiResult<Option<String>> {
    let sql = if login.contains('@') {
        "SELECT account_id FROM mailboxes WHERE address = ?1"
    } else {
        "SELECT id FROM accounts WHERE id = ?1"
    };
    Ok(query_value(ctx.tx, sql, params![login])?)
}

/// A mailbox's two-step secret, as a sign-in checks it.
struct Factor {
    address: String,
    secret: String,
    last_step: Option<i64>,
}

/// The two-step factors a sign-in of `account_id` with `login` must prove one of: the
/// mailbox's, or, signing in with the account id, any mailbox's (the session then reaches
/// the mailboxes whose code it was).
fn two_step_factors(ctx: &Ctx<'_>, login: &str, account_id: &str) -> ApiResult<Vec<Factor>> {
    let rows: Vec<(String, String, Option<i64>)> = if login.contains('@') {
        query_all(
            ctx.tx,
            "SELECT address, totp_secret, totp_last_step FROM mailboxes
             WHERE address = ?1 AND account_id = ?2 AND two_step_login = 1
               AND totp_secret IS NOT NULL",
            params![login, account_id],
        )?
    } else {
        // `INDEXED BY`: the partial index holds only these rows; without it the planner may
        // pick the account index and read every mailbox of the account (migration 5).
        query_all(
            ctx.tx,
            "SELECT address, totp_secret, totp_last_step FROM mailboxes INDEXED BY mailboxes_two_step
             WHERE account_id = ?1 AND two_step_login = 1 AND totp_secret IS NOT NULL",
            params![account_id],
        )?
    };
    Ok(rows
        .into_iter()
        .map(|(address, secret, last_step)| Factor {
            address,
            secret,
            last_step,
        })
        .collect())
}

/// A new session of `account_id`: its id and its tokens.
fn issue_session(ctx: &Ctx<'_>, account_id: &str) -> ApiResult<(String, SessionTokens)> {
    let access = new_token();
    let refresh = new_token();
    let id = new_id("ses");
    let expires_at = ctx.now + ACCESS_TTL;
    let refresh_expires_at = ctx.now + REFRESH_TTL;
    ctx.tx.execute(
        "INSERT INTO sessions (id, account_id, access_hash, refresh_hash, access_expires_at,
                               refresh_expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            id,
            account_id,
            sha256_hex(&[b"access", access.as_bytes()]),
            sha256_hex(&[b"refresh", refresh.as_bytes()]),
            ts(expires_at),
            ts(refresh_expires_at),
            ts(ctx.now)
        ],
    )?;
    Ok((
        id,
        SessionTokens {
            access_token: access.into(),
            refresh_token: refresh.into(),
            token_type: "Bearer".to_owned(),
            expires_at,
            refresh_expires_at,
            account_id: account_id.to_owned(),
        },
    ))
}

/// Refresh a session: the old tokens stop working, new ones are issued.
#[utoipa::path(post, path = "/v1/sessions/refresh", tag = "sessions",
    request_body = RefreshRequest,
    responses((status = 200, description = "New tokens", body = SessionTokens)))]
pub(crate) async fn refresh(
    State(st): State<Arc<AppState>>,
    Json(req): Json<RefreshRequest>,
) -> ApiResult<Json<SessionTokens>> {
    let outcome = st
        .run(move |ctx| {
            let hash = sha256_hex(&[b"refresh", req.refresh_token.expose().as_bytes()]);
            let row: Option<(String, String, String, bool, Option<String>)> = query_opt(
                ctx.tx,
                "SELECT id, account_id, refresh_expires_at, revoked, rotated_to FROM sessions
                 WHERE refresh_hash = ?1",
                params![hash],
            )?;
            let Some((id, account, exp, revoked, rotated_to)) = row else {
                return Err(ApiError::unauthorized());
            };
            if revoked {
                // A refresh token already rotated, presented again: one of its two holders is
                // not the holder (a stolen token, or a replay). Whoever holds the sessions it
                // was rotated into loses them too, so a thief's session does not outlive the
                // holder's next attempt (OAuth 2.0 Security BCP, refresh token rotation).
                return Ok(Refreshed::Reused(revoke_rotations(ctx, rotated_to)?));
            }
            if parse_ts(&exp)? <= ctx.now {
                return Err(ApiError::unauthorized());
            }
            let (new_id, tokens) = issue_session(ctx, &account)?;
            ctx.tx.execute(
                "UPDATE sessions SET revoked = 1, rotated_to = ?2 WHERE id = ?1",
                params![id, new_id],
            )?;
            // The new session has proven what the old one had.
            ctx.tx.execute(
                "INSERT INTO session_factors (session_id, mailbox)
                 SELECT ?1, mailbox FROM session_factors WHERE session_id = ?2",
                params![new_id, id],
            )?;
            Ok(Refreshed::Rotated(id, tokens))
        })
        .await?;
    match outcome {
        Refreshed::Rotated(old_session, tokens) => {
            // Committed: the old access token must stop working now, not when its cache
            // entry expires.
            st.forget_session(&old_session);
            Ok(Json(tokens))
        }
        Refreshed::Reused(ended) => {
            for id in &ended {
                st.forget_session(id);
            }
            if !ended.is_empty() {
                tracing::warn!(
                    sessions = ended.len(),
                    "refresh token reused: its rotations ended"
                );
            }
            Err(ApiError::unauthorized())
        }
    }
}

/// What a refresh did: rotated a session (its id, the new tokens), or found its token already
/// rotated and ended the sessions that came from it (their ids).
enum Refreshed {
    Rotated(String, SessionTokens),
    Reused(Vec<String>),
}

/// Revokes the sessions a reused refresh token was rotated into, following the chain from
/// `next`; returns the ids of those that were still live.
fn revoke_rotations(ctx: &Ctx<'_>, mut next: Option<String>) -> ApiResult<Vec<String>> {
    let mut ended = Vec::new();
    let mut seen = std::collections::HashSet::new();
    while let Some(id) = next.take() {
        if !seen.insert(id.clone()) {
            break;
        }
        let row: Option<(bool, Option<String>)> = query_opt(
            ctx.tx,
            "SELECT revoked, rotated_to FROM sessions WHERE id = ?1",
            params![id],
        )?;
        let Some((revoked, rotated_to)) = row else {
            break;
        };
        if !revoked {
            ctx.tx
                .execute("UPDATE sessions SET revoked = 1 WHERE id = ?1", params![id])?;
            ended.push(id);
        }
        next = rotated_to;
    }
    Ok(ended)
}

/// Sign out: the session's tokens stop working.
#[utoipa::path(delete, path = "/v1/sessions/current", tag = "sessions",
    security(("bearer" = [])),
    responses((status = 204, description = "Signed out")))]
pub(crate) async fn sign_out(State(st): State<Arc<AppState>>, auth: Auth) -> ApiResult<StatusCode> {
    let session_id = auth.session_id.clone();
    st.run(move |ctx| {
        ctx.tx.execute(
            "UPDATE sessions SET revoked = 1 WHERE id = ?1",
            params![auth.session_id],
        )?;
        Ok(())
    })
    .await?;
    // After the commit, so that no request reading the session before it can cache it again.
    st.forget_session(&session_id);
    Ok(StatusCode::NO_CONTENT)
}
