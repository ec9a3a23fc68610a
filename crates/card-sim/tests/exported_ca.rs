//! The committed test CA certificates (trusted by the app's embedded sandbox) must stay the
//! ones the emulator issues with: same subject, same key.

use der::Decode;
use pec_card_sim::{CieProfileName, ProfileName, VirtualCard, VirtualCie};
use x509_cert::Certificate;

fn assert_same_ca(committed: Certificate, fresh: Certificate) {
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
        Certificate::from_der(include_bytes!("../test-keys/ca-2048.cert.der")).unwrap(),
        Certificate::from_der(&card.credentials().ca_cert).unwrap(),
    );
}

/// The qualified CA of the DF_DS signature certificates (trusted for signed request forms).
#[test]
fn committed_qualified_ca_certificate_matches_the_issuing_ca() {
    let card = VirtualCard::new(ProfileName::Stincard2048.profile()).unwrap();
    assert_same_ca(
        Certificate::from_der(include_bytes!("../test-keys/qualified-ca-2048.cert.der")).unwrap(),
        Certificate::from_der(&card.credentials().qualified_ca_cert).unwrap(),
    );
}

/// The virtual CIEs' test root (trusted by the embedded sandbox for the CIE method).
#[test]
fn committed_cie_root_matches_the_issuing_root() {
    let cie = VirtualCie::new(CieProfileName::Nxp.profile()).unwrap();
    assert_same_ca(
        Certificate::from_der(include_bytes!("../test-keys/cie/cie-root.cert.der")).unwrap(),
        Certificate::from_der(&cie.credentials().root_cert).unwrap(),
    );
}
