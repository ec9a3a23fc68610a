//! E-mails are relayed over SMTP when a relay is configured (a minimal SMTP catcher here).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use pec_provider::api::*;
use pec_sandbox::{Config, Sandbox, SmtpConfig, SmtpSecurity};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Accepts SMTP sessions and records (recipients, data) of each message.
async fn catcher() -> (u16, Arc<Mutex<Vec<(Vec<String>, String)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("smtp catcher");
    let port = listener.local_addr().expect("smtp catcher").port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&got);
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let sink = Arc::clone(&sink);
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 catcher ESMTP\r\n")
                    .await
                    .expect("smtp catcher");
                let mut rcpt = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        w.write_all(b"250-catcher\r\n250 8BITMIME\r\n")
                            .await
                            .expect("smtp catcher");
                    } else if upper.starts_with("RCPT TO:") {
                        rcpt.push(line[8..].trim().to_owned());
                        w.write_all(b"250 ok\r\n").await.expect("smtp catcher");
                    } else if upper.starts_with("DATA") {
                        w.write_all(b"354 go\r\n").await.expect("smtp catcher");
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(&l);
                            data.push('\n');
                        }
                        sink.lock()
                            .expect("smtp catcher")
                            .push((std::mem::take(&mut rcpt), data));
                        w.write_all(b"250 queued\r\n").await.expect("smtp catcher");
                    } else if upper.starts_with("QUIT") {
                        w.write_all(b"221 bye\r\n").await.expect("smtp catcher");
                        return;
                    } else {
                        w.write_all(b"250 ok\r\n").await.expect("smtp catcher");
                    }
                }
            });
        }
    });
    (port, got)
}

#[tokio::test]
async fn delegation_mail_is_relayed_over_smtp() {
    let (port, got) = catcher().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path().join("db.sqlite"));
    config.smtp = Some(SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::Plain,
        credentials: None,
        from: "PEC Sandbox <noreply@pec.sandbox.test>".into(),
    });
    let sb = Sandbox::start(config).await.unwrap();
    let c = pec_provider::Client::new(sb.base_url()).unwrap();
    c.sign_in(ACME, PASSWORD, None).await.unwrap();
    let r = c.create_identity_request(ACME).await.unwrap();
    act(
        &c,
        &r.id,
        IdentityAction::ChooseRole {
            role: RoleData::Other,
        },
    )
    .await;
    act(
        &c,
        &r.id,
        IdentityAction::SubmitHolderEmail {
            holder_email: "titolare@example.com".into(),
        },
    )
    .await;

    let mut delivered = None;
    for _ in 0..100 {
        if let Some(m) = got.lock().unwrap().first().cloned() {
            delivered = Some(m);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (rcpt, data) = delivered.expect("the relay delivers within 10 s");
    assert_eq!(rcpt, vec!["<titolare@example.com>".to_owned()]);
    assert!(data.contains("/v1/delegations/"), "{data}");
    sb.shutdown().await.unwrap();
}

#[test]
fn plain_smtp_only_to_loopback() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path().join("db.sqlite"));
        config.smtp = Some(SmtpConfig {
            host: "mail.example.it".into(),
            port: 25,
            security: SmtpSecurity::Plain,
            credentials: None,
            from: "noreply@pec.sandbox.test".into(),
        });
        assert!(Sandbox::start(config).await.is_err());
    });
}
