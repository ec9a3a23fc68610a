//! IMAP folder names: decoding them for people, and turning them into safe directory names.
//!
//! IMAP sends non-ASCII folder names in "modified UTF-7" (RFC 3501 §5.1.3): `&` starts a run of
//! UTF-16 in base64 with `,` for `/`, `-` ends it, `&-` is a literal `&`. "Posta inviata" stays
//! as it is, "Attività" arrives as `Attivit&AOA-`. The backup keeps the wire name (the key the
//! server knows) and shows the decoded one.

use sha2::{Digest, Sha256};

/// Decodes a modified UTF-7 folder name. Anything malformed is kept as it came (never fails:
/// the name is only for display and directory names; the wire name stays the key).
pub fn decode_mutf7(wire: &str) -> String {
    let mut out = String::with_capacity(wire.len());
    let mut rest = wire;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let Some(dash) = after.find('-') else {
            out.push_str(&rest[amp..]);
            return out;
        };
        let run = &after[..dash];
        if run.is_empty() {
            out.push('&');
        } else if let Some(text) = decode_run(run) {
            out.push_str(&text);
        } else {
            out.push_str(&rest[amp..amp + 1 + dash + 1]);
        }
        rest = &after[dash + 1..];
    }
    out.push_str(rest);
    out
}

fn decode_run(run: &str) -> Option<String> {
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut units = Vec::new();
    for c in run.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b',' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        nbits += 6;
        if nbits >= 16 {
            nbits -= 16;
            units.push(((bits >> nbits) & 0xFFFF) as u16);
        }
    }
    if units.is_empty() {
        return None; // a run encodes at least one UTF-16 unit
    }
    String::from_utf16(&units).ok()
}

/// A relative directory path for a folder, safe on Windows, macOS and Linux.
///
/// Each level of the hierarchy (split on the server's delimiter) becomes one directory. Characters
/// that some file system refuses become `_`, and names Windows reserves get a `_` in front. When
/// anything had to change, a short hash of the wire name is appended, so two folders that clean
/// up to the same text still get two directories.
pub fn dir_components(wire: &str, delimiter: Option<&str>) -> Vec<String> {
    let decoded = decode_mutf7(wire);
    let levels: Vec<&str> = match delimiter {
        Some(d) if !d.is_empty() => decoded.split(d).collect(),
        _ => vec![decoded.as_str()],
    };
    let mut changed = false;
    let mut out: Vec<String> = levels
        .iter()
        .map(|level| {
            let clean = clean_component(level);
            changed |= clean != *level;
            clean
        })
        .collect();
    if changed && let Some(last) = out.last_mut() {
        let digest = Sha256::digest(wire.as_bytes());
        last.push('~');
        last.push_str(&hex::encode(&digest[..4]));
    }
    out
}

fn clean_component(level: &str) -> String {
    let mut s: String = level
        .chars()
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    // Windows drops trailing dots and spaces, which could merge two names; a leading dot
    // hides the directory on Linux and macOS (and "." / ".." are not names at all).
    let kept = s.trim_end_matches(['.', ' ']).len();
    let dropped = s.len() - kept;
    s.truncate(kept);
    s.extend(std::iter::repeat_n('_', dropped));
    if s.starts_with('.') {
        s.replace_range(..1, "_");
    }
    if s.is_empty() {
        return "_".into();
    }
    let stem = s.split('.').next().unwrap_or("").to_ascii_uppercase();
    let reserved = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit());
    if reserved {
        s.insert(0, '_');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_modified_utf7() {
        assert_eq!(decode_mutf7("INBOX"), "INBOX");
        assert_eq!(decode_mutf7("Attivit&AOA-"), "Attività");
        assert_eq!(decode_mutf7("R&-D"), "R&D");
        assert_eq!(decode_mutf7("&ZeVnLIqe-"), "日本語");
        // Malformed input is kept, never a panic.
        assert_eq!(decode_mutf7("a&b"), "a&b");
        assert_eq!(decode_mutf7("a&!!-b"), "a&!!-b");
        assert_eq!(decode_mutf7("&A-"), "&A-");
        assert_eq!(decode_mutf7("&2D0-"), "&2D0-"); // a lone surrogate
    }

    #[test]
    fn directory_names_are_safe_and_distinct() {
        assert_eq!(dir_components("INBOX", Some("/")), vec!["INBOX"]);
        assert_eq!(
            dir_components("Archivio/2024", Some("/")),
            vec!["Archivio", "2024"]
        );
        assert_eq!(dir_components("Attivit&AOA-", Some("/")), vec!["Attività"]);
        let a = dir_components("a:b", Some("/"));
        let b = dir_components("a_b", Some("/"));
        assert_ne!(a, b);
        assert!(a[0].starts_with("a_b~"));
        assert!(dir_components("CON", None)[0].starts_with("_CON"));
        assert!(dir_components("..", None)[0].starts_with('_'));
        assert!(!dir_components("x.", None)[0].ends_with('.'));
        assert!(dir_components("a.b/c", Some("."))[0] == "a");
    }
}
