//! The card challenge is not a signing oracle (audit M1): a provider that sends anything but a
//! 32-byte nonce gets nothing to sign, and what the client hands to the card is the message it
//! builds itself. A loopback HTTP server plays the (malicious) provider.

use std::io::{Read, Write};
use std::net::TcpListener;

use pec_provider::Client;

/// Answers one request on a free port with `status` and the JSON `body`; returns the base URL.
fn provider_answering(status: &str, body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let status = status.to_owned();
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/")
}

fn challenge_json(bytes: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    format!(r#"{{"challenge_id":"chl-1","challenge":"{b64}","expires_at":"2030-01-01T00:00:00Z"}}"#)
}

#[tokio::test]
async fn a_challenge_of_arbitrary_bytes_is_refused() {
    // 300 bytes of the provider's choosing (a TLS handshake transcript, say).
    let chosen: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
    let base = provider_answering("201 Created", challenge_json(&chosen));
    let c = Client::new(&base).expect("client");
    c.set_access_token(Some("token".into()));
    let e = c.card_challenge_to_sign("idr-1").await.unwrap_err();
    assert!(
        matches!(e, pec_provider::Error::Decode(_)),
        "refused as a bad answer: {e:?}"
    );
}

#[tokio::test]
async fn a_short_nonce_is_refused_too() {
    let base = provider_answering("201 Created", challenge_json(&[1u8; 16]));
    let c = Client::new(&base).expect("client");
    c.set_access_token(Some("token".into()));
    assert!(c.card_challenge_to_sign("idr-1").await.is_err());
}

#[tokio::test]
async fn a_32_byte_nonce_becomes_the_built_message() {
    let nonce = [0x5Au8; 32];
    let base = provider_answering("201 Created", challenge_json(&nonce));
    let c = Client::new(&base).expect("client");
    c.set_access_token(Some("token".into()));
    let ch = c.card_challenge_to_sign("idr-1").await.expect("challenge");
    assert_eq!(ch.challenge_id, "chl-1");
    let origin = base.trim_end_matches('/');
    let expected = pec_provider::card_message::message(origin, "idr-1", &nonce).expect("message");
    assert_eq!(ch.message, expected);
    assert!(
        ch.message
            .starts_with(b"PEC-Desktop/card-identification/v1\0")
    );
    assert!(ch.message.ends_with(&nonce));
}
