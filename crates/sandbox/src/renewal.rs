//! The association's renewal portal ("Impresa Semplice" style, after the providers' renewal guide), under `/renewal/v1`.
//!
//! Entry by the company's codice fiscale, normalised as this portal wants it (16 characters,
//! zeros on the left, uppercase: [`RENEWAL_CF_PADDING`]); registered companies sign in, others
//! register (captcha, e-mail code, SMS code that may be skipped). Then: the company's mailboxes
//! with their expiry and price, an order with the legal representative and the payment method,
//! and the payment through a simulated gateway. A paid order moves the mailbox's expiry to the
//! payment day (Europe/Rome) + 12 months and e-mails the contact address and the PEC.
//!
//! The gateway's test cards: [`CARD_OK`] succeeds, [`CARD_DECLINED`] is declined, [`CARD_TIMEOUT`]
//! times out. Payments are keyed (`Idempotency-Key`): a repeat returns the first answer and a paid
//! order is never charged again, so a retry after a timeout cannot charge twice.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Months, NaiveDate, TimeDelta};
use pec_domain::deadline::ROME;
use pec_domain::partita_iva::luhn_valid;
use pec_domain::{
    CompanyCfPadding, DomainError, EmailAddress, MobileNumber, RenewalPolicy, TaxCode,
};
use pec_provider::api::{
    CaptchaAnswer, CaptchaChallenge, ChargeView, ExpiryView, MailboxExpiryView, PaymentMethodData,
    PaymentRequest, PersonData, PortalSession, PriceView, RegistrationStep, RenewableMailbox,
    RenewalLookup, RenewalLookupRequest, RenewalOrderRequest, RenewalOrderState, RenewalOrderView,
    RenewalRegistrationRequest, RenewalRegistrationView, RenewalSignInRequest, SmsMessage,
    VerificationCode,
};
use rand::Rng;
use rusqlite::{OptionalExtension, params};
use serde::Deserialize;

use crate::auth::Auth;
use crate::auth::{check_password, finish_portal_sign_in, invalid_credentials, refuse_if_locked};
use crate::mailboxes::{idem_key, load_mailbox_record};
use crate::problem::{ApiError, ApiResult};
use crate::registry::{open_portal_session, portal_subject, rate_limit};
use crate::rows::{query_opt, query_value};
use crate::state::{
    AppState, Ctx, UNAUTHENTICATED_WRITES_PER_MINUTE, ct_eq, hash_password, idempotent, new_id,
    parse_ts, send_mail, sha256_hex, ts,
};

/// How this portal wants a company's numeric codice fiscale typed (the renewal guide).
pub const RENEWAL_CF_PADDING: CompanyCfPadding = CompanyCfPadding::ZeroLeftTo16;
/// The provider's renewal windows.
pub const RENEWAL_POLICY: RenewalPolicy = RenewalPolicy {
    warn_days: 30,
    grace_days: 90,
};
/// 9 € + IVA.
pub const PRICE_NET_CENTS: u64 = 900;
/// IVA.
pub const VAT_RATE_PERCENT: u32 = 22;
/// Captchas expire after 5 minutes.
pub const CAPTCHA_TTL: TimeDelta = TimeDelta::minutes(5);
/// Verification codes expire after 15 minutes.
pub const CODE_TTL: TimeDelta = TimeDelta::minutes(15);
/// Wrong codes allowed per step.
pub const MAX_CODE_ATTEMPTS: i64 = 5;
/// Test card that the gateway accepts.
pub const CARD_OK: &str = "4242424242424242";
/// Test card that the gateway declines.
pub const CARD_DECLINED: &str = "4000000000000002";
/// Test card for which the gateway does not answer in time.
pub const CARD_TIMEOUT: &str = "4000000000000119";

// ---------------------------------------------------------------------------------------------
// Helpers

fn today(ctx: &Ctx<'_>) -> NaiveDate {
    ctx.now.with_timezone(&ROME).date_naive()
}

fn parse_tax_code(input: &str) -> ApiResult<TaxCode> {
    TaxCode::parse(input).map_err(|e| ApiError::invalid(e.to_localized()))
}

/// The price with VAT.
pub fn price() -> PriceView {
    let vat = PRICE_NET_CENTS * u64::from(VAT_RATE_PERCENT) / 100;
    let total = PRICE_NET_CENTS + vat;
    let eur = |c: u64| format!("{},{:02} €", c / 100, c % 100);
    PriceView {
        net_cents: PRICE_NET_CENTS,
        vat_rate_percent: VAT_RATE_PERCENT,
        vat_cents: vat,
        total_cents: total,
        currency: "EUR".into(),
        label_it: format!(
            "{} + IVA {VAT_RATE_PERCENT}% ({}) = {}",
            eur(PRICE_NET_CENTS),
            eur(vat),
            eur(total)
        ),
    }
}

/// The new last day: the payment day in Rome plus 12 months (29 Feb → 28 Feb).
pub fn renewed_until(payment_day: NaiveDate) -> NaiveDate {
    payment_day
        .checked_add_months(Months::new(12))
        .unwrap_or(payment_day)
}

/// Mailboxes whose holder has this (canonical) codice fiscale: (address, business name, contact
/// e-mail, expires_on).
fn holder_mailboxes(
    ctx: &Ctx<'_>,
    tax_code: &str,
) -> ApiResult<Vec<(String, String, String, String)>> {
    let mut stmt = ctx.tx.prepare(
        "SELECT address,
                COALESCE(json_extract(holder, '$.business_name'), json_extract(holder, '$.name'),
                         json_extract(holder, '$.last_name'), ''),
                json_extract(contact, '$.email'), expires_on
         FROM mailboxes WHERE json_extract(holder, '$.tax_code') = ?1 ORDER BY address",
    )?;
    let rows = stmt
        .query_map(params![tax_code], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

fn expiry_of(ctx: &Ctx<'_>, expires_on: &str) -> ApiResult<ExpiryView> {
    let d: NaiveDate = expires_on.parse().map_err(|e| ApiError::internal(&e))?;
    Ok(ExpiryView::compute(d, today(ctx), RENEWAL_POLICY))
}

// ---------------------------------------------------------------------------------------------
// Entry and captcha

/// Entry: the company's codice fiscale, as the portal wants it, and whether it is registered.
#[utoipa::path(post, path = "/renewal/v1/lookup", tag = "renewal",
    request_body = RenewalLookupRequest,
    responses((status = 200, description = "Normalised code and registration status", body = RenewalLookup)))]
pub(crate) async fn lookup(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(req): Json<RenewalLookupRequest>,
) -> ApiResult<Json<RenewalLookup>> {
    // Unauthenticated and telling (business name, masked e-mail): limited like a write, so
    // the registry cannot be enumerated at speed.
    st.write_allowed(peer.ip(), UNAUTHENTICATED_WRITES_PER_MINUTE)?;
    let code = parse_tax_code(&req.company_tax_code)?;
    st.read(move |ctx| {
        let registered: Option<i64> = ctx
            .tx
            .query_row(
                "SELECT 1 FROM renewal_users WHERE tax_code = ?1",
                params![code.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        let boxes = holder_mailboxes(ctx, code.as_str())?;
        Ok(Json(RenewalLookup {
            tax_code: code.for_provider(RENEWAL_CF_PADDING),
            registered: registered.is_some(),
            business_name: boxes.first().map(|b| b.1.clone()),
            activation_email_masked: boxes.first().map(|b| mask_email(&b.2)),
        }))
    })
    .await
}

/// A new image captcha (single use, 5 minutes).
#[utoipa::path(post, path = "/renewal/v1/captchas", tag = "renewal",
    responses((status = 201, description = "Captcha", body = CaptchaChallenge)))]
pub(crate) async fn new_captcha(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> ApiResult<(StatusCode, Json<CaptchaChallenge>)> {
    st.write_allowed(peer.ip(), UNAUTHENTICATED_WRITES_PER_MINUTE)?;
    // Drawn once, here and outside the writer, then served as stored (audit L8): an image
    // redrawn with fresh noise on every fetch gives the answer away to a few fetches averaged.
    let answer = crate::captcha::new_answer();
    let png = crate::captcha::render_png(&answer).map_err(|e| ApiError::internal(&e))?;
    let text = crate::captcha::new_text_challenge();
    st.run(move |ctx| {
        let id = new_id("cap");
        let expires_at = ctx.now + CAPTCHA_TTL;
        ctx.tx.execute(
            "INSERT INTO captchas (id, answer, expires_at, image, alt_answer) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, answer, ts(expires_at), png, text.answer],
        )?;
        // Old captchas are of no use to anyone.
        ctx.tx.execute(
            "DELETE FROM captchas WHERE expires_at < ?1",
            params![ts(ctx.now - TimeDelta::hours(1))],
        )?;
        Ok((
            StatusCode::CREATED,
            Json(CaptchaChallenge {
                image_path: format!("/renewal/v1/captchas/{id}/image"),
                id,
                expires_at,
                question_it: text.question_it,
                question_en: text.question_en,
            }),
        ))
    })
    .await
}

fn live_captcha(ctx: &Ctx<'_>, id: &str) -> ApiResult<String> {
    live_captcha_column(ctx, id, "answer")
}

/// A live captcha's `column` (`answer` or `image`). A row without it (an image from before
/// images were stored) is as good as expired.
fn live_captcha_column<T: rusqlite::types::FromSql>(
    ctx: &Ctx<'_>,
    id: &str,
    column: &'static str,
) -> ApiResult<T> {
    let row: Option<(Option<T>, String, bool)> = ctx
        .tx
        .query_row(
            &format!("SELECT {column}, expires_at, used FROM captchas WHERE id = ?1"),
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    match row {
        Some((Some(value), exp, false)) if parse_ts(&exp)? > ctx.now => Ok(value),
        // 410: what decides is the captcha's state (expired, used, or pruned), not the request.
        _ => Err(ApiError::new(
            StatusCode::GONE,
            "captcha.expired",
            "Il codice captcha è scaduto o già usato: caricane uno nuovo.",
            "The captcha expired or was already used: load a new one.",
        )),
    }
}

/// The captcha's image (PNG).
#[utoipa::path(get, path = "/renewal/v1/captchas/{id}/image", tag = "renewal",
    params(("id" = String, Path, description = "Captcha id")),
    responses((status = 200, description = "PNG image", content_type = "image/png", body = crate::identity::DocumentBytes)))]
pub(crate) async fn captcha_image(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let png: Vec<u8> = st
        .read(move |ctx| live_captcha_column(ctx, &id, "image"))
        .await?;
    let mut resp = png.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// Checks and burns a captcha: any attempt uses it up, right or wrong.
/// Checks a captcha's answer: the image's digits or the text alternative's number, either
/// one, and uses the captcha up whatever the answer.
fn use_captcha(ctx: &Ctx<'_>, id: &str, answer: &str) -> ApiResult<()> {
    let expected = live_captcha(ctx, id)?;
    let alternative: Option<String> = ctx.tx.query_row(
        "SELECT alt_answer FROM captchas WHERE id = ?1",
        params![id],
        |r| r.get(0),
    )?;
    ctx.tx
        .execute("UPDATE captchas SET used = 1 WHERE id = ?1", params![id])?;
    let answer = answer.trim();
    // Both compared, always: which one matched must not show in the time taken.
    let image_ok = ct_eq(&expected, answer);
    let text_ok = alternative.is_some_and(|alt| ct_eq(&alt, answer));
    if !(image_ok | text_ok) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "captcha.wrong",
            "Il codice captcha non è corretto: riprova con una nuova immagine.",
            "The captcha code is wrong: try again with a new image.",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Registration and sign-in

fn code_hash(id: &str, code: &str) -> String {
    sha256_hex(&[b"renewal-code", id.as_bytes(), code.as_bytes()])
}

fn new_code() -> String {
    format!("{:06}", rand::thread_rng().gen_range(0..1_000_000u32))
}

/// Registrations started per company in an hour, at most: each sends its code to the
/// company's contacts on record, which must not become a way to flood them.
pub const REGISTRATIONS_PER_HOUR: i64 = 5;

/// Registers a company on the portal (simplified registration, no invoice data). The captcha
/// is checked first and used up; then a code is e-mailed to the company's **contacts on
/// record**, its PEC mailboxes and their activation e-mail, never to an address the
/// registrant types: the company's codice fiscale is public, so only access to a contact on
/// record proves the registrant is the company (H3). A company already registered can
/// register again the same way, which takes its portal account back.
#[utoipa::path(post, path = "/renewal/v1/registrations", tag = "renewal",
    request_body = RenewalRegistrationRequest,
    responses((status = 201, description = "Code e-mailed to the contacts on record", body = RenewalRegistrationView)))]
pub(crate) async fn register(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(req): Json<RenewalRegistrationRequest>,
) -> ApiResult<(StatusCode, Json<RenewalRegistrationView>)> {
    st.write_allowed(peer.ip(), UNAUTHENTICATED_WRITES_PER_MINUTE)?;
    // Checks that need no database first: a malformed request costs no captcha.
    let code = parse_tax_code(&req.company_tax_code)?;
    let email = EmailAddress::parse(&req.email).map_err(|e| ApiError::invalid(e.to_localized()))?;
    let mobile =
        MobileNumber::parse(&req.mobile).map_err(|e| ApiError::invalid(e.to_localized()))?;
    check_new_password(&req.password)?;
    let (captcha_id, captcha_answer, cf) = (req.captcha_id, req.captcha_answer, code.clone());
    // The captcha is used up (committed) before the password is hashed: the hash, tens of
    // milliseconds of CPU, is paid only for solved captchas, and outside the writer (M5).
    st.run(move |ctx| {
        use_captcha(ctx, &captcha_id, &captcha_answer)?;
        if holder_mailboxes(ctx, cf.as_str())?.is_empty() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "renewal.no_mailboxes",
                "Nessuna casella PEC risulta intestata a questo codice fiscale.",
                "No PEC mailbox is registered to this codice fiscale.",
            ));
        }
        Ok(())
    })
    .await?;
    let password = req.password;
    let hash = st
        .password_work(move || hash_password(&password))
        .await?
        .map_err(|e| ApiError::internal(&e))?;
    st.run(move |ctx| {
        let recent: i64 = ctx.tx.query_row(
            "SELECT COUNT(*) FROM renewal_registrations WHERE tax_code = ?1 AND created_at > ?2",
            params![code.as_str(), ts(ctx.now - TimeDelta::hours(1))],
            |r| r.get(0),
        )?;
        if recent >= REGISTRATIONS_PER_HOUR {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "renewal.too_many_registrations",
                "Troppe registrazioni per questa azienda nell'ultima ora: riprova più tardi.",
                "Too many registrations for this company in the last hour: try again later.",
            )
            .retry_after(3600));
        }
        let recipients = contacts_on_record(ctx, code.as_str())?;
        let masked: Vec<String> = recipients.iter().map(|r| mask_email(r)).collect();
        let id = new_id("reg");
        let otp = new_code();
        ctx.tx.execute(
            "INSERT INTO renewal_registrations (id, tax_code, email, mobile, password_hash, code_hash,
                 code_expires_at, step, created_at, code_sent_to)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'awaiting_email_code', ?8, ?9)",
            params![
                id,
                code.as_str(),
                email.as_str(),
                mobile.as_str(),
                hash,
                code_hash(&id, &otp),
                ts(ctx.now + CODE_TTL),
                ts(ctx.now),
                serde_json::to_string(&masked)?
            ],
        )?;
        for to in &recipients {
            send_mail(
                ctx,
                to,
                "Codice di verifica registrazione al portale rinnovi / Renewal portal registration code",
                &format!(
                    "È stata chiesta la registrazione al portale dei rinnovi per l'azienda con codice \
                     fiscale {cf}. Codice di verifica: {otp}\nInseriscilo e clicca su «Verifica» \
                     (valido 15 minuti). Se non sei stato tu, ignora questo messaggio: senza il \
                     codice la registrazione non si completa.\n\n\
                     A registration to the renewal portal was asked for the company with codice \
                     fiscale {cf}. Verification code: {otp}\nType it and click \"Verifica\" (valid \
                     15 minutes). If it was not you, ignore this message: without the code the \
                     registration does not complete.\n",
                    cf = code.as_str()
                ),
            )?;
        }
        registration_view(ctx, &id, None).map(|v| (StatusCode::CREATED, Json(v)))
    })
    .await
}

/// The portal's password rule.
fn check_new_password(password: &str) -> ApiResult<()> {
    // Characters both ways, as the document's minLength/maxLength count them.
    let chars = password.chars().count();
    if !(8..=256).contains(&chars) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "account.password",
            "La password deve avere da 8 a 256 caratteri.",
            "The password must have 8 to 256 characters.",
        ));
    }
    Ok(())
}

/// Where a company's registration code goes: its PEC mailboxes and their activation e-mails
/// on record (the provider's data, not the registrant's), each once.
fn contacts_on_record(ctx: &Ctx<'_>, tax_code: &str) -> ApiResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for (address, _, activation, _) in holder_mailboxes(ctx, tax_code)? {
        for to in [address, activation] {
            let to = to.to_lowercase();
            if !out.contains(&to) {
                out.push(to);
            }
        }
    }
    Ok(out)
}

fn registration_view(
    ctx: &Ctx<'_>,
    id: &str,
    session: Option<PortalSession>,
) -> ApiResult<RenewalRegistrationView> {
    let row: Option<(String, String, String, String, bool, Option<String>)> = query_opt(
        ctx.tx,
        "SELECT tax_code, email, mobile, step, mobile_verified, code_sent_to
         FROM renewal_registrations WHERE id = ?1",
        params![id],
    )?;
    let (tax_code, email, mobile, step, verified, sent_to) =
        row.ok_or_else(|| ApiError::not_found("Registrazione", "Registration"))?;
    let step = match step.as_str() {
        "awaiting_email_code" => RegistrationStep::AwaitingEmailCode,
        "awaiting_sms_code" => RegistrationStep::AwaitingSmsCode,
        _ => RegistrationStep::Completed,
    };
    Ok(RenewalRegistrationView {
        id: id.to_owned(),
        tax_code: parse_tax_code(&tax_code)?.for_provider(RENEWAL_CF_PADDING),
        email,
        mobile,
        step,
        mobile_verified: verified,
        code_sent_to: sent_to
            .as_deref()
            .map(serde_json::from_str)
            .transpose()?
            .unwrap_or_default(),
        session,
    })
}

/// Checks the code of the current step; wrong codes count, and lock the step after
/// [`MAX_CODE_ATTEMPTS`].
fn check_code(ctx: &Ctx<'_>, id: &str, expected_step: &str, code: &str) -> ApiResult<()> {
    let row: Option<(String, Option<String>, Option<String>, i64)> = ctx
        .tx
        .query_row(
            "SELECT step, code_hash, code_expires_at, attempts FROM renewal_registrations WHERE id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((step, hash, exp, attempts)) = row else {
        return Err(ApiError::not_found("Registrazione", "Registration"));
    };
    if step != expected_step {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "verification.wrong_step",
            "La registrazione non è a questo passo.",
            "The registration is not at this step.",
        ));
    }
    if attempts >= MAX_CODE_ATTEMPTS {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "verification.locked",
            "Troppi codici errati: ricomincia la registrazione.",
            "Too many wrong codes: start the registration again.",
        ));
    }
    let expired = match exp {
        Some(e) => parse_ts(&e)? <= ctx.now,
        None => true,
    };
    if expired {
        return Err(ApiError::new(
            StatusCode::GONE,
            "verification.expired",
            "Il codice è scaduto: ricomincia la registrazione.",
            "The code expired: start the registration again.",
        ));
    }
    let ok = hash.is_some_and(|h| ct_eq(&h, &code_hash(id, code.trim())));
    if !ok {
        ctx.tx.execute(
            "UPDATE renewal_registrations SET attempts = attempts + 1 WHERE id = ?1",
            params![id],
        )?;
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "verification.code_invalid",
            "Codice di verifica errato.",
            "Wrong verification code.",
        ));
    }
    Ok(())
}

/// "Verifica": the e-mailed code. Then a code goes by SMS to the mobile.
#[utoipa::path(post, path = "/renewal/v1/registrations/{id}/email-verification", tag = "renewal",
    params(("id" = String, Path, description = "Registration id")),
    request_body = VerificationCode,
    responses((status = 200, description = "SMS code sent", body = RenewalRegistrationView)))]
pub(crate) async fn verify_email(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    Json(req): Json<VerificationCode>,
) -> ApiResult<Json<RenewalRegistrationView>> {
    st.write_allowed(peer.ip(), UNAUTHENTICATED_WRITES_PER_MINUTE)?;
    st.run(move |ctx| {
        check_code(ctx, &id, "awaiting_email_code", &req.code)?;
        let otp = new_code();
        ctx.tx.execute(
            "UPDATE renewal_registrations SET step = 'awaiting_sms_code', code_hash = ?1,
             code_expires_at = ?2, attempts = 0 WHERE id = ?3",
            params![code_hash(&id, &otp), ts(ctx.now + CODE_TTL), id],
        )?;
        let mobile: String = ctx.tx.query_row(
            "SELECT mobile FROM renewal_registrations WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )?;
        ctx.tx.execute(
            "INSERT INTO sms_outbox (recipient, body, sent_at) VALUES (?1, ?2, ?3)",
            params![
                mobile,
                format!("Codice di verifica cellulare: {otp}"),
                ts(ctx.now)
            ],
        )?;
        tracing::info!("sms queued");
        registration_view(ctx, &id, None).map(Json)
    })
    .await
}

/// Completes a registration: the company's portal account is created, or, when it already
/// had one, taken back (password, contact and mobile replaced, its sessions ended, the old
/// contact told): the registrant proved access to a contact on record, which the account's
/// present user may never have had.
fn complete(ctx: &Ctx<'_>, id: &str, mobile_verified: bool) -> ApiResult<RenewalRegistrationView> {
    let (tax_code, email, mobile, hash): (String, String, String, String) = query_opt(
        ctx.tx,
        "SELECT tax_code, email, mobile, password_hash FROM renewal_registrations WHERE id = ?1",
        params![id],
    )?
    .ok_or_else(|| ApiError::not_found("Registrazione", "Registration"))?;
    let previous: Option<String> = query_value(
        ctx.tx,
        "SELECT email FROM renewal_users WHERE tax_code = ?1",
        params![tax_code],
    )?;
    ctx.tx.execute(
        "INSERT INTO renewal_users (tax_code, password_hash, email, mobile, mobile_verified, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(tax_code) DO UPDATE SET password_hash = excluded.password_hash,
            email = excluded.email, mobile = excluded.mobile,
            mobile_verified = excluded.mobile_verified",
        params![tax_code, hash, email, mobile, mobile_verified, ts(ctx.now)],
    )?;
    if let Some(previous) = previous {
        ctx.tx.execute(
            "DELETE FROM portal_sessions WHERE portal = 'renewal' AND subject = ?1",
            params![tax_code],
        )?;
        let body = format!(
            "L'account del portale rinnovi dell'azienda con codice fiscale {tax_code} è stato \
             ripreso da chi ha ricevuto il codice ai recapiti registrati della PEC: la vecchia \
             password non vale più.\n\n\
             The renewal portal account of the company with codice fiscale {tax_code} was taken \
             back by whoever received the code at the PEC's contacts on record: the old password \
             no longer works.\n"
        );
        let mut told = vec![previous];
        told.extend(contacts_on_record(ctx, &tax_code)?);
        told.dedup();
        for to in told {
            send_mail(
                ctx,
                &to,
                "Account del portale rinnovi ripreso / Renewal portal account taken back",
                &body,
            )?;
        }
    }
    ctx.tx.execute(
        "UPDATE renewal_registrations SET step = 'completed', mobile_verified = ?1, code_hash = NULL
         WHERE id = ?2",
        params![mobile_verified, id],
    )?;
    let session = open_portal_session(ctx, "renewal", &tax_code)?;
    registration_view(ctx, id, Some(session))
}

/// The SMS code: the registration is complete (answers the portal session).
#[utoipa::path(post, path = "/renewal/v1/registrations/{id}/sms-verification", tag = "renewal",
    params(("id" = String, Path, description = "Registration id")),
    request_body = VerificationCode,
    responses((status = 200, description = "Registered", body = RenewalRegistrationView)))]
pub(crate) async fn verify_sms(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    Json(req): Json<VerificationCode>,
) -> ApiResult<Json<RenewalRegistrationView>> {
    st.write_allowed(peer.ip(), UNAUTHENTICATED_WRITES_PER_MINUTE)?;
    st.run(move |ctx| {
        check_code(ctx, &id, "awaiting_sms_code", &req.code)?;
        complete(ctx, &id, true).map(Json)
    })
    .await
}

/// Closing the SMS pop-up: "La registrazione andrà comunque a buon fine".
#[utoipa::path(post, path = "/renewal/v1/registrations/{id}/sms-skip", tag = "renewal",
    params(("id" = String, Path, description = "Registration id")),
    responses((status = 200, description = "Registered without a verified mobile", body = RenewalRegistrationView)))]
pub(crate) async fn skip_sms(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
) -> ApiResult<Json<RenewalRegistrationView>> {
    st.write_allowed(peer.ip(), UNAUTHENTICATED_WRITES_PER_MINUTE)?;
    st.run(move |ctx| {
        let step: Option<String> = ctx
            .tx
            .query_row(
                "SELECT step FROM renewal_registrations WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()?;
        match step.as_deref() {
            Some("awaiting_sms_code") => complete(ctx, &id, false).map(Json),
            Some(_) => Err(ApiError::new(
                StatusCode::CONFLICT,
                "verification.wrong_step",
                "La registrazione non è a questo passo.",
                "The registration is not at this step.",
            )),
            None => Err(ApiError::not_found("Registrazione", "Registration")),
        }
    })
    .await
}

/// Signs in a registered company (user id: its codice fiscale).
#[utoipa::path(post, path = "/renewal/v1/sessions", tag = "renewal",
    request_body = RenewalSignInRequest,
    responses((status = 201, description = "Signed in", body = PortalSession)))]
pub(crate) async fn sign_in(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(req): Json<RenewalSignInRequest>,
) -> ApiResult<(StatusCode, Json<PortalSession>)> {
    rate_limit(&st, peer)?;
    if req.company_tax_code.len() > 64 || req.password.len() > 1024 {
        return Err(invalid_credentials());
    }
    let code = TaxCode::parse(&req.company_tax_code).ok();
    // Per company (the padded and the plain form are one user), with back-off (M3); the hash
    // is checked outside the writer (M5).
    let key = match &code {
        Some(c) => format!("renewal:{}", c.as_str()),
        None => format!("renewal:{}", req.company_tax_code.trim().to_uppercase()),
    };
    let (k, c) = (key.clone(), code.clone());
    let hash = st
        .read(move |ctx| {
            refuse_if_locked(ctx, &k)?;
            Ok(match &c {
                Some(c) => query_value::<String>(
                    ctx.tx,
                    "SELECT password_hash FROM renewal_users WHERE tax_code = ?1",
                    params![c.as_str()],
                )?,
                None => None,
            })
        })
        .await?;
    let ok = check_password(&st, req.password, hash).await?;
    st.run(move |ctx| {
        finish_portal_sign_in(ctx, &key, ok)?;
        let c = code.ok_or_else(invalid_credentials)?;
        let s = open_portal_session(ctx, "renewal", c.as_str())?;
        Ok((StatusCode::CREATED, Json(s)))
    })
    .await
}

/// A signed-in company of the renewal portal.
pub(crate) struct RenewalAuth {
    tax_code: String,
}

impl FromRequestParts<Arc<AppState>> for RenewalAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self {
            tax_code: portal_subject(parts, state, "renewal").await?,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Mailboxes, orders, payment

/// "Gestisci – Servizi": the company's PEC mailboxes, with expiry and renewal price.
#[utoipa::path(get, path = "/renewal/v1/mailboxes", tag = "renewal",
    security(("renewal_session" = [])),
    responses((status = 200, description = "Mailboxes", body = Vec<RenewableMailbox>)))]
pub(crate) async fn mailboxes(
    State(st): State<Arc<AppState>>,
    auth: RenewalAuth,
) -> ApiResult<Json<Vec<RenewableMailbox>>> {
    st.read(move |ctx| {
        holder_mailboxes(ctx, &auth.tax_code)?
            .into_iter()
            .map(|(address, name, _, exp)| {
                Ok(RenewableMailbox {
                    address,
                    business_name: name,
                    expiry: expiry_of(ctx, &exp)?,
                    price: price(),
                })
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Json)
    })
    .await
}

/// Expiry awareness of a provider mailbox: days to expiry, reminder window, grace period and
/// cessation day (provider session).
#[utoipa::path(get, path = "/v1/mailboxes/{address}/expiry", tag = "mailboxes",
    security(("bearer" = [])),
    params(("address" = String, Path, description = "PEC address")),
    responses((status = 200, description = "Expiry", body = ExpiryView)))]
pub(crate) async fn mailbox_expiry(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(address): Path<String>,
) -> ApiResult<Json<ExpiryView>> {
    st.read(move |ctx| {
        let m = load_mailbox_record(ctx, &auth.account_id, &address)?;
        expiry_of(ctx, &m.expires_on).map(Json)
    })
    .await
}

/// Expiry awareness of every mailbox of the account, in one call (the app shows it beside each
/// mailbox of the list; an association's account may hold many).
#[utoipa::path(get, path = "/v1/mailbox-expiries", tag = "mailboxes",
    security(("bearer" = [])),
    responses((status = 200, description = "Expiry of each mailbox, by address", body = Vec<MailboxExpiryView>)))]
pub(crate) async fn mailbox_expiries(
    State(st): State<Arc<AppState>>,
    auth: Auth,
) -> ApiResult<Json<Vec<MailboxExpiryView>>> {
    st.read(move |ctx| {
        let mut stmt = ctx.tx.prepare_cached(
            "SELECT address, expires_on FROM mailboxes WHERE account_id = ?1 ORDER BY address",
        )?;
        let rows = stmt
            .query_map(params![auth.account_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(address, expires_on)| {
                Ok(MailboxExpiryView {
                    expiry: expiry_of(ctx, &expires_on)?,
                    address,
                })
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Json)
    })
    .await
}

fn order_view(ctx: &Ctx<'_>, tax_code: &str, id: &str) -> ApiResult<RenewalOrderView> {
    type Raw = (
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
    );
    let row: Option<Raw> = ctx
        .tx
        .query_row(
            "SELECT mailbox, legal_representative, payment_method, state, paid_at, new_expires_on
             FROM renewal_orders WHERE id = ?1 AND tax_code = ?2",
            params![id, tax_code],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .optional()?;
    let Some((mailbox, lr, method, state, paid_at, new_exp)) = row else {
        return Err(ApiError::not_found("Ordine", "Order"));
    };
    Ok(RenewalOrderView {
        id: id.to_owned(),
        mailbox,
        tax_code: parse_tax_code(tax_code)?.for_provider(RENEWAL_CF_PADDING),
        legal_representative: serde_json::from_str(&lr)?,
        payment_method: serde_json::from_str(&method)?,
        price: price(),
        state: if state == "paid" {
            RenewalOrderState::Paid
        } else {
            RenewalOrderState::AwaitingPayment
        },
        paid_at: paid_at.as_deref().map(parse_ts).transpose()?,
        new_expires_on: new_exp
            .map(|d| d.parse().map_err(|e| ApiError::internal(&e)))
            .transpose()?,
    })
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Orders the renewal of one of the company's mailboxes. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/renewal/v1/orders", tag = "renewal",
    security(("renewal_session" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe create")),
    request_body = RenewalOrderRequest,
    responses((status = 201, description = "Order, awaiting payment", body = RenewalOrderView)))]
pub(crate) async fn create_order(
    State(st): State<Arc<AppState>>,
    auth: RenewalAuth,
    headers: HeaderMap,
    Json(req): Json<RenewalOrderRequest>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let key = idem_key(&headers);
    let fp = sha256_hex(&[b"renewal-order", serde_json::to_string(&req)?.as_bytes()]);
    st.run(move |ctx| {
        let account = format!("renewal:{}", auth.tax_code);
        let (status, body) = idempotent(ctx, &account, key.as_deref(), &fp, |ctx| {
            let address = req.mailbox.trim().to_lowercase();
            let boxes = holder_mailboxes(ctx, &auth.tax_code)?;
            let Some((_, _, _, exp)) = boxes.iter().find(|b| b.0 == address) else {
                return Err(ApiError::not_found("Casella", "Mailbox"));
            };
            if expiry_of(ctx, exp)?.status == pec_provider::api::ExpiryStatusData::Ceased {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "renewal.mailbox_ceased",
                    "La casella è cessata: il periodo per il rinnovo è terminato.",
                    "The mailbox is ceased: the renewal period is over.",
                ));
            }
            let lr = req.legal_representative.to_domain().map_err(ApiError::invalid)?;
            let method = match &req.payment_method {
                PaymentMethodData::PhoneLine { line_number } => {
                    let n = digits(line_number);
                    let owner: Option<String> = ctx
                        .tx
                        .query_row(
                            "SELECT company_tax_code FROM phone_lines WHERE number = ?1",
                            params![n],
                            |r| r.get(0),
                        )
                        .optional()?;
                    if owner.as_deref() != Some(auth.tax_code.as_str()) {
                        return Err(ApiError::new(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "renewal.line_not_owned",
                            "La linea fissa indicata non risulta intestata all'azienda.",
                            "The landline given is not held by the company.",
                        ));
                    }
                    PaymentMethodData::PhoneLine { line_number: n }
                }
                other => other.clone(),
            };
            let id = new_id("ord");
            ctx.tx.execute(
                "INSERT INTO renewal_orders (id, tax_code, mailbox, legal_representative, payment_method, state, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'awaiting_payment', ?6)",
                params![
                    id,
                    auth.tax_code,
                    address,
                    serde_json::to_string(&PersonData::from(&lr))?,
                    serde_json::to_string(&method)?,
                    ts(ctx.now)
                ],
            )?;
            Ok((201, serde_json::to_value(order_view(ctx, &auth.tax_code, &id)?)?))
        })?;
        Ok((
            StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED),
            Json(body),
        ))
    })
    .await
}

/// An order.
#[utoipa::path(get, path = "/renewal/v1/orders/{id}", tag = "renewal",
    security(("renewal_session" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, description = "The order", body = RenewalOrderView)))]
pub(crate) async fn get_order(
    State(st): State<Arc<AppState>>,
    auth: RenewalAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<RenewalOrderView>> {
    st.read(move |ctx| order_view(ctx, &auth.tax_code, &id).map(Json))
        .await
}

/// The gateway's verdict on a card.
enum Gateway {
    Succeeded,
    Declined,
    TimedOut,
}

fn check_card(ctx: &Ctx<'_>, req: &PaymentRequest) -> ApiResult<Gateway> {
    let card = req.card.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "payment.card_required",
            "Inserisci i dati della carta.",
            "Enter the card details.",
        )
    })?;
    let number = digits(&card.number);
    let luhn_ok = (12..=19).contains(&number.len()) && luhn_valid(&number);
    let cvc_ok = (3..=4).contains(&card.cvc.len()) && card.cvc.bytes().all(|b| b.is_ascii_digit());
    if !luhn_ok || !cvc_ok || card.holder_name.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "payment.card_invalid",
            "I dati della carta non sono validi.",
            "The card details are not valid.",
        ));
    }
    let t = today(ctx);
    if !(1..=12).contains(&card.expiry_month) || !(1000..=9999).contains(&card.expiry_year) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "payment.card_invalid",
            "I dati della carta non sono validi.",
            "The card details are not valid.",
        ));
    }
    // 402: a well-formed card that today's date makes unusable, as the network would say.
    if (card.expiry_year, card.expiry_month) < (t.year(), t.month()) {
        return Err(ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            "payment.card_expired",
            "La carta è scaduta.",
            "The card has expired.",
        ));
    }
    Ok(match number.as_str() {
        CARD_DECLINED => Gateway::Declined,
        CARD_TIMEOUT => Gateway::TimedOut,
        _ => Gateway::Succeeded,
    })
}

fn record_charge(ctx: &Ctx<'_>, order: &str, method: &str, outcome: &str) -> ApiResult<()> {
    ctx.tx.execute(
        "INSERT INTO payment_charges (id, order_id, method, amount_cents, outcome, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            new_id("chg"),
            order,
            method,
            price().total_cents,
            outcome,
            ts(ctx.now)
        ],
    )?;
    Ok(())
}

/// Pays an order through the (simulated) gateway. Send an `Idempotency-Key` and reuse it on a
/// retry: the first successful answer is returned again and nothing is charged twice; a paid
/// order refuses new payments. A declined or timed-out attempt moves no money and leaves the
/// order awaiting payment.
#[utoipa::path(post, path = "/renewal/v1/orders/{id}/payment", tag = "renewal",
    security(("renewal_session" = [])),
    params(("id" = String, Path, description = "Order id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe payment")),
    request_body = PaymentRequest,
    responses((status = 200, description = "Paid: the mailbox is renewed", body = RenewalOrderView),
              (status = 402, description = "Declined by the card network (`payment.declined`): nothing charged",
               body = pec_provider::api::Problem, content_type = "application/problem+json"),
              (status = 504, description = "The gateway did not answer (`payment.gateway_timeout`): nothing charged, retry",
               body = pec_provider::api::Problem, content_type = "application/problem+json")))]
pub(crate) async fn pay(
    State(st): State<Arc<AppState>>,
    auth: RenewalAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(req): Json<PaymentRequest>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let key = idem_key(&headers);
    let fp = payment_fingerprint(&id, &req);
    st.run(move |ctx| {
        let account = format!("renewal:{}", auth.tax_code);
        let (status, body) = idempotent(ctx, &account, key.as_deref(), &fp, |ctx| {
            let order = order_view(ctx, &auth.tax_code, &id)?;
            if order.state == RenewalOrderState::Paid {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "renewal.already_paid",
                    "L'ordine è già pagato: nessun nuovo addebito.",
                    "The order is already paid: nothing was charged again.",
                ));
            }
            let (method, verdict) = match &order.payment_method {
                PaymentMethodData::Card => ("card", check_card(ctx, &req)?),
                PaymentMethodData::Wallet { .. } => {
                    let account = req.wallet_account.as_deref().unwrap_or_default();
                    EmailAddress::parse(account).map_err(|e| ApiError::invalid(e.to_localized()))?;
                    ("wallet", Gateway::Succeeded)
                }
                PaymentMethodData::PhoneLine { .. } => ("phone_line", Gateway::Succeeded),
            };
            match verdict {
                Gateway::Declined => {
                    record_charge(ctx, &id, method, "declined")?;
                    return Err(ApiError::new(
                        StatusCode::PAYMENT_REQUIRED,
                        "payment.declined",
                        "Pagamento rifiutato dal circuito: nessun addebito. Prova con un'altra carta.",
                        "Payment declined by the card network: nothing was charged. Try another card.",
                    ));
                }
                Gateway::TimedOut => {
                    record_charge(ctx, &id, method, "timed_out")?;
                    return Err(ApiError::new(
                        StatusCode::GATEWAY_TIMEOUT,
                        "payment.gateway_timeout",
                        "Il circuito di pagamento non ha risposto in tempo: nessun addebito. Riprova.",
                        "The payment network did not answer in time: nothing was charged. Try again.",
                    ));
                }
                Gateway::Succeeded => record_charge(ctx, &id, method, "succeeded")?,
            }
            let new_exp = renewed_until(today(ctx));
            ctx.tx.execute(
                "UPDATE renewal_orders SET state = 'paid', paid_at = ?1, new_expires_on = ?2 WHERE id = ?3",
                params![ts(ctx.now), new_exp.to_string(), id],
            )?;
            ctx.tx.execute(
                "UPDATE mailboxes SET expires_on = ?1 WHERE address = ?2",
                params![new_exp.to_string(), order.mailbox],
            )?;
            let until = new_exp.format("%d/%m/%Y");
            let total = price().label_it;
            let contact: Option<String> = ctx
                .tx
                .query_row(
                    "SELECT email FROM renewal_users WHERE tax_code = ?1",
                    params![auth.tax_code],
                    |r| r.get(0),
                )
                .optional()?;
            let body = format!(
                "Rinnovo della casella PEC {mb} completato: valida fino al {until}. Importo: {total}.\n\n\
                 The PEC mailbox {mb} is renewed until {until}.\n",
                mb = order.mailbox
            );
            if let Some(contact) = contact {
                send_mail(ctx, &contact, "Conferma rinnovo PEC / PEC renewal confirmed", &body)?;
            }
            send_mail(ctx, &order.mailbox, "Conferma rinnovo PEC / PEC renewal confirmed", &body)?;
            Ok((200, serde_json::to_value(order_view(ctx, &auth.tax_code, &id)?)?))
        })?;
        Ok((StatusCode::from_u16(status).unwrap_or(StatusCode::OK), Json(body)))
    })
    .await
}

/// What tells two payment requests under one key apart, from data that is not the card's:
/// the order, the kind of payment, the wallet account, and at most the card's last four
/// digits. Never the full number nor the CVC, even hashed: a card number has so little
/// entropy (a known BIN leaves about 10^8 numbers, times 10^3 CVCs) that its hash is the
/// number, and PCI DSS forbids keeping the CVC after authorisation (M4).
pub fn payment_fingerprint(order_id: &str, req: &PaymentRequest) -> String {
    let (kind, last4) = match &req.card {
        Some(card) => {
            let number = digits(&card.number);
            let last4 = number
                .get(number.len().saturating_sub(4)..)
                .unwrap_or_default();
            ("card", last4.to_owned())
        }
        None => ("none", String::new()),
    };
    sha256_hex(&[
        b"renewal-payment-v2",
        order_id.as_bytes(),
        kind.as_bytes(),
        last4.as_bytes(),
        req.wallet_account.as_deref().unwrap_or_default().as_bytes(),
    ])
}

// ---------------------------------------------------------------------------------------------
// Sandbox back office

/// SMS filter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct SmsQuery {
    /// Only messages to this number.
    to: Option<String>,
}

/// SMS the sandbox "sent", oldest first.
#[utoipa::path(get, path = "/sandbox/sms-outbox", tag = "sandbox",
    params(SmsQuery),
    responses((status = 200, description = "Messages", body = Vec<SmsMessage>)))]
pub(crate) async fn sms_outbox(
    State(st): State<Arc<AppState>>,
    Query(q): Query<SmsQuery>,
) -> ApiResult<Json<Vec<SmsMessage>>> {
    st.read(move |ctx| {
        let to = q.to.map(|t| {
            MobileNumber::parse(&t)
                .map(|m| m.as_str().to_owned())
                .unwrap_or(t)
        });
        let mut stmt = ctx.tx.prepare(
            "SELECT id, recipient, body, sent_at FROM sms_outbox
             WHERE (?1 IS NULL OR recipient = ?1) ORDER BY id LIMIT 500",
        )?;
        let rows = stmt
            .query_map(params![to], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(id, to, body, at)| {
                Ok(SmsMessage {
                    id,
                    to,
                    body,
                    sent_at: parse_ts(&at)?,
                })
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Json)
    })
    .await
}

/// A captcha's answer, for tests.
#[utoipa::path(get, path = "/sandbox/captchas/{id}/answer", tag = "sandbox",
    params(("id" = String, Path, description = "Captcha id")),
    responses((status = 200, description = "Answer", body = CaptchaAnswer)))]
pub(crate) async fn captcha_answer(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<CaptchaAnswer>> {
    st.read(move |ctx| live_captcha(ctx, &id).map(|answer| Json(CaptchaAnswer { answer })))
        .await
}

/// Charge attempts the simulated gateway saw for an order.
#[utoipa::path(get, path = "/sandbox/renewal/orders/{id}/charges", tag = "sandbox",
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, description = "Charges, oldest first", body = Vec<ChargeView>)))]
pub(crate) async fn charges(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<ChargeView>>> {
    st.read(move |ctx| {
        let mut stmt = ctx.tx.prepare(
            "SELECT id, method, amount_cents, outcome, created_at FROM payment_charges
             WHERE order_id = ?1 ORDER BY created_at, rowid",
        )?;
        let rows = stmt
            .query_map(params![id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, u64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(cid, method, amount, outcome, at)| {
                Ok(ChargeView {
                    id: cid,
                    order_id: id.clone(),
                    method,
                    amount_cents: amount,
                    outcome,
                    created_at: parse_ts(&at)?,
                })
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Json)
    })
    .await
}
