//! The few ASN.1 structures CAdES needs that the RustCrypto crates do not define: ESS
//! signing-certificate-v2 (RFC 5035) and the qcStatements extension (RFC 3739, ETSI EN 319 412-5).
//! They are declared with `der`'s derive macros, so encoding and decoding stay the crate's.
//! Everything else (SignedData, SignerInfo, attributes, certificates, names) comes from `cms` and
//! `x509-cert`.

use der::Sequence;
use der::asn1::{Any, ObjectIdentifier, OctetString};
use der::oid::AssociatedOid;
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::name::GeneralNames;
use x509_cert::serial_number::SerialNumber;

/// id-data (RFC 5652 §4).
pub const OID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
/// id-signedData (RFC 5652 §5.1).
pub const OID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// id-contentType attribute (RFC 5652 §11.1).
pub const OID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
/// id-messageDigest attribute (RFC 5652 §11.2).
pub const OID_MESSAGE_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// id-signingTime attribute (RFC 5652 §11.3).
pub const OID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
/// id-aa-signingCertificateV2 (RFC 5035 §3).
pub const OID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// id-sha256 (RFC 5754 §2.2).
pub const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
/// id-sha384.
pub const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
/// id-sha512.
pub const OID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
/// rsaEncryption (RFC 8017 appendix C).
pub const OID_RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// sha256WithRSAEncryption.
pub const OID_SHA256_WITH_RSA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
/// sha384WithRSAEncryption.
pub const OID_SHA384_WITH_RSA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
/// sha512WithRSAEncryption.
pub const OID_SHA512_WITH_RSA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
/// id-pe-qcStatements (RFC 3739).
pub const OID_QC_STATEMENTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.3");
/// esi4-qcStatement-1, QcCompliance (ETSI EN 319 412-5 §4.2.1).
pub const OID_QC_COMPLIANCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.1862.1.1");
/// esi4-qcStatement-4, QcSSCD (ETSI EN 319 412-5 §4.2.2).
pub const OID_QC_SSCD: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.1862.1.4");
/// Certificate policies that make a signature certificate qualified for a natural person:
/// ETSI EN 319 411-2 QCP-n and QCP-n-qscd, and the AgID policy for qualified certificates.
pub const QUALIFIED_POLICIES: [ObjectIdentifier; 3] = [
    ObjectIdentifier::new_unwrap("0.4.0.194112.1.0"),
    ObjectIdentifier::new_unwrap("0.4.0.194112.1.2"),
    ObjectIdentifier::new_unwrap("1.3.76.16.6"),
];
/// serialNumber attribute type (X.520).
pub const OID_SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");
/// commonName.
pub const OID_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// givenName.
pub const OID_GIVEN_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.42");
/// surname.
pub const OID_SURNAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.4");

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies ... OPTIONAL }`
/// (RFC 5035 §3).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    /// The signer's certificate first; CAdES-BES uses exactly that one.
    pub certs: Vec<EssCertIdV2>,
    /// Policies; unused by CAdES-BES, kept as raw values when present.
    #[asn1(optional = "true")]
    pub policies: Option<Vec<Any>>,
}

impl AssociatedOid for SigningCertificateV2 {
    const OID: ObjectIdentifier = OID_SIGNING_CERTIFICATE_V2;
}

/// `ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256, certHash, issuerSerial OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    /// Absent means SHA-256 (the DEFAULT, which DER omits).
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    /// Hash of the whole certificate DER.
    pub cert_hash: OctetString,
    /// Issuer and serial of the certificate.
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    /// The issuer's name as a directoryName.
    pub issuer: GeneralNames,
    /// The certificate's serial number.
    pub serial_number: SerialNumber,
}

/// `QCStatement ::= SEQUENCE { statementId OBJECT IDENTIFIER, statementInfo ANY OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct QcStatement {
    /// Which statement.
    pub statement_id: ObjectIdentifier,
    /// Its parameters, if any.
    #[asn1(optional = "true")]
    pub statement_info: Option<Any>,
}

/// The qcStatements extension value: `SEQUENCE OF QCStatement`.
pub type QcStatements = Vec<QcStatement>;
