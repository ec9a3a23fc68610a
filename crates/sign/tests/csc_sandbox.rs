//! The CSC client against the real sandbox server (HTTP on loopback, SQLite file): a remote
//! CAdES-BES over a form, checked by our verifier and by OpenSSL; the refusals (password, OTP,
//! a SAD used twice, a hash the SAD was not issued for, an OTP used twice).

mod common;

use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use pec_domain::DomainError;
use pec_sandbox::seed::{REMOTE_SIGNATURE_ACCOUNTS, REMOTE_SIGNATURE_PASSWORD};
use pec_sandbox::{Config, RunningSandbox, Sandbox};
use pec_sign::csc::{CscClient, Secret, sign_cades};
use pec_sign::{Policy, TrustedCas, verify};
use serde_json::{Value, json};

async fn sandbox(dir: &std::path::Path) -> RunningSandbox {
    let mut config = Config::new(
        "127.0.0.1:0".parse().expect("addr"),
        dir.join("sandbox.sqlite"),
    );
    config.seed_demo = false;
    Sandbox::start(config).await.expect("sandbox")
}

fn otp(user: &str) -> String {
    let (_, secret, _) = REMOTE_SIGNATURE_ACCOUNTS
        .iter()
        .find(|(u, _, _)| *u == user)
        .expect("account");
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    pec_sandbox::totp::code(secret, i64::try_from(now).expect("time")).expect("totp")
}

#[tokio::test]
async fn remote_signature_through_the_csc_api() {
    let dir = tempfile::tempdir().expect("tmp");
    let sb = sandbox(dir.path()).await;
    let base = format!("{}/csc/v2", sb.base_url());
    let mut client = CscClient::new(&base).expect("client");

    let info = client.info().await.expect("info");
    assert_eq!(info.specs, "2.0.0.2");
    assert!(info.methods.iter().any(|m| m == "signatures/signHash"));

    client
        .login(
            "firma.mario",
            &Secret::new(REMOTE_SIGNATURE_PASSWORD.into()),
        )
        .await
        .expect("login");
    let ids = client.credentials_list().await.expect("list");
    assert_eq!(ids, vec!["firma.mario-qes".to_owned()]);
    let cred = client.credential_info(&ids[0]).await.expect("info");
    assert_eq!(cred.cert.certificates.len(), 2, "certificate and CA");
    let auth = cred.auth.as_ref().expect("auth info");
    assert_eq!(auth.objects[0].id, "OTP");

    let form = common::document(200 * 1024);
    let p7m = sign_cades(
        &client,
        &ids[0],
        Secret::new(otp("firma.mario")),
        &form,
        SystemTime::now(),
    )
    .await
    .expect("remote signature");

    let ca = pec_sandbox::csc::ca_certificate().expect("CSC CA");
    let trusted = TrustedCas::from_der([ca.as_slice()]).expect("ca");
    let ok = verify::verify(&p7m, &Policy::new(&trusted).expecting(&form)).expect("verify");
    assert_eq!(
        ok.signer.codice_fiscale.as_deref(),
        Some("RSSMRA45C12F205C")
    );
    assert!(ok.signer.qc_compliance);
    let content = common::openssl_verify(dir.path(), &p7m, &ca).expect("openssl");
    assert_eq!(content, form);

    // The same OTP again: refused (a code is accepted once).
    let e = sign_cades(
        &client,
        &ids[0],
        Secret::new(otp("firma.mario")),
        b"modulo",
        SystemTime::now(),
    )
    .await
    .expect_err("OTP replay");
    assert_eq!(e.code(), "sign.remote_refused");
    sb.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn wrong_password_and_wrong_otp_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let sb = sandbox(dir.path()).await;
    let base = format!("{}/csc/v2", sb.base_url());
    let mut client = CscClient::new(&base).expect("client");
    let e = client
        .login("firma.mario", &Secret::new("sbagliata".into()))
        .await
        .expect_err("wrong password");
    assert_eq!(e.code(), "sign.remote_refused");
    assert!(format!("{e:?}").contains("RemoteRefused"));
    let e = client.credentials_list().await.expect_err("not logged in");
    assert_eq!(e.code(), "sign.remote_refused");

    client
        .login(
            "firma.chiara",
            &Secret::new(REMOTE_SIGNATURE_PASSWORD.into()),
        )
        .await
        .expect("login");
    // Chiara cannot use Mario's credential.
    let e = client
        .credential_info("firma.mario-qes")
        .await
        .expect_err("someone else's credential");
    assert_eq!(e.code(), "sign.remote_error");
    let e = sign_cades(
        &client,
        "firma.chiara-qes",
        Secret::new("000000".into()),
        b"modulo",
        SystemTime::now(),
    )
    .await
    .expect_err("wrong OTP");
    assert_eq!(e.code(), "sign.remote_refused");
    sb.shutdown().await.expect("shutdown");
}

/// The server side of the SAD rules, in raw JSON: single use, bound to the authorised hash.
#[tokio::test]
async fn a_sad_is_single_use_and_bound_to_its_hashes() {
    let dir = tempfile::tempdir().expect("tmp");
    let sb = sandbox(dir.path()).await;
    let base = format!("{}/csc/v2", sb.base_url());
    let http = reqwest::Client::new();
    let post = |path: &str, token: Option<&str>, body: Value| {
        let mut r = http.post(format!("{base}/{path}")).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let login = http
        .post(format!("{base}/auth/login"))
        .basic_auth("firma.mario", Some(REMOTE_SIGNATURE_PASSWORD))
        .json(&json!({}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    let token = login.json::<Value>().await.expect("json")["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let hash = B64.encode([0x11u8; 32]);
    let other = B64.encode([0x22u8; 32]);
    let r = post(
        "credentials/authorize",
        Some(&token),
        json!({"credentialID": "firma.mario-qes", "numSignatures": 1, "hashes": [hash],
               "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1",
               "authData": [{"id": "OTP", "value": otp("firma.mario")}]}),
    )
    .await
    .expect("authorize");
    assert_eq!(r.status(), 200);
    let sad = r.json::<Value>().await.expect("json")["SAD"]
        .as_str()
        .expect("SAD")
        .to_owned();
    let sign = |hashes: Value| {
        post(
            "signatures/signHash",
            Some(&token),
            json!({"credentialID": "firma.mario-qes", "SAD": sad, "hashes": hashes,
                   "signAlgo": "1.2.840.113549.1.1.11"}),
        )
    };
    let r = sign(json!([other])).await.expect("sign other");
    assert_eq!(r.status(), 400, "a hash the SAD was not issued for");
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["code"], "csc.invalid_request");
    // That attempt used the SAD up: the right hash is refused now too.
    let r = sign(json!([hash])).await.expect("sign again");
    assert_eq!(r.status(), 400, "the SAD is single use");
    sb.shutdown().await.expect("shutdown");
}
