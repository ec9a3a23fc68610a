//! CIE GET DATA answers (DH domain parameters, the terminal CA key, the chip's DH value) and
//! EF.IntAuth: BER-TLV from the card, parsed without panics.
#![no_main]

use pec_card::cie::dapp;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for tag in [0x97, 0x98, 0x99, 0x91, 0x5F20, 0xBFA101] {
        let _ = dapp::parse_get_data(data, tag);
    }
    let _ = dapp::parse_ext_auth_ca(data);
    let _ = dapp::parse_rsa_public_key(data);
});
