//! Certificate extraction (DER trimming, X.509 parsing, names, codice fiscale, key size).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = pec_card::Certificate::from_der(data) {
        let _ = cert.validity_at(std::time::SystemTime::now());
        let _ = cert.rsa_public_key();
    }
});
