//! Shared by the rig tests: the rig's settings, PEC-shaped test messages, and seeding over IMAP.
//!
//! The messages are generated here, shaped as the PEC rules describe them (DM 2 novembre 2005,
//! allegato; RFC 6109 §3): receipts with `X-Ricevuta` and `X-Riferimento-Message-ID` and a
//! `daticert.xml`, a transport envelope with `X-Trasporto: posta-certificata` as S/MIME
//! `multipart/signed` holding the text, `postacert.eml` (message/rfc822) and `daticert.xml`.
//! The signatures are placeholders: the backup reads headers, it does not verify S/MIME.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use pec_backup::{BackupOptions, PecType};
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, RootCertStore};

pub struct Rig {
    pub host: String,
    pub port: u16,
    pub password: String,
    pub ca: PathBuf,
    pub test_domain: String,
}

/// The rig's settings; fails (never skips) when the test command did not start it.
pub fn rig() -> Rig {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: these tests need the Dovecot IMAP rig. Run them through \
                 ./scripts/test.sh, or start the rig with `. scripts/rig/dovecot.sh; \
                 dovecot_rig_start /tmp/pec-imap-rig` (exports PEC_IMAP_RIG=1 and the rest)"
            )
        })
    };
    assert_eq!(
        var("PEC_IMAP_RIG"),
        "1",
        "PEC_IMAP_RIG must be 1 (see scripts/test.sh)"
    );
    let addr = var("PEC_IMAP_ADDR");
    let (host, port) = addr.rsplit_once(':').unwrap();
    Rig {
        host: host.to_owned(),
        port: port.parse().unwrap(),
        password: var("PEC_IMAP_PASSWORD"),
        ca: PathBuf::from(var("PEC_IMAP_CA")),
        test_domain: var("PEC_IMAP_TEST_DOMAIN"),
    }
}

impl Rig {
    /// A user of its own for one test (the rig gives every test-domain user an empty mailbox).
    pub fn fresh_user(&self, test: &str) -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        format!(
            "{test}-{}-{n}-{nanos}@{}",
            std::process::id(),
            self.test_domain
        )
    }

    pub fn options(&self, user: &str, dest: &std::path::Path) -> BackupOptions {
        let mut o = BackupOptions::new(self.host.clone(), user, dest);
        o.port = self.port;
        o.extra_ca = Some(self.ca.clone());
        o.timeout = std::time::Duration::from_secs(30);
        o
    }

    /// An IMAP session as `user`, for seeding and for looking at the server in tests.
    pub async fn session(
        &self,
        user: &str,
    ) -> async_imap::Session<tokio_rustls::client::TlsStream<TcpStream>> {
        let mut roots = RootCertStore::empty();
        for cert in rustls_pki_types::CertificateDer::pem_file_iter(&self.ca).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .unwrap();
        let name = rustls_pki_types::ServerName::try_from(self.host.clone()).unwrap();
        let tls = TlsConnector::from(std::sync::Arc::new(config))
            .connect(name, tcp)
            .await
            .unwrap();
        let mut client = async_imap::Client::new(tls);
        client.read_response().await.unwrap().unwrap();
        client
            .login(user, &self.password)
            .await
            .map_err(|e| e.0)
            .unwrap()
    }

    /// Stores `messages` in the mailbox of `user` with IMAP APPEND, creating folders.
    pub async fn seed(&self, user: &str, messages: &[TestMessage]) {
        let mut s = self.session(user).await;
        for m in messages {
            if m.imap_folder != "INBOX" {
                // Fails when the folder exists already: fine.
                let _ = s.create(&m.imap_folder).await;
            }
            s.append(&m.imap_folder, None, None, &m.raw).await.unwrap();
        }
        s.logout().await.unwrap();
    }
}

/// One generated message and what the index must say about it.
#[derive(Clone)]
pub struct TestMessage {
    pub imap_folder: String,
    pub subject: String,
    pub pec_type: PecType,
    pub raw: Vec<u8>,
}

impl TestMessage {
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(&self.raw))
    }
}

fn crlf(s: &str) -> Vec<u8> {
    s.replace("\r\n", "\n").replace('\n', "\r\n").into_bytes()
}

fn daticert(tipo: &str, oggetto: &str, msgid: &str) -> String {
    // The certification data of DM 2 novembre 2005 (allegato, "Dati di certificazione").
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<postacert tipo="{tipo}" errore="nessuno">
  <intestazione>
    <mittente>mario.rossi@pec.example.it</mittente>
    <destinatari tipo="certificato">protocollo@pec.comune.example.it</destinatari>
    <risposte>mario.rossi@pec.example.it</risposte>
    <oggetto>{oggetto}</oggetto>
  </intestazione>
  <dati>
    <gestore-emittente>PEC Example S.p.A.</gestore-emittente>
    <data zona="+0200">
      <giorno>01/04/2025</giorno>
      <ora>10:00:05</ora>
    </data>
    <identificativo>opec-test.20250401100005.0001@pec.example.it</identificativo>
    <msgid>&lt;{msgid}&gt;</msgid>
    <ricevuta tipo="completa"/>
    <consegna>protocollo@pec.comune.example.it</consegna>
  </dati>
</postacert>
"#
    )
}

fn receipt(tipo: &str, subject_prefix: &str, oggetto: &str, n: u32) -> String {
    let msgid = format!("orig-{n}@pec.example.it");
    format!(
        "From: posta-certificata@pec.example.it\n\
         To: mario.rossi@pec.example.it\n\
         Subject: {subject_prefix}: {oggetto}\n\
         Date: Tue, 1 Apr 2025 10:00:05 +0200\n\
         Message-ID: <{tipo}-{n}@pec.example.it>\n\
         X-Ricevuta: {tipo}\n\
         X-Riferimento-Message-ID: <{msgid}>\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"sig-{n}\"\n\
         \n\
         --sig-{n}\n\
         Content-Type: multipart/mixed; boundary=\"mix-{n}\"\n\
         \n\
         --mix-{n}\n\
         Content-Type: text/plain; charset=UTF-8\n\
         \n\
         Ricevuta di {tipo}\n\
         Il giorno 01/04/2025 alle ore 10:00:05 (+0200) il messaggio \"{oggetto}\" ...\n\
         --mix-{n}\n\
         Content-Type: application/xml; name=\"daticert.xml\"\n\
         Content-Disposition: attachment; filename=\"daticert.xml\"\n\
         \n\
         {}\n\
         --mix-{n}--\n\
         \n\
         --sig-{n}\n\
         Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\n\
         Content-Transfer-Encoding: base64\n\
         Content-Disposition: attachment; filename=\"smime.p7s\"\n\
         \n\
         UExBQ0VIT0xERVIgU0lHTkFUVVJF\n\
         --sig-{n}--\n",
        daticert(tipo, oggetto, &msgid)
    )
}

fn envelope(oggetto: &str, n: u32) -> String {
    let msgid = format!("orig-{n}@pec.example.org");
    format!(
        "From: \"Per conto di: anna.bianchi@pec.example.org\" <posta-certificata@pec.example.org>\n\
         Reply-To: anna.bianchi@pec.example.org\n\
         To: mario.rossi@pec.example.it\n\
         Subject: POSTA CERTIFICATA: {oggetto}\n\
         Date: Wed, 2 Apr 2025 09:30:00 +0200\n\
         Message-ID: <opec-{n}@pec.example.org>\n\
         X-Trasporto: posta-certificata\n\
         X-Riferimento-Message-ID: <{msgid}>\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"sig-{n}\"\n\
         \n\
         --sig-{n}\n\
         Content-Type: multipart/mixed; boundary=\"mix-{n}\"\n\
         \n\
         --mix-{n}\n\
         Content-Type: text/plain; charset=UTF-8\n\
         \n\
         Messaggio di posta certificata\n\
         Il giorno 02/04/2025 alle ore 09:30:00 (+0200) il messaggio \"{oggetto}\" è stato inviato da \"anna.bianchi@pec.example.org\"\n\
         --mix-{n}\n\
         Content-Type: message/rfc822; name=\"postacert.eml\"\n\
         Content-Disposition: inline; filename=\"postacert.eml\"\n\
         \n\
         From: anna.bianchi@pec.example.org\n\
         To: mario.rossi@pec.example.it\n\
         Subject: {oggetto}\n\
         Message-ID: <{msgid}>\n\
         Date: Wed, 2 Apr 2025 09:29:58 +0200\n\
         Content-Type: text/plain; charset=UTF-8\n\
         \n\
         Buongiorno, in allegato il contratto firmato.\n\
         \n\
         --mix-{n}\n\
         Content-Type: application/xml; name=\"daticert.xml\"\n\
         Content-Disposition: attachment; filename=\"daticert.xml\"\n\
         \n\
         {}\n\
         --mix-{n}--\n\
         \n\
         --sig-{n}\n\
         Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\n\
         Content-Transfer-Encoding: base64\n\
         Content-Disposition: attachment; filename=\"smime.p7s\"\n\
         \n\
         UExBQ0VIT0xERVIgU0lHTkFUVVJF\n\
         --sig-{n}--\n",
        daticert("posta-certificata", oggetto, &msgid)
    )
}

fn ordinary(subject_header: &str, body: &str, n: u32) -> String {
    format!(
        "From: \"Newsletter\" <news@example.com>\n\
         To: mario.rossi@pec.example.it\n\
         Subject: {subject_header}\n\
         Date: Thu, 3 Apr 2025 08:00:00 +0000\n\
         Message-ID: <plain-{n}@example.com>\n\
         MIME-Version: 1.0\n\
         Content-Type: text/plain; charset=UTF-8\n\
         Content-Transfer-Encoding: 8bit\n\
         \n\
         {body}\n"
    )
}

fn large(n: u32) -> String {
    // ~2 MB: a base64 attachment of 1.5 MB of varied bytes, lines of 76 characters.
    let data: Vec<u8> = (0..1_500_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let b64 = base64_lines(&data);
    format!(
        "From: studio@pec.example.it\n\
         To: mario.rossi@pec.example.it\n\
         Subject: Bilancio 2024 (allegato grande)\n\
         Date: Fri, 4 Apr 2025 12:00:00 +0200\n\
         Message-ID: <large-{n}@pec.example.it>\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"big-{n}\"\n\
         \n\
         --big-{n}\n\
         Content-Type: text/plain; charset=UTF-8\n\
         \n\
         In allegato il bilancio.\n\
         --big-{n}\n\
         Content-Type: application/pdf; name=\"bilancio.pdf\"\n\
         Content-Transfer-Encoding: base64\n\
         Content-Disposition: attachment; filename=\"bilancio.pdf\"\n\
         \n\
         {b64}\
         --big-{n}--\n"
    )
}

fn base64_lines(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    let mut line = 0;
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
        line += 4;
        if line == 76 {
            out.push('\n');
            line = 0;
        }
    }
    out.push('\n');
    out
}

/// The standard seed: receipts, an envelope, ordinary mail, a UTF-8 subject and a ~2 MB
/// message, in INBOX, a nested folder and a folder with a non-ASCII name.
pub fn pec_mailbox() -> Vec<TestMessage> {
    let m = |folder: &str, subject: &str, ty: PecType, raw: String| TestMessage {
        imap_folder: folder.to_owned(),
        subject: subject.to_owned(),
        pec_type: ty,
        raw: crlf(&raw),
    };
    vec![
        m(
            "INBOX",
            "ACCETTAZIONE: Fattura 12/2025",
            PecType::Accettazione,
            receipt("accettazione", "ACCETTAZIONE", "Fattura 12/2025", 1),
        ),
        m(
            "INBOX",
            "CONSEGNA: Fattura 12/2025",
            PecType::AvvenutaConsegna,
            receipt("avvenuta-consegna", "CONSEGNA", "Fattura 12/2025", 1),
        ),
        m(
            "INBOX",
            "POSTA CERTIFICATA: Contratto firmato",
            PecType::PostaCertificata,
            envelope("Contratto firmato", 2),
        ),
        m(
            "INBOX",
            "Offerta di primavera",
            PecType::Ordinaria,
            ordinary("Offerta di primavera", "Sconti per tutti.", 3),
        ),
        m(
            "INBOX",
            "Verifica identità: è tutto pronto",
            PecType::Ordinaria,
            ordinary(
                "=?UTF-8?B?VmVyaWZpY2EgaWRlbnRpdMOgOiDDqCB0dXR0byBwcm9udG8=?=",
                "Perché la PEC europea? Città, attività.",
                4,
            ),
        ),
        m(
            "Archivio/2024",
            "AVVISO DI NON ACCETTAZIONE: Diffida",
            PecType::NonAccettazione,
            receipt(
                "non-accettazione",
                "AVVISO DI NON ACCETTAZIONE",
                "Diffida",
                5,
            ),
        ),
        m(
            "Archivio/2024",
            "CONSEGNA: Diffida bis",
            PecType::AvvenutaConsegna,
            receipt("avvenuta-consegna", "CONSEGNA", "Diffida bis", 6),
        ),
        m(
            "Attivit&AOA-",
            "Bilancio 2024 (allegato grande)",
            PecType::Ordinaria,
            large(7),
        ),
    ]
}

/// An extra message for the "added between runs" test.
pub fn late_message() -> TestMessage {
    TestMessage {
        imap_folder: "INBOX".into(),
        subject: "AVVISO DI MANCATA CONSEGNA: Sollecito".into(),
        pec_type: PecType::ErroreConsegna,
        raw: crlf(&receipt(
            "errore-consegna",
            "AVVISO DI MANCATA CONSEGNA",
            "Sollecito",
            8,
        )),
    }
}
