//! Housekeeping: what expires is removed, so no table grows without bound and no secret stays
//! at rest longer than it can be used (M4, M5).
//!
//! It runs every few minutes in the background, and at once whenever the sandbox clock is
//! moved (time passing is what it reacts to). Everything is decided against the server's
//! clock, in one short write transaction per pass.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use rusqlite::params;
use tokio::task::JoinHandle;

use crate::mail::REDACTED_BODY;
use crate::problem::ApiResult;
use crate::state::{AppState, Ctx, IDEMPOTENCY_TTL, ts};
use crate::throttle::FORGET_AFTER;

/// How often the background pass runs.
pub const INTERVAL: Duration = Duration::from_secs(600);

/// A message body that stays in the outbox (no relay: the sandbox's outbox is the mailbox)
/// is kept this long: past every secret it can hold (an OTP lives 60 s, a link until 24:00
/// of the next day), then redacted.
pub const OUTBOX_BODY_TTL: TimeDelta = TimeDelta::hours(48);

/// Outbox and SMS rows, bodies redacted, are deleted after this.
pub const MESSAGE_TTL: TimeDelta = TimeDelta::days(90);

/// Unfinished renewal registrations (and finished ones: the row holds a password hash the
/// portal account already has) are deleted after this.
pub const REGISTRATION_TTL: TimeDelta = TimeDelta::days(1);

/// Support tickets still waiting for their document are dropped after this; decided ones,
/// with their document, after [`DECIDED_TICKET_TTL`].
pub const UNFINISHED_TICKET_TTL: TimeDelta = TimeDelta::days(30);
/// See [`UNFINISHED_TICKET_TTL`].
pub const DECIDED_TICKET_TTL: TimeDelta = TimeDelta::days(90);

/// What a pass removed, by table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    pub idempotency: usize,
    pub outbox_bodies: usize,
    pub messages: usize,
    pub sessions: usize,
    pub other: usize,
}

/// Starts the background pass; it runs until aborted.
pub(crate) fn spawn(state: Arc<AppState>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = state.run(prune).await {
                tracing::warn!(error = %e.localized.message_en, "housekeeping pass failed");
            }
            state.prune_rate_windows();
            tokio::time::sleep(INTERVAL).await;
        }
    })
}

/// One pass.
pub(crate) fn prune(ctx: &mut Ctx<'_>) -> ApiResult<Pruned> {
    let now = ctx.now;
    let before = |d: TimeDelta| ts(now - d);
    let mut p = Pruned {
        idempotency: ctx.tx.execute(
            "DELETE FROM idempotency WHERE created_at < ?1",
            params![before(IDEMPOTENCY_TTL)],
        )?,
        ..Pruned::default()
    };
    // Bodies: redacted once delivered (see `mail.rs`); those that stay in the sandbox's
    // outbox once their secrets have expired.
    p.outbox_bodies = ctx.tx.execute(
        "UPDATE outbox SET body = ?1 WHERE body != ?1 AND sent_at < ?2",
        params![REDACTED_BODY, before(OUTBOX_BODY_TTL)],
    )?;
    p.outbox_bodies += ctx.tx.execute(
        "UPDATE sms_outbox SET body = ?1 WHERE body != ?1 AND sent_at < ?2",
        params![REDACTED_BODY, before(OUTBOX_BODY_TTL)],
    )?;
    p.messages = ctx.tx.execute(
        "DELETE FROM outbox WHERE sent_at < ?1 AND (deliver = 0 OR delivered_at IS NOT NULL
                                                  OR delivery_attempts >= ?2)",
        params![before(MESSAGE_TTL), crate::mail::MAX_DELIVERY_ATTEMPTS],
    )?;
    p.messages += ctx.tx.execute(
        "DELETE FROM sms_outbox WHERE sent_at < ?1",
        params![before(MESSAGE_TTL)],
    )?;
    // Sessions whose refresh token has expired (their proven factors go with them).
    p.sessions = ctx.tx.execute(
        "DELETE FROM sessions WHERE refresh_expires_at < ?1",
        params![ts(now)],
    )?;
    let mut other = 0;
    for (sql, cutoff) in [
        ("DELETE FROM portal_sessions WHERE expires_at < ?1", ts(now)),
        (
            "DELETE FROM captchas WHERE expires_at < ?1",
            before(TimeDelta::hours(1)),
        ),
        (
            "DELETE FROM login_failures WHERE updated_at < ?1
             AND (locked_until IS NULL OR locked_until < ?1)",
            before(FORGET_AFTER),
        ),
        (
            "DELETE FROM card_challenges WHERE expires_at < ?1",
            before(TimeDelta::hours(1)),
        ),
        (
            "DELETE FROM spid_logins WHERE expires_at < ?1",
            before(TimeDelta::days(1)),
        ),
        (
            "DELETE FROM delegations WHERE expires_at < ?1",
            before(TimeDelta::days(30)),
        ),
        (
            "DELETE FROM renewal_registrations WHERE created_at < ?1",
            before(REGISTRATION_TTL),
        ),
        (
            "DELETE FROM registry_ticket_documents WHERE ticket IN (
                 SELECT number FROM registry_tickets
                 WHERE state IN ('resolved', 'rejected') AND updated_at < ?1)",
            before(DECIDED_TICKET_TTL),
        ),
        (
            "DELETE FROM registry_tickets
             WHERE state IN ('resolved', 'rejected') AND updated_at < ?1",
            before(DECIDED_TICKET_TTL),
        ),
        (
            "DELETE FROM registry_tickets WHERE state = 'awaiting_document' AND updated_at < ?1",
            before(UNFINISHED_TICKET_TTL),
        ),
    ] {
        other += ctx.tx.execute(sql, params![cutoff])?;
    }
    p.other = other;
    if p != Pruned::default() {
        tracing::info!(?p, "housekeeping");
    }
    Ok(p)
}
