//! The CIE protocol against the virtual CIE in-process (no PC/SC): fast, runs everywhere.
//! The same flows go through pcscd + vpcd in `tests/cie_pcsc.rs`.

use pec_card::cie::SodFile;
use pec_card::{CardError, CieCard, Pin, RawTransmit, ValidityStatus};
use pec_card_sim::{CIE_PIN, CieProfileName, VirtualCie};

struct Local(VirtualCie);

impl RawTransmit for Local {
    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
        Ok(self.0.transmit(command))
    }
}

fn card(p: CieProfileName) -> CieCard<Local> {
    let v = VirtualCie::new(p.profile()).expect("virtual CIE");
    let atr = v.atr().to_vec();
    CieCard::detect(Local(v), &atr).expect("a CIE")
}

fn pin(s: &str) -> Pin {
    Pin::new(s.to_owned()).expect("pin")
}

fn verifies(c: CieCard<Local>) -> usize {
    c.into_inner()
        .0
        .log()
        .iter()
        .filter(|r| r.ins == 0x20)
        .count()
}

#[test]
fn every_lot_reads_nis_verifies_once_and_signs() {
    for p in CieProfileName::LOTS {
        let profile = p.profile();
        let mut c = card(p);
        let before = c.before_pin().expect("before pin");
        assert_eq!(before.nis, profile.nis, "{p}");
        assert!(before.chip.is_some(), "{p}: the ATR hints a CIE");
        let s = c
            .verify_pin_and_sign(&pin(CIE_PIN), b"challenge", |after| {
                assert_eq!(
                    after.codice_fiscale.as_deref(),
                    Some(profile.holder.codice_fiscale)
                );
                assert_eq!(after.validity, ValidityStatus::Valid);
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{p}: {e:?}"));
        s.certificate
            .verify_sha256(b"challenge", &s.signature)
            .expect("signature verifies");
        assert_eq!(s.signature.len(), 256);
        assert_eq!(verifies(c), 1, "{p}: exactly one VERIFY");
    }
}

#[test]
fn the_typestate_path_and_passive_authentication() {
    let mut c = card(CieProfileName::Nxp);
    let root = VirtualCie::new(CieProfileName::Nxp.profile())
        .expect("card")
        .credentials()
        .root_cert
        .clone();
    let pa = c
        .passive_authentication(std::slice::from_ref(&root))
        .expect("pa before pin");
    assert!(pa.ok(), "{pa:?}");
    assert_eq!(pa.signer_chains_to_anchor, Some(true));
    assert_eq!(pa.files.len(), 2);
    let session = c.open_secure_channel().expect("channel");
    let mut verified = session.verify_pin(&pin(CIE_PIN)).expect("pin");
    let after = verified.after_pin().expect("after pin");
    assert_eq!(after.name.as_deref(), Some("Mario Rossi"));
    let pa = verified.passive_authentication(&[]).expect("pa after pin");
    assert!(pa.ok(), "{pa:?}");
    assert_eq!(pa.signer_chains_to_anchor, None);
    assert!(pa.files.contains(&(SodFile::Certificate, true)));
    assert!(pa.files.contains(&(SodFile::Serial, true)));
    let s = verified.sign_challenge(b"x").expect("sign");
    assert_eq!(s.signature.len(), 256);
    // A CNS root is not the CIE's anchor.
    let cns_root = include_bytes!("../../card-sim/test-keys/ca-2048.cert.der").to_vec();
    let mut c = card(CieProfileName::Nxp);
    let pa = c.passive_authentication(&[cns_root]).expect("pa");
    assert_eq!(pa.signer_chains_to_anchor, Some(false));
}

#[test]
fn wrong_pin_reports_tries_and_sends_one_verify() {
    let mut c = card(CieProfileName::Gemalto);
    let e = c
        .verify_pin_and_sign(&pin("87654321"), b"x", |_| Ok(()))
        .expect_err("wrong pin");
    assert!(matches!(e, CardError::WrongPin { tries_left: 2 }), "{e:?}");
    assert_eq!(verifies(c), 1);
}

#[test]
fn blocked_pin_and_short_pin() {
    let mut c = card(CieProfileName::BlockedPin);
    let e = c
        .verify_pin_and_sign(&pin(CIE_PIN), b"x", |_| Ok(()))
        .expect_err("blocked");
    assert!(matches!(e, CardError::PinBlocked), "{e:?}");
    let mut c = card(CieProfileName::Nxp);
    let e = c
        .verify_pin_and_sign(&pin("1234567"), b"x", |_| Ok(()))
        .expect_err("short");
    assert!(matches!(e, CardError::InvalidCiePinFormat), "{e:?}");
    assert_eq!(verifies(c), 0, "a malformed PIN is never sent");
}

#[test]
fn the_holder_check_stops_before_the_signature() {
    let mut c = card(CieProfileName::OtherHolder);
    let e = c
        .verify_pin_and_sign(&pin(CIE_PIN), b"x", |after| {
            if after.codice_fiscale.as_deref() == Some("RSSMRA80A01H501U") {
                Ok(())
            } else {
                Err(CardError::Cancelled)
            }
        })
        .expect_err("someone else's card");
    assert!(matches!(e, CardError::Cancelled));
    let log = c.into_inner().0.log().to_vec();
    assert!(
        !log.iter().any(|r| r.ins == 0x88 && r.data.len() == 51),
        "no signature was asked"
    );
    let mut c = card(CieProfileName::ExpiredCert);
    c.verify_pin_and_sign(&pin(CIE_PIN), b"x", |after| {
        assert_eq!(after.validity, ValidityStatus::Expired);
        Ok(())
    })
    .expect("an expired certificate still signs: the caller decides");
}

#[test]
fn a_bad_mac_ends_the_session() {
    let mut c = card(CieProfileName::MacError);
    let e = c
        .verify_pin_and_sign(&pin(CIE_PIN), b"x", |_| Ok(()))
        .expect_err("mac");
    assert_eq!(e.code(), "card.secure_messaging", "{e:?}");
}

#[test]
fn not_a_cie() {
    let v = pec_card_sim::VirtualCard::new(pec_card_sim::ProfileName::Athena2048.profile())
        .expect("cns");
    struct L(pec_card_sim::VirtualCard);
    impl RawTransmit for L {
        fn transmit_raw(&mut self, c: &[u8]) -> Result<Vec<u8>, CardError> {
            Ok(self.0.transmit(c))
        }
    }
    let atr = v.profile().atr.clone();
    let e = CieCard::detect(L(v), &atr).err().expect("not a CIE");
    assert_eq!(e.code(), "card.unsupported");
}

/// One attempt per "click" on the same card, each on a fresh connection: every attempt sends
/// exactly one VERIFY of the 8 digits (never empty, never padded), `63C2`/`63C1` give the tries
/// left, `63C0` and then `6983` say blocked, and the right PIN cannot unblock it.
#[test]
fn tries_count_down_to_blocked_with_one_verify_each() {
    let mut v = VirtualCie::new(CieProfileName::Nxp.profile()).expect("virtual CIE");
    let attempt = |v: VirtualCie, p: &str| {
        let atr = v.atr().to_vec();
        let mut c = CieCard::detect(Local(v), &atr).expect("a CIE");
        let e = c
            .verify_pin_and_sign(&pin(p), b"x", |_| Ok(()))
            .expect_err("must fail");
        let mut v = c.into_inner().0;
        let sent: Vec<_> = v.log().iter().filter(|r| r.ins == 0x20).cloned().collect();
        assert_eq!(sent.len(), 1, "one VERIFY per attempt: {sent:?}");
        assert_eq!(sent[0].data_len, 8, "the 8 digits, no padding, not empty");
        assert_eq!((sent[0].p1, sent[0].p2), (0x00, 0x81));
        let sw = sent[0].sw;
        v.clear_log();
        v.reset();
        (v, e, sw)
    };
    let mut seen = Vec::new();
    for wrong in ["87654321", "11111111", "22222222"] {
        let (next, e, sw) = attempt(v, wrong);
        v = next;
        seen.push((format!("{e:?}"), sw));
    }
    let (v, e, sw) = attempt(v, CIE_PIN);
    seen.push((format!("{e:?}"), sw));
    assert_eq!(
        seen,
        [
            ("WrongPin { tries_left: 2 }".to_owned(), 0x63C2),
            ("WrongPin { tries_left: 1 }".to_owned(), 0x63C1),
            ("PinBlocked".to_owned(), 0x63C0),
            ("PinBlocked".to_owned(), 0x6983),
        ]
    );
    assert_eq!(v.tries_left(), 0);
}

/// A chip whose answer does not match the EF.IntAuth key (a cloned or swapped chip) stops the
/// flow before the PIN leaves the computer.
#[test]
fn a_chip_that_fails_its_authentication_never_sees_the_pin() {
    struct SwappedKey(VirtualCie);
    impl RawTransmit for SwappedKey {
        fn transmit_raw(&mut self, c: &[u8]) -> Result<Vec<u8>, CardError> {
            let mut r = self.0.transmit(c);
            // EF.IntAuth is read in the clear: change one byte of its modulus.
            if c.get(..2) == Some(&[0x00, 0xB0]) && r.len() > 120 && r[0] == 0x30 {
                r[100] ^= 0x01;
            }
            Ok(r)
        }
    }
    let v = VirtualCie::new(CieProfileName::Gemalto.profile()).expect("virtual CIE");
    let atr = v.atr().to_vec();
    let mut c = CieCard::detect(SwappedKey(v), &atr).expect("a CIE");
    let e = c
        .verify_pin_and_sign(&pin(CIE_PIN), b"x", |_| Ok(()))
        .expect_err("chip authentication must fail");
    assert!(matches!(e, CardError::ChipAuthenticationFailed), "{e:?}");
    assert_eq!(e.code(), "card.cie_chip_authentication");
    let log = c.into_inner().0.log().to_vec();
    assert!(
        log.iter().all(|r| r.ins != 0x20),
        "no VERIFY after a failed chip check"
    );
}

/// How many GET DATA of the DH parameters (`BF A1 01`) a flow sent.
fn dh_get_datas(log: &[pec_card_sim::ApduRecord]) -> usize {
    log.iter()
        .filter(|r| r.ins == 0xCB && r.data.windows(3).any(|w| w == [0xBF, 0xA1, 0x01]))
        .count()
}

/// Gemalto lots get g, p and q in one GET DATA (as the middleware asks them); a card with a
/// Gemalto ATR that refuses that form is asked part by part, in the same attempt.
#[test]
fn dh_parameters_in_one_get_data_on_gemalto_with_a_fallback() {
    for (p, want) in [(CieProfileName::Gemalto, 1), (CieProfileName::Nxp, 3)] {
        let mut c = card(p);
        c.verify_pin_and_sign(&pin(CIE_PIN), b"x", |_| Ok(()))
            .expect("flow");
        assert_eq!(dh_get_datas(c.into_inner().0.log()), want, "{p}");
    }

    struct RefusesAll(VirtualCie);
    impl RawTransmit for RefusesAll {
        fn transmit_raw(&mut self, c: &[u8]) -> Result<Vec<u8>, CardError> {
            if c.get(1) == Some(&0xCB) && c.ends_with(&[0xA3, 0x80, 0x00]) {
                return Ok(vec![0x6A, 0x88]);
            }
            Ok(self.0.transmit(c))
        }
    }
    let v = VirtualCie::new(CieProfileName::Gemalto.profile()).expect("virtual CIE");
    let atr = v.atr().to_vec();
    let mut c = CieCard::detect(RefusesAll(v), &atr).expect("a CIE");
    let s = c
        .verify_pin_and_sign(&pin(CIE_PIN), b"x", |_| Ok(()))
        .expect("part by part");
    assert_eq!(s.signature.len(), 256);
    let v = c.into_inner().0;
    assert_eq!(
        dh_get_datas(v.log()),
        3,
        "the refused form is not in the card's log"
    );
    assert_eq!(v.log().iter().filter(|r| r.ins == 0x20).count(), 1);
}
