//! Revocation of card certificates against real tools on loopback: the virtual card's test CA
//! (the committed test key) acts through real OpenSSL, which writes the CRL (`openssl ca
//! -gencrl`) served over HTTP, and answers OCSP (`openssl ocsp` as a responder process). Two
//! virtual cards with revocation pointers: `revocation-good` and `revoked` (card-sim profiles,
//! certificates issued as for every emulated card). Real sandbox server, real SQLite file.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;
use pec_card_sim::pki::{CardCredentials, TEST_CA_KEY_PEM, issue, openssl_ca_database};
use pec_card_sim::{ProfileName, RevocationUrls};
use pec_provider::Client;
use pec_provider::api::*;
use pec_sandbox::revocation::{Mode, Settings};
use pec_sandbox::{Config, Sandbox};

const GIULIA_CF: &str = "BNCGLI85C55F205C";
const CONTACT: &str = "giulia.bianchi@example.com";

/// A port nothing listens on now (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The two cards, their certificates pointing at `crl_port` and `ocsp_port` on loopback.
fn cards(crl_port: u16, ocsp_port: u16) -> (CardCredentials, CardCredentials) {
    let urls = RevocationUrls {
        crl: format!("http://127.0.0.1:{crl_port}/test-cns-ca.crl"),
        ocsp: format!("http://127.0.0.1:{ocsp_port}/"),
    };
    let card = |name: ProfileName| {
        let mut p = name.profile();
        assert!(p.revocation.is_some(), "{name} has revocation pointers");
        p.revocation = Some(urls.clone());
        (issue(&p, "hash").expect("card-sim issues"), p.revoked)
    };
    let (good, good_revoked) = card(ProfileName::RevocationGood);
    let (revoked, revoked_revoked) = card(ProfileName::Revoked);
    assert!(!good_revoked && revoked_revoked);
    (good, revoked)
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The test CA as OpenSSL sees it: its certificate and key, and its database listing the good
/// card as valid and the revoked one as revoked. Writes `crl.der`, signed by the CA key.
fn openssl_ca(dir: &Path, good: &CardCredentials, revoked: &CardCredentials) {
    std::fs::write(dir.join("ca.pem"), pem("CERTIFICATE", &good.ca_cert)).expect("ca");
    std::fs::write(dir.join("ca-key.pem"), TEST_CA_KEY_PEM).expect("key");
    let db = openssl_ca_database(
        &[(&good.auth_cert, false), (&revoked.auth_cert, true)],
        SystemTime::now(),
    )
    .expect("database");
    std::fs::write(dir.join("index.txt"), db).expect("index");
    std::fs::write(dir.join("index.txt.attr"), "unique_subject = no\n").expect("attr");
    std::fs::write(dir.join("crlnumber"), "01\n").expect("crlnumber");
    std::fs::write(
        dir.join("ca.cnf"),
        "[ ca ]\ndefault_ca = test\n[ test ]\ndatabase = index.txt\ncrlnumber = crlnumber\n\
         default_md = sha256\ndefault_crl_days = 1\n",
    )
    .expect("cnf");
    openssl(
        dir,
        &[
            "ca",
            "-config",
            "ca.cnf",
            "-gencrl",
            "-keyfile",
            "ca-key.pem",
            "-cert",
            "ca.pem",
            "-out",
            "crl.pem",
        ],
    );
    openssl(
        dir,
        &[
            "crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der",
        ],
    );
}

/// Serves `file` to every GET on `port` (plain HTTP/1.1, one request per connection) and
/// counts the requests, until the test process ends.
fn serve_crl(port: u16, file: PathBuf) -> Arc<AtomicUsize> {
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("crl port");
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = answer_crl(stream, &file);
        }
    });
    hits
}

fn answer_crl(mut stream: TcpStream, file: &Path) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let body = std::fs::read(file)?;
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)
}

/// `openssl ocsp` answering for the test CA from its database, signing with the CA key.
struct Responder(Child);

impl Responder {
    fn start(dir: &Path, port: u16) -> Responder {
        let mut child = Command::new("openssl")
            .args([
                "ocsp",
                "-index",
                "index.txt",
                "-port",
                &port.to_string(),
                "-rsigner",
                "ca.pem",
                "-rkey",
                "ca-key.pem",
                "-CA",
                "ca.pem",
                "-rmd",
                "sha256",
                "-nmin",
                "60",
                "-ignore_err",
            ])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("openssl ocsp starts");
        // Ready when it says so. (Not by connecting to it: the responder serves one
        // connection at a time, and an empty one stalls it.)
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if line.contains("waiting for OCSP client connections") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("openssl ocsp did not start listening");
        Responder(child)
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A sandbox trusting the card-sim root with revocation in `mode`, and Giulia's account (two
/// mailboxes, so that two identifications can succeed), signed in.
async fn rig(
    dir: &Path,
    anchor: Vec<u8>,
    mode: Mode,
) -> (pec_sandbox::RunningSandbox, Client, [String; 2]) {
    // The checker says in the log why an answer was not usable.
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("pec_sandbox=debug")
        .try_init();
    let mut config = Config::new("127.0.0.1:0".parse().expect("addr"), dir.join("db.sqlite"));
    config.card_trust_anchors = vec![anchor];
    config.revocation = Settings {
        mode,
        timeout: Duration::from_secs(3),
    };
    let sandbox = Sandbox::start(config).await.expect("sandbox starts");
    let client = client_of(&sandbox);
    let holder = HolderData::PrivateCitizen {
        first_name: "Giulia".into(),
        last_name: "Bianchi".into(),
        tax_code: GIULIA_CF.into(),
    };
    let mailboxes = [
        "giulia.bianchi@pec.sandbox.test".to_owned(),
        "studio.bianchi@pec.sandbox.test".to_owned(),
    ];
    let seeded = client
        .sandbox_seed_account(&SeedAccountRequest {
            password: PASSWORD.into(),
            mailboxes: mailboxes
                .iter()
                .map(|a| SeedMailbox {
                    address: a.clone(),
                    holder: holder.clone(),
                    contact: contact(CONTACT),
                    imap: None,
                })
                .collect(),
        })
        .await
        .expect("seed");
    client
        .sign_in(&seeded.account_id, PASSWORD, None)
        .await
        .expect("sign in");
    (sandbox, client, mailboxes)
}

async fn identifying(c: &Client, mailbox: &str) -> String {
    let holder = HolderData::PrivateCitizen {
        first_name: "Giulia".into(),
        last_name: "Bianchi".into(),
        tax_code: GIULIA_CF.into(),
    };
    to_identifying(c, mailbox, holder, CONTACT, MethodData::Cns).await
}

async fn answer(
    c: &Client,
    id: &str,
    card: &CardCredentials,
) -> Result<IdentityRequestView, pec_provider::Error> {
    let ch = c.card_challenge_to_sign(id).await.expect("challenge");
    let resp = CardResponse {
        challenge_id: ch.challenge_id.clone(),
        certificate_chain: vec![B64.encode(&card.auth_cert)],
        signature: sign(&card.auth_key, &ch.message),
    };
    c.card_response(id, &resp).await
}

#[tokio::test]
async fn ocsp_refuses_the_revoked_card_and_accepts_the_good_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No CRL server: only the OCSP responder can answer.
    let (crl_port, ocsp_port) = (free_port(), free_port());
    let (good, revoked) = cards(crl_port, ocsp_port);
    openssl_ca(dir.path(), &good, &revoked);
    let _responder = Responder::start(dir.path(), ocsp_port);
    let (sandbox, c, mailboxes) = rig(dir.path(), good.ca_cert.clone(), Mode::HardFail).await;
    let id = identifying(&c, &mailboxes[0]).await;

    let e = answer(&c, &id, &revoked).await.unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(422), "card.revoked"));
    let Err(pec_provider::Error::Api { problem, .. }) = answer(&c, &id, &revoked).await else {
        panic!("the revoked card must be refused again");
    };
    assert!(
        problem.message_it.contains("revocata"),
        "{}",
        problem.message_it
    );

    let r = answer(&c, &id, &good)
        .await
        .expect("the good card identifies");
    assert_eq!(r.step, StepData::Identified);
    sandbox.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn the_crl_refuses_the_revoked_card_when_ocsp_is_down_and_is_cached() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No OCSP responder: the CRL (served over HTTP) is the only source.
    let (crl_port, ocsp_port) = (free_port(), free_port());
    let (good, revoked) = cards(crl_port, ocsp_port);
    openssl_ca(dir.path(), &good, &revoked);
    let hits = serve_crl(crl_port, dir.path().join("crl.der"));
    let (sandbox, c, mailboxes) = rig(dir.path(), good.ca_cert.clone(), Mode::HardFail).await;

    let id = identifying(&c, &mailboxes[0]).await;
    let e = answer(&c, &id, &revoked).await.unwrap_err();
    assert_eq!((e.status(), code_of(&e)), (Some(422), "card.revoked"));
    let r = answer(&c, &id, &good)
        .await
        .expect("the good card identifies");
    assert_eq!(r.step, StepData::Identified);
    // A second identification reads the cached CRL: one download for three checks.
    let id = identifying(&c, &mailboxes[1]).await;
    let r = answer(&c, &id, &good)
        .await
        .expect("the good card identifies");
    assert_eq!(r.step, StepData::Identified);
    assert_eq!(hits.load(Ordering::SeqCst), 1, "the CRL is fetched once");
    sandbox.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn no_source_reachable_soft_fail_accepts_hard_fail_refuses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (crl_port, ocsp_port) = (free_port(), free_port());
    let (good, _revoked) = cards(crl_port, ocsp_port);

    let soft = dir.path().join("soft");
    std::fs::create_dir_all(&soft).expect("dir");
    let (sandbox, c, mailboxes) = rig(&soft, good.ca_cert.clone(), Mode::SoftFail).await;
    let id = identifying(&c, &mailboxes[0]).await;
    let r = answer(&c, &id, &good).await.expect("soft-fail accepts");
    assert_eq!(r.step, StepData::Identified);
    sandbox.shutdown().await.expect("shutdown");

    let hard = dir.path().join("hard");
    std::fs::create_dir_all(&hard).expect("dir");
    let (sandbox, c, mailboxes) = rig(&hard, good.ca_cert.clone(), Mode::HardFail).await;
    let id = identifying(&c, &mailboxes[0]).await;
    let e = answer(&c, &id, &good).await.unwrap_err();
    assert_eq!(
        (e.status(), code_of(&e)),
        (Some(503), "card.revocation_unavailable")
    );
    assert_eq!(
        c.identity_request(&id).await.expect("request").step,
        StepData::Identifying
    );
    sandbox.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_crl_signed_by_another_key_is_not_believed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (crl_port, ocsp_port) = (free_port(), free_port());
    let (good, revoked) = cards(crl_port, ocsp_port);
    openssl_ca(dir.path(), &good, &revoked);
    // The same CA name, another key: a forged CRL saying nothing is revoked.
    openssl(
        dir.path(),
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "forger.pem",
        ],
    );
    openssl(
        dir.path(),
        &[
            "req",
            "-new",
            "-x509",
            "-key",
            "forger.pem",
            "-subj",
            "/C=IT/O=PEC Desktop Test CA (non valida)/OU=Certificati di prova/CN=PEC Desktop Test CNS CA",
            "-days",
            "2",
            "-out",
            "forger-ca.pem",
        ],
    );
    std::fs::write(dir.path().join("index.txt"), "").expect("empty db");
    openssl(
        dir.path(),
        &[
            "ca",
            "-config",
            "ca.cnf",
            "-gencrl",
            "-keyfile",
            "forger.pem",
            "-cert",
            "forger-ca.pem",
            "-out",
            "forged.pem",
        ],
    );
    openssl(
        dir.path(),
        &[
            "crl",
            "-in",
            "forged.pem",
            "-outform",
            "DER",
            "-out",
            "forged.der",
        ],
    );
    let _hits = serve_crl(crl_port, dir.path().join("forged.der"));
    let (sandbox, c, mailboxes) = rig(dir.path(), good.ca_cert.clone(), Mode::HardFail).await;
    let id = identifying(&c, &mailboxes[0]).await;
    let e = answer(&c, &id, &revoked).await.unwrap_err();
    assert_eq!(code_of(&e), "card.revocation_unavailable");
    sandbox.shutdown().await.expect("shutdown");
}
