//! pcscd stopped and restarted under a live session: typed errors while it is down, and the
//! same `Pcsc` value works again once it is back. Its own test binary because it takes pcscd
//! away from everything else. Needs the rig (`PEC_PCSC_RIG=1`); fails without it.
//!
//! The reader vanishing under a pending command is played the same way: vpcd's reader cannot
//! be unplugged (see the crate README), so the virtual card holds the command unanswered and
//! the test stops pcscd, which takes the reader away with the command in flight.

mod common;

use std::process::Command;
use std::time::Duration;

use pec_card::{CardError, Pcsc, ReaderEvent};
use pec_card_sim::{ProfileName, SimOptions};

fn rig_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: this test stops and restarts pcscd through the rig script, so              run it after `source scripts/rig/pcsc.sh && pcsc_rig_start DIR` (the project test              command does this)"
        )
    })
}

fn rig_command(function: &str) {
    let script = rig_var("PEC_PCSC_RIG_SCRIPT");
    let dir = rig_var("PEC_PCSC_RIG_DIR");
    let status = Command::new("bash")
        .arg("-c")
        .arg(format!("source \"$0\" && {function} \"$1\""))
        .arg(script)
        .arg(dir)
        .status()
        .expect("run bash");
    assert!(status.success(), "{function} failed");
}

#[test]
fn pcscd_stopped_then_restarted() {
    common::require_rig();
    rig_var("PEC_PCSC_RIG_SCRIPT");
    rig_var("PEC_PCSC_RIG_DIR");
    let rig = common::start(ProfileName::Athena2048);
    let pcsc = Pcsc::establish().expect("pcsc");
    let mut card = pcsc.connect(&rig.reader).expect("connect");
    card.read_serial().expect("serial");

    rig_command("pcsc_rig_stop");
    let e = card.read_serial().expect_err("pcscd is gone");
    assert!(
        matches!(
            e,
            CardError::ServiceUnavailable | CardError::CardRemoved | CardError::ReaderUnavailable
        ),
        "{e:?}"
    );
    drop(card);
    let e = pcsc.readers().expect_err("no service");
    assert!(matches!(e, CardError::ServiceUnavailable), "{e:?}");
    assert_eq!(e.code(), "card.service_unavailable");
    assert!(e.message_it().contains("pcscd"));

    rig_command("pcsc_rig_start");
    // The virtual card reconnects to the new vpcd by itself, like a card left in the reader.
    assert!(rig.sim.wait_powered(Duration::from_secs(15)), "card back");
    common::wait_reader_present(&rig.reader, Duration::from_secs(10));
    let readers = pcsc.readers().expect("same Pcsc works after the restart");
    assert!(
        readers
            .iter()
            .any(|r| r.name == rig.reader && r.card.is_some())
    );
    let mut card = pcsc.connect(&rig.reader).expect("connect again");
    card.read_serial().expect("serial again");
}

/// The errors a vanished reader or service may surface as: all typed, all with Italian text.
fn assert_reader_gone(e: &CardError, context: &str) {
    assert!(
        matches!(
            e,
            CardError::ServiceUnavailable | CardError::ReaderUnavailable | CardError::CardRemoved
        ),
        "{context}: {e:?}"
    );
    assert!(e.message_it().len() > 20, "{context}: {}", e.message_it());
}

#[test]
fn reader_gone_at_every_apdu_of_read_verify_sign() {
    common::require_rig();
    rig_var("PEC_PCSC_RIG_SCRIPT");
    let pin = pec_card::Pin::new(pec_card_sim::DEFAULT_PIN.to_owned()).expect("pin");
    let pcsc = Pcsc::establish().expect("pcsc");
    // select, read, VERIFY, restore SE, MSE:SET, PSO (extended length: one read).
    for n in 0..6 {
        let rig = common::start_with(SimOptions::new(ProfileName::Stincard2048).stall_after(n));
        let r = std::thread::scope(|scope| {
            let flow = scope.spawn(|| {
                let mut card = pcsc.connect(&rig.reader)?;
                card.read_auth_certificate()?;
                card.verify_pin(&pin)?;
                card.sign_challenge(b"x").map(|_| ())
            });
            assert!(
                rig.sim.wait_stalled(Duration::from_secs(15)),
                "APDU {} never reached the card",
                n + 1
            );
            rig_command("pcsc_rig_stop");
            flow.join().expect("flow thread")
        });
        let e = r.expect_err("the reader went away");
        assert_reader_gone(&e, &format!("reader gone at APDU {}", n + 1));

        // Usable for the next attempt once the reader is back: same Pcsc value, whole flow.
        rig_command("pcsc_rig_start");
        assert!(rig.sim.wait_powered(Duration::from_secs(15)), "card back");
        common::wait_reader_present(&rig.reader, Duration::from_secs(10));
        let mut card = pcsc.connect(&rig.reader).expect("connect again");
        card.read_auth_certificate().expect("certificate again");
        card.verify_pin(&pin).expect("PIN again");
        card.sign_challenge(b"x").expect("signature again");
        // The held command was never executed: the PIN counter did not move.
        assert_eq!(rig.sim.with_card(|c| c.tries_left(0x10)), Some(3));
    }
}

#[test]
fn watcher_sees_readers_leave_and_come_back_with_pcscd() {
    common::require_rig();
    rig_var("PEC_PCSC_RIG_SCRIPT");
    let rig = common::start(ProfileName::Athena2048);
    let pcsc = Pcsc::establish().expect("pcsc");
    let mut watcher = pcsc.watcher().expect("watcher");
    let canceller = watcher.canceller();
    let first = watcher.wait(Some(Duration::from_secs(5))).expect("initial");
    assert!(
        first.iter().any(
            |e| matches!(e, ReaderEvent::CardInserted { reader, .. } if *reader == rig.reader)
        ),
        "{first:?}"
    );

    rig_command("pcsc_rig_stop");
    let gone = watcher
        .wait(Some(Duration::from_secs(5)))
        .expect("the removal is reported before the error");
    assert!(
        gone.contains(&ReaderEvent::CardRemoved {
            reader: rig.reader.clone()
        }) && gone.contains(&ReaderEvent::ReaderRemoved {
            reader: rig.reader.clone()
        }),
        "{gone:?}"
    );
    let e = watcher
        .wait(Some(Duration::from_secs(1)))
        .expect_err("no service");
    assert!(matches!(e, CardError::ServiceUnavailable), "{e:?}");
    assert!(e.message_it().contains("pcscd"));

    rig_command("pcsc_rig_start");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut back = Vec::new();
    loop {
        let added = back.contains(&ReaderEvent::ReaderAdded {
            reader: rig.reader.clone(),
        });
        let inserted = back.iter().any(
            |e| matches!(e, ReaderEvent::CardInserted { reader, .. } if *reader == rig.reader),
        );
        if added && inserted {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "reader not back: {back:?}"
        );
        match watcher.wait(Some(Duration::from_secs(2))) {
            Ok(ev) => back.extend(ev),
            // pcscd not accepting clients yet.
            Err(CardError::ServiceUnavailable) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => panic!("{e:?} after {back:?}"),
        }
    }

    // A canceller taken before the restart still ends a wait on the new context.
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        canceller.cancel()
    });
    let r = watcher.wait(None);
    assert!(matches!(r, Err(CardError::Cancelled)), "{r:?}");
    t.join().expect("join").expect("cancel");
}
