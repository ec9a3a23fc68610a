//! EF_DatiPersonali parsing: card content, never trusted.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = pec_card::PersonalData::parse(data);
});
