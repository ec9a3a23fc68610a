//! The `.p7m` parser and checks a provider runs on a file from outside: CMS SignedData, signed
//! attributes, signing-certificate-v2, the signer's certificate and its details, the chain walk.
#![no_main]

use std::time::{Duration, SystemTime};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(ins) = pec_sign::verify::inspect(data) {
        let _ = ins.signer.codice_fiscale.as_deref();
    }
    // The seeds' own CA is not trusted here: the chain walk runs to its refusal.
    let trusted = pec_sign::TrustedCas::default();
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let _ = pec_sign::verify::verify(data, &pec_sign::Policy::new(&trusted).at(at));
});
