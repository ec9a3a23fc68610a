//! Shared helpers: test credentials from the virtual card's PKI, and OpenSSL as an independent
//! verifier of every `.p7m` the tests produce.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use pec_card_sim::ProfileName;
use pec_card_sim::pki::{self, CardCredentials};
use pec_sign::{SignerCertificate, SoftwareSigner};

/// Credentials of the virtual STIncard: a qualified signature certificate (TINIT-RSSMRA80A01H501U)
/// under the test qualified CA, and a CNS authentication certificate under the CNS test CA.
pub fn stincard() -> CardCredentials {
    pki::issue(&ProfileName::Stincard2048.profile(), "hash=").expect("issue")
}

/// The signature keyset of `creds` as a software signer.
pub fn signature_signer(creds: &CardCredentials) -> SoftwareSigner {
    let (key, cert) = creds.signature.clone().expect("signature keyset");
    SoftwareSigner::new(
        key,
        SignerCertificate {
            der: cert,
            chain: Vec::new(),
        },
    )
}

/// Verifies `p7m` with `openssl cms -verify -cades` (a real OpenSSL process) trusting only
/// `ca_der`; returns the content OpenSSL extracted, or its error output.
pub fn openssl_verify(dir: &Path, p7m: &[u8], ca_der: &[u8]) -> Result<Vec<u8>, String> {
    let p7m_path = dir.join("in.p7m");
    let ca_path = dir.join("ca.pem");
    let out_path = dir.join("content.out");
    std::fs::write(&p7m_path, p7m).expect("write p7m");
    std::fs::write(&ca_path, pem("CERTIFICATE", ca_der)).expect("write ca");
    let _ = std::fs::remove_file(&out_path);
    let out = Command::new("openssl")
        .args([
            "cms", "-verify", "-cades", "-binary", "-inform", "DER", "-in",
        ])
        .arg(&p7m_path)
        .arg("-CAfile")
        .arg(&ca_path)
        .arg("-out")
        .arg(&out_path)
        .output()
        .expect("openssl is installed (Debian package openssl)");
    if out.status.success() {
        Ok(std::fs::read(&out_path).expect("openssl output"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// PEM armour for DER bytes.
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).expect("ascii"));
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

/// A PDF-like document of `n` bytes.
pub fn document(n: usize) -> Vec<u8> {
    let mut d = b"%PDF-1.7\n% Modulo di richiesta di identificazione del titolare\n".to_vec();
    let mut x: u32 = 0x1234_5678;
    while d.len() < n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        d.push((x & 0xFF) as u8);
    }
    d.truncate(n);
    d
}
