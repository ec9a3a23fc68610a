//! ATR recognition must never panic, whatever the reader reports.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let profile = pec_card::CardProfile::from_atr(data);
    let _ = profile.describe();
});
