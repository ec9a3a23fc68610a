//! Crash safety: the real server process (`pec-sandbox serve`) is killed with SIGKILL at every
//! step of the multi-step flows (identity confirmation through its e-mailed OTP, a change of
//! the PEC on record, a renewal payment), and in the middle of requests, then started again
//! on the same SQLite file. Nothing it acknowledged may be lost, and a repeat of a keyed
//! request after the restart must repeat nothing (one request, one link, one charge).
//!
//! The counts of faults injected and survived are printed at the end of each test.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{CHIARA_CF, MARIO, PASSWORD, code_of, last_otp, mario_holder};
use pec_provider::api::*;
use pec_provider::{Client, Portal};

/// A `pec-sandbox serve` process on a free loopback port.
struct Server {
    child: Child,
    base: String,
    secret: String,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let secret_file = dir.join("sandbox-secret");
        let mut child = Command::new(env!("CARGO_BIN_EXE_pec-sandbox"))
            .args(["serve", "--addr", "127.0.0.1:0", "--db"])
            .arg(dir.join("db.sqlite"))
            .arg("--sandbox-secret-file")
            .arg(&secret_file)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("the server prints its address")
                .expect("stdout");
            if let Some(url) = line.strip_prefix("listening on ") {
                break url.trim().to_owned();
            }
        };
        let secret = std::fs::read_to_string(&secret_file).expect("the secret file");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&secret_file)
                .expect("secret file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "the secret is for this user only");
        }
        Server {
            child,
            base,
            secret,
        }
    }

    /// SIGKILL: no shutdown, no flush, nothing the process could still do.
    fn kill(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
    }
}

/// The test's view of a flow across restarts: the database directory, the tokens a client
/// keeps (as the app keeps them in the keyring), and the fault counter.
struct Harness {
    dir: tempfile::TempDir,
    server: Option<Server>,
    access: Option<Token>,
    portals: [Option<Token>; 2],
    kills: u32,
    survived: u32,
}

impl Harness {
    fn new() -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = Server::start(dir.path());
        Harness {
            dir,
            server: Some(server),
            access: None,
            portals: [None, None],
            kills: 0,
            survived: 0,
        }
    }

    /// A client of the running server with the tokens kept so far.
    fn client(&self) -> Client {
        let server = self.server.as_ref().expect("a running server");
        let c = Client::new(&server.base).expect("client");
        c.set_sandbox_secret(Some(server.secret.clone()));
        c.set_access_token(self.access.clone());
        c.set_portal_token(Portal::Registry, self.portals[0].clone());
        c.set_portal_token(Portal::Renewal, self.portals[1].clone());
        c
    }

    /// Kills the server with SIGKILL and starts a new one on the same file.
    fn crash(&mut self) -> Client {
        if let Some(s) = self.server.take() {
            s.kill();
        }
        self.kills += 1;
        self.server = Some(Server::start(self.dir.path()));
        self.client()
    }

    /// After a crash, the step's effect was found intact.
    fn survived(&mut self) {
        self.survived += 1;
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("db.sqlite")
    }

    fn count(&self, sql: &str) -> i64 {
        rusqlite::Connection::open(self.db())
            .expect("db")
            .query_row(sql, [], |r| r.get(0))
            .expect("count")
    }

    fn report(&self, flow: &str) {
        println!(
            "crash safety ({flow}): {} kill -9 injected, {} survived with nothing lost",
            self.kills, self.survived
        );
        assert_eq!(self.kills, self.survived);
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.kill();
        }
    }
}

async fn act(c: &Client, id: &str, a: IdentityAction) -> IdentityRequestView {
    c.act(id, &a).await.unwrap_or_else(|e| panic!("{a:?}: {e}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn identity_confirmation_survives_kill_9_at_every_step() {
    let mut h = Harness::new();
    let c = h.client();
    h.access = Some(c.sign_in(MARIO, PASSWORD, None).await.unwrap().access_token);
    // The session is acknowledged: it survives.
    let c = h.crash();
    c.mailboxes().await.unwrap();
    h.survived();

    // Keyed creation, then a crash, then the same key: one request.
    let r = c
        .create_identity_request_keyed(MARIO, "crash-key-1")
        .await
        .unwrap();
    let c = h.crash();
    let again = c
        .create_identity_request_keyed(MARIO, "crash-key-1")
        .await
        .unwrap();
    assert_eq!(again.id, r.id);
    assert_eq!(h.count("SELECT COUNT(*) FROM identity_requests"), 1);
    h.survived();
    let id = r.id;

    let contact_data = ContactData {
        email: "mario.rossi@example.com".into(),
        mobile: None,
    };
    let steps: Vec<(IdentityAction, StepData)> = vec![
        (
            IdentityAction::ChooseRole {
                role: RoleData::HolderOrLegalRepresentative,
            },
            StepData::ChoosingHolderKind,
        ),
        (
            IdentityAction::ChooseHolderKind {
                kind: HolderKindData::PrivateCitizen,
            },
            StepData::EnteringData,
        ),
        (
            IdentityAction::SubmitData {
                holder: mario_holder(),
                contact: contact_data,
            },
            StepData::Summary,
        ),
        (IdentityAction::ConfirmSummary, StepData::ChoosingMethod),
        (
            IdentityAction::ChooseMethod {
                method: MethodData::RemoteSignature,
            },
            StepData::Identifying,
        ),
    ];
    let mut c = c;
    for (action, step) in steps {
        let r = act(&c, &id, action).await;
        assert_eq!(r.step, step);
        c = h.crash();
        assert_eq!(c.identity_request(&id).await.unwrap().step, step);
        h.survived();
    }
    let r = common::identify_by_remote_signature(&c, &id).await;
    assert_eq!(r.step, StepData::Identified);
    let c = h.crash();
    assert_eq!(
        c.identity_request(&id).await.unwrap().step,
        StepData::Identified
    );
    // The used OTP is remembered across the crash too: it cannot identify again.
    assert_eq!(
        h.count("SELECT COUNT(*) FROM remote_signature_accounts WHERE last_step IS NOT NULL"),
        1
    );
    h.survived();
    act(&c, &id, IdentityAction::Proceed).await;
    let c = h.crash();
    assert_eq!(
        c.identity_request(&id).await.unwrap().step,
        StepData::AcceptingTerms
    );
    h.survived();
    let r = act(
        &c,
        &id,
        IdentityAction::CompleteRequest {
            terms: common::all_terms(),
        },
    )
    .await;
    assert_eq!(r.step, StepData::OtpSent);
    // The OTP e-mail was written in the same transaction as the step: both or neither.
    let c = h.crash();
    assert_eq!(
        c.identity_request(&id).await.unwrap().step,
        StepData::OtpSent
    );
    let code = last_otp(&c, "mario.rossi@example.com").await;
    assert_eq!(
        h.count("SELECT COUNT(*) FROM outbox WHERE subject LIKE 'Codice OTP%'"),
        1
    );
    h.survived();
    let r = act(
        &c,
        &id,
        IdentityAction::ConfirmOtp {
            code: code.clone().into(),
        },
    )
    .await;
    assert_eq!(r.step, StepData::Completed);
    let c = h.crash();
    let m = c.mailbox(MARIO).await.unwrap();
    assert!(m.qualified && m.active_identity_request.is_none());
    // A repeat of the confirmation changes nothing and sends nothing again.
    let e = c
        .act(&id, &IdentityAction::ConfirmOtp { code: code.into() })
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "identity.illegal_transition");
    assert_eq!(
        h.count("SELECT COUNT(*) FROM outbox WHERE subject LIKE 'Identificazione avvenuta%'"),
        2,
        "one success e-mail to the PEC and one to the contact"
    );
    h.survived();
    h.report("identity OTP");
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_change_survives_kill_9_at_every_step() {
    let mut h = Harness::new();
    let c = h.client();
    let s = c
        .registry_sign_in(pec_sandbox::seed::REGISTRY_DEMO_USER, PASSWORD)
        .await
        .unwrap();
    h.portals[0] = Some(s.access_token);
    let c = h.crash();
    c.registration().await.unwrap();
    h.survived();

    let new_pec = "mario.nuova@pec.example.it";
    let req = PecChangeRequest {
        new_pec: new_pec.into(),
        confirm_new_pec: new_pec.into(),
    };
    let first = c
        .request_pec_change_keyed(&req, "crash-change")
        .await
        .unwrap();
    let c = h.crash();
    let again = c
        .request_pec_change_keyed(&req, "crash-change")
        .await
        .unwrap();
    assert_eq!(again.id, first.id, "the same change");
    assert_eq!(h.count("SELECT COUNT(*) FROM registry_pec_changes"), 1);
    let links = c.sandbox_outbox(Some(new_pec)).await.unwrap();
    assert_eq!(links.len(), 1, "one link sent, not two");
    assert_eq!(
        c.registration().await.unwrap().pending_change.map(|p| p.id),
        Some(first.id.clone())
    );
    h.survived();

    let token = links[0]
        .body
        .split_whitespace()
        .find_map(|w| w.split("/registry/v1/pec-confirmations/").nth(1))
        .expect("a link")
        .to_owned();
    let confirmed = c.confirm_pec_change(&token).await.unwrap();
    assert_eq!(confirmed.state, PecChangeState::Confirmed);
    let c = h.crash();
    assert_eq!(c.registration().await.unwrap().pec, new_pec);
    let e = c.confirm_pec_change(&token).await.unwrap_err();
    assert_eq!(code_of(&e), "registry.link_used");
    h.survived();
    h.report("registry change");
}

#[tokio::test(flavor = "multi_thread")]
async fn renewal_payment_survives_kill_9_at_every_step_and_mid_request() {
    let mut h = Harness::new();
    let c = h.client();
    let s = c
        .renewal_sign_in(pec_sandbox::seed::RENEWAL_REGISTERED_CF, PASSWORD)
        .await
        .unwrap();
    h.portals[1] = Some(s.access_token);
    let c = h.crash();
    let mailbox = c.renewable_mailboxes().await.unwrap()[0].address.clone();
    h.survived();

    let order_req = RenewalOrderRequest {
        mailbox: mailbox.clone(),
        legal_representative: PersonData {
            first_name: "Chiara".into(),
            last_name: "Conti".into(),
            tax_code: CHIARA_CF.into(),
        },
        payment_method: PaymentMethodData::Card,
    };
    // The order through a raw keyed request, so the same key can be sent again.
    let order: RenewalOrderView = keyed_order(&h, &order_req, "crash-order").await;
    let c = h.crash();
    let again: RenewalOrderView = keyed_order(&h, &order_req, "crash-order").await;
    assert_eq!(again.id, order.id);
    assert_eq!(h.count("SELECT COUNT(*) FROM renewal_orders"), 1);
    h.survived();

    let card = |number: &str| PaymentRequest {
        card: Some(CardData {
            number: number.into(),
            expiry_month: 12,
            expiry_year: 2035,
            cvc: "123".into(),
            holder_name: "Chiara Conti".into(),
        }),
        wallet_account: None,
    };
    // A timeout moves no money and survives a crash as such.
    let e = c
        .pay_renewal_order(
            &order.id,
            &card(pec_sandbox::renewal::CARD_TIMEOUT),
            "k-timeout",
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "payment.gateway_timeout");
    let mut c = h.crash();
    assert_eq!(
        c.renewal_order(&order.id).await.unwrap().state,
        RenewalOrderState::AwaitingPayment
    );
    h.survived();

    // The payment, with the server killed while the request is in flight, at several
    // moments; after each restart the same key is sent again: one charge in all.
    let ok = card(pec_sandbox::renewal::CARD_OK);
    let mut paid = None;
    for delay_ms in [0u64, 1, 2, 5, 10, 20] {
        let (base, token) = {
            let server = h.server.as_ref().expect("server");
            (server.base.clone(), h.portals[1].clone())
        };
        let sending = {
            let ok = ok.clone();
            let id = order.id.clone();
            tokio::spawn(async move {
                let c = Client::new(&base).expect("client");
                c.set_portal_token(Portal::Renewal, token);
                c.pay_renewal_order(&id, &ok, "k-pay").await
            })
        };
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        c = h.crash();
        // Whatever the killed request got to answer, the key's answer is now the paid order.
        let _ = sending.await;
        let view = c.pay_renewal_order(&order.id, &ok, "k-pay").await.unwrap();
        assert_eq!(view.state, RenewalOrderState::Paid);
        if let Some(first) = &paid {
            assert_eq!(&view, first, "the same answer every time");
        }
        paid = Some(view);
        let charges = c.sandbox_charges(&order.id).await.unwrap();
        let succeeded = charges.iter().filter(|c| c.outcome == "succeeded").count();
        assert_eq!(succeeded, 1, "charged once, {delay_ms} ms");
        h.survived();
    }
    // The confirmation e-mails went once.
    assert_eq!(
        h.count("SELECT COUNT(*) FROM outbox WHERE subject LIKE 'Conferma rinnovo%'"),
        2
    );
    let c = h.crash();
    let e = c
        .pay_renewal_order(&order.id, &ok, "k-another")
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "renewal.already_paid");
    h.survived();
    h.report("renewal payment");
}

async fn keyed_order(h: &Harness, req: &RenewalOrderRequest, key: &str) -> RenewalOrderView {
    let server = h.server.as_ref().expect("server");
    let resp = reqwest::Client::new()
        .post(format!("{}/renewal/v1/orders", server.base))
        .bearer_auth(h.portals[1].as_ref().expect("renewal session").expose())
        .header(IDEMPOTENCY_KEY_HEADER, key)
        .json(req)
        .send()
        .await
        .expect("sent");
    assert!(resp.status().is_success(), "{}", resp.status());
    resp.json().await.expect("an order")
}
