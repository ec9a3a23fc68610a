//! The card method's certificate rules with the virtual card's own PKI (`pec-card-sim`): key
//! usage (the challenge is an authentication: digitalSignature required) and chains through an
//! intermediate CA (leaf → intermediate → trust anchor), complete, incomplete, forged, or with
//! an end-entity certificate posing as a CA. Real server on loopback, real SQLite file.

mod common;

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;
use pec_card_sim::pki::{CardCredentials, issue};
use pec_card_sim::{AuthIssuer, AuthKeyUsage, ProfileName};
use pec_provider::Client;
use pec_provider::api::*;
use pec_sandbox::{Config, Sandbox};
use x509_cert::builder::Profile;
use x509_cert::name::Name;

/// The holder of the Athena profile (the card-sim's Giulia Bianchi).
const GIULIA_CF: &str = "BNCGLI85C55F205C";
const CONTACT: &str = "giulia.bianchi@example.com";

fn creds(issuer: AuthIssuer, usage: AuthKeyUsage) -> CardCredentials {
    let mut p = ProfileName::Athena2048.profile();
    p.auth_issuer = issuer;
    p.auth_key_usage = usage;
    issue(&p, "hash").expect("card-sim issues")
}

/// A sandbox trusting only the card-sim root, with an account for Giulia (two mailboxes, so
/// that two requests can succeed), signed in.
async fn rig(dir: &std::path::Path, anchor: Vec<u8>) -> (pec_sandbox::RunningSandbox, Client) {
    let mut config = Config::new("127.0.0.1:0".parse().expect("addr"), dir.join("db.sqlite"));
    config.card_trust_anchors = vec![anchor];
    let sandbox = Sandbox::start(config).await.expect("sandbox starts");
    let client = client_of(&sandbox);
    let holder = HolderData::PrivateCitizen {
        first_name: "Giulia".into(),
        last_name: "Bianchi".into(),
        tax_code: GIULIA_CF.into(),
    };
    let mailbox = |address: &str| SeedMailbox {
        address: address.into(),
        holder: holder.clone(),
        contact: contact(CONTACT),
        imap: None,
    };
    let seeded = client
        .sandbox_seed_account(&SeedAccountRequest {
            password: PASSWORD.into(),
            mailboxes: vec![
                mailbox("giulia.bianchi@pec.sandbox.test"),
                mailbox("studio.bianchi@pec.sandbox.test"),
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

async fn identifying(c: &Client, mailbox: &str) -> String {
    let holder = HolderData::PrivateCitizen {
        first_name: "Giulia".into(),
        last_name: "Bianchi".into(),
        tax_code: GIULIA_CF.into(),
    };
    to_identifying(c, mailbox, holder, CONTACT, MethodData::Cns).await
}

fn subject_of(der: &[u8]) -> Name {
    use der::Decode;
    x509_cert::Certificate::from_der(der)
        .expect("certificate")
        .tbs_certificate
        .subject
}

/// Asks for a challenge and answers it with the card key over `chain`.
async fn answer(
    c: &Client,
    id: &str,
    card: &CardCredentials,
    chain: &[&[u8]],
) -> Result<IdentityRequestView, pec_provider::Error> {
    let ch = c.card_challenge_to_sign(id).await.expect("challenge");
    let resp = CardResponse {
        challenge_id: ch.challenge_id.clone(),
        certificate_chain: chain.iter().map(|d| B64.encode(d)).collect(),
        signature: sign(&card.auth_key, &ch.message),
    };
    c.card_response(id, &resp).await
}

#[tokio::test]
async fn key_usage_without_digital_signature_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = creds(AuthIssuer::Root, AuthKeyUsage::Cns);
    let (sandbox, c) = rig(dir.path(), good.ca_cert.clone()).await;
    let id = identifying(&c, "giulia.bianchi@pec.sandbox.test").await;

    // A qualified signature certificate (nonRepudiation only): the signature verifies and the
    // chain is trusted, but the key may not sign a server-chosen challenge.
    let qualified = creds(AuthIssuer::Root, AuthKeyUsage::NonRepudiationOnly);
    let e = answer(&c, &id, &qualified, &[&qualified.auth_cert])
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "card.key_usage");
    assert_eq!(e.status(), Some(422));

    // An encryption certificate.
    let encryption = creds(AuthIssuer::Root, AuthKeyUsage::KeyEnciphermentOnly);
    let e = answer(&c, &id, &encryption, &[&encryption.auth_cert])
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "card.key_usage");

    // Same card, CNS key usage: identified.
    let r = answer(&c, &id, &good, &[&good.auth_cert]).await.unwrap();
    assert_eq!(r.step, StepData::Identified);
    sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn chain_through_an_intermediate_ca() {
    let dir = tempfile::tempdir().expect("tempdir");
    let card = creds(AuthIssuer::Intermediate, AuthKeyUsage::Cns);
    let [intermediate] = card.intermediates.as_slice() else {
        panic!("one intermediate expected");
    };
    let (sandbox, c) = rig(dir.path(), card.ca_cert.clone()).await;
    let id = identifying(&c, "giulia.bianchi@pec.sandbox.test").await;

    // Missing intermediate: the card certificate alone does not reach the anchor.
    let e = answer(&c, &id, &card, &[&card.auth_cert])
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "card.untrusted_issuer");

    // Unknown intermediate: same name as the real one, another key, issued by a CA nobody
    // trusts. The card certificate's signature does not verify with it.
    let p = pki();
    let forged = build(
        &p.other_key,
        &p.rogue_key,
        Profile::SubCA {
            issuer: p.rogue_name.clone(),
            path_len_constraint: Some(0),
        },
        subject_of(intermediate),
        validity(-3600, 86_400),
    );
    let e = answer(&c, &id, &card, &[&card.auth_cert, &forged])
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "card.untrusted_issuer");

    // An intermediate from another hierarchy (the sandbox tests' own CA) in its place.
    let e = answer(&c, &id, &card, &[&card.auth_cert, &p.ca_der])
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "card.untrusted_issuer");

    // The intermediates in the wrong order (anchor first) do not chain either.
    let e = answer(
        &c,
        &id,
        &card,
        &[&card.auth_cert, &card.ca_cert, intermediate],
    )
    .await
    .unwrap_err();
    assert_eq!(code_of(&e), "card.untrusted_issuer");

    // Complete chain: identified.
    let r = answer(&c, &id, &card, &[&card.auth_cert, intermediate])
        .await
        .unwrap();
    assert_eq!(r.step, StepData::Identified);
    let r = finish_with_otp(&c, &id, CONTACT).await;
    assert_eq!(r.step, StepData::Completed);

    // The anchor itself may close the chain too.
    let id = identifying(&c, "studio.bianchi@pec.sandbox.test").await;
    let r = answer(
        &c,
        &id,
        &card,
        &[&card.auth_cert, intermediate, &card.ca_cert],
    )
    .await
    .unwrap();
    assert_eq!(r.step, StepData::Identified);
    sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_end_entity_certificate_cannot_act_as_a_ca() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The card certificate is trusted, but it is not a CA: a certificate "issued" with the card
    // key (as anyone holding a card could) must not chain through it.
    let card = creds(AuthIssuer::Root, AuthKeyUsage::Cns);
    let (sandbox, c) = rig(dir.path(), card.ca_cert.clone()).await;
    let id = identifying(&c, "giulia.bianchi@pec.sandbox.test").await;

    let card_subject = subject_of(&card.auth_cert);
    let p = pki();
    let subject = Name::from_str(&format!(
        "CN={GIULIA_CF}/0000000000000001.abc,serialNumber=TINIT-{GIULIA_CF},C=IT"
    ))
    .expect("subject");
    let child = build(
        &p.card_key,
        &card.auth_key,
        Profile::Leaf {
            issuer: card_subject,
            enable_key_agreement: false,
            enable_key_encipherment: false,
            include_subject_key_identifier: true,
        },
        subject,
        validity(-3600, 86_400),
    );
    let ch = c.card_challenge_to_sign(&id).await.expect("challenge");
    let resp = CardResponse {
        challenge_id: ch.challenge_id.clone(),
        certificate_chain: vec![B64.encode(&child), B64.encode(&card.auth_cert)],
        signature: sign(&p.card_key, &ch.message),
    };
    let e = c.card_response(&id, &resp).await.unwrap_err();
    assert_eq!(code_of(&e), "card.untrusted_issuer");
    sandbox.shutdown().await.unwrap();
}
