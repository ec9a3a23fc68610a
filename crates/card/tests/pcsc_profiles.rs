//! Every emulator profile through the real stack: pcsc crate → pcscd → vsmartcard-vpcd →
//! pec-card-sim. Needs the rig (`PEC_PCSC_RIG=1`, see scripts/rig/pcsc.sh); fails without it.

mod common;

use std::time::SystemTime;

use pec_card::{CardError, CertificateRole, Pcsc, Pin, ValidityStatus};
use pec_card_sim::{DEFAULT_PIN, ProfileName};

fn pin(s: &str) -> Pin {
    Pin::new(s.to_owned()).expect("pin")
}

/// Reads everything, fails one PIN, then verifies and signs; returns the APDU log.
fn full_flow(profile: ProfileName) -> Vec<pec_card_sim::ApduRecord> {
    let rig = common::start(profile);
    let expected = profile.profile();
    let pcsc = Pcsc::establish().expect("pcsc");

    let readers = pcsc.readers().expect("readers");
    let r = readers
        .iter()
        .find(|r| r.name == rig.reader)
        .expect("the vpcd reader");
    let card_profile = r.card.as_ref().expect("a card in the reader");
    assert!(card_profile.cns().is_some(), "{profile}: recognised as CNS");

    let mut card = pcsc.connect(&rig.reader).expect("connect");
    assert_eq!(card.read_serial().expect("serial"), expected.serial);
    let pd = card.read_personal_data().expect("personal data");
    assert_eq!(pd.codice_fiscale, expected.holder.codice_fiscale);
    assert_eq!(pd.surname, expected.holder.surname.to_uppercase());

    let cert = card.read_auth_certificate().expect("auth certificate");
    let on_card = rig.sim.with_card(|c| c.credentials().auth_cert.clone());
    assert_eq!(
        cert.der, on_card,
        "{profile}: same certificate bytes as on the card"
    );
    assert_eq!(cert.key_bits, expected.key_bits);
    assert_eq!(cert.role, CertificateRole::CnsAuthentication);
    assert_eq!(cert.given_name.as_deref(), Some(expected.holder.given_name));
    assert_eq!(cert.surname.as_deref(), Some(expected.holder.surname));

    rig.sim.clear_apdu_log();
    let e = card.verify_pin(&pin("99999")).expect_err("wrong PIN");
    assert!(matches!(e, CardError::WrongPin { tries_left: 2 }), "{e:?}");
    assert_eq!(e.code(), "card.pin_wrong");
    let verifies: Vec<_> = rig
        .sim
        .apdu_log()
        .into_iter()
        .filter(|r| r.ins == 0x20)
        .collect();
    assert_eq!(
        verifies.len(),
        1,
        "{profile}: one VERIFY, no retry, no probe"
    );
    assert_eq!(verifies[0].data_len, 8, "PIN padded to 8 bytes");

    card.verify_pin(&pin(DEFAULT_PIN)).expect("right PIN");
    let signed = card.sign_challenge(b"provider nonce 42").expect("sign");
    signed
        .certificate
        .verify_sha256(b"provider nonce 42", &signed.signature)
        .expect("signature verifies with the certificate key");
    assert_eq!(rig.sim.with_card(|c| c.tries_left(0x10)), Some(3));
    let log = rig.sim.apdu_log();

    // The same in one PC/SC transaction, after which the card is free for others again.
    let signed = card
        .verify_pin_and_sign(&pin(DEFAULT_PIN), b"second nonce")
        .expect("verify and sign in a transaction");
    signed
        .certificate
        .verify_sha256(b"second nonce", &signed.signature)
        .expect("verifies");
    let other = pcsc::Context::establish(pcsc::Scope::User).expect("other app");
    let name = std::ffi::CString::new(rig.reader.clone()).expect("name");
    drop(card);
    other
        .connect(&name, pcsc::ShareMode::Exclusive, pcsc::Protocols::ANY)
        .expect("no transaction left open");
    log
}

#[test]
fn stincard_2048() {
    let log = full_flow(ProfileName::Stincard2048);
    let verify = log.iter().find(|r| r.ins == 0x20).expect("verify");
    assert_eq!(
        verify.p2, 0x90,
        "STIncard quirk: PIN reference with bit 0x80"
    );
    let pso = log.iter().find(|r| r.ins == 0x2A).expect("pso");
    assert!(
        pso.extended && pso.data_len == 256,
        "one extended PSO with the 256-byte block"
    );
}

#[test]
fn stincard_signature_certificate() {
    let _rig = common::start(ProfileName::Stincard2048);
    let pcsc = Pcsc::establish().expect("pcsc");
    let mut card = pcsc.connect(&_rig.reader).expect("connect");
    let sig = card
        .read_signature_certificate()
        .expect("read")
        .expect("DF_DS certificate present");
    assert_eq!(sig.role, CertificateRole::QualifiedSignature);
    assert_eq!(sig.codice_fiscale.as_deref(), Some("RSSMRA80A01H501U"));
    assert!(sig.key_usage.contains(&"non_repudiation"));
}

#[test]
fn athena_2048() {
    let log = full_flow(ProfileName::Athena2048);
    let verify = log.iter().find(|r| r.ins == 0x20).expect("verify");
    assert_eq!(verify.p2, 0x10, "no 0x80 bit on non-STIncard masks");
}

#[test]
fn cns_v1_1024_short_apdus_only() {
    let log = full_flow(ProfileName::CnsV1_1024);
    assert!(
        log.iter().all(|r| !r.extended),
        "no extended APDU on a CNS 1.0"
    );
    assert!(
        log.iter().any(|r| r.ins == 0xC0),
        "the signature came through GET RESPONSE"
    );
}

#[test]
fn idemia_2021_paths() {
    let log = full_flow(ProfileName::Idemia2021);
    let mse = log
        .iter()
        .find(|r| r.ins == 0x22 && r.p1 == 0xF1)
        .expect("MSE SET");
    assert_eq!(
        mse.data,
        vec![0x83, 0x01, 0x02],
        "IDEMIA 2021 key reference 0x02"
    );
}

#[test]
fn blocked_pin_sends_one_verify_and_reports_blocked() {
    let rig = common::start(ProfileName::BlockedPin);
    let pcsc = Pcsc::establish().expect("pcsc");
    let mut card = pcsc.connect(&rig.reader).expect("connect");
    rig.sim.clear_apdu_log();
    let e = card.verify_pin(&pin(DEFAULT_PIN)).expect_err("blocked");
    assert!(matches!(e, CardError::PinBlocked), "{e:?}");
    assert_eq!(e.code(), "card.pin_blocked");
    assert!(e.message_it().contains("PUK"));
    assert_eq!(common::instructions(&rig.sim), vec![0x20]);
}

#[test]
fn expired_certificate() {
    let rig = common::start(ProfileName::ExpiredCert);
    let pcsc = Pcsc::establish().expect("pcsc");
    let mut card = pcsc.connect(&rig.reader).expect("connect");
    let cert = card.read_auth_certificate().expect("cert");
    assert_eq!(cert.validity_at(SystemTime::now()), ValidityStatus::Expired);
    assert_eq!(cert.codice_fiscale.as_deref(), Some("BNCGLI85C55F205C"));
}

#[test]
fn certificate_without_codice_fiscale() {
    let rig = common::start(ProfileName::NoCodiceFiscale);
    let pcsc = Pcsc::establish().expect("pcsc");
    let mut card = pcsc.connect(&rig.reader).expect("connect");
    let cert = card.read_auth_certificate().expect("cert");
    assert_eq!(cert.codice_fiscale, None);
    assert_eq!(cert.common_name.as_deref(), Some("Giulia Bianchi"));
    // The personal-data file still has it: the app can say *why* the match fails.
    let pd = card.read_personal_data().expect("personal data");
    assert_eq!(pd.codice_fiscale, "BNCGLI85C55F205C");
}
