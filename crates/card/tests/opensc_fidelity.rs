//! Fidelity of the emulator, judged by an independent reader: OpenSC (`opensc-tool`,
//! `pkcs15-tool`) must recognise each classic CNS profile as a CNS and read the very
//! certificate bytes this crate reads. Needs the rig (`PEC_PCSC_RIG=1`) and the `opensc`
//! package; fails without them.
//!
//! IDEMIA 2021 is left out on purpose: OpenSC 0.23 (Debian 12) predates its certificate path.

mod common;

use std::process::Command;

use pec_card::Pcsc;
use pec_card_sim::ProfileName;

fn opensc(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} not runnable ({e}): install the Debian package opensc"));
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn check(profile: ProfileName, has_signature_keyset: bool) {
    let rig = common::start(profile);
    let reader = rig.reader.as_str();

    let atr = opensc("opensc-tool", &["--reader", reader, "--atr"]);
    let expected: Vec<String> = profile
        .profile()
        .atr
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(atr.trim(), expected.join(":"), "{profile}: ATR");
    let name = opensc("opensc-tool", &["--reader", reader, "--name"]);
    assert_eq!(
        name.trim(),
        "CNS card",
        "{profile}: OpenSC's itacns driver claims the card"
    );

    let list = opensc("pkcs15-tool", &["--reader", reader, "--list-certificates"]);
    assert!(
        list.contains("[CNS0]") && list.contains("3f0011001101"),
        "{profile}: {list}"
    );
    assert_eq!(
        list.contains("[CNS1]"),
        has_signature_keyset,
        "{profile}: {list}"
    );

    let pem = opensc(
        "pkcs15-tool",
        &["--reader", reader, "--read-certificate", "01"],
    );
    let theirs = common::pem_body(&pem);

    let pcsc = Pcsc::establish().expect("pcsc");
    let mut card = pcsc.connect(reader).expect("connect");
    let ours = card.read_auth_certificate().expect("certificate").der;
    assert_eq!(
        theirs, ours,
        "{profile}: OpenSC and pec-card read the same certificate"
    );

    if has_signature_keyset {
        let pem = opensc(
            "pkcs15-tool",
            &["--reader", reader, "--read-certificate", "10"],
        );
        let theirs = common::pem_body(&pem);
        let ours = card
            .read_signature_certificate()
            .expect("read")
            .expect("present")
            .der;
        assert_eq!(theirs, ours, "{profile}: same signature certificate");
    }
}

#[test]
fn opensc_reads_stincard_2048() {
    check(ProfileName::Stincard2048, true);
}

#[test]
fn opensc_reads_athena_2048() {
    check(ProfileName::Athena2048, false);
}

#[test]
fn opensc_reads_cns_v1_1024() {
    check(ProfileName::CnsV1_1024, false);
}

#[test]
fn opensc_reads_expired_and_no_cf_profiles() {
    check(ProfileName::ExpiredCert, false);
    check(ProfileName::NoCodiceFiscale, false);
}
