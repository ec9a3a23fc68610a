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
    let tokens = st.run(move |ctx| sign_in_blocking(ctx, &req)).await?;
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

fn sign_in_blocking(ctx: &mut Ctx<'_>, req: &SignInRequest) -> ApiResult<SessionTokens> {
    let login = req.login.trim().to_lowercase();
    if login.is_empty() || login.len() > 254 || req.password.len() > 1024 {
        return Err(invalid_credentials());
    }
    // Locked?
    let lock: Option<(i64, Option<String>)> = ctx
        .tx
        .query_row(
            "SELECT failures, locked_until FROM login_failures WHERE login = ?1",
            params![login],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((_, Some(until))) = &lock {
        let until = parse_ts(until)?;
        if until > ctx.now {
            let wait = (until - ctx.now).num_seconds().max(1);
            return Err(locked(wait));
        }
    }

    // Resolve the account and whether two-step applies to this login.
    let (account_id, two_step_secrets) = resolve_login(ctx, &login)?;
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
    let ok = match &hash {
        Some(h) => verify_password(&req.password, h),
        None => {
            let _ = verify_password(&req.password, &ctx.st.dummy_hash);
            false
        }
    };
    let Some(account_id) = account_id.filter(|_| ok) else {
        return Err(record_failure(ctx, &login, lock.map(|l| l.0).unwrap_or(0)));
    };
    if !two_step_secrets.is_empty() {
        let Some(code) = req.totp_code.as_deref() else {
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
            let e = record_failure(ctx, &login, lock.map(|l| l.0).unwrap_or(0));
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

/// The account of a login and the two-step secrets that apply to it.
fn resolve_login(ctx: &Ctx<'_>, login: &str) -> ApiResult<(Option<String>, Vec<String>)> {
    if login.contains('@') {
        let row: Option<(String, Option<String>)> = ctx
            .tx
            .query_row(
                "SELECT account_id, CASE WHEN two_step_login = 1 THEN totp_secret END
                 FROM mailboxes WHERE address = ?1",
                params![login],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(match row {
            Some((acc, secret)) => (Some(acc), secret.into_iter().collect()),
            None => (None, Vec::new()),
        })
    } else {
        let exists: Option<String> = ctx
            .tx
            .query_row(
                "SELECT id FROM accounts WHERE id = ?1",
                params![login],
                |r| r.get(0),
            )
            .optional()?;
        let Some(acc) = exists else {
            return Ok((None, Vec::new()));
        };
        // Signing in with the account id reaches every mailbox: any mailbox's two-step applies.
        // `INDEXED BY`: the partial index holds only these rows; without it the planner may
        // pick the account index and read every mailbox of the account (migration 5).
        let mut stmt = ctx.tx.prepare(
            "SELECT totp_secret FROM mailboxes INDEXED BY mailboxes_two_step
             WHERE account_id = ?1 AND two_step_login = 1 AND totp_secret IS NOT NULL",
        )?;
        let secrets = stmt
            .query_map(params![acc], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((Some(acc), secrets))
    }
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
