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

use crate::problem::{ApiError, ApiResult};
use crate::state::{
    AppState, CachedSession, Ctx, hex, new_id, new_token, parse_ts, sha256, sha256_hex, ts,
    verify_password,
};

/// Access tokens live 15 minutes: short enough that a leaked one is of little use.
pub const ACCESS_TTL: TimeDelta = TimeDelta::minutes(15);
/// Refresh tokens live 30 days, rotated on every use.
pub const REFRESH_TTL: TimeDelta = TimeDelta::days(30);
/// Consecutive failures before a login is locked.
pub const MAX_FAILURES: i64 = 5;
/// How long a locked login stays locked.
pub const LOCKOUT: TimeDelta = TimeDelta::minutes(15);
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

/// Sign in.
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
            lock_state(ctx, &l)?;
            let account_id = account_of(ctx, &l)?;
            let hash: Option<String> = match &account_id {
                Some(id) => ctx
                    .tx
                    .query_row(
                        "SELECT password_hash FROM accounts WHERE id = ?1",
                        params![id],
                        |r| r.get(0),
                    )
                    .optional()?,
                None => None,
            };
            Ok((account_id, hash))
        })
        .await?;
    let password_ok = {
        let dummy = st.dummy_hash.clone();
        let password = req.password;
        st.password_work(move || {
            // An unknown login is checked against a real hash too: the same time either way.
            let ok = verify_password(&password, hash.as_deref().unwrap_or(&dummy));
            ok && hash.is_some()
        })
        .await?
    };
    let totp_code = req.totp_code;
    let tokens = st
        .run(move |ctx| {
            finish_sign_in(
                ctx,
                &login,
                account_id.filter(|_| password_ok),
                totp_code.as_deref(),
            )
        })
        .await?;
    Ok((StatusCode::CREATED, Json(tokens)))
}

fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "auth.invalid_credentials",
        "Credenziali non valide.",
        "Invalid credentials.",
    )
}

/// The failures counted so far for `login`, or the refusal while it is locked.
fn lock_state(ctx: &Ctx<'_>, login: &str) -> ApiResult<i64> {
    let lock: Option<(i64, Option<String>)> = ctx
        .tx
        .query_row(
            "SELECT failures, locked_until FROM login_failures WHERE login = ?1",
            params![login],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match lock {
        Some((_, Some(until))) => {
            let until = parse_ts(&until)?;
            if until > ctx.now {
                let wait = (until - ctx.now).num_seconds().max(1);
                return Err(locked(wait));
            }
            Ok(0)
        }
        Some((failures, None)) => Ok(failures),
        None => Ok(0),
    }
}

/// The writer's part of a sign-in, once the password is checked (`account_id` is `None` when
/// it was wrong or the login unknown). The lock is read again here: failures counted by
/// concurrent attempts while this one was hashing are seen, and a lock set meanwhile wins.
fn finish_sign_in(
    ctx: &Ctx<'_>,
    login: &str,
    account_id: Option<String>,
    totp_code: Option<&str>,
) -> ApiResult<SessionTokens> {
    let failures = lock_state(ctx, login)?;
    let Some(account_id) = account_id else {
        return Err(record_failure(ctx, login, failures));
    };
    // Read under the writer: two-step login turned on since the password was checked applies.
    let two_step_secrets = two_step_secrets(ctx, login, &account_id)?;
    if !two_step_secrets.is_empty() {
        let Some(code) = totp_code else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "auth.totp_required",
                "Verifica in due passaggi attiva: inserisci il codice dell'app.",
                "Two-step login is on: enter the code from your app.",
            ));
        };
        let unix = ctx.now.timestamp();
        if !two_step_secrets
            .iter()
            .any(|s| crate::totp::verify(s, unix, code))
        {
            let e = record_failure(ctx, login, failures);
            if e.localized.code == "auth.locked" {
                return Err(e);
            }
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "auth.totp_invalid",
                "Codice di verifica non valido.",
                "Invalid verification code.",
            ));
        }
    }
    ctx.tx.execute(
        "DELETE FROM login_failures WHERE login = ?1",
        params![login],
    )?;
    issue_session(ctx, &account_id)
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

fn record_failure(ctx: &Ctx<'_>, login: &str, previous: i64) -> ApiError {
    let failures = previous.saturating_add(1);
    let result = if failures >= MAX_FAILURES {
        ctx.tx.execute(
            "INSERT INTO login_failures (login, failures, locked_until) VALUES (?1, 0, ?2)
             ON CONFLICT(login) DO UPDATE SET failures = 0, locked_until = excluded.locked_until",
            params![login, ts(ctx.now + LOCKOUT)],
        )
    } else {
        ctx.tx.execute(
            "INSERT INTO login_failures (login, failures, locked_until) VALUES (?1, ?2, NULL)
             ON CONFLICT(login) DO UPDATE SET failures = excluded.failures, locked_until = NULL",
            params![login, failures],
        )
    };
    if let Err(e) = result {
        return ApiError::from(e);
    }
    tracing::info!("sign-in failed");
    if failures >= MAX_FAILURES {
        locked(LOCKOUT.num_seconds())
    } else {
        invalid_credentials()
    }
}

/// The account a login names: a mailbox address, or the account id itself.
fn account_of(ctx: &Ctx<'_>, login: &str) -> ApiResult<Option<String>> {
    let sql = if login.contains('@') {
        "SELECT account_id FROM mailboxes WHERE address = ?1"
    } else {
        "SELECT id FROM accounts WHERE id = ?1"
    };
    Ok(ctx
        .tx
        .query_row(sql, params![login], |r| r.get(0))
        .optional()?)
}

/// The two-step secrets that apply to a sign-in of `account_id` with `login`: the mailbox's,
/// or, signing in with the account id, which reaches every mailbox, any mailbox's.
fn two_step_secrets(ctx: &Ctx<'_>, login: &str, account_id: &str) -> ApiResult<Vec<String>> {
    if login.contains('@') {
        let secret: Option<Option<String>> = ctx
            .tx
            .query_row(
                "SELECT CASE WHEN two_step_login = 1 THEN totp_secret END
                 FROM mailboxes WHERE address = ?1 AND account_id = ?2",
                params![login, account_id],
                |r| r.get(0),
            )
            .optional()?;
        return Ok(secret.flatten().into_iter().collect());
    }
    // `INDEXED BY`: the partial index holds only these rows; without it the planner may
    // pick the account index and read every mailbox of the account (migration 5).
    let mut stmt = ctx.tx.prepare(
        "SELECT totp_secret FROM mailboxes INDEXED BY mailboxes_two_step
         WHERE account_id = ?1 AND two_step_login = 1 AND totp_secret IS NOT NULL",
    )?;
    let secrets = stmt
        .query_map(params![account_id], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(secrets)
}

fn issue_session(ctx: &Ctx<'_>, account_id: &str) -> ApiResult<SessionTokens> {
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
    Ok(SessionTokens {
        access_token: access,
        refresh_token: refresh,
        token_type: "Bearer".to_owned(),
        expires_at,
        refresh_expires_at,
        account_id: account_id.to_owned(),
    })
}

/// Refresh a session: the old tokens stop working, new ones are issued.
#[utoipa::path(post, path = "/v1/sessions/refresh", tag = "sessions",
    request_body = RefreshRequest,
    responses((status = 200, description = "New tokens", body = SessionTokens)))]
pub(crate) async fn refresh(
    State(st): State<Arc<AppState>>,
    Json(req): Json<RefreshRequest>,
) -> ApiResult<Json<SessionTokens>> {
    let (old_session, tokens) = st
        .run(move |ctx| {
            let hash = sha256_hex(&[b"refresh", req.refresh_token.as_bytes()]);
            let row: Option<(String, String, String)> = ctx
                .tx
                .query_row(
                    "SELECT id, account_id, refresh_expires_at FROM sessions
                 WHERE refresh_hash = ?1 AND revoked = 0",
                    params![hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((id, account, exp)) = row else {
                return Err(ApiError::unauthorized());
            };
            if parse_ts(&exp)? <= ctx.now {
                return Err(ApiError::unauthorized());
            }
            ctx.tx
                .execute("UPDATE sessions SET revoked = 1 WHERE id = ?1", params![id])?;
            Ok((id, issue_session(ctx, &account)?))
        })
        .await?;
    // Committed: the old access token must stop working now, not when its cache entry expires.
    st.forget_session(&old_session);
    Ok(Json(tokens))
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
