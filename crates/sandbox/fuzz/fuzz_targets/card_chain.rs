//! The card method's certificate-chain input: what a client sends as `certificate_chain` (up
//! to five DER certificates) and `signature`, verified against the virtual card's test CA.
//! Input layout: a byte with the number of certificates (mod 6), then each certificate as a
//! 2-byte big-endian length and its bytes; the rest is the signature.
#![no_main]

const ANCHOR: &[u8] = include_bytes!("../../../card-sim/test-keys/ca-2048.cert.der");

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&count, mut rest)) = data.split_first() else {
        return;
    };
    let mut chain = Vec::new();
    for _ in 0..(count % 6) {
        let Some((len, tail)) = rest.split_first_chunk::<2>() else {
            break;
        };
        let len = usize::from(u16::from_be_bytes(*len)).min(tail.len());
        let (cert, tail) = tail.split_at(len);
        chain.push(cert.to_vec());
        rest = tail;
    }
    let rules = pec_sandbox::card::Rules {
        legacy_key_issuers: vec![[0u8; 32]],
    };
    let _ = pec_sandbox::card::verify(
        &chain,
        b"PEC-Desktop/card-identification/v1\0fuzz",
        rest,
        &[ANCHOR.to_vec()],
        &rules,
        chrono::Utc::now(),
    );
});
