//! The CIE method against the real server, with the certificates of the virtual CIEs
//! (`pec-card-sim`): the chain must end at a configured CIE root (never a CNS issuer), the
//! certificate must carry the CIE policy, and the codice fiscale is the CN's first 16
//! characters, compared with the declared holder like a CNS's. Then CieID, the login without a
//! reader, through the sandbox's simulated identity provider and phone page.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;
use pec_card_sim::cie::pki::CieCredentials;
use pec_card_sim::{CieProfileName, ProfileName, VirtualCard, VirtualCie};
use pec_provider::Client;
use pec_provider::api::*;
use pec_sandbox::{Config, Sandbox};

/// The holder of the virtual CIEs' NXP lot.
const MARIO_CF: &str = "RSSMRA80A01H501U";
const CONTACT: &str = "mario.rossi@example.com";

fn cie(profile: CieProfileName) -> CieCredentials {
    VirtualCie::new(profile.profile())
        .expect("virtual CIE")
        .credentials()
        .clone()
}

/// A sandbox whose CIE anchors are `cie_anchors` and card (CNS) anchors `card_anchors`, with
/// Mario's account (two mailboxes), signed in.
async fn rig(
    dir: &std::path::Path,
    cie_anchors: Vec<Vec<u8>>,
    card_anchors: Vec<Vec<u8>>,
) -> (pec_sandbox::RunningSandbox, Client) {
    let mut config = Config::new("127.0.0.1:0".parse().expect("addr"), dir.join("db.sqlite"));
    config.cie_trust_anchors = cie_anchors;
    config.card_trust_anchors = card_anchors;
    let sandbox = Sandbox::start(config).await.expect("sandbox starts");
    let client = client_of(&sandbox);
    let mailbox = |address: &str| SeedMailbox {
        address: address.into(),
        holder: mario(),
        contact: contact(CONTACT),
        imap: None,
    };
    let seeded = client
        .sandbox_seed_account(&SeedAccountRequest {
            password: PASSWORD.into(),
            mailboxes: vec![
                mailbox("cie.rossi@pec.sandbox.test"),
                mailbox("cie.studio.rossi@pec.sandbox.test"),
            ],
        })
        .await
        .expect("seed");
    client
        .sign_in(&seeded.account_id, PASSWORD, None)
        .await
        .expect("sign in");
    (sandbox, client)
}

fn mario() -> HolderData {
    HolderData::PrivateCitizen {
        first_name: "Mario".into(),
        last_name: "Rossi".into(),
        tax_code: MARIO_CF.into(),
    }
}

async fn identifying(c: &Client, mailbox: &str, method: MethodData) -> String {
    to_identifying(c, mailbox, mario(), CONTACT, method).await
}

/// A challenge answered with `key` over `cert`.
async fn answer(
    c: &Client,
    id: &str,
    cert: &[u8],
    key: &rsa::RsaPrivateKey,
) -> Result<IdentityRequestView, pec_provider::Error> {
    let ch = c.card_challenge_to_sign(id).await.expect("challenge");
    let resp = CardResponse {
        challenge_id: ch.challenge_id.clone(),
        certificate_chain: vec![B64.encode(cert)],
        signature: sign(key, &ch.message),
    };
    c.card_response(id, &resp).await
}

#[tokio::test]
async fn a_cie_identifies_its_holder_and_one_of_someone_else_is_a_mismatch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mario_cie = cie(CieProfileName::Nxp);
    let (sandbox, c) = rig(dir.path(), vec![mario_cie.root_cert.clone()], vec![]).await;

    // Giulia's CIE on Mario's request: verified, then the provider's own evaluation.
    let giulia_cie = cie(CieProfileName::OtherHolder);
    let id = identifying(&c, "cie.studio.rossi@pec.sandbox.test", MethodData::Cie).await;
    let r = answer(&c, &id, &giulia_cie.holder_cert, &giulia_cie.holder_key)
        .await
        .expect("verified");
    assert_eq!(r.step, StepData::DataMismatch);
    assert_eq!(r.outcome, Some(OutcomeData::DataMismatch));

    let id = identifying(&c, "cie.rossi@pec.sandbox.test", MethodData::Cie).await;
    let r = answer(&c, &id, &mario_cie.holder_cert, &mario_cie.holder_key)
        .await
        .expect("identified");
    assert_eq!(r.step, StepData::Identified);
    sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_cie_policy_and_the_cie_root_are_required() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mario_cie = cie(CieProfileName::Nxp);
    let cns = VirtualCard::new(ProfileName::Stincard2048.profile()).expect("virtual CNS");
    let cns = cns.credentials().clone();
    // The CNS issuer is trusted as a CIE root here, so only the policy can refuse its card.
    let (sandbox, c) = rig(
        dir.path(),
        vec![cns.ca_cert.clone()],
        vec![mario_cie.root_cert.clone()],
    )
    .await;

    let id = identifying(&c, "cie.rossi@pec.sandbox.test", MethodData::Cie).await;
    let e = answer(&c, &id, &cns.auth_cert, &cns.auth_key)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "card.not_cie");
    assert_eq!(e.status(), Some(422));

    // A real CIE, but its root is among the CNS anchors only: another root.
    let e = answer(&c, &id, &mario_cie.holder_cert, &mario_cie.holder_key)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "card.untrusted_issuer");

    let r = c.identity_request(&id).await.expect("request");
    assert_eq!(r.step, StepData::Identifying, "nothing was identified");
    sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_cie_on_the_cns_method_is_refused_when_only_the_cie_root_vouches_for_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mario_cie = cie(CieProfileName::Nxp);
    let (sandbox, c) = rig(dir.path(), vec![mario_cie.root_cert.clone()], vec![]).await;
    let id = identifying(&c, "cie.rossi@pec.sandbox.test", MethodData::Cns).await;
    let e = answer(&c, &id, &mario_cie.holder_cert, &mario_cie.holder_key)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "card.untrusted_issuer");
    sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_expired_cie_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let expired = cie(CieProfileName::ExpiredCert);
    let (sandbox, c) = rig(dir.path(), vec![expired.root_cert.clone()], vec![]).await;
    let id = identifying(&c, "cie.rossi@pec.sandbox.test", MethodData::Cie).await;
    let e = answer(&c, &id, &expired.holder_cert, &expired.holder_key)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "card.certificate_expired");
    sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn cieid_login_through_the_simulated_app_identifies_the_holder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sandbox, c) = rig(dir.path(), vec![], vec![]).await;
    let id = identifying(&c, "cie.rossi@pec.sandbox.test", MethodData::Cie).await;
    let login = c.start_cieid(&id).await.expect("started");
    assert!(login.login_url.starts_with(sandbox.base_url()));
    let poll = c.poll_cieid(&id, &login.handle).await.expect("poll");
    assert_eq!(poll.status, CieIdStatus::Pending);

    let http = reqwest::Client::new();
    // The browser page shows the QR code of the phone page.
    let page = http
        .get(&login.login_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<svg"), "a QR code");
    assert!(page.contains(&login.phone_url));
    // The SPID page does not serve a CieID login.
    let spid = http
        .get(format!(
            "{}/sandbox/spid/login/{}",
            sandbox.base_url(),
            login.handle
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(spid.status(), 404);
    // The simulated app confirms Mario's CIE.
    let phone = http
        .get(&login.phone_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(phone.contains(MARIO_CF));
    let done = http
        .post(&login.phone_url)
        .form(&[("tax_code", MARIO_CF), ("decision", "authorise")])
        .send()
        .await
        .unwrap();
    assert!(done.status().is_success(), "{}", done.status());
    let poll = c.poll_cieid(&id, &login.handle).await.expect("poll");
    assert_eq!(poll.status, CieIdStatus::Authorised);
    assert_eq!(
        poll.request.map(|r| r.step),
        Some(StepData::Identified),
        "the request moved on"
    );
    // Once only.
    let again = http
        .post(&login.phone_url)
        .form(&[("tax_code", MARIO_CF), ("decision", "authorise")])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn cieid_is_only_for_the_cie_method() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sandbox, c) = rig(dir.path(), vec![], vec![]).await;
    let id = identifying(&c, "cie.rossi@pec.sandbox.test", MethodData::Spid).await;
    let e = c.start_cieid(&id).await.unwrap_err();
    assert_eq!(code_of(&e), "method.mismatch");
    sandbox.shutdown().await.unwrap();
}
