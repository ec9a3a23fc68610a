//! CAdES-BES built by this crate, checked by its own verifier and by OpenSSL, and each refusal
//! the provider relies on, one per test.

mod common;

use std::time::{Duration, SystemTime};

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use der::asn1::{Any, OctetString};
use der::{Decode, Encode};
use pec_card_sim::ProfileName;
use pec_card_sim::pki;
use pec_domain::{CodiceFiscale, DomainError};
use pec_sign::asn1::{EssCertIdV2, OID_SIGNING_CERTIFICATE_V2, SigningCertificateV2};
use pec_sign::{Policy, SignerCertificate, SoftwareSigner, TrustedCas, cades, verify};
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer as _};
use sha2::{Digest, Sha256};

fn trusted(der: &[u8]) -> TrustedCas {
    TrustedCas::from_der([der]).expect("ca")
}

#[test]
fn signs_and_verifies_and_openssl_agrees() {
    let creds = common::stincard();
    let form = common::document(50_000);
    let p7m = cades::sign(
        &form,
        &mut common::signature_signer(&creds),
        SystemTime::now(),
    )
    .expect("sign");

    let ca = trusted(&creds.qualified_ca_cert);
    let ok = verify::verify(&p7m, &Policy::new(&ca).expecting(&form)).expect("verify");
    assert_eq!(ok.content, form);
    assert_eq!(
        ok.signer.codice_fiscale.as_deref(),
        Some("RSSMRA80A01H501U")
    );
    assert_eq!(ok.signer.common_name.as_deref(), Some("Mario Rossi"));
    assert!(ok.signer.non_repudiation && ok.signer.qc_compliance && ok.signer.qc_sscd);
    assert_eq!(ok.chain.len(), 2, "{:?}", ok.chain);
    let mario = CodiceFiscale::parse("RSSMRA80A01H501U").expect("cf");
    ok.check_codice_fiscale(&mario).expect("same person");
    let giulia = CodiceFiscale::parse("BNCGLI85C55F205C").expect("cf");
    let e = ok.check_codice_fiscale(&giulia).expect_err("someone else");
    assert_eq!(e.code(), "p7m.codice_fiscale_mismatch");

    let dir = tempfile::tempdir().expect("tmp");
    let content = common::openssl_verify(dir.path(), &p7m, &creds.qualified_ca_cert)
        .expect("OpenSSL verifies the .p7m");
    assert_eq!(content, form, "OpenSSL extracts the same content");
}

#[test]
fn refuses_tampered_content() {
    let creds = common::stincard();
    let form = b"Modulo di richiesta: Mario Rossi".to_vec();
    let p7m = cades::sign(
        &form,
        &mut common::signature_signer(&creds),
        SystemTime::now(),
    )
    .expect("sign");
    // Same length, one letter changed, inside the encapsulated content.
    let at = p7m
        .windows(form.len())
        .position(|w| w == form.as_slice())
        .expect("content is attached");
    let mut tampered = p7m.clone();
    tampered[at + form.len() - 1] = b'X';

    let ca = trusted(&creds.qualified_ca_cert);
    let e = verify::verify(&tampered, &Policy::new(&ca)).expect_err("tampered");
    assert_eq!(e.code(), "p7m.content_altered");
    assert!(e.message(pec_domain::Lang::It).contains("modificato"));
    let dir = tempfile::tempdir().expect("tmp");
    assert!(common::openssl_verify(dir.path(), &tampered, &creds.qualified_ca_cert).is_err());
}

#[test]
fn refuses_another_document() {
    let creds = common::stincard();
    let p7m = cades::sign(
        b"modulo A",
        &mut common::signature_signer(&creds),
        SystemTime::now(),
    )
    .expect("sign");
    let ca = trusted(&creds.qualified_ca_cert);
    let e = verify::verify(&p7m, &Policy::new(&ca).expecting(b"modulo B")).expect_err("other");
    assert_eq!(e.code(), "p7m.content_mismatch");
}

/// A signature whose signing-certificate-v2 names another certificate (the CA's), re-signed so
/// that only that binding is wrong.
#[test]
fn refuses_wrong_signing_certificate_v2() {
    let creds = common::stincard();
    let (key, _) = creds.signature.clone().expect("keyset");
    let p7m = cades::sign(
        b"modulo",
        &mut common::signature_signer(&creds),
        SystemTime::now(),
    )
    .expect("sign");

    let mut ci = ContentInfo::from_der(&p7m).expect("ci");
    let mut sd: SignedData = ci.content.decode_as().expect("sd");
    let mut si = sd.signer_infos.0.as_slice()[0].clone();
    let attrs = si.signed_attrs.take().expect("attrs");
    let mut list: Vec<_> = attrs.into_vec();
    let ess = list
        .iter_mut()
        .find(|a| a.oid == OID_SIGNING_CERTIFICATE_V2)
        .expect("ess attribute");
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
    let sig = SigningKey::<Sha256>::new(key).sign(&attrs.to_der().expect("der"));
    si.signed_attrs = Some(attrs);
    si.signature = OctetString::new(sig.to_vec()).expect("sig");
    sd.signer_infos = cms::signed_data::SignerInfos::try_from(vec![si]).expect("infos");
    ci.content = Any::encode_from(&sd).expect("sd any");
    let forged = ci.to_der().expect("der");

    let ca = trusted(&creds.qualified_ca_cert);
    let e = verify::verify(&forged, &Policy::new(&ca)).expect_err("wrong ESS");
    assert_eq!(e.code(), "p7m.signing_certificate_mismatch");
    let dir = tempfile::tempdir().expect("tmp");
    let openssl = common::openssl_verify(dir.path(), &forged, &creds.qualified_ca_cert);
    assert!(openssl.is_err(), "OpenSSL -cades refuses it too");
}

#[test]
fn refuses_expired_certificate() {
    let mut profile = ProfileName::ExpiredCert.profile();
    profile.signature_df = true;
    let creds = pki::issue(&profile, "hash=").expect("issue");
    let p7m = cades::sign(
        b"modulo",
        &mut common::signature_signer(&creds),
        SystemTime::now(),
    )
    .expect("sign");
    let ca = trusted(&creds.qualified_ca_cert);
    let e = verify::verify(&p7m, &Policy::new(&ca)).expect_err("expired");
    assert_eq!(e.code(), "p7m.certificate_expired");
    assert!(e.message(pec_domain::Lang::It).contains("scaduto"));
    let dir = tempfile::tempdir().expect("tmp");
    assert!(common::openssl_verify(dir.path(), &p7m, &creds.qualified_ca_cert).is_err());
}

#[test]
fn refuses_untrusted_certificate() {
    let creds = common::stincard();
    let p7m = cades::sign(
        b"modulo",
        &mut common::signature_signer(&creds),
        SystemTime::now(),
    )
    .expect("sign");
    // The provider trusts only the CNS CA, not the QTSP that issued the signature certificate.
    let ca = trusted(&creds.ca_cert);
    let e = verify::verify(&p7m, &Policy::new(&ca)).expect_err("untrusted");
    assert_eq!(e.code(), "p7m.untrusted");
    let dir = tempfile::tempdir().expect("tmp");
    assert!(common::openssl_verify(dir.path(), &p7m, &creds.ca_cert).is_err());
    assert!(common::openssl_verify(dir.path(), &p7m, &creds.qualified_ca_cert).is_ok());
}

#[test]
fn refuses_authentication_only_certificate() {
    let creds = common::stincard();
    let mut signer = SoftwareSigner::new(
        creds.auth_key.clone(),
        SignerCertificate {
            der: creds.auth_cert.clone(),
            chain: Vec::new(),
        },
    );
    let p7m = cades::sign(b"modulo", &mut signer, SystemTime::now()).expect("sign");
    let ca = trusted(&creds.ca_cert);
    let e = verify::verify(&p7m, &Policy::new(&ca)).expect_err("CNS auth certificate");
    assert_eq!(e.code(), "p7m.not_signature_certificate");
    assert!(e.message(pec_domain::Lang::It).contains("autenticazione"));
    // The file itself is sound: OpenSSL accepts it (digitalSignature is enough for S/MIME).
    let dir = tempfile::tempdir().expect("tmp");
    common::openssl_verify(dir.path(), &p7m, &creds.ca_cert).expect("openssl");
}

#[test]
fn refuses_signing_time_in_the_future_and_checks_validity_at_signing_time() {
    let creds = common::stincard();
    let later = SystemTime::now() + Duration::from_secs(3600);
    let p7m = cades::sign(b"modulo", &mut common::signature_signer(&creds), later).expect("sign");
    let ca = trusted(&creds.qualified_ca_cert);
    let e = verify::verify(&p7m, &Policy::new(&ca)).expect_err("future");
    assert_eq!(e.code(), "p7m.signing_time_future");
    // Signed "two days ago", before the certificate (valid from yesterday) existed.
    let before = SystemTime::now() - Duration::from_secs(2 * 86_400);
    let p7m = cades::sign(b"modulo", &mut common::signature_signer(&creds), before).expect("sign");
    let e = verify::verify(&p7m, &Policy::new(&ca)).expect_err("not yet valid");
    assert_eq!(e.code(), "p7m.certificate_not_yet_valid");
    // OpenSSL checks the certificate at the verification time only (no -attime), so it
    // accepts a signing time the certificate did not cover: a provider must not.
    let dir = tempfile::tempdir().expect("tmp");
    assert!(common::openssl_verify(dir.path(), &p7m, &creds.qualified_ca_cert).is_ok());
}

/// The signature value is not the certificate key's signature of the signed attributes.
#[test]
fn refuses_a_signature_the_certificate_did_not_make() {
    let creds = common::stincard();
    let mut p7m = cades::sign(
        b"modulo",
        &mut common::signature_signer(&creds),
        SystemTime::now(),
    )
    .expect("sign");
    // No unsigned attributes: the signature value ends the file.
    let last = p7m.len() - 1;
    p7m[last] ^= 0x01;
    let ca = trusted(&creds.qualified_ca_cert);
    let e = verify::verify(&p7m, &Policy::new(&ca)).expect_err("bad signature");
    assert_eq!(e.code(), "p7m.signature_invalid");
    let dir = tempfile::tempdir().expect("tmp");
    assert!(common::openssl_verify(dir.path(), &p7m, &creds.qualified_ca_cert).is_err());
}

/// A signature certificate (nonRepudiation, codice fiscale) with neither a QcCompliance
/// statement nor a qualified policy: refused where the provider requires a qualified one,
/// accepted when it does not. CA and certificate made by OpenSSL's own tools.
#[test]
fn refuses_a_non_qualified_certificate_where_required() {
    use rsa::pkcs8::DecodePrivateKey;
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .current_dir(d)
            .args(args)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "30",
        "-subj",
        "/C=IT/O=CA non qualificata/CN=Test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/C=IT/serialNumber=TINIT-RSSMRA80A01H501U/GN=Mario/SN=Rossi/CN=Mario Rossi",
    ]);
    std::fs::write(d.join("ext.cnf"), "keyUsage=critical,nonRepudiation\n").expect("ext");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-set_serial",
        "7",
        "-days",
        "10",
        "-extfile",
        "ext.cnf",
        "-outform",
        "DER",
        "-out",
        "leaf.der",
    ]);
    openssl(&["x509", "-in", "ca.pem", "-outform", "DER", "-out", "ca.der"]);
    let key = rsa::RsaPrivateKey::read_pkcs8_pem_file(d.join("leaf.key")).expect("key");
    let leaf = std::fs::read(d.join("leaf.der")).expect("leaf");
    let ca_der = std::fs::read(d.join("ca.der")).expect("ca");
    let mut signer = SoftwareSigner::new(
        key,
        SignerCertificate {
            der: leaf,
            chain: Vec::new(),
        },
    );
    let p7m = cades::sign(b"modulo", &mut signer, SystemTime::now()).expect("sign");

    let ca = trusted(&ca_der);
    let e = verify::verify(&p7m, &Policy::new(&ca)).expect_err("not qualified");
    assert_eq!(e.code(), "p7m.not_qualified");
    let mut lenient = Policy::new(&ca);
    lenient.require_qualified = false;
    let ok = verify::verify(&p7m, &lenient).expect("a qualified certificate not required");
    assert_eq!(
        ok.signer.codice_fiscale.as_deref(),
        Some("RSSMRA80A01H501U")
    );
    assert!(!ok.signer.qc_compliance && ok.signer.qualified_policies.is_empty());
    // OpenSSL has no notion of a qualified certificate: it accepts the file.
    assert!(common::openssl_verify(d, &p7m, &ca_der).is_ok());
}

#[test]
fn finish_refuses_a_signature_from_another_key() {
    let creds = common::stincard();
    let (_, cert) = creds.signature.clone().expect("keyset");
    let prepared = cades::prepare(
        b"modulo",
        &SignerCertificate {
            der: cert,
            chain: Vec::new(),
        },
        SystemTime::now(),
    )
    .expect("prepare");
    let wrong = SigningKey::<Sha256>::new(creds.auth_key.clone())
        .sign(prepared.to_be_signed().der())
        .to_vec();
    let e = prepared.finish(&wrong).expect_err("another key");
    assert_eq!(e.code(), "sign.signature_mismatch");
}
