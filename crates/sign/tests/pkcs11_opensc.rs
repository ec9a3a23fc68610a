//! PKCS#11 with an independent module on a real card stack: OpenSC's `opensc-pkcs11.so`
//! reading the virtual STIncard through pcscd + vpcd, our signer driving it through `cryptoki`.
//! OpenSC sees the DF_DS keyset ("CNS1": certificate 3F00 1400 9010, key in 3F00 1400 8110,
//! PIN 0x1A) as a token of its own; the `.p7m` is checked by our verifier and by OpenSSL.

mod common;

use std::path::Path;
use std::time::SystemTime;

use pec_card_sim::{DEFAULT_SIGN_PIN, ProfileName};
use pec_domain::{DomainError, Lang};
use pec_sign::pkcs11::{Pkcs11Module, Selection, TokenPin};
use pec_sign::{Policy, TrustedCas, cades, verify};

const OPENSC: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";

fn module() -> Pkcs11Module {
    Pkcs11Module::load(Path::new(OPENSC))
        .expect("OpenSC's PKCS#11 module (Debian package opensc-pkcs11)")
}

#[test]
fn opensc_signs_with_the_df_ds_key() {
    let rig = common::start(ProfileName::Stincard2048);
    let qualified_ca = rig
        .sim
        .with_card(|c| c.credentials().qualified_ca_cert.clone());
    let module = module();
    let certs = module.signing_certificates(None).expect("certificates");
    assert_eq!(certs.len(), 1, "only CNS1 has nonRepudiation: {certs:?}");
    assert!(
        certs[0].subject.contains("TINIT-RSSMRA80A01H501U"),
        "{}",
        certs[0].subject
    );
    assert!(
        certs[0].token.label.contains("CNS1"),
        "{}",
        certs[0].token.label
    );

    rig.sim.clear_apdu_log();
    let pin = TokenPin::new(DEFAULT_SIGN_PIN.to_owned()).expect("pin");
    let mut signer = module.signer(&Selection::default(), pin).expect("signer");
    let form = common::document(200 * 1024);
    let p7m = cades::sign(&form, &mut signer, SystemTime::now()).expect("sign");
    assert_eq!(signer.login_count(), 1);
    assert_eq!(
        common::verifies(&rig.sim),
        vec![0x9A],
        "one C_Login = one VERIFY of the signature PIN"
    );
    // OpenSC drives the raw RSA as PSO: DECIPHER (80 86) of the block it padded, chained in
    // short APDUs; the last link (CLA without the chaining bit) is the one operation.
    let pso = rig
        .sim
        .apdu_log()
        .into_iter()
        .filter(|r| r.ins == 0x2A && r.cla & 0x10 == 0)
        .count();
    assert_eq!(pso, 1, "one signature");

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
fn opensc_wrong_pin_one_login_and_the_tries_message() {
    let rig = common::start(ProfileName::Stincard2048);
    let module = module();
    rig.sim.clear_apdu_log();
    let wrong = || TokenPin::new("99999".to_owned()).expect("pin");
    let mut signer = module
        .signer(&Selection::default(), wrong())
        .expect("signer");
    let e = cades::sign(b"modulo", &mut signer, SystemTime::now()).expect_err("wrong PIN");
    assert_eq!(e.code(), "sign.pin_wrong");
    assert_eq!(e.message(Lang::It), "PIN errato.");
    assert_eq!(signer.login_count(), 1);
    // The same signer never logs in again by itself.
    let again = cades::sign(b"modulo", &mut signer, SystemTime::now()).expect_err("no PIN");
    assert_ne!(again.code(), "sign.pin_wrong");
    assert_eq!(signer.login_count(), 1);
    assert_eq!(common::verifies(&rig.sim), vec![0x9A]);

    // The holder tries again (a new signature, a new PIN): the card has one try left.
    let mut signer = module
        .signer(&Selection::default(), wrong())
        .expect("signer");
    let e = cades::sign(b"modulo", &mut signer, SystemTime::now()).expect_err("wrong PIN");
    assert_eq!(e.code(), "sign.pin_wrong");
    // OpenSC learnt the tries left from 63C1 and sets CKF_USER_PIN_FINAL_TRY.
    assert!(
        e.message(Lang::It)
            .contains("ultimo tentativo prima del blocco"),
        "{}",
        e.message(Lang::It)
    );
    let token = module
        .tokens()
        .expect("tokens")
        .into_iter()
        .find(|t| t.label.contains("CNS1"))
        .expect("CNS1 token");
    assert!(token.pin_final_try);
    let warning = token.pin_warning().expect("a warning before the next PIN");
    assert!(
        warning
            .message_it
            .contains("ultimo tentativo prima del blocco")
    );
    assert_eq!(common::verifies(&rig.sim), vec![0x9A, 0x9A]);
    assert_eq!(rig.sim.with_card(|c| c.tries_left(0x1A)), Some(1));
}

/// The usual places are searched: OpenSC's module (installed by scripts/setup.sh) is found,
/// once, with its vendor. (Not loaded here: the other tests of this binary load it, and a
/// C_Finalize from a parallel test would end their sessions.)
#[test]
fn installed_modules_finds_opensc() {
    let found = pec_sign::pkcs11::installed_modules();
    let opensc: Vec<_> = found.iter().filter(|m| m.vendor == "OpenSC").collect();
    assert_eq!(opensc.len(), 1, "{found:?}");
    assert_eq!(opensc[0].path, Path::new(OPENSC));
}
