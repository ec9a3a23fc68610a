//! The association's renewal portal: entry by the company's codice fiscale, sign-in or
//! simplified registration (captcha, e-mail code, SMS code that may be skipped), the choice of
//! the mailbox, the legal representative, the order and its payment.
//!
//! The portal has its own session, kept by the provider client apart from the provider's one
//! ([`Portal::Renewal`]): no portal token leaves the core, and [`close`] drops it when the
//! screen is left. Passwords, codes and card data are wiped once the portal has answered, and
//! are never logged. The captcha image is checked (a PNG, of a bounded size) before the UI
//! gets it as base64 for a `data:` URL, which the CSP allows.
//!
//! Paying is the one call that must never happen twice by accident: the order's idempotency
//! key is kept by `pec_provider::PaymentKeys` ([`Core::payments`]), see [`pay`].

use base64::Engine as _;
use chrono::{DateTime, Utc};
use pec_domain::{EmailAddress, MobileNumber, TaxCode};
use pec_provider::Portal;
use pec_provider::api::{
    CardData, PaymentMethodData, PaymentRequest, PersonData, RegistrationStep, RenewableMailbox,
    RenewalLookup, RenewalOrderRequest, RenewalOrderView, RenewalRegistrationRequest,
    RenewalRegistrationView,
};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize as _, Zeroizing};

use crate::error::{domain, refusal};
use crate::{AppError, Core, Result};

/// Largest captcha image accepted from the portal (the sandbox's are about 5 KiB).
pub const MAX_CAPTCHA_BYTES: usize = 256 * 1024;
/// Largest side of a captcha image, in pixels.
const MAX_CAPTCHA_SIDE: u32 = 2000;
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// A captcha to show: its id (sent back with the answer) and the PNG as base64.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct CaptchaView {
    pub id: String,
    pub expires_at: DateTime<Utc>,
    pub png_base64: String,
    /// The image's text alternative (a question the portal also accepts an answer to), in
    /// Italian and English; `None` when the portal sent none or one not fit to show.
    pub question_it: Option<String>,
    pub question_en: Option<String>,
}

/// Longest text alternative shown.
const MAX_CAPTCHA_QUESTION: usize = 200;

/// The portal's text alternative, if it is plain, printable, short text.
fn captcha_question(text: &str) -> Option<String> {
    let text = text.trim();
    let fit = !text.is_empty()
        && text.chars().count() <= MAX_CAPTCHA_QUESTION
        && !text.chars().any(char::is_control);
    fit.then(|| text.to_owned())
}

/// A registration as the UI sees it: the portal's view without its session token.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct RegistrationView {
    pub id: String,
    /// The codice fiscale as the portal wants it (16 characters).
    pub tax_code: String,
    pub email: String,
    pub mobile: String,
    pub step: RegistrationStep,
    pub mobile_verified: bool,
    /// Where the e-mail code went, masked: the company's contacts on record (its PEC
    /// mailboxes, the activation e-mail), never the address typed in the form.
    pub code_sent_to: Vec<String>,
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
            code_sent_to: v.code_sent_to,
        }
    }
}

/// The simplified registration's form.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
#[serde(rename_all = "camelCase")]
pub struct RegistrationForm {
    pub tax_code: String,
    pub email: String,
    pub mobile: String,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub password: Zeroizing<String>,
    pub captcha_id: String,
    pub captcha_answer: String,
}

/// Card data typed by the user. The number and the security code are wiped after the call.
#[derive(Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct CardInput {
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub number: Zeroizing<String>,
    pub expiry_month: u32,
    pub expiry_year: i32,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
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
pub async fn lookup(core: &Core, tax_code: &str) -> Result<RenewalLookup> {
    let code = tax_code_of(tax_code)?;
    Ok(core
        .conn
        .client()
        .await?
        .renewal_lookup(code.as_str())
        .await?)
}

/// A new captcha, with its image. Also the "new image" button: a captcha is single use.
pub async fn captcha(core: &Core) -> Result<CaptchaView> {
    let c = core.conn.client().await?;
    let challenge = c.new_captcha().await?;
    let id = checked_id(&challenge.id)?;
    let png = c.captcha_image(id).await?;
    check_png(&png)?;
    Ok(CaptchaView {
        id: challenge.id.clone(),
        expires_at: challenge.expires_at,
        png_base64: base64::engine::general_purpose::STANDARD.encode(&png),
        question_it: captcha_question(&challenge.question_it),
        question_en: captcha_question(&challenge.question_en),
    })
}

/// Simplified registration (no invoice data). The captcha is used up by any attempt.
pub async fn register(core: &Core, form: &RegistrationForm) -> Result<RegistrationView> {
    let code = tax_code_of(&form.tax_code)?;
    let email = EmailAddress::parse(bounded(&form.email, 254)?).map_err(|e| domain(&e))?;
    let mobile = MobileNumber::parse(bounded(&form.mobile, 32)?).map_err(|e| domain(&e))?;
    check_password(&form.password)?;
    let captcha_id = checked_id(&form.captcha_id)?;
    let answer = form.captcha_answer.trim();
    if answer.is_empty() || answer.chars().count() > 16 {
        return Err(refusal(
            "captcha.answer",
            "Scrivi i caratteri che vedi nell'immagine.",
            "Type the characters you see in the image.",
        ));
    }
    let mut req = RenewalRegistrationRequest {
        company_tax_code: code.as_str().to_owned(),
        email: email.as_str().to_owned(),
        mobile: mobile.as_str().to_owned(),
        password: form.password.to_string(),
        captcha_id: captcha_id.to_owned(),
        captcha_answer: answer.to_owned(),
    };
    let result = match core.conn.client().await {
        Ok(c) => c.renewal_register(&req).await.map_err(AppError::from),
        Err(e) => Err(e),
    };
    req.password.zeroize();
    let view = result?;
    tracing::info!(registration = %view.id, "renewal registration started");
    Ok(view.into())
}

/// "Verifica": the code e-mailed to the address given at registration.
pub async fn verify_email(
    core: &Core,
    registration_id: &str,
    code: &str,
) -> Result<RegistrationView> {
    let id = checked_id(registration_id)?;
    let code = checked_code(code)?;
    Ok(core
        .conn
        .client()
        .await?
        .renewal_verify_email(id, code)
        .await?
        .into())
}

/// The code sent by SMS; completes the registration and opens the portal session.
pub async fn verify_sms(
    core: &Core,
    registration_id: &str,
    code: &str,
) -> Result<RegistrationView> {
    let id = checked_id(registration_id)?;
    let code = checked_code(code)?;
    let view = core
        .conn
        .client()
        .await?
        .renewal_verify_sms(id, code)
        .await?;
    tracing::info!(registration = %view.id, "renewal registration completed, mobile verified");
    Ok(view.into())
}

/// Closing the SMS pop-up: the registration completes without a verified mobile (the portal's
/// guide: "La registrazione andrà comunque a buon fine").
pub async fn skip_sms(core: &Core, registration_id: &str) -> Result<RegistrationView> {
    let id = checked_id(registration_id)?;
    let view = core.conn.client().await?.renewal_skip_sms(id).await?;
    tracing::info!(registration = %view.id, "renewal registration completed, SMS skipped");
    Ok(view.into())
}

/// Signs a registered company in (user id: its codice fiscale). The session stays here.
pub async fn sign_in(core: &Core, tax_code: &str, password: &str) -> Result<()> {
    let code = tax_code_of(tax_code)?;
    if password.is_empty() || password.len() > 256 {
        return Err(refusal(
            "auth.password_required",
            "Scrivi la password del portale.",
            "Type the portal password.",
        ));
    }
    let c = core.conn.client().await?;
    c.renewal_sign_in(code.as_str(), password).await?;
    tracing::info!("signed in to the renewal portal");
    Ok(())
}

/// Leaves the renewal screen: the portal session is dropped.
pub async fn close(core: &Core) -> Result<()> {
    core.conn
        .client()
        .await?
        .set_portal_token(Portal::Renewal, None);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Mailboxes, order, payment

/// "Gestisci – Servizi": the company's mailboxes with expiry and price.
pub async fn mailboxes(core: &Core) -> Result<Vec<RenewableMailbox>> {
    Ok(core.conn.client().await?.renewable_mailboxes().await?)
}

/// Orders the renewal of a mailbox with the legal representative and the payment method.
pub async fn create_order(
    core: &Core,
    mailbox: &str,
    legal_representative: &PersonData,
    payment_method: PaymentMethodData,
) -> Result<RenewalOrderView> {
    let mailbox = EmailAddress::parse(bounded(mailbox, 254)?).map_err(|e| domain(&e))?;
    let person = legal_representative
        .to_domain()
        .map_err(AppError::Localized)?;
    let payment_method = checked_method(payment_method)?;
    let req = RenewalOrderRequest {
        mailbox: mailbox.as_str().to_owned(),
        legal_representative: PersonData::from(&person),
        payment_method,
    };
    let order = core.conn.client().await?.create_renewal_order(&req).await?;
    tracing::info!(order = %order.id, method = method_name(&order.payment_method), "renewal ordered");
    Ok(order)
}

/// An order (e.g. to see whether an interrupted payment went through).
pub async fn order(core: &Core, id: &str) -> Result<RenewalOrderView> {
    let id = checked_id(id)?;
    Ok(core.conn.client().await?.renewal_order(id).await?)
}

/// Pays an order under its idempotency key ([`Core::payments`]). Never retried by itself: the
/// user decides, and a retry after an unknown outcome reuses the key.
pub async fn pay(
    core: &Core,
    order_id: &str,
    card: Option<CardInput>,
    wallet_account: Option<&str>,
) -> Result<RenewalOrderView> {
    let id = checked_id(order_id)?;
    let mut req = PaymentRequest {
        card: card.map(checked_card).transpose()?,
        wallet_account: wallet_account
            .map(|w| {
                EmailAddress::parse(bounded(w, 254)?)
                    .map(|e| e.as_str().to_owned())
                    .map_err(|e| domain(&e))
            })
            .transpose()?,
    };
    let result = match core.conn.client().await {
        Ok(c) => c
            .pay_once(&core.payments, id, &req)
            .await
            .map_err(AppError::from),
        Err(e) => Err(e),
    };
    if let Some(card) = req.card.as_mut() {
        card.number.zeroize();
        card.cvc.zeroize();
    }
    result
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn bounded(s: &str, max: usize) -> Result<&str> {
    let s = s.trim();
    if s.len() > max {
        return Err(AppError::Localized(crate::fields::too_long()));
    }
    Ok(s)
}

fn tax_code_of(input: &str) -> Result<TaxCode> {
    TaxCode::parse(bounded(input, 40)?).map_err(|e| domain(&e))
}

/// Ids the portal handed out (captcha, registration, order) go back into URL paths: only
/// plain ones are accepted.
fn checked_id(id: &str) -> Result<&str> {
    let ok = !id.is_empty()
        && id.len() <= 100
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(id)
    } else {
        // Only ids the portal handed out come back here: anything else is a bug or tampering.
        Err(AppError::Internal)
    }
}

fn checked_code(code: &str) -> Result<&str> {
    let code = code.trim();
    if code.is_empty() || code.chars().count() > 12 {
        return Err(refusal(
            "verification.code_required",
            "Scrivi il codice di verifica ricevuto.",
            "Type the verification code you received.",
        ));
    }
    Ok(code)
}

fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < 8 || password.len() > 256 {
        return Err(refusal(
            "account.password",
            "La password deve avere da 8 a 256 caratteri.",
            "The password must have 8 to 256 characters.",
        ));
    }
    Ok(())
}

fn checked_method(method: PaymentMethodData) -> Result<PaymentMethodData> {
    if let PaymentMethodData::PhoneLine { line_number } = &method {
        let n = line_number.trim();
        let digits = n.bytes().filter(u8::is_ascii_digit).count();
        let ok = n.len() <= 24
            && (6..=12).contains(&digits)
            && n.bytes()
                .all(|b| b.is_ascii_digit() || b == b' ' || b == b'-' || b == b'/');
        if !ok {
            return Err(refusal(
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
fn checked_card(card: CardInput) -> Result<CardData> {
    let digits: Zeroizing<String> = Zeroizing::new(
        card.number
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect(),
    );
    let invalid = || {
        refusal(
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
fn check_png(bytes: &[u8]) -> Result<()> {
    let bad = || {
        tracing::warn!(
            size = bytes.len(),
            "the portal's captcha is not an acceptable PNG"
        );
        refusal(
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

    #[test]
    fn captcha_question_only_when_plain_short_text() {
        assert_eq!(
            captcha_question("  Scrivi in cifre il numero trecento. "),
            Some("Scrivi in cifre il numero trecento.".to_owned())
        );
        assert_eq!(captcha_question(""), None);
        assert_eq!(captcha_question("a\u{1b}[31m"), None);
        assert_eq!(
            captcha_question(&"x".repeat(MAX_CAPTCHA_QUESTION + 1)),
            None
        );
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
        assert_eq!(e.code(), "payment.card_invalid");
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
        assert!(json.contains("\"code_sent_to\":[\"f***@pec.acme-srl.test\"]"));
        assert!(json.contains("\"step\":\"completed\""));
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
