//! The plain-phase data of the CIE's secure channel and the DAPP messages.
//!
//! - GET DATA answers (DH domain parameters, the CA key of the terminal chain, the chip's DH
//!   public value) are BER-TLV; [`parse_get_data`] finds the wanted leaf.
//! - DAPP signs with ISO/IEC 9796-2 scheme 1 and SHA-256: `6A || M1 || SHA-256(M) || BC`,
//!   `M1` the first `k − 34` bytes of the message (the rest, if any, travels beside the
//!   signature as the "remainder"). Raw RSA is `BigUint::modpow` from the `rsa` crate.

use iso7816_tlv::ber::{Tag, Tlv, Value};
use rand_core::{OsRng, RngCore};
use rsa::BigUint;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::consts;
use crate::error::CardError;

/// Largest GET DATA answer parsed: the biggest real one (the Gemalto g‖p‖q answer) is about
/// 600 bytes; the cap also bounds the TLV parser's recursion on hostile input.
const MAX_GET_DATA: usize = 2048;

/// DH domain parameters, as the card sent them (big-endian, no sign byte).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhParams {
    /// Generator.
    pub g: Vec<u8>,
    /// Prime modulus.
    pub p: Vec<u8>,
    /// Order of the subgroup.
    pub q: Vec<u8>,
}

/// The CA key that certifies terminals (GET DATA of key 0x84).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtAuthCa {
    /// Modulus.
    pub modulus: Vec<u8>,
    /// Public exponent.
    pub public_exponent: Vec<u8>,
    /// Certificate holder reference of the CA (`5F20`).
    pub chr: Vec<u8>,
    /// Certificate holder authorisation (`5F4C`).
    pub cha: Vec<u8>,
}

impl ExtAuthCa {
    /// Certification authority reference: the CHR without its first four bytes.
    pub fn car(&self) -> &[u8] {
        self.chr.get(4..).unwrap_or_default()
    }

    /// The application identifier part of the CHA (six bytes).
    pub fn aid(&self) -> &[u8] {
        self.cha.get(..6).unwrap_or(&self.cha)
    }
}

fn malformed(what: &str) -> CardError {
    CardError::Malformed {
        what: format!("GET DATA: {what}"),
    }
}

/// Finds the first primitive object with `tag` anywhere in a GET DATA answer.
pub fn parse_get_data(answer: &[u8], tag: u32) -> Result<Vec<u8>, CardError> {
    if answer.len() > MAX_GET_DATA {
        return Err(malformed("answer too long"));
    }
    let tag = Tag::try_from(tag).map_err(|_| malformed("tag"))?;
    let mut rest = answer;
    while !rest.is_empty() {
        let (tlv, after) = Tlv::parse(rest);
        let tlv = tlv.map_err(|_| malformed("not BER-TLV"))?;
        if let Some(found) = tlv.find(&tag)
            && let Value::Primitive(v) = found.value()
        {
            return Ok(v.clone());
        }
        if after.len() >= rest.len() {
            break;
        }
        rest = after;
    }
    Err(malformed("object missing"))
}

/// Parses the CA key answer (tags 81, 82, 5F20, 5F4C under 7F49).
pub fn parse_ext_auth_ca(answer: &[u8]) -> Result<ExtAuthCa, CardError> {
    let ca = ExtAuthCa {
        modulus: strip_zeros(parse_get_data(answer, 0x81)?),
        public_exponent: strip_zeros(parse_get_data(answer, 0x82)?),
        chr: parse_get_data(answer, 0x5F20)?,
        cha: parse_get_data(answer, 0x5F4C)?,
    };
    if ca.modulus.len() < 64 || ca.public_exponent.is_empty() || ca.chr.len() < 5 {
        return Err(malformed("CA key too short"));
    }
    Ok(ca)
}

/// Parses EF.IntAuth / EF.IntAuthServizi: `SEQUENCE { INTEGER n, INTEGER e }`.
pub fn parse_rsa_public_key(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), CardError> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::traits::PublicKeyParts;
    let len = crate::cert::der_total_len(der).ok_or_else(|| CardError::Malformed {
        what: "chip key: not DER".into(),
    })?;
    let der = der.get(..len).ok_or_else(|| CardError::Malformed {
        what: "chip key: truncated".into(),
    })?;
    let key = rsa::RsaPublicKey::from_pkcs1_der(der).map_err(|e| CardError::Malformed {
        what: format!("chip key: {e}"),
    })?;
    Ok((key.n().to_bytes_be(), key.e().to_bytes_be()))
}

pub(crate) fn strip_zeros(mut v: Vec<u8>) -> Vec<u8> {
    let n = v.iter().take_while(|&&b| b == 0).count();
    v.drain(..n);
    v
}

/// Raw RSA: `m^e mod n`, left-padded to the modulus length.
pub fn rsa_raw(m: &[u8], e: &[u8], n: &[u8]) -> Vec<u8> {
    let n_int = BigUint::from_bytes_be(n);
    let out = BigUint::from_bytes_be(m).modpow(&BigUint::from_bytes_be(e), &n_int);
    left_pad(&out.to_bytes_be(), n.len())
}

pub(crate) fn left_pad(b: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len.saturating_sub(b.len())];
    out.extend_from_slice(b);
    out
}

/// Our half of the DH agreement.
pub struct DhKeyPair {
    x: Zeroizing<Vec<u8>>,
    /// `g^x mod p`, as long as p.
    pub public: Vec<u8>,
}

impl DhKeyPair {
    /// A random exponent below q (odd, like the reference hosts), and its public value.
    pub fn generate(params: &DhParams) -> Result<DhKeyPair, CardError> {
        let q = BigUint::from_bytes_be(&params.q);
        if params.q.is_empty() || params.p.len() < 64 {
            return Err(malformed("DH parameters too short"));
        }
        let mut x = Zeroizing::new(vec![0u8; params.q.len()]);
        for _ in 0..64 {
            OsRng.fill_bytes(&mut x);
            if let Some(last) = x.last_mut() {
                *last |= 1;
            }
            if BigUint::from_bytes_be(&x) < q {
                let public = rsa_raw(&params.g, &x, &params.p);
                return Ok(DhKeyPair { x, public });
            }
        }
        Err(malformed("cannot draw a DH exponent below q"))
    }

    /// The shared secret with the card's public value, as long as p.
    pub fn agree(&self, card_public: &[u8], params: &DhParams) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(rsa_raw(card_public, &self.x, &params.p))
    }
}

/// ISO/IEC 9796-2 scheme 1 signature with SHA-256 over `message` (recoverable part first).
/// Returns the signature and the non-recoverable remainder.
pub fn iso9796_sign(message: &[u8], d: &[u8], n: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let k = n.len();
    let capacity = k.saturating_sub(34);
    let (m1, rest) = message.split_at(message.len().min(capacity));
    let mut block = Vec::with_capacity(k);
    block.push(0x6A);
    block.extend_from_slice(m1);
    // A short message is padded with 0xBB... (ISO 9796-2 partial recovery is not needed:
    // both DAPP messages fill the block, so this only keeps the length right).
    while block.len() < k - 33 {
        block.push(0xBB);
    }
    block.extend_from_slice(&Sha256::digest(message));
    block.push(0xBC);
    (rsa_raw(&block, d, n), rest.to_vec())
}

/// Opens an ISO/IEC 9796-2 scheme 1 / SHA-256 block: `(M1, H)` if the frame is right.
pub fn iso9796_open(signature: &[u8], e: &[u8], n: &[u8]) -> Option<(Vec<u8>, [u8; 32])> {
    if signature.len() > n.len() || BigUint::from_bytes_be(signature) >= BigUint::from_bytes_be(n) {
        return None;
    }
    let block = rsa_raw(signature, e, n);
    let k = block.len();
    if k < 34 || block[0] != 0x6A || block[k - 1] != 0xBC {
        return None;
    }
    let mut h = [0u8; 32];
    h.copy_from_slice(&block[k - 33..k - 1]);
    Some((block[1..k - 33].to_vec(), h))
}

/// The terminal's card-verifiable certificate, signed with the CA key: `7F21 { 5F37 sig,
/// 5F38 remainder, 42 CAR }`. Its body is the raw concatenation CPI ‖ CAR ‖ CHR ‖ CHA ‖ OID ‖
/// modulus ‖ exponent, with CHR = `00000000` ‖ snIFD and CHA = the CA's AID ‖ `01`.
pub fn terminal_certificate(ca: &ExtAuthCa) -> Vec<u8> {
    let modulus = consts::hex_table(consts::IFD_MODULUS_HEX);
    let mut body = vec![consts::CVC_CPI];
    body.extend_from_slice(ca.car());
    body.extend_from_slice(&terminal_chr());
    body.extend_from_slice(ca.aid());
    body.push(0x01);
    body.extend_from_slice(&consts::CVC_OID_PREFIX);
    body.push(consts::CVC_OID_SHA256);
    body.extend_from_slice(&modulus);
    body.extend_from_slice(&consts::IFD_PUBLIC_EXPONENT);
    let d = Zeroizing::new(consts::hex_table(consts::CA_PRIVATE_EXPONENT_HEX));
    let (sig, remainder) = iso9796_sign(&body, &d, &ca.modulus);
    let mut inner = Vec::new();
    tlv(&mut inner, &[0x5F, 0x37], &sig);
    tlv(&mut inner, &[0x5F, 0x38], &remainder);
    tlv(&mut inner, &[0x42], ca.car());
    let mut out = Vec::new();
    tlv(&mut out, &[0x7F, 0x21], &inner);
    out
}

/// The terminal's CHR: four zero bytes and snIFD.
pub fn terminal_chr() -> Vec<u8> {
    let mut chr = vec![0u8; 4];
    chr.extend_from_slice(&consts::SN_IFD);
    chr
}

/// What the host has of the channel when it answers the card's challenge.
pub struct Transcript<'a> {
    /// Our DH public value.
    pub ifd_public: &'a [u8],
    /// The card's DH public value.
    pub icc_public: &'a [u8],
    /// Domain parameters.
    pub params: &'a DhParams,
}

/// EXTERNAL AUTHENTICATE data: snIFD ‖ RSA_d(6A ‖ PRND ‖ SHA-256(PRND ‖ Y ‖ snIFD ‖ challenge ‖
/// ICCpub ‖ g ‖ p ‖ q) ‖ BC).
pub fn external_authenticate(t: &Transcript<'_>, challenge: &[u8]) -> Vec<u8> {
    let n = consts::hex_table(consts::IFD_MODULUS_HEX);
    let d = Zeroizing::new(consts::hex_table(consts::IFD_PRIVATE_EXPONENT_HEX));
    let mut prnd = vec![0u8; n.len() - 34];
    OsRng.fill_bytes(&mut prnd);
    let mut h = Sha256::new();
    h.update(&prnd);
    h.update(t.ifd_public);
    h.update(consts::SN_IFD);
    h.update(challenge);
    h.update(t.icc_public);
    h.update(&t.params.g);
    h.update(&t.params.p);
    h.update(&t.params.q);
    let mut block = vec![0x6A];
    block.extend_from_slice(&prnd);
    block.extend_from_slice(&h.finalize());
    block.push(0xBC);
    let mut out = consts::SN_IFD.to_vec();
    out.extend_from_slice(&rsa_raw(&block, &d, &n));
    out
}

/// Checks the chip's INTERNAL AUTHENTICATE answer (SN_ICC ‖ signature) with the EF.IntAuth
/// key: the signature must open to 6A ‖ PRND2 ‖ SHA-256(PRND2 ‖ ICCpub ‖ SN_ICC ‖ rndIFD ‖ Y ‖
/// g ‖ p ‖ q) ‖ BC.
pub fn check_chip_answer(
    t: &Transcript<'_>,
    answer: &[u8],
    rnd_ifd: &[u8],
    chip_n: &[u8],
    chip_e: &[u8],
) -> bool {
    let Some((sn_icc, sig)) = answer.split_at_checked(8) else {
        return false;
    };
    let Some((prnd2, h)) = iso9796_open(sig, chip_e, chip_n) else {
        return false;
    };
    let mut d = Sha256::new();
    d.update(&prnd2);
    d.update(t.icc_public);
    d.update(sn_icc);
    d.update(rnd_ifd);
    d.update(t.ifd_public);
    d.update(&t.params.g);
    d.update(&t.params.p);
    d.update(&t.params.q);
    d.finalize().as_slice() == h
}

fn tlv(out: &mut Vec<u8>, tag: &[u8], value: &[u8]) {
    out.extend_from_slice(tag);
    super::sm::push_len(out, value.len());
    out.extend_from_slice(value);
}

/// A TLV with a one- or two-byte tag, for building MSE data.
pub fn tlv_bytes(tag: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    tlv(&mut out, tag, value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_data_leaves() {
        // 70 { BF A1 01 { A3 { 97 01 05 } } }
        let answer = [
            0x70, 0x09, 0xBF, 0xA1, 0x01, 0x05, 0xA3, 0x03, 0x97, 0x01, 0x05,
        ];
        assert_eq!(parse_get_data(&answer, 0x97).expect("g"), vec![5]);
        assert!(parse_get_data(&answer, 0x98).is_err());
        assert!(parse_get_data(&[0x70, 0x05, 0xBF], 0x97).is_err());
        assert!(parse_get_data(&[], 0x97).is_err());
    }

    #[test]
    fn iso9796_round_trip() {
        let n = consts::hex_table(consts::IFD_MODULUS_HEX);
        let d = consts::hex_table(consts::IFD_PRIVATE_EXPONENT_HEX);
        let msg: Vec<u8> = (0..300u16).map(|i| i as u8).collect();
        let (sig, rest) = iso9796_sign(&msg, &d, &n);
        assert_eq!(rest.len(), 300 - (256 - 34));
        let (m1, h) = iso9796_open(&sig, &consts::IFD_PUBLIC_EXPONENT, &n).expect("open");
        let mut full = m1.clone();
        full.extend_from_slice(&rest);
        assert_eq!(full, msg);
        assert_eq!(h.as_slice(), Sha256::digest(&msg).as_slice());
        let mut bad = sig.clone();
        bad[10] ^= 1;
        assert!(iso9796_open(&bad, &consts::IFD_PUBLIC_EXPONENT, &n).is_none());
    }
}
