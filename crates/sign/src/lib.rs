//! CAdES-BES signatures for the *firma digitale*, and the devices that make them.
//!
//! The providers identify a holder by *firma digitale* by having them sign the request form
//! with their **qualified** signature certificate; they then keep the signed form as evidence.
//! This crate makes that signature and checks it:
//!
//! - [`cades`]: the `.p7m` (CMS SignedData, content attached, SHA-256, signed attributes
//!   content-type, message-digest, signing-time, signing-certificate-v2), built with the
//!   RustCrypto `cms` crate in two steps so that any device can sign in between;
//! - [`verify`]: what a provider checks before relying on it (chain to a trusted CA,
//!   nonRepudiation, qualified, validity, the signing-certificate-v2 binding, the content), with
//!   the codice fiscale returned for comparison with the declared person;
//! - [`Signer`]: the device interface, with [`card`] (the classic CNS signature DF over PC/SC),
//!   [`pkcs11`] (vendor tokens through their PKCS#11 module) and [`SoftwareSigner`];
//! - [`csc`]: the Cloud Signature Consortium API v2 client for *firma remota*.
//!
//! ```no_run
//! use std::time::SystemTime;
//! use pec_sign::{cades, verify, Policy, TrustedCas};
//! # fn demo(signer: &mut dyn pec_sign::Signer, form: &[u8], ca: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
//! let p7m = cades::sign(form, signer, SystemTime::now())?;
//! let trusted = TrustedCas::from_der([ca])?;
//! let ok = verify::verify(&p7m, &Policy::new(&trusted).expecting(form))?;
//! println!("signed by {:?} ({:?})", ok.signer.common_name, ok.signer.codice_fiscale);
//! # Ok(()) }
//! ```

pub mod asn1;
pub mod cades;
pub mod error;
pub mod signer;
pub mod verify;

#[cfg(feature = "card")]
pub mod card;
#[cfg(feature = "csc")]
pub mod csc;
pub mod csc_api;
#[cfg(feature = "pkcs11")]
pub mod pkcs11;

pub use cades::{Prepared, ToBeSigned, prepare, sign};
pub use error::{SignError, VerifyError};
pub use signer::{Signer, SignerCertificate, SoftwareSigner};
pub use verify::{Inspection, Policy, SignerDetails, TrustedCas, VerifiedSignature};
