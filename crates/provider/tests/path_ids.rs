//! Ids never shift the URL (audit L7): an id from the webview or from the provider's own
//! answer that is `..`, holds a `/`, a `?` or a `#`, is refused before anything is sent. A
//! loopback HTTP server counts the requests that reach the wire.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use pec_provider::{Client, Error};

/// A provider that answers every request with `body` and counts what it receives (the
/// request line of each, for the failure message).
fn provider_answering(body: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
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
            count.fetch_add(1, Ordering::SeqCst);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (format!("http://{addr}/"), seen)
}

const BAD: &[&str] = &[
    "..",
    ".",
    "../sessions/current",
    "a/b",
    "x?admin=1",
    "x#y",
    "%2e%2e",
    "",
];

#[tokio::test]
async fn ids_from_the_webview_that_would_shift_the_path_never_reach_the_wire() {
    let (base, seen) = provider_answering("{}".into());
    let c = Client::new(&base).expect("client");
    c.set_access_token(Some("token".into()));
    for bad in BAD {
        let e = c.identity_request(bad).await.unwrap_err();
        assert!(matches!(e, Error::InvalidId), "{bad:?}: {e:?}");
        assert_eq!(e.to_localized().code, "provider.invalid_id");
        assert!(matches!(
            c.mark_notification_read(bad).await,
            Err(Error::InvalidId)
        ));
        assert!(matches!(
            c.delete_app_password("mario.rossi@pec.example.it", bad)
                .await,
            Err(Error::InvalidId)
        ));
        assert!(matches!(c.delegation(bad).await, Err(Error::InvalidId)));
    }
    assert_eq!(seen.load(Ordering::SeqCst), 0, "nothing was sent");
}

#[tokio::test]
async fn an_id_from_the_providers_answer_is_checked_too() {
    // A provider (or a man in the middle of a misconfigured one) hands out an id that would
    // turn "mark as read" into a call on another route.
    let body = r#"[{"id":"../sessions/current","kind":"security","mailbox":"a@pec.example.it",
        "title_it":"t","title_en":"t","body_it":"b","body_en":"b",
        "created_at":"2026-01-01T00:00:00Z","read":false}]"#;
    let (base, seen) = provider_answering(body.replace('\n', ""));
    let c = Client::new(&base).expect("client");
    c.set_access_token(Some("token".into()));
    let notes = c.notifications().await.expect("the list is read");
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    let e = c.mark_notification_read(&notes[0].id).await.unwrap_err();
    assert!(matches!(e, Error::InvalidId), "{e:?}");
    assert_eq!(seen.load(Ordering::SeqCst), 1, "the bad id was not sent");
}
