//! Virtual CIE 3.0 cards: the IAS + CIE applications, DH key agreement, DAPP, secure
//! messaging, the PIN, the holder's key and the SOD, as a host can observe them through a
//! contactless reader.
//!
//! The protocol facts are those of `../shared/reference/smartcards.md` §2 (the Ministry's
//! middleware and PagoPA's SDK as they talk to real cards). What the card needs of the
//! terminal side is public: DAPP terminal certificates are signed with a CA private exponent
//! that both public hosts ship, so a card must publish (GET DATA of key 0x84) a CA key whose
//! public half matches it. Our test CA (`test-keys/cie/dapp-ca.hex`) has its own modulus and
//! the exponent e = d⁻¹ mod λ(n) for that published d: any host that works with real cards
//! works with it, and nothing of a real CA is needed.
//!
//! Lots differ in what a host sees: the ATR (NXP, Gemalto, the short STM ATR, Actalis 2023),
//! and whether long answers come whole or through `61xx` + GET RESPONSE (the STM profile).
//! Faults: blocked PIN, expired certificate, someone else's card, a card lifted from the
//! field after N APDUs, a MAC error in the answer that carries the certificate.
//!
//! The APDU log records commands *unwrapped* (the plain INS, P1, P2 and data of a protected
//! command; VERIFY data never), so a test counts VERIFYs whatever the protection.

pub mod pki;
pub mod sm;

use std::fmt;
use std::str::FromStr;

use rand_core::{OsRng, RngCore};
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BigUint, RsaPrivateKey};
use sha2::{Digest, Sha256};

use crate::SimError;
use crate::card::{ApduRecord, sw};
use crate::profile::{CertValidity, Holder};
use sm::{CardSm, push_len, push_tlv, read_do};

/// The PIN of every virtual CIE (8 digits).
pub const CIE_PIN: &str = "12345678";

const IAS_AID: [u8; 13] = [
    0xA0, 0x00, 0x00, 0x00, 0x30, 0x80, 0x00, 0x00, 0x00, 0x09, 0x81, 0x60, 0x01,
];
const CIE_AID: [u8; 6] = [0xA0, 0x00, 0x00, 0x00, 0x00, 0x39];
/// Certificate holder reference of our DAPP CA (the CAR is its last 8 bytes).
const CA_CHR: [u8; 12] = [0, 0, 0, 0, b'I', b'T', b'T', b'E', b'S', b'T', 0, 1];
/// Certificate holder authorisation of our DAPP CA: an AID of 6 bytes and a role byte.
const CA_CHA: [u8; 7] = [0xA0, 0x00, 0x00, 0x00, 0x00, 0x39, 0x01];
const DAPP_CA: &str = include_str!("../../test-keys/cie/dapp-ca.hex");
const DH_PARAMS: &str = include_str!("../../test-keys/cie/dh-params.hex");

/// The virtual CIEs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CieProfileName {
    /// NXP lot ("ITNXP" ATR).
    Nxp,
    /// Gemalto lot (the ATR a Dutch driving licence shares).
    Gemalto,
    /// STMicroelectronics lot with the short ATR `3B 8B 80 01 80 66 47 50 00 B8 00 7F 82 90
    /// 00 2E`; long answers come through `61xx` + GET RESPONSE.
    Stm3,
    /// Actalis 2023 lot.
    Actalis2023,
    /// NXP, PIN blocked.
    BlockedPin,
    /// NXP, certificate expired yesterday.
    ExpiredCert,
    /// NXP, the card of someone else (Giulia Bianchi).
    OtherHolder,
    /// NXP, lifted from the field the moment a VERIFY reaches it (never answered), whatever
    /// came before; [`crate::SimOptions::pull_after`] picks another moment.
    Lifted,
    /// NXP whose answer carrying the certificate has a wrong MAC.
    MacError,
}

impl CieProfileName {
    /// Every profile, in a stable order.
    pub const ALL: [CieProfileName; 9] = [
        CieProfileName::Nxp,
        CieProfileName::Gemalto,
        CieProfileName::Stm3,
        CieProfileName::Actalis2023,
        CieProfileName::BlockedPin,
        CieProfileName::ExpiredCert,
        CieProfileName::OtherHolder,
        CieProfileName::Lifted,
        CieProfileName::MacError,
    ];

    /// The four lots (no faults), for matrices and benchmarks.
    pub const LOTS: [CieProfileName; 4] = [
        CieProfileName::Nxp,
        CieProfileName::Gemalto,
        CieProfileName::Stm3,
        CieProfileName::Actalis2023,
    ];

    /// Command-line spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CieProfileName::Nxp => "cie-nxp",
            CieProfileName::Gemalto => "cie-gemalto",
            CieProfileName::Stm3 => "cie-stm3",
            CieProfileName::Actalis2023 => "cie-actalis-2023",
            CieProfileName::BlockedPin => "cie-blocked-pin",
            CieProfileName::ExpiredCert => "cie-expired-cert",
            CieProfileName::OtherHolder => "cie-other-holder",
            CieProfileName::Lifted => "cie-lifted",
            CieProfileName::MacError => "cie-mac-error",
        }
    }

    /// The profile's details.
    pub fn profile(self) -> CieProfile {
        let nxp = CieProfile {
            name: self,
            atr: hex("3B 8E 80 01 80 31 80 65 49 54 4E 58 50 12 0F FF 82 90 F0"),
            holder: MARIO,
            nis: "123456789012",
            serial: "CA00000AA",
            cert_validity: CertValidity::Valid,
            pin_tries_left: 3,
            split_long_answers: false,
            pull_after_default: None,
            pull_at_ins_default: None,
            corrupt_certificate_mac: false,
        };
        match self {
            CieProfileName::Nxp => nxp,
            CieProfileName::Gemalto => CieProfile {
                atr: hex("3B 8F 80 01 80 31 80 65 B0 85 04 00 11 12 0F FF 82 90 00 8A"),
                nis: "210987654321",
                serial: "CA11111BB",
                ..nxp
            },
            CieProfileName::Stm3 => CieProfile {
                atr: hex("3B 8B 80 01 80 66 47 50 00 B8 00 7F 82 90 00 2E"),
                nis: "314159265358",
                serial: "CA22222CC",
                split_long_answers: true,
                ..nxp
            },
            CieProfileName::Actalis2023 => CieProfile {
                atr: hex("3B 8F 80 01 80 31 80 65 49 54 4A 34 43 12 0F FF 82 90 00 8A"),
                nis: "271828182845",
                serial: "CA33333DD",
                ..nxp
            },
            CieProfileName::BlockedPin => CieProfile {
                pin_tries_left: 0,
                ..nxp
            },
            CieProfileName::ExpiredCert => CieProfile {
                cert_validity: CertValidity::Expired,
                ..nxp
            },
            CieProfileName::OtherHolder => CieProfile {
                holder: GIULIA,
                nis: "999888777666",
                serial: "CA44444EE",
                ..nxp
            },
            CieProfileName::Lifted => CieProfile {
                pull_at_ins_default: Some(0x20),
                ..nxp
            },
            CieProfileName::MacError => CieProfile {
                corrupt_certificate_mac: true,
                ..nxp
            },
        }
    }
}

impl fmt::Display for CieProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CieProfileName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CieProfileName::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown CIE profile `{s}`"))
    }
}

const MARIO: Holder = Holder {
    given_name: "Mario",
    surname: "Rossi",
    codice_fiscale: "RSSMRA80A01H501U",
    birth_date: "01011980",
    sex: "M",
    birth_town_code: "H501",
};
const GIULIA: Holder = Holder {
    given_name: "Giulia",
    surname: "Bianchi",
    codice_fiscale: "BNCGLI85C55F205C",
    birth_date: "15031985",
    sex: "F",
    birth_town_code: "F205",
};

/// What makes one virtual CIE differ from another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CieProfile {
    /// Which profile.
    pub name: CieProfileName,
    /// The pseudo-ATR the reader reports.
    pub atr: Vec<u8>,
    /// The holder.
    pub holder: Holder,
    /// EF.ID_Servizi content.
    pub nis: &'static str,
    /// EF.Serial content (the number printed on the card).
    pub serial: &'static str,
    /// Certificate validity.
    pub cert_validity: CertValidity,
    /// PIN tries left at start (0 = blocked).
    pub pin_tries_left: u8,
    /// Long answers as `61xx` + GET RESPONSE.
    pub split_long_answers: bool,
    /// Leave the field after this many APDUs unless the options say otherwise.
    pub pull_after_default: Option<usize>,
    /// Leave the field when a command with this INS arrives (once), unless the options name
    /// an APDU count.
    pub pull_at_ins_default: Option<u8>,
    /// Flip a bit of the MAC of the first protected answer carrying EF.CertCIE.
    pub corrupt_certificate_mac: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Df {
    Mf,
    Ias,
    Cie,
}

/// Session state lost at reset.
#[derive(Default)]
struct Session {
    df: Option<Df>,
    ef: Option<u16>,
    /// Our DH exponent and public value, the host's public value.
    dh: Option<(BigUint, Vec<u8>, Vec<u8>)>,
    sm: Option<CardSm>,
    /// Algorithm and key of the last MSE SET for INTERNAL AUTHENTICATE (`41 A4`).
    int_auth_key: Option<u8>,
    ext_auth_selected: bool,
    /// The terminal's key (modulus, exponent) and CHR from its verified certificate.
    terminal: Option<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    chr_set: bool,
    challenge: Option<[u8; 8]>,
    terminal_authenticated: bool,
    chip_authenticated: bool,
    pin_verified: bool,
    chain: Vec<u8>,
    pending: Vec<u8>,
    pending_sw: u16,
    cert_mac_corrupted: bool,
}

/// An emulated CIE.
pub struct VirtualCie {
    profile: CieProfile,
    creds: pki::CieCredentials,
    files: Vec<(Df, u16, Vec<u8>)>,
    chip_key: RsaPrivateKey,
    servizi_key: RsaPrivateKey,
    ca: (BigUint, BigUint),
    dh: (Vec<u8>, Vec<u8>, Vec<u8>),
    pin_tries: u8,
    s: Session,
    log: Vec<ApduRecord>,
}

impl fmt::Debug for VirtualCie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VirtualCie")
            .field("profile", &self.profile.name)
            .finish_non_exhaustive()
    }
}

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect()
}

fn hex_lines(s: &str) -> Vec<Vec<u8>> {
    s.lines()
        .map(|l| {
            let l = l.trim();
            let l = if l.len() % 2 == 1 {
                format!("0{l}")
            } else {
                l.to_string()
            };
            (0..l.len())
                .step_by(2)
                .filter_map(|i| u8::from_str_radix(&l[i..i + 2], 16).ok())
                .collect()
        })
        .filter(|v: &Vec<u8>| !v.is_empty())
        .collect()
}

fn public_key_der(key: &RsaPrivateKey) -> Result<Vec<u8>, SimError> {
    use rsa::pkcs1::EncodeRsaPublicKey;
    key.to_public_key()
        .to_pkcs1_der()
        .map(|d| d.as_bytes().to_vec())
        .map_err(crate::pki::pki_err)
}

fn left_pad(b: Vec<u8>, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len.saturating_sub(b.len())];
    out.extend_from_slice(&b);
    out
}

impl VirtualCie {
    /// Personalises a CIE for `profile`, issuing its certificate and SOD now.
    pub fn new(profile: CieProfile) -> Result<VirtualCie, SimError> {
        let creds = pki::issue(&profile.holder, profile.serial, profile.cert_validity)?;
        let load = |pem: &str| RsaPrivateKey::from_pkcs8_pem(pem).map_err(crate::pki::pki_err);
        let chip_key = load(pki::CHIP_KEY)?;
        let servizi_key = load(pki::SERVIZI_KEY)?;
        let ca = hex_lines(DAPP_CA);
        let dh = hex_lines(DH_PARAMS);
        let (Some(ca_n), Some(ca_e), Some(g), Some(p), Some(q)) =
            (ca.first(), ca.get(1), dh.first(), dh.get(1), dh.get(2))
        else {
            return Err(SimError::Pki("test key files".into()));
        };
        let int_auth = public_key_der(&chip_key)?;
        let servizi = public_key_der(&servizi_key)?;
        let dh_file = {
            // EF.DH: the domain parameters as a DER SEQUENCE of three INTEGERs.
            let mut body = Vec::new();
            for v in [g, p, q] {
                let mut int = vec![];
                if v.first().is_some_and(|b| b & 0x80 != 0) {
                    int.push(0);
                }
                int.extend_from_slice(v);
                body.push(0x02);
                push_len(&mut body, int.len());
                body.extend_from_slice(&int);
            }
            let mut out = vec![0x30];
            push_len(&mut out, body.len());
            out.extend_from_slice(&body);
            out
        };
        let sod = pki::sod(
            &creds.ds,
            &[
                (0xA1, profile.nis.as_bytes()),
                (0xA2, profile.serial.as_bytes()),
                (0xA3, &creds.holder_cert),
                (0xA4, &int_auth),
                (0xA5, &servizi),
                (0x1B, &dh_file),
            ],
        )?;
        // EF.PAN carries the NIS in BCD from byte 5: the middleware files its pairing cache
        // under the NIS at enrolment and looks it up as hex(PAN[5..11]) at login, so on real
        // cards the two agree.
        let mut pan = vec![0x5A, 0x08, 0x39, 0x80, 0x01];
        pan.extend(profile.nis.as_bytes().chunks(2).map(|d| {
            let digit = |c: u8| c.wrapping_sub(b'0') & 0x0F;
            (digit(d[0]) << 4) | d.get(1).map_or(0x0F, |&c| digit(c))
        }));
        pan.push(0xFF);
        let files = vec![
            (Df::Ias, 0xD003, pan),
            (Df::Ias, 0xD004, dh_file),
            (Df::Cie, 0x1001, profile.nis.as_bytes().to_vec()),
            (Df::Cie, 0x1002, profile.serial.as_bytes().to_vec()),
            (Df::Cie, 0x1003, creds.holder_cert.clone()),
            (Df::Cie, 0x1004, int_auth),
            (Df::Cie, 0x1005, servizi),
            (Df::Cie, 0x1006, sod),
        ];
        Ok(VirtualCie {
            pin_tries: profile.pin_tries_left,
            profile,
            creds,
            files,
            chip_key,
            servizi_key,
            ca: (BigUint::from_bytes_be(ca_n), BigUint::from_bytes_be(ca_e)),
            dh: (g.clone(), p.clone(), q.clone()),
            s: Session::default(),
            log: Vec::new(),
        })
    }

    /// The profile.
    pub fn profile(&self) -> &CieProfile {
        &self.profile
    }

    /// The ATR.
    pub fn atr(&self) -> &[u8] {
        &self.profile.atr
    }

    /// Keys and certificates.
    pub fn credentials(&self) -> &pki::CieCredentials {
        &self.creds
    }

    /// A file's content (tests compare bytes).
    pub fn file(&self, fid: u16) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(_, f, _)| *f == fid)
            .map(|(_, _, d)| d.as_slice())
    }

    /// PIN tries left.
    pub fn tries_left(&self) -> u8 {
        self.pin_tries
    }

    /// The unwrapped APDU log.
    pub fn log(&self) -> &[ApduRecord] {
        &self.log
    }

    /// Forgets the log.
    pub fn clear_log(&mut self) {
        self.log.clear();
    }

    /// Power cycle / reset: the session goes, counters and files stay.
    pub fn reset(&mut self) {
        self.s = Session::default();
    }

    /// One command APDU in, one response APDU out.
    pub fn transmit(&mut self, raw: &[u8]) -> Vec<u8> {
        let Some(apdu) = parse(raw) else {
            self.push_log(
                raw.first().copied().unwrap_or(0),
                raw,
                &[],
                sw::WRONG_LENGTH,
                0,
            );
            return sw_only(sw::WRONG_LENGTH);
        };
        let header = [apdu.cla, apdu.ins, apdu.p1, apdu.p2];
        if apdu.ins == 0xC0 && apdu.cla & 0x0C == 0 {
            let r = self.get_response(apdu.le.unwrap_or(256));
            self.push_log(apdu.cla, &header, &[], status(&r), r.len() - 2);
            return r;
        }
        self.s.pending.clear();
        if apdu.cla & 0x0C == 0x0C {
            return self.protected(&apdu);
        }
        if self.s.sm.is_some() {
            // A plain command ends the secure session and what it had opened.
            self.end_secure_session();
        }
        let (data, code) = self.dispatch(apdu.cla, apdu.ins, apdu.p1, apdu.p2, &apdu.data, apdu.le);
        let redacted: &[u8] = if apdu.ins == 0x20 { &[] } else { &apdu.data };
        self.push_log_full(
            apdu.cla,
            &header,
            redacted,
            apdu.data.len(),
            code,
            data.len(),
        );
        self.answer(data, code)
    }

    fn protected(&mut self, apdu: &Apdu) -> Vec<u8> {
        let header = [apdu.cla, apdu.ins, apdu.p1, apdu.p2];
        let opened = match self.s.sm.as_mut() {
            None => {
                self.push_log(apdu.cla, &header, &[], 0x6882, 0);
                return sw_only(0x6882);
            }
            Some(sm) => sm.open(header, &apdu.data),
        };
        let Some(opened) = opened else {
            // Wrong MAC or format: the card drops the session (ISO 7816-4 6988).
            self.end_secure_session();
            self.push_log(apdu.cla, &header, &[], 0x6988, 0);
            return sw_only(0x6988);
        };
        let plain_cla = apdu.cla & !0x0C;
        let (data, code) = self.dispatch(
            plain_cla,
            apdu.ins,
            apdu.p1,
            apdu.p2,
            &opened.data,
            opened.le,
        );
        let redacted: &[u8] = if apdu.ins == 0x20 { &[] } else { &opened.data };
        self.push_log_full(
            apdu.cla,
            &header,
            redacted,
            opened.data.len(),
            code,
            data.len(),
        );
        let corrupt = self.profile.corrupt_certificate_mac
            && !self.s.cert_mac_corrupted
            && apdu.ins == 0xB0
            && self.s.ef == Some(0x1003)
            && !data.is_empty();
        if corrupt {
            self.s.cert_mac_corrupted = true;
        }
        let sealed = match self.s.sm.as_mut() {
            Some(sm) => sm.seal(&data, code, corrupt),
            None => return sw_only(code),
        };
        // After chip authentication the counter restarts from the two randoms.
        if apdu.ins == 0x88
            && self.s.chip_authenticated
            && code == sw::OK
            && self.s.int_auth_key == Some(0x82)
        {
            if let (Some(ch), Some(sm)) = (self.s.challenge, self.s.sm.as_mut())
                && opened.data.len() == 8
            {
                let mut ssc = [0u8; 8];
                ssc[..4].copy_from_slice(&ch[4..]);
                ssc[4..].copy_from_slice(&opened.data[4..]);
                sm.set_ssc(ssc);
            }
            self.s.int_auth_key = None;
        }
        self.answer(sealed, code)
    }

    /// Outer status word = inner one (what the middleware and our host both expect).
    fn answer(&mut self, data: Vec<u8>, code: u16) -> Vec<u8> {
        if data.len() > 256 || (self.profile.split_long_answers && data.len() > 128) {
            // Long answers come in parts: the first part with 61xx, the rest by GET RESPONSE.
            let first = if data.len() > 256 { 256 } else { 0 };
            let mut out = data[..first].to_vec();
            self.s.pending = data[first..].to_vec();
            self.s.pending_sw = code;
            let left = self.s.pending.len();
            out.extend_from_slice(&[0x61, if left >= 256 { 0 } else { left as u8 }]);
            return out;
        }
        let mut out = data;
        out.extend_from_slice(&code.to_be_bytes());
        out
    }

    fn get_response(&mut self, le: usize) -> Vec<u8> {
        if self.s.pending.is_empty() {
            return sw_only(0x6985);
        }
        let n = le.min(self.s.pending.len());
        let mut out: Vec<u8> = self.s.pending.drain(..n).collect();
        let left = self.s.pending.len();
        if left == 0 {
            out.extend_from_slice(&self.s.pending_sw.to_be_bytes());
        } else {
            out.extend_from_slice(&[0x61, if left >= 256 { 0 } else { left as u8 }]);
        }
        out
    }

    fn end_secure_session(&mut self) {
        let df = self.s.df;
        let ef = self.s.ef;
        self.s = Session {
            df,
            ef,
            ..Session::default()
        };
    }

    fn dispatch(
        &mut self,
        cla: u8,
        ins: u8,
        p1: u8,
        p2: u8,
        data: &[u8],
        le: Option<usize>,
    ) -> (Vec<u8>, u16) {
        let chained = cla & 0x10 != 0;
        if cla & !0x10 != 0 {
            return (vec![], sw::CLA_NOT_SUPPORTED);
        }
        if chained {
            if !matches!(ins, 0x2A | 0x82 | 0x22) {
                return (vec![], sw::CHAINING_UNSUPPORTED);
            }
            self.s.chain.extend_from_slice(data);
            return (vec![], sw::OK);
        }
        let full: Vec<u8> = if self.s.chain.is_empty() {
            data.to_vec()
        } else {
            let mut c = std::mem::take(&mut self.s.chain);
            c.extend_from_slice(data);
            c
        };
        let data = full.as_slice();
        match ins {
            0xA4 => self.select(p1, data),
            0xB0 => self.read_binary(p1, p2, le),
            0xCB => self.get_data(p1, p2, data),
            0x22 => self.mse(p1, p2, data),
            0x2A if p1 == 0x00 && p2 == 0xAE => self.verify_certificate(data),
            0x84 => self.get_challenge(le),
            0x82 => self.external_authenticate(data),
            0x88 => self.internal_authenticate(data),
            0x20 => self.verify(p2, data),
            _ => (vec![], sw::INS_NOT_SUPPORTED),
        }
    }

    fn select(&mut self, p1: u8, data: &[u8]) -> (Vec<u8>, u16) {
        match p1 {
            0x04 if data == IAS_AID => {
                self.s.df = Some(Df::Ias);
                self.s.ef = None;
            }
            0x04 if data == CIE_AID => {
                self.s.df = Some(Df::Cie);
                self.s.ef = None;
            }
            0x04 => return (vec![], sw::FILE_NOT_FOUND),
            0x00 if data.is_empty() || data == [0x3F, 0x00] => {
                self.s.df = Some(Df::Mf);
                self.s.ef = None;
            }
            0x02 | 0x00 if data.len() == 2 => {
                let fid = u16::from_be_bytes([data[0], data[1]]);
                if self.lookup(fid).is_none() {
                    return (vec![], sw::FILE_NOT_FOUND);
                }
                self.s.ef = Some(fid);
            }
            _ => return (vec![], sw::WRONG_P1P2),
        }
        (vec![], sw::OK)
    }

    /// Files visible from the current DF (the IAS files from the MF too).
    fn lookup(&self, fid: u16) -> Option<usize> {
        let df = self.s.df?;
        self.files
            .iter()
            .position(|(d, f, _)| *f == fid && (*d == df || (df == Df::Mf && *d == Df::Ias)))
    }

    fn read_binary(&mut self, p1: u8, p2: u8, le: Option<usize>) -> (Vec<u8>, u16) {
        let (fid, offset) = if p1 & 0x80 != 0 {
            if self.s.df != Some(Df::Cie) {
                return (vec![], sw::FILE_NOT_FOUND);
            }
            (0x1000 | u16::from(p1 & 0x1F), usize::from(p2))
        } else {
            let Some(ef) = self.s.ef else {
                return (vec![], sw::NO_CURRENT_EF);
            };
            (ef, usize::from(u16::from_be_bytes([p1 & 0x7F, p2])))
        };
        let Some(i) = self.lookup(fid) else {
            return (vec![], sw::FILE_NOT_FOUND);
        };
        self.s.ef = Some(fid);
        if fid == 0x1003 && !(self.s.pin_verified && self.s.sm.is_some()) {
            return (vec![], sw::SECURITY_NOT_SATISFIED);
        }
        let content = &self.files[i].2;
        if offset >= content.len() {
            return (vec![], sw::WRONG_OFFSET);
        }
        let want = le.unwrap_or(256);
        let end = (offset + want).min(content.len());
        let code = if offset + want > content.len() {
            sw::EOF_BEFORE_LE
        } else {
            sw::OK
        };
        (content[offset..end].to_vec(), code)
    }

    fn get_data(&mut self, p1: u8, p2: u8, data: &[u8]) -> (Vec<u8>, u16) {
        if (p1, p2) != (0x3F, 0xFF) {
            return (vec![], sw::WRONG_P1P2);
        }
        let has = |pat: &[u8]| data.windows(pat.len()).any(|w| w == pat);
        let (g, p, q) = self.dh.clone();
        if has(&[0xBF, 0xA1, 0x01]) {
            let mut leaves = Vec::new();
            if has(&[0xA3, 0x80]) {
                push_tlv(&mut leaves, 0x97, &g);
                push_tlv(&mut leaves, 0x98, &p);
                push_tlv(&mut leaves, 0x99, &q);
            } else if has(&[0xA3, 0x02, 0x97]) {
                push_tlv(&mut leaves, 0x97, &g);
            } else if has(&[0xA3, 0x02, 0x98]) {
                push_tlv(&mut leaves, 0x98, &p);
            } else if has(&[0xA3, 0x02, 0x99]) {
                push_tlv(&mut leaves, 0x99, &q);
            } else {
                return (vec![], sw::REF_NOT_FOUND);
            }
            let a3 = tlv(&[0xA3], &leaves);
            let bf = tlv(&[0xBF, 0xA1, 0x01], &a3);
            return (tlv(&[0x70], &bf), sw::OK);
        }
        if has(&[0xBF, 0xA0, 0x04]) {
            let mut leaves = Vec::new();
            push_tlv(&mut leaves, 0x81, &self.ca.0.to_bytes_be());
            push_tlv(&mut leaves, 0x82, &self.ca.1.to_bytes_be());
            leaves.extend(tlv(&[0x5F, 0x20], &CA_CHR));
            leaves.extend(tlv(&[0x5F, 0x4C], &CA_CHA));
            let pk = tlv(&[0x7F, 0x49], &leaves);
            let bf = tlv(&[0xBF, 0xA0, 0x04], &pk);
            return (tlv(&[0x70], &bf), sw::OK);
        }
        if data == [0x4D, 0x04, 0xA6, 0x02, 0x91, 0x00] {
            let Some((x, _, _)) = &self.s.dh else {
                return (vec![], sw::CONDITIONS);
            };
            let pb = BigUint::from_bytes_be(&p);
            let icc = left_pad(
                BigUint::from_bytes_be(&g).modpow(x, &pb).to_bytes_be(),
                p.len(),
            );
            let host = self.s.dh.as_ref().map(|d| d.2.clone()).unwrap_or_default();
            let secret = left_pad(
                BigUint::from_bytes_be(&host).modpow(x, &pb).to_bytes_be(),
                p.len(),
            );
            if let Some(d) = self.s.dh.as_mut() {
                d.1 = icc.clone();
            }
            // The channel starts with the next command.
            self.s.sm = Some(CardSm::from_secret(&secret));
            let mut out = Vec::new();
            push_tlv(&mut out, 0x91, &icc);
            return (tlv(&[0xA6], &out), sw::OK);
        }
        (vec![], sw::REF_NOT_FOUND)
    }

    fn mse(&mut self, p1: u8, p2: u8, data: &[u8]) -> (Vec<u8>, u16) {
        let mut objects = Vec::new();
        let mut rest = data;
        while !rest.is_empty() {
            let Some((t, v, after)) = read_do(rest) else {
                return (vec![], sw::WRONG_DATA);
            };
            objects.push((t, v.to_vec()));
            rest = after;
        }
        let get = |t: u8| {
            objects
                .iter()
                .find(|(x, _)| *x == t)
                .map(|(_, v)| v.clone())
        };
        match (p1, p2) {
            (0x41, 0xA6) => {
                let (Some(alg), Some(key), Some(y)) = (get(0x80), get(0x83), get(0x91)) else {
                    return (vec![], sw::WRONG_DATA);
                };
                if alg != [0x9B] || key != [0x81] {
                    return (vec![], sw::REF_NOT_FOUND);
                }
                let mut x = vec![0u8; self.dh.2.len()];
                OsRng.fill_bytes(&mut x);
                let x = BigUint::from_bytes_be(&x) % BigUint::from_bytes_be(&self.dh.2);
                // A new agreement replaces any previous channel.
                self.s = Session {
                    df: self.s.df,
                    ef: self.s.ef,
                    dh: Some((x, Vec::new(), y)),
                    ..Session::default()
                };
            }
            (0x81, 0xB6) => {
                if get(0x83) != Some(vec![0x84]) || self.s.sm.is_none() {
                    return (vec![], sw::REF_NOT_FOUND);
                }
                self.s.ext_auth_selected = true;
            }
            (0x81, 0xA4) => {
                let Some(chr) = get(0x83) else {
                    return (vec![], sw::WRONG_DATA);
                };
                if self.s.terminal.as_ref().map(|t| &t.2) != Some(&chr) {
                    return (vec![], sw::REF_NOT_FOUND);
                }
                self.s.chr_set = true;
            }
            (0x41, 0xA4) => {
                let Some(key) = get(0x84).and_then(|k| k.first().copied()) else {
                    return (vec![], sw::WRONG_DATA);
                };
                if !matches!(key, 0x81..=0x83) {
                    return (vec![], sw::REF_NOT_FOUND);
                }
                self.s.int_auth_key = Some(key);
            }
            _ => return (vec![], sw::WRONG_P1P2),
        }
        (vec![], sw::OK)
    }

    /// PSO VERIFY CERTIFICATE of the terminal's CVC with the DAPP CA key.
    fn verify_certificate(&mut self, data: &[u8]) -> (Vec<u8>, u16) {
        if !self.s.ext_auth_selected || self.s.sm.is_none() {
            return (vec![], sw::CONDITIONS);
        }
        let parsed = (|| {
            let (t1, v, _) = read_tag2(data)?;
            if t1 != [0x7F, 0x21] {
                return None;
            }
            let (_, sig, rest) = read_tag2(v)?;
            let (_, rem, rest) = read_tag2(rest)?;
            let (_, car, _) = read_tag2(rest)?;
            Some((sig.to_vec(), rem.to_vec(), car.to_vec()))
        })();
        let Some((sig, rem, car)) = parsed else {
            return (vec![], sw::WRONG_DATA);
        };
        let (n, e) = &self.ca;
        let Some((m1, h)) = open_9796(&sig, e, n) else {
            return (vec![], sw::WRONG_DATA);
        };
        let mut body = m1;
        body.extend_from_slice(&rem);
        if Sha256::digest(&body).as_slice() != h.as_slice() || car != CA_CHR[4..] {
            return (vec![], sw::WRONG_DATA);
        }
        // CPI(1) CAR(8) CHR(12) CHA(7) OID(9) modulus exponent(4)
        if body.len() < 1 + 8 + 12 + 7 + 9 + 4 + 64 || body[0] != 0x8A || body[1..9] != CA_CHR[4..]
        {
            return (vec![], sw::WRONG_DATA);
        }
        let chr = body[9..21].to_vec();
        if body[21..27] != CA_CHA[..6] {
            return (vec![], sw::WRONG_DATA);
        }
        let key = &body[37..];
        let (modulus, exponent) = key.split_at(key.len() - 4);
        self.s.terminal = Some((modulus.to_vec(), exponent.to_vec(), chr));
        (vec![], sw::OK)
    }

    fn get_challenge(&mut self, le: Option<usize>) -> (Vec<u8>, u16) {
        if le != Some(8) {
            return (vec![], sw::WRONG_LENGTH);
        }
        let mut c = [0u8; 8];
        OsRng.fill_bytes(&mut c);
        self.s.challenge = Some(c);
        (c.to_vec(), sw::OK)
    }

    fn external_authenticate(&mut self, data: &[u8]) -> (Vec<u8>, u16) {
        let (Some((n, e, chr)), Some(challenge), Some((_, icc, host)), true) = (
            self.s.terminal.clone(),
            self.s.challenge.take(),
            self.s.dh.clone(),
            self.s.chr_set,
        ) else {
            return (vec![], sw::CONDITIONS);
        };
        let Some((sn, sig)) = data.split_at_checked(8) else {
            return (vec![], sw::WRONG_DATA);
        };
        let ok = sn == &chr[4..]
            && open_9796(
                sig,
                &BigUint::from_bytes_be(&e),
                &BigUint::from_bytes_be(&n),
            )
            .is_some_and(|(prnd, h)| {
                let mut d = Sha256::new();
                d.update(&prnd);
                d.update(&host);
                d.update(sn);
                d.update(challenge);
                d.update(&icc);
                d.update(&self.dh.0);
                d.update(&self.dh.1);
                d.update(&self.dh.2);
                d.finalize().as_slice() == h.as_slice()
            });
        if !ok {
            return (vec![], 0x6300);
        }
        self.s.challenge = Some(challenge);
        self.s.terminal_authenticated = true;
        (vec![], sw::OK)
    }

    fn internal_authenticate(&mut self, data: &[u8]) -> (Vec<u8>, u16) {
        match self.s.int_auth_key {
            Some(0x82) => {
                let (true, Some((_, icc, host))) =
                    (self.s.terminal_authenticated, self.s.dh.clone())
                else {
                    return (vec![], sw::CONDITIONS);
                };
                if data.len() != 8 {
                    return (vec![], sw::WRONG_DATA);
                }
                let sn_icc = [0x49, 0x54, 0x00, 0x00, 0x00, 0x00, 0x00, 0x42];
                let k = self.chip_key.size();
                let mut prnd2 = vec![0u8; k - 34];
                OsRng.fill_bytes(&mut prnd2);
                let mut d = Sha256::new();
                d.update(&prnd2);
                d.update(&icc);
                d.update(sn_icc);
                d.update(data);
                d.update(&host);
                d.update(&self.dh.0);
                d.update(&self.dh.1);
                d.update(&self.dh.2);
                let mut block = vec![0x6A];
                block.extend_from_slice(&prnd2);
                block.extend_from_slice(&d.finalize());
                block.push(0xBC);
                let sig =
                    BigUint::from_bytes_be(&block).modpow(self.chip_key.d(), self.chip_key.n());
                let mut out = sn_icc.to_vec();
                out.extend(left_pad(sig.to_bytes_be(), k));
                self.s.chip_authenticated = true;
                (out, sw::OK)
            }
            Some(0x81) => {
                if !self.s.pin_verified {
                    return (vec![], sw::SECURITY_NOT_SATISFIED);
                }
                match self
                    .creds
                    .holder_key
                    .sign(Pkcs1v15Sign::new_unprefixed(), data)
                {
                    Ok(s) => (s, sw::OK),
                    Err(_) => (vec![], sw::WRONG_DATA),
                }
            }
            Some(0x83) => match self.servizi_key.sign(Pkcs1v15Sign::new_unprefixed(), data) {
                Ok(s) => (s, sw::OK),
                Err(_) => (vec![], sw::WRONG_DATA),
            },
            _ => (vec![], sw::CONDITIONS),
        }
    }

    fn verify(&mut self, p2: u8, data: &[u8]) -> (Vec<u8>, u16) {
        if p2 != 0x81 {
            return (vec![], sw::REF_NOT_FOUND);
        }
        if self.s.sm.is_none() || !self.s.chip_authenticated {
            return (vec![], sw::SECURITY_NOT_SATISFIED);
        }
        if self.pin_tries == 0 {
            return (vec![], sw::BLOCKED);
        }
        if data.is_empty() {
            return (vec![], 0x63C0 | u16::from(self.pin_tries));
        }
        if data == CIE_PIN.as_bytes() {
            self.pin_tries = 3;
            self.s.pin_verified = true;
            (vec![], sw::OK)
        } else {
            self.pin_tries -= 1;
            self.s.pin_verified = false;
            (vec![], 0x63C0 | u16::from(self.pin_tries))
        }
    }

    fn push_log(&mut self, cla: u8, header: &[u8], data: &[u8], code: u16, resp: usize) {
        let h = |i: usize| header.get(i).copied().unwrap_or(0);
        self.push_log_full(cla, &[cla, h(1), h(2), h(3)], data, data.len(), code, resp);
    }

    fn push_log_full(
        &mut self,
        cla: u8,
        header: &[u8; 4],
        data: &[u8],
        data_len: usize,
        code: u16,
        resp: usize,
    ) {
        self.log.push(ApduRecord {
            cla,
            ins: header[1],
            p1: header[2],
            p2: header[3],
            data: data.to_vec(),
            data_len,
            extended: false,
            sw: code,
            response_len: resp,
        });
    }
}

fn status(r: &[u8]) -> u16 {
    let n = r.len();
    u16::from_be_bytes([r[n - 2], r[n - 1]])
}

fn sw_only(code: u16) -> Vec<u8> {
    code.to_be_bytes().to_vec()
}

fn tlv(tag: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = tag.to_vec();
    push_len(&mut out, value.len());
    out.extend_from_slice(value);
    out
}

/// (tag bytes, value, rest) for one- or two-byte tags (`5F xx`, `7F xx`).
fn read_tag2(b: &[u8]) -> Option<(Vec<u8>, &[u8], &[u8])> {
    let tag_len = if b.first()? & 0x1F == 0x1F { 2 } else { 1 };
    let tag = b.get(..tag_len)?.to_vec();
    let rest = b.get(tag_len..)?;
    // Re-use the one-byte reader by giving it a dummy tag byte.
    let mut tmp = vec![0u8];
    tmp.extend_from_slice(rest);
    let (_, value, after) = read_do(&tmp)?;
    let vstart = tmp.len() - after.len() - value.len();
    let value = rest.get(vstart - 1..vstart - 1 + value.len())?;
    let after = rest.get(vstart - 1 + value.len()..)?;
    Some((tag, value, after))
}

/// ISO 9796-2 scheme 1 / SHA-256: (M1, H) if the block opens.
fn open_9796(sig: &[u8], e: &BigUint, n: &BigUint) -> Option<(Vec<u8>, Vec<u8>)> {
    let k = n.to_bytes_be().len();
    let s = BigUint::from_bytes_be(sig);
    if &s >= n {
        return None;
    }
    let block = left_pad(s.modpow(e, n).to_bytes_be(), k);
    if k < 34 || block[0] != 0x6A || block[k - 1] != 0xBC {
        return None;
    }
    Some((block[1..k - 33].to_vec(), block[k - 33..k - 1].to_vec()))
}

struct Apdu {
    cla: u8,
    ins: u8,
    p1: u8,
    p2: u8,
    data: Vec<u8>,
    le: Option<usize>,
}

/// Short and extended APDUs (cases 1–4).
fn parse(b: &[u8]) -> Option<Apdu> {
    let (&[cla, ins, p1, p2], body) = (b.first_chunk::<4>()?, b.get(4..)?);
    let mk = |data: &[u8], le| {
        Some(Apdu {
            cla,
            ins,
            p1,
            p2,
            data: data.to_vec(),
            le,
        })
    };
    let ne = |x: u8| if x == 0 { 256 } else { usize::from(x) };
    match body.len() {
        0 => mk(&[], None),
        1 => mk(&[], Some(ne(body[0]))),
        _ if body[0] != 0 => {
            let lc = usize::from(body[0]);
            match body.len() - 1 {
                n if n == lc => mk(&body[1..], None),
                n if n == lc + 1 => mk(&body[1..=lc], Some(ne(body[lc + 1]))),
                _ => None,
            }
        }
        3 => mk(
            &[],
            Some(usize::from(u16::from_be_bytes([body[1], body[2]])).max(1)),
        ),
        n => {
            let lc = usize::from(u16::from_be_bytes([body[1], body[2]]));
            if n == 3 + lc {
                mk(&body[3..], None)
            } else if n == 5 + lc {
                let le = usize::from(u16::from_be_bytes([body[3 + lc], body[4 + lc]]));
                mk(&body[3..3 + lc], Some(if le == 0 { 65536 } else { le }))
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_files_exist() {
        for p in CieProfileName::ALL {
            assert_eq!(p.as_str().parse::<CieProfileName>().ok(), Some(p));
        }
        let card = VirtualCie::new(CieProfileName::Nxp.profile()).expect("card");
        assert_eq!(card.file(0x1001), Some(&b"123456789012"[..]));
        assert_eq!(card.file(0x1006).map(|s| s[0]), Some(0x77));
    }

    #[test]
    fn parses_apdu_cases() {
        assert!(parse(&[0, 0xA4, 0, 0]).is_some());
        assert_eq!(parse(&[0, 0xB0, 0, 0, 0]).and_then(|a| a.le), Some(256));
        assert!(parse(&[0, 0xA4, 4, 0x0C, 2, 1]).is_none());
        assert!(parse(&[0, 1]).is_none());
    }
}
