//! Documents picked by the user (identity documents for the wizard, a support ticket's ID
//! document): checked here before they go to the provider. Not empty, at most
//! [`MAX_DOCUMENT_BYTES`], a PDF, JPEG or PNG by its content (the provider checks again), and a
//! file name reduced to a plain base name.

use crate::Result;
use crate::error::refusal;

/// Largest document the app sends (the provider has its own limit too).
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

/// A document ready to send.
#[derive(Debug, PartialEq, Eq)]
pub struct Document<'b> {
    pub filename: String,
    pub media: &'static str,
    pub bytes: &'b [u8],
}

/// Checks a picked file: `encoded_name` as the UI sent it (`encodeURIComponent`), the bytes
/// as they came.
pub fn checked<'b>(encoded_name: Option<&str>, bytes: &'b [u8]) -> Result<Document<'b>> {
    if bytes.is_empty() {
        return Err(refusal(
            "document.empty",
            "Il file scelto è vuoto.",
            "The chosen file is empty.",
        ));
    }
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(refusal(
            "document.too_large",
            "Il file supera i 10 MB: scegline uno più piccolo (ad esempio una scansione a risoluzione minore).",
            "The file is larger than 10 MB: choose a smaller one (for instance a lower-resolution scan).",
        ));
    }
    let media = sniff(bytes).ok_or_else(|| {
        refusal(
            "document.unsupported_type",
            "Sono accettati solo documenti PDF, JPEG o PNG.",
            "Only PDF, JPEG or PNG documents are accepted.",
        )
    })?;
    Ok(Document {
        filename: encoded_name.map_or_else(|| "documento".into(), file_name),
        media,
        bytes,
    })
}

/// The media type by content.
pub fn sniff(b: &[u8]) -> Option<&'static str> {
    if b.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if b.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

/// Decodes `encodeURIComponent` output (anything malformed is kept as written) and keeps only
/// a base name: no path, no control characters, at most 120 characters.
pub fn file_name(encoded: &str) -> String {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(h) = encoded.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(h, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    let name = String::from_utf8(out).unwrap_or_else(|_| encoded.to_owned());
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control()).take(120).collect();
    if clean.trim().is_empty() {
        "documento".into()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(file_name("..%2F..%2Fetc%2Fpasswd"), "passwd");
        assert_eq!(file_name("visura%20camerale.pdf"), "visura camerale.pdf");
        assert_eq!(file_name("%0A"), "documento");
    }

    #[test]
    fn documents_are_recognised_by_content() {
        assert_eq!(sniff(b"%PDF-1.7 ..."), Some("application/pdf"));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(checked(None, b"").unwrap_err().code(), "document.empty");
        assert_eq!(
            checked(None, b"GIF89a").unwrap_err().code(),
            "document.unsupported_type"
        );
        let big = vec![b'%'; MAX_DOCUMENT_BYTES + 1];
        assert_eq!(
            checked(None, &big).unwrap_err().code(),
            "document.too_large"
        );
        let ok = checked(Some("a%2Fvisura.pdf"), b"%PDF-1.7").unwrap();
        assert_eq!(
            (ok.filename.as_str(), ok.media),
            ("visura.pdf", "application/pdf")
        );
    }
}
