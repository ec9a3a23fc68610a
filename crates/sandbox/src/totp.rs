//! TOTP (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits), as authenticator apps implement it.
//!
//! Used for two-step login and for the sandbox's remote-signature accounts. Public so tests and
//! demo scripts can compute the code an authenticator app would show.

use hmac::{Hmac, Mac};
use sha1::Sha1;

const STEP: i64 = 30;
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Base32 (RFC 4648, no padding) of `bytes`: the form authenticator apps take.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes base32, ignoring padding, spaces and case; `None` on any other character.
pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in s.chars().filter(|c| *c != '=' && !c.is_whitespace()) {
        let c = c.to_ascii_uppercase();
        let v = ALPHABET.iter().position(|&a| char::from(a) == c)?;
        buffer = (buffer << 5) | u32::try_from(v).ok()?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

/// The code for `secret_b32` at Unix time `unix` (`None` if the secret is not base32).
pub fn code(secret_b32: &str, unix: i64) -> Option<String> {
    let key = base32_decode(secret_b32)?;
    let counter = unix.div_euclid(STEP);
    Some(hotp(&key, counter))
}

/// Whether `input` is the code of the current step or of the one before or after (clock skew).
pub fn verify(secret_b32: &str, unix: i64, input: &str) -> bool {
    verify_step(secret_b32, unix, input, None).is_some()
}

/// The step (30-second counter) whose code `input` is, among the current step and the one
/// before or after, and only if it is later than `last_used`: a code that was accepted once
/// (or any code before it) is never accepted again, so one seen over a shoulder or in a log
/// cannot be replayed inside its window (RFC 6238 §5.2).
pub fn verify_step(
    secret_b32: &str,
    unix: i64,
    input: &str,
    last_used: Option<i64>,
) -> Option<i64> {
    let key = base32_decode(secret_b32)?;
    let input = input.trim();
    if input.len() != 6 || !input.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let counter = unix.div_euclid(STEP);
    // Every candidate is computed and compared, matched or not, so the time taken does not
    // say which step matched.
    let mut matched = None;
    for d in [-1i64, 0, 1] {
        let step = counter.saturating_add(d);
        let expected = hotp(&key, step);
        if crate::state::ct_eq(&expected, input) && last_used.is_none_or(|l| step > l) {
            matched = matched.or(Some(step));
        }
    }
    matched
}

fn hotp(key: &[u8], counter: i64) -> String {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let bin = (u32::from(digest[offset] & 0x7f) << 24)
        | (u32::from(digest[offset + 1]) << 16)
        | (u32::from(digest[offset + 2]) << 8)
        | u32::from(digest[offset + 3]);
    format!("{:06}", bin % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B, secret "12345678901234567890", last 6 digits.
        let secret = base32_encode(b"12345678901234567890");
        assert_eq!(code(&secret, 59).unwrap(), "287082");
        assert_eq!(code(&secret, 1_111_111_109).unwrap(), "081804");
        assert_eq!(code(&secret, 2_000_000_000).unwrap(), "279037");
        assert!(verify(&secret, 59, "287082"));
        assert!(!verify(&secret, 59, "287083"));
    }

    #[test]
    fn a_used_step_and_the_ones_before_it_are_refused() {
        let secret = base32_encode(b"12345678901234567890");
        assert_eq!(verify_step(&secret, 59, "287082", None), Some(1));
        assert_eq!(verify_step(&secret, 59, "287082", Some(1)), None);
        assert_eq!(verify_step(&secret, 59, "287082", Some(2)), None);
        assert_eq!(verify_step(&secret, 59, "287082", Some(0)), Some(1));
        // The next step's code is still good after the previous one was used.
        let next = code(&secret, 89).unwrap();
        assert_eq!(verify_step(&secret, 89, &next, Some(1)), Some(2));
    }

    #[test]
    fn base32_round_trip() {
        let b = b"hello world!";
        assert_eq!(base32_decode(&base32_encode(b)).unwrap(), b);
        assert!(base32_decode("not*base32").is_none());
    }
}
