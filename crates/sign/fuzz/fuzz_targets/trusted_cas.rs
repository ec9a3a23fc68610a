//! CA files given to `pec verify --ca` and to the sandbox's configuration: DER or PEM bundles.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = pec_sign::TrustedCas::from_file_bytes(data);
});
