//! A renewal payment against the real sandbox: a refusal drops the order's idempotency key, a
//! timeout keeps it for the retry, and a press after success answers the paid order without a
//! second charge (`pec_provider::payment`, as the core uses it).

use pec_provider::api::{
    CardData, PaymentMethodData, PaymentRequest, PersonData, RenewalOrderRequest, RenewalOrderState,
};
use pec_provider::{Client, PaymentKeys};
use pec_sandbox::renewal::{CARD_DECLINED, CARD_OK, CARD_TIMEOUT};

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

#[tokio::test]
async fn payments_against_the_sandbox_charge_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = pec_sandbox::Config::new(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        dir.path().join("sandbox.sqlite"),
    );
    let running = pec_sandbox::Sandbox::start(config).await.unwrap();
    let c = Client::new(running.base_url()).unwrap();
    // The charges are read through the back office, which answers only with this run's secret.
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

    let e = c
        .pay_once(&keys, &order.id, &card_payment(CARD_DECLINED))
        .await
        .unwrap_err();
    assert_eq!(e.to_localized().code, "payment.declined");
    assert_eq!(keys.kept(&order.id), None, "a refusal ends that payment");

    let e = c
        .pay_once(&keys, &order.id, &card_payment(CARD_TIMEOUT))
        .await
        .unwrap_err();
    assert_eq!(e.to_localized().code, "payment.gateway_timeout");
    let key = keys.kept(&order.id).expect("the key is kept for the retry");

    let paid = c
        .pay_once(&keys, &order.id, &card_payment(CARD_OK))
        .await
        .unwrap();
    assert_eq!(paid.state, RenewalOrderState::Paid);
    assert_eq!(keys.kept(&order.id), None);
    // The retry went under the kept key: the portal answers a repeat of it from its record.
    let again = c
        .pay_renewal_order(&order.id, &card_payment(CARD_OK), &key)
        .await
        .unwrap();
    assert_eq!(again, paid);
    // Pressing "Pay" once more (a new key) charges nothing and still shows the paid order.
    let once_more = c
        .pay_once(&keys, &order.id, &card_payment(CARD_OK))
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
