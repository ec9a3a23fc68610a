//! EF.SOD of a CIE (ICAO `77` wrapper, CMS SignedData, LDS security object): parsed and its
//! signature checked without panics, whatever the card sends.
#![no_main]

use pec_card::cie::{Sod, SodFile};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(sod) = Sod::parse(data) {
        let _ = sod.check(SodFile::IdServizi, b"123456789012");
        let _ = sod.chains_to(&[data.to_vec()]);
    }
});
