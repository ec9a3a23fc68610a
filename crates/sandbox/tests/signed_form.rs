//! Firma digitale and firma remota by the signed request form: the sandbox issues the
//! "Modulo di richiesta di identificazione del titolare", the holder signs it (CAdES-BES made by
//! `pec-sign`, with the virtual card's qualified keyset or through the sandbox's CSC service),
//! and the sandbox verifies it. Each refusal has its own test; every accepted `.p7m` is also
//! checked by `openssl cms -verify`.

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;
use pec_card_sim::ProfileName;
use pec_card_sim::pki::{self, CardCredentials};
use pec_provider::Client;
use pec_provider::api::*;
use pec_sign::{SignerCertificate, SoftwareSigner, cades};

/// The virtual STIncard's credentials, issued for `cf` (the qualified signature keyset under the
/// card-sim's test qualified CA).
fn card_for(cf: &'static str) -> CardCredentials {
    let mut profile = ProfileName::Stincard2048.profile();
    profile.holder.codice_fiscale = cf;
    pki::issue(&profile, "hash=").expect("issue")
}

fn signer(creds: &CardCredentials) -> SoftwareSigner {
    let (key, der) = creds.signature.clone().expect("signature keyset");
    SoftwareSigner::new(
        key,
        SignerCertificate {
            der,
            chain: Vec::new(),
        },
    )
}

/// A sandbox that trusts the card-sim's qualified CA for signed forms.
async fn rig_trusting(ca: &[u8]) -> Rig {
    let ca = ca.to_vec();
    let rig = Rig::with(move |c| c.signature_trust_anchors = vec![ca]).await;
    rig.client
        .sign_in(MARIO, PASSWORD, None)
        .await
        .expect("sign in");
    rig
}

async fn form_of(c: &Client, id: &str) -> (SignatureForm, Vec<u8>) {
    let form = c.signature_form(id).await.expect("form");
    let pdf = B64.decode(&form.pdf).expect("base64");
    (form, pdf)
}

fn upload(p7m: &[u8]) -> SignedFormUpload {
    SignedFormUpload {
        p7m: B64.encode(p7m),
    }
}

/// `openssl cms -verify -cades` trusting only `ca`: the content it extracts, or its error.
fn openssl_verify(dir: &Path, p7m: &[u8], ca: &[u8]) -> Result<Vec<u8>, String> {
    let pem = {
        let b64 = B64.encode(ca);
        let mut s = String::from("-----BEGIN CERTIFICATE-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            s.push_str(std::str::from_utf8(chunk).expect("ascii"));
            s.push('\n');
        }
        s + "-----END CERTIFICATE-----\n"
    };
    std::fs::write(dir.join("in.p7m"), p7m).expect("write");
    std::fs::write(dir.join("ca.pem"), pem).expect("write");
    let out = std::process::Command::new("openssl")
        .current_dir(dir)
        .args([
            "cms",
            "-verify",
            "-cades",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "in.p7m",
            "-CAfile",
            "ca.pem",
            "-out",
            "content.out",
        ])
        .output()
        .expect("openssl");
    if out.status.success() {
        Ok(std::fs::read(dir.join("content.out")).expect("content"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

async fn refused(c: &Client, id: &str, p7m: &[u8]) -> String {
    let e = c
        .send_signed_form(id, &upload(p7m))
        .await
        .expect_err("refused");
    // A refusal leaves the request where it was: the holder may sign again.
    let r = c.identity_request(id).await.expect("get");
    assert_eq!(r.step, StepData::Identifying);
    code_of(&e).to_owned()
}

#[tokio::test]
async fn firma_digitale_signed_form_identifies_and_is_kept() {
    let creds = card_for(MARIO_CF);
    let rig = rig_trusting(&creds.qualified_ca_cert).await;
    let c = &rig.client;
    let id = to_identifying(
        c,
        MARIO,
        mario_holder(),
        "mario@example.com",
        MethodData::DigitalSignature,
    )
    .await;

    let (form, pdf) = form_of(c, &id).await;
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(
        form.title,
        "Modulo di richiesta di identificazione del titolare"
    );
    let text = form.paragraphs.join("\n");
    for needle in [
        MARIO_CF,
        MARIO,
        id.as_str(),
        "Mario Rossi",
        "Firma digitale",
    ] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
    // The PDF prints the same text (uncompressed content streams).
    assert!(
        pdf.windows(MARIO_CF.len())
            .any(|w| w == MARIO_CF.as_bytes())
    );
    // Read again: the very same bytes (what the holder signs must not move).
    assert_eq!(form_of(c, &id).await.1, pdf);

    let p7m = cades::sign(&pdf, &mut signer(&creds), SystemTime::now()).expect("sign");
    let r = c
        .send_signed_form(&id, &upload(&p7m))
        .await
        .expect("accepted");
    assert_eq!(r.step, StepData::Identified);

    let kept = c.signed_form(&id).await.expect("kept");
    assert_eq!(B64.decode(&kept.p7m).expect("b64"), p7m);
    assert_eq!(kept.codice_fiscale.as_deref(), Some(MARIO_CF));
    assert_eq!(kept.filename, format!("modulo-{id}.pdf.p7m"));
    let dir = tempfile::tempdir().expect("tmp");
    assert_eq!(
        openssl_verify(dir.path(), &p7m, &creds.qualified_ca_cert).expect("openssl"),
        pdf
    );

    let r = finish_with_otp(c, &id, "mario@example.com").await;
    assert_eq!(r.step, StepData::Completed);
    // Still downloadable from the success page.
    assert_eq!(
        B64.decode(c.signed_form(&id).await.expect("kept").p7m)
            .expect("b64"),
        p7m
    );
    rig.stop().await;
}

#[tokio::test]
async fn firma_remota_signs_the_form_through_the_csc_api() {
    let rig = rig_trusting(&card_for(MARIO_CF).qualified_ca_cert).await;
    let c = &rig.client;
    let id = to_identifying(
        c,
        MARIO,
        mario_holder(),
        "mario@example.com",
        MethodData::RemoteSignature,
    )
    .await;
    let (form, _) = form_of(c, &id).await;
    assert!(form.paragraphs.iter().any(|p| p.contains("Firma remota")));
    let otp = totp_now(c, FIRMA_MARIO.1).await;
    let (pdf, p7m) = remote_p7m(c, &id, FIRMA_MARIO, &otp)
        .await
        .expect("remote signature");
    let r = c
        .send_signed_form(&id, &upload(&p7m))
        .await
        .expect("accepted");
    assert_eq!(r.step, StepData::Identified);
    let ca = pec_sandbox::csc::ca_certificate().expect("csc ca");
    let dir = tempfile::tempdir().expect("tmp");
    assert_eq!(openssl_verify(dir.path(), &p7m, &ca).expect("openssl"), pdf);
    rig.stop().await;
}

#[tokio::test]
async fn someone_elses_qualified_certificate_is_a_data_mismatch() {
    let creds = card_for(CHIARA_CF);
    let rig = rig_trusting(&creds.qualified_ca_cert).await;
    let c = &rig.client;
    let id = to_identifying(
        c,
        MARIO,
        mario_holder(),
        "mario@example.com",
        MethodData::DigitalSignature,
    )
    .await;
    let (_, pdf) = form_of(c, &id).await;
    let p7m = cades::sign(&pdf, &mut signer(&creds), SystemTime::now()).expect("sign");
    let r = c
        .send_signed_form(&id, &upload(&p7m))
        .await
        .expect("evaluated");
    assert_eq!(r.step, StepData::DataMismatch);
    assert_eq!(r.outcome, Some(OutcomeData::DataMismatch));
    rig.stop().await;
}

#[tokio::test]
async fn refuses_a_signature_of_another_document() {
    let creds = card_for(MARIO_CF);
    let rig = rig_trusting(&creds.qualified_ca_cert).await;
    let c = &rig.client;
    let id = to_identifying(
        c,
        MARIO,
        mario_holder(),
        "m@example.com",
        MethodData::DigitalSignature,
    )
    .await;
    let (_, mut pdf) = form_of(c, &id).await;
    pdf.extend_from_slice(b"\n% una riga in piu\n");
    let p7m = cades::sign(&pdf, &mut signer(&creds), SystemTime::now()).expect("sign");
    assert_eq!(refused(c, &id, &p7m).await, "p7m.content_mismatch");
    rig.stop().await;
}

#[tokio::test]
async fn refuses_a_tampered_content() {
    let creds = card_for(MARIO_CF);
    let rig = rig_trusting(&creds.qualified_ca_cert).await;
    let c = &rig.client;
    let id = to_identifying(
        c,
        MARIO,
        mario_holder(),
        "m@example.com",
        MethodData::DigitalSignature,
    )
    .await;
    let (_, pdf) = form_of(c, &id).await;
    let mut p7m = cades::sign(&pdf, &mut signer(&creds), SystemTime::now()).expect("sign");
    let at = p7m
        .windows(MARIO_CF.len())
        .position(|w| w == MARIO_CF.as_bytes())
        .expect("the codice fiscale in the attached form");
    p7m[at] = b'X';
    assert_eq!(refused(c, &id, &p7m).await, "p7m.content_altered");
    rig.stop().await;
}

#[tokio::test]
async fn refuses_a_signature_value_the_certificate_did_not_make() {
    let creds = card_for(MARIO_CF);
    let rig = rig_trusting(&creds.qualified_ca_cert).await;
    let c = &rig.client;
    let id = to_identifying(
        c,
        MARIO,
        mario_holder(),
        "m@example.com",
        MethodData::DigitalSignature,
    )
    .await;
    let (_, pdf) = form_of(c, &id).await;
    let mut p7m = cades::sign(&pdf, &mut signer(&creds), SystemTime::now()).expect("sign");
    let last = p7m.len() - 1;
    p7m[last] ^= 1;
    assert_eq!(refused(c, &id, &p7m).await, "p7m.signature_invalid");
    rig.stop().await;
}

#[tokio::test]
async fn refuses_a_wrong_signing_certificate_v2() {
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    use der::asn1::{Any, OctetString};
    use der::{Decode, Encode};
    use pec_sign::asn1::{EssCertIdV2, OID_SIGNING_CERTIFICATE_V2, SigningCertificateV2};
    use rsa::pkcs1v15::SigningKey;
    use sha2::{Digest, Sha256};
    use signature::{SignatureEncoding, Signer};

    let creds = card_for(MARIO_CF);
    let rig = rig_trusting(&creds.qualified_ca_cert).await;
    let c = &rig.client;
    let id = to_identifying(
        c,
        MARIO,
        mario_holder(),
        "m@example.com",
        MethodData::DigitalSignature,
    )
    .await;
    let (_, pdf) = form_of(c, &id).await;
    let p7m = cades::sign(&pdf, &mut signer(&creds), SystemTime::now()).expect("sign");
    // Re-signed with the right key, the binding naming the CA's certificate instead.
    let mut ci = ContentInfo::from_der(&p7m).expect("ci");
    let mut sd: SignedData = ci.content.decode_as().expect("sd");
    let mut si = sd.signer_infos.0.as_slice()[0].clone();
    let mut list = si.signed_attrs.take().expect("attrs").into_vec();
    let ess = list
        .iter_mut()
        .find(|a| a.oid == OID_SIGNING_CERTIFICATE_V2)
        .expect("ess");
    let other = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(Sha256::digest(&creds.qualified_ca_cert).to_vec())
                .expect("octets"),
            issuer_serial: None,
        }],
        policies: None,
    };
    ess.values =
        der::asn1::SetOfVec::try_from(vec![Any::encode_from(&other).expect("any")]).expect("set");
    let attrs = der::asn1::SetOfVec::try_from(list).expect("attrs");
    let key = creds.signature.clone().expect("keyset").0;
    let sig = SigningKey::<Sha256>::new(key).sign(&attrs.to_der().expect("der"));
    si.signed_attrs = Some(attrs);
    si.signature = OctetString::new(sig.to_vec()).expect("sig");
    sd.signer_infos = cms::signed_data::SignerInfos::try_from(vec![si]).expect("infos");
    ci.content = Any::encode_from(&sd).expect("any");
    let forged = ci.to_der().expect("der");
    assert_eq!(
        refused(c, &id, &forged).await,
        "p7m.signing_certificate_mismatch"
    );
    rig.stop().await;
}

#[tokio::test]
async fn refuses_a_certificate_of_an_untrusted_ca() {
    let creds = card_for(MARIO_CF);
    // Only the CNS CA configured: the qualified CA that issued the certificate is not trusted.
    let rig = rig_trusting(&creds.ca_cert).await;
    let c = &rig.client;
    let id = to_identifying(
        c,
        MARIO,
        mario_holder(),
        "m@example.com",
        MethodData::DigitalSignature,
    )
    .await;
    let (_, pdf) = form_of(c, &id).await;
    let p7m = cades::sign(&pdf, &mut signer(&creds), SystemTime::now()).expect("sign");
    assert_eq!(refused(c, &id, &p7m).await, "p7m.untrusted");
    rig.stop().await;
}

#[tokio::test]
async fn refuses_an_expired_certificate() {
    let mut profile = ProfileName::ExpiredCert.profile();
    profile.signature_df = true;
    profile.holder.codice_fiscale = MARIO_CF;
    let creds = pki::issue(&profile, "hash=").expect("issue");
    let rig = rig_trusting(&creds.qualified_ca_cert).await;
    let c = &rig.client;
    let id = to_identifying(
        c,
        MARIO,
        mario_holder(),
        "m@example.com",
        MethodData::DigitalSignature,
    )
    .await;
    let (_, pdf) = form_of(c, &id).await;
    let p7m = cades::sign(&pdf, &mut signer(&creds), SystemTime::now()).expect("sign");
    assert_eq!(refused(c, &id, &p7m).await, "p7m.certificate_expired");
    rig.stop().await;
}

#[tokio::test]
async fn refuses_a_signing_time_before_the_certificate() {
    let creds = card_for(MARIO_CF);
    let rig = rig_trusting(&creds.qualified_ca_cert).await;
    let c = &rig.client;
    let id = to_identifying(
        c,
        MARIO,
        mario_holder(),
        "m@example.com",
        MethodData::DigitalSignature,
    )
    .await;
    let (_, pdf) = form_of(c, &id).await;
    let before = SystemTime::now() - Duration::from_secs(2 * 86_400);
    let p7m = cades::sign(&pdf, &mut signer(&creds), before).expect("sign");
    assert_eq!(refused(c, &id, &p7m).await, "p7m.certificate_not_yet_valid");
    rig.stop().await;
}

#[tokio::test]
async fn refuses_an_authentication_only_certificate() {
    let creds = card_for(MARIO_CF);
    // Both CAs trusted: only the key usage is wrong (the CNS authentication certificate).
    let (ca, qca) = (creds.ca_cert.clone(), creds.qualified_ca_cert.clone());
    let rig = Rig::with(move |c| c.signature_trust_anchors = vec![ca, qca]).await;
    let c = &rig.client;
    c.sign_in(MARIO, PASSWORD, None).await.expect("sign in");
    let id = to_identifying(
        c,
        MARIO,
        mario_holder(),
        "m@example.com",
        MethodData::DigitalSignature,
    )
    .await;
    let (_, pdf) = form_of(c, &id).await;
    let mut auth = SoftwareSigner::new(
        creds.auth_key.clone(),
        SignerCertificate {
            der: creds.auth_cert.clone(),
            chain: creds.intermediates.clone(),
        },
    );
    let p7m = cades::sign(&pdf, &mut auth, SystemTime::now()).expect("sign");
    assert_eq!(refused(c, &id, &p7m).await, "p7m.not_signature_certificate");
    rig.stop().await;
}

#[tokio::test]
async fn refuses_what_is_not_a_p7m() {
    let creds = card_for(MARIO_CF);
    let rig = rig_trusting(&creds.qualified_ca_cert).await;
    let c = &rig.client;
    let id = to_identifying(
        c,
        MARIO,
        mario_holder(),
        "m@example.com",
        MethodData::DigitalSignature,
    )
    .await;
    let (_, pdf) = form_of(c, &id).await;
    // The unsigned form itself, and something that is not base64.
    assert_eq!(refused(c, &id, &pdf).await, "p7m.malformed");
    let e = c
        .send_signed_form(&id, &SignedFormUpload { p7m: "***".into() })
        .await
        .expect_err("not base64");
    assert_eq!(code_of(&e), "p7m.malformed");
    rig.stop().await;
}

#[tokio::test]
async fn a_form_signed_before_the_data_changed_no_longer_counts() {
    let creds = card_for(MARIO_CF);
    let rig = rig_trusting(&creds.qualified_ca_cert).await;
    let c = &rig.client;
    let id = to_identifying(
        c,
        MARIO,
        mario_holder(),
        "m@example.com",
        MethodData::DigitalSignature,
    )
    .await;
    let (_, old) = form_of(c, &id).await;
    let p7m = cades::sign(&old, &mut signer(&creds), SystemTime::now()).expect("sign");
    // Back to the method list, then firma remota: a new form, and the old signature is refused.
    act(c, &id, IdentityAction::AbandonIdentification).await;
    act(
        c,
        &id,
        IdentityAction::ChooseMethod {
            method: MethodData::RemoteSignature,
        },
    )
    .await;
    let (_, new) = form_of(c, &id).await;
    assert_ne!(new, old);
    assert_eq!(refused(c, &id, &p7m).await, "p7m.content_mismatch");
    rig.stop().await;
}

#[tokio::test]
async fn no_form_for_other_methods_and_nothing_kept_before_signing() {
    let rig = Rig::signed_in(MARIO).await;
    let c = &rig.client;
    let id = to_identifying(c, MARIO, mario_holder(), "m@example.com", MethodData::Cns).await;
    let e = c.signature_form(&id).await.expect_err("CNS has no form");
    assert_eq!(code_of(&e), "method.mismatch");
    let e = c.signed_form(&id).await.expect_err("nothing signed");
    assert_eq!(code_of(&e), "request.not_found");
    rig.stop().await;
}

#[tokio::test]
async fn firma_digitale_no_longer_answers_a_card_challenge() {
    let rig = Rig::signed_in(MARIO).await;
    let c = &rig.client;
    let id = to_identifying(
        c,
        MARIO,
        mario_holder(),
        "m@example.com",
        MethodData::DigitalSignature,
    )
    .await;
    let e = c
        .card_challenge_to_sign(&id)
        .await
        .expect_err("no challenge for firma digitale");
    assert_eq!(code_of(&e), "method.mismatch");
    rig.stop().await;
}
