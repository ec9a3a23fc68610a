//! Public constants of the CIE 3.0 protocol.
//!
//! DAPP terminal authentication needs an IFD ("terminal") RSA key pair and the private exponent
//! of the CA that certifies it. Both are published in the Ministry's open-source middleware and
//! in PagoPA's CIE SDK, so every host has them: they are facts, not secrets, and are taken here
//! as values only. Sources:
//! - italia/cie-middleware-linux (BSD-3-Clause) at d8d0b87801bf, `cie-pkcs11/CSP/IAS.cpp`
//!   (`defModule`, `defPrivExp`, `defPubExp`, `snIFD`, the CVC OID prefix and CPI) and
//!   `cie-pkcs11/CSP/ExtAuthKey.cpp` (`ExtAuth_PrivExp`);
//! - pagopa/cie-sdk-android (MIT) at f94fb9995f92, `cie/commands/constants.kt` (`defModule`,
//!   `defPrivExp`, `caPrivExp`: the same values).
//!
//! The card's own keys (chip authentication, DH parameters, the CA modulus) are read from the
//! card at every session.

/// IAS ECC application (named `gemaltoAID` in the middleware).
pub const IAS_AID: [u8; 13] = [
    0xA0, 0x00, 0x00, 0x00, 0x30, 0x80, 0x00, 0x00, 0x00, 0x09, 0x81, 0x60, 0x01,
];
/// CIE application.
pub const CIE_AID: [u8; 6] = [0xA0, 0x00, 0x00, 0x00, 0x00, 0x39];

/// EF.ID_Servizi: the NIS, readable without any access condition.
pub const FID_ID_SERVIZI: u16 = 0x1001;
/// EF.Serial: the card serial (first 9 bytes).
pub const FID_SERIAL: u16 = 0x1002;
/// EF.CertCIE: the holder's authentication certificate.
pub const FID_CERT: u16 = 0x1003;
/// EF.IntAuth: the chip-authentication RSA public key.
pub const FID_INT_AUTH: u16 = 0x1004;
/// EF.IntAuthServizi: the "servizi" RSA public key.
pub const FID_INT_AUTH_SERVIZI: u16 = 0x1005;
/// EF.SOD: the document security object (CMS SignedData over the files above).
pub const FID_SOD: u16 = 0x1006;

/// Key and PIN references (middleware `IAS.cpp` defines).
pub const KEY_DH: u8 = 0x81;
/// Key that verifies the terminal's certificate chain (ExtAuth).
pub const KEY_EXT_AUTH: u8 = 0x84;
/// Chip-authentication key (its public half is EF.IntAuth).
pub const KEY_INT_AUTH: u8 = 0x82;
/// The holder's signing key.
pub const KEY_SIGN: u8 = 0x81;
/// The holder's PIN.
pub const PIN_REF: u8 = 0x81;

/// Serial number of the terminal in DAPP (`snIFD`).
pub const SN_IFD: [u8; 8] = [0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01];
/// Certificate profile identifier of the terminal's card-verifiable certificate.
pub const CVC_CPI: u8 = 0x8A;
/// OID prefix of the terminal certificate; the hash byte (0x04, SHA-256) follows.
pub const CVC_OID_PREFIX: [u8; 8] = [0x2A, 0x81, 0x22, 0xF4, 0x2A, 0x02, 0x04, 0x01];
/// The hash byte of [`CVC_OID_PREFIX`]: SHA-256.
pub const CVC_OID_SHA256: u8 = 0x04;
/// MSE algorithm: DH asymmetric authentication with SHA-256 (PagoPA's comment).
pub const ALG_DH_SHA256: u8 = 0x9B;
/// MSE algorithm: ISO 9796-2 scheme 1 with SHA-256.
pub const ALG_ISO9796_SHA256: u8 = 0x41;
/// MSE algorithm: RSA PKCS#1 v1.5 signature, the card pads a DigestInfo we send.
pub const ALG_RSA_PKCS1: u8 = 0x02;

/// Modulus of the terminal (IFD) key, 2048 bits (`defModule`).
pub const IFD_MODULUS_HEX: &[&str] = &[
    "ba2837ab4c6bb827577bff4eb7b1e49cdde0f16614d1ef24c1b75cf70fb12cd1",
    "8f4d14e2814ba4877ea800e175906076b562ba535973c5d8b378051d8afc7407",
    "a1d919529e03c106cda18d699afb0d8ab4fddd9dc719159a50de9468f02ab103",
    "e282a50e716ec23cda5bfc4a232b09a4b2c70745939549099b4483cbae62d009",
    "9674dbf6f39b7223a99d88e33f1a0cdedeebbdc35517abe9880aab240e1ea166",
    "283a274a9ad93b4b1d19f3679f3e8b5ff6a1e0ed736e84d5abe03c59e7346b42",
    "18755d75366cbf4136f0a26c3dc70a69abaaf66e13a1b2faad052ca6ec9c51e2",
    "aed14d16e090254dc3f64ea2bd8a836bba99defacba3a613aeedd93a9615273d",
];
/// Public exponent of the terminal key (`defPubExp`).
pub const IFD_PUBLIC_EXPONENT: [u8; 4] = [0x00, 0x01, 0x00, 0x01];
/// Private exponent of the terminal key (`defPrivExp`).
pub const IFD_PRIVATE_EXPONENT_HEX: &[&str] = &[
    "4716c2a38ccc7a07b415eb1a6175f2aaa0e49ceaf1ba75cba09a684b04d81118",
    "79d3e2ccd8b94d3c5cf6c55753f0ed9587910b3c77258a01460fe84c2ede5764",
    "eebe9c37fb95cd69ceaf09f4b1357c276314ab43ec5b3cefb0403f868f688e2e",
    "c09a4973e987756f8da7a101a2ca75a54a8c4ccf9a1b6147e4de56423af70b20",
    "67179c5eeb646867863478d752c7f412db277541575aa0619d30bccc8d87e617",
    "0b33439a2c93f2d97e18c0a82343a6012a5bb1822808f01b5cfd85673ac0964c",
    "5f3cfd2daf8142359764a9adb9e3f76db613461c1bc913dc9ac0ab50d365f77c",
    "b93194c98aa966d89cdd555125a5e59ecf4fa3f0c3fd610cd3d056439338fd81",
];
/// Private exponent of the CA that certifies the terminal (`ExtAuth_PrivExp`, `caPrivExp`);
/// its modulus is read from the card (GET DATA of key 0x84).
pub const CA_PRIVATE_EXPONENT_HEX: &[&str] = &[
    "186b31488c25dcf85d953d3630c0d073ba1c6aa24581ad254f3b6719c5d72cca",
    "3e5cdc5a1e5316578d75954ff73b237b532c9f8de4a2c4c911385a23e63e33e4",
    "7ee45e66efd49b18e02cff87598c39109e8f86a66bc330249ce3fcad655dcdbf",
    "98c9c5e479321af53b517d041061880a647bbe0ff813683470e6c50094ce81d0",
    "64e204e351bd3ae0a7947d8e91c3fd5c0a15233c349a5215a4e66e21c5d33498",
    "e71991ea24473b29f1475f6fd9be3996e19bd474fad1b41ea0dcd2fc16c9bffa",
    "071bfec1b22415184811c1985fbfe3e7b4f44a4b3c8dfab4d90cecfc5e608d67",
    "3e6762c62cb798341271149ba688162ec7d0e3468f65a94ab4ad1ab67e37bfc1",
];

/// Joins one of the hex tables above into bytes.
pub fn hex_table(table: &[&str]) -> Vec<u8> {
    table
        .iter()
        .flat_map(|s| {
            s.as_bytes()
                .chunks(2)
                .filter_map(|p| std::str::from_utf8(p).ok())
                .filter_map(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::BigUint;

    #[test]
    fn the_terminal_key_is_a_key_pair() {
        let n = BigUint::from_bytes_be(&hex_table(IFD_MODULUS_HEX));
        let d = BigUint::from_bytes_be(&hex_table(IFD_PRIVATE_EXPONENT_HEX));
        let e = BigUint::from_bytes_be(&IFD_PUBLIC_EXPONENT);
        assert_eq!(n.bits(), 2048);
        let m = BigUint::from(0x6A_1234_5678u64);
        assert_eq!(m.modpow(&d, &n).modpow(&e, &n), m);
        assert_eq!(hex_table(CA_PRIVATE_EXPONENT_HEX).len(), 256);
    }
}
