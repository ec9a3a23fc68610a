//! Recognising a card from its ATR.
//!
//! A CNS announces itself in its historical bytes (AgID rule, as OpenSC's `itacns` driver
//! implements it): exactly 15 of them, `"CNS"` at positions 9..12, the IC and mask
//! manufacturers at 2 and 3, the firmware version at 4 and 5 and the CNS version at 12. The mask
//! manufacturer decides the quirks (STIncard wants bit 0x80 in PIN references), the version
//! (and the IDEMIA 2021 lot) decides RSA-2048 with extended-length APDUs versus RSA-1024 with
//! short APDUs. CardOS signature tokens and the CIE are recognised too, so the app can say what
//! the card *is* even when it cannot use it; anything else is `Unknown` with its ATR.
//!
//! Parsing never panics on any byte string: ATRs come from outside.

use std::fmt;

/// What kind of card an ATR belongs to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CardKind {
    /// Italian CNS / TS-CNS or a CNS-layout signature card.
    Cns(CnsInfo),
    /// Siemens/Atos CardOS signature token (keys in a vendor layout: not readable as CNS).
    CardOs {
        /// CardOS version from the driver's ATR table.
        version: &'static str,
    },
    /// CIE 3.0 (contactless; see [`crate::cie`]). The ATR only suggests it: the card is a CIE
    /// when its CIE application answers.
    Cie3,
    /// Older contact CIE (2001–2004 pilots).
    CieLegacy,
    /// Anything else.
    Unknown,
}

/// What the ATR tells about a CNS.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CnsInfo {
    /// ISO 7816-6 IC manufacturer code (`hist[2]`).
    pub ic_manufacturer: u8,
    /// Mask (OS) manufacturer code (`hist[3]`).
    pub mask_manufacturer: u8,
    /// Mask manufacturer's name, when known.
    pub vendor: &'static str,
    /// Firmware major (`hist[4]`).
    pub firmware_major: u8,
    /// Firmware minor (`hist[5]`).
    pub firmware_minor: u8,
    /// CNS version byte (`hist[12]`), high nibble major: 0x10 = 1.0, 0x11 = 1.1.
    pub version: u8,
    /// IDEMIA 2021 lot: certificate at 3F00 1400 9001 2002, key reference 0x02.
    pub idemia_2021: bool,
    /// Expected RSA key size (the certificate has the final word).
    pub key_bits: u16,
    /// Whether the card takes extended-length APDUs.
    pub extended_length: bool,
    /// STIncard quirk: PIN references need bit 0x80 ("search parent DFs").
    pub pin_ref_search_parent: bool,
}

/// A card recognised from its ATR.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CardProfile {
    /// The ATR in hex, space separated.
    pub atr: String,
    /// The kind of card.
    pub kind: CardKind,
    /// Label from the list of known Italian cards, if the exact ATR is in it.
    pub label: Option<&'static str>,
}

impl CardProfile {
    /// Recognises `atr`. Never fails: unknown cards come back as [`CardKind::Unknown`].
    pub fn from_atr(atr: &[u8]) -> CardProfile {
        let label = KNOWN_ATRS
            .iter()
            .find(|(a, _)| *a == atr)
            .map(|(_, label)| *label);
        let kind = recognise(atr);
        CardProfile {
            atr: hex_spaced(atr),
            kind,
            label,
        }
    }

    /// The CNS details, if this is a CNS.
    pub fn cns(&self) -> Option<&CnsInfo> {
        match &self.kind {
            CardKind::Cns(info) => Some(info),
            _ => None,
        }
    }

    /// The card's name for the holder's screens (Italian): what it is and who made it, with
    /// none of the technical detail of [`describe`](Self::describe) (key size, APDU lengths).
    pub fn holder_label(&self) -> String {
        match &self.kind {
            CardKind::Cns(i) => format!(
                "Carta Nazionale dei Servizi ({})",
                if i.idemia_2021 {
                    "IDEMIA 2021"
                } else {
                    i.vendor
                }
            ),
            CardKind::CardOs { .. } => "Token di firma digitale".into(),
            CardKind::Cie3 => "Carta d'identità elettronica (CIE)".into(),
            CardKind::CieLegacy => "Carta d'identità elettronica di prima generazione".into(),
            CardKind::Unknown => "Carta non riconosciuta".into(),
        }
    }

    /// Short technical description (Italian), e.g. for `pec card list` and helpdesks.
    pub fn describe(&self) -> String {
        match &self.kind {
            CardKind::Cns(i) => format!(
                "CNS {}.{} ({}, RSA-{}{})",
                i.version >> 4,
                i.version & 0x0F,
                if i.idemia_2021 {
                    "IDEMIA 2021"
                } else {
                    i.vendor
                },
                i.key_bits,
                if i.extended_length {
                    ", APDU estese"
                } else {
                    ""
                }
            ),
            CardKind::CardOs { version } => format!("Token di firma CardOS {version}"),
            CardKind::Cie3 => "CIE 3.0 (carta d'identità elettronica, solo NFC)".into(),
            CardKind::CieLegacy => "CIE di prima generazione (contatto)".into(),
            CardKind::Unknown => "Carta sconosciuta".into(),
        }
    }
}

impl fmt::Display for CardProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Historical bytes of an ATR (ISO 7816-3 §8.2), or `None` if the ATR is malformed.
pub fn historical_bytes(atr: &[u8]) -> Option<&[u8]> {
    let t0 = *atr.get(1)?;
    let k = usize::from(t0 & 0x0F);
    let mut y = t0 >> 4;
    let mut i = 2usize;
    loop {
        // TA, TB, TC present per bits 1..3 of Y; TD (bit 4) chains to the next group.
        i += usize::from(y & 1) + usize::from((y >> 1) & 1) + usize::from((y >> 2) & 1);
        if y & 0x08 == 0 {
            break;
        }
        let td = *atr.get(i)?;
        i += 1;
        y = td >> 4;
    }
    atr.get(i..i.checked_add(k)?)
}

fn recognise(atr: &[u8]) -> CardKind {
    if let Some(version) = CARDOS_ATRS.iter().find(|(a, _)| *a == atr).map(|(_, v)| *v) {
        return CardKind::CardOs { version };
    }
    if CIE_LEGACY_ATRS.contains(&atr) {
        return CardKind::CieLegacy;
    }
    let Some(hist) = historical_bytes(atr) else {
        return CardKind::Unknown;
    };
    if hist.len() == 15 && &hist[9..12] == b"CNS" {
        return CardKind::Cns(cns_info(hist));
    }
    if is_cie3(atr, hist) {
        return CardKind::Cie3;
    }
    CardKind::Unknown
}

fn cns_info(hist: &[u8]) -> CnsInfo {
    let (ic, mask, fw_major, fw_minor, version) = (hist[2], hist[3], hist[4], hist[5], hist[12]);
    // OpenSC: IC Infineon + mask IDEMIA with firmware major >= 32 is the 2021 lot.
    let idemia_2021 = ic == 0x05 && mask == 0x05 && fw_major >= 32;
    let big = idemia_2021 || version >= 0x11;
    CnsInfo {
        ic_manufacturer: ic,
        mask_manufacturer: mask,
        vendor: mask_vendor(mask),
        firmware_major: fw_major,
        firmware_minor: fw_minor,
        version,
        idemia_2021,
        key_bits: if big { 2048 } else { 1024 },
        extended_length: big,
        pin_ref_search_parent: mask == 0x09,
    }
}

fn mask_vendor(mask: u8) -> &'static str {
    match mask {
        0x01 => "Kaitech",
        0x02 => "Gemplus",
        0x03 => "Ghirlanda",
        0x04 => "Giesecke & Devrient",
        0x05 => "IDEMIA (Oberthur)",
        0x06 => "Orga",
        0x07 => "Axalto",
        0x08 => "Siemens",
        0x09 => "STIncard",
        0x0A => "GEP",
        0x0B => "EPS",
        0x0C => "Athena",
        0x0D => "Gemalto",
        _ => "sconosciuto",
    }
}

/// CIE 3.0 answers with a contactless pseudo-ATR (`3B 8n 80 01 ...`) whose historical bytes
/// carry a chip-vendor signature; match those as contiguous runs.
fn is_cie3(atr: &[u8], hist: &[u8]) -> bool {
    const SIGNATURES: &[&[u8]] = &[
        &[0x80, 0x31, 0x80, 0x65, 0x49, 0x54, 0x4E, 0x58, 0x50], // NXP "ITNXP"
        &[0x80, 0x31, 0x80, 0x65, 0xB0, 0x85, 0x04, 0x00, 0x11], // Gemalto
        &[0x80, 0x31, 0x80, 0x65, 0xB0, 0x85, 0x03, 0x00, 0xEF], // Gemalto 2
        &[0x80, 0x66, 0x47, 0x50, 0x00, 0xB8, 0x00],             // STM
        &[0x80, 0x31, 0x80, 0x65, 0x49, 0x54, 0x4A, 0x34],       // Actalis / Bit4id "ITJ4"
    ];
    let contactless =
        atr.len() >= 4 && atr[0] == 0x3B && atr[1] & 0xF0 == 0x80 && atr[2..4] == [0x80, 0x01];
    contactless
        && (SIGNATURES
            .iter()
            .any(|s| hist.windows(s.len()).any(|w| w == *s))
            || CIE3_ATRS.contains(&atr))
}

fn hex_spaced(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// CardOS ATRs from OpenSC `card-cardos.c`.
const CARDOS_ATRS: &[(&[u8], &str)] = &[
    (
        &[
            0x3B, 0xD2, 0x18, 0x00, 0x81, 0x31, 0xFE, 0x58, 0xC9, 0x01, 0x14,
        ],
        "5.0",
    ),
    (
        &[
            0x3B, 0xD2, 0x18, 0x00, 0x81, 0x31, 0xFE, 0x58, 0xC9, 0x02, 0x17,
        ],
        "5.3",
    ),
    (
        &[
            0x3B, 0xD2, 0x18, 0x00, 0x81, 0x31, 0xFE, 0x58, 0xC9, 0x03, 0x16,
        ],
        "5.3",
    ),
    (
        &[
            0x3B, 0xD2, 0x18, 0x00, 0x81, 0x31, 0xFE, 0x58, 0xC9, 0x04, 0x11,
        ],
        "5.4",
    ),
    (
        &[
            0x3B, 0xD2, 0x18, 0x02, 0xC1, 0x0A, 0x31, 0xFE, 0x58, 0xC8, 0x0D, 0x51,
        ],
        "M4.4",
    ),
    (
        &[
            0x3B, 0xE2, 0x00, 0xFF, 0xC1, 0x10, 0x31, 0xFE, 0x55, 0xC8, 0x02, 0x9C,
        ],
        "4.0",
    ),
    (
        &[
            0x3B, 0xFC, 0x98, 0x00, 0xFF, 0xC1, 0x10, 0x31, 0xFE, 0x55, 0xC8, 0x03, 0x49, 0x6E,
            0x66, 0x6F, 0x63, 0x61, 0x6D, 0x65, 0x72, 0x65, 0x28,
        ],
        "M4.01a (InfoCamere 1402)",
    ),
];

const CIE_LEGACY_ATRS: &[&[u8]] = &[
    &[
        0x3B, 0xF4, 0x18, 0x00, 0xFF, 0x81, 0x31, 0x80, 0x55, 0x00, 0x31, 0x80, 0x00, 0xC7,
    ],
    &[
        0x3B, 0xE9, 0x00, 0xFF, 0xC1, 0x10, 0x31, 0xFE, 0x55, 0x00, 0x64, 0x05, 0x00, 0xC8, 0x02,
        0x31, 0x80, 0x00, 0x47,
    ],
];

const CIE3_ATRS: &[&[u8]] = &[&[
    0x3B, 0x8F, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF,
    0x82, 0x90, 0x00, 0xE3,
]];

/// Italian CNS / signature-card ATRs with the labels of the pcsc-tools list.
#[rustfmt::skip]
const KNOWN_ATRS: &[(&[u8], &str)] = &[
    (&[0x3B,0xFF,0x18,0x00,0xFF,0x81,0x31,0xFE,0x55,0x00,0x6B,0x02,0x09,0x02,0x00,0x01,0x01,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0x9F], "Carta Nazionale dei Servizi - InfoCamere"),
    (&[0x3B,0xFF,0x18,0x00,0x00,0x81,0x31,0xFE,0x55,0x00,0x6B,0x02,0x09,0x07,0x03,0x01,0x01,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0x66], "Aruba digital signing card"),
    (&[0x3B,0xFF,0x18,0x00,0x00,0x81,0x31,0xFE,0x55,0x00,0x6B,0x02,0x09,0x14,0x03,0x01,0x01,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0x75], "InfoCert digital key CNS"),
    (&[0x3B,0xFF,0x18,0x00,0x00,0x81,0x31,0xFE,0x55,0x00,0x6B,0x02,0x09,0x04,0x03,0x01,0x01,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0x65], "Italian Chambers of Commerce CNS"),
    (&[0x3B,0xFF,0x18,0x00,0x00,0x81,0x31,0xFE,0x55,0x00,0x6B,0x02,0x09,0x05,0x03,0x01,0x01,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0x64], "Bit4id J-SIGN 2048 (L)"),
    (&[0x3B,0xFF,0x18,0x00,0x00,0x81,0x31,0xFE,0x55,0x00,0x6B,0x02,0x09,0x06,0x03,0x01,0x01,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0x67], "ST microelettronics JSign3"),
    (&[0x3B,0xFF,0x18,0x00,0x00,0x81,0x31,0xFE,0x55,0x00,0x6B,0x02,0x09,0x16,0x13,0x01,0x01,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0x67], "ANPR - Ministero dell'Interno"),
    (&[0x3B,0xFF,0x96,0x00,0x00,0x81,0x31,0xFE,0x55,0x00,0x6B,0x02,0x09,0x04,0x03,0x01,0x01,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0xEB], "Aruba PEC digital signature card (Incard)"),
    (&[0x3B,0xFF,0x96,0x00,0xFF,0x81,0x31,0xFE,0x55,0x00,0x6B,0x02,0x09,0x04,0x03,0x01,0x01,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0x14], "JavaCard Bit4id"),
    (&[0x3B,0xFF,0x18,0x00,0x00,0x81,0x31,0xFE,0x45,0x00,0x6B,0x04,0x05,0x01,0x00,0x01,0x11,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0x69], "CNS (tessera sanitaria FVG)"),
    (&[0x3B,0xFF,0x18,0x00,0x00,0x81,0x31,0xFE,0x45,0x00,0x6B,0x04,0x05,0x01,0x00,0x01,0x21,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0x59], "CNS Regione Sardegna / Emilia Romagna"),
    (&[0x3B,0xFF,0x18,0x00,0x00,0x81,0x31,0xFE,0x45,0x00,0x6B,0x05,0x05,0x10,0x17,0x01,0x21,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0x5E], "Tessera Sanitaria - CRS Liguria, Veneto"),
    (&[0x3B,0xFF,0x18,0x00,0x00,0x81,0x31,0xFE,0x45,0x00,0x6B,0x05,0x05,0x20,0x00,0x01,0x21,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0x79], "Tessera sanitaria (Sardegna)"),
    (&[0x3B,0xFF,0x18,0x00,0x00,0x81,0x31,0xFE,0x45,0x00,0x6B,0x05,0x05,0x20,0x00,0x01,0xF1,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0xA9], "Tessera sanitaria nazionale"),
    (&[0x3B,0xFF,0x18,0x00,0x00,0x81,0x31,0xFE,0x45,0x00,0x6B,0x05,0x05,0x91,0x20,0x01,0xF1,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0x38], "TS-CNS IDEMIA ID-One CNS v2 / Cosmo 9.1"),
    (&[0x3B,0xFF,0x18,0x00,0x00,0x81,0x31,0xFE,0x45,0x00,0x6B,0x15,0x0C,0x03,0x02,0x01,0x01,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0x61], "Bit4id Digital-DNA Key"),
    (&[0x3B,0xFF,0x18,0x00,0xFF,0x81,0x31,0xFE,0x4D,0x00,0x6B,0x04,0x04,0xB8,0x5B,0x01,0xF1,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0x9D], "CNS (HealthCare)"),
    (&[0x3B,0xFF,0x18,0x00,0xFF,0xC1,0x0A,0x31,0xFE,0x55,0x00,0x6B,0x05,0x08,0xC8,0x05,0x01,0x11,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0x0C], "CRS Regione Lombardia (CardOS)"),
    (&[0x3B,0xFF,0x18,0x00,0xFF,0xC1,0x0A,0x31,0xFE,0x55,0x00,0x6B,0x05,0x08,0xC8,0x0C,0x01,0x11,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0x05], "TS-CNS Trento / Repubblica Italiana"),
    (&[0x3B,0xDF,0x18,0x00,0x81,0x31,0xFE,0x7D,0x00,0x6B,0x15,0x0C,0x01,0x80,0x01,0x11,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0xE9], "Actalis S.p.A."),
    (&[0x3B,0xDF,0x18,0x00,0x81,0x31,0xFE,0x7D,0x00,0x6B,0x15,0x0C,0x01,0x81,0x01,0x11,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0xE8], "TS-CNS / CRS Lombardia / Toscana"),
    (&[0x3B,0xDF,0x18,0x00,0x81,0x31,0xFE,0x7D,0x00,0x6B,0x04,0x0C,0x01,0x84,0x01,0x11,0x01,0x43,0x4E,0x53,0x10,0x31,0x80,0xFC], "TS-CNS (Toscana)"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).expect("hex"))
            .collect()
    }

    #[test]
    fn every_known_italian_atr_is_a_cns() {
        for (atr, label) in KNOWN_ATRS {
            let p = CardProfile::from_atr(atr);
            assert!(p.cns().is_some(), "{label}");
            assert_eq!(p.label, Some(*label));
        }
    }

    #[test]
    fn holder_label_has_no_technical_terms() {
        for atr in [
            "3B FF 18 00 00 81 31 FE 55 00 6B 02 09 07 03 01 01 01 43 4E 53 10 31 80 66",
            "3B 8F 80 01 80 31 80 65 B0 85 04 00 11 12 0F FF 82 90 00 8A",
            "3B 00",
        ] {
            let p = CardProfile::from_atr(&hex(atr));
            let label = p.holder_label();
            for jargon in ["APDU", "RSA", "estese", "0x"] {
                assert!(!label.contains(jargon), "{label:?} says {jargon}");
            }
        }
        let cns = CardProfile::from_atr(&hex(
            "3B FF 18 00 00 81 31 FE 55 00 6B 02 09 07 03 01 01 01 43 4E 53 10 31 80 66",
        ));
        assert!(
            cns.holder_label()
                .starts_with("Carta Nazionale dei Servizi")
        );
        assert!(
            cns.describe().contains("RSA-"),
            "the technical one keeps the details"
        );
    }

    #[test]
    fn stincard_worked_example() {
        let p = CardProfile::from_atr(&hex(
            "3B FF 18 00 00 81 31 FE 55 00 6B 02 09 07 03 01 01 01 43 4E 53 10 31 80 66",
        ));
        let c = p.cns().expect("cns");
        assert_eq!((c.ic_manufacturer, c.mask_manufacturer), (0x02, 0x09));
        assert!(c.pin_ref_search_parent);
        assert_eq!((c.key_bits, c.extended_length), (1024, false));
    }

    #[test]
    fn idemia_2021_and_version_11_are_2048_extended() {
        let p = CardProfile::from_atr(&hex(
            "3B FF 18 00 00 81 31 FE 45 00 6B 05 05 91 20 01 F1 01 43 4E 53 10 31 80 38",
        ));
        let c = p.cns().expect("cns");
        assert!(c.idemia_2021 && c.extended_length && c.key_bits == 2048);
        let p = CardProfile::from_atr(&hex(
            "3B DF 18 00 81 31 FE 7D 00 6B 15 0C 01 80 01 11 01 43 4E 53 11 31 80 E8",
        ));
        let c = p.cns().expect("cns");
        assert_eq!((c.vendor, c.key_bits), ("Athena", 2048));
        assert!(!c.pin_ref_search_parent);
    }

    #[test]
    fn cie_cardos_and_unknown() {
        let cie = hex("3B 8F 80 01 80 31 80 65 49 54 4A 34 41 12 0F FF 82 90 00 88");
        assert_eq!(CardProfile::from_atr(&cie).kind, CardKind::Cie3);
        let cie = hex("3B 8E 80 01 80 31 80 65 49 54 4E 58 50 12 0F FF 82 90 F0");
        assert_eq!(CardProfile::from_atr(&cie).kind, CardKind::Cie3);
        let cardos = hex("3B D2 18 00 81 31 FE 58 C9 03 16");
        assert!(matches!(
            CardProfile::from_atr(&cardos).kind,
            CardKind::CardOs { version: "5.3" }
        ));
        let nfc_cns = hex("3B 80 80 01 01");
        assert_eq!(CardProfile::from_atr(&nfc_cns).kind, CardKind::Unknown);
    }

    #[test]
    fn garbage_never_panics() {
        for len in 0..40usize {
            for fill in [0x00u8, 0xFF, 0x3B, 0x8F, 0xF0] {
                let atr = vec![fill; len];
                let _ = CardProfile::from_atr(&atr);
                let mut atr2 = atr.clone();
                if len > 1 {
                    atr2[1] = 0xFF;
                }
                let _ = CardProfile::from_atr(&atr2);
            }
        }
    }
}
