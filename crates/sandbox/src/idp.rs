//! Logins at an external identity provider that the sandbox simulates: SPID and CieID work
//! the same way. The app starts a login for a request at the identifying step and gets a
//! handle and a URL to open in the system browser; the person decides on the provider's page;
//! the app polls with the handle until the login is authorised (the request moved on),
//! denied (the identification was abandoned) or expired.
//!
//! Both providers keep their logins in one table (`spid_logins`), told apart by the handle's
//! prefix, so that one provider's pages and polls never reach the other's logins. What differs
//! (the pages, who can be chosen, the answers' types) stays with each method.

use chrono::{DateTime, TimeDelta, Utc};
use pec_domain::{CodiceFiscale, IdentificationMethod};
use pec_provider::api::IdentityRequestView;
use rusqlite::{OptionalExtension, params};

use crate::identity::{evaluate_identification, load_request, load_request_any, view};
use crate::methods::require_identifying;
use crate::problem::{ApiError, ApiResult};
use crate::state::{Ctx, new_id, parse_ts, ts};

/// One simulated identity provider.
pub(crate) struct Idp {
    /// Prefix of its handles (`spid`, `cieid`).
    pub prefix: &'static str,
    /// The identification method its logins prove.
    pub method: IdentificationMethod,
    /// What a login is called in messages ("Accesso SPID" / "SPID login").
    pub login_it: &'static str,
    pub login_en: &'static str,
    /// Why a server that does not simulate it refuses to start a login (code and text).
    pub not_configured_code: &'static str,
    pub not_configured_it: &'static str,
    pub not_configured_en: &'static str,
    /// The code of a decision on a login already finished or expired.
    pub finished_code: &'static str,
    /// A login must be completed within this time.
    pub ttl: TimeDelta,
}

/// The state of a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginState {
    Pending,
    Authorised,
    Denied,
    Expired,
}

/// The person's answer on the provider's page.
pub(crate) enum Decision {
    /// Authorised, as the identity chosen on the page (`None`: nothing chosen).
    Authorise(Option<String>),
    Deny,
}

impl Decision {
    /// From the page's form fields (`decision` = `authorise` or anything else, `tax_code`).
    pub fn from_form(decision: &str, tax_code: Option<String>) -> Decision {
        if decision == "authorise" {
            Decision::Authorise(tax_code)
        } else {
            Decision::Deny
        }
    }
}

impl Idp {
    fn not_found(&self) -> ApiError {
        ApiError::not_found(self.login_it, self.login_en)
    }

    /// The request the login belongs to, and the login's state.
    pub fn status(&self, ctx: &Ctx<'_>, handle: &str) -> ApiResult<(String, LoginState)> {
        if !handle
            .strip_prefix(self.prefix)
            .is_some_and(|rest| rest.starts_with('-'))
        {
            return Err(self.not_found());
        }
        let row: Option<(String, String, String)> = ctx
            .tx
            .query_row(
                "SELECT request_id, status, expires_at FROM spid_logins WHERE handle = ?1",
                params![handle],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((request_id, status, exp)) = row else {
            return Err(self.not_found());
        };
        let state = match status.as_str() {
            "authorised" => LoginState::Authorised,
            "denied" => LoginState::Denied,
            _ if parse_ts(&exp)? <= ctx.now => LoginState::Expired,
            _ => LoginState::Pending,
        };
        Ok((request_id, state))
    }

    /// Starts a login for request `id` of `account_id` (at the identifying step with this
    /// provider's method): its handle and when it expires.
    pub fn start(
        &self,
        ctx: &Ctx<'_>,
        account_id: &str,
        id: &str,
    ) -> ApiResult<(String, DateTime<Utc>)> {
        let row = load_request(ctx, account_id, id)?;
        require_identifying(&row, &[self.method])?;
        if ctx.st.mode != crate::Mode::Sandbox {
            return Err(ApiError::new(
                axum::http::StatusCode::NOT_IMPLEMENTED,
                self.not_configured_code,
                self.not_configured_it,
                self.not_configured_en,
            ));
        }
        let handle = new_id(self.prefix);
        let expires_at = ctx.now + self.ttl;
        ctx.tx.execute(
            "INSERT INTO spid_logins (handle, request_id, status, expires_at) VALUES (?1, ?2, 'pending', ?3)",
            params![handle, row.id, ts(expires_at)],
        )?;
        Ok((handle, expires_at))
    }

    /// The state of login `handle` of request `id` of `account_id`, with the request once the
    /// login is finished by the person (authorised or denied).
    pub fn poll(
        &self,
        ctx: &Ctx<'_>,
        account_id: &str,
        id: &str,
        handle: &str,
    ) -> ApiResult<(LoginState, Option<IdentityRequestView>)> {
        let row = load_request(ctx, account_id, id)?;
        let (request_id, state) = self.status(ctx, handle)?;
        if request_id != row.id {
            return Err(self.not_found());
        }
        let request = match state {
            LoginState::Authorised | LoginState::Denied => Some(view(ctx, &row)?),
            LoginState::Pending | LoginState::Expired => None,
        };
        Ok((state, request))
    }

    /// Records the person's decision on login `handle`. An authorisation names the identity
    /// chosen on the page, which `known` turns into the codice fiscale the provider vouches
    /// for (`None`: not one of its identities, 404); the request then goes to the common
    /// evaluation, as any method's proof does. A denial abandons the identification.
    pub fn decide(
        &self,
        ctx: &Ctx<'_>,
        handle: &str,
        decision: Decision,
        known: impl FnOnce(&Ctx<'_>, &str) -> ApiResult<Option<CodiceFiscale>>,
    ) -> ApiResult<LoginState> {
        let (request_id, state) = self.status(ctx, handle)?;
        if state != LoginState::Pending {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                self.finished_code,
                "Accesso già concluso o scaduto.",
                "Login already finished or expired.",
            ));
        }
        let mut row = load_request_any(ctx, &request_id)?;
        let Decision::Authorise(chosen) = decision else {
            ctx.tx.execute(
                "UPDATE spid_logins SET status = 'denied' WHERE handle = ?1",
                params![handle],
            )?;
            crate::identity::apply(&mut row, pec_domain::IdentityEvent::IdentificationAbandoned)?;
            crate::identity::save_request(ctx, &mut row)?;
            return Ok(LoginState::Denied);
        };
        let cf = known(ctx, chosen.as_deref().unwrap_or_default())?
            .ok_or_else(|| ApiError::not_found("Identità", "Identity"))?;
        require_identifying(&row, &[self.method])?;
        ctx.tx.execute(
            "UPDATE spid_logins SET status = 'authorised' WHERE handle = ?1",
            params![handle],
        )?;
        evaluate_identification(ctx, &mut row, &cf)?;
        Ok(LoginState::Authorised)
    }
}
