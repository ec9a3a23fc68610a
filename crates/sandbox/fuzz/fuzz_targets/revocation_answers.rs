//! What a CA's server answers to a revocation check: the bytes as a CRL and as an OCSP
//! response, about a certificate of the virtual card's test CA.
#![no_main]

use der::Decode;

const CA: &[u8] = include_bytes!("../../../card-sim/test-keys/ca-2048.cert.der");

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(ca) = x509_cert::Certificate::from_der(CA) else {
        return;
    };
    pec_sandbox::revocation::fuzzing::answers(data, &ca, &ca);
});
