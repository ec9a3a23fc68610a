//! Benchmark: a CAdES-BES `.p7m` of a 200 kB PDF with the qualified key of the same virtual
//! STIncard, pec-sign's native DF_DS signer versus OpenSC (`opensc-pkcs11.so` through
//! `openssl cms -sign -cades` with libp11's PKCS#11 engine, Debian `libengine-pkcs11-openssl`),
//! in the same run. Prints APDU counts (from the emulator's log) and wall time, medians.
//!
//! Both start from nothing open: ours connects, reads the signature certificate, presents the
//! PIN once and signs; OpenSSL loads the engine and the module, which binds the card (reading
//! its files) and logs in. OpenSSL is given the certificate as a file exported beforehand, not
//! counted: that favours OpenSC. Every `.p7m` is checked by our verifier and by OpenSSL.
//!
//! Needs the rig: `source scripts/rig/pcsc.sh && pcsc_rig_start target/pcsc-rig`, then
//! `cargo run --release -p pec-sign --example bench_vs_opensc -- [rounds]`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use pec_card::{Pcsc, Pin};
use pec_card_sim::{DEFAULT_SIGN_PIN, ProfileName, SimCard, SimOptions, vpcd_reader_name};
use pec_sign::card::CardSigner;
use pec_sign::pkcs11::Pkcs11Module;
use pec_sign::{Policy, TrustedCas, cades, verify};

const OPENSC: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";
const ENGINE: &str = "/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so";
const SIZE: usize = 200 * 1024;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::args().nth(1).map_or(Ok(5), |s| s.parse())?;
    if std::env::var("PEC_PCSC_RIG").as_deref() != Ok("1") {
        return Err("start the PC/SC rig first (scripts/rig/pcsc.sh), PEC_PCSC_RIG=1".into());
    }
    let sim = SimCard::start(SimOptions::new(ProfileName::Stincard2048))?;
    if !sim.wait_powered(Duration::from_secs(15)) {
        return Err("pcscd did not power the virtual card".into());
    }
    let reader = vpcd_reader_name(0);
    std::thread::sleep(Duration::from_millis(500));
    let qualified_ca = sim.with_card(|c| c.credentials().qualified_ca_cert.clone());
    let trusted = TrustedCas::from_der([qualified_ca.as_slice()])?;
    let dir = tempfile::tempdir()?;
    let form = document(SIZE);
    let form_path = dir.path().join("modulo.pdf");
    std::fs::write(&form_path, &form)?;
    let ca_pem = dir.path().join("ca.pem");
    std::fs::write(&ca_pem, pem("CERTIFICATE", &qualified_ca))?;

    // Ours.
    let mut last = Vec::new();
    let ours = measure(&sim, rounds, || {
        let pcsc = Pcsc::establish().map_err(|e| e.to_string())?;
        let card = pcsc.connect(&reader).map_err(|e| e.to_string())?;
        let pin = Pin::new(DEFAULT_SIGN_PIN.to_owned()).map_err(|e| e.to_string())?;
        let mut signer = CardSigner::new(card, pin);
        last = cades::sign(&form, &mut signer, SystemTime::now()).map_err(|e| e.to_string())?;
        Ok(())
    })?;
    verify::verify(&last, &Policy::new(&trusted).expecting(&form))?;
    openssl_verify(dir.path(), &last, &ca_pem)?;

    // OpenSC: the signature certificate's id and token from the module, exported once.
    let (cert_der, id, token) = {
        let module = Pkcs11Module::load(Path::new(OPENSC))?;
        let certs = module.signing_certificates(None)?;
        let [cert] = certs.as_slice() else {
            return Err(
                format!("expected one signature certificate, found {}", certs.len()).into(),
            );
        };
        (cert.der.clone(), cert.id.clone(), cert.token.label.clone())
    };
    let cert_pem = dir.path().join("signer.pem");
    std::fs::write(&cert_pem, pem("CERTIFICATE", &cert_der))?;
    let conf = dir.path().join("openssl.cnf");
    std::fs::write(
        &conf,
        format!(
            "openssl_conf = init\n[init]\nengines = engines\n[engines]\npkcs11 = p11\n\
             [p11]\nengine_id = pkcs11\ndynamic_path = {ENGINE}\nMODULE_PATH = {OPENSC}\n\
             init = 0\n"
        ),
    )?;
    // A PKCS#11 URI (RFC 7512); the test card's PIN, in a benchmark only.
    let key_uri = format!(
        "pkcs11:token={};id={};type=private;pin-value={DEFAULT_SIGN_PIN}",
        pct(&token),
        id.as_bytes()
            .chunks(2)
            .map(|c| format!("%{}", String::from_utf8_lossy(c)))
            .collect::<String>()
    );
    let out_path = dir.path().join("opensc.p7m");
    let opensc = measure(&sim, rounds, || {
        let out = Command::new("openssl")
            .env("OPENSSL_CONF", &conf)
            .args([
                "cms",
                "-sign",
                "-cades",
                "-binary",
                "-nodetach",
                "-md",
                "sha256",
            ])
            .args([
                "-engine", "pkcs11", "-keyform", "engine", "-inkey", &key_uri,
            ])
            .arg("-signer")
            .arg(&cert_pem)
            .arg("-in")
            .arg(&form_path)
            .args(["-outform", "DER", "-out"])
            .arg(&out_path)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    })?;
    let theirs = std::fs::read(&out_path)?;
    let ok = verify::verify(&theirs, &Policy::new(&trusted).expecting(&form));
    openssl_verify(dir.path(), &theirs, &ca_pem)?;

    println!(
        "virtual STIncard (stincard-2048), CAdES-BES of a {SIZE}-byte PDF, {rounds} rounds, median per round"
    );
    println!("| signer | APDUs | wall time |");
    println!("|---|---:|---:|");
    println!(
        "| pec-sign (native DF_DS) | {} | {:.1} ms |",
        ours.0,
        ours.1.as_secs_f64() * 1e3
    );
    println!(
        "| OpenSC opensc-pkcs11.so + openssl cms -sign (libp11 engine) | {} | {:.1} ms |",
        opensc.0,
        opensc.1.as_secs_f64() * 1e3
    );
    println!(
        "ratio ours/theirs: {:.2}x APDUs, {:.2}x time (goal: at most 0.50x)",
        ours.0 as f64 / opensc.0.max(1) as f64,
        ours.1.as_secs_f64() / opensc.1.as_secs_f64().max(1e-9)
    );
    match ok {
        Ok(_) => println!("OpenSSL's .p7m passes pec-sign's verifier"),
        Err(e) => println!("OpenSSL's .p7m refused by pec-sign's verifier: {e}"),
    }
    Ok(())
}

/// Runs `f` `rounds` times; returns the median APDU count and wall time.
fn measure(
    sim: &SimCard,
    rounds: usize,
    mut f: impl FnMut() -> Result<(), String>,
) -> Result<(usize, Duration), String> {
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds.max(1) {
        sim.clear_apdu_log();
        let t = Instant::now();
        f()?;
        samples.push((sim.apdu_log().len(), t.elapsed()));
    }
    samples.sort_by_key(|s| s.1);
    Ok(samples[samples.len() / 2])
}

fn openssl_verify(dir: &Path, p7m: &[u8], ca_pem: &Path) -> Result<(), String> {
    let path = dir.join("check.p7m");
    std::fs::write(&path, p7m).map_err(|e| e.to_string())?;
    let out = Command::new("openssl")
        .args([
            "cms", "-verify", "-cades", "-binary", "-inform", "DER", "-in",
        ])
        .arg(&path)
        .arg("-CAfile")
        .arg(ca_pem)
        .args(["-out", "/dev/null"])
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "openssl cms -verify: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Percent-encoding for a PKCS#11 URI attribute value.
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(&String::from_utf8_lossy(chunk));
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

/// A PDF-like document of `n` bytes.
fn document(n: usize) -> Vec<u8> {
    let mut d = b"%PDF-1.7\n% Modulo di richiesta di identificazione del titolare\n".to_vec();
    let mut x: u32 = 0x1234_5678;
    while d.len() < n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        d.push((x & 0xFF) as u8);
    }
    d.truncate(n);
    d
}
