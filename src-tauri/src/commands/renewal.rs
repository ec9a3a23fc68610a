//! The association's renewal portal. Its session and the payment's idempotency key stay in the
//! core; passwords, codes and card data are wiped once the portal has answered.

use pec_app_core::renewal::{self, CaptchaView, CardInput, RegistrationForm, RegistrationView};
use pec_provider::api::{
    PaymentMethodData, PersonData, RenewableMailbox, RenewalLookup, RenewalOrderView,
};

use super::{Core, Result};
use crate::ipc::Secret;

#[tauri::command]
pub async fn renewal_lookup(core: Core<'_>, tax_code: String) -> Result<RenewalLookup> {
    renewal::lookup(&core, &tax_code).await
}

#[tauri::command]
pub async fn renewal_captcha(core: Core<'_>) -> Result<CaptchaView> {
    renewal::captcha(&core).await
}

#[tauri::command]
pub async fn renewal_register(core: Core<'_>, form: RegistrationForm) -> Result<RegistrationView> {
    renewal::register(&core, &form).await
}

#[tauri::command]
pub async fn renewal_verify_email(
    core: Core<'_>,
    registration_id: String,
    code: Secret,
) -> Result<RegistrationView> {
    renewal::verify_email(&core, &registration_id, &code).await
}

#[tauri::command]
pub async fn renewal_verify_sms(
    core: Core<'_>,
    registration_id: String,
    code: Secret,
) -> Result<RegistrationView> {
    renewal::verify_sms(&core, &registration_id, &code).await
}

/// Closing the SMS pop-up: the registration completes without a verified mobile.
#[tauri::command]
pub async fn renewal_skip_sms(core: Core<'_>, registration_id: String) -> Result<RegistrationView> {
    renewal::skip_sms(&core, &registration_id).await
}

#[tauri::command]
pub async fn renewal_sign_in(core: Core<'_>, tax_code: String, password: Secret) -> Result<()> {
    renewal::sign_in(&core, &tax_code, &password).await
}

/// Leaves the renewal screen: the portal session is dropped.
#[tauri::command]
pub async fn renewal_close(core: Core<'_>) -> Result<()> {
    renewal::close(&core).await
}

#[tauri::command]
pub async fn renewal_mailboxes(core: Core<'_>) -> Result<Vec<RenewableMailbox>> {
    renewal::mailboxes(&core).await
}

#[tauri::command]
pub async fn renewal_create_order(
    core: Core<'_>,
    mailbox: String,
    legal_representative: PersonData,
    payment_method: PaymentMethodData,
) -> Result<RenewalOrderView> {
    renewal::create_order(&core, &mailbox, &legal_representative, payment_method).await
}

#[tauri::command]
pub async fn renewal_order(core: Core<'_>, id: String) -> Result<RenewalOrderView> {
    renewal::order(&core, &id).await
}

/// Pays under the order's idempotency key: a retry after an unknown outcome reuses it.
#[tauri::command]
pub async fn renewal_pay(
    core: Core<'_>,
    order_id: String,
    card: Option<CardInput>,
    wallet_account: Option<String>,
) -> Result<RenewalOrderView> {
    renewal::pay(&core, &order_id, card, wallet_account.as_deref()).await
}
