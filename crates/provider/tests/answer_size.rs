//! Answers have a size limit (audit I4): a provider, or whoever answers in its place, that
//! sends an endless body does not make the app read it all into memory. A loopback HTTP server
//! answers with a body longer than the limit, announced or not, and counts what it managed to
//! send before the client hung up.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use pec_provider::{Client, Error, MAX_ANSWER_BYTES};

/// How the server sends its long body.
#[derive(Clone, Copy)]
enum Framing {
    /// `Content-Length` says how long it is (twice the limit).
    Announced,
    /// Chunked, with no end (until the client goes away).
    Endless,
}

/// A provider answering every request with `status` and a JSON body that never fits; returns
/// its base URL and the bytes of body it wrote.
fn provider_answering(status: &'static str, framing: Framing) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let written = Arc::new(AtomicUsize::new(0));
    let count = written.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let chunk = vec![b' '; 64 << 10];
            let head = match framing {
                Framing::Announced => format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n[",
                    2 * MAX_ANSWER_BYTES
                ),
                Framing::Endless => format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\
                     Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n1\r\n[\r\n"
                ),
            };
            if stream.write_all(head.as_bytes()).is_err() {
                continue;
            }
            // Until the client stops reading (or, for a client that reads on, 16× the limit).
            while count.load(Ordering::SeqCst) < 16 * MAX_ANSWER_BYTES {
                let sent = match framing {
                    Framing::Announced => stream.write_all(&chunk),
                    Framing::Endless => write!(stream, "{:x}\r\n", chunk.len())
                        .and_then(|()| stream.write_all(&chunk))
                        .and_then(|()| stream.write_all(b"\r\n")),
                };
                if sent.is_err() {
                    break;
                }
                count.fetch_add(chunk.len(), Ordering::SeqCst);
            }
        }
    });
    (format!("http://{addr}/"), written)
}

#[tokio::test]
async fn an_answer_longer_than_the_limit_is_refused_without_reading_it_all() {
    for framing in [Framing::Announced, Framing::Endless] {
        let (base, written) = provider_answering("200 OK", framing);
        let c = Client::new(&base).expect("client");
        c.set_access_token(Some("token".into()));
        let e = c.mailboxes().await.unwrap_err();
        assert!(matches!(e, Error::Decode(_)), "{e:?}");
        assert_eq!(e.to_localized().code, "provider.bad_answer");
        // The announced length is refused before any of the body is read, the endless one
        // once the limit is passed: the server could send no more than that and what the
        // sockets' buffers hold (a few MiB on loopback). Without the limit the client reads
        // all 16× and then finds the JSON broken.
        let sent = written.load(Ordering::SeqCst);
        assert!(
            sent < 4 * MAX_ANSWER_BYTES,
            "the client read on: {sent} bytes sent"
        );
        let e = c.openapi_document().await.unwrap_err();
        assert!(matches!(e, Error::Decode(_)), "{e:?}");
    }
}

#[tokio::test]
async fn an_endless_error_answer_is_cut_too() {
    // 400, not 5xx: a 5xx is retried, and each try would count the sockets' buffers again.
    let (base, written) = provider_answering("400 Bad Request", Framing::Endless);
    let c = Client::new(&base).expect("client");
    c.set_access_token(Some("token".into()));
    let e = c.mailboxes().await.unwrap_err();
    // Read as far as a problem document can be, then answered as a generic error.
    assert!(matches!(&e, Error::Api { status: 400, .. }), "{e:?}");
    let sent = written.load(Ordering::SeqCst);
    assert!(sent < 4 * MAX_ANSWER_BYTES, "{sent} bytes sent");
}
