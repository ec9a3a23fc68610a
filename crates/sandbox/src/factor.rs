//! The second factor of two-step login: which mailboxes a session has proven, codes checked
//! once and with a lock-out, recovery codes, and what happens when the factor changes.
//!
//! # The model (finding H1 of the security review)
//!
//! The password belongs to the **account**, the second factor to each **mailbox** (as at the
//! providers, where two-step login is a setting of each mailbox's webmail, and an
//! association's account may hold mailboxes of different holders, each with their own phone).
//! So a session is scoped: it reaches a mailbox with two-step login only once that mailbox's
//! code was proven in it, at sign-in (signing in with the mailbox's address and its code, or
//! with the account id and its code) or later with a fresh code (creating an app password,
//! changing the factor). Every session may still read the account's own records of its
//! mailboxes (the list, the status the app polls, the expiry): what two-step login protects
//! is acting on the mailbox (its app passwords, that is IMAP access, and its security
//! settings).
//!
//! Changing the factor (turning it on, replacing the authenticator, turning it off) always
//! needs a proof of the current one (a code, or a single-use recovery code when it is on),
//! ends every other session of the account, and is told to the holder by e-mail (the PEC
//! and the contact address) and in the bell.

use axum::http::StatusCode;
use rusqlite::params;

use crate::auth::Auth;
use crate::mailboxes::MailboxRow;
use crate::problem::{ApiError, ApiResult};
use crate::rows::query_value;
use crate::state::{Ctx, notify, random_bytes, send_mail, sha256_hex, ts};
use crate::throttle::{CREDENTIALS, Failure, Gate, totp_key};

/// Recovery codes issued with each enrolment.
pub const RECOVERY_CODES: usize = 10;

/// 403 for a mailbox with two-step login whose code this session has not proven.
pub(crate) fn totp_required_here() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "auth.totp_required",
        "Questa casella ha la verifica in due passaggi: serve il codice della sua app.",
        "This mailbox has two-step login: its app's code is needed.",
    )
}

/// 403: the request is well formed; the proof it carries is refused.
fn code_invalid() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "two_step.code_invalid",
        "Codice non valido: controlla l'ora del telefono e riprova (ogni codice vale una volta).",
        "Invalid code: check the phone's clock and try again (each code works once).",
    )
}

fn locked(seconds: i64) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "two_step.locked",
        "Troppi codici errati per questa casella: riprova più tardi.",
        "Too many wrong codes for this mailbox: try again later.",
    )
    .retry_after(u64::try_from(seconds).unwrap_or(1))
}

/// Refuses a mailbox with two-step login whose code this session has not proven.
pub(crate) fn require_factor(ctx: &Ctx<'_>, auth: &Auth, m: &MailboxRow) -> ApiResult<()> {
    if !m.two_step || has_factor(ctx, &auth.session_id, &m.address)? {
        Ok(())
    } else {
        Err(totp_required_here())
    }
}

/// Whether `session` has proven `mailbox`'s code.
pub(crate) fn has_factor(ctx: &Ctx<'_>, session: &str, mailbox: &str) -> ApiResult<bool> {
    Ok(query_value::<i64>(
        ctx.tx,
        "SELECT 1 FROM session_factors WHERE session_id = ?1 AND mailbox = ?2",
        params![session, mailbox],
    )?
    .is_some())
}

/// Records that `session` proved `mailbox`'s code.
pub(crate) fn add_factor(ctx: &Ctx<'_>, session: &str, mailbox: &str) -> ApiResult<()> {
    ctx.tx.execute(
        "INSERT OR IGNORE INTO session_factors (session_id, mailbox) VALUES (?1, ?2)",
        params![session, mailbox],
    )?;
    Ok(())
}

/// Checks a code of `secret` for `mailbox`: refused while the mailbox's code counter is
/// locked, counted when wrong, accepted once (only a step after `last_step`). Returns the
/// step, which the caller stores as the mailbox's last used one.
pub(crate) fn verify_code(
    ctx: &Ctx<'_>,
    mailbox: &str,
    secret: &str,
    last_step: Option<i64>,
    code: &str,
) -> ApiResult<i64> {
    let key = totp_key(mailbox);
    if let Gate::Locked(wait) = CREDENTIALS.gate(ctx, &key)? {
        return Err(locked(wait));
    }
    match crate::totp::verify_step(secret, ctx.now.timestamp(), code, last_step) {
        Some(step) => {
            CREDENTIALS.clear(ctx, &key)?;
            Ok(step)
        }
        None => match CREDENTIALS.fail(ctx, &key)? {
            Failure::Locked(wait) => Err(locked(wait)),
            Failure::Counted => Err(code_invalid()),
        },
    }
}

/// A proof of the current factor, from a request body.
pub(crate) struct Proof<'a> {
    pub code: Option<&'a str>,
    pub recovery_code: Option<&'a str>,
}

/// Checks a proof of `m`'s current factor (a code of its authenticator, or one of its
/// recovery codes, which is used up) and adds `m` to the session's proven mailboxes.
pub(crate) fn prove(
    ctx: &Ctx<'_>,
    auth: &Auth,
    m: &MailboxRow,
    proof: &Proof<'_>,
) -> ApiResult<()> {
    let secret = m
        .totp_secret
        .as_deref()
        .filter(|_| m.two_step)
        .ok_or_else(|| ApiError::internal(&"prove called without two-step login"))?;
    let code = proof.code.map(str::trim).filter(|c| !c.is_empty());
    let recovery = proof.recovery_code.map(str::trim).filter(|c| !c.is_empty());
    match (code, recovery) {
        (Some(code), _) => {
            let step = verify_code(ctx, &m.address, secret, m.totp_last_step, code)?;
            ctx.tx.execute(
                "UPDATE mailboxes SET totp_last_step = ?1 WHERE address = ?2",
                params![step, m.address],
            )?;
        }
        (None, Some(recovery)) => use_recovery_code(ctx, m, recovery)?,
        (None, None) => return Err(totp_required_here()),
    }
    add_factor(ctx, &auth.session_id, &m.address)
}

// ---------------------------------------------------------------------------------------------
// Recovery codes

/// A recovery code as shown: 80 random bits, base32 in four groups (`ABCD-EFGH-JKLM-NPQR`).
fn new_recovery_code() -> String {
    let raw = crate::totp::base32_encode(&random_bytes(10));
    raw.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// A code as typed, reduced to what it is: base32 letters, no separators, upper case.
fn normalise_recovery(input: &str) -> String {
    input
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// How a recovery code is stored: SHA-256 with the mailbox as salt. 80 random bits make a
/// slow hash needless (no one can try 2^80 hashes), and keep argon2 off the writer.
fn recovery_hash(mailbox: &str, normalised: &str) -> String {
    sha256_hex(&[b"recovery-code", mailbox.as_bytes(), normalised.as_bytes()])
}

/// Issues the recovery codes of a new enrolment (pending until it is confirmed) and returns
/// them: the only time they exist in clear.
pub(crate) fn issue_recovery_codes(ctx: &Ctx<'_>, mailbox: &str) -> ApiResult<Vec<String>> {
    ctx.tx.execute(
        "DELETE FROM recovery_codes WHERE mailbox = ?1 AND pending = 1",
        params![mailbox],
    )?;
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    for code in &codes {
        ctx.tx.execute(
            "INSERT INTO recovery_codes (mailbox, code_hash, pending) VALUES (?1, ?2, 1)",
            params![mailbox, recovery_hash(mailbox, &normalise_recovery(code))],
        )?;
    }
    Ok(codes)
}

/// The confirmed enrolment's codes replace the old ones.
pub(crate) fn activate_recovery_codes(ctx: &Ctx<'_>, mailbox: &str) -> ApiResult<()> {
    ctx.tx.execute(
        "DELETE FROM recovery_codes WHERE mailbox = ?1 AND pending = 0",
        params![mailbox],
    )?;
    ctx.tx.execute(
        "UPDATE recovery_codes SET pending = 0 WHERE mailbox = ?1",
        params![mailbox],
    )?;
    Ok(())
}

/// Two-step login is off: no code of it remains.
pub(crate) fn drop_recovery_codes(ctx: &Ctx<'_>, mailbox: &str) -> ApiResult<()> {
    ctx.tx.execute(
        "DELETE FROM recovery_codes WHERE mailbox = ?1",
        params![mailbox],
    )?;
    Ok(())
}

/// Uses up one recovery code of `m` (counted like a wrong code when it is not one).
fn use_recovery_code(ctx: &Ctx<'_>, m: &MailboxRow, input: &str) -> ApiResult<()> {
    let key = totp_key(&m.address);
    if let Gate::Locked(wait) = CREDENTIALS.gate(ctx, &key)? {
        return Err(locked(wait));
    }
    let n = ctx.tx.execute(
        "UPDATE recovery_codes SET used_at = ?1
         WHERE mailbox = ?2 AND code_hash = ?3 AND pending = 0 AND used_at IS NULL",
        params![
            ts(ctx.now),
            m.address,
            recovery_hash(&m.address, &normalise_recovery(input))
        ],
    )?;
    if n == 1 {
        CREDENTIALS.clear(ctx, &key)?;
        return Ok(());
    }
    match CREDENTIALS.fail(ctx, &key)? {
        Failure::Locked(wait) => Err(locked(wait)),
        Failure::Counted => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "two_step.recovery_code_invalid",
            "Codice di recupero non valido o già usato.",
            "Invalid or already used recovery code.",
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// When the factor changes

/// What happened to a mailbox's two-step login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Enabled,
    Replaced,
    Disabled,
}

/// Ends every session of `account_id` but `keep` (their refresh tokens too). Returns how
/// many; the caller forgets them from the token cache once the transaction has committed.
pub(crate) fn revoke_other_sessions(
    ctx: &Ctx<'_>,
    account_id: &str,
    keep: &str,
) -> ApiResult<usize> {
    Ok(ctx.tx.execute(
        "UPDATE sessions SET revoked = 1 WHERE account_id = ?1 AND id != ?2 AND revoked = 0",
        params![account_id, keep],
    )?)
}

/// Tells the holder: an e-mail to the PEC itself and to the contact address, and the bell.
pub(crate) fn tell_holder(
    ctx: &Ctx<'_>,
    account_id: &str,
    m: &MailboxRow,
    change: Change,
) -> ApiResult<()> {
    let (it, en) = match change {
        Change::Enabled => ("attivata", "turned on"),
        Change::Replaced => ("associata a una nuova app", "moved to a new app"),
        Change::Disabled => ("disattivata", "turned off"),
    };
    let subject = "Verifica in due passaggi modificata / Two-step login changed";
    let when = ctx
        .now
        .with_timezone(&pec_domain::deadline::ROME)
        .format("%d/%m/%Y %H:%M");
    let body = format!(
        "La verifica in due passaggi della casella {mb} è stata {it} il {when} (ora italiana). \
         Le altre sessioni sono state chiuse. Se non sei stato tu, cambia subito la password \
         e contatta l'assistenza.\n\n\
         Two-step login of the mailbox {mb} was {en} on {when} (Italian time). The other \
         sessions were ended. If it was not you, change the password now and contact support.\n",
        mb = m.address
    );
    send_mail(ctx, &m.address, subject, &body)?;
    if !m.contact.email.eq_ignore_ascii_case(&m.address) {
        send_mail(ctx, &m.contact.email, subject, &body)?;
    }
    notify(
        ctx,
        account_id,
        &m.address,
        "security",
        (
            &format!("Verifica in due passaggi {it}"),
            &format!("Two-step login {en}"),
        ),
        (
            "Le altre sessioni sono state chiuse. I programmi di posta usano una password dedicata.",
            "The other sessions were ended. Mail programs use an app password.",
        ),
    )
}

/// A new authenticator secret (160 bits, base32, as RFC 4226 recommends).
pub(crate) fn new_totp_secret() -> String {
    crate::totp::base32_encode(&random_bytes(20))
}
