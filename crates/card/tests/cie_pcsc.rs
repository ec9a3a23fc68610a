//! The CIE through the real stack: pcscd + vsmartcard-vpcd + the virtual CIE, on the
//! "Virtual PCD" reader (a proximity coupling device, i.e. contactless). Needs the rig
//! (`PEC_PCSC_RIG=1`); fails without it.

mod common;

use std::time::Duration;

use pec_card::{AnyCard, CardError, CardKind, Pcsc, Pin, ReaderInterface};
use pec_card_sim::{CIE_PIN, CieProfileName, SimOptions};

fn pin(s: &str) -> Pin {
    Pin::new(s.to_owned()).expect("pin")
}

/// How many APDUs our flow sends before its VERIFY, from an in-process run: the card then
/// leaves the field exactly when the VERIFY arrives.
fn apdus_before_verify(p: CieProfileName) -> usize {
    struct Local(pec_card_sim::VirtualCie);
    impl pec_card::RawTransmit for Local {
        fn transmit_raw(&mut self, c: &[u8]) -> Result<Vec<u8>, CardError> {
            Ok(self.0.transmit(c))
        }
    }
    let v = pec_card_sim::VirtualCie::new(p.profile()).expect("card");
    let atr = v.atr().to_vec();
    let mut card = pec_card::CieCard::detect(Local(v), &atr).expect("cie");
    card.verify_pin_and_sign(&pin(CIE_PIN), b"x", |_| Ok(()))
        .expect("flow");
    let log = card.into_inner().0.log().to_vec();
    log.iter().position(|r| r.ins == 0x20).expect("a VERIFY")
}

fn verifies(rig: &common::Rig) -> usize {
    rig.sim.apdu_log().iter().filter(|r| r.ins == 0x20).count()
}

#[test]
fn every_lot_through_pcscd() {
    for p in CieProfileName::LOTS {
        let rig = common::start_with(SimOptions::cie(p));
        let pcsc = Pcsc::establish().expect("pcsc");
        let readers = pcsc.readers().expect("readers");
        let r = readers
            .iter()
            .find(|r| r.name == rig.reader)
            .expect("reader");
        assert_eq!(r.interface, ReaderInterface::Contactless, "{p}");
        assert_eq!(
            r.instruction_it(),
            "Appoggia la CIE sul lettore e non muoverla.",
            "{p}"
        );
        assert_eq!(
            r.card.as_ref().map(|c| &c.kind),
            Some(&CardKind::Cie3),
            "{p}"
        );
        let AnyCard::Cie(mut card) = pcsc.connect_card(&rig.reader).expect("connect") else {
            panic!("{p}: not detected as a CIE");
        };
        let before = card.before_pin().expect("NIS before the PIN");
        assert_eq!(before.nis, p.profile().nis);
        let s = card
            .verify_pin_and_sign(&pin(CIE_PIN), b"nonce", |after| {
                assert_eq!(after.codice_fiscale.as_deref(), Some("RSSMRA80A01H501U"));
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{p}: {e:?}"));
        s.certificate
            .verify_sha256(b"nonce", &s.signature)
            .expect("verifies");
        assert_eq!(verifies(&rig), 1, "{p}: one VERIFY");
        let verify = rig.sim.apdu_log().into_iter().find(|r| r.ins == 0x20);
        assert_eq!(
            verify.map(|r| (r.p2, r.data_len, r.sw)),
            Some((0x81, 8, 0x9000)),
            "{p}: the 8 digits under SM, never empty or padded"
        );
        drop(card);
    }
}

#[test]
fn wrong_pin_costs_one_try_and_says_how_many_are_left() {
    let rig = common::start_with(SimOptions::cie(CieProfileName::Actalis2023));
    let pcsc = Pcsc::establish().expect("pcsc");
    let mut card = pcsc.connect_cie(&rig.reader).expect("connect");
    let e = card
        .verify_pin_and_sign(&pin("11112222"), b"x", |_| Ok(()))
        .expect_err("wrong");
    assert!(matches!(e, CardError::WrongPin { tries_left: 2 }), "{e:?}");
    assert!(e.message_it().contains("Restano 2"));
    assert_eq!(verifies(&rig), 1);
    assert_eq!(rig.sim.with_cie(|c| c.tries_left()), Some(2));
}

#[test]
fn card_lifted_at_the_verify_then_a_new_attempt_works() {
    let n = apdus_before_verify(CieProfileName::Lifted);
    let rig = common::start_with(SimOptions::cie(CieProfileName::Lifted).pull_after(n));
    let pcsc = Pcsc::establish().expect("pcsc");
    let mut card = pcsc.connect_cie(&rig.reader).expect("connect");
    let e = card
        .verify_pin_and_sign(&pin(CIE_PIN), b"x", |_| Ok(()))
        .expect_err("lifted");
    assert!(
        matches!(
            e,
            CardError::CieCardLost {
                pin_try_may_be_used: true
            }
        ),
        "{e:?}; log: {:?}",
        rig.sim.apdu_log().iter().map(|r| r.ins).collect::<Vec<_>>()
    );
    assert!(
        e.message_it()
            .starts_with("Tieni la carta appoggiata al lettore")
    );
    assert!(e.message_it().contains("tentativo"));
    assert_eq!(verifies(&rig), 0, "the VERIFY never reached the card");
    drop(card);
    common::wait_reader_empty(&rig.reader, Duration::from_secs(10));

    // The holder puts the card back and clicks again: a new channel, one more VERIFY.
    rig.sim.insert(None);
    assert!(rig.sim.wait_powered(Duration::from_secs(15)));
    common::wait_reader_present(&rig.reader, Duration::from_secs(10));
    let mut card = pcsc.connect_cie(&rig.reader).expect("connect again");
    card.verify_pin_and_sign(&pin(CIE_PIN), b"x", |_| Ok(()))
        .expect("second attempt");
    assert_eq!(verifies(&rig), 1);
}

#[test]
fn card_lifted_before_the_pin_is_not_a_pin_matter() {
    let rig = common::start_with(SimOptions::cie(CieProfileName::Nxp).pull_after(10));
    let pcsc = Pcsc::establish().expect("pcsc");
    let mut card = pcsc.connect_cie(&rig.reader).expect("connect");
    let e = card
        .verify_pin_and_sign(&pin(CIE_PIN), b"x", |_| Ok(()))
        .expect_err("lifted");
    assert!(
        matches!(
            e,
            CardError::CieCardLost {
                pin_try_may_be_used: false
            }
        ),
        "{e:?}"
    );
}

#[test]
fn mac_error_blocked_expired_and_someone_else() {
    let rig = common::start_with(SimOptions::cie(CieProfileName::MacError));
    let pcsc = Pcsc::establish().expect("pcsc");
    let mut card = pcsc.connect_cie(&rig.reader).expect("connect");
    let e = card
        .verify_pin_and_sign(&pin(CIE_PIN), b"x", |_| Ok(()))
        .expect_err("mac");
    assert_eq!(e.code(), "card.secure_messaging");
    drop(card);
    drop(rig);

    let rig = common::start_with(SimOptions::cie(CieProfileName::BlockedPin));
    let mut card = pcsc.connect_cie(&rig.reader).expect("connect");
    let e = card
        .verify_pin_and_sign(&pin(CIE_PIN), b"x", |_| Ok(()))
        .expect_err("blocked");
    assert!(matches!(e, CardError::PinBlocked), "{e:?}");
    drop(card);
    drop(rig);

    let rig = common::start_with(SimOptions::cie(CieProfileName::OtherHolder));
    let mut card = pcsc.connect_cie(&rig.reader).expect("connect");
    let e = card
        .verify_pin_and_sign(&pin(CIE_PIN), b"x", |after| {
            match after.codice_fiscale.as_deref() {
                Some("RSSMRA80A01H501U") => Ok(()),
                _ => Err(CardError::Cancelled),
            }
        })
        .expect_err("someone else");
    assert!(matches!(e, CardError::Cancelled));
    assert!(
        !rig.sim
            .apdu_log()
            .iter()
            .any(|r| r.ins == 0x88 && r.data.len() == 51),
        "nothing was signed"
    );
}

#[test]
fn a_cns_is_not_taken_for_a_cie() {
    let rig = common::start(pec_card_sim::ProfileName::Athena2048);
    let pcsc = Pcsc::establish().expect("pcsc");
    assert!(matches!(
        pcsc.connect_card(&rig.reader).expect("connect"),
        AnyCard::Cns(_)
    ));
    let e = pcsc.connect_cie(&rig.reader).err().expect("not a CIE");
    assert_eq!(e.code(), "card.unsupported");
    let r = pcsc.readers().expect("readers");
    assert_eq!(
        r[0].interface,
        ReaderInterface::Contact,
        "an ordinary ATR: contacts"
    );
}
