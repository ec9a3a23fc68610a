//! The classic CNS qualified-signature keyset in DF_DS (`3F00 1400`): certificate at
//! `3F00 1400 9010`, private key in DF `3F00 1400 8110` (key reference 0x10), signature PIN
//! reference 0x1A (PUK 0x1B), defined in the key DF. Facts from OpenSC's `pkcs15-itacns.c`
//! (keyset "CNS1") and `card-itacns.c` (STIncard: bit 0x80 in PIN references, "search parent
//! DFs"); see `shared/reference/smartcards.md` §1.2–§1.5.
//!
//! A signature is one PC/SC transaction of five APDUs: SELECT of the key DF (the PIN object is
//! defined there, so the reference resolves the same on every mask), VERIFY of the signature
//! PIN, restore SE, MSE:SET with key 0x10, PSO: COMPUTE DIGITAL SIGNATURE over a PKCS#1 v1.5
//! block built here. The PIN goes to the card once per signature and is never retried: a wrong
//! PIN comes back as [`CardError::WrongPin`] with the tries left from `63Cx`.
//!
//! Modern signature cards keep the qualified key in vendor applets instead (Bit4id, IDEMIA,
//! Actalis): those are reached through the vendor's PKCS#11 module, not here.

use sha2::Sha256;

use super::*;

/// DF of the signature key; the signature PIN object is defined in it.
pub const PATH_SIGN_KEY_DF: &[u16] = &[0x3F00, 0x1400, 0x8110];
/// Signature PIN reference (PUK = 0x1B).
const PIN_REF_SIGN: u8 = 0x1A;
/// Security environment / key reference of the signature key.
const KEY_REF_SIGN: u8 = 0x10;

/// A signature made with the DF_DS key.
#[derive(Clone, Debug, serde::Serialize)]
pub struct QualifiedSignature {
    /// RSASSA-PKCS1-v1_5 signature over the SHA-256 digest given, k bytes.
    pub signature: Vec<u8>,
    /// The signature certificate whose key signed.
    pub certificate: Certificate,
}

impl<T: RawTransmit> CnsCard<T> {
    /// Signs a SHA-256 `digest` with the DF_DS qualified key, presenting `pin` (the signature
    /// PIN, not the authentication one) exactly once; see the module documentation. The
    /// certificate is read first, outside the transaction; the result is checked against it.
    ///
    /// `FileNotFound` (3F00 1400 9010) when the card has no classic signature keyset.
    pub fn sign_digest_with_signature_key(
        &mut self,
        pin: &Pin,
        digest: &[u8; 32],
    ) -> Result<QualifiedSignature, CardError> {
        let cert = self
            .read_signature_certificate()?
            .ok_or_else(|| CardError::FileNotFound {
                path: path_string(PATH_SIGN_CERT),
            })?;
        self.sign_digest_for_certificate(cert, pin, digest)
    }

    /// Like [`CnsCard::sign_digest_with_signature_key`], with the signature certificate the
    /// caller already read ([`CnsCard::read_signature_certificate`]): no APDU is spent reading
    /// it again. The signature is checked against `cert`, so a certificate from another card
    /// fails with [`CardError::SignatureMismatch`].
    pub fn sign_digest_for_certificate(
        &mut self,
        cert: Certificate,
        pin: &Pin,
        digest: &[u8; 32],
    ) -> Result<QualifiedSignature, CardError> {
        let reference = if self.info.pin_ref_search_parent {
            PIN_REF_SIGN | 0x80
        } else {
            PIN_REF_SIGN
        };
        let k = cert.key_bits / 8;
        let block = pkcs1_v15_block(digest, k)?;
        let signature = self.transport.exclusive(|t| {
            select_on(t, PATH_SIGN_KEY_DF)?;
            let pin_block = pin.padded_block();
            let resp = t.exchange(&Command::new(0x20, 0x00, reference, &pin_block))?;
            drop(pin_block);
            match (resp.sw.sw1(), resp.sw.sw2()) {
                (0x90, 0x00) => {}
                (0x63, 0xC0) | (0x69, 0x83) => return Err(CardError::PinBlocked),
                (0x63, x) if x & 0xF0 == 0xC0 => {
                    return Err(CardError::WrongPin {
                        tries_left: x & 0x0F,
                    });
                }
                _ => return Err(CardError::from_status(resp.sw, "VERIFY")),
            }
            let r = t.exchange(&Command::new(0x22, 0xF3, 0x03, &[]).with_le(256))?;
            expect_ok(r.sw, "MSE RESTORE")?;
            let r = t.exchange(&Command::new(0x22, 0xF1, 0xB6, &[0x83, 0x01, KEY_REF_SIGN]))?;
            expect_ok(r.sw, "MSE SET")?;
            let r = t.exchange(&Command::new(0x2A, 0x9E, 0x9A, &block).with_le(k))?;
            match r.sw.kind() {
                StatusKind::Ok => Ok(r.data),
                StatusKind::SecurityStatusNotSatisfied => Err(CardError::PinRequired),
                _ => Err(CardError::from_status(r.sw, "PSO CDS")),
            }
        })?;
        if signature.len() != k {
            return Err(CardError::Malformed {
                what: format!("signature of {} bytes for a {k}-byte key", signature.len()),
            });
        }
        verify_prehash(&cert, digest, &signature)?;
        Ok(QualifiedSignature {
            signature,
            certificate: cert,
        })
    }
}

/// SELECT by path from the MF, no FCI (`00 A4 08 0C`), falling back to P2 = 00 on `6A86`
/// like [`CnsCard::read_file`] does.
fn select_on<L: RawTransmit>(t: &mut Transport<L>, path: &[u16]) -> Result<(), CardError> {
    let rel = match path.split_first() {
        Some((0x3F00, rest)) if !rest.is_empty() => rest,
        _ => path,
    };
    let data: Vec<u8> = rel.iter().flat_map(|f| f.to_be_bytes()).collect();
    let mut sw = t.exchange(&Command::new(0xA4, 0x08, 0x0C, &data))?.sw;
    if sw == StatusWord(0x6A86) {
        sw = t
            .exchange(&Command::new(0xA4, 0x08, 0x00, &data).with_le(256))?
            .sw;
    }
    match sw.kind() {
        StatusKind::Ok => Ok(()),
        StatusKind::FileNotFound => Err(CardError::FileNotFound {
            path: path_string(path),
        }),
        _ => Err(CardError::from_status(sw, "SELECT")),
    }
}

fn verify_prehash(cert: &Certificate, digest: &[u8; 32], sig: &[u8]) -> Result<(), CardError> {
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::hazmat::PrehashVerifier;
    let key = VerifyingKey::<Sha256>::new(cert.rsa_public_key()?);
    let sig = Signature::try_from(sig).map_err(|_| CardError::SignatureMismatch)?;
    key.verify_prehash(digest, &sig)
        .map_err(|_| CardError::SignatureMismatch)
}
