//! The association's renewal portal (seed 004): entry by the company's codice fiscale, sign-in
//! or simplified registration (captcha, e-mail code, SMS code that may be skipped), the choice
//! of the mailbox, the legal representative, the order and its payment.
//!
//! The portal has its own session, kept by the provider client apart from the provider's one
//! ([`Portal::Renewal`]): no portal token crosses IPC, and [`renewal_close`] drops it when the
//! screen is left. Passwords, codes and card data arrive in `Zeroizing` strings, are wiped once
//! the portal has answered, and are never logged. The captcha image is checked (a PNG, of a
//! bounded size) before the webview gets it as base64 for a `data:` URL, which the CSP allows.
//!
//! Paying is the one call that must never happen twice by accident: see [`PaymentKeys`].

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use pec_domain::{EmailAddress, MobileNumber, TaxCode};
use pec_provider::api::{
    CardData, PaymentMethodData, PaymentRequest, PersonData, RegistrationStep, RenewableMailbox,
    RenewalLookup, RenewalOrderRequest, RenewalOrderState, RenewalOrderView,
    RenewalRegistrationRequest, RenewalRegistrationView,
};
use pec_provider::{Client, Portal};
use serde::{Deserialize, Serialize};
use tauri::State;
use zeroize::{Zeroize as _, Zeroizing};

use crate::CommandError;
use crate::error::{domain, localized};
use crate::session::Connection;

/// Largest captcha image accepted from the portal (the sandbox's are about 5 KiB).
pub const MAX_CAPTCHA_BYTES: usize = 256 * 1024;
/// Largest side of a captcha image, in pixels.
const MAX_CAPTCHA_SIDE: u32 = 2000;
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

// ---------------------------------------------------------------------------------------------
// Public types

/// Idempotency keys of the payments in progress, by order id.
///
/// The key of an order's payment is made here, in Rust, once, and reused for every attempt
/// whose outcome is unknown (a timeout, a dropped connection, a 5xx from the gateway): the
/// portal answers a repeat with the first answer, so a retry can never charge twice. It is
/// dropped when the order is paid, and when the portal gave a definitive refusal (declined, card
/// invalid: nothing was charged, so the next attempt, e.g. with another card, is a new payment).
///
/// Kept here rather than in the UI because the webview is untrusted and may be reloaded or the
/// screen closed and reopened mid-payment: the rule lives in one place that outlives the
/// component, and the webview can neither choose nor forget a key. It does not outlive the
/// process; the portal's own rule (a paid order refuses new payments) covers a restart.
#[derive(Default)]
pub struct PaymentKeys(Mutex<HashMap<String, String>>);

impl PaymentKeys {
    /// The key for the next attempt to pay `order`: the kept one, or a new one.
    fn key_for(&self, order: &str) -> String {
        self.lock()
            .entry(order.to_owned())
            .or_insert_with(pec_provider::new_key)
            .clone()
    }

    fn forget(&self, order: &str) {
        self.lock().remove(order);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A captcha to show: its id (sent back with the answer) and the PNG as base64.
#[derive(Debug, Serialize)]
pub struct CaptchaView {
    pub id: String,
    pub expires_at: DateTime<Utc>,
    pub png_base64: String,
}

/// A registration as the UI sees it: the portal's view without its session token.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct RegistrationView {
    pub id: String,
    /// The codice fiscale as the portal wants it (16 characters).
    pub tax_code: String,
    pub email: String,
    pub mobile: String,
    pub step: RegistrationStep,
    pub mobile_verified: bool,
}

impl From<RenewalRegistrationView> for RegistrationView {
    fn from(v: RenewalRegistrationView) -> Self {
        Self {
            id: v.id,
            tax_code: v.tax_code,
            email: v.email,
            mobile: v.mobile,
            step: v.step,
            mobile_verified: v.mobile_verified,
        }
    }
}

/// Card data typed by the user. The number and the security code are wiped after the call.
#[derive(Deserialize)]
pub struct CardInput {
    pub number: Zeroizing<String>,
    pub expiry_month: u32,
    pub expiry_year: i32,
    pub cvc: Zeroizing<String>,
    pub holder_name: String,
}

impl std::fmt::Debug for CardInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardInput { .. }")
    }
}

// ---------------------------------------------------------------------------------------------
// Entry, captcha, registration

/// Entry: the company's codice fiscale; the portal answers it normalised (16 characters, zeros
/// on the left, uppercase) and whether the company is registered.
#[tauri::command]
pub async fn renewal_lookup(
    conn: State<'_, Connection>,
    tax_code: String,
) -> Result<RenewalLookup, CommandError> {
    let code = tax_code_of(&tax_code)?;
    let c = conn.client().await?;
    Ok(c.renewal_lookup(code.as_str()).await?)
}

/// A new captcha, with its image. Also the "new image" button: a captcha is single use.
#[tauri::command]
pub async fn renewal_captcha(conn: State<'_, Connection>) -> Result<CaptchaView, CommandError> {
    let c = conn.client().await?;
    let challenge = c.new_captcha().await?;
    let id = checked_id(&challenge.id)?;
    let png = c.captcha_image(id).await?;
    check_png(&png)?;
    Ok(CaptchaView {
        id: challenge.id.clone(),
        expires_at: challenge.expires_at,
        png_base64: base64::engine::general_purpose::STANDARD.encode(&png),
    })
}

/// Simplified registration (no invoice data). The captcha is used up by any attempt.
#[allow(clippy::too_many_arguments)]
#[tauri::command]
pub async fn renewal_register(
    conn: State<'_, Connection>,
    tax_code: String,
    email: String,
    mobile: String,
    password: Zeroizing<String>,
    captcha_id: String,
    captcha_answer: String,
) -> Result<RegistrationView, CommandError> {
    let code = tax_code_of(&tax_code)?;
    let email = EmailAddress::parse(bounded(&email, 254)?).map_err(|e| domain(&e))?;
    let mobile = MobileNumber::parse(bounded(&mobile, 32)?).map_err(|e| domain(&e))?;
    check_password(&password)?;
    let captcha_id = checked_id(&captcha_id)?;
    let answer = captcha_answer.trim();
    if answer.is_empty() || answer.chars().count() > 16 {
        return Err(localized(
            "captcha.answer",
            "Scrivi i caratteri che vedi nell'immagine.",
            "Type the characters you see in the image.",
        ));
    }
    let mut req = RenewalRegistrationRequest {
        company_tax_code: code.as_str().to_owned(),
        email: email.as_str().to_owned(),
        mobile: mobile.as_str().to_owned(),
        password: password.to_string(),
        captcha_id: captcha_id.to_owned(),
        captcha_answer: answer.to_owned(),
    };
    let result = match conn.client().await {
        Ok(c) => c.renewal_register(&req).await.map_err(CommandError::from),
        Err(e) => Err(e),
    };
    req.password.zeroize();
    let view = result?;
    tracing::info!(registration = %view.id, "renewal registration started");
    Ok(view.into())
}

/// "Verifica": the code e-mailed to the address given at registration.
#[tauri::command]
pub async fn renewal_verify_email(
    conn: State<'_, Connection>,
    registration_id: String,
    code: Zeroizing<String>,
) -> Result<RegistrationView, CommandError> {
    let id = checked_id(&registration_id)?;
    let code = checked_code(&code)?;
    let c = conn.client().await?;
    Ok(c.renewal_verify_email(id, code).await?.into())
}

/// The code sent by SMS; completes the registration and opens the portal session.
#[tauri::command]
pub async fn renewal_verify_sms(
    conn: State<'_, Connection>,
    registration_id: String,
    code: Zeroizing<String>,
) -> Result<RegistrationView, CommandError> {
    let id = checked_id(&registration_id)?;
    let code = checked_code(&code)?;
    let c = conn.client().await?;
    let view = c.renewal_verify_sms(id, code).await?;
    tracing::info!(registration = %view.id, "renewal registration completed, mobile verified");
    Ok(view.into())
}

/// Closing the SMS pop-up: the registration completes without a verified mobile (seed 004:
/// "La registrazione andrà comunque a buon fine").
#[tauri::command]
pub async fn renewal_skip_sms(
    conn: State<'_, Connection>,
    registration_id: String,
) -> Result<RegistrationView, CommandError> {
    let id = checked_id(&registration_id)?;
    let c = conn.client().await?;
    let view = c.renewal_skip_sms(id).await?;
    tracing::info!(registration = %view.id, "renewal registration completed, SMS skipped");
    Ok(view.into())
}

/// Signs a registered company in (user id: its codice fiscale). The session stays in Rust.
#[tauri::command]
pub async fn renewal_sign_in(
    conn: State<'_, Connection>,
    tax_code: String,
    password: Zeroizing<String>,
) -> Result<(), CommandError> {
    let code = tax_code_of(&tax_code)?;
    if password.is_empty() || password.len() > 256 {
        return Err(localized(
            "auth.password_required",
            "Scrivi la password del portale.",
            "Type the portal password.",
        ));
    }
    let c = conn.client().await?;
    c.renewal_sign_in(code.as_str(), &password).await?;
    tracing::info!("signed in to the renewal portal");
    Ok(())
}

/// Leaves the renewal screen: the portal session is dropped.
#[tauri::command]
pub async fn renewal_close(conn: State<'_, Connection>) -> Result<(), CommandError> {
    conn.client().await?.set_portal_token(Portal::Renewal, None);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Mailboxes, order, payment

/// "Gestisci – Servizi": the company's mailboxes with expiry and price.
#[tauri::command]
pub async fn renewal_mailboxes(
    conn: State<'_, Connection>,
) -> Result<Vec<RenewableMailbox>, CommandError> {
    let c = conn.client().await?;
    Ok(c.renewable_mailboxes().await?)
}

/// Orders the renewal of a mailbox with the legal representative and the payment method.
#[tauri::command]
pub async fn renewal_create_order(
    conn: State<'_, Connection>,
    mailbox: String,
    legal_representative: PersonData,
    payment_method: PaymentMethodData,
) -> Result<RenewalOrderView, CommandError> {
    let mailbox = EmailAddress::parse(bounded(&mailbox, 254)?).map_err(|e| domain(&e))?;
    let person = legal_representative
        .to_domain()
        .map_err(CommandError::Localized)?;
    let payment_method = checked_method(payment_method)?;
    let req = RenewalOrderRequest {
        mailbox: mailbox.as_str().to_owned(),
        legal_representative: PersonData::from(&person),
        payment_method,
    };
    let c = conn.client().await?;
    let order = c.create_renewal_order(&req).await?;
    tracing::info!(order = %order.id, mailbox = %order.mailbox, method = method_name(&order.payment_method), "renewal ordered");
    Ok(order)
}

/// An order (e.g. to see whether an interrupted payment went through).
#[tauri::command]
pub async fn renewal_order(
    conn: State<'_, Connection>,
    id: String,
) -> Result<RenewalOrderView, CommandError> {
    let id = checked_id(&id)?;
    let c = conn.client().await?;
    Ok(c.renewal_order(id).await?)
}

/// Pays an order, under the order's idempotency key (see [`PaymentKeys`]). Never retried by
/// itself: the user decides, and a retry reuses the key.
#[tauri::command]
pub async fn renewal_pay(
    conn: State<'_, Connection>,
    keys: State<'_, PaymentKeys>,
    order_id: String,
    card: Option<CardInput>,
    wallet_account: Option<String>,
) -> Result<RenewalOrderView, CommandError> {
    let id = checked_id(&order_id)?.to_owned();
    let mut req = PaymentRequest {
        card: card.map(checked_card).transpose()?,
        wallet_account: wallet_account
            .map(|w| {
                EmailAddress::parse(bounded(&w, 254)?)
                    .map(|e| e.as_str().to_owned())
                    .map_err(|e| domain(&e))
            })
            .transpose()?,
    };
    let c = conn.client().await;
    let result = match c {
        Ok(c) => pay_once(c, keys.inner(), &id, &req).await,
        Err(e) => Err(e),
    };
    if let Some(card) = req.card.as_mut() {
        card.number.zeroize();
        card.cvc.zeroize();
    }
    result
}

async fn pay_once(
    c: &Client,
    keys: &PaymentKeys,
    id: &str,
    req: &PaymentRequest,
) -> Result<RenewalOrderView, CommandError> {
    let key = keys.key_for(id);
    match c.pay_renewal_order(id, req, &key).await {
        Ok(order) => {
            keys.forget(id);
            tracing::info!(order = %id, "renewal paid");
            Ok(order)
        }
        Err(e) => {
            let code = e.code().unwrap_or("transport").to_owned();
            match after_failure(&e) {
                Attempt::Unknown => {
                    tracing::warn!(order = %id, code = %code, "payment outcome unknown; the key is kept for the retry");
                    Err(e.into())
                }
                Attempt::Refused => {
                    keys.forget(id);
                    tracing::info!(order = %id, code = %code, "payment refused");
                    Err(e.into())
                }
                Attempt::MaybePaid => {
                    // An earlier attempt of this payment may have gone through: the order says.
                    let order = c.renewal_order(id).await?;
                    keys.forget(id);
                    if order.state == RenewalOrderState::Paid {
                        tracing::info!(order = %id, "renewal found paid by an earlier attempt");
                        Ok(order)
                    } else {
                        tracing::info!(order = %id, code = %code, "payment not made; a new key next time");
                        Err(localized(
                            "payment.retry_changed",
                            "Il tentativo precedente non aveva avuto risposta e i dati di pagamento sono cambiati: non è stato addebitato nulla. Premi di nuovo «Paga» per procedere.",
                            "The earlier attempt had no answer and the payment details changed: nothing was charged. Press \"Pay\" again to go on.",
                        ))
                    }
                }
            }
        }
    }
}

/// What a failed payment attempt says about its idempotency key.
#[derive(Debug, PartialEq, Eq)]
enum Attempt {
    /// No answer, or the gateway failed: it may have charged. Retry with the same key.
    Unknown,
    /// The portal refused the payment: nothing was charged. The next attempt is a new payment.
    Refused,
    /// The order is paid already, or the key went with another request: look at the order.
    MaybePaid,
}

fn after_failure(e: &pec_provider::Error) -> Attempt {
    use pec_provider::Error as E;
    match e {
        E::Api { problem, .. }
            if matches!(
                problem.code.as_str(),
                "renewal.already_paid" | "idempotency.key_reused"
            ) =>
        {
            Attempt::MaybePaid
        }
        E::Api { status, .. } if *status >= 500 || *status == 408 || *status == 429 => {
            Attempt::Unknown
        }
        E::Api { .. } | E::NotSignedIn | E::InsecureUrl(_) | E::InvalidUrl(_) => Attempt::Refused,
        E::Timeout | E::Transport(_) | E::Decode(_) => Attempt::Unknown,
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn bounded(s: &str, max: usize) -> Result<&str, CommandError> {
    let s = s.trim();
    if s.len() > max {
        return Err(localized(
            "field.too_long",
            "Il valore è troppo lungo.",
            "The value is too long.",
        ));
    }
    Ok(s)
}

fn tax_code_of(input: &str) -> Result<TaxCode, CommandError> {
    TaxCode::parse(bounded(input, 40)?).map_err(|e| domain(&e))
}

/// Ids the portal handed out (captcha, registration, order) go back into URL paths: only
/// plain ones are accepted.
fn checked_id(id: &str) -> Result<&str, CommandError> {
    let ok = !id.is_empty()
        && id.len() <= 100
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(id)
    } else {
        Err(CommandError::Internal)
    }
}

fn checked_code(code: &str) -> Result<&str, CommandError> {
    let code = code.trim();
    if code.is_empty() || code.chars().count() > 12 {
        return Err(localized(
            "verification.code_required",
            "Scrivi il codice di verifica ricevuto.",
            "Type the verification code you received.",
        ));
    }
    Ok(code)
}

fn check_password(password: &str) -> Result<(), CommandError> {
    if password.chars().count() < 8 || password.len() > 256 {
        return Err(localized(
            "account.password",
            "La password deve avere da 8 a 256 caratteri.",
            "The password must have 8 to 256 characters.",
        ));
    }
    Ok(())
}

fn checked_method(method: PaymentMethodData) -> Result<PaymentMethodData, CommandError> {
    if let PaymentMethodData::PhoneLine { line_number } = &method {
        let n = line_number.trim();
        let digits = n.bytes().filter(u8::is_ascii_digit).count();
        let ok = n.len() <= 24
            && (6..=12).contains(&digits)
            && n.bytes()
                .all(|b| b.is_ascii_digit() || b == b' ' || b == b'-' || b == b'/');
        if !ok {
            return Err(localized(
                "renewal.line_invalid",
                "Scrivi il numero della linea fissa, solo cifre (ad esempio 02 1234 5678).",
                "Type the landline number, digits only (for instance 02 1234 5678).",
            ));
        }
        return Ok(PaymentMethodData::PhoneLine {
            line_number: n.to_owned(),
        });
    }
    Ok(method)
}

/// Checks the shape of the card data (the gateway decides the rest) and builds the wire form.
fn checked_card(card: CardInput) -> Result<CardData, CommandError> {
    let digits: Zeroizing<String> = Zeroizing::new(
        card.number
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect(),
    );
    let invalid = || {
        localized(
            "payment.card_invalid",
            "I dati della carta non sono validi.",
            "The card details are not valid.",
        )
    };
    if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let cvc = card.cvc.trim();
    if !(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let holder = card.holder_name.trim();
    if holder.is_empty() || holder.chars().count() > 100 {
        return Err(invalid());
    }
    if !(1..=12).contains(&card.expiry_month) || !(2000..=2100).contains(&card.expiry_year) {
        return Err(invalid());
    }
    Ok(CardData {
        number: digits.to_string(),
        expiry_month: card.expiry_month,
        expiry_year: card.expiry_year,
        cvc: cvc.to_owned(),
        holder_name: holder.to_owned(),
    })
}

/// A PNG of bounded size and sides, by its signature and IHDR chunk.
fn check_png(bytes: &[u8]) -> Result<(), CommandError> {
    let bad = || {
        tracing::warn!(
            size = bytes.len(),
            "the portal's captcha is not an acceptable PNG"
        );
        localized(
            "captcha.bad_image",
            "Il portale ha inviato un'immagine captcha non valida: chiedine una nuova.",
            "The portal sent an invalid captcha image: ask for a new one.",
        )
    };
    if bytes.len() > MAX_CAPTCHA_BYTES || !bytes.starts_with(PNG_SIGNATURE) {
        return Err(bad());
    }
    // The first chunk: length 13, type IHDR, then width and height (big endian).
    let be = |at: usize| {
        bytes
            .get(at..at + 4)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .map(u32::from_be_bytes)
    };
    let ihdr = bytes.get(12..16) == Some(b"IHDR".as_slice()) && be(8) == Some(13);
    match (ihdr, be(16), be(20)) {
        (true, Some(w), Some(h))
            if (1..=MAX_CAPTCHA_SIDE).contains(&w) && (1..=MAX_CAPTCHA_SIDE).contains(&h) =>
        {
            Ok(())
        }
        _ => Err(bad()),
    }
}

/// The method's name for the log (never its details).
fn method_name(m: &PaymentMethodData) -> &'static str {
    match m {
        PaymentMethodData::PhoneLine { .. } => "phone_line",
        PaymentMethodData::Card => "card",
        PaymentMethodData::Wallet { .. } => "wallet",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pec_provider::api::Problem;

    fn api(status: u16, code: &str) -> pec_provider::Error {
        pec_provider::Error::Api {
            status,
            problem: Box::new(Problem {
                type_uri: format!("urn:pec:problem:{code}"),
                title: code.into(),
                status,
                code: code.into(),
                message_it: "x".into(),
                message_en: "x".into(),
                retry_after: None,
            }),
        }
    }

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut b = PNG_SIGNATURE.to_vec();
        b.extend_from_slice(&13u32.to_be_bytes());
        b.extend_from_slice(b"IHDR");
        b.extend_from_slice(&w.to_be_bytes());
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&[8, 0, 0, 0, 0, 0, 0, 0, 0]);
        b
    }

    #[test]
    fn a_timeout_keeps_the_key_and_a_refusal_drops_it() {
        assert_eq!(
            after_failure(&api(504, "payment.gateway_timeout")),
            Attempt::Unknown
        );
        assert_eq!(
            after_failure(&pec_provider::Error::Timeout),
            Attempt::Unknown
        );
        assert_eq!(
            after_failure(&pec_provider::Error::Transport("reset".into())),
            Attempt::Unknown
        );
        assert_eq!(after_failure(&api(502, "gateway")), Attempt::Unknown);
        assert_eq!(
            after_failure(&api(402, "payment.declined")),
            Attempt::Refused
        );
        assert_eq!(
            after_failure(&api(422, "payment.card_invalid")),
            Attempt::Refused
        );
        assert_eq!(
            after_failure(&api(409, "renewal.already_paid")),
            Attempt::MaybePaid
        );
        assert_eq!(
            after_failure(&api(422, "idempotency.key_reused")),
            Attempt::MaybePaid
        );
    }

    #[test]
    fn one_key_per_order_until_forgotten() {
        let keys = PaymentKeys::default();
        let first = keys.key_for("ord-1");
        assert_eq!(keys.key_for("ord-1"), first, "a retry reuses the key");
        assert_ne!(keys.key_for("ord-2"), first, "another order, another key");
        keys.forget("ord-1");
        assert_ne!(keys.key_for("ord-1"), first, "a new payment, a new key");
    }

    #[test]
    fn only_bounded_pngs_pass() {
        assert!(check_png(&png(160, 60)).is_ok());
        assert!(check_png(b"GIF89a....").is_err());
        assert!(check_png(&png(0, 60)).is_err());
        assert!(check_png(&png(160, 5000)).is_err());
        assert!(check_png(&PNG_SIGNATURE[..7]).is_err());
        let mut big = png(160, 60);
        big.resize(MAX_CAPTCHA_BYTES + 1, 0);
        assert!(check_png(&big).is_err());
    }

    #[test]
    fn ids_that_go_into_paths_are_plain() {
        assert!(checked_id("cap-0123_abc").is_ok());
        for bad in ["", "../orders", "a/b", "a?b", "x".repeat(101).as_str()] {
            assert!(checked_id(bad).is_err(), "{bad}");
        }
    }

    fn card(number: &str, cvc: &str) -> CardInput {
        CardInput {
            number: Zeroizing::new(number.into()),
            expiry_month: 12,
            expiry_year: 2035,
            cvc: Zeroizing::new(cvc.into()),
            holder_name: "Chiara Conti".into(),
        }
    }

    #[test]
    fn card_shape_is_checked_and_spaces_dropped() {
        let c = checked_card(card("4242 4242 4242 4242", "123")).unwrap();
        assert_eq!(c.number, "4242424242424242");
        let e = checked_card(card("4242", "123")).unwrap_err();
        assert_eq!(e.to_localized().code, "payment.card_invalid");
        assert!(checked_card(card("4242424242424242", "12a")).is_err());
        // No card data in the error or in Debug.
        assert!(!format!("{e:?}").contains("4242"));
        assert!(!format!("{:?}", card("4242424242424242", "123")).contains("4242"));
    }

    #[test]
    fn the_registration_view_never_carries_the_session() {
        let v = RenewalRegistrationView {
            id: "reg-1".into(),
            tax_code: "0000007973780013".into(),
            email: "a@example.com".into(),
            mobile: "+393331234567".into(),
            step: RegistrationStep::Completed,
            mobile_verified: false,
            code_sent_to: vec!["f***@pec.acme-srl.test".into()],
            session: Some(pec_provider::api::PortalSession {
                access_token: "secret-token".into(),
                expires_at: Utc::now(),
            }),
        };
        let json = serde_json::to_string(&RegistrationView::from(v)).unwrap();
        assert!(!json.contains("secret-token"));
        assert!(json.contains("\"step\":\"completed\""));
    }

    fn card_payment(number: &str) -> PaymentRequest {
        PaymentRequest {
            card: Some(CardData {
                number: number.into(),
                expiry_month: 12,
                expiry_year: 2035,
                cvc: "123".into(),
                holder_name: "Chiara Conti".into(),
            }),
            wallet_account: None,
        }
    }

    /// Against the real sandbox: declined drops the key, a timeout keeps it for the retry, and
    /// a press after success answers the paid order without charging again.
    #[tokio::test]
    async fn payments_against_the_sandbox_charge_once() {
        use pec_sandbox::renewal::{CARD_DECLINED, CARD_OK, CARD_TIMEOUT};
        let dir = tempfile::tempdir().unwrap();
        let config = pec_sandbox::Config::new(
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            dir.path().join("sandbox.sqlite"),
        );
        let running = pec_sandbox::Sandbox::start(config).await.unwrap();
        let c = Client::new(running.base_url()).unwrap();
        c.set_sandbox_secret(running.sandbox_secret().map(str::to_owned));
        c.renewal_sign_in(
            pec_sandbox::seed::RENEWAL_REGISTERED_CF,
            pec_sandbox::seed::DEMO_PASSWORD,
        )
        .await
        .unwrap();
        let mailbox = c.renewable_mailboxes().await.unwrap()[0].address.clone();
        let order = c
            .create_renewal_order(&RenewalOrderRequest {
                mailbox,
                legal_representative: PersonData {
                    first_name: "Chiara".into(),
                    last_name: "Conti".into(),
                    tax_code: "CNTCHR83T41D969D".into(),
                },
                payment_method: PaymentMethodData::Card,
            })
            .await
            .unwrap();
        let keys = PaymentKeys::default();
        let kept = |keys: &PaymentKeys| keys.lock().get(&order.id).cloned();

        let e = pay_once(&c, &keys, &order.id, &card_payment(CARD_DECLINED))
            .await
            .unwrap_err();
        assert_eq!(e.to_localized().code, "payment.declined");
        assert_eq!(kept(&keys), None, "a refusal ends that payment");

        let e = pay_once(&c, &keys, &order.id, &card_payment(CARD_TIMEOUT))
            .await
            .unwrap_err();
        assert_eq!(e.to_localized().code, "payment.gateway_timeout");
        let key = kept(&keys).expect("the key is kept for the retry");

        let paid = pay_once(&c, &keys, &order.id, &card_payment(CARD_OK))
            .await
            .unwrap();
        assert_eq!(paid.state, RenewalOrderState::Paid);
        assert_eq!(kept(&keys), None);
        // The retry went under the kept key: the portal answers a repeat of it from its record.
        let again = c
            .pay_renewal_order(&order.id, &card_payment(CARD_OK), &key)
            .await
            .unwrap();
        assert_eq!(again, paid);
        // Pressing "Pay" once more (a new key) charges nothing and still shows the paid order.
        let once_more = pay_once(&c, &keys, &order.id, &card_payment(CARD_OK))
            .await
            .unwrap();
        assert_eq!(once_more.state, RenewalOrderState::Paid);
        let outcomes: Vec<String> = c
            .sandbox_charges(&order.id)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.outcome)
            .collect();
        assert_eq!(outcomes, ["declined", "timed_out", "succeeded"]);
        running.shutdown().await.unwrap();
    }

    #[test]
    fn landlines_are_digits() {
        let ok = checked_method(PaymentMethodData::PhoneLine {
            line_number: " 02 1234 5678 ".into(),
        })
        .unwrap();
        assert_eq!(
            ok,
            PaymentMethodData::PhoneLine {
                line_number: "02 1234 5678".into()
            }
        );
        assert!(
            checked_method(PaymentMethodData::PhoneLine {
                line_number: "02; DROP".into()
            })
            .is_err()
        );
    }
}
