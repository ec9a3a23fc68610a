//! The classic DF_DS qualified signature through the real PC/SC stack (pcscd + vpcd + the
//! virtual STIncard): one VERIFY of the signature PIN per signature, never retried, tries left
//! from `63Cx`.

mod common;

use pec_card::{CardError, Pcsc, Pin};
use pec_card_sim::{DEFAULT_SIGN_PIN, ProfileName};
use sha2::{Digest, Sha256};

fn verifies(sim: &pec_card_sim::SimCard) -> Vec<u8> {
    sim.apdu_log()
        .iter()
        .filter(|r| r.ins == 0x20)
        .map(|r| r.p2)
        .collect()
}

#[test]
fn signs_a_digest_with_the_signature_key() {
    let rig = common::start(ProfileName::Stincard2048);
    let pcsc = Pcsc::establish().expect("pcsc");
    let mut card = pcsc.connect(&rig.reader).expect("connect");
    let digest: [u8; 32] = Sha256::digest(b"signed attributes").into();
    rig.sim.clear_apdu_log();
    let pin = Pin::new(DEFAULT_SIGN_PIN.to_owned()).expect("pin");
    let signed = card
        .sign_digest_with_signature_key(&pin, &digest)
        .expect("signature");
    assert_eq!(signed.signature.len(), 256);
    assert_eq!(
        signed.certificate.codice_fiscale.as_deref(),
        Some("RSSMRA80A01H501U")
    );
    assert!(signed.certificate.key_usage.contains(&"non_repudiation"));
    // STIncard: the signature PIN reference with the search bit, presented exactly once.
    assert_eq!(verifies(&rig.sim), vec![0x9A]);
    // SELECT 9010 + READ BINARY, then SELECT 8110, VERIFY, restore SE, MSE:SET, PSO.
    let ins = common::instructions(&rig.sim);
    assert_eq!(
        ins,
        vec![0xA4, 0xB0, 0xA4, 0x20, 0x22, 0x22, 0x2A],
        "{ins:02X?}"
    );
    let mse = &rig.sim.apdu_log()[5];
    assert_eq!(mse.data, vec![0x83, 0x01, 0x10], "key reference 0x10");
}

#[test]
fn wrong_signature_pin_is_sent_once_and_counts_down() {
    let rig = common::start(ProfileName::Stincard2048);
    let pcsc = Pcsc::establish().expect("pcsc");
    let mut card = pcsc.connect(&rig.reader).expect("connect");
    let digest = [7u8; 32];
    let wrong = Pin::new("99999".to_owned()).expect("pin");
    rig.sim.clear_apdu_log();
    let e = card
        .sign_digest_with_signature_key(&wrong, &digest)
        .expect_err("wrong PIN");
    assert!(matches!(e, CardError::WrongPin { tries_left: 2 }), "{e:?}");
    assert_eq!(verifies(&rig.sim), vec![0x9A], "one VERIFY, no retry");
    assert!(
        !common::instructions(&rig.sim).contains(&0x2A),
        "no signature after a refused PIN"
    );
    let e = card
        .sign_digest_with_signature_key(&wrong, &digest)
        .expect_err("wrong PIN");
    assert!(matches!(e, CardError::WrongPin { tries_left: 1 }), "{e:?}");
    assert!(
        e.message_it().contains("un solo tentativo"),
        "{}",
        e.message_it()
    );
    // The authentication PIN is a separate counter: untouched.
    let good = Pin::new(DEFAULT_SIGN_PIN.to_owned()).expect("pin");
    card.sign_digest_with_signature_key(&good, &digest)
        .expect("the right PIN resets the counter");
    assert_eq!(verifies(&rig.sim).len(), 3);
}

#[test]
fn cards_without_the_signature_df_say_so_without_a_verify() {
    let rig = common::start(ProfileName::Athena2048);
    let pcsc = Pcsc::establish().expect("pcsc");
    let mut card = pcsc.connect(&rig.reader).expect("connect");
    let pin = Pin::new(DEFAULT_SIGN_PIN.to_owned()).expect("pin");
    let e = card
        .sign_digest_with_signature_key(&pin, &[0u8; 32])
        .expect_err("no DF_DS keyset");
    assert_eq!(e.code(), "card.file_not_found");
    assert!(verifies(&rig.sim).is_empty());
}
