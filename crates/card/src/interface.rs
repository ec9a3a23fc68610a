//! Contact or contactless: what the holder must do with the card.
//!
//! PC/SC has no portable attribute that says "this slot is an NFC antenna", so we combine
//! what is reliable:
//! - reader names: drivers name contactless slots after the PICC side (`PICC`, `CL Reader`,
//!   `Contactless`, `NFC`, vsmartcard's `Virtual PCD`, "proximity coupling device"), and
//!   dual-interface readers append `[Contactless Interface]` / `[Contact Interface]`
//!   (ACS ACR122U / ACR1252U / ACR1552U, bit4id miniLector AIR NFC, Identiv uTrust, as listed
//!   by pcsc-lite's CCID driver `supported_readers.txt`);
//! - the card's ATR: a contactless card has the pseudo-ATR `3B 8n 80 01 …` that the reader
//!   builds (PC/SC Part 3, §3.1.3.2.3), so a present card settles it either way.
//!
//! A SAM slot of an NFC reader (`SAM` in the name) is a contact slot.

/// How a card talks to a reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReaderInterface {
    /// Chip contacts: the card goes into the slot.
    Contact,
    /// NFC: the card lies on the reader and must not move.
    Contactless,
    /// The name and the card say nothing.
    Unknown,
}

impl ReaderInterface {
    /// Classifies a reader by its name and, if present, its card's ATR.
    pub fn classify(reader_name: &str, atr: Option<&[u8]>) -> ReaderInterface {
        if let Some(atr) = atr {
            // A contactless card always shows the reader-built pseudo-ATR; an ordinary ATR
            // comes from contacts (or from vsmartcard's CNS emulation in the rig).
            return if is_contactless_atr(atr) {
                ReaderInterface::Contactless
            } else {
                ReaderInterface::Contact
            };
        }
        let n = reader_name.to_ascii_lowercase();
        if n.contains(" sam") || n.contains("[contact interface]") {
            return ReaderInterface::Contact;
        }
        const CONTACTLESS: &[&str] = &[
            "picc",
            "contactless",
            "cl reader",
            " nfc",
            "virtual pcd",
            "acr122",
            "acr1252",
            "acr1552",
            "minilector air",
            "minilector-air",
        ];
        if CONTACTLESS.iter().any(|p| n.contains(p)) {
            return ReaderInterface::Contactless;
        }
        const CONTACT: &[&str] = &["smart card reader", "ccid", "minilector", "usb smartcard"];
        if CONTACT.iter().any(|p| n.contains(p)) {
            return ReaderInterface::Contact;
        }
        ReaderInterface::Unknown
    }

    /// What to tell the holder, in Italian.
    pub fn instruction_it(self, is_cie: bool) -> &'static str {
        match (self, is_cie) {
            (ReaderInterface::Contactless, true) => "Appoggia la CIE sul lettore e non muoverla.",
            (ReaderInterface::Contactless, false) => {
                "Appoggia la carta sul lettore e non muoverla."
            }
            (ReaderInterface::Contact, true) => {
                "La CIE funziona solo senza contatto: usa un lettore NFC."
            }
            // A CIE is read only over NFC, whatever the name says.
            (ReaderInterface::Unknown, true) => "Appoggia la CIE sul lettore e non muoverla.",
            (_, false) => "Inserisci la carta nel lettore, con il chip verso i contatti.",
        }
    }

    /// What to tell the holder, in English (same cases as [`Self::instruction_it`]).
    pub fn instruction_en(self, is_cie: bool) -> &'static str {
        match (self, is_cie) {
            (ReaderInterface::Contactless | ReaderInterface::Unknown, true) => {
                "Lay the CIE on the reader and do not move it."
            }
            (ReaderInterface::Contactless, false) => {
                "Lay the card on the reader and do not move it."
            }
            (ReaderInterface::Contact, true) => {
                "The CIE works only without contact: use an NFC reader."
            }
            (_, false) => "Insert the card into the reader, chip towards the contacts.",
        }
    }
}

/// PC/SC pseudo-ATR of a contactless card: `3B 8n 80 01 …`.
pub fn is_contactless_atr(atr: &[u8]) -> bool {
    atr.len() >= 4 && atr[0] == 0x3B && atr[1] & 0xF0 == 0x80 && atr[2] == 0x80 && atr[3] == 0x01
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_readers() {
        use ReaderInterface::*;
        for (name, want) in [
            ("ACS ACR122U PICC Interface 00 00", Contactless),
            (
                "ACS ACR1252 1S CL Reader [ACR1252 1S CL Reader PICC] 00 00",
                Contactless,
            ),
            (
                "ACS ACR1252 1S CL Reader [ACR1252 1S CL Reader SAM] 01 00",
                Contact,
            ),
            ("ACS ACR1552 1S CL Reader PICC 00 00", Contactless),
            ("Bit4id miniLector AIR NFC v3 00 00", Contactless),
            ("Identiv uTrust 3700 F CL Reader 00 00", Contactless),
            (
                "Identiv uTrust 4701 F Dual Interface Reader [Contactless Interface] 00 00",
                Contactless,
            ),
            (
                "Identiv uTrust 4701 F Dual Interface Reader [Contact Interface] 01 00",
                Contact,
            ),
            ("Virtual PCD 00 00", Contactless),
            ("Bit4id miniLector EVO 00 00", Contact),
            ("Alcor Micro AU9540 00 00", Unknown),
        ] {
            assert_eq!(ReaderInterface::classify(name, None), want, "{name}");
        }
    }

    #[test]
    fn what_to_do_with_each_card() {
        use ReaderInterface::*;
        for (i, cie, it, en) in [
            (Contactless, true, "Appoggia la CIE", "Lay the CIE"),
            (Unknown, true, "Appoggia la CIE", "Lay the CIE"),
            (Contact, true, "usa un lettore NFC", "use an NFC reader"),
            (Contactless, false, "Appoggia la carta", "Lay the card"),
            (Contact, false, "Inserisci la carta", "Insert the card"),
            (Unknown, false, "Inserisci la carta", "Insert the card"),
        ] {
            assert!(i.instruction_it(cie).contains(it), "{i:?} {cie}");
            assert!(i.instruction_en(cie).contains(en), "{i:?} {cie}");
        }
    }

    #[test]
    fn the_card_settles_it() {
        let cie = [
            0x3B, 0x8B, 0x80, 0x01, 0x80, 0x66, 0x47, 0x50, 0x00, 0xB8, 0x00, 0x7F,
        ];
        assert_eq!(
            ReaderInterface::classify("Alcor Micro AU9540 00 00", Some(&cie)),
            ReaderInterface::Contactless
        );
        let cns = [0x3B, 0xFF, 0x18, 0x00];
        assert_eq!(
            ReaderInterface::classify("Alcor Micro AU9540 00 00", Some(&cns)),
            ReaderInterface::Contact
        );
    }
}
