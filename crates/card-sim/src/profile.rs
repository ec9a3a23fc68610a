//! Card profiles: which real card lot the emulator pretends to be.
//!
//! Each profile fixes what a host can observe: the ATR, the key size, whether extended-length
//! APDUs are accepted, how the card answers a too-long `Le` (`6Cxx` or data + `6282`), whether
//! large responses come back through `61xx` / GET RESPONSE, the file layout (classic CNS or
//! IDEMIA 2021), and the holder whose certificate is issued at start.

use std::fmt;
use std::str::FromStr;

/// The cards the emulator can be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProfileName {
    /// STIncard mask (PIN reference needs bit 0x80), RSA-2048, extended length, with the classic
    /// signature DF (DF_DS 1400 holding a qualified certificate).
    Stincard2048,
    /// Athena mask, RSA-2048, extended length; answers a too-long `Le` with `6Cxx`.
    Athena2048,
    /// A CNS 1.0 lot: RSA-1024, short APDUs only, large answers through `61xx` + GET RESPONSE.
    CnsV1_1024,
    /// IDEMIA 2021 lot: authentication certificate at 3F00 1400 9001 2002, key reference 0x02.
    Idemia2021,
    /// Like STIncard 2048, but the PIN is already blocked (0 tries left).
    BlockedPin,
    /// Like STIncard 2048, but one PIN try is left: the next wrong PIN blocks it (the
    /// last-try confirmation of the app and the CLI).
    LastTry,
    /// Like Athena 2048, but the authentication certificate expired yesterday.
    ExpiredCert,
    /// Like Athena 2048, but the certificate carries no codice fiscale (no serialNumber, plain CN).
    NoCodiceFiscale,
    /// Like STIncard 2048, but the card is "pulled out" after a number of APDUs
    /// (see [`crate::SimOptions::pull_after`]; default 4).
    Pulled,
    /// Like Athena 2048, with revocation pointers (CRL distribution point and OCSP responder,
    /// [`DEFAULT_REVOCATION`]) in its certificates: a card the test CA still vouches for.
    RevocationGood,
    /// A second card with revocation pointers (Mario Rossi's, Athena mask), which the test CA
    /// lists as revoked (see [`Profile::revoked`] and
    /// [`crate::pki::openssl_ca_database`]).
    Revoked,
}

impl ProfileName {
    /// Every profile, in a stable order (CLI help, test matrices).
    pub const ALL: [ProfileName; 11] = [
        ProfileName::Stincard2048,
        ProfileName::Athena2048,
        ProfileName::CnsV1_1024,
        ProfileName::Idemia2021,
        ProfileName::BlockedPin,
        ProfileName::LastTry,
        ProfileName::ExpiredCert,
        ProfileName::NoCodiceFiscale,
        ProfileName::Pulled,
        ProfileName::RevocationGood,
        ProfileName::Revoked,
    ];

    /// The command-line spelling (`stincard-2048`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileName::Stincard2048 => "stincard-2048",
            ProfileName::Athena2048 => "athena-2048",
            ProfileName::CnsV1_1024 => "cns-v1-1024",
            ProfileName::Idemia2021 => "idemia-2021",
            ProfileName::BlockedPin => "blocked-pin",
            ProfileName::LastTry => "last-try",
            ProfileName::ExpiredCert => "expired-cert",
            ProfileName::NoCodiceFiscale => "no-cf",
            ProfileName::Pulled => "pulled",
            ProfileName::RevocationGood => "revocation-good",
            ProfileName::Revoked => "revoked",
        }
    }

    /// The full description of this profile.
    pub fn profile(self) -> Profile {
        let mario = Holder {
            given_name: "Mario",
            surname: "Rossi",
            codice_fiscale: "RSSMRA80A01H501U",
            birth_date: "01011980",
            sex: "M",
            birth_town_code: "H501",
        };
        let giulia = Holder {
            given_name: "Giulia",
            surname: "Bianchi",
            codice_fiscale: "BNCGLI85C55F205C",
            birth_date: "15031985",
            sex: "F",
            birth_town_code: "F205",
        };
        let stincard = Profile {
            name: self,
            atr: ATR_STINCARD_2048.to_vec(),
            key_bits: 2048,
            extended_length: true,
            wrong_le: WrongLe::DataWithWarning,
            get_response: false,
            layout: Layout::Classic,
            signature_df: true,
            pin_search_needs_0x80: true,
            holder: mario,
            cert_validity: CertValidity::Valid,
            cf_in_cert: true,
            pin_tries_left: 3,
            serial: "7430010024925855",
            pull_after_default: None,
            auth_issuer: AuthIssuer::Root,
            auth_key_usage: AuthKeyUsage::Cns,
            revocation: None,
            revoked: false,
        };
        let athena = Profile {
            name: self,
            atr: ATR_ATHENA_2048.to_vec(),
            wrong_le: WrongLe::CorrectLength,
            signature_df: false,
            pin_search_needs_0x80: false,
            holder: giulia,
            serial: "5210000000031337",
            ..stincard.clone()
        };
        match self {
            ProfileName::Stincard2048 => stincard,
            ProfileName::Athena2048 => athena,
            ProfileName::CnsV1_1024 => Profile {
                atr: ATR_CNS_V1_1024.to_vec(),
                key_bits: 1024,
                extended_length: false,
                wrong_le: WrongLe::CorrectLength,
                get_response: true,
                signature_df: false,
                pin_search_needs_0x80: false,
                holder: Holder {
                    given_name: "Luca",
                    surname: "Verdi",
                    codice_fiscale: "VRDLCU72L07L219S",
                    birth_date: "07071972",
                    sex: "M",
                    birth_town_code: "L219",
                },
                serial: "1100000000004711",
                ..stincard
            },
            ProfileName::Idemia2021 => Profile {
                atr: ATR_IDEMIA_2021.to_vec(),
                layout: Layout::Idemia2021,
                signature_df: false,
                pin_search_needs_0x80: false,
                holder: Holder {
                    given_name: "Anna",
                    surname: "Esposito",
                    codice_fiscale: "SPSNNA90T62F839K",
                    birth_date: "22121990",
                    sex: "F",
                    birth_town_code: "F839",
                },
                serial: "9120000000000021",
                ..stincard
            },
            ProfileName::BlockedPin => Profile {
                pin_tries_left: 0,
                ..stincard
            },
            ProfileName::LastTry => Profile {
                pin_tries_left: 1,
                ..stincard
            },
            ProfileName::ExpiredCert => Profile {
                cert_validity: CertValidity::Expired,
                ..athena
            },
            ProfileName::NoCodiceFiscale => Profile {
                cf_in_cert: false,
                ..athena
            },
            ProfileName::Pulled => Profile {
                pull_after_default: Some(4),
                ..stincard
            },
            ProfileName::RevocationGood => Profile {
                revocation: Some(RevocationUrls::default()),
                ..athena
            },
            ProfileName::Revoked => Profile {
                holder: stincard.holder,
                serial: "5210000000066642",
                revocation: Some(RevocationUrls::default()),
                revoked: true,
                ..athena
            },
        }
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown profile name.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown card profile `{0}` (known: stincard-2048, athena-2048, cns-v1-1024, idemia-2021, blocked-pin, expired-cert, no-cf, pulled, revocation-good, revoked)"
)]
pub struct UnknownProfile(pub String);

impl FromStr for ProfileName {
    type Err = UnknownProfile;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProfileName::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownProfile(s.to_owned()))
    }
}

/// The person the card belongs to (test data, with valid codici fiscali).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Holder {
    /// Given name, as in the certificate's givenName.
    pub given_name: &'static str,
    /// Surname, as in the certificate's surname.
    pub surname: &'static str,
    /// Codice fiscale (16 characters).
    pub codice_fiscale: &'static str,
    /// Birth date as EF_DatiPersonali stores it (ddmmyyyy).
    pub birth_date: &'static str,
    /// "M" or "F".
    pub sex: &'static str,
    /// Cadastral code of the birth town.
    pub birth_town_code: &'static str,
}

/// How a card answers READ BINARY with an `Le` larger than what is left in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WrongLe {
    /// `6Cxx` with the exact length; the host must re-send.
    CorrectLength,
    /// The bytes that exist, then `6282` (end of file reached before `Le` bytes).
    DataWithWarning,
}

/// Where the authentication certificate and key live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// 3F00 1100 1101, key reference 0x01.
    Classic,
    /// 3F00 1400 9001 2002, key reference 0x02, no EF 1101.
    Idemia2021,
}

/// Validity of the issued authentication certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertValidity {
    /// From yesterday for three years.
    Valid,
    /// Expired yesterday.
    Expired,
}

/// Who signs the authentication certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthIssuer {
    /// The test root CA itself (chain: card → root).
    Root,
    /// An intermediate CA under the test root (chain: card → intermediate → root), as a
    /// provider sees certificates of CAs that issue under a parent; the intermediate's DER is in
    /// [`crate::pki::CardCredentials::intermediates`].
    Intermediate,
}

/// Key usage of the authentication certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthKeyUsage {
    /// What CNS authentication certificates carry: digitalSignature and keyEncipherment.
    Cns,
    /// nonRepudiation only, as a qualified signature certificate: not for authentication.
    NonRepudiationOnly,
    /// keyEncipherment only: an encryption certificate.
    KeyEnciphermentOnly,
}

/// Where the test CA publishes the status of its certificates, written into the certificates
/// it issues (CRL distribution point, and OCSP in the authority information access).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevocationUrls {
    /// The CRL, over http.
    pub crl: String,
    /// The OCSP responder.
    pub ocsp: String,
}

/// The revocation pointers of the built-in profiles: loopback ports that a rig serves (an
/// HTTP server with the CRL, `openssl ocsp`); tests pick free ports and set their own.
pub const DEFAULT_REVOCATION: (&str, &str) = (
    "http://127.0.0.1:47681/test-cns-ca.crl",
    "http://127.0.0.1:47682/",
);

impl Default for RevocationUrls {
    fn default() -> Self {
        Self {
            crl: DEFAULT_REVOCATION.0.to_owned(),
            ocsp: DEFAULT_REVOCATION.1.to_owned(),
        }
    }
}

/// Everything that makes one emulated card lot differ from another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// Which profile this is.
    pub name: ProfileName,
    /// Answer to reset, TCK included.
    pub atr: Vec<u8>,
    /// RSA modulus size of the card keys.
    pub key_bits: usize,
    /// Whether extended-length APDUs are accepted (otherwise `6700`).
    pub extended_length: bool,
    /// Answer to an `Le` past the end of file.
    pub wrong_le: WrongLe,
    /// Whether response data is held back behind `61xx` (T=0 style).
    pub get_response: bool,
    /// File layout.
    pub layout: Layout,
    /// Whether DF_DS (1400) holds the classic signature keyset (cert 9010, key DF 8110, PIN 0x1A).
    pub signature_df: bool,
    /// STIncard quirk: a PIN defined in the MF is found from a sub-DF only when the host sets
    /// bit 0x80 in the reference ("search parent DFs"); other masks reject that bit.
    pub pin_search_needs_0x80: bool,
    /// Card holder.
    pub holder: Holder,
    /// Validity of the card's certificates (authentication and, where present, signature).
    pub cert_validity: CertValidity,
    /// Whether the codice fiscale appears in the certificate subject.
    pub cf_in_cert: bool,
    /// PIN tries left at start (0 = blocked).
    pub pin_tries_left: u8,
    /// EF_IDCarta content (16 ASCII digits).
    pub serial: &'static str,
    /// Pull the card after this many APDUs unless the options say otherwise.
    pub pull_after_default: Option<usize>,
    /// Who signs the authentication certificate (no built-in profile uses an intermediate;
    /// tests set it on a copy of one).
    pub auth_issuer: AuthIssuer,
    /// Key usage of the authentication certificate (tests of refusals change it).
    pub auth_key_usage: AuthKeyUsage,
    /// Revocation pointers written into the authentication certificate and any intermediate.
    pub revocation: Option<RevocationUrls>,
    /// Whether the test CA lists this card as revoked (what a rig's CRL and OCSP responder
    /// say; the card itself behaves as any other).
    pub revoked: bool,
}

/// Real STIncard lot ATR (Aruba signing card, pcsc-tools list) with the CNS version byte set to
/// 1.1 so that the documented ATR rule selects RSA-2048 and extended length.
pub const ATR_STINCARD_2048: [u8; 25] = with_tck([
    0x3B, 0xFF, 0x18, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x55, 0x00, 0x6B, 0x02, 0x09, 0x07, 0x03, 0x01,
    0x01, 0x01, 0x43, 0x4E, 0x53, 0x11, 0x31, 0x80, 0x00,
]);

/// Real Athena lot ATR (Actalis TS-CNS) with the CNS version byte set to 1.1.
pub const ATR_ATHENA_2048: [u8; 24] = with_tck([
    0x3B, 0xDF, 0x18, 0x00, 0x81, 0x31, 0xFE, 0x7D, 0x00, 0x6B, 0x15, 0x0C, 0x01, 0x80, 0x01, 0x11,
    0x01, 0x43, 0x4E, 0x53, 0x11, 0x31, 0x80, 0x00,
]);

/// Real CNS 1.0 ATR (FVG health card), unchanged.
pub const ATR_CNS_V1_1024: [u8; 25] = with_tck([
    0x3B, 0xFF, 0x18, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x45, 0x00, 0x6B, 0x04, 0x05, 0x01, 0x00, 0x01,
    0x11, 0x01, 0x43, 0x4E, 0x53, 0x10, 0x31, 0x80, 0x00,
]);

/// Real IDEMIA ID-One CNS v2 ATR (IC 05, mask 05, firmware 0x91), unchanged.
pub const ATR_IDEMIA_2021: [u8; 25] = with_tck([
    0x3B, 0xFF, 0x18, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x45, 0x00, 0x6B, 0x05, 0x05, 0x91, 0x20, 0x01,
    0xF1, 0x01, 0x43, 0x4E, 0x53, 0x10, 0x31, 0x80, 0x00,
]);

/// Fills in the check byte: XOR of every byte from T0 to the byte before TCK (ISO 7816-3 §8.2.5).
const fn with_tck<const N: usize>(mut atr: [u8; N]) -> [u8; N] {
    let mut tck = 0u8;
    let mut i = 1;
    while i < N - 1 {
        tck ^= atr[i];
        i += 1;
    }
    atr[N - 1] = tck;
    atr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tck_matches_the_published_atrs() {
        // The two unchanged real ATRs must come out with their published check bytes.
        assert_eq!(ATR_CNS_V1_1024[24], 0x69);
        assert_eq!(ATR_IDEMIA_2021[24], 0x38);
    }

    #[test]
    fn names_round_trip() {
        for p in ProfileName::ALL {
            assert_eq!(p.as_str().parse::<ProfileName>().ok(), Some(p));
        }
        assert!("nope".parse::<ProfileName>().is_err());
    }
}
