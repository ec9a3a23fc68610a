//! Paying a renewal order at most once, whatever the user presses and whatever the network
//! does.
//!
//! The portal's payment endpoint honours an `Idempotency-Key`: a repeat of a key is answered
//! with the first answer and charges nothing. [`PaymentKeys`] keeps one key per order, made
//! once and reused for every attempt whose outcome is unknown (a timeout, a dropped
//! connection, a 5xx from the gateway), so a retry can never charge twice. The key is dropped
//! when the order is paid, and when the portal gave a definitive refusal (declined, card
//! invalid: nothing was charged, so the next attempt, e.g. with another card, is a new
//! payment). An answer that the order is paid already, or that the key went with other
//! details, is resolved by reading the order.
//!
//! The keys live in the process that calls the portal (the app's core), not in the UI: the
//! webview is untrusted and may be reloaded, or the screen closed and reopened mid-payment, and
//! it can neither choose nor forget a key. They do not outlive the process; the portal's own
//! rule (a paid order refuses new payments) covers a restart.

use std::collections::HashMap;
use std::sync::Mutex;

use pec_domain::Localized;

use crate::api::{PaymentRequest, RenewalOrderState, RenewalOrderView};
use crate::{Client, Error, new_key};

/// Idempotency keys of the payments in progress, by order id.
#[derive(Debug, Default)]
pub struct PaymentKeys(Mutex<HashMap<String, String>>);

impl PaymentKeys {
    /// The key for the next attempt to pay `order`: the kept one, or a new one.
    pub fn key_for(&self, order: &str) -> String {
        self.lock()
            .entry(order.to_owned())
            .or_insert_with(new_key)
            .clone()
    }

    /// The key kept for `order`, if an attempt left one (its outcome is unknown).
    pub fn kept(&self, order: &str) -> Option<String> {
        self.lock().get(order).cloned()
    }

    /// Ends `order`'s payment: the next attempt is a new payment.
    pub fn forget(&self, order: &str) {
        self.lock().remove(order);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        // Plain data: a panic elsewhere cannot leave the map half-updated.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What a failed payment attempt says about its idempotency key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// No answer, or the gateway failed: it may have charged. Retry with the same key.
    Unknown,
    /// The portal refused the payment: nothing was charged. The next attempt is a new payment.
    Refused,
    /// The order is paid already, or the key went with another request: look at the order.
    MaybePaid,
}

/// Classifies a failed attempt (see [`Attempt`]).
pub fn after_failure(e: &Error) -> Attempt {
    match e {
        Error::Api { problem, .. }
            if matches!(
                problem.code.as_str(),
                "renewal.already_paid" | "idempotency.key_reused"
            ) =>
        {
            Attempt::MaybePaid
        }
        Error::Api { status, .. } if *status >= 500 || *status == 408 || *status == 429 => {
            Attempt::Unknown
        }
        Error::Api { .. }
        | Error::NotSignedIn
        | Error::InsecureUrl(_)
        | Error::InvalidUrl(_)
        | Error::InvalidId
        // The handshake failed: nothing was sent.
        | Error::UntrustedCertificate(_) => Attempt::Refused,
        Error::Timeout | Error::Transport(_) | Error::Decode(_) => Attempt::Unknown,
    }
}

/// Why a payment did not go through.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// The portal or the network said no (see [`after_failure`] for what happens to the key).
    #[error(transparent)]
    Provider(#[from] Error),
    /// An earlier attempt had no answer, and this one came with other payment details: the
    /// portal refused to mix them, nothing was charged, and the next press is a new payment.
    #[error("the earlier attempt had no answer and the payment details changed")]
    DetailsChanged,
}

impl PaymentError {
    /// The boundary shape: the portal's problem, or our code for a changed retry.
    pub fn to_localized(&self) -> Localized {
        match self {
            PaymentError::Provider(e) => e.to_localized(),
            PaymentError::DetailsChanged => Localized::new(
                "payment.retry_changed",
                "Il tentativo precedente non aveva avuto risposta e i dati di pagamento sono cambiati: non è stato addebitato nulla. Premi di nuovo «Paga» per procedere.",
                "The earlier attempt had no answer and the payment details changed: nothing was charged. Press \"Pay\" again to go on.",
            ),
        }
    }
}

impl Client {
    /// Pays order `id` under its idempotency key in `keys`. Never retried by itself: the user
    /// decides, and their retry reuses the key while the outcome is unknown.
    pub async fn pay_once(
        &self,
        keys: &PaymentKeys,
        id: &str,
        req: &PaymentRequest,
    ) -> Result<RenewalOrderView, PaymentError> {
        let key = keys.key_for(id);
        let e = match self.pay_renewal_order(id, req, &key).await {
            Ok(order) => {
                keys.forget(id);
                tracing::info!(order = %id, "renewal paid");
                return Ok(order);
            }
            Err(e) => e,
        };
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
                let order = self.renewal_order(id).await?;
                keys.forget(id);
                if order.state == RenewalOrderState::Paid {
                    tracing::info!(order = %id, "renewal found paid by an earlier attempt");
                    Ok(order)
                } else {
                    tracing::info!(order = %id, code = %code, "payment not made; a new key next time");
                    Err(PaymentError::DetailsChanged)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Problem;

    fn api(status: u16, code: &str) -> Error {
        Error::Api {
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

    #[test]
    fn a_timeout_keeps_the_key_and_a_refusal_drops_it() {
        assert_eq!(
            after_failure(&api(504, "payment.gateway_timeout")),
            Attempt::Unknown
        );
        assert_eq!(after_failure(&Error::Timeout), Attempt::Unknown);
        assert_eq!(
            after_failure(&Error::Transport("reset".into())),
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
        assert_eq!(keys.kept("ord-1"), None);
        assert_ne!(keys.key_for("ord-1"), first, "a new payment, a new key");
    }
}
