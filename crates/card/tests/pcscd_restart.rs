//! pcscd stopped and restarted under a live session: typed errors while it is down, and the
//! same `Pcsc` value works again once it is back. Its own test binary because it takes pcscd
//! away from everything else. Needs the rig (`PEC_PCSC_RIG=1`); fails without it.

mod common;

use std::process::Command;
use std::time::Duration;

use pec_card::{CardError, Pcsc};
use pec_card_sim::ProfileName;

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
