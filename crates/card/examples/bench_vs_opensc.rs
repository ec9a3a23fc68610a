//! Benchmark: "read the certificate + verify the PIN + sign a challenge" on the same virtual
//! card, pec-card versus OpenSC (pkcs11-tool, which reads the certificates while binding the
//! token), in the same run. Prints APDU counts (from the emulator's log) and wall time.
//!
//! Needs the rig: `source scripts/rig/pcsc.sh && pcsc_rig_start target/pcsc-rig`, then
//! `cargo run -p pec-card --example bench_vs_opensc -- [profile] [rounds]`.

use std::process::Command;
use std::time::{Duration, Instant};

use pec_card::{CardError, Pcsc, Pin};
use pec_card_sim::{DEFAULT_PIN, ProfileName, SimCard, SimOptions, vpcd_reader_name};

const PKCS11_MODULE: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let profile: ProfileName = args
        .next()
        .unwrap_or_else(|| "stincard-2048".into())
        .parse()?;
    let rounds: usize = args.next().map_or(Ok(5), |s| s.parse())?;
    if std::env::var("PEC_PCSC_RIG").as_deref() != Ok("1") {
        return Err("start the PC/SC rig first (scripts/rig/pcsc.sh), PEC_PCSC_RIG=1".into());
    }

    let sim = SimCard::start(SimOptions::new(profile))?;
    if !sim.wait_powered(Duration::from_secs(15)) {
        return Err("pcscd did not power the virtual card".into());
    }
    let reader = vpcd_reader_name(0);
    std::thread::sleep(Duration::from_millis(500));

    let ours = measure(&sim, rounds, || {
        pec_card_flow(&reader).map_err(|e| e.to_string())
    })?;
    let msg = std::env::temp_dir().join("pec-bench-challenge.bin");
    let sig = std::env::temp_dir().join("pec-bench-signature.bin");
    std::fs::write(&msg, b"provider nonce 42")?;
    let opensc = measure(&sim, rounds, || {
        let out = Command::new("pkcs11-tool")
            .args([
                "--module",
                PKCS11_MODULE,
                "--slot-index",
                "0",
                "--login",
                "--pin",
            ])
            .arg(DEFAULT_PIN)
            .args([
                "--sign",
                "--mechanism",
                "SHA256-RSA-PKCS",
                "--id",
                "01",
                "--input-file",
            ])
            .arg(&msg)
            .arg("--output-file")
            .arg(&sig)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    })?;

    println!("profile: {profile}, {rounds} rounds, median per round");
    println!("| tool | APDUs | wall time |");
    println!("|---|---:|---:|");
    println!(
        "| pec-card | {} | {:.1} ms |",
        ours.0,
        ours.1.as_secs_f64() * 1e3
    );
    println!(
        "| OpenSC pkcs11-tool | {} | {:.1} ms |",
        opensc.0,
        opensc.1.as_secs_f64() * 1e3
    );
    println!(
        "ratio: {:.2}x APDUs, {:.2}x time",
        ours.0 as f64 / opensc.0.max(1) as f64,
        ours.1.as_secs_f64() / opensc.1.as_secs_f64().max(1e-9)
    );
    Ok(())
}

fn pec_card_flow(reader: &str) -> Result<(), CardError> {
    let pcsc = Pcsc::establish()?;
    let mut card = pcsc.connect(reader)?;
    card.read_auth_certificate()?;
    card.verify_pin(&Pin::new(DEFAULT_PIN.to_owned())?)?;
    card.sign_challenge(b"provider nonce 42")?;
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
    let mid = samples[samples.len() / 2];
    Ok(mid)
}
