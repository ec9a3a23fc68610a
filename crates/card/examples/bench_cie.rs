//! Benchmark: "read the certificate, verify the PIN, sign" on each virtual CIE, through
//! pcscd + vpcd, with a fresh connection per round (a new secure channel every time, as when
//! the holder lays the card on the reader again). Prints APDUs and VERIFYs (from the virtual
//! card's own log) and wall time (median and worst of the rounds).
//!
//! Needs the rig: `scripts/bench-cie.sh` starts it, or by hand
//! `source scripts/rig/pcsc.sh && pcsc_rig_start target/pcsc-rig` then
//! `cargo run --release -p pec-card --example bench_cie -- [ROUNDS] [PROFILE…]`.

use std::time::{Duration, Instant};

use pec_card::{Pcsc, Pin};
use pec_card_sim::{CIE_PIN, CieProfileName, SimCard, SimOptions, vpcd_reader_name};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().map_or(Ok(5), |s| s.parse())?;
    let profiles: Vec<CieProfileName> = {
        let named: Vec<_> = args.map(|a| a.parse()).collect::<Result<_, _>>()?;
        if named.is_empty() {
            CieProfileName::LOTS.to_vec()
        } else {
            named
        }
    };
    if std::env::var("PEC_PCSC_RIG").as_deref() != Ok("1") {
        return Err("start the PC/SC rig first (scripts/rig/pcsc.sh), PEC_PCSC_RIG=1".into());
    }
    println!("| virtual CIE | APDUs | VERIFYs | pairing | median ms | worst ms |");
    println!("|---|---:|---:|---|---:|---:|");
    for p in profiles {
        let sim = SimCard::start(SimOptions::cie(p))?;
        if !sim.wait_powered(Duration::from_secs(15)) {
            return Err("pcscd did not power the virtual CIE".into());
        }
        let reader = vpcd_reader_name(0);
        std::thread::sleep(Duration::from_millis(500));
        let pcsc = Pcsc::establish()?;
        let mut times = Vec::with_capacity(rounds);
        let mut apdus = 0;
        let mut verifies = 0;
        for _ in 0..rounds {
            sim.clear_apdu_log();
            let t = Instant::now();
            let mut card = pcsc.connect_cie(&reader)?;
            let pin = Pin::new(CIE_PIN.to_owned())?;
            let signed = card.verify_pin_and_sign(&pin, b"provider nonce 42", |after| {
                // What the app checks before anything goes to the provider.
                let _ = (&after.codice_fiscale, after.validity);
                Ok(())
            })?;
            drop(card);
            times.push(t.elapsed());
            assert_eq!(signed.signature.len(), 256);
            let log = sim.apdu_log();
            apdus = log.len();
            verifies = log.iter().filter(|r| r.ins == 0x20).count();
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "| {p} | {apdus} | {verifies} | none | {:.1} | {:.1} |",
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1])
        );
        sim.stop();
        // Let pcscd see the card leave before the next one connects.
        std::thread::sleep(Duration::from_millis(1500));
    }
    Ok(())
}
