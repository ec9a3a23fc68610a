//! CIE 3.0, the Italian electronic identity card, over a contactless PC/SC reader.
//!
//! No middleware, no pairing, one VERIFY, nothing of the PIN on disk. The protocol (facts from
//! the Ministry's middleware and PagoPA's SDK, see `../shared/reference/smartcards.md` §2):
//!
//! 1. plain: SELECT the IAS application, then the CIE application (this, not the ATR,
//!    tells a CIE); EF.ID_Servizi (the NIS) reads without any condition;
//! 2. plain: GET DATA of the DH domain parameters and of the CA key that certifies
//!    terminals; EF.IntAuth (the chip's public key); DH agreement (MSE SET + GET DATA of the
//!    chip's public value) → session keys, SSC = 1;
//! 3. secure messaging ([`sm`]): DAPP terminal authentication (our certificate, signed with
//!    the published CA key, then EXTERNAL AUTHENTICATE of the card's challenge) and chip
//!    authentication (INTERNAL AUTHENTICATE, checked with EF.IntAuth) → SSC restarts from
//!    the two random numbers;
//! 4. VERIFY of the 8-digit PIN (`00 20 00 81`), once;
//! 5. EF.CertCIE, then MSE SET + INTERNAL AUTHENTICATE over a DigestInfo we build.
//!
//! The session is a chain of types, so the order cannot be broken by a caller:
//! [`CieCard`] (before the PIN: card type, NIS, SOD) → [`SecureSession`] (channel open) →
//! [`VerifiedSession`] (PIN accepted: certificate, holder, signature). Each step consumes the
//! one before; a failure ends the session, and the next attempt starts a new channel.
//!
//! A card that leaves the field is [`CardError::CieCardLost`]; when it left with a VERIFY
//! unanswered, the error says that one try may be spent. Nothing is ever re-sent by itself.

pub mod consts;
pub mod dapp;
pub mod sm;
pub mod sod;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::atr::{CardKind, CardProfile, historical_bytes};
use crate::cert::{Certificate, ValidityStatus, der_total_len};
use crate::cns::ChallengeSignature;
use crate::error::{CardError, StatusKind, StatusWord};
use crate::pin::Pin;
use crate::transport::{Command, RawTransmit, Transport};

use dapp::{DhKeyPair, DhParams, Transcript};
use sm::SmKeys;
pub use sod::{PassiveAuthentication, Sod, SodFile};

/// The most plain bytes one READ BINARY asks for under secure messaging: the wrapped answer
/// (`87 81 E9 01 …`, `99`, `8E`) then still fits a short response.
const SM_READ_CHUNK: usize = 0xE0;
/// Longest plain data one wrapped command carries; longer data is chained (middleware's
/// `SendAPDU_SM` uses the same 0xE7).
const SM_CHAIN_PIECE: usize = 0xE7;
/// The largest file read from a CIE (certificates are ~1.5 KiB, the SOD ~3 KiB).
const MAX_FILE: usize = 16 * 1024;

/// The chip family an ATR suggests (a hint only: the applications decide).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CieChip {
    /// NXP ("ITNXP" in the historical bytes).
    Nxp,
    /// Gemalto (first lots; the ATR is also a Dutch driving licence's).
    Gemalto,
    /// STMicroelectronics, including the short ATR of newer lots.
    Stm,
    /// Actalis / Bit4id lots ("ITJ4x").
    ActalisBit4id,
    /// A contactless card whose ATR says nothing (generic `3B 8F 80 01 00…`).
    Generic,
}

/// Historical-byte signatures of CIE lots (middleware `CSP/ATR.cpp`, pcsc-tools list),
/// matched as contiguous runs (the middleware's sorted-multiset match is looser).
const CHIP_SIGNATURES: &[(&[u8], CieChip)] = &[
    (
        &[0x80, 0x31, 0x80, 0x65, 0x49, 0x54, 0x4E, 0x58, 0x50],
        CieChip::Nxp,
    ),
    (
        &[0x80, 0x31, 0x80, 0x65, 0xB0, 0x85, 0x04, 0x00, 0x11],
        CieChip::Gemalto,
    ),
    (
        &[0x80, 0x31, 0x80, 0x65, 0xB0, 0x85, 0x03, 0x00, 0xEF],
        CieChip::Gemalto,
    ),
    (&[0x80, 0x66, 0x47, 0x50, 0x00, 0xB8, 0x00], CieChip::Stm),
    (
        &[0x80, 0x31, 0x80, 0x65, 0x49, 0x54, 0x4A, 0x34],
        CieChip::ActalisBit4id,
    ),
];

/// The chip family the ATR suggests, if it looks like a CIE at all.
pub fn chip_hint(atr: &[u8]) -> Option<CieChip> {
    let profile = CardProfile::from_atr(atr);
    if profile.kind != CardKind::Cie3 {
        return None;
    }
    let hist = historical_bytes(atr).unwrap_or_default();
    Some(
        CHIP_SIGNATURES
            .iter()
            .find(|(s, _)| hist.windows(s.len()).any(|w| w == *s))
            .map_or(CieChip::Generic, |(_, c)| *c),
    )
}

/// What the card tells before any PIN: enough to say "this is a CIE, this one".
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CieBeforePin {
    /// The ATR profile.
    pub profile: CardProfile,
    /// The chip family the ATR suggests.
    pub chip: Option<CieChip>,
    /// Numero Identificativo per i Servizi, from EF.ID_Servizi.
    pub nis: String,
}

/// What the card tells once the PIN is verified, for the check against the declared holder
/// (before anything goes to the provider).
#[derive(Clone, Debug, serde::Serialize)]
pub struct CieAfterPin {
    /// The authentication certificate.
    pub certificate: Certificate,
    /// Codice fiscale (first 16 characters of the CN, or serialNumber).
    pub codice_fiscale: Option<String>,
    /// Given name and surname from the certificate.
    pub name: Option<String>,
    /// Validity of the certificate now.
    pub validity: ValidityStatus,
}

/// The chip-authentication key: modulus, exponent, and EF.IntAuth as read (for the SOD).
type ChipKey = (Vec<u8>, Vec<u8>, Vec<u8>);

/// Plain-phase facts a session needs, read once per connection.
#[derive(Default)]
struct Plain {
    /// Ask for g, p and q in one GET DATA (Gemalto lots, as the middleware does); cleared
    /// when the card refuses it.
    dh_in_one: bool,
    nis: Option<String>,
    chip_key: Option<ChipKey>,
    certificate: Option<Certificate>,
}

/// A CIE on some link, before the PIN.
pub struct CieCard<T> {
    transport: Transport<T>,
    profile: CardProfile,
    plain: Plain,
}

impl<T: RawTransmit> CieCard<T> {
    /// Selects the IAS application (the MF when a lot has none) and the CIE application.
    /// Fails with [`CardError::UnsupportedCard`] if the card has no CIE application,
    /// whatever its ATR says.
    pub fn detect(raw: T, atr: &[u8]) -> Result<CieCard<T>, CardError> {
        let profile = CardProfile::from_atr(atr);
        let mut transport = Transport::new(raw, false);
        let unsupported = |profile: &CardProfile| CardError::UnsupportedCard {
            description: profile.describe(),
            atr: profile.atr.clone(),
        };
        let ias = transport
            .exchange(&Command::new(0xA4, 0x04, 0x0C, &consts::IAS_AID))
            .map_err(lost(false))?;
        if ias.sw != StatusWord::OK {
            let mf = transport
                .exchange(&Command::new(0xA4, 0x00, 0x00, &[]))
                .map_err(lost(false))?;
            if mf.sw != StatusWord::OK {
                return Err(unsupported(&profile));
            }
        }
        let cie = transport
            .exchange(&Command::new(0xA4, 0x04, 0x0C, &consts::CIE_AID))
            .map_err(lost(false))?;
        if cie.sw != StatusWord::OK {
            return Err(unsupported(&profile));
        }
        Ok(CieCard {
            transport,
            profile,
            plain: Plain {
                dh_in_one: chip_hint(atr) == Some(CieChip::Gemalto),
                ..Plain::default()
            },
        })
    }

    /// The ATR profile.
    pub fn profile(&self) -> &CardProfile {
        &self.profile
    }

    /// APDUs sent so far on this connection.
    pub fn apdu_count(&self) -> usize {
        self.transport.apdu_count()
    }

    /// Gives the link back.
    pub fn into_inner(self) -> T {
        self.transport.into_inner()
    }

    /// The NIS from EF.ID_Servizi (one READ BINARY by short file identifier, no PIN).
    pub fn read_nis(&mut self) -> Result<String, CardError> {
        if let Some(nis) = &self.plain.nis {
            return Ok(nis.clone());
        }
        let raw = read_plain(&mut self.transport, consts::FID_ID_SERVIZI, Some(12))?;
        let nis: String = raw.iter().take(12).map(|&b| char::from(b)).collect();
        if nis.len() != 12 || !nis.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(CardError::Malformed {
                what: "EF.ID_Servizi is not a NIS".into(),
            });
        }
        self.plain.nis = Some(nis.clone());
        Ok(nis)
    }

    /// Card type and NIS: the pre-flight facts available before the PIN.
    pub fn before_pin(&mut self) -> Result<CieBeforePin, CardError> {
        Ok(CieBeforePin {
            chip: chip_hint(&atr_bytes(&self.profile.atr)),
            profile: self.profile.clone(),
            nis: self.read_nis()?,
        })
    }

    /// EF.SOD, parsed and its signature checked (plain, no PIN).
    pub fn read_sod(&mut self) -> Result<Sod, CardError> {
        let raw = read_plain(&mut self.transport, consts::FID_SOD, None)?;
        Sod::parse(&raw)
    }

    /// Passive authentication of what is readable before the PIN (NIS and chip key).
    pub fn passive_authentication(
        &mut self,
        anchors: &[Vec<u8>],
    ) -> Result<PassiveAuthentication, CardError> {
        let sod = self.read_sod()?;
        let nis = self.read_nis()?;
        let chip = self.chip_key()?.2.clone();
        Ok(report(
            &sod,
            anchors,
            &[
                (SodFile::IdServizi, nis.as_bytes()),
                (SodFile::IntAuth, &chip),
            ],
        ))
    }

    /// Opens the secure channel: DH agreement, DAPP terminal and chip authentication.
    pub fn open_secure_channel(&mut self) -> Result<SecureSession<'_, T>, CardError> {
        self.chip_key()?;
        let CieCard {
            transport, plain, ..
        } = self;
        SecureSession::open(transport, plain)
    }

    /// The whole identification in one PC/SC transaction, so no other application's APDU can
    /// fall between ours and break the channel: secure channel, one VERIFY, certificate,
    /// `check` on it (the pre-flight: whose card, still valid? an `Err` stops here, before
    /// any signature), then the signature of `challenge`.
    pub fn verify_pin_and_sign(
        &mut self,
        pin: &Pin,
        challenge: &[u8],
        check: impl FnOnce(&CieAfterPin) -> Result<(), CardError>,
    ) -> Result<ChallengeSignature, CardError> {
        if pin.digits().len() != 8 {
            return Err(CardError::InvalidCiePinFormat);
        }
        self.chip_key()?;
        let CieCard {
            transport, plain, ..
        } = self;
        let mut inner = None;
        let outer = transport.exclusive(|t| {
            inner = Some((|| {
                let session = SecureSession::open(t, plain)?;
                let mut verified = session.verify_pin(pin)?;
                check(&verified.after_pin()?)?;
                verified.sign_challenge(challenge)
            })());
            Ok(())
        });
        // Ending the transaction fails too when the card has left: the session's own error
        // says more (whether the VERIFY was in flight), and a finished signature stands.
        match (inner, outer) {
            (Some(r), _) => r,
            (None, Err(e)) => Err(lost(false)(e)),
            (None, Ok(())) => Err(CardError::Cancelled),
        }
    }

    fn chip_key(&mut self) -> Result<&ChipKey, CardError> {
        if self.plain.chip_key.is_none() {
            let raw = read_plain(&mut self.transport, consts::FID_INT_AUTH, None)?;
            let len = der_total_len(&raw).unwrap_or(raw.len()).min(raw.len());
            let (n, e) = dapp::parse_rsa_public_key(&raw)?;
            self.plain.chip_key = Some((n, e, raw[..len].to_vec()));
        }
        self.plain.chip_key.as_ref().ok_or(CardError::Cancelled)
    }
}

/// The secure channel is open; the PIN is not verified yet.
pub struct SecureSession<'a, L: RawTransmit> {
    t: &'a mut Transport<L>,
    plain: &'a mut Plain,
    sm: SmKeys,
}

impl<'a, L: RawTransmit> SecureSession<'a, L> {
    fn open(
        t: &'a mut Transport<L>,
        plain: &'a mut Plain,
    ) -> Result<SecureSession<'a, L>, CardError> {
        let (chip_n, chip_e, _) = plain.chip_key.clone().ok_or(CardError::Cancelled)?;
        let params = read_dh_params(t, &mut plain.dh_in_one)?;
        let ca = get_data(
            t,
            &[
                0x4D, 0x09, 0x70, 0x07, 0xBF, 0xA0, 0x04, 0x03, 0x7F, 0x49, 0x80,
            ],
        )
        .and_then(|a| dapp::parse_ext_auth_ca(&a))?;

        // DH agreement: MSE SET with our public value, GET DATA of the chip's.
        let ours = DhKeyPair::generate(&params)?;
        let mut mse = dapp::tlv_bytes(&[0x80], &[consts::ALG_DH_SHA256]);
        mse.extend(dapp::tlv_bytes(&[0x83], &[consts::KEY_DH]));
        mse.extend(dapp::tlv_bytes(&[0x91], &ours.public));
        expect_ok(
            plain_exchange(t, Command::new(0x22, 0x41, 0xA6, &mse))?,
            "MSE SET DH",
        )?;
        let icc = get_data(t, &[0x4D, 0x04, 0xA6, 0x02, 0x91, 0x00])
            .and_then(|a| dapp::parse_get_data(&a, 0x91))?;
        let secret = ours.agree(&icc, &params);
        let sm = SmKeys::from_secret(&secret);
        drop(secret);
        let mut s = SecureSession { t, plain, sm };
        let transcript = Transcript {
            ifd_public: &ours.public,
            icc_public: &icc,
            params: &params,
        };

        // DAPP, terminal authentication: our certificate, then the challenge.
        let mut mse = dapp::tlv_bytes(&[0x80], &[consts::ALG_ISO9796_SHA256]);
        mse.extend(dapp::tlv_bytes(&[0x83], &[consts::KEY_EXT_AUTH]));
        s.command_ok([0x00, 0x22, 0x81, 0xB6], &mse, None, "MSE SET ExtAuth")?;
        let cvc = dapp::terminal_certificate(&ca);
        s.command_ok(
            [0x00, 0x2A, 0x00, 0xAE],
            &cvc,
            None,
            "PSO VERIFY CERTIFICATE",
        )?;
        let chr = dapp::tlv_bytes(&[0x83], &dapp::terminal_chr());
        s.command_ok([0x00, 0x22, 0x81, 0xA4], &chr, None, "MSE SET CHR")?;
        let challenge = s.command_ok([0x00, 0x84, 0x00, 0x00], &[], Some(8), "GET CHALLENGE")?;
        if challenge.len() != 8 {
            return Err(CardError::Malformed {
                what: "GET CHALLENGE: not 8 bytes".into(),
            });
        }
        let answer = dapp::external_authenticate(&transcript, &challenge);
        s.command_ok(
            [0x00, 0x82, 0x00, 0x00],
            &answer,
            None,
            "EXTERNAL AUTHENTICATE",
        )?;

        // DAPP, chip authentication: the card signs our random with the EF.IntAuth key.
        let mut mse = dapp::tlv_bytes(&[0x84], &[consts::KEY_INT_AUTH]);
        mse.extend(dapp::tlv_bytes(&[0x80], &[consts::ALG_DH_SHA256]));
        s.command_ok([0x00, 0x22, 0x41, 0xA4], &mse, None, "MSE SET IntAuth")?;
        let mut rnd_ifd = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut rnd_ifd);
        let chip_answer = s.command_ok(
            [0x00, 0x88, 0x00, 0x00],
            &rnd_ifd,
            Some(256),
            "INTERNAL AUTHENTICATE",
        )?;
        if !dapp::check_chip_answer(&transcript, &chip_answer, &rnd_ifd, &chip_n, &chip_e) {
            return Err(CardError::ChipAuthenticationFailed);
        }
        let mut ssc = [0u8; 8];
        ssc[..4].copy_from_slice(&challenge[4..8]);
        ssc[4..].copy_from_slice(&rnd_ifd[4..]);
        s.sm.reset_ssc(ssc);
        Ok(s)
    }

    /// Presents the PIN once (`00 20 00 81`, the 8 digits, no padding, encrypted).
    ///
    /// `WrongPin { tries_left }` on `63Cx`, `PinBlocked` on `6983` / `63C0`; the session is
    /// over in every case but success. If the card leaves the field before answering,
    /// [`CardError::CieCardLost`] says one try may have been used.
    pub fn verify_pin(mut self, pin: &Pin) -> Result<VerifiedSession<'a, L>, CardError> {
        let digits = pin.digits();
        if digits.len() != 8 {
            return Err(CardError::InvalidCiePinFormat);
        }
        let (_, sw) = self.exchange_sm([0x00, 0x20, 0x00, consts::PIN_REF], digits, None, true)?;
        match (sw.sw1(), sw.sw2()) {
            (0x90, 0x00) => Ok(VerifiedSession {
                t: self.t,
                plain: self.plain,
                sm: self.sm,
            }),
            (0x63, 0xC0) | (0x69, 0x83) => Err(CardError::PinBlocked),
            (0x63, x) if x & 0xF0 == 0xC0 => Err(CardError::WrongPin {
                tries_left: x & 0x0F,
            }),
            _ => Err(CardError::from_status(sw, "VERIFY")),
        }
    }

    fn command_ok(
        &mut self,
        header: [u8; 4],
        data: &[u8],
        le: Option<usize>,
        what: &'static str,
    ) -> Result<Zeroizing<Vec<u8>>, CardError> {
        let (out, sw) = self.exchange_sm(header, data, le, false)?;
        expect_ok(sw, what)?;
        Ok(out)
    }

    /// One command under secure messaging, chained in pieces of at most 0xE7 plain bytes.
    fn exchange_sm(
        &mut self,
        header: [u8; 4],
        data: &[u8],
        le: Option<usize>,
        is_verify: bool,
    ) -> Result<(Zeroizing<Vec<u8>>, StatusWord), CardError> {
        exchange_sm(self.t, &mut self.sm, header, data, le, is_verify)
    }
}

/// The PIN was accepted: the certificate and the signing key are open.
pub struct VerifiedSession<'a, L: RawTransmit> {
    t: &'a mut Transport<L>,
    plain: &'a mut Plain,
    sm: SmKeys,
}

impl<L: RawTransmit> VerifiedSession<'_, L> {
    /// EF.CertCIE, read under secure messaging (kept for the rest of the connection).
    pub fn read_certificate(&mut self) -> Result<Certificate, CardError> {
        if let Some(c) = &self.plain.certificate {
            return Ok(c.clone());
        }
        let der = read_sm(self.t, &mut self.sm, consts::FID_CERT, None)?;
        let cert = Certificate::from_der(&der)?;
        self.plain.certificate = Some(cert.clone());
        Ok(cert)
    }

    /// The facts for the holder check: codice fiscale, name, validity.
    pub fn after_pin(&mut self) -> Result<CieAfterPin, CardError> {
        let certificate = self.read_certificate()?;
        let name = match (&certificate.given_name, &certificate.surname) {
            (Some(g), Some(s)) => Some(format!("{g} {s}")),
            _ => None,
        };
        Ok(CieAfterPin {
            codice_fiscale: certificate.codice_fiscale.clone(),
            name,
            validity: certificate.validity_at(std::time::SystemTime::now()),
            certificate,
        })
    }

    /// EF.Serial: the card number printed on the card (first 9 bytes).
    pub fn read_serial(&mut self) -> Result<String, CardError> {
        let raw = read_sm(self.t, &mut self.sm, consts::FID_SERIAL, Some(9))?;
        let s: String = raw.iter().take(9).map(|&b| char::from(b)).collect();
        if !s.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(CardError::Malformed {
                what: "EF.Serial is not printable".into(),
            });
        }
        Ok(s)
    }

    /// Passive authentication of everything read: NIS, chip key, serial, certificate.
    pub fn passive_authentication(
        &mut self,
        anchors: &[Vec<u8>],
    ) -> Result<PassiveAuthentication, CardError> {
        let raw = read_sm(self.t, &mut self.sm, consts::FID_SOD, None)?;
        let sod = Sod::parse(&raw)?;
        let serial = self.read_serial()?;
        let cert = self.read_certificate()?;
        let nis = self.plain.nis.clone();
        let chip = self.plain.chip_key.as_ref().map(|k| k.2.clone());
        let mut files: Vec<(SodFile, &[u8])> = vec![
            (SodFile::Serial, serial.as_bytes()),
            (SodFile::Certificate, &cert.der),
        ];
        if let Some(n) = &nis {
            files.push((SodFile::IdServizi, n.as_bytes()));
        }
        if let Some(c) = &chip {
            files.push((SodFile::IntAuth, c));
        }
        Ok(report(&sod, anchors, &files))
    }

    /// Signs `challenge` with the holder's key: SHA-256, DigestInfo with the SHA-256 prefix
    /// (the middleware sends the SHA-1 prefix here, a known bug), MSE SET `80 02 84 81`,
    /// INTERNAL AUTHENTICATE; the card pads (PKCS#1 v1.5). The signature is checked with the
    /// certificate before it is returned.
    pub fn sign_challenge(&mut self, challenge: &[u8]) -> Result<ChallengeSignature, CardError> {
        let cert = self.read_certificate()?;
        let mut digest_info = SHA256_DIGEST_INFO.to_vec();
        digest_info.extend_from_slice(&Sha256::digest(challenge));
        let mut mse = dapp::tlv_bytes(&[0x80], &[consts::ALG_RSA_PKCS1]);
        mse.extend(dapp::tlv_bytes(&[0x84], &[consts::KEY_SIGN]));
        let (_, sw) = exchange_sm(
            self.t,
            &mut self.sm,
            [0x00, 0x22, 0x41, 0xA4],
            &mse,
            None,
            false,
        )?;
        expect_ok(sw, "MSE SET sign")?;
        let (signature, sw) = exchange_sm(
            self.t,
            &mut self.sm,
            [0x00, 0x88, 0x00, 0x00],
            &digest_info,
            Some(256),
            false,
        )?;
        expect_ok(sw, "INTERNAL AUTHENTICATE")?;
        cert.verify_sha256(challenge, &signature)?;
        Ok(ChallengeSignature {
            signature: signature.to_vec(),
            certificate: cert,
        })
    }
}

/// DigestInfo prefix for SHA-256 (RFC 8017 §9.2 note 1).
pub const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

fn report(sod: &Sod, anchors: &[Vec<u8>], files: &[(SodFile, &[u8])]) -> PassiveAuthentication {
    PassiveAuthentication {
        signature_valid: true,
        signer_chains_to_anchor: sod.chains_to(anchors),
        signer: sod.signer_subject(),
        files: files
            .iter()
            .filter_map(|(f, data)| sod.check(*f, data).map(|ok| (*f, ok)))
            .collect(),
    }
}

/// Maps "the card is gone" to the CIE's own error; `verify_in_flight` when the lost command
/// was the VERIFY.
fn lost(verify_in_flight: bool) -> impl Fn(CardError) -> CardError {
    move |e| match e {
        CardError::CardRemoved | CardError::CardUnresponsive | CardError::NoCard => {
            CardError::CieCardLost {
                pin_try_may_be_used: verify_in_flight,
            }
        }
        other => other,
    }
}

fn plain_exchange<L: RawTransmit>(
    t: &mut Transport<L>,
    cmd: Command<'_>,
) -> Result<StatusWord, CardError> {
    Ok(t.exchange(&cmd).map_err(lost(false))?.sw)
}

fn expect_ok(sw: StatusWord, what: &'static str) -> Result<(), CardError> {
    if sw == StatusWord::OK {
        Ok(())
    } else {
        Err(CardError::from_status(sw, what))
    }
}

fn get_data<L: RawTransmit>(t: &mut Transport<L>, data: &[u8]) -> Result<Vec<u8>, CardError> {
    let r = t
        .exchange(&Command::new(0xCB, 0x3F, 0xFF, data).with_le(256))
        .map_err(lost(false))?;
    expect_ok(r.sw, "GET DATA")?;
    Ok(r.data)
}

/// g, p and q: on Gemalto lots with one GET DATA (`A3 80`, what the middleware sends to
/// them, `IAS::InitDHParam`; 3 APDUs instead of 5), otherwise, and whenever a card refuses
/// that form, with one GET DATA each (what PagoPA's SDK does on every lot).
fn read_dh_params<L: RawTransmit>(
    t: &mut Transport<L>,
    in_one: &mut bool,
) -> Result<DhParams, CardError> {
    if *in_one {
        let all = get_data(
            t,
            &[0x4D, 0x08, 0x70, 0x06, 0xBF, 0xA1, 0x01, 0x02, 0xA3, 0x80],
        )
        .and_then(|a| {
            let leaf = |tag| dapp::parse_get_data(&a, tag).map(dapp::strip_zeros);
            Ok(DhParams {
                g: leaf(0x97)?,
                p: leaf(0x98)?,
                q: leaf(0x99)?,
            })
        });
        match all {
            Ok(params) => return Ok(params),
            // The ATR was only a hint: the card stays where it was (plain phase, nothing
            // changed), so asking part by part is safe. A lost card is not a refusal.
            Err(e @ CardError::CieCardLost { .. }) => return Err(e),
            Err(_) => *in_one = false,
        }
    }
    let mut part = |tag: u8| {
        get_data(
            t,
            &[
                0x4D, 0x0A, 0x70, 0x08, 0xBF, 0xA1, 0x01, 0x04, 0xA3, 0x02, tag, 0x00,
            ],
        )
        .and_then(|a| dapp::parse_get_data(&a, u32::from(tag)))
        .map(dapp::strip_zeros)
    };
    Ok(DhParams {
        g: part(0x97)?,
        p: part(0x98)?,
        q: part(0x99)?,
    })
}

/// Reads a file of the CIE application in plain: first by short file identifier (no SELECT),
/// falling back to SELECT + READ. DER files stop at their encoded length.
fn read_plain<L: RawTransmit>(
    t: &mut Transport<L>,
    fid: u16,
    size: Option<usize>,
) -> Result<Vec<u8>, CardError> {
    let sfi = (fid & 0x1F) as u8;
    let first_le = size.unwrap_or(256);
    let r = t
        .exchange(&Command::new(0xB0, 0x80 | sfi, 0x00, &[]).with_le(first_le))
        .map_err(lost(false))?;
    let mut out = match r.sw.kind() {
        StatusKind::Ok | StatusKind::EndOfFile => r.data,
        _ => {
            let [hi, lo] = fid.to_be_bytes();
            let s = t
                .exchange(&Command::new(0xA4, 0x02, 0x0C, &[hi, lo]))
                .map_err(lost(false))?;
            expect_ok(s.sw, "SELECT")?;
            Vec::new()
        }
    };
    let target = size.or_else(|| der_total_len(&out));
    read_rest(&mut out, target, 256, |off, le| {
        let [hi, lo] = (off as u16).to_be_bytes();
        let r = t
            .exchange(&Command::new(0xB0, hi, lo, &[]).with_le(le))
            .map_err(lost(false))?;
        Ok((r.data.to_vec(), r.sw))
    })?;
    Ok(out)
}

/// Reads a file under secure messaging, by short file identifier first.
fn read_sm<L: RawTransmit>(
    t: &mut Transport<L>,
    sm: &mut SmKeys,
    fid: u16,
    size: Option<usize>,
) -> Result<Zeroizing<Vec<u8>>, CardError> {
    let sfi = (fid & 0x1F) as u8;
    let first_le = size.unwrap_or(SM_READ_CHUNK).min(SM_READ_CHUNK);
    let (data, sw) = exchange_sm(
        t,
        sm,
        [0x00, 0xB0, 0x80 | sfi, 0x00],
        &[],
        Some(first_le),
        false,
    )?;
    let mut out = Zeroizing::new(Vec::new());
    match sw.kind() {
        StatusKind::Ok | StatusKind::EndOfFile => out.extend_from_slice(&data),
        _ => {
            let (_, sw) = exchange_sm(
                t,
                sm,
                [0x00, 0xA4, 0x02, 0x0C],
                &fid.to_be_bytes(),
                None,
                false,
            )?;
            expect_ok(sw, "SELECT")?;
        }
    }
    let target = size.or_else(|| der_total_len(&out));
    read_rest(&mut out, target, SM_READ_CHUNK, |off, le| {
        let [hi, lo] = (off as u16).to_be_bytes();
        let (d, sw) = exchange_sm(t, sm, [0x00, 0xB0, hi, lo], &[], Some(le), false)?;
        Ok((d.to_vec(), sw))
    })?;
    Ok(out)
}

/// The READ BINARY loop after the first chunk: up to `target` (known size or DER length),
/// else until the card says end of file.
fn read_rest(
    out: &mut Vec<u8>,
    mut target: Option<usize>,
    chunk: usize,
    mut read: impl FnMut(usize, usize) -> Result<(Vec<u8>, StatusWord), CardError>,
) -> Result<(), CardError> {
    loop {
        if target.is_none() {
            target = der_total_len(out);
        }
        let off = out.len();
        if target.is_some_and(|t| off >= t) || off >= MAX_FILE || off > 0x7FFF {
            break;
        }
        let want = target.map_or(chunk, |t| (t - off).min(chunk));
        let (data, sw) = read(off, want)?;
        match sw.kind() {
            StatusKind::Ok => {
                let got = data.len();
                out.extend_from_slice(&data);
                if got == 0 || (target.is_none() && got < want) {
                    break;
                }
            }
            StatusKind::EndOfFile => {
                out.extend_from_slice(&data);
                break;
            }
            StatusKind::WrongParameters if off > 0 => break,
            _ => return Err(CardError::from_status(sw, "READ BINARY")),
        }
    }
    if let Some(t) = target {
        out.truncate(t);
    }
    Ok(())
}

/// Wraps, sends (chained when long) and unwraps one command.
fn exchange_sm<L: RawTransmit>(
    t: &mut Transport<L>,
    sm: &mut SmKeys,
    header: [u8; 4],
    data: &[u8],
    le: Option<usize>,
    is_verify: bool,
) -> Result<(Zeroizing<Vec<u8>>, StatusWord), CardError> {
    let pieces: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(SM_CHAIN_PIECE).collect()
    };
    let last = pieces.len() - 1;
    for (i, piece) in pieces.iter().enumerate() {
        let mut h = header;
        if i < last {
            h[0] |= 0x10;
        }
        let w = sm.wrap(h, piece, if i == last { le } else { None })?;
        let cmd = Command {
            cla: w.cla,
            ins: w.ins,
            p1: w.p1,
            p2: w.p2,
            data: &w.body,
            le: Some(256),
        };
        let r = t.exchange(&cmd).map_err(lost(is_verify))?;
        if r.data.is_empty() {
            // An unprotected error: the card could not process the command under secure
            // messaging (e.g. 6987/6988). The channel is out of step from here on.
            if r.sw == StatusWord::OK {
                return Err(CardError::SecureMessaging {
                    what: "unprotected answer".into(),
                });
            }
            return Ok((Zeroizing::new(Vec::new()), r.sw));
        }
        let (plain, sw) = sm.unwrap(&r.data).map_err(sm::SmError::into_card_error)?;
        if i == last || sw != StatusWord::OK {
            return Ok((plain, sw));
        }
    }
    Err(CardError::Cancelled)
}

fn atr_bytes(spaced: &str) -> Vec<u8> {
    spaced
        .split_whitespace()
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        atr_bytes(s)
    }

    #[test]
    fn chip_hints() {
        let short_stm = hex("3B 8B 80 01 80 66 47 50 00 B8 00 7F 82 90 00 2E");
        assert_eq!(chip_hint(&short_stm), Some(CieChip::Stm));
        let nxp = hex("3B 8E 80 01 80 31 80 65 49 54 4E 58 50 12 0F FF 82 90 F0");
        assert_eq!(chip_hint(&nxp), Some(CieChip::Nxp));
        let actalis = hex("3B 8F 80 01 80 31 80 65 49 54 4A 34 43 12 0F FF 82 90 00 8A");
        assert_eq!(chip_hint(&actalis), Some(CieChip::ActalisBit4id));
        let generic = hex("3B 8F 80 01 00 00 00 00 00 00 00 00 00 00 00 FF 82 90 00 E3");
        assert_eq!(chip_hint(&generic), Some(CieChip::Generic));
        let cns = hex("3B FF 18 00 00 81 31 FE 55 00 6B 02 09 07 03 01 01 01 43 4E 53 10 31 80 66");
        assert_eq!(chip_hint(&cns), None);
    }

    #[test]
    fn read_rest_stops_at_der_length() {
        let mut out = vec![0x30, 0x05, 1];
        let mut calls = 0;
        read_rest(&mut out, None, 4, |off, le| {
            calls += 1;
            assert_eq!((off, le), (3, 4));
            Ok((vec![2, 3, 4, 5, 6], StatusWord::OK))
        })
        .expect("read");
        assert_eq!(out, vec![0x30, 0x05, 1, 2, 3, 4, 5]);
        assert_eq!(calls, 1);
    }
}
