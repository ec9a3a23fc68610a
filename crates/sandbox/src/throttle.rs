//! Failure counting with lock-out and back-off, for every secret a caller can guess: account
//! passwords (counted per resolved account, whatever login named it), two-step codes (per
//! mailbox, on every endpoint that checks one), remote-signature credentials (per user), and
//! the registry's and renewal portal's passwords (per user).
//!
//! Each counter is a row of `login_failures`, keyed by `<kind>:<subject>`. After
//! [`Throttle::max_failures`] failures the key is locked for [`Throttle::base_lock`], doubled
//! for every lock since the last success, up to [`Throttle::max_lock`]: a guesser gets a few
//! tries per hour however long it keeps going, and a holder who mistypes gets them back after
//! the first quarter of an hour. A success clears the key.

use chrono::TimeDelta;
use rusqlite::params;

use crate::problem::ApiResult;
use crate::rows::query_opt;
use crate::state::{Ctx, parse_ts, ts};

/// A lock-out policy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Throttle {
    /// Consecutive failures that lock the key.
    pub max_failures: i64,
    /// The first lock's length.
    pub base_lock: TimeDelta,
    /// The longest lock, however many came before.
    pub max_lock: TimeDelta,
}

/// Passwords (provider, registry, renewal portal) and two-step codes.
pub(crate) const CREDENTIALS: Throttle = Throttle {
    max_failures: 5,
    base_lock: TimeDelta::minutes(15),
    max_lock: TimeDelta::hours(4),
};

/// A counter that has not moved for this long starts again from nothing.
pub(crate) const FORGET_AFTER: TimeDelta = TimeDelta::hours(24);

/// The state of a key, before an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Open, with this many failures counted since the last success or lock.
    Open(i64),
    /// Locked for this many more seconds.
    Locked(i64),
}

/// What recording a failure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Counted; the key is still open.
    Counted,
    /// This failure locked the key for this many seconds.
    Locked(i64),
}

/// The key of an account's password counter.
pub(crate) fn account_key(account_id: &str) -> String {
    format!("account:{account_id}")
}

/// The key of a login that names no account: counted too, so that an unknown login is
/// refused exactly like a known one.
pub(crate) fn unknown_login_key(login: &str) -> String {
    format!("login:{login}")
}

/// The key of a mailbox's two-step code counter.
pub(crate) fn totp_key(mailbox: &str) -> String {
    format!("totp:{mailbox}")
}

impl Throttle {
    /// Whether `key` may try now.
    pub fn gate(&self, ctx: &Ctx<'_>, key: &str) -> ApiResult<Gate> {
        let row: Option<(i64, Option<String>, Option<String>)> = query_opt(
            ctx.tx,
            "SELECT failures, locked_until, updated_at FROM login_failures WHERE login = ?1",
            params![key],
        )?;
        let Some((failures, locked_until, updated)) = row else {
            return Ok(Gate::Open(0));
        };
        if let Some(until) = locked_until {
            let until = parse_ts(&until)?;
            if until > ctx.now {
                return Ok(Gate::Locked((until - ctx.now).num_seconds().max(1)));
            }
            return Ok(Gate::Open(0));
        }
        if stale(ctx, updated.as_deref())? {
            return Ok(Gate::Open(0));
        }
        Ok(Gate::Open(failures))
    }

    /// Counts a failure of `key` (call it under the writer, after [`Self::gate`] said open):
    /// the read and the write are one transaction, so concurrent failures all count.
    pub fn fail(&self, ctx: &Ctx<'_>, key: &str) -> ApiResult<Failure> {
        let row: Option<(i64, Option<String>, i64, Option<String>)> = query_opt(
            ctx.tx,
            "SELECT failures, locked_until, locks, updated_at FROM login_failures WHERE login = ?1",
            params![key],
        )?;
        let (mut failures, mut locks) = match &row {
            Some((f, _, l, updated)) if !stale(ctx, updated.as_deref())? => (*f, *l),
            _ => (0, 0),
        };
        // A lock that has run out leaves its count of locks (the back-off), not its failures.
        if let Some((_, Some(until), ..)) = &row
            && parse_ts(until)? <= ctx.now
        {
            failures = 0;
        }
        failures = failures.saturating_add(1);
        let mut locked_for = None;
        let mut locked_until = None;
        if failures >= self.max_failures {
            let factor = 1i32.checked_shl(u32::try_from(locks.min(16)).unwrap_or(16));
            let length = factor
                .and_then(|f| self.base_lock.checked_mul(f))
                .map_or(self.max_lock, |l| l.min(self.max_lock));
            locks = locks.saturating_add(1);
            failures = 0;
            locked_for = Some(length.num_seconds());
            locked_until = Some(ts(ctx.now + length));
        }
        ctx.tx.execute(
            "INSERT INTO login_failures (login, failures, locked_until, locks, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(login) DO UPDATE SET failures = excluded.failures,
                locked_until = excluded.locked_until, locks = excluded.locks,
                updated_at = excluded.updated_at",
            params![key, failures, locked_until, locks, ts(ctx.now)],
        )?;
        tracing::info!(
            kind = key.split(':').next().unwrap_or_default(),
            "failed attempt counted"
        );
        Ok(match locked_for {
            Some(s) => Failure::Locked(s),
            None => Failure::Counted,
        })
    }

    /// A success: the key starts again from nothing.
    pub fn clear(&self, ctx: &Ctx<'_>, key: &str) -> ApiResult<()> {
        ctx.tx
            .execute("DELETE FROM login_failures WHERE login = ?1", params![key])?;
        Ok(())
    }
}

fn stale(ctx: &Ctx<'_>, updated: Option<&str>) -> ApiResult<bool> {
    Ok(match updated {
        Some(u) => ctx.now - parse_ts(u)? > FORGET_AFTER,
        // Rows from before back-off was added: treat as fresh.
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::Config;
    use crate::state::AppState;

    /// Five failures lock for 15 minutes; each lock after that is twice as long, up to the cap;
    /// a success starts again from nothing.
    #[tokio::test]
    #[allow(clippy::unwrap_used)]
    async fn locks_back_off_and_a_success_clears() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path().join("db"));
        config.seed_demo = false;
        let st = Arc::new(AppState::open(&config, "http://127.0.0.1:0".into()).unwrap());
        let lengths = st
            .run(|ctx| {
                let mut lengths = Vec::new();
                for _round in 0..6 {
                    for i in 1..=CREDENTIALS.max_failures {
                        assert_eq!(CREDENTIALS.gate(ctx, "k").unwrap(), Gate::Open(i - 1));
                        let f = CREDENTIALS.fail(ctx, "k").unwrap();
                        if i < CREDENTIALS.max_failures {
                            assert_eq!(f, Failure::Counted);
                        } else if let Failure::Locked(s) = f {
                            lengths.push(s / 60);
                            assert!(matches!(
                                CREDENTIALS.gate(ctx, "k").unwrap(),
                                Gate::Locked(_)
                            ));
                            // Let the lock run out.
                            ctx.now += TimeDelta::seconds(s);
                        }
                    }
                }
                CREDENTIALS.clear(ctx, "k").unwrap();
                assert_eq!(CREDENTIALS.gate(ctx, "k").unwrap(), Gate::Open(0));
                Ok(lengths)
            })
            .await
            .unwrap();
        assert_eq!(lengths, [15, 30, 60, 120, 240, 240]);
    }
}
