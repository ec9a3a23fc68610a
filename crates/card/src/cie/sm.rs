//! Secure messaging of the CIE (ISO 7816-4 §10 as the IAS profile uses it).
//!
//! - Encryption: 2-key triple DES in CBC mode with a zero IV, ISO/IEC 9797-1 padding method 2
//!   (`80 00 …`).
//! - MAC: ISO/IEC 9797-1 MAC algorithm 3 ("retail MAC", single DES with K1 then 3DES on the
//!   last block), zero IV, 8 bytes, over `pad(SSC || CLA INS P1 P2)` and the data objects,
//!   padded again.
//! - The 8-byte send sequence counter (SSC) is incremented before each command is wrapped and
//!   again before each answer is checked.
//! - Command: `87 L 01 || enc` (even INS) or `85 L enc` (odd INS), `97 01 Le`, `8E 08 MAC`.
//!   Answer: `87`/`85`, `99 02 SW1 SW2`, `8E 08 MAC`; the status word that counts is the one
//!   inside `99`, covered by the MAC.
//!
//! Facts from the middleware (`IAS::SM`, `IAS::respSM`) and PagoPA's SDK
//! (`ApduSecureMessageManager`); the code is ours, on RustCrypto's `des`, `cbc` and
//! `retail-mac`.

use cbc::cipher::block_padding::Iso7816;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use des::{Des, TdesEde2};
use retail_mac::{KeyInit, Mac, RetailMac};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{CardError, StatusWord};

/// Session keys and counter of one secure channel.
pub struct SmKeys {
    enc: Zeroizing<[u8; 16]>,
    mac: Zeroizing<[u8; 16]>,
    ssc: [u8; 8],
}

impl std::fmt::Debug for SmKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmKeys(***)")
    }
}

/// A command wrapped for the card: the header's CLA carries the SM bits, `body` the data
/// objects (sent with Le = 00).
#[derive(Debug)]
pub struct Wrapped {
    /// CLA with bits 0x0C set (and 0x10 when chained).
    pub cla: u8,
    /// Instruction.
    pub ins: u8,
    /// P1.
    pub p1: u8,
    /// P2.
    pub p2: u8,
    /// Data objects `87`/`85`, `97`, `8E`.
    pub body: Vec<u8>,
}

/// What went wrong in an answer's protection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmError {
    /// A data object is malformed, unknown or missing.
    Format(&'static str),
    /// The MAC does not match: the answer was altered, or the channel is out of step.
    Mac,
    /// The encrypted data does not decrypt to a padded block.
    Padding,
}

impl SmError {
    pub(crate) fn into_card_error(self) -> CardError {
        CardError::SecureMessaging {
            what: match self {
                SmError::Format(w) => w.to_string(),
                SmError::Mac => "MAC mismatch".into(),
                SmError::Padding => "bad padding in encrypted data".into(),
            },
        }
    }
}

impl SmKeys {
    /// Keys derived from the DH shared secret: `SHA-256(secret || 00000001)[..16]` for
    /// encryption, `|| 00000002` for the MAC; SSC starts at 1.
    pub fn from_secret(secret: &[u8]) -> SmKeys {
        use sha2::{Digest, Sha256};
        let derive = |counter: u8| {
            let mut h = Sha256::new();
            h.update(secret);
            h.update([0, 0, 0, counter]);
            let full = Zeroizing::new(<[u8; 32]>::from(h.finalize()));
            let mut k = Zeroizing::new([0u8; 16]);
            k.copy_from_slice(&full[..16]);
            k
        };
        SmKeys {
            enc: derive(1),
            mac: derive(2),
            ssc: [0, 0, 0, 0, 0, 0, 0, 1],
        }
    }

    /// Keys as given (tests, fuzzing).
    pub fn new(enc: [u8; 16], mac: [u8; 16], ssc: [u8; 8]) -> SmKeys {
        SmKeys {
            enc: Zeroizing::new(enc),
            mac: Zeroizing::new(mac),
            ssc,
        }
    }

    /// After DAPP the counter restarts from the two random numbers exchanged.
    pub fn reset_ssc(&mut self, ssc: [u8; 8]) {
        self.ssc = ssc;
    }

    /// The current counter (tests).
    pub fn ssc(&self) -> [u8; 8] {
        self.ssc
    }

    fn increment(&mut self) {
        for b in self.ssc.iter_mut().rev() {
            let (v, carry) = b.overflowing_add(1);
            *b = v;
            if !carry {
                break;
            }
        }
    }

    /// Wraps one command (no chaining here: the caller splits long data). `le` is the
    /// expected plain length, `Some(256)` for "all".
    pub fn wrap(
        &mut self,
        header: [u8; 4],
        data: &[u8],
        le: Option<usize>,
    ) -> Result<Wrapped, CardError> {
        self.increment();
        let [cla, ins, p1, p2] = header;
        let cla = cla | 0x0C;
        let mut dos: Vec<u8> = Vec::with_capacity(data.len() + 32);
        if !data.is_empty() {
            let enc = self.encrypt(data)?;
            if ins & 1 == 0 {
                push_tlv(&mut dos, 0x87, &[&[0x01], &enc]);
            } else {
                push_tlv(&mut dos, 0x85, &[&enc]);
            }
        }
        if let Some(le) = le {
            push_tlv(&mut dos, 0x97, &[&[if le >= 256 { 0 } else { le as u8 }]]);
        }
        let mut mac_input = Zeroizing::new(Vec::with_capacity(dos.len() + 24));
        mac_input.extend_from_slice(&self.ssc);
        mac_input.extend_from_slice(&[cla, ins, p1, p2]);
        pad(&mut mac_input);
        mac_input.extend_from_slice(&dos);
        pad(&mut mac_input);
        let mac = self.mac(&mac_input);
        push_tlv(&mut dos, 0x8E, &[&mac]);
        Ok(Wrapped {
            cla,
            ins,
            p1,
            p2,
            body: dos,
        })
    }

    /// Checks and opens an answer's data objects (`data` is the answer without its outer
    /// status word). Returns the plain data and the protected status word.
    pub fn unwrap(&mut self, data: &[u8]) -> Result<(Zeroizing<Vec<u8>>, StatusWord), SmError> {
        self.increment();
        let mut rest = data;
        let mut covered = Zeroizing::new(Vec::with_capacity(data.len() + 8));
        covered.extend_from_slice(&self.ssc);
        let mut encrypted: Option<&[u8]> = None;
        let mut sw: Option<StatusWord> = None;
        let mut mac: Option<&[u8]> = None;
        while !rest.is_empty() {
            let start = rest;
            let (tag, value, after) = read_do(rest).ok_or(SmError::Format("data object"))?;
            if mac.is_some() {
                return Err(SmError::Format("data after the MAC"));
            }
            match tag {
                0x87 => {
                    let (&indicator, enc) =
                        value.split_first().ok_or(SmError::Format("empty DO 87"))?;
                    if indicator != 0x01 {
                        return Err(SmError::Format("DO 87 padding indicator"));
                    }
                    if encrypted.replace(enc).is_some() {
                        return Err(SmError::Format("two encrypted data objects"));
                    }
                }
                0x85 => {
                    if encrypted.replace(value).is_some() {
                        return Err(SmError::Format("two encrypted data objects"));
                    }
                }
                0x99 => {
                    let [a, b] = value else {
                        return Err(SmError::Format("DO 99 length"));
                    };
                    sw = Some(StatusWord(u16::from_be_bytes([*a, *b])));
                }
                0x8E => {
                    if value.len() != 8 {
                        return Err(SmError::Format("MAC length"));
                    }
                    mac = Some(value);
                }
                _ => return Err(SmError::Format("unknown data object")),
            }
            if tag != 0x8E {
                covered.extend_from_slice(&start[..start.len() - after.len()]);
            }
            rest = after;
        }
        let mac = mac.ok_or(SmError::Format("no MAC"))?;
        let sw = sw.ok_or(SmError::Format("no protected status word"))?;
        pad(&mut covered);
        let expected = self.mac(&covered);
        if !constant_time_eq(&expected, mac) {
            return Err(SmError::Mac);
        }
        let plain = match encrypted {
            Some(enc) => self.decrypt(enc)?,
            None => Zeroizing::new(Vec::new()),
        };
        Ok((plain, sw))
    }

    fn encrypt(&self, data: &[u8]) -> Result<Vec<u8>, CardError> {
        let mut buf = Zeroizing::new(vec![0u8; (data.len() / 8 + 1) * 8]);
        buf[..data.len()].copy_from_slice(data);
        let enc = cbc::Encryptor::<TdesEde2>::new_from_slices(&self.enc[..], &[0u8; 8]).map_err(
            |_| CardError::SecureMessaging {
                what: "key length".into(),
            },
        )?;
        let out = enc
            .encrypt_padded::<Iso7816>(&mut buf, data.len())
            .map_err(|_| CardError::SecureMessaging {
                what: "padding".into(),
            })?;
        Ok(out.to_vec())
    }

    fn decrypt(&self, enc: &[u8]) -> Result<Zeroizing<Vec<u8>>, SmError> {
        if enc.is_empty() || !enc.len().is_multiple_of(8) {
            return Err(SmError::Padding);
        }
        let mut buf = Zeroizing::new(enc.to_vec());
        let dec = cbc::Decryptor::<TdesEde2>::new_from_slices(&self.enc[..], &[0u8; 8])
            .map_err(|_| SmError::Padding)?;
        let len = dec
            .decrypt_padded::<Iso7816>(&mut buf)
            .map_err(|_| SmError::Padding)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }

    fn mac(&self, padded: &[u8]) -> [u8; 8] {
        // A 16-byte key always fits RetailMac<Des>; the fallback is unreachable.
        let Ok(mut m) = <RetailMac<Des> as KeyInit>::new_from_slice(&self.mac[..]) else {
            return [0; 8];
        };
        m.update(padded);
        let mut out = [0u8; 8];
        out.copy_from_slice(&m.finalize().into_bytes());
        out
    }
}

impl Drop for SmKeys {
    fn drop(&mut self) {
        self.ssc.zeroize();
    }
}

/// ISO/IEC 9797-1 padding method 2, in place.
pub(crate) fn pad(buf: &mut Vec<u8>) {
    buf.push(0x80);
    while !buf.len().is_multiple_of(8) {
        buf.push(0x00);
    }
}

fn push_tlv(out: &mut Vec<u8>, tag: u8, parts: &[&[u8]]) {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    out.push(tag);
    push_len(out, len);
    for p in parts {
        out.extend_from_slice(p);
    }
}

pub(crate) fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.push(0x82);
        out.extend_from_slice(&(len.min(0xFFFF) as u16).to_be_bytes());
    }
}

/// One data object with a one-byte tag: (tag, value, rest).
fn read_do(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&l0, rest) = rest.split_first()?;
    let (len, rest) = match l0 {
        0..=0x7F => (usize::from(l0), rest),
        0x81 => {
            let (&l, rest) = rest.split_first()?;
            (usize::from(l), rest)
        }
        0x82 => {
            let l = rest.get(..2)?;
            (
                usize::from(u16::from_be_bytes([l[0], l[1]])),
                rest.get(2..)?,
            )
        }
        _ => return None,
    };
    let value = rest.get(..len)?;
    Some((tag, value, rest.get(len..)?))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (SmKeys, SmKeys) {
        let k = || SmKeys::new([1; 16], [2; 16], [0, 0, 0, 0, 0, 0, 0, 1]);
        (k(), k())
    }

    /// A card side built from the same primitives, to round-trip.
    fn card_answer(card: &mut SmKeys, data: &[u8], sw: u16) -> Vec<u8> {
        card.increment();
        let mut dos = Vec::new();
        if !data.is_empty() {
            let enc = card.encrypt(data).expect("enc");
            push_tlv(&mut dos, 0x87, &[&[1], &enc]);
        }
        push_tlv(&mut dos, 0x99, &[&sw.to_be_bytes()]);
        let mut covered = card.ssc.to_vec();
        covered.extend_from_slice(&dos);
        pad(&mut covered);
        let mac = card.mac(&covered);
        push_tlv(&mut dos, 0x8E, &[&mac]);
        dos
    }

    #[test]
    fn round_trip_and_counter() {
        let (mut host, mut card) = pair();
        let w = host.wrap([0, 0xB0, 0, 0], &[], Some(0x80)).expect("wrap");
        assert_eq!(w.cla, 0x0C);
        assert_eq!(&w.body[..3], &[0x97, 0x01, 0x80]);
        assert_eq!(host.ssc(), [0, 0, 0, 0, 0, 0, 0, 2]);
        card.increment();
        let answer = card_answer(&mut card, b"hello, card", 0x9000);
        let (plain, sw) = host.unwrap(&answer).expect("unwrap");
        assert_eq!(plain.as_slice(), b"hello, card");
        assert_eq!(sw, StatusWord::OK);
        assert_eq!(host.ssc(), [0, 0, 0, 0, 0, 0, 0, 3]);
    }

    #[test]
    fn a_flipped_bit_is_a_mac_error() {
        let (mut host, mut card) = pair();
        host.increment();
        card.increment();
        let mut answer = card_answer(&mut card, b"data", 0x9000);
        answer[4] ^= 1;
        assert_eq!(host.unwrap(&answer).err(), Some(SmError::Mac));
    }

    #[test]
    fn counter_carries() {
        let mut k = SmKeys::new([1; 16], [2; 16], [0, 0, 0, 0, 0, 0, 0xFF, 0xFF]);
        k.increment();
        assert_eq!(k.ssc(), [0, 0, 0, 0, 0, 1, 0, 0]);
    }

    #[test]
    fn odd_instructions_use_do85() {
        let (mut host, _) = pair();
        let w = host.wrap([0, 0xB1, 0, 0], &[1, 2, 3], None).expect("wrap");
        assert_eq!(w.body[0], 0x85);
        assert_eq!(w.body[1], 8);
    }

    #[test]
    fn garbage_never_panics() {
        let (mut host, _) = pair();
        for input in [
            &[][..],
            &[0x87],
            &[0x87, 0x82, 0xFF],
            &[0x99, 0x02, 0x90],
            &[0x8E, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x99, 2, 0x90, 0],
            &[0x87, 0x01, 0x01],
        ] {
            assert!(host.unwrap(input).is_err());
        }
    }
}
