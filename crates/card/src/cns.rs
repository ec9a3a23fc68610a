//! CNS operations: read the card's files, verify the PIN, sign a challenge.
//!
//! [`CnsCard`] is generic over the link ([`RawTransmit`]) so the same code runs over PC/SC
//! and, in unit tests, directly against the emulator. It keeps what it has read (the
//! authentication certificate) so a pre-flight check followed by a signature does not read
//! the certificate twice: every APDU costs the holder time on slow readers.
//!
//! PIN rules, from the CNS specification and OpenSC's experience:
//! - a PIN is sent once per call and never retried by this crate;
//! - the number of tries left is learnt only from a failed VERIFY (`63Cx`), never by an empty
//!   VERIFY probe: some CNS count the probe as a failed attempt;
//! - STIncard masks need bit 0x80 in the reference (search parent DFs), others must not get it.

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::atr::{CardProfile, CnsInfo};
use crate::cert::{Certificate, der_total_len};
use crate::error::{CardError, StatusKind, StatusWord};
use crate::personal::PersonalData;
use crate::pin::Pin;
use crate::transport::{Command, RawTransmit, Response, Transport};

mod signature;
pub use signature::{PATH_SIGN_KEY_DF, QualifiedSignature};

/// EF_IDCarta: the card serial.
pub const PATH_ID_CARTA: &[u16] = &[0x3F00, 0x1000, 0x1003];
/// EF_DatiPersonali.
pub const PATH_DATI_PERSONALI: &[u16] = &[0x3F00, 0x1100, 0x1102];
/// Authentication certificate, classic CNS.
pub const PATH_AUTH_CERT: &[u16] = &[0x3F00, 0x1100, 0x1101];
/// Authentication certificate, IDEMIA 2021 lot.
pub const PATH_AUTH_CERT_IDEMIA_2021: &[u16] = &[0x3F00, 0x1400, 0x9001, 0x2002];
/// Signature certificate in the classic DF_DS.
pub const PATH_SIGN_CERT: &[u16] = &[0x3F00, 0x1400, 0x9010];

/// Authentication PIN reference.
const PIN_REF_AUTH: u8 = 0x10;
/// DigestInfo prefix for SHA-256 (RFC 8017 §9.2 note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// Which authentication keyset the card has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthLayout {
    /// 3F00 1100 1101, key reference 0x01.
    Classic,
    /// 3F00 1400 9001 2002, key reference 0x02.
    Idemia2021,
}

impl AuthLayout {
    fn key_ref(self) -> u8 {
        match self {
            AuthLayout::Classic => 0x01,
            AuthLayout::Idemia2021 => 0x02,
        }
    }
}

/// A signature produced by the card.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ChallengeSignature {
    /// RSASSA-PKCS1-v1_5 / SHA-256 signature, k bytes.
    pub signature: Vec<u8>,
    /// The certificate whose key signed.
    pub certificate: Certificate,
}

/// An Italian CNS on some link.
pub struct CnsCard<T> {
    transport: Transport<T>,
    profile: CardProfile,
    info: CnsInfo,
    auth: Option<(AuthLayout, Certificate)>,
}

impl<T: RawTransmit> CnsCard<T> {
    /// Wraps a link to a card with answer-to-reset `atr`. Fails with
    /// [`CardError::UnsupportedCard`] (sending nothing) unless the ATR is a CNS.
    pub fn new(raw: T, atr: &[u8]) -> Result<CnsCard<T>, CardError> {
        let profile = CardProfile::from_atr(atr);
        let Some(info) = profile.cns().cloned() else {
            return Err(CardError::UnsupportedCard {
                description: profile.describe(),
                atr: profile.atr.clone(),
            });
        };
        Ok(CnsCard {
            transport: Transport::new(raw, info.extended_length),
            profile,
            info,
            auth: None,
        })
    }

    /// What the ATR says about the card.
    pub fn profile(&self) -> &CardProfile {
        &self.profile
    }

    /// APDUs sent so far on this card.
    pub fn apdu_count(&self) -> usize {
        self.transport.apdu_count()
    }

    /// Gives the link back.
    pub fn into_inner(self) -> T {
        self.transport.into_inner()
    }

    /// Sends one raw command through the transport (61xx / 6Cxx handled), for diagnostics.
    pub fn exchange(&mut self, command: &Command<'_>) -> Result<Response, CardError> {
        self.transport.exchange(command)
    }

    /// Reads a transparent EF by absolute path (3F00 first), up to its end.
    pub fn read_file(&mut self, path: &[u16]) -> Result<Vec<u8>, CardError> {
        self.select_path(path)?;
        self.read_selected(false)
    }

    /// Reads an EF holding one DER object (a certificate): the reads stop at the encoded
    /// length, so padded certificate files come back exact and no APDU is spent on padding.
    pub fn read_der_file(&mut self, path: &[u16]) -> Result<Vec<u8>, CardError> {
        self.select_path(path)?;
        self.read_selected(true)
    }

    /// Card serial from EF_IDCarta (16 ASCII characters on every CNS seen so far).
    pub fn read_serial(&mut self) -> Result<String, CardError> {
        let raw = self.read_file(PATH_ID_CARTA)?;
        let s: String = raw
            .iter()
            .take_while(|&&b| b != 0 && b != 0xFF)
            .map(|&b| char::from(b))
            .collect();
        if s.is_empty() || !s.chars().all(|c| c.is_ascii_graphic()) {
            return Err(CardError::Malformed {
                what: "EF_IDCarta is not printable".into(),
            });
        }
        Ok(s)
    }

    /// Holder data from EF_DatiPersonali.
    pub fn read_personal_data(&mut self) -> Result<PersonalData, CardError> {
        PersonalData::parse(&self.read_file(PATH_DATI_PERSONALI)?)
    }

    /// The authentication certificate: the IDEMIA 2021 path first on IDEMIA 2021 cards, the
    /// classic path first otherwise, then the other one.
    pub fn read_auth_certificate(&mut self) -> Result<Certificate, CardError> {
        if let Some((_, cert)) = &self.auth {
            return Ok(cert.clone());
        }
        let order = if self.info.idemia_2021 {
            [AuthLayout::Idemia2021, AuthLayout::Classic]
        } else {
            [AuthLayout::Classic, AuthLayout::Idemia2021]
        };
        for layout in order {
            let path = match layout {
                AuthLayout::Classic => PATH_AUTH_CERT,
                AuthLayout::Idemia2021 => PATH_AUTH_CERT_IDEMIA_2021,
            };
            match self.read_der_file(path) {
                Ok(der) => {
                    let cert = Certificate::from_der(&der)?;
                    self.auth = Some((layout, cert.clone()));
                    return Ok(cert);
                }
                Err(CardError::FileNotFound { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(CardError::CertificateMissing)
    }

    /// Which authentication keyset the card uses (reads the certificate if needed).
    pub fn auth_layout(&mut self) -> Result<AuthLayout, CardError> {
        self.read_auth_certificate()?;
        self.auth
            .as_ref()
            .map(|(l, _)| *l)
            .ok_or(CardError::CertificateMissing)
    }

    /// The qualified signature certificate in the classic DF_DS, if the card has one there.
    /// Modern cards keep it in vendor applets this crate cannot read: `None` then.
    pub fn read_signature_certificate(&mut self) -> Result<Option<Certificate>, CardError> {
        match self.read_der_file(PATH_SIGN_CERT) {
            Ok(der) if der.first() == Some(&0x30) => Certificate::from_der(&der).map(Some),
            // DF_DS must exist, possibly with an empty placeholder EF.
            Ok(_) => Ok(None),
            Err(CardError::FileNotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Presents the authentication PIN once.
    ///
    /// `WrongPin { tries_left }` on `63Cx`, `PinBlocked` on `6983` (or `63C0`). The caller
    /// decides whether to ask the holder again; this crate never does.
    pub fn verify_pin(&mut self, pin: &Pin) -> Result<(), CardError> {
        verify_on(&mut self.transport, &self.info, pin)
    }

    /// Unblocks the authentication PIN with the PUK and sets `new_pin` (RESET RETRY COUNTER,
    /// P1 = 00, data = PUK || new PIN, both padded with 0xFF). Sent once, like VERIFY.
    pub fn unblock_pin(&mut self, puk: &Pin, new_pin: &Pin) -> Result<(), CardError> {
        let reference = if self.info.pin_ref_search_parent {
            PIN_REF_AUTH | 0x80
        } else {
            PIN_REF_AUTH
        };
        let mut data = Zeroizing::new(Vec::with_capacity(16));
        data.extend_from_slice(&puk.padded_block());
        data.extend_from_slice(&new_pin.padded_block());
        let resp = self
            .transport
            .exchange(&Command::new(0x2C, 0x00, reference, &data))?;
        drop(data);
        match (resp.sw.sw1(), resp.sw.sw2()) {
            (0x90, 0x00) => Ok(()),
            (0x63, 0xC0) | (0x69, 0x83) => Err(CardError::PukBlocked),
            (0x63, x) if x & 0xF0 == 0xC0 => Err(CardError::WrongPuk {
                tries_left: x & 0x0F,
            }),
            _ => Err(CardError::from_status(resp.sw, "RESET RETRY COUNTER")),
        }
    }

    /// Signs `challenge` with the authentication key: SHA-256, PKCS#1 v1.5 block built here
    /// (the card does raw RSA), restore SE, MSE:SET, PSO: COMPUTE DIGITAL SIGNATURE. The result
    /// is checked against the certificate before it is returned.
    ///
    /// Needs a verified PIN in the same card session ([`CardError::PinRequired`] otherwise).
    pub fn sign_challenge(&mut self, challenge: &[u8]) -> Result<ChallengeSignature, CardError> {
        let cert = self.read_auth_certificate()?;
        let layout = self.auth_layout()?;
        sign_on(&mut self.transport, layout, cert, challenge)
    }

    /// VERIFY then sign, inside one PC/SC transaction: no other application can reset the
    /// card or move its security environment between the PIN and the signature (browsers
    /// with a PKCS#11 module loaded do talk to the card in the background). The certificate
    /// is read first, outside the transaction, so the card is held only for four APDUs.
    pub fn verify_pin_and_sign(
        &mut self,
        pin: &Pin,
        challenge: &[u8],
    ) -> Result<ChallengeSignature, CardError> {
        let cert = self.read_auth_certificate()?;
        let layout = self.auth_layout()?;
        let info = &self.info;
        self.transport.exclusive(|t| {
            verify_on(t, info, pin)?;
            sign_on(t, layout, cert, challenge)
        })
    }

    fn select_path(&mut self, path: &[u16]) -> Result<(), CardError> {
        let rel = match path.split_first() {
            Some((0x3F00, rest)) if !rest.is_empty() => rest,
            _ => path,
        };
        let data: Vec<u8> = rel.iter().flat_map(|f| f.to_be_bytes()).collect();
        let r = self
            .transport
            .exchange(&Command::new(0xA4, 0x08, 0x0C, &data))?;
        let sw = if r.sw.kind() == StatusKind::WrongParameters && r.sw == StatusWord(0x6A86) {
            // Some cards refuse "no FCI" (P2 = 0C); ask for the FCI and ignore it.
            self.transport
                .exchange(&Command::new(0xA4, 0x08, 0x00, &data).with_le(256))?
                .sw
        } else {
            r.sw
        };
        match sw.kind() {
            StatusKind::Ok => Ok(()),
            StatusKind::FileNotFound => Err(CardError::FileNotFound {
                path: path_string(path),
            }),
            _ => Err(CardError::from_status(sw, "SELECT")),
        }
    }

    fn read_selected(&mut self, der: bool) -> Result<Vec<u8>, CardError> {
        let mut max = self.transport.max_le();
        let mut out: Vec<u8> = Vec::new();
        // Until the content shows its DER length, ask for as much as the card can give.
        let mut target: Option<usize> = None;
        loop {
            let offset = out.len();
            if target.is_some_and(|t| offset >= t) {
                break;
            }
            let Ok(off) = u16::try_from(offset) else {
                break;
            };
            if off > 0x7FFF {
                // READ BINARY offsets are 15 bits.
                break;
            }
            let want = target.map_or(max, |t| (t - offset).min(max));
            let [hi, lo] = off.to_be_bytes();
            let r = self
                .transport
                .exchange(&Command::new(0xB0, hi, lo, &[]).with_le(want))?;
            match r.sw.kind() {
                StatusKind::Ok => {
                    let got = r.data.len();
                    out.extend_from_slice(&r.data);
                    if der && target.is_none() {
                        target = der_total_len(&out);
                    }
                    if got == 0 || (got < want && target.is_none_or(|t| out.len() < t)) {
                        break;
                    }
                }
                StatusKind::EndOfFile => {
                    out.extend_from_slice(&r.data);
                    break;
                }
                // Offset past the end: the previous chunk ended exactly at EOF.
                StatusKind::WrongParameters if offset > 0 && r.sw == StatusWord(0x6B00) => break,
                // Some extended-length cards cap responses well below 64 KiB: fall back to
                // short-sized chunks (READ BINARY has no side effects, asking again is safe).
                StatusKind::WrongLength if want > 256 => max = 256,
                _ => return Err(CardError::from_status(r.sw, "READ BINARY")),
            }
        }
        if let Some(t) = target {
            out.truncate(t);
        }
        Ok(out)
    }
}

/// VERIFY of the authentication PIN, once (see [`CnsCard::verify_pin`]).
fn verify_on<L: RawTransmit>(
    t: &mut Transport<L>,
    info: &CnsInfo,
    pin: &Pin,
) -> Result<(), CardError> {
    let reference = if info.pin_ref_search_parent {
        PIN_REF_AUTH | 0x80
    } else {
        PIN_REF_AUTH
    };
    let block = pin.padded_block();
    let resp = t.exchange(&Command::new(0x20, 0x00, reference, &block))?;
    drop(block);
    match (resp.sw.sw1(), resp.sw.sw2()) {
        (0x90, 0x00) => Ok(()),
        (0x63, 0xC0) | (0x69, 0x83) => Err(CardError::PinBlocked),
        (0x63, x) if x & 0xF0 == 0xC0 => Err(CardError::WrongPin {
            tries_left: x & 0x0F,
        }),
        _ => Err(CardError::from_status(resp.sw, "VERIFY")),
    }
}

/// Restore SE, MSE:SET, PSO CDS over a host-built block (see [`CnsCard::sign_challenge`]).
fn sign_on<L: RawTransmit>(
    t: &mut Transport<L>,
    layout: AuthLayout,
    cert: Certificate,
    challenge: &[u8],
) -> Result<ChallengeSignature, CardError> {
    let k = cert.key_bits / 8;
    let digest = Sha256::digest(challenge);
    let block = pkcs1_v15_block(&digest, k)?;

    // Restore SE #3; the CNS wants a trailing zero byte, sent as Le = 00 like OpenSC.
    let r = t.exchange(&Command::new(0x22, 0xF3, 0x03, &[]).with_le(256))?;
    expect_ok(r.sw, "MSE RESTORE")?;
    let key = [0x83, 0x01, layout.key_ref()];
    let r = t.exchange(&Command::new(0x22, 0xF1, 0xB6, &key))?;
    expect_ok(r.sw, "MSE SET")?;
    let r = t.exchange(&Command::new(0x2A, 0x9E, 0x9A, &block).with_le(k))?;
    match r.sw.kind() {
        StatusKind::Ok => {}
        StatusKind::SecurityStatusNotSatisfied => return Err(CardError::PinRequired),
        _ => return Err(CardError::from_status(r.sw, "PSO CDS")),
    }
    if r.data.len() != k {
        return Err(CardError::Malformed {
            what: format!("signature of {} bytes for a {k}-byte key", r.data.len()),
        });
    }
    cert.verify_sha256(challenge, &r.data)?;
    Ok(ChallengeSignature {
        signature: r.data,
        certificate: cert,
    })
}

/// EMSA-PKCS1-v1_5 encoding of a SHA-256 digest into a `k`-byte block:
/// `00 01 FF..FF 00 || DigestInfo || H`.
pub fn pkcs1_v15_block(digest: &[u8], k: usize) -> Result<Zeroizing<Vec<u8>>, CardError> {
    let t_len = SHA256_DIGEST_INFO.len() + digest.len();
    if digest.len() != 32 || k < t_len + 11 {
        return Err(CardError::Malformed {
            what: format!("key of {k} bytes too small for a SHA-256 signature"),
        });
    }
    let mut block = Zeroizing::new(vec![0xFF; k]);
    block[0] = 0x00;
    block[1] = 0x01;
    block[k - t_len - 1] = 0x00;
    block[k - t_len..k - digest.len()].copy_from_slice(&SHA256_DIGEST_INFO);
    block[k - digest.len()..].copy_from_slice(digest);
    Ok(block)
}

fn expect_ok(sw: StatusWord, command: &'static str) -> Result<(), CardError> {
    if sw == StatusWord::OK {
        Ok(())
    } else {
        Err(CardError::from_status(sw, command))
    }
}

fn path_string(path: &[u16]) -> String {
    path.iter()
        .map(|f| format!("{f:04X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Mute;

    impl RawTransmit for Mute {
        fn transmit_raw(&mut self, _: &[u8]) -> Result<Vec<u8>, CardError> {
            Err(CardError::CardUnresponsive)
        }
    }

    #[test]
    fn cie_is_recognised_and_refused_without_sending_anything() {
        let cie = [
            0x3B, 0x8F, 0x80, 0x01, 0x80, 0x31, 0x80, 0x65, 0x49, 0x54, 0x4A, 0x34, 0x41, 0x12,
            0x0F, 0xFF, 0x82, 0x90, 0x00, 0x88,
        ];
        let Err(e) = CnsCard::new(Mute, &cie) else {
            panic!("a CIE is not a CNS");
        };
        assert_eq!(e.code(), "card.unsupported");
        assert!(e.message_it().contains("CIE 3.0"), "{}", e.message_it());
        let Err(e) = CnsCard::new(Mute, &[0x3B, 0x80, 0x80, 0x01, 0x01]) else {
            panic!("unknown card");
        };
        assert!(e.message_it().contains("3B 80 80 01 01"));
    }

    #[test]
    fn pkcs1_block_layout() {
        let d = [0xABu8; 32];
        let b = pkcs1_v15_block(&d, 128).expect("block");
        assert_eq!(b.len(), 128);
        assert_eq!(&b[..3], &[0x00, 0x01, 0xFF]);
        assert_eq!(b[128 - 52], 0x00);
        assert_eq!(&b[128 - 51..128 - 32], &SHA256_DIGEST_INFO);
        assert!(pkcs1_v15_block(&d, 40).is_err());
    }
}
