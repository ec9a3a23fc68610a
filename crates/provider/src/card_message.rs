//! The message a card signs to identify its holder to a provider.
//!
//! The card's authentication key also authenticates its holder elsewhere (TLS client
//! certificates, other services' logins). If the app signed whatever bytes a provider sent, a
//! malicious or compromised provider could make the card sign, say, a TLS CertificateVerify for
//! another site and log in there as the holder. So the provider sends only a 32-byte nonce,
//! and the app signs a message it builds itself:
//!
//! ```text
//! "PEC-Desktop/card-identification/v1" 0x00
//! u16 (big endian) length of the origin      || provider origin (ASCII, e.g. https://pec.example.it)
//! u16 (big endian) length of the request id  || identity request id (UTF-8)
//! the 32-byte nonce
//! ```
//!
//! The fixed prefix keeps the signed bytes from ever being anything another protocol would
//! accept; the origin binds the signature to the provider the app talked to (a signature
//! relayed by one provider to another does not verify there); the request id binds it to one
//! identity request; the nonce makes it fresh. The lengths make the encoding unambiguous.
//! The server rebuilds exactly this message from its own origin, the request and the nonce it
//! issued, and verifies the card's signature over it (PKCS#1 v1.5, SHA-256).
//!
//! Both sides call [`message`]: the app (through [`crate::Client::card_challenge_to_sign`]) and
//! the sandbox server.

use url::Url;

/// Domain-separation prefix (a NUL follows it in the message).
pub const PREFIX: &[u8] = b"PEC-Desktop/card-identification/v1";
/// The only nonce length accepted.
pub const NONCE_LEN: usize = 32;
/// Longest origin accepted (a scheme, a host name of at most 253 characters and a port fit).
pub const MAX_ORIGIN_LEN: usize = 300;
/// Longest request id accepted (the sandbox's are about 30 characters).
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// A provider's challenge made ready for the card: the message to sign, and what to answer
/// with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignableChallenge {
    /// The challenge to name in the answer.
    pub challenge_id: String,
    /// The bytes the card signs (see [`message`]).
    pub message: Vec<u8>,
    /// When the provider stops accepting an answer.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Why no message could be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The provider's nonce is not exactly [`NONCE_LEN`] bytes.
    #[error("the card challenge must be a {NONCE_LEN}-byte nonce")]
    NonceLength,
    /// The origin is empty, too long, or not ASCII.
    #[error("the provider origin cannot be used in a card challenge")]
    Origin,
    /// The request id is empty or too long.
    #[error("the identity request id cannot be used in a card challenge")]
    RequestId,
}

/// The origin of `url` as the message carries it: `scheme://host[:port]`, the port only when
/// it is not the scheme's default (the WHATWG URL serialisation of an origin). A URL without a
/// tuple origin (`file:`, `data:`) has none.
pub fn origin_of(url: &Url) -> Result<String, MessageError> {
    let origin = url.origin();
    if !origin.is_tuple() {
        return Err(MessageError::Origin);
    }
    Ok(origin.ascii_serialization())
}

/// Builds the message to sign (see the module documentation).
pub fn message(origin: &str, request_id: &str, nonce: &[u8]) -> Result<Vec<u8>, MessageError> {
    if nonce.len() != NONCE_LEN {
        return Err(MessageError::NonceLength);
    }
    if origin.is_empty() || origin.len() > MAX_ORIGIN_LEN || !origin.is_ascii() {
        return Err(MessageError::Origin);
    }
    if request_id.is_empty() || request_id.len() > MAX_REQUEST_ID_LEN {
        return Err(MessageError::RequestId);
    }
    let mut out =
        Vec::with_capacity(PREFIX.len() + 1 + 2 + origin.len() + 2 + request_id.len() + NONCE_LEN);
    out.extend_from_slice(PREFIX);
    out.push(0);
    for field in [origin.as_bytes(), request_id.as_bytes()] {
        // Both bounded above, far below u16::MAX.
        let len = u16::try_from(field.len()).map_err(|_| MessageError::Origin)?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(field);
    }
    out.extend_from_slice(nonce);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_prefix_lengths_fields_nonce() {
        let nonce = [7u8; NONCE_LEN];
        let m = message("https://pec.example.it", "idr-1", &nonce).expect("message");
        let mut expected = b"PEC-Desktop/card-identification/v1\0".to_vec();
        expected.extend_from_slice(&[0, 22]);
        expected.extend_from_slice(b"https://pec.example.it");
        expected.extend_from_slice(&[0, 5]);
        expected.extend_from_slice(b"idr-1");
        expected.extend_from_slice(&nonce);
        assert_eq!(m, expected);
    }

    #[test]
    fn other_nonce_lengths_are_refused() {
        for len in [0, 16, 31, 33, 64, 300] {
            let nonce = vec![1u8; len];
            assert_eq!(
                message("https://a.it", "r", &nonce),
                Err(MessageError::NonceLength),
                "{len} bytes"
            );
        }
    }

    #[test]
    fn fields_cannot_shift_into_each_other() {
        // Without the lengths, ("ab", "c") and ("a", "bc") would sign the same bytes.
        let n = [0u8; NONCE_LEN];
        assert_ne!(
            message("https://ab", "c", &n).expect("m"),
            message("https://a", "bc", &n).expect("m")
        );
    }

    #[test]
    fn bad_origins_and_ids_are_refused() {
        let n = [0u8; NONCE_LEN];
        assert_eq!(message("", "r", &n), Err(MessageError::Origin));
        assert_eq!(message("https://é.it", "r", &n), Err(MessageError::Origin));
        assert_eq!(
            message(&"h".repeat(MAX_ORIGIN_LEN + 1), "r", &n),
            Err(MessageError::Origin)
        );
        assert_eq!(
            message("https://a.it", "", &n),
            Err(MessageError::RequestId)
        );
        assert_eq!(
            message("https://a.it", &"r".repeat(MAX_REQUEST_ID_LEN + 1), &n),
            Err(MessageError::RequestId)
        );
    }

    #[test]
    fn origin_drops_path_and_default_port() {
        let o = |s: &str| origin_of(&Url::parse(s).expect("url"));
        assert_eq!(
            o("https://pec.example.it/api/").as_deref(),
            Ok("https://pec.example.it")
        );
        assert_eq!(
            o("https://pec.example.it:443/").as_deref(),
            Ok("https://pec.example.it")
        );
        assert_eq!(
            o("http://127.0.0.1:8787/").as_deref(),
            Ok("http://127.0.0.1:8787")
        );
        assert_eq!(
            o("https://PEC.Example.IT/").as_deref(),
            Ok("https://pec.example.it")
        );
        assert!(o("file:///tmp/x").is_err());
    }
}
