//! The committed test CA certificates (trusted by the app's embedded sandbox) must stay the
//! ones the emulator issues with: same subject, same key.

use der::Decode;
use pec_card_sim::{CieProfileName, ProfileName, VirtualCard, VirtualCie};
use x509_cert::Certificate;

fn assert_same_ca(committed: &[u8], fresh: &[u8]) {
    let committed = Certificate::from_der(committed).unwrap();
    let fresh = Certificate::from_der(fresh).unwrap();
    assert_eq!(
        committed.tbs_certificate.subject,
        fresh.tbs_certificate.subject
    );
    assert_eq!(
        committed.tbs_certificate.subject_public_key_info,
        fresh.tbs_certificate.subject_public_key_info
    );
}

#[test]
fn committed_ca_certificate_matches_the_issuing_ca() {
    let card = VirtualCard::new(ProfileName::Stincard2048.profile()).unwrap();
    assert_same_ca(
        include_bytes!("../test-keys/ca-2048.cert.der"),
        &card.credentials().ca_cert,
    );
}

/// The qualified CA of the DF_DS signature certificates (trusted for signed request forms).
#[test]
fn committed_qualified_ca_certificate_matches_the_issuing_ca() {
    let card = VirtualCard::new(ProfileName::Stincard2048.profile()).unwrap();
    assert_same_ca(
        include_bytes!("../test-keys/qualified-ca-2048.cert.der"),
        &card.credentials().qualified_ca_cert,
    );
}

/// The virtual CIEs' test root (trusted by the embedded sandbox for the CIE method).
#[test]
fn committed_cie_root_matches_the_issuing_root() {
    let cie = VirtualCie::new(CieProfileName::Nxp.profile()).unwrap();
    assert_same_ca(
        include_bytes!("../test-keys/cie/cie-root.cert.der"),
        &cie.credentials().root_cert,
    );
}
