//! The card certificate rules beyond the chain (audit M7): only authentication certificates
//! (CNS policy or clientAuth), no unknown critical extension, RSA of at least 2048 bits unless
//! the card's lot is explicitly allowed, and the codice fiscale from the same RDN the app
//! reads. And the message the card signs (audit M1): the server verifies the signature over
//! the message the app builds (prefix, origin, request id, nonce), nothing else. Real server on
//! loopback, real SQLite file.

mod common;

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;
use der::Encode;
use pec_card_sim::ProfileName;
use pec_card_sim::pki::issue;
use pec_provider::Client;
use pec_provider::api::*;
use pec_sandbox::{Config, Sandbox};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::EncodePublicKey;
use sha2::Sha256;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::certpolicy::{CertificatePolicies, PolicyInformation};
use x509_cert::ext::pkix::{ExtendedKeyUsage, InhibitAnyPolicy};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

const ACME_VAT: &str = "00743110157";
const CHIARA_CONTACT: &str = "chiara.conti@example.com";

fn oid(s: &str) -> der::asn1::ObjectIdentifier {
    der::asn1::ObjectIdentifier::new_unwrap(s)
}

/// A card certificate of the test PKI's CA (1024-bit keys) with `subject` and the extensions
/// `extend` adds.
fn cert_with(
    subject: &str,
    extend: impl FnOnce(&mut CertificateBuilder<'_, SigningKey<Sha256>>),
) -> Vec<u8> {
    let p = pki();
    let spki_der = p
        .card_key
        .to_public_key()
        .to_public_key_der()
        .expect("spki");
    let spki = SubjectPublicKeyInfoOwned::try_from(spki_der.as_bytes()).expect("spki");
    let signer = SigningKey::<Sha256>::new(p.ca_key.clone());
    let mut b = CertificateBuilder::new(
        Profile::Leaf {
            issuer: p.ca_name.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
            include_subject_key_identifier: true,
        },
        SerialNumber::from(rand_core::RngCore::next_u32(&mut rand_core::OsRng)),
        validity(-3600, 86_400),
        Name::from_str(subject).expect("subject"),
        spki,
        &signer,
    )
    .expect("builder");
    extend(&mut b);
    b.build::<rsa::pkcs1v15::Signature>()
        .expect("build")
        .to_der()
        .expect("der")
}

fn chiara_subject() -> String {
    format!("CN={CHIARA_CF}/7420070300000045.abc123,serialNumber=TINIT-{CHIARA_CF},C=IT")
}

fn client_auth(b: &mut CertificateBuilder<'_, SigningKey<Sha256>>) {
    b.add_extension(&ExtendedKeyUsage(vec![oid("1.3.6.1.5.5.7.3.2")]))
        .expect("eku");
}

/// ACME's request at the identification step, Chiara (its legal representative) declared.
async fn acme_identifying(c: &Client) -> String {
    let holder = company_holder("ACME S.r.l.", ACME_VAT, Some(CHIARA_CF));
    to_identifying(c, ACME, holder, CHIARA_CONTACT, MethodData::Cns).await
}

async fn answer_with(
    c: &Client,
    id: &str,
    cert: &[u8],
) -> Result<IdentityRequestView, pec_provider::Error> {
    let ch = c.card_challenge_to_sign(id).await.expect("challenge");
    c.card_response(id, &card_response(&ch, cert, &pki().card_key))
        .await
}

#[tokio::test]
async fn only_authentication_certificates_identify() {
    let rig = Rig::signed_in("acc-demo-acme").await;
    let c = &rig.client;
    let id = acme_identifying(c).await;

    // Neither the CNS policy nor clientAuth: a certificate for something else.
    let none = cert_with(&chiara_subject(), |_| {});
    let e = answer_with(c, &id, &none).await.unwrap_err();
    assert_eq!(
        (e.status(), code_of(&e)),
        (Some(422), "card.not_authentication")
    );

    // An extended key usage restricted to e-mail protection, even with the CNS policy.
    let email = cert_with(&chiara_subject(), |b| {
        b.add_extension(&ExtendedKeyUsage(vec![oid("1.3.6.1.5.5.7.3.4")]))
            .expect("eku");
        b.add_extension(&CertificatePolicies(vec![PolicyInformation {
            policy_identifier: oid("1.3.76.16.2.1"),
            policy_qualifiers: None,
        }]))
        .expect("policy");
    });
    let e = answer_with(c, &id, &email).await.unwrap_err();
    assert_eq!(code_of(&e), "card.not_authentication");

    // The CNS policy alone is enough.
    let cns = cert_with(&chiara_subject(), |b| {
        b.add_extension(&CertificatePolicies(vec![PolicyInformation {
            policy_identifier: oid("1.3.76.16.2.1"),
            policy_qualifiers: None,
        }]))
        .expect("policy");
    });
    let r = answer_with(c, &id, &cns)
        .await
        .expect("CNS policy identifies");
    assert_eq!(r.step, StepData::Identified);
    rig.sandbox.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn an_unknown_critical_extension_is_refused() {
    let rig = Rig::signed_in("acc-demo-acme").await;
    let c = &rig.client;
    let id = acme_identifying(c).await;
    // inhibitAnyPolicy, critical: a constraint this verifier does not process.
    let cert = cert_with(&chiara_subject(), |b| {
        client_auth(b);
        b.add_extension(&InhibitAnyPolicy(0)).expect("inhibit");
    });
    let e = answer_with(c, &id, &cert).await.unwrap_err();
    assert_eq!(
        (e.status(), code_of(&e)),
        (Some(422), "card.unknown_critical_extension")
    );
    rig.sandbox.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn the_codice_fiscale_comes_from_the_first_serial_number_like_the_app() {
    let rig = Rig::signed_in("acc-demo-acme").await;
    let c = &rig.client;
    let id = acme_identifying(c).await;
    // RFC 4514 lists the RDNs last first: in the DER, Chiara's serialNumber comes first and
    // Mario's last.
    let cert = cert_with(
        &format!("serialNumber=TINIT-{MARIO_CF},serialNumber=TINIT-{CHIARA_CF},C=IT"),
        client_auth,
    );
    let app = pec_card::Certificate::from_der(&cert).expect("the app parses it");
    assert_eq!(app.codice_fiscale.as_deref(), Some(CHIARA_CF));
    let r = answer_with(c, &id, &cert).await.expect("answer");
    assert_eq!(r.step, StepData::Identified, "the server reads Chiara too");
    rig.sandbox.shutdown().await.expect("shutdown");
}

/// A sandbox trusting the test PKI's CA under `rules`, signed in as ACME.
async fn acme_rig(_dir: &std::path::Path, rules: pec_sandbox::card::Rules) -> Rig {
    let rig = Rig::with(|config| config.card_rules = rules).await;
    rig.client
        .sign_in("acc-demo-acme", PASSWORD, None)
        .await
        .expect("sign in");
    rig
}

#[tokio::test]
async fn keys_under_2048_bits_need_an_allowed_lot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = card_cert(CHIARA_CF, validity(-3600, 86_400), true);

    let strict = dir.path().join("strict");
    std::fs::create_dir_all(&strict).expect("dir");
    let rig = acme_rig(&strict, pec_sandbox::card::Rules::default()).await;
    let id = acme_identifying(&rig.client).await;
    let e = answer_with(&rig.client, &id, &cert).await.unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(422), "card.weak_key"));
    rig.sandbox.shutdown().await.expect("shutdown");

    // The same 1024-bit card, its issuer configured as an allowed legacy lot.
    let legacy = dir.path().join("legacy");
    std::fs::create_dir_all(&legacy).expect("dir");
    let rig = acme_rig(&legacy, test_pki_rules()).await;
    let id = acme_identifying(&rig.client).await;
    let r = answer_with(&rig.client, &id, &cert)
        .await
        .expect("allowed lot");
    assert_eq!(r.step, StepData::Identified);
    rig.sandbox.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn the_virtual_cns_1024_lot_is_refused_by_default() {
    // The card-sim's CNS 1.0 profile (RSA-1024) under its own 2048-bit CA.
    let card = issue(&ProfileName::CnsV1_1024.profile(), "hash").expect("issue");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::new("127.0.0.1:0".parse().expect("addr"), dir.path().join("db"));
    config.card_trust_anchors = vec![card.ca_cert.clone()];
    let sandbox = Sandbox::start(config).await.expect("sandbox");
    let c = Client::new(sandbox.base_url()).expect("client");
    c.sign_in("acc-demo-acme", PASSWORD, None)
        .await
        .expect("sign in");
    let id = acme_identifying(&c).await;
    let ch = c.card_challenge_to_sign(&id).await.expect("challenge");
    let resp = CardResponse {
        challenge_id: ch.challenge_id.clone(),
        certificate_chain: vec![B64.encode(&card.auth_cert)],
        signature: sign(&card.auth_key, &ch.message),
    };
    let e = c.card_response(&id, &resp).await.unwrap_err();
    assert_eq!(code_of(&e), "card.weak_key");
    sandbox.shutdown().await.expect("shutdown");
}

// ---------------------------------------------------------------------------------------------
// M1: what the card signs

#[tokio::test]
async fn the_server_verifies_the_built_message_and_nothing_else() {
    let card = issue(&ProfileName::Athena2048.profile(), "hash").expect("issue");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::new("127.0.0.1:0".parse().expect("addr"), dir.path().join("db"));
    config.card_trust_anchors = vec![card.ca_cert.clone()];
    let sandbox = Sandbox::start(config).await.expect("sandbox");
    let c = client_of(&sandbox);
    let holder = HolderData::PrivateCitizen {
        first_name: "Giulia".into(),
        last_name: "Bianchi".into(),
        tax_code: "BNCGLI85C55F205C".into(),
    };
    let seeded = c
        .sandbox_seed_account(&SeedAccountRequest {
            password: PASSWORD.into(),
            mailboxes: vec![SeedMailbox {
                address: "giulia.bianchi@pec.sandbox.test".into(),
                holder: holder.clone(),
                contact: contact("giulia.bianchi@example.com"),
                imap: None,
            }],
        })
        .await
        .expect("seed");
    c.sign_in(&seeded.account_id, PASSWORD, None)
        .await
        .expect("sign in");
    let id = to_identifying(
        &c,
        "giulia.bianchi@pec.sandbox.test",
        holder,
        "giulia.bianchi@example.com",
        MethodData::Cns,
    )
    .await;
    let origin = pec_provider::card_message::origin_of(c.base_url()).expect("origin");
    let answer = |challenge_id: String, signed: Vec<u8>| CardResponse {
        challenge_id,
        certificate_chain: vec![B64.encode(&card.auth_cert)],
        signature: sign(&card.auth_key, &signed),
    };

    // What the app signed before: the provider's bytes as they are.
    let raw = c.card_challenge(&id).await.expect("challenge");
    let nonce = B64.decode(&raw.challenge).expect("nonce");
    assert_eq!(nonce.len(), 32);
    let e = c
        .card_response(&id, &answer(raw.challenge_id, nonce))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "card.signature_invalid");

    // The right shape for another provider's origin, or for another request.
    for (o, r) in [
        ("https://other-provider.example", id.as_str()),
        (origin.as_str(), "idr-other"),
    ] {
        let raw = c.card_challenge(&id).await.expect("challenge");
        let nonce = B64.decode(&raw.challenge).expect("nonce");
        let msg = pec_provider::card_message::message(o, r, &nonce).expect("message");
        let e = c
            .card_response(&id, &answer(raw.challenge_id, msg))
            .await
            .unwrap_err();
        assert_eq!(code_of(&e), "card.signature_invalid", "{o} {r}");
    }

    // The message the app builds.
    let ch = c.card_challenge_to_sign(&id).await.expect("challenge");
    assert!(
        ch.message
            .starts_with(b"PEC-Desktop/card-identification/v1\0")
    );
    let r = c
        .card_response(&id, &answer(ch.challenge_id, ch.message))
        .await
        .expect("identified");
    assert_eq!(r.step, StepData::Identified);
    sandbox.shutdown().await.expect("shutdown");
}
