//! The native signer end to end through the real PC/SC stack: the virtual STIncard in vpcd,
//! pcscd, pec-card, a CAdES-BES `.p7m` checked by our verifier and by OpenSSL.

mod common;

use std::time::SystemTime;

use pec_card::{Pcsc, Pin};
use pec_card_sim::{DEFAULT_SIGN_PIN, ProfileName};
use pec_domain::{DomainError, Lang};
use pec_sign::card::CardSigner;
use pec_sign::{Policy, TrustedCas, cades, verify};

#[test]
fn signs_a_form_with_the_signature_df() {
    let rig = common::start(ProfileName::Stincard2048);
    let qualified_ca = rig
        .sim
        .with_card(|c| c.credentials().qualified_ca_cert.clone());
    let form = common::document(200 * 1024);
    let pcsc = Pcsc::establish().expect("pcsc");
    let card = pcsc.connect(&rig.reader).expect("connect");
    rig.sim.clear_apdu_log();
    let pin = Pin::new(DEFAULT_SIGN_PIN.to_owned()).expect("pin");
    let mut signer = CardSigner::new(card, pin);
    let p7m = cades::sign(&form, &mut signer, SystemTime::now()).expect("sign");
    assert_eq!(
        common::verifies(&rig.sim),
        vec![0x9A],
        "one VERIFY of the signature PIN"
    );
    assert_eq!(
        rig.sim.apdu_log().len(),
        7,
        "read certificate + 5-APDU signature"
    );

    let trusted = TrustedCas::from_der([qualified_ca.as_slice()]).expect("ca");
    let ok = verify::verify(&p7m, &Policy::new(&trusted).expecting(&form)).expect("verify");
    assert_eq!(
        ok.signer.codice_fiscale.as_deref(),
        Some("RSSMRA80A01H501U")
    );
    let dir = tempfile::tempdir().expect("tmp");
    let content = common::openssl_verify(dir.path(), &p7m, &qualified_ca).expect("openssl");
    assert_eq!(content, form);
}

#[test]
fn a_wrong_pin_is_presented_once_and_the_signer_never_retries() {
    let rig = common::start(ProfileName::Stincard2048);
    let pcsc = Pcsc::establish().expect("pcsc");
    let card = pcsc.connect(&rig.reader).expect("connect");
    rig.sim.clear_apdu_log();
    let mut signer = CardSigner::new(card, Pin::new("99999".to_owned()).expect("pin"));
    let e = cades::sign(b"modulo", &mut signer, SystemTime::now()).expect_err("wrong PIN");
    assert_eq!(e.code(), "sign.pin_wrong");
    assert!(
        e.message(Lang::It).contains("Restano 2"),
        "{}",
        e.message(Lang::It)
    );
    // Signing again with the same signer does not present the PIN a second time.
    let e = cades::sign(b"modulo", &mut signer, SystemTime::now()).expect_err("no PIN left");
    assert_eq!(e.code(), "card.pin_required");
    assert_eq!(common::verifies(&rig.sim), vec![0x9A]);
    assert_eq!(rig.sim.with_card(|c| c.tries_left(0x1A)), Some(2));
}
