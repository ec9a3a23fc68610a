//! CIE secure messaging: any answer bytes, with fixed session keys, must unwrap to an error or
//! to data, never panic; the counter moves by one either way.
#![no_main]

use pec_card::cie::sm::SmKeys;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut keys = SmKeys::new([0x11; 16], [0x22; 16], [0, 0, 0, 0, 0, 0, 0, 1]);
    let _ = keys.unwrap(data);
    assert_eq!(keys.ssc(), [0, 0, 0, 0, 0, 0, 0, 2]);
    // A second answer on the same channel (the session goes on only after a success).
    let _ = keys.unwrap(data);
});
