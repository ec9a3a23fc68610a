//! PKCS#11 against a real module holding a qualified-shaped certificate and its key: SoftHSM2
//! (Debian `softhsm2`), set up with its own tools and OpenSC's `pkcs11-tool` in a throwaway
//! token directory. One test function: SoftHSM2 finds its configuration through the process
//! environment, which is set once before the module is loaded.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use pec_domain::DomainError;
use pec_sign::pkcs11::{Pkcs11Module, Selection, TokenPin, parse_cert_id};
use pec_sign::{Policy, TrustedCas, cades, verify};

const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";
const LABEL: &str = "Firma Test";
const PIN: &str = "246810";

fn run(conf: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .env("SOFTHSM2_CONF", conf)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} not runnable ({e}): apt-get install softhsm2 opensc")
        });
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn test_key(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../card-sim/test-keys/{name}"))
}

/// Puts `key_pem` and `cert_der` on the token under `id`.
fn import(conf: &Path, dir: &Path, id: &str, key_pem: &Path, cert_der: &[u8]) {
    let key = key_pem.to_str().expect("utf-8 path");
    run(
        conf,
        "softhsm2-util",
        &[
            "--import", key, "--token", LABEL, "--label", id, "--id", id, "--pin", PIN,
        ],
    );
    let cert = dir.join(format!("cert-{id}.der"));
    std::fs::write(&cert, cert_der).expect("write cert");
    let cert = cert.to_str().expect("utf-8 path");
    run(
        conf,
        "pkcs11-tool",
        &[
            "--module",
            SOFTHSM,
            "--token-label",
            LABEL,
            "--login",
            "--pin",
            PIN,
            "--write-object",
            cert,
            "--type",
            "cert",
            "--id",
            id,
            "--label",
            id,
        ],
    );
}

#[test]
fn softhsm_token_with_a_qualified_certificate() {
    let dir = tempfile::tempdir().expect("tmp");
    let conf = dir.path().join("softhsm2.conf");
    std::fs::create_dir(dir.path().join("tokens")).expect("tokens dir");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir.path().join("tokens").display()
        ),
    )
    .expect("conf");
    run(
        &conf,
        "softhsm2-util",
        &[
            "--init-token",
            "--free",
            "--label",
            LABEL,
            "--pin",
            PIN,
            "--so-pin",
            "13579111",
        ],
    );
    let creds = common::stincard();
    let (_, sign_cert) = creds.signature.clone().expect("keyset");
    // The authentication keyset too: it must not be picked (no nonRepudiation).
    import(
        &conf,
        dir.path(),
        "01",
        &test_key("card-a-2048.pem"),
        &creds.auth_cert,
    );
    import(
        &conf,
        dir.path(),
        "10",
        &test_key("card-sig-2048.pem"),
        &sign_cert,
    );

    // SAFETY: the only test of this binary, before it loads the module or starts a thread:
    // nothing reads the environment concurrently.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("SOFTHSM2_CONF", &conf);
    }
    let module = Pkcs11Module::load(Path::new(SOFTHSM)).expect("load SoftHSM2");
    let certs = module.signing_certificates(None).expect("certificates");
    assert_eq!(certs.len(), 1, "{certs:?}");
    assert_eq!(certs[0].id, "10");
    assert_eq!(certs[0].token.label, LABEL);

    // Picked by itself: one token, one signature certificate.
    let pin = TokenPin::new(format!("{PIN}\n")).expect("pin");
    let mut signer = module.signer(&Selection::default(), pin).expect("signer");
    let form = common::document(30_000);
    let p7m = cades::sign(&form, &mut signer, SystemTime::now()).expect("sign");
    assert_eq!(signer.login_count(), 1);
    let trusted = TrustedCas::from_der([creds.qualified_ca_cert.as_slice()]).expect("ca");
    let ok = verify::verify(&p7m, &Policy::new(&trusted).expecting(&form)).expect("verify");
    assert_eq!(
        ok.signer.codice_fiscale.as_deref(),
        Some("RSSMRA80A01H501U")
    );
    let content =
        common::openssl_verify(dir.path(), &p7m, &creds.qualified_ca_cert).expect("openssl");
    assert_eq!(content, form);

    // The authentication certificate is not a signature certificate, whatever its id.
    let auth_only = Selection {
        token_label: None,
        cert_id: parse_cert_id("01"),
    };
    let e = module
        .signer(&auth_only, TokenPin::new(PIN.into()).expect("pin"))
        .expect_err("auth cert");
    assert_eq!(e.code(), "sign.no_signing_certificate");
    let other_token = Selection {
        token_label: Some("Altro token".into()),
        cert_id: None,
    };
    let e = module
        .signer(&other_token, TokenPin::new(PIN.into()).expect("pin"))
        .expect_err("no such token");
    assert_eq!(e.code(), "sign.token_not_found");

    // A wrong PIN: one C_Login, refused, and the signer never logs in again by itself.
    let mut signer = module
        .signer(
            &Selection::default(),
            TokenPin::new("000000".into()).expect("pin"),
        )
        .expect("signer");
    let e = cades::sign(b"modulo", &mut signer, SystemTime::now()).expect_err("wrong PIN");
    assert_eq!(e.code(), "sign.pin_wrong");
    let e = cades::sign(b"modulo", &mut signer, SystemTime::now()).expect_err("no PIN left");
    assert_ne!(e.code(), "sign.pin_wrong");
    assert_eq!(signer.login_count(), 1);

    // Two signature certificates: the choice is the holder's (--cert-id).
    import(
        &conf,
        dir.path(),
        "11",
        &test_key("card-sig-2048.pem"),
        &sign_cert,
    );
    let e = module
        .signer(
            &Selection::default(),
            TokenPin::new(PIN.into()).expect("pin"),
        )
        .expect_err("ambiguous");
    assert_eq!(e.code(), "sign.ambiguous_certificate");
    let chosen = Selection {
        token_label: Some(LABEL.into()),
        cert_id: parse_cert_id("11"),
    };
    let mut signer = module
        .signer(&chosen, TokenPin::new(PIN.into()).expect("pin"))
        .expect("signer");
    let p7m = cades::sign(b"modulo", &mut signer, SystemTime::now()).expect("sign");
    verify::verify(&p7m, &Policy::new(&trusted)).expect("verify");
}
