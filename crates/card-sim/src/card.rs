//! The card itself: an ISO 7816-4 command interpreter over a CNS file system.
//!
//! [`VirtualCard`] knows nothing about sockets, so it can be driven in-process by unit tests
//! (through [`VirtualCard::transmit`]) as well as by the vpcd link in [`crate::vpcd`].
//! It models what a host can observe on real CNS cards: SELECT by FID and by path, READ BINARY
//! offsets and `Le` handling, PIN counters that survive power cycles while the "verified" state
//! does not, the security environment, and raw RSA for PSO: COMPUTE DIGITAL SIGNATURE.

use std::collections::{BTreeMap, BTreeSet};

use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey};

use crate::SimError;
use crate::pki::{self, CardCredentials};
use crate::profile::{Layout, Profile, WrongLe};

/// Status words the emulator answers with.
pub mod sw {
    /// Success.
    pub const OK: u16 = 0x9000;
    /// End of file reached before `Le` bytes.
    pub const EOF_BEFORE_LE: u16 = 0x6282;
    /// Wrong length (Lc/Le, or an extended APDU on a short-only card).
    pub const WRONG_LENGTH: u16 = 0x6700;
    /// Command chaining not supported for this command.
    pub const CHAINING_UNSUPPORTED: u16 = 0x6884;
    /// Security status not satisfied (PIN not verified).
    pub const SECURITY_NOT_SATISFIED: u16 = 0x6982;
    /// Authentication method blocked.
    pub const BLOCKED: u16 = 0x6983;
    /// Conditions of use not satisfied.
    pub const CONDITIONS: u16 = 0x6985;
    /// Command not allowed (no current EF).
    pub const NO_CURRENT_EF: u16 = 0x6986;
    /// Incorrect data.
    pub const WRONG_DATA: u16 = 0x6A80;
    /// Function not supported.
    pub const FUNC_NOT_SUPPORTED: u16 = 0x6A81;
    /// File not found.
    pub const FILE_NOT_FOUND: u16 = 0x6A82;
    /// Incorrect P1-P2.
    pub const WRONG_P1P2: u16 = 0x6A86;
    /// Referenced data not found.
    pub const REF_NOT_FOUND: u16 = 0x6A88;
    /// Offset outside the EF.
    pub const WRONG_OFFSET: u16 = 0x6B00;
    /// Instruction not supported.
    pub const INS_NOT_SUPPORTED: u16 = 0x6D00;
    /// Class not supported.
    pub const CLA_NOT_SUPPORTED: u16 = 0x6E00;
}

/// One exchanged APDU as the card saw it. VERIFY / CHANGE / RESET RETRY COUNTER data (PINs)
/// is never stored: only its length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApduRecord {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// P1.
    pub p1: u8,
    /// P2.
    pub p2: u8,
    /// Command data; empty when redacted.
    pub data: Vec<u8>,
    /// Length of the command data, also when redacted.
    pub data_len: usize,
    /// Whether the command used extended length.
    pub extended: bool,
    /// Status word answered.
    pub sw: u16,
    /// Length of the response data (without SW).
    pub response_len: usize,
}

#[derive(Clone, Debug)]
struct Apdu {
    cla: u8,
    ins: u8,
    p1: u8,
    p2: u8,
    data: Vec<u8>,
    /// Ne, with the "zero" encodings already expanded (256 short, 65536 extended).
    le: Option<usize>,
    extended: bool,
}

impl Apdu {
    /// Parses the four ISO 7816-3 cases, short and extended; `None` for malformed framing.
    fn parse(b: &[u8]) -> Option<Apdu> {
        let (cla, ins, p1, p2) = (b[0], b[1], b[2], b[3]);
        let mk = |data: &[u8], le: Option<usize>, extended| {
            Some(Apdu {
                cla,
                ins,
                p1,
                p2,
                data: data.to_vec(),
                le,
                extended,
            })
        };
        let body = &b[4..];
        match body.len() {
            0 => mk(&[], None, false),
            1 => mk(&[], Some(short_ne(body[0])), false),
            _ if body[0] != 0 => {
                let lc = usize::from(body[0]);
                if body.len() == 1 + lc {
                    mk(&body[1..], None, false)
                } else if body.len() == 2 + lc {
                    mk(&body[1..1 + lc], Some(short_ne(body[1 + lc])), false)
                } else {
                    None
                }
            }
            3 => mk(&[], Some(ext_ne(body[1], body[2])), true),
            n if n > 3 => {
                let lc = usize::from(u16::from_be_bytes([body[1], body[2]]));
                if lc == 0 {
                    return None;
                }
                if n == 3 + lc {
                    mk(&body[3..], None, true)
                } else if n == 5 + lc {
                    let le = ext_ne(body[3 + lc], body[4 + lc]);
                    mk(&body[3..3 + lc], Some(le), true)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// Whether Le asked for "as much as there is" (the zero encoding).
    fn le_is_max(&self) -> bool {
        matches!(
            (self.le, self.extended),
            (Some(256), false) | (Some(65536), true)
        )
    }
}

fn short_ne(b: u8) -> usize {
    if b == 0 { 256 } else { usize::from(b) }
}

fn ext_ne(hi: u8, lo: u8) -> usize {
    match u16::from_be_bytes([hi, lo]) {
        0 => 65536,
        n => usize::from(n),
    }
}

#[derive(Clone, Debug)]
struct PinObject {
    /// Stored value, padded with 0xFF to 8 bytes as CNS cards store it.
    value: Vec<u8>,
    tries_left: u8,
    max_tries: u8,
    /// DF in which the object is defined (path from the MF, 3F00 included).
    df: Vec<u16>,
}

#[derive(Clone)]
struct KeyObject {
    key: RsaPrivateKey,
    /// PIN that must be verified before the key may sign.
    pin_ref: u8,
}

/// File paths every CNS has (3F00 prefix included).
pub mod paths {
    /// EF_IDCarta: card serial, 16 bytes.
    pub const ID_CARTA: &[u16] = &[0x3F00, 0x1000, 0x1003];
    /// EF_DatiPersonali.
    pub const DATI_PERSONALI: &[u16] = &[0x3F00, 0x1100, 0x1102];
    /// Classic authentication certificate.
    pub const AUTH_CERT_CLASSIC: &[u16] = &[0x3F00, 0x1100, 0x1101];
    /// IDEMIA 2021 authentication certificate.
    pub const AUTH_CERT_IDEMIA: &[u16] = &[0x3F00, 0x1400, 0x9001, 0x2002];
    /// Classic DF_DS signature certificate.
    pub const SIGN_CERT: &[u16] = &[0x3F00, 0x1400, 0x9010];
}

/// An emulated CNS card.
pub struct VirtualCard {
    profile: Profile,
    creds: CardCredentials,
    dfs: BTreeSet<Vec<u16>>,
    efs: BTreeMap<Vec<u16>, Vec<u8>>,
    pins: BTreeMap<u8, PinObject>,
    keys: BTreeMap<u8, KeyObject>,
    // Volatile state, lost at reset / power off.
    current_df: Vec<u16>,
    current_ef: Option<Vec<u16>>,
    verified: BTreeSet<u8>,
    sign_key: Option<u8>,
    decipher_key: Option<u8>,
    chain: Vec<u8>,
    pending: Vec<u8>,
    log: Vec<ApduRecord>,
}

impl std::fmt::Debug for VirtualCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualCard")
            .field("profile", &self.profile.name)
            .finish_non_exhaustive()
    }
}

/// PIN and PUK every emulated card is personalised with.
pub const DEFAULT_PIN: &str = "12345678";
/// PUK of every emulated card.
pub const DEFAULT_PUK: &str = "87654321";
/// PIN of the DF_DS signature key, on profiles that have one.
pub const DEFAULT_SIGN_PIN: &str = "11223344";

impl VirtualCard {
    /// Personalises a card for `profile`, issuing its certificates now.
    pub fn new(profile: Profile) -> Result<VirtualCard, SimError> {
        let personal = dati_personali(&profile);
        let creds = pki::issue(&profile, &pki::personal_data_hash(&personal))?;

        let mut dfs = BTreeSet::new();
        let mut efs = BTreeMap::new();
        for df in [
            &[0x3F00][..],
            &[0x3F00, 0x1000],
            &[0x3F00, 0x1100],
            &[0x3F00, 0x1400],
        ] {
            dfs.insert(df.to_vec());
        }
        efs.insert(vec![0x3F00, 0x1000, 0x1002], b"PEC-SIM-CPU-0001".to_vec());
        efs.insert(paths::ID_CARTA.to_vec(), profile.serial.as_bytes().to_vec());
        efs.insert(paths::DATI_PERSONALI.to_vec(), personal);

        let mut keys = BTreeMap::new();
        let mut pins = BTreeMap::new();
        let pin = |v: &str, tries: u8, max: u8, df: &[u16]| PinObject {
            value: pad_pin(v.as_bytes()),
            tries_left: tries,
            max_tries: max,
            df: df.to_vec(),
        };
        pins.insert(0x10, pin(DEFAULT_PIN, profile.pin_tries_left, 3, &[0x3F00]));
        pins.insert(0x11, pin(DEFAULT_PUK, 10, 10, &[0x3F00]));

        match profile.layout {
            Layout::Classic => {
                efs.insert(paths::AUTH_CERT_CLASSIC.to_vec(), creds.auth_cert.clone());
                keys.insert(
                    0x01,
                    KeyObject {
                        key: creds.auth_key.clone(),
                        pin_ref: 0x10,
                    },
                );
            }
            Layout::Idemia2021 => {
                dfs.insert(vec![0x3F00, 0x1400, 0x9001]);
                dfs.insert(vec![0x3F00, 0x1400, 0x9002]);
                efs.insert(paths::AUTH_CERT_IDEMIA.to_vec(), creds.auth_cert.clone());
                keys.insert(
                    0x02,
                    KeyObject {
                        key: creds.auth_key.clone(),
                        pin_ref: 0x10,
                    },
                );
            }
        }
        if let Some((key, cert)) = &creds.signature {
            let key_df = [0x3F00, 0x1400, 0x8110];
            dfs.insert(key_df.to_vec());
            efs.insert(paths::SIGN_CERT.to_vec(), cert.clone());
            pins.insert(0x1A, pin(DEFAULT_SIGN_PIN, 3, 3, &key_df));
            pins.insert(0x1B, pin(DEFAULT_PUK, 10, 10, &key_df));
            keys.insert(
                0x10,
                KeyObject {
                    key: key.clone(),
                    pin_ref: 0x1A,
                },
            );
        }

        Ok(VirtualCard {
            profile,
            creds,
            dfs,
            efs,
            pins,
            keys,
            current_df: vec![0x3F00],
            current_ef: None,
            verified: BTreeSet::new(),
            sign_key: None,
            decipher_key: None,
            chain: Vec::new(),
            pending: Vec::new(),
            log: Vec::new(),
        })
    }

    /// The profile this card was built from.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Keys and certificates of this card.
    pub fn credentials(&self) -> &CardCredentials {
        &self.creds
    }

    /// Content of an EF by absolute path (3F00 included), for tests that compare bytes.
    pub fn file(&self, path: &[u16]) -> Option<&[u8]> {
        self.efs.get(path).map(Vec::as_slice)
    }

    /// Tries left on the PIN with base reference `pin_ref` (0x10 = authentication PIN).
    pub fn tries_left(&self, pin_ref: u8) -> Option<u8> {
        self.pins.get(&pin_ref).map(|p| p.tries_left)
    }

    /// The APDUs seen since start (or since [`VirtualCard::clear_log`]).
    pub fn log(&self) -> &[ApduRecord] {
        &self.log
    }

    /// Forgets the APDU log.
    pub fn clear_log(&mut self) {
        self.log.clear();
    }

    /// Power-on / warm reset: everything volatile is lost, counters and files stay.
    pub fn reset(&mut self) {
        self.current_df = vec![0x3F00];
        self.current_ef = None;
        self.verified.clear();
        self.sign_key = None;
        self.decipher_key = None;
        self.chain.clear();
        self.pending.clear();
    }

    /// Processes one command APDU and returns the response APDU (data + SW1 SW2).
    pub fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        let response = if command.len() < 4 {
            sw_only(sw::WRONG_LENGTH)
        } else {
            match Apdu::parse(command) {
                None => sw_only(sw::WRONG_LENGTH),
                Some(apdu) => {
                    let r = self.dispatch(&apdu);
                    self.record(&apdu, &r);
                    return r;
                }
            }
        };
        self.log.push(ApduRecord {
            cla: command.first().copied().unwrap_or(0),
            ins: command.get(1).copied().unwrap_or(0),
            p1: command.get(2).copied().unwrap_or(0),
            p2: command.get(3).copied().unwrap_or(0),
            data: Vec::new(),
            data_len: command.len().saturating_sub(4),
            extended: false,
            sw: sw::WRONG_LENGTH,
            response_len: 0,
        });
        response
    }

    fn record(&mut self, apdu: &Apdu, response: &[u8]) {
        let secret = matches!(apdu.ins, 0x20 | 0x24 | 0x2C);
        let n = response.len();
        let sw = if n >= 2 {
            u16::from_be_bytes([response[n - 2], response[n - 1]])
        } else {
            0
        };
        self.log.push(ApduRecord {
            cla: apdu.cla,
            ins: apdu.ins,
            p1: apdu.p1,
            p2: apdu.p2,
            data: if secret {
                Vec::new()
            } else {
                apdu.data.clone()
            },
            data_len: apdu.data.len(),
            extended: apdu.extended,
            sw,
            response_len: n.saturating_sub(2),
        });
    }

    fn dispatch(&mut self, apdu: &Apdu) -> Vec<u8> {
        if apdu.extended && !self.profile.extended_length {
            return sw_only(sw::WRONG_LENGTH);
        }
        let chained = apdu.cla & 0x10 != 0;
        if apdu.cla & !0x10 != 0x00 {
            return sw_only(sw::CLA_NOT_SUPPORTED);
        }
        if apdu.ins != 0xC0 {
            // Any other command discards a response still waiting for GET RESPONSE.
            self.pending.clear();
        }
        if chained && apdu.ins != 0x2A {
            return sw_only(sw::CHAINING_UNSUPPORTED);
        }
        if apdu.ins != 0x2A && !self.chain.is_empty() {
            self.chain.clear();
        }
        match apdu.ins {
            0xA4 => self.select(apdu),
            0xB0 => self.read_binary(apdu),
            0x20 => self.verify(apdu),
            0x2C => self.reset_retry_counter(apdu),
            0x22 => self.manage_se(apdu),
            0x2A if chained => {
                self.chain.extend_from_slice(&apdu.data);
                sw_only(sw::OK)
            }
            0x2A => self.pso(apdu),
            0xC0 => self.get_response(apdu),
            0x84 => self.get_challenge(apdu),
            _ => sw_only(sw::INS_NOT_SUPPORTED),
        }
    }

    // --- SELECT --------------------------------------------------------------------------

    fn select(&mut self, apdu: &Apdu) -> Vec<u8> {
        let fids: Vec<u16> = apdu
            .data
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        if !apdu.data.len().is_multiple_of(2) {
            return sw_only(sw::WRONG_DATA);
        }
        let target = match apdu.p1 {
            0x00 => match fids.as_slice() {
                [] | [0x3F00] => Some(vec![0x3F00]),
                [fid] => self.by_fid(*fid),
                _ => return sw_only(sw::WRONG_DATA),
            },
            0x01 => match fids.as_slice() {
                [fid] => self.child(*fid).filter(|p| self.dfs.contains(p)),
                _ => return sw_only(sw::WRONG_DATA),
            },
            0x02 => match fids.as_slice() {
                [fid] => self.child(*fid).filter(|p| self.efs.contains_key(p)),
                _ => return sw_only(sw::WRONG_DATA),
            },
            0x03 => parent(&self.current_df),
            // No applications by AID on a CNS: a name lookup finds nothing.
            0x04 => None,
            0x08 | 0x09 => {
                let mut path = if apdu.p1 == 0x08 {
                    vec![0x3F00]
                } else {
                    self.current_df.clone()
                };
                let rest = match fids.split_first() {
                    Some((0x3F00, rest)) if apdu.p1 == 0x08 => rest,
                    _ => fids.as_slice(),
                };
                if rest.is_empty() {
                    return sw_only(sw::WRONG_DATA);
                }
                path.extend_from_slice(rest);
                Some(path).filter(|p| self.exists(p))
            }
            _ => return sw_only(sw::WRONG_P1P2),
        };
        let Some(target) = target else {
            return sw_only(sw::FILE_NOT_FOUND);
        };
        let fcp = self.fcp(&target);
        if self.dfs.contains(&target) {
            self.current_df = target;
            self.current_ef = None;
        } else {
            self.current_df = parent(&target).unwrap_or_else(|| vec![0x3F00]);
            self.current_ef = Some(target);
        }
        match apdu.p2 & 0x0C {
            // P2 = 0C: no response data wanted.
            0x0C => sw_only(sw::OK),
            // FCI/FCP requested, but only sent back when the host left room for it (case 4).
            _ if apdu.le.is_none() => sw_only(sw::OK),
            _ => self.respond_case4(fcp, apdu),
        }
    }

    fn exists(&self, p: &[u16]) -> bool {
        self.dfs.contains(p) || self.efs.contains_key(p)
    }

    fn child(&self, fid: u16) -> Option<Vec<u16>> {
        let mut p = self.current_df.clone();
        p.push(fid);
        Some(p).filter(|p| self.exists(p))
    }

    /// ISO 7816-4 select by FID: a child of the current DF, the current DF itself, its parent,
    /// or a sibling DF.
    fn by_fid(&self, fid: u16) -> Option<Vec<u16>> {
        if let Some(p) = self.child(fid) {
            return Some(p);
        }
        if self.current_df.last() == Some(&fid) {
            return Some(self.current_df.clone());
        }
        let parent = parent(&self.current_df)?;
        if parent.last() == Some(&fid) {
            return Some(parent);
        }
        let mut sibling = parent;
        sibling.push(fid);
        Some(sibling).filter(|p| self.dfs.contains(p))
    }

    /// A minimal FCP template: size (EF), descriptor, FID, and the CNS security attributes
    /// (tag 86; first byte = READ condition, 00 = always) that OpenSC's itacns driver decodes.
    fn fcp(&self, path: &[u16]) -> Vec<u8> {
        let fid = path.last().copied().unwrap_or(0x3F00).to_be_bytes();
        let mut body = Vec::new();
        if let Some(data) = self.efs.get(path) {
            let size = u16::try_from(data.len()).unwrap_or(u16::MAX).to_be_bytes();
            body.extend_from_slice(&[0x80, 0x02, size[0], size[1], 0x82, 0x01, 0x01]);
            body.extend_from_slice(&[0x83, 0x02, fid[0], fid[1]]);
            body.extend_from_slice(&[0x86, 0x09, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
            body.push(0xFF);
        } else {
            body.extend_from_slice(&[0x82, 0x01, 0x38, 0x83, 0x02, fid[0], fid[1]]);
            body.extend_from_slice(&[0x86, 0x09, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
            body.push(0xFF);
        }
        let mut out = vec![0x62, u8::try_from(body.len()).unwrap_or(0xFF)];
        out.extend_from_slice(&body);
        out
    }

    // --- READ BINARY ---------------------------------------------------------------------

    fn read_binary(&mut self, apdu: &Apdu) -> Vec<u8> {
        if apdu.p1 & 0x80 != 0 {
            // Short EF identifiers are not used on CNS.
            return sw_only(sw::FUNC_NOT_SUPPORTED);
        }
        let Some(ef) = &self.current_ef else {
            return sw_only(sw::NO_CURRENT_EF);
        };
        let Some(data) = self.efs.get(ef) else {
            return sw_only(sw::NO_CURRENT_EF);
        };
        let Some(ne) = apdu.le else {
            return sw_only(sw::WRONG_LENGTH);
        };
        if !apdu.data.is_empty() {
            return sw_only(sw::WRONG_LENGTH);
        }
        let offset = usize::from(u16::from_be_bytes([apdu.p1 & 0x7F, apdu.p2]));
        if offset >= data.len() {
            return sw_only(sw::WRONG_OFFSET);
        }
        let avail = data.len() - offset;
        if ne <= avail {
            return with_sw(&data[offset..offset + ne], sw::OK);
        }
        if apdu.le_is_max() {
            return with_sw(&data[offset..], sw::OK);
        }
        match self.profile.wrong_le {
            WrongLe::CorrectLength if avail < 256 => {
                sw_only(0x6C00 | u16::try_from(avail).unwrap_or(0))
            }
            _ => with_sw(&data[offset..], sw::EOF_BEFORE_LE),
        }
    }

    // --- PIN -----------------------------------------------------------------------------

    /// Resolves a PIN reference the way the card's mask does (see
    /// [`Profile::pin_search_needs_0x80`]).
    fn resolve_pin(&self, p2: u8) -> Option<u8> {
        let base = p2 & 0x7F;
        let search_parents = p2 & 0x80 != 0;
        let pin = self.pins.get(&base)?;
        if self.profile.pin_search_needs_0x80 {
            let visible = pin.df == self.current_df
                || (search_parents && self.current_df.starts_with(&pin.df));
            visible.then_some(base)
        } else if search_parents {
            None
        } else {
            Some(base)
        }
    }

    fn verify(&mut self, apdu: &Apdu) -> Vec<u8> {
        if apdu.p1 != 0x00 {
            return sw_only(sw::WRONG_P1P2);
        }
        let Some(reference) = self.resolve_pin(apdu.p2) else {
            return sw_only(sw::REF_NOT_FOUND);
        };
        let Some(pin) = self.pins.get_mut(&reference) else {
            return sw_only(sw::REF_NOT_FOUND);
        };
        if pin.tries_left == 0 {
            return sw_only(sw::BLOCKED);
        }
        if !apdu.data.is_empty() && apdu.data.len() != 8 {
            return sw_only(sw::WRONG_LENGTH);
        }
        // Like the cards OpenSC warns about, an empty VERIFY (a "how many tries left?" probe)
        // counts as a failed presentation here: probing must cost the holder a try.
        if !apdu.data.is_empty() && constant_time_eq(&apdu.data, &pin.value) {
            pin.tries_left = pin.max_tries;
            self.verified.insert(reference);
            return sw_only(sw::OK);
        }
        pin.tries_left -= 1;
        self.verified.remove(&reference);
        if pin.tries_left == 0 {
            sw_only(sw::BLOCKED)
        } else {
            sw_only(0x63C0 | u16::from(pin.tries_left))
        }
    }

    /// RESET RETRY COUNTER: P1 = 00 → PUK || new PIN; P1 = 01 → PUK only (counter reset).
    fn reset_retry_counter(&mut self, apdu: &Apdu) -> Vec<u8> {
        let Some(reference) = self.resolve_pin(apdu.p2) else {
            return sw_only(sw::REF_NOT_FOUND);
        };
        let (puk, new_pin) = match (apdu.p1, apdu.data.len()) {
            (0x00, 16) => (&apdu.data[..8], Some(&apdu.data[8..])),
            (0x01, 8) => (&apdu.data[..], None),
            (0x00 | 0x01, _) => return sw_only(sw::WRONG_LENGTH),
            _ => return sw_only(sw::WRONG_P1P2),
        };
        let Some(puk_obj) = self.pins.get_mut(&(reference + 1)) else {
            return sw_only(sw::REF_NOT_FOUND);
        };
        if puk_obj.tries_left == 0 {
            return sw_only(sw::BLOCKED);
        }
        if !constant_time_eq(puk, &puk_obj.value) {
            puk_obj.tries_left -= 1;
            return match puk_obj.tries_left {
                0 => sw_only(sw::BLOCKED),
                n => sw_only(0x63C0 | u16::from(n.min(15))),
            };
        }
        puk_obj.tries_left = puk_obj.max_tries;
        if let Some(pin) = self.pins.get_mut(&reference) {
            pin.tries_left = pin.max_tries;
            if let Some(v) = new_pin {
                pin.value = v.to_vec();
            }
        }
        sw_only(sw::OK)
    }

    // --- Security environment and signature ----------------------------------------------

    fn manage_se(&mut self, apdu: &Apdu) -> Vec<u8> {
        match (apdu.p1, apdu.p2) {
            // Restore SE #3. The spec's trailing zero byte arrives as an Le of 00.
            (0xF3, 0x03) => {
                self.sign_key = None;
                self.decipher_key = None;
                sw_only(sw::OK)
            }
            (0xF3, _) => sw_only(sw::REF_NOT_FOUND),
            (0xF1 | 0x41, 0xB6) => match apdu.data.as_slice() {
                [0x83 | 0x84, 0x01, key] if self.keys.contains_key(key) => {
                    self.sign_key = Some(*key);
                    sw_only(sw::OK)
                }
                [0x83 | 0x84, 0x01, _] => sw_only(sw::REF_NOT_FOUND),
                _ => sw_only(sw::WRONG_DATA),
            },
            // Decipher is how OpenSC drives raw RSA when it signs through the CNS key.
            (0xF1 | 0x41, 0xB8) => match apdu.data.as_slice() {
                [0x83 | 0x84, 0x01, key] if self.keys.contains_key(key) => {
                    self.decipher_key = Some(*key);
                    sw_only(sw::OK)
                }
                [0x83 | 0x84, 0x01, _] => sw_only(sw::REF_NOT_FOUND),
                _ => sw_only(sw::WRONG_DATA),
            },
            (0xF1 | 0x41, 0xA4) => sw_only(sw::FUNC_NOT_SUPPORTED),
            _ => sw_only(sw::WRONG_P1P2),
        }
    }

    fn pso(&mut self, apdu: &Apdu) -> Vec<u8> {
        let mut data = std::mem::take(&mut self.chain);
        data.extend_from_slice(&apdu.data);
        let key_ref = match (apdu.p1, apdu.p2) {
            (0x9E, 0x9A) => self.sign_key,
            // PSO: DECIPHER; the first byte is the padding indicator (00 = none).
            (0x80, 0x86) => match data.first() {
                Some(0x00) => {
                    data.remove(0);
                    self.decipher_key
                }
                _ => return sw_only(sw::WRONG_DATA),
            },
            _ => return sw_only(sw::WRONG_P1P2),
        };
        let Some(key_ref) = key_ref else {
            return sw_only(sw::CONDITIONS);
        };
        let Some(key) = self.keys.get(&key_ref) else {
            return sw_only(sw::CONDITIONS);
        };
        if !self.verified.contains(&key.pin_ref) {
            return sw_only(sw::SECURITY_NOT_SATISFIED);
        }
        let k = key.key.size();
        if data.len() != k {
            return sw_only(sw::WRONG_LENGTH);
        }
        let m = BigUint::from_bytes_be(&data);
        if &m >= key.key.n() {
            return sw_only(sw::WRONG_DATA);
        }
        let mut rng = rand_core::OsRng;
        let Ok(s) = rsa::hazmat::rsa_decrypt_and_check(&key.key, Some(&mut rng), &m) else {
            return sw_only(sw::WRONG_DATA);
        };
        let raw = s.to_bytes_be();
        let mut signature = vec![0u8; k - raw.len()];
        signature.extend_from_slice(&raw);
        self.respond_case4(signature, apdu)
    }

    // --- Misc ----------------------------------------------------------------------------

    fn get_response(&mut self, apdu: &Apdu) -> Vec<u8> {
        if self.pending.is_empty() {
            return sw_only(sw::CONDITIONS);
        }
        let n = apdu.le.unwrap_or(256).min(self.pending.len());
        let chunk: Vec<u8> = self.pending.drain(..n).collect();
        let sw = match self.pending.len() {
            0 => sw::OK,
            left => 0x6100 | u16::try_from(left.min(256) & 0xFF).unwrap_or(0),
        };
        with_sw(&chunk, sw)
    }

    fn get_challenge(&mut self, apdu: &Apdu) -> Vec<u8> {
        use rand_core::RngCore;
        match apdu.le {
            // IDEMIA 2021 caps the challenge at 0x20 bytes; all profiles do, to stay strict.
            Some(n @ 1..=0x20) => {
                let mut buf = vec![0u8; n];
                rand_core::OsRng.fill_bytes(&mut buf);
                with_sw(&buf, sw::OK)
            }
            _ => sw_only(sw::WRONG_LENGTH),
        }
    }

    /// Answers a case-4 command: T=0-style cards park the data behind `61xx`.
    fn respond_case4(&mut self, data: Vec<u8>, apdu: &Apdu) -> Vec<u8> {
        if self.profile.get_response && !data.is_empty() {
            let sw = 0x6100 | u16::try_from(data.len().min(256) & 0xFF).unwrap_or(0);
            self.pending = data;
            return sw_only(sw);
        }
        match apdu.le {
            Some(ne) if ne < data.len() && !apdu.le_is_max() => {
                sw_only(0x6C00 | u16::try_from(data.len() & 0xFF).unwrap_or(0))
            }
            _ => with_sw(&data, sw::OK),
        }
    }
}

/// Builds EF_DatiPersonali: 6 ASCII-hex chars of total length, then fields of
/// 2 ASCII-hex length chars + value, in the order OpenSC documents.
pub fn dati_personali(profile: &Profile) -> Vec<u8> {
    let h = &profile.holder;
    let fields = [
        "ITPEC",                      // issuer code
        "01012024",                   // issuing date
        "01012030",                   // expiry date
        &h.surname.to_uppercase(),    // last name
        &h.given_name.to_uppercase(), // first name
        h.birth_date,                 // birth date
        h.sex,                        // sex
        "",                           // height
        h.codice_fiscale,             // codice fiscale
        "ITA",                        // citizenship
        h.birth_town_code,            // birth township code
        "",                           // birth country (abroad only)
        "",                           // birth certificate
        h.birth_town_code,            // residence township code
        "VIA DEL PROVA 1",            // residence address
        "",                           // expat notes
    ];
    let mut body = String::new();
    for f in fields {
        body.push_str(&format!("{:02X}{}", f.len(), f));
    }
    format!("{:06X}{}", body.len(), body).into_bytes()
}

fn parent(path: &[u16]) -> Option<Vec<u16>> {
    (path.len() > 1).then(|| path[..path.len() - 1].to_vec())
}

fn pad_pin(pin: &[u8]) -> Vec<u8> {
    let mut v = pin.to_vec();
    v.resize(8, 0xFF);
    v
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn sw_only(sw: u16) -> Vec<u8> {
    sw.to_be_bytes().to_vec()
}

fn with_sw(data: &[u8], sw: u16) -> Vec<u8> {
    let mut v = Vec::with_capacity(data.len() + 2);
    v.extend_from_slice(data);
    v.extend_from_slice(&sw.to_be_bytes());
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ProfileName;

    fn card(p: ProfileName) -> VirtualCard {
        VirtualCard::new(p.profile()).expect("card")
    }

    fn sw_of(r: &[u8]) -> u16 {
        u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]])
    }

    #[test]
    fn parses_all_apdu_cases() {
        let a = Apdu::parse(&[0, 0xB0, 0, 0]).expect("case 1");
        assert_eq!((a.data.len(), a.le), (0, None));
        let a = Apdu::parse(&[0, 0xB0, 0, 0, 0]).expect("case 2");
        assert_eq!(a.le, Some(256));
        let a = Apdu::parse(&[0, 0xA4, 8, 0, 2, 0x10, 0x00]).expect("case 3");
        assert_eq!((a.data, a.le), (vec![0x10, 0], None));
        let a = Apdu::parse(&[0, 0xA4, 8, 0, 2, 0x10, 0x00, 0x10]).expect("case 4");
        assert_eq!(a.le, Some(16));
        let a = Apdu::parse(&[0, 0xB0, 0, 0, 0, 0, 0]).expect("case 2E");
        assert_eq!((a.le, a.extended), (Some(65536), true));
        let mut c = vec![0, 0x2A, 0x9E, 0x9A, 0, 1, 0];
        c.extend(std::iter::repeat_n(7u8, 256));
        c.extend([1, 0]);
        let a = Apdu::parse(&c).expect("case 4E");
        assert_eq!((a.data.len(), a.le), (256, Some(256)));
        assert!(Apdu::parse(&[0, 0xA4, 8, 0, 5, 1]).is_none());
    }

    #[test]
    fn reads_serial_by_path() {
        let mut c = card(ProfileName::Athena2048);
        assert_eq!(
            sw_of(&c.transmit(&[0, 0xA4, 8, 0x0C, 4, 0x10, 0, 0x10, 3])),
            0x9000
        );
        let r = c.transmit(&[0, 0xB0, 0, 0, 0]);
        assert_eq!(&r[..16], b"5210000000031337");
        // Too long an Le on Athena: 6Cxx with the exact length.
        assert_eq!(sw_of(&c.transmit(&[0, 0xB0, 0, 4, 0x20])), 0x6C0C);
    }

    #[test]
    fn stincard_needs_the_search_bit_away_from_the_mf() {
        let mut c = card(ProfileName::Stincard2048);
        c.transmit(&[0, 0xA4, 8, 0x0C, 4, 0x11, 0, 0x11, 1]);
        let mut verify = vec![0, 0x20, 0, 0x10, 8];
        verify.extend(pad_pin(DEFAULT_PIN.as_bytes()));
        assert_eq!(sw_of(&c.transmit(&verify)), 0x6A88);
        verify[3] = 0x90;
        assert_eq!(sw_of(&c.transmit(&verify)), 0x9000);
    }

    #[test]
    fn wrong_pin_counts_down_and_blocks() {
        let mut c = card(ProfileName::Athena2048);
        let mut bad = vec![0, 0x20, 0, 0x10, 8];
        bad.extend(pad_pin(b"00000"));
        assert_eq!(sw_of(&c.transmit(&bad)), 0x63C2);
        assert_eq!(sw_of(&c.transmit(&bad)), 0x63C1);
        assert_eq!(sw_of(&c.transmit(&bad)), 0x6983);
        assert_eq!(c.tries_left(0x10), Some(0));
        assert!(
            c.log().iter().all(|r| r.data.is_empty()),
            "PIN data never logged"
        );
    }
}
