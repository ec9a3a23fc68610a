//! The CNS operations against the emulator in-process (no PC/SC): fast, runs everywhere.

use pec_card::{CardError, CertificateRole, CnsCard, Pin, RawTransmit};
use pec_card_sim::{ProfileName, VirtualCard};

struct Local(VirtualCard);

impl RawTransmit for Local {
    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
        Ok(self.0.transmit(command))
    }
}

fn card(p: ProfileName) -> CnsCard<Local> {
    let v = VirtualCard::new(p.profile()).expect("virtual card");
    let atr = v.profile().atr.clone();
    CnsCard::new(Local(v), &atr).expect("a CNS")
}

fn pin(s: &str) -> Pin {
    Pin::new(s.to_owned()).expect("pin")
}

#[test]
fn every_cns_profile_reads_signs_and_verifies() {
    for p in [
        ProfileName::Stincard2048,
        ProfileName::Athena2048,
        ProfileName::CnsV1_1024,
        ProfileName::Idemia2021,
        ProfileName::ExpiredCert,
        ProfileName::NoCodiceFiscale,
    ] {
        let profile = p.profile();
        let mut c = card(p);
        assert_eq!(c.read_serial().expect("serial"), profile.serial, "{p}");
        let pd = c.read_personal_data().expect("personal data");
        assert_eq!(pd.codice_fiscale, profile.holder.codice_fiscale, "{p}");
        let cert = c.read_auth_certificate().expect("cert");
        assert_eq!(cert.key_bits, profile.key_bits, "{p}");
        assert_eq!(cert.role, CertificateRole::CnsAuthentication, "{p}");
        c.verify_pin(&pin(pec_card_sim::DEFAULT_PIN)).expect("pin");
        let s = c.sign_challenge(b"challenge").expect("sign");
        assert_eq!(s.signature.len(), profile.key_bits / 8);
        let der = c.into_inner().0.credentials().auth_cert.clone();
        assert_eq!(
            cert.der, der,
            "{p}: the crate reads the exact certificate bytes"
        );
    }
}

#[test]
fn verify_and_sign_in_one_call() {
    let mut c = card(ProfileName::CnsV1_1024);
    let s = c
        .verify_pin_and_sign(&pin(pec_card_sim::DEFAULT_PIN), b"nonce")
        .expect("sign");
    s.certificate
        .verify_sha256(b"nonce", &s.signature)
        .expect("verifies");
    let e = c
        .verify_pin_and_sign(&pin("00000"), b"nonce")
        .expect_err("wrong");
    assert!(matches!(e, CardError::WrongPin { tries_left: 2 }));
}

#[test]
fn signing_without_pin_is_pin_required() {
    let mut c = card(ProfileName::Athena2048);
    let e = c.sign_challenge(b"x").expect_err("no pin");
    assert_eq!(e.code(), "card.pin_required");
}

#[test]
fn wrong_pin_reports_tries_and_blocks() {
    let mut c = card(ProfileName::Stincard2048);
    let e = c.verify_pin(&pin("00000")).expect_err("wrong");
    assert!(matches!(e, CardError::WrongPin { tries_left: 2 }), "{e:?}");
    let _ = c.verify_pin(&pin("00000"));
    let e = c.verify_pin(&pin("00000")).expect_err("blocked");
    assert!(matches!(e, CardError::PinBlocked), "{e:?}");
    // Even the right PIN is refused now; nothing was retried behind our back.
    let e = c
        .verify_pin(&pin(pec_card_sim::DEFAULT_PIN))
        .expect_err("still blocked");
    assert!(matches!(e, CardError::PinBlocked));
    let log = c.into_inner().0.log().to_vec();
    assert_eq!(log.iter().filter(|r| r.ins == 0x20).count(), 4);
}

#[test]
fn no_codice_fiscale_and_expired() {
    let mut c = card(ProfileName::NoCodiceFiscale);
    let cert = c.read_auth_certificate().expect("cert");
    assert_eq!(cert.codice_fiscale, None);
    let mut c = card(ProfileName::ExpiredCert);
    let cert = c.read_auth_certificate().expect("cert");
    assert_eq!(
        cert.validity_at(std::time::SystemTime::now()),
        pec_card::ValidityStatus::Expired
    );
}

#[test]
fn signature_certificate_only_where_present() {
    let mut c = card(ProfileName::Stincard2048);
    let s = c
        .read_signature_certificate()
        .expect("read")
        .expect("present");
    assert!(s.is_qualified());
    assert_eq!(s.codice_fiscale.as_deref(), Some("RSSMRA80A01H501U"));
    let mut c = card(ProfileName::Athena2048);
    assert!(c.read_signature_certificate().expect("read").is_none());
}

#[test]
fn puk_unblocks_and_sets_a_new_pin() {
    let mut c = card(ProfileName::BlockedPin);
    let e = c
        .verify_pin(&pin(pec_card_sim::DEFAULT_PIN))
        .expect_err("blocked");
    assert!(matches!(e, CardError::PinBlocked));
    let e = c
        .unblock_pin(&pin("00000000"), &pin("24680"))
        .expect_err("wrong PUK");
    assert!(matches!(e, CardError::WrongPuk { tries_left: 9 }), "{e:?}");
    c.unblock_pin(&pin(pec_card_sim::DEFAULT_PUK), &pin("24680"))
        .expect("unblocked");
    c.verify_pin(&pin("24680")).expect("new PIN works");
    let log = c.into_inner().0.log().to_vec();
    assert!(
        log.iter()
            .filter(|r| r.ins == 0x2C)
            .all(|r| r.data.is_empty())
    );
}
