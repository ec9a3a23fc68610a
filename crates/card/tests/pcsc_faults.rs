//! Faults through the real stack: card pulled mid-command, card held exclusively elsewhere,
//! unknown reader, hot-plug events. Needs the rig (`PEC_PCSC_RIG=1`); fails without it.

mod common;

use std::time::Duration;

use pec_card::{CardError, Pcsc, ReaderEvent};
use pec_card_sim::{ProfileName, SimOptions};

#[test]
fn card_pulled_mid_read_then_usable_again() {
    let rig = common::start(ProfileName::Pulled);
    let pcsc = Pcsc::establish().expect("pcsc");
    let mut card = pcsc.connect(&rig.reader).expect("connect");
    // The profile pulls the card on the 5th APDU: serial and personal data take two each,
    // so the card leaves while the certificate is being selected.
    card.read_serial().expect("serial");
    card.read_personal_data().expect("personal data");
    let e = card.read_auth_certificate().expect_err("card pulled");
    assert!(
        matches!(
            e,
            CardError::CardRemoved | CardError::NoCard | CardError::CardUnresponsive
        ),
        "{e:?}"
    );
    assert!(!e.message_it().is_empty());
    drop(card);
    common::wait_reader_empty(&rig.reader, Duration::from_secs(10));

    let e = pcsc
        .connect(&rig.reader)
        .err()
        .expect("no card to connect to");
    assert!(
        matches!(e, CardError::NoCard | CardError::CardRemoved),
        "{e:?}"
    );

    rig.sim.insert(None);
    assert!(rig.sim.wait_powered(Duration::from_secs(15)), "card back");
    common::wait_reader_present(&rig.reader, Duration::from_secs(10));
    let mut card = pcsc
        .connect(&rig.reader)
        .unwrap_or_else(|e| panic!("connect again: {e:?}; link events {:?}", rig.sim.events()));
    let cert = card
        .read_auth_certificate()
        .expect("same Pcsc works after the fault");
    assert_eq!(cert.codice_fiscale.as_deref(), Some("RSSMRA80A01H501U"));
}

#[test]
fn card_pulled_during_signature() {
    // select + read of the certificate, VERIFY, restore SE, MSE:SET: the PSO is the 6th APDU.
    let rig = common::start_with(SimOptions::new(ProfileName::Athena2048).pull_after(5));
    let pcsc = Pcsc::establish().expect("pcsc");
    let mut card = pcsc.connect(&rig.reader).expect("connect");
    let cert = card.read_auth_certificate().expect("cert");
    let _ = cert;
    let pin = pec_card::Pin::new(pec_card_sim::DEFAULT_PIN.to_owned()).expect("pin");
    let r = card
        .verify_pin(&pin)
        .and_then(|()| card.sign_challenge(b"x").map(|_| ()));
    let e = r.expect_err("pulled before the signature completes");
    assert_eq!(e.code(), "card.removed", "{e:?}");
}

#[test]
fn card_pulled_at_every_apdu_of_read_verify_sign() {
    // The whole flow is 6 APDUs on an extended-length card (select, read, VERIFY, restore SE,
    // MSE:SET, PSO); pull the card before each one in turn.
    let pin = pec_card::Pin::new(pec_card_sim::DEFAULT_PIN.to_owned()).expect("pin");
    for n in 0..6 {
        let rig = common::start_with(SimOptions::new(ProfileName::Stincard2048).pull_after(n));
        let pcsc = Pcsc::establish().expect("pcsc");
        let mut card = pcsc.connect(&rig.reader).expect("connect");
        let r = card
            .read_auth_certificate()
            .and_then(|_| card.verify_pin(&pin))
            .and_then(|()| card.sign_challenge(b"x"));
        let e = r.expect_err("the card left");
        assert_eq!(
            e.code(),
            "card.removed",
            "pulled before APDU {}: {e:?}",
            n + 1
        );
        drop(card);
        // Usable afterwards: the same Pcsc value connects to the card once it is back.
        common::wait_reader_empty(&rig.reader, Duration::from_secs(10));
        rig.sim.insert(None);
        assert!(rig.sim.wait_powered(Duration::from_secs(15)));
        common::wait_reader_present(&rig.reader, Duration::from_secs(10));
        let mut card = pcsc.connect(&rig.reader).expect("reconnect");
        card.read_auth_certificate().expect("works again");
        // PIN counter untouched by the interrupted attempt.
        assert_eq!(rig.sim.with_card(|c| c.tries_left(0x10)), Some(3));
    }
}

#[test]
fn card_held_exclusively_elsewhere() {
    let rig = common::start(ProfileName::Athena2048);
    let other = pcsc::Context::establish(pcsc::Scope::User).expect("other app");
    let name = std::ffi::CString::new(rig.reader.clone()).expect("name");
    let held = other
        .connect(&name, pcsc::ShareMode::Exclusive, pcsc::Protocols::ANY)
        .expect("other app takes the card");

    let pcsc = Pcsc::establish().expect("pcsc");
    let e = pcsc.connect(&rig.reader).err().expect("busy");
    assert!(matches!(e, CardError::CardBusy), "{e:?}");
    assert_eq!(e.code(), "card.busy");
    assert!(e.message_it().contains("altro programma"));
    let listed = pcsc.readers().expect("readers");
    assert!(listed.iter().any(|r| r.name == rig.reader && r.exclusive));

    drop(held);
    let mut card = pcsc.connect(&rig.reader).expect("free again");
    card.read_serial().expect("usable");
}

#[test]
fn unknown_reader() {
    common::require_rig();
    let pcsc = Pcsc::establish().expect("pcsc");
    let e = pcsc
        .connect("Lettore Inesistente 00 00")
        .err()
        .expect("no such reader");
    assert!(matches!(e, CardError::ReaderNotFound { .. }), "{e:?}");
    assert!(e.message_it().contains("Lettore Inesistente"));
}

#[test]
fn watcher_sees_insert_and_remove() {
    common::require_rig();
    let pcsc = Pcsc::establish().expect("pcsc");
    let names = pcsc.reader_names().expect("readers");
    assert!(
        names.iter().any(|n| n.starts_with("Virtual PCD")),
        "{names:?}"
    );

    let rig = common::start(ProfileName::Idemia2021);
    let mut watcher = pcsc.watcher().expect("watcher");
    let first = watcher.wait(Some(Duration::from_secs(5))).expect("initial");
    assert!(
        first
            .iter()
            .any(|e| matches!(e, ReaderEvent::CardInserted { reader, card }
            if *reader == rig.reader && card.cns().is_some_and(|c| c.idemia_2021))),
        "{first:?}"
    );
    let canceller = watcher.canceller();
    rig.sim.remove();
    let mut seen = Vec::new();
    for _ in 0..5 {
        let ev = watcher.wait(Some(Duration::from_secs(5))).expect("wait");
        let done = ev
            .iter()
            .any(|e| matches!(e, ReaderEvent::CardRemoved { reader } if *reader == rig.reader));
        seen.extend(ev);
        if done {
            break;
        }
    }
    assert!(
        seen.iter()
            .any(|e| matches!(e, ReaderEvent::CardRemoved { .. })),
        "{seen:?}"
    );
    // Cancelling from another handle ends a wait with no timeout.
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        canceller.cancel()
    });
    let r = watcher.wait(None);
    assert!(matches!(r, Err(CardError::Cancelled)), "{r:?}");
    t.join().expect("join").expect("cancel");
}
