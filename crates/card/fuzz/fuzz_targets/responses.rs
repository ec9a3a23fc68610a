//! Response handling: a card (or a hostile reader) answering anything to the CNS operations.
//! The input is split into a sequence of raw responses that a scripted link replays.
#![no_main]

use pec_card::{CardError, CnsCard, RawTransmit};

struct Replay<'a> {
    chunks: std::slice::Split<'a, u8, fn(&u8) -> bool>,
    budget: usize,
}

impl RawTransmit for Replay<'_> {
    fn transmit_raw(&mut self, _command: &[u8]) -> Result<Vec<u8>, CardError> {
        // Bounded, so a fuzz input cannot keep the operation looping forever.
        self.budget = self.budget.checked_sub(1).ok_or(CardError::CardRemoved)?;
        self.chunks
            .next()
            .map(<[u8]>::to_vec)
            .ok_or(CardError::CardRemoved)
    }
}

/// STIncard, CNS 1.1: extended length.
const ATR: [u8; 25] = [
    0x3B, 0xFF, 0x18, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x55, 0x00, 0x6B, 0x02, 0x09, 0x07, 0x03, 0x01,
    0x01, 0x01, 0x43, 0x4E, 0x53, 0x11, 0x31, 0x80, 0x67,
];

/// CNS 1.0: short APDUs, chaining and GET RESPONSE paths.
const ATR_V1: [u8; 25] = [
    0x3B, 0xFF, 0x18, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x45, 0x00, 0x6B, 0x04, 0x05, 0x01, 0x00, 0x01,
    0x11, 0x01, 0x43, 0x4E, 0x53, 0x10, 0x31, 0x80, 0x69,
];

fn is_separator(b: &u8) -> bool {
    // A rare byte as separator keeps most responses intact.
    *b == 0xA5
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (atr, rest): (&[u8], &[u8]) = match data.first() {
        Some(b) if b & 1 == 1 => (&ATR_V1, &data[1..]),
        Some(_) => (&ATR, &data[1..]),
        None => (&ATR, data),
    };
    let link = Replay {
        chunks: rest.split(is_separator as fn(&u8) -> bool),
        budget: 64,
    };
    let Ok(mut card) = CnsCard::new(link, atr) else {
        return;
    };
    let _ = card.read_serial();
    let _ = card.read_personal_data();
    let _ = card.read_auth_certificate();
    let _ = card.read_signature_certificate();
    if let Ok(pin) = pec_card::Pin::new("12345678".to_owned()) {
        let _ = card.verify_pin(&pin);
    }
    let _ = card.sign_challenge(b"fuzz");
    if let Ok(pin) = pec_card::Pin::new("1234567".to_owned()) {
        let _ = card.verify_pin_and_sign(&pin, b"fuzz");
    }
});
