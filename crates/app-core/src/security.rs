//! After the identity is confirmed: two-step login (an authenticator app's TOTP) and app
//! passwords for mail programs, per mailbox.

use pec_provider::api::{AppPasswordView, MailboxView};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::refusal;
use crate::{Core, Result, qr};

/// The secret to add to an authenticator app, as a QR code and as text for typing.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct TwoStepSetup {
    pub secret: String,
    pub qr_svg: String,
}

pub async fn two_step_enrol(core: &Core, address: &str) -> Result<TwoStepSetup> {
    let enrolment = core.conn.authed(move |c| c.two_step_enrol(address)).await?;
    let uri = Zeroizing::new(enrolment.otpauth_uri);
    Ok(TwoStepSetup {
        qr_svg: qr::svg(&uri)?,
        secret: enrolment.secret,
    })
}

pub async fn two_step_confirm(core: &Core, address: &str, code: &str) -> Result<MailboxView> {
    let code = code.trim();
    core.conn
        .authed(move |c| c.two_step_confirm(address, code))
        .await
}

pub async fn app_passwords(core: &Core, address: &str) -> Result<Vec<AppPasswordView>> {
    core.conn.authed(move |c| c.app_passwords(address)).await
}

/// A new app password for the program named `label`; its value is shown once. `code` is a
/// fresh two-step code of the mailbox: the provider asks for one on every creation (step-up),
/// whatever the session proved before.
pub async fn app_password_create(
    core: &Core,
    address: &str,
    label: &str,
    code: &str,
) -> Result<AppPasswordView> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 60 {
        return Err(refusal(
            "app_password.label",
            "Indica per quale programma è la password (al massimo 60 caratteri).",
            "Say which program the password is for (at most 60 characters).",
        ));
    }
    core.conn
        .authed(move |c| c.create_app_password(address, label, Some(code.trim())))
        .await
}

pub async fn app_password_delete(core: &Core, address: &str, id: &str) -> Result<()> {
    core.conn
        .authed(move |c| c.delete_app_password(address, id))
        .await
}
