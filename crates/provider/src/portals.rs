//! Client calls of the registry (change of the PEC on record, support tickets) and of
//! the association's renewal portal, plus their sandbox back office.
//!
//! Each portal has its own session, kept apart from the provider's: signing in to the registry
//! must not replace the provider token the rest of the app is using. Retries follow the crate's
//! rule: reads and keyed creations are retried; code checks, link confirmations and captcha
//! answers are not (each attempt may burn something single use).

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::*;
use crate::{Auth, Client, Error, Result, Retry, new_key};

/// Which portal a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Portal {
    /// The registry (OAM style) private area.
    Registry,
    /// The association's renewal portal.
    Renewal,
}

impl Portal {
    fn slot(self) -> usize {
        match self {
            Self::Registry => 0,
            Self::Renewal => 1,
        }
    }
}

impl Client {
    /// Uses `token` for a portal's calls (e.g. one restored from the keyring).
    pub fn set_portal_token(&self, portal: Portal, token: Option<Token>) {
        if let Ok(mut t) = self.portal_tokens.write() {
            t[portal.slot()] = token;
        }
    }

    fn portal_bearer(&self, portal: Portal) -> Result<Token> {
        self.portal_tokens
            .read()
            .ok()
            .and_then(|t| t[portal.slot()].clone())
            .ok_or(Error::NotSignedIn)
    }

    // -----------------------------------------------------------------------------------------
    // Registry

    /// Signs in to the registry's private area; the session is kept for the registry calls.
    pub async fn registry_sign_in(&self, username: &str, password: &str) -> Result<PortalSession> {
        let body = RegistrySignInRequest {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        let s: PortalSession = self
            .portal_send(
                Method::POST,
                &["registry", "v1", "sessions"],
                Some(&body),
                None,
                None,
            )
            .await?;
        self.set_portal_token(Portal::Registry, Some(s.access_token.clone()));
        Ok(s)
    }

    /// The registration record ("Modifica dati di registrazione"), with the pending change.
    pub async fn registration(&self) -> Result<RegistrationRecord> {
        self.portal_get(Portal::Registry, &["registry", "v1", "registration"])
            .await
    }

    /// "Invia dati": asks to change the PEC on record; the link goes to the new PEC.
    pub async fn request_pec_change(&self, req: &PecChangeRequest) -> Result<PecChangeView> {
        self.request_pec_change_keyed(req, &new_key()).await
    }

    /// As [`Self::request_pec_change`] with the caller's idempotency key (e.g. one kept across an
    /// app restart): a repeat answers the first request and sends no second link.
    pub async fn request_pec_change_keyed(
        &self,
        req: &PecChangeRequest,
        key: &str,
    ) -> Result<PecChangeView> {
        self.portal_send(
            Method::POST,
            &["registry", "v1", "registration", "pec-changes"],
            Some(req),
            Some(Portal::Registry),
            Some(key),
        )
        .await
    }

    /// Every change of PEC requested, newest first, with state and exact deadline.
    pub async fn pec_changes(&self) -> Result<Vec<PecChangeView>> {
        self.portal_get(
            Portal::Registry,
            &["registry", "v1", "registration", "pec-changes"],
        )
        .await
    }

    /// Uses the confirmation link (its token, from the PEC). Needs no session; not retried.
    pub async fn confirm_pec_change(&self, token: &str) -> Result<PecChangeView> {
        self.portal_send(
            Method::POST,
            &["registry", "v1", "pec-confirmations", token],
            None::<&()>,
            None,
            None,
        )
        .await
    }

    /// Opens a support ticket (no session: for users who cannot reach the private area).
    pub async fn open_support_ticket(
        &self,
        req: &SupportTicketRequest,
    ) -> Result<SupportTicketCreated> {
        let key = new_key();
        self.portal_send(
            Method::POST,
            &["registry", "v1", "support", "tickets"],
            Some(req),
            None,
            Some(&key),
        )
        .await
    }

    /// A support ticket, with its follow-up secret.
    pub async fn support_ticket(
        &self,
        number: &str,
        follow_token: &str,
    ) -> Result<SupportTicketView> {
        let req = self
            .http
            .get(self.url(&["registry", "v1", "support", "tickets", number])?)
            .header(TICKET_TOKEN_HEADER, follow_token);
        self.finish(req).await
    }

    /// Attaches the identity document (PDF, JPEG or PNG) to a ticket.
    pub async fn attach_ticket_document(
        &self,
        number: &str,
        follow_token: &str,
        filename: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<SupportTicketView> {
        let mut url = self.url(&["registry", "v1", "support", "tickets", number, "document"])?;
        url.query_pairs_mut().append_pair("filename", filename);
        let req = self
            .http
            .post(url)
            .header(TICKET_TOKEN_HEADER, follow_token)
            .header(IDEMPOTENCY_KEY_HEADER, new_key())
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes);
        self.finish(req).await
    }

    // -----------------------------------------------------------------------------------------
    // Renewal

    /// Entry: the company's codice fiscale, normalised; registered or not.
    pub async fn renewal_lookup(&self, company_tax_code: &str) -> Result<RenewalLookup> {
        let body = RenewalLookupRequest {
            company_tax_code: company_tax_code.to_owned(),
        };
        self.portal_send(
            Method::POST,
            &["renewal", "v1", "lookup"],
            Some(&body),
            None,
            None,
        )
        .await
    }

    /// A new captcha.
    pub async fn new_captcha(&self) -> Result<CaptchaChallenge> {
        self.portal_send(
            Method::POST,
            &["renewal", "v1", "captchas"],
            None::<&()>,
            None,
            Some(&new_key()),
        )
        .await
    }

    /// A captcha's PNG image.
    pub async fn captcha_image(&self, id: &str) -> Result<Vec<u8>> {
        let req = self
            .http
            .get(self.url(&["renewal", "v1", "captchas", id, "image"])?);
        let resp = req.send().await.map_err(Error::from_reqwest)?;
        if !resp.status().is_success() {
            return Err(crate::problem_of(resp).await);
        }
        crate::read_body(resp, crate::MAX_ANSWER_BYTES).await
    }

    /// Registration of an unregistered company (captcha checked; a code is e-mailed).
    pub async fn renewal_register(
        &self,
        req: &RenewalRegistrationRequest,
    ) -> Result<RenewalRegistrationView> {
        // Not retried, not keyed: the captcha is single use.
        self.portal_send(
            Method::POST,
            &["renewal", "v1", "registrations"],
            Some(req),
            None,
            None,
        )
        .await
    }

    /// "Verifica": the e-mailed code; then an SMS code is sent.
    pub async fn renewal_verify_email(
        &self,
        registration_id: &str,
        code: &str,
    ) -> Result<RenewalRegistrationView> {
        self.registration_step(registration_id, "email-verification", Some(code))
            .await
    }

    /// The SMS code; completes the registration and keeps the portal session.
    pub async fn renewal_verify_sms(
        &self,
        registration_id: &str,
        code: &str,
    ) -> Result<RenewalRegistrationView> {
        self.registration_step(registration_id, "sms-verification", Some(code))
            .await
    }

    /// Closes the SMS pop-up: the registration completes without a verified mobile.
    pub async fn renewal_skip_sms(&self, registration_id: &str) -> Result<RenewalRegistrationView> {
        self.registration_step(registration_id, "sms-skip", None)
            .await
    }

    async fn registration_step(
        &self,
        id: &str,
        step: &str,
        code: Option<&str>,
    ) -> Result<RenewalRegistrationView> {
        let body = code.map(|c| VerificationCode { code: c.to_owned() });
        let v: RenewalRegistrationView = self
            .portal_send(
                Method::POST,
                &["renewal", "v1", "registrations", id, step],
                body.as_ref(),
                None,
                None,
            )
            .await?;
        if let Some(s) = &v.session {
            self.set_portal_token(Portal::Renewal, Some(s.access_token.clone()));
        }
        Ok(v)
    }

    /// Signs in a registered company; the session is kept for the renewal calls.
    pub async fn renewal_sign_in(
        &self,
        company_tax_code: &str,
        password: &str,
    ) -> Result<PortalSession> {
        let body = RenewalSignInRequest {
            company_tax_code: company_tax_code.to_owned(),
            password: password.to_owned(),
        };
        let s: PortalSession = self
            .portal_send(
                Method::POST,
                &["renewal", "v1", "sessions"],
                Some(&body),
                None,
                None,
            )
            .await?;
        self.set_portal_token(Portal::Renewal, Some(s.access_token.clone()));
        Ok(s)
    }

    /// "Gestisci – Servizi": the company's PEC mailboxes with expiry and price.
    pub async fn renewable_mailboxes(&self) -> Result<Vec<RenewableMailbox>> {
        self.portal_get(Portal::Renewal, &["renewal", "v1", "mailboxes"])
            .await
    }

    /// Orders a renewal (mailbox, legal representative, payment method).
    pub async fn create_renewal_order(
        &self,
        req: &RenewalOrderRequest,
    ) -> Result<RenewalOrderView> {
        self.portal_send(
            Method::POST,
            &["renewal", "v1", "orders"],
            Some(req),
            Some(Portal::Renewal),
            Some(&new_key()),
        )
        .await
    }

    /// An order.
    pub async fn renewal_order(&self, id: &str) -> Result<RenewalOrderView> {
        self.portal_get(Portal::Renewal, &["renewal", "v1", "orders", id])
            .await
    }

    /// Pays an order under `key`: call again with the same key after a timeout and the gateway
    /// charges at most once. Not retried automatically (the caller decides, with the same key).
    pub async fn pay_renewal_order(
        &self,
        id: &str,
        req: &PaymentRequest,
        key: &str,
    ) -> Result<RenewalOrderView> {
        self.portal_call(
            Method::POST,
            &["renewal", "v1", "orders", id, "payment"],
            Some(req),
            Some(Portal::Renewal),
            Some(key),
            false,
        )
        .await
    }

    /// Expiry awareness of a provider mailbox (provider session).
    pub async fn mailbox_expiry(&self, address: &str) -> Result<ExpiryView> {
        self.get(&["v1", "mailboxes", address, "expiry"]).await
    }

    /// Expiry awareness of every mailbox of the account, by address (provider session).
    pub async fn mailbox_expiries(&self) -> Result<Vec<MailboxExpiryView>> {
        self.get(&["v1", "mailbox-expiries"]).await
    }

    // -----------------------------------------------------------------------------------------
    // Sandbox back office of the portals

    /// Sets the sandbox clock to an instant (forwards or backwards).
    pub async fn sandbox_set_clock(&self, now: chrono::DateTime<chrono::Utc>) -> Result<ClockView> {
        self.send(
            Method::POST,
            &["sandbox", "clock", "set"],
            Some(&ClockSet { now }),
            None,
            Auth::Sandbox,
            Retry::No,
        )
        .await
    }

    /// SMS the sandbox "sent", optionally only to `to`.
    pub async fn sandbox_sms_outbox(&self, to: Option<&str>) -> Result<Vec<SmsMessage>> {
        let mut url = self.url(&["sandbox", "sms-outbox"])?;
        if let Some(to) = to {
            url.query_pairs_mut().append_pair("to", to);
        }
        self.finish(self.with_sandbox_secret(self.http.get(url)))
            .await
    }

    /// The answer of a captcha (sandbox only, for tests).
    pub async fn sandbox_captcha_answer(&self, id: &str) -> Result<CaptchaAnswer> {
        self.send(
            Method::GET,
            &["sandbox", "captchas", id, "answer"],
            None::<&()>,
            None,
            Auth::Sandbox,
            Retry::Yes,
        )
        .await
    }

    /// Charge attempts the simulated gateway saw for an order.
    pub async fn sandbox_charges(&self, order_id: &str) -> Result<Vec<ChargeView>> {
        self.send(
            Method::GET,
            &["sandbox", "renewal", "orders", order_id, "charges"],
            None::<&()>,
            None,
            Auth::Sandbox,
            Retry::Yes,
        )
        .await
    }

    /// The technical service's decision on a support ticket.
    pub async fn sandbox_decide_ticket(
        &self,
        number: &str,
        approved: bool,
    ) -> Result<SupportTicketView> {
        self.send(
            Method::POST,
            &["sandbox", "registry", "tickets", number, "decision"],
            Some(&SupportDecision { approved }),
            None,
            Auth::Sandbox,
            Retry::No,
        )
        .await
    }

    // -----------------------------------------------------------------------------------------
    // Plumbing

    async fn portal_get<T: DeserializeOwned>(&self, portal: Portal, path: &[&str]) -> Result<T> {
        self.portal_send(Method::GET, path, None::<&()>, Some(portal), None)
            .await
    }

    /// One call with an optional portal session and idempotency key. GETs and keyed POSTs are
    /// retried on transport and gateway errors; the rest go once.
    async fn portal_send<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &[&str],
        body: Option<&B>,
        portal: Option<Portal>,
        key: Option<&str>,
    ) -> Result<T> {
        let retry = method == Method::GET || key.is_some();
        self.portal_call(method, path, body, portal, key, retry)
            .await
    }

    async fn portal_call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &[&str],
        body: Option<&B>,
        portal: Option<Portal>,
        key: Option<&str>,
        retry: bool,
    ) -> Result<T> {
        let mut attempt = 0;
        loop {
            let mut req = self.http.request(method.clone(), self.url(path)?);
            if let Some(p) = portal {
                req = req.bearer_auth(self.portal_bearer(p)?.expose());
            }
            if let Some(key) = key {
                req = req.header(IDEMPOTENCY_KEY_HEADER, key);
            }
            if let Some(body) = body {
                req = req.json(body);
            }
            match self.finish(req).await {
                Err(e) if retry && e.retryable() && attempt < self.config.max_retries => {
                    self.backoff(attempt).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}
