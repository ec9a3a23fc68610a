//! The PIN, handled so that it cannot leak: no `Debug`/`Display` content, zeroized on drop,
//! validated before anything is sent (a malformed PIN must not cost the holder a try).

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::CardError;

/// A CNS PIN: 5 to 8 ASCII digits (OpenSC `itacns`: min 5, max 8, stored padded to 8).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Pin(Vec<u8>);

impl Pin {
    /// Takes ownership of `pin` (the caller's copy is consumed and zeroized).
    pub fn new(pin: String) -> Result<Pin, CardError> {
        let mut pin = Zeroizing::new(pin);
        // Terminals and stdin pipes leave a newline; it is not part of the PIN.
        let trimmed = pin.trim_end_matches(['\r', '\n']);
        if !(5..=8).contains(&trimmed.len()) || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
            pin.zeroize();
            return Err(CardError::InvalidPinFormat);
        }
        Ok(Pin(trimmed.as_bytes().to_vec()))
    }

    /// The digits as typed, for cards that take the PIN unpadded (the CIE: exactly 8).
    pub(crate) fn digits(&self) -> &[u8] {
        &self.0
    }

    /// The 8-byte block VERIFY carries: ASCII digits padded with 0xFF.
    pub(crate) fn padded_block(&self) -> Zeroizing<Vec<u8>> {
        let mut block = Zeroizing::new(vec![0xFF; 8]);
        block[..self.0.len()].copy_from_slice(&self.0);
        block
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_and_pads() {
        assert!(Pin::new("1234".into()).is_err());
        assert!(Pin::new("123456789".into()).is_err());
        assert!(Pin::new("12a45".into()).is_err());
        let p = Pin::new("12345\n".into()).expect("valid");
        assert_eq!(p.padded_block().as_slice(), b"12345\xFF\xFF\xFF");
        assert_eq!(format!("{p:?}"), "Pin(***)");
    }
}
