//! The card's half of secure messaging: it unwraps commands and wraps answers.
//!
//! Written apart from `pec-card`'s host half on purpose: a mistake shared by both halves
//! would cancel out and hide itself; two halves written from the same facts, plus the
//! Ministry's middleware as a third party, catch it.

use cbc::cipher::block_padding::Iso7816;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use des::{Des, TdesEde2};
use retail_mac::{KeyInit, Mac, RetailMac};
use sha2::{Digest, Sha256};

/// Session keys and counter, card side.
pub struct CardSm {
    enc: [u8; 16],
    mac: [u8; 16],
    ssc: [u8; 8],
}

/// A command as the card sees it after unwrapping.
pub struct Opened {
    /// Plain data.
    pub data: Vec<u8>,
    /// Le from DO 97, if present.
    pub le: Option<usize>,
}

impl CardSm {
    /// Keys from the DH secret (SHA-256 with counters 1 and 2), SSC = 1.
    pub fn from_secret(secret: &[u8]) -> CardSm {
        let k = |c: u8| {
            let mut h = Sha256::new();
            h.update(secret);
            h.update([0, 0, 0, c]);
            let d = h.finalize();
            let mut k = [0u8; 16];
            k.copy_from_slice(&d[..16]);
            k
        };
        CardSm {
            enc: k(1),
            mac: k(2),
            ssc: [0, 0, 0, 0, 0, 0, 0, 1],
        }
    }

    /// New counter after DAPP.
    pub fn set_ssc(&mut self, ssc: [u8; 8]) {
        self.ssc = ssc;
    }

    fn step(&mut self) {
        let v = u64::from_be_bytes(self.ssc).wrapping_add(1);
        self.ssc = v.to_be_bytes();
    }

    /// Checks and decrypts a protected command. `None` when anything is wrong (the card
    /// then answers 6988 in plain and drops the session).
    pub fn open(&mut self, header: [u8; 4], body: &[u8]) -> Option<Opened> {
        self.step();
        let mut covered = self.ssc.to_vec();
        covered.extend_from_slice(&header);
        pad(&mut covered);
        let mut rest = body;
        let mut enc: Option<&[u8]> = None;
        let mut le = None;
        let mut mac = None;
        while !rest.is_empty() {
            let (tag, value, after) = read_do(rest)?;
            let raw = &rest[..rest.len() - after.len()];
            match tag {
                0x87 => {
                    let (&ind, e) = value.split_first()?;
                    if ind != 1 {
                        return None;
                    }
                    enc = Some(e);
                }
                0x85 => enc = Some(value),
                0x97 => {
                    le = Some(match value {
                        [] | [0] => 256,
                        [n] => usize::from(*n),
                        [0, 0] => 65536,
                        [a, b] => usize::from(u16::from_be_bytes([*a, *b])),
                        _ => return None,
                    })
                }
                0x8E => mac = Some(value),
                _ => return None,
            }
            if tag != 0x8E {
                covered.extend_from_slice(raw);
            }
            rest = after;
        }
        pad(&mut covered);
        if mac? != self.mac(&covered).as_slice() {
            return None;
        }
        let data = match enc {
            Some(e) => self.decrypt(e)?,
            None => Vec::new(),
        };
        Some(Opened { data, le })
    }

    /// Protects an answer: `87 01 enc`, `99 SW`, `8E MAC`. `corrupt` flips a MAC bit (the
    /// "MAC error" profile).
    pub fn seal(&mut self, data: &[u8], sw: u16, corrupt: bool) -> Vec<u8> {
        self.step();
        let mut dos = Vec::new();
        if !data.is_empty() {
            let mut v = vec![1u8];
            v.extend_from_slice(&self.encrypt(data));
            push_tlv(&mut dos, 0x87, &v);
        }
        push_tlv(&mut dos, 0x99, &sw.to_be_bytes());
        let mut covered = self.ssc.to_vec();
        covered.extend_from_slice(&dos);
        pad(&mut covered);
        let mut mac = self.mac(&covered);
        if corrupt {
            mac[0] ^= 0x01;
        }
        push_tlv(&mut dos, 0x8E, &mac);
        dos
    }

    fn encrypt(&self, data: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; (data.len() / 8 + 1) * 8];
        buf[..data.len()].copy_from_slice(data);
        match cbc::Encryptor::<TdesEde2>::new_from_slices(&self.enc, &[0u8; 8]) {
            Ok(e) => e
                .encrypt_padded::<Iso7816>(&mut buf, data.len())
                .map(<[u8]>::to_vec)
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }

    fn decrypt(&self, enc: &[u8]) -> Option<Vec<u8>> {
        if enc.is_empty() || !enc.len().is_multiple_of(8) {
            return None;
        }
        let mut buf = enc.to_vec();
        let d = cbc::Decryptor::<TdesEde2>::new_from_slices(&self.enc, &[0u8; 8]).ok()?;
        let n = d.decrypt_padded::<Iso7816>(&mut buf).ok()?.len();
        buf.truncate(n);
        Some(buf)
    }

    fn mac(&self, padded: &[u8]) -> [u8; 8] {
        let mut out = [0u8; 8];
        if let Ok(mut m) = <RetailMac<Des> as KeyInit>::new_from_slice(&self.mac) {
            m.update(padded);
            out.copy_from_slice(&m.finalize().into_bytes());
        }
        out
    }
}

fn pad(b: &mut Vec<u8>) {
    b.push(0x80);
    while !b.len().is_multiple_of(8) {
        b.push(0);
    }
}

/// A BER length for one-byte-tag objects.
pub fn push_tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    push_len(out, value.len());
    out.extend_from_slice(value);
}

/// BER length octets.
pub fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.push(0x82);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    }
}

/// (tag, value, rest) for a one-byte tag.
pub fn read_do(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&l0, rest) = rest.split_first()?;
    let (len, rest) = match l0 {
        0..=0x7F => (usize::from(l0), rest),
        0x81 => (usize::from(*rest.first()?), rest.get(1..)?),
        0x82 => {
            let l = rest.get(..2)?;
            (
                usize::from(u16::from_be_bytes([l[0], l[1]])),
                rest.get(2..)?,
            )
        }
        _ => return None,
    };
    Some((tag, rest.get(..len)?, rest.get(len..)?))
}
