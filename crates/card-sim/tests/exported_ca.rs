//! The committed test CA certificate (trusted by the app's embedded sandbox) must stay the
//! one the emulator issues with: same subject, same key.

use der::Decode;
use pec_card_sim::{ProfileName, VirtualCard};
use x509_cert::Certificate;

#[test]
fn committed_ca_certificate_matches_the_issuing_ca() {
    let committed = Certificate::from_der(include_bytes!("../test-keys/ca-2048.cert.der")).unwrap();
    let card = VirtualCard::new(ProfileName::Stincard2048.profile()).unwrap();
    let fresh = Certificate::from_der(&card.credentials().ca_cert).unwrap();
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
fn committed_qualified_ca_certificate_matches_the_issuing_ca() {
    let committed =
        Certificate::from_der(include_bytes!("../test-keys/qualified-ca-2048.cert.der")).unwrap();
    let card = VirtualCard::new(ProfileName::Stincard2048.profile()).unwrap();
    let fresh = Certificate::from_der(&card.credentials().qualified_ca_cert).unwrap();
    assert_eq!(
        committed.tbs_certificate.subject,
        fresh.tbs_certificate.subject
    );
    assert_eq!(
        committed.tbs_certificate.subject_public_key_info,
        fresh.tbs_certificate.subject_public_key_info
    );
}
