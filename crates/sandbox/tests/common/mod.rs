//! Shared test rig: a sandbox on loopback over a real SQLite file in a temp dir, a client, and a
//! tiny PKI made in the test (CA, card certificates, keys).
#![allow(dead_code)]

use std::path::Path;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use der::Encode;
use pec_provider::Client;
use pec_provider::api::*;
use pec_sandbox::{Config, RunningSandbox, Sandbox};
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::EncodePublicKey;
use sha2::Sha256;
use signature::{SignatureEncoding, Signer};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

pub const MARIO: &str = "mario.rossi@pec.sandbox.test";
pub const STUDIO: &str = "studio.rossi@pec.sandbox.test";
pub const ACME: &str = "amministrazione@pec.acme-srl.test";
pub const ACME_SERVIZI: &str = "fatture@pec.acme-srl.test";
pub const CEASED: &str = "vecchia@pec.acme-srl.test";
pub const PASSWORD: &str = "Demo-Password-1";
pub const MARIO_CF: &str = "RSSMRA45C12F205C";
pub const CHIARA_CF: &str = "CNTCHR83T41D969D";

/// Test PKI: a trusted CA and an untrusted one, with their keys.
pub struct Pki {
    pub ca_key: RsaPrivateKey,
    pub ca_der: Vec<u8>,
    pub ca_name: Name,
    pub rogue_key: RsaPrivateKey,
    pub rogue_name: Name,
    pub card_key: RsaPrivateKey,
    pub other_key: RsaPrivateKey,
}

fn key() -> RsaPrivateKey {
    // 1024 bits keeps key generation quick in debug builds; the test CA is allowed as a legacy
    // lot (`test_pki_rules`).
    RsaPrivateKey::new(&mut rand_core::OsRng, 1024).expect("rsa key")
}

pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let ca_key = key();
        let ca_name = Name::from_str("CN=Sandbox Test CA,O=PEC Test,C=IT").expect("name");
        let ca_der = build(
            &ca_key,
            &ca_key,
            Profile::Root,
            ca_name.clone(),
            validity(-3600, 86_400 * 365),
        );
        let rogue_key = key();
        let rogue_name = Name::from_str("CN=Rogue CA,O=Nobody,C=IT").expect("name");
        Pki {
            ca_key,
            ca_der,
            ca_name,
            rogue_key,
            rogue_name,
            card_key: key(),
            other_key: key(),
        }
    })
}

/// Validity from `from` to `to` seconds relative to now.
pub fn validity(from: i64, to: i64) -> Validity {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    let t = |d: i64| {
        Time::UtcTime(
            der::asn1::UtcTime::from_unix_duration(Duration::from_secs((now + d) as u64))
                .expect("utc time"),
        )
    };
    Validity {
        not_before: t(from),
        not_after: t(to),
    }
}

pub fn build(
    subject_key: &RsaPrivateKey,
    issuer_key: &RsaPrivateKey,
    profile: Profile,
    subject: Name,
    validity: Validity,
) -> Vec<u8> {
    let spki_der = subject_key
        .to_public_key()
        .to_public_key_der()
        .expect("spki");
    let spki = SubjectPublicKeyInfoOwned::try_from(spki_der.as_bytes()).expect("spki parse");
    let signer = SigningKey::<Sha256>::new(issuer_key.clone());
    let serial = SerialNumber::from(rand_core::RngCore::next_u32(&mut rand_core::OsRng));
    let builder = CertificateBuilder::new(profile, serial, validity, subject, spki, &signer)
        .expect("builder");
    builder
        .build::<rsa::pkcs1v15::Signature>()
        .expect("build")
        .to_der()
        .expect("der")
}

/// A card certificate for `cf` with the card key, issued by the trusted CA (or the rogue one).
pub fn card_cert(cf: &str, validity: Validity, trusted: bool) -> Vec<u8> {
    let p = pki();
    // CNS style: CN is "<cf>/<card serial>.<hash>", serialNumber carries TINIT-<cf>.
    let subject = Name::from_str(&format!(
        "CN={cf}/7420070300000045.abc123,serialNumber=TINIT-{cf},C=IT"
    ))
    .expect("subject");
    let (issuer_key, issuer_name) = if trusted {
        (&p.ca_key, p.ca_name.clone())
    } else {
        (&p.rogue_key, p.rogue_name.clone())
    };
    // clientAuth: the server takes only authentication certificates (CNS policy or clientAuth).
    let spki_der = p
        .card_key
        .to_public_key()
        .to_public_key_der()
        .expect("spki");
    let spki = SubjectPublicKeyInfoOwned::try_from(spki_der.as_bytes()).expect("spki parse");
    let signer = SigningKey::<Sha256>::new(issuer_key.clone());
    let serial = SerialNumber::from(rand_core::RngCore::next_u32(&mut rand_core::OsRng));
    let mut builder = CertificateBuilder::new(
        Profile::Leaf {
            issuer: issuer_name,
            enable_key_agreement: false,
            enable_key_encipherment: false,
            include_subject_key_identifier: true,
        },
        serial,
        validity,
        subject,
        spki,
        &signer,
    )
    .expect("builder");
    builder
        .add_extension(&x509_cert::ext::pkix::ExtendedKeyUsage(vec![
            der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2"),
        ]))
        .expect("eku");
    builder
        .build::<rsa::pkcs1v15::Signature>()
        .expect("build")
        .to_der()
        .expect("der")
}

/// Signs the message of a challenge as a card does (RSA PKCS#1 v1.5, SHA-256).
pub fn sign(key: &RsaPrivateKey, message: &[u8]) -> String {
    let sig = SigningKey::<Sha256>::new(key.clone()).sign(message);
    B64.encode(sig.to_bytes())
}

pub fn card_response(
    challenge: &pec_provider::SignableChallenge,
    cert: &[u8],
    key: &RsaPrivateKey,
) -> CardResponse {
    CardResponse {
        challenge_id: challenge.challenge_id.clone(),
        certificate_chain: vec![B64.encode(cert)],
        signature: sign(key, &challenge.message),
    }
}

/// Card rules for the test PKI, whose keys are 1024 bits (quick to generate in debug builds):
/// its CA is allowed as a legacy lot.
pub fn test_pki_rules() -> pec_sandbox::card::Rules {
    use sha2::Digest;
    pec_sandbox::card::Rules {
        legacy_key_issuers: vec![sha2::Sha256::digest(&pki().ca_der).into()],
    }
}

/// A sandbox on loopback over a real SQLite file in its own temp dir, with a client that holds
/// the run's back-office secret. Dropping it stops the server and removes the directory.
pub struct Rig {
    pub sandbox: RunningSandbox,
    pub client: Client,
    dir: tempfile::TempDir,
}

impl Rig {
    /// A fresh sandbox (demo data seeded), nobody signed in.
    pub async fn new() -> Rig {
        Self::with(|_| {}).await
    }

    /// A fresh sandbox whose configuration `adjust` may change first.
    pub async fn with(adjust: impl FnOnce(&mut Config)) -> Rig {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = config(&dir.path().join("db.sqlite"));
        adjust(&mut config);
        Self::start_in(dir, config).await
    }

    /// A fresh sandbox, signed in with `login` and the demo password.
    pub async fn signed_in(login: &str) -> Rig {
        let rig = Self::new().await;
        rig.client
            .sign_in(login, PASSWORD, None)
            .await
            .expect("sign in");
        rig
    }

    async fn start_in(dir: tempfile::TempDir, config: Config) -> Rig {
        let sandbox = Sandbox::start(config).await.expect("sandbox starts");
        let client = client_of(&sandbox);
        Rig {
            sandbox,
            client,
            dir,
        }
    }

    /// The SQLite file.
    pub fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("db.sqlite")
    }

    /// The temp dir the file is in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A second client of the same server (another device or another person), with the
    /// back-office secret too.
    pub fn other_client(&self) -> Client {
        client_of(&self.sandbox)
    }

    /// Stops the server and starts a new one on the same file (a restart of the service).
    pub async fn restart(self) -> Rig {
        let Rig { sandbox, dir, .. } = self;
        sandbox.shutdown().await.expect("shutdown");
        let config = config(&dir.path().join("db.sqlite"));
        Self::start_in(dir, config).await
    }

    /// Stops the server, waiting for requests in flight.
    pub async fn stop(self) {
        self.sandbox.shutdown().await.expect("shutdown");
    }
}

/// The tests' configuration: sandbox mode, demo data, the test PKI's CA trusted for cards.
pub fn config(db: &Path) -> Config {
    let mut config = Config::new("127.0.0.1:0".parse().expect("addr"), db.to_path_buf());
    config.card_trust_anchors = vec![pki().ca_der.clone()];
    config.card_rules = test_pki_rules();
    config
}

/// A client of `sandbox` that holds its back-office secret.
pub fn client_of(sandbox: &RunningSandbox) -> Client {
    let client = Client::new(sandbox.base_url()).expect("client");
    client.set_sandbox_secret(sandbox.sandbox_secret().map(str::to_owned));
    client
}

pub async fn act(c: &Client, id: &str, a: IdentityAction) -> IdentityRequestView {
    c.act(id, &a).await.unwrap_or_else(|e| panic!("{a:?}: {e}"))
}

pub fn mario_holder() -> HolderData {
    HolderData::PrivateCitizen {
        first_name: "Mario".into(),
        last_name: "Rossi".into(),
        tax_code: MARIO_CF.into(),
    }
}

pub fn company_holder(name: &str, tax_code: &str, lr_cf: Option<&str>) -> HolderData {
    HolderData::Company {
        business_name: name.into(),
        tax_code: tax_code.into(),
        legal_representative: lr_cf.map(|cf| PersonData {
            first_name: "Chiara".into(),
            last_name: "Conti".into(),
            tax_code: cf.into(),
        }),
    }
}

pub fn contact(email: &str) -> ContactData {
    ContactData {
        email: email.into(),
        mobile: Some("+393331234567".into()),
    }
}

/// Creates a request for `address` and walks it to the identification step with `method`.
pub async fn to_identifying(
    c: &Client,
    address: &str,
    holder: HolderData,
    contact_email: &str,
    method: MethodData,
) -> String {
    let r = c.create_identity_request(address).await.expect("create");
    assert_eq!(r.step, StepData::ChoosingRole);
    walk_to_identifying(c, &r.id, holder, contact_email, method).await;
    r.id
}

/// Walks request `id` from the role question to the identification step with `method`.
pub async fn walk_to_identifying(
    c: &Client,
    id: &str,
    holder: HolderData,
    contact_email: &str,
    method: MethodData,
) {
    let id = id.to_owned();
    act(
        c,
        &id,
        IdentityAction::ChooseRole {
            role: RoleData::HolderOrLegalRepresentative,
        },
    )
    .await;
    let kind = match &holder {
        HolderData::Company { .. } => HolderKindData::Company,
        HolderData::Professional { .. } => HolderKindData::Professional,
        HolderData::PrivateCitizen { .. } => HolderKindData::PrivateCitizen,
    };
    act(c, &id, IdentityAction::ChooseHolderKind { kind }).await;
    let r = act(
        c,
        &id,
        IdentityAction::SubmitData {
            holder,
            contact: contact(contact_email),
        },
    )
    .await;
    assert_eq!(r.step, StepData::Summary);
    act(c, &id, IdentityAction::ConfirmSummary).await;
    let r = act(c, &id, IdentityAction::ChooseMethod { method }).await;
    assert_eq!(r.step, StepData::Identifying);
}

/// `firma.mario`, the remote-signature test account that signs as Mario Rossi, and its TOTP
/// secret; `firma.chiara` signs as Chiara Conti.
pub const FIRMA_MARIO: (&str, &str) = ("firma.mario", "JBSWY3DPEHPK3PXP");
pub const FIRMA_CHIARA: (&str, &str) = ("firma.chiara", "KRSXG5CTMVRXEZLU");

/// Firma remota as the app does it: the request's form, signed through the CSC API the form
/// names with `account`'s password and `otp`, sent back. `Err` is the signature service's
/// refusal (`Ok(Err)` the provider's).
pub async fn sign_remotely(
    c: &Client,
    id: &str,
    account: (&str, &str),
    otp: &str,
) -> Result<Result<IdentityRequestView, pec_provider::Error>, pec_sign::SignError> {
    let (_, p7m) = remote_p7m(c, id, account, otp).await?;
    Ok(c.send_signed_form(
        id,
        &SignedFormUpload {
            p7m: B64.encode(p7m),
        },
    )
    .await)
}

/// The form of request `id` and its CAdES signature by `account`'s firma remota, through the
/// CSC API the form names, at the sandbox clock's now (not sent).
pub async fn remote_p7m(
    c: &Client,
    id: &str,
    account: (&str, &str),
    otp: &str,
) -> Result<(Vec<u8>, Vec<u8>), pec_sign::SignError> {
    use pec_sign::csc::{CscClient, Secret, sign_cades};
    let form = c.signature_form(id).await.expect("form");
    let pdf = B64.decode(&form.pdf).expect("base64");
    let url = form
        .remote_signature_url
        .expect("the form names a CSC service");
    let mut csc = CscClient::new(&url).expect("csc");
    csc.login(
        account.0,
        &Secret::new(pec_sandbox::seed::REMOTE_SIGNATURE_PASSWORD.into()),
    )
    .await?;
    let cred = csc.credentials_list().await?.remove(0);
    // Signed at the sandbox's time: a test may have moved its clock.
    let now = c.sandbox_clock().await.expect("clock").now;
    let at = std::time::UNIX_EPOCH
        + Duration::from_secs(u64::try_from(now.timestamp()).expect("after 1970"));
    let p7m = sign_cades(&csc, &cred, Secret::new(otp.into()), &pdf, at).await?;
    Ok((pdf, p7m))
}

/// Identifies request `id` (at the remote-signature step) as Mario Rossi with firma remota and
/// the test account's OTP at the sandbox clock's now.
pub async fn identify_by_remote_signature(c: &Client, id: &str) -> IdentityRequestView {
    identify_remotely_as(c, id, FIRMA_MARIO).await
}

/// Identifies request `id` with `account`'s firma remota at the sandbox clock's now.
pub async fn identify_remotely_as(
    c: &Client,
    id: &str,
    account: (&str, &str),
) -> IdentityRequestView {
    let otp = totp_now(c, account.1).await;
    sign_remotely(c, id, account, &otp)
        .await
        .expect("remote signature")
        .expect("signed form accepted")
}

/// Both service conditions ticked.
pub fn all_terms() -> TermsData {
    TermsData {
        service_conditions: true,
        contract_information: true,
    }
}

/// A webcam booking of `slot` in Italian.
pub fn webcam_request(
    slot: chrono::DateTime<chrono::Utc>,
    document: IdDocumentKind,
) -> WebcamBookingRequest {
    WebcamBookingRequest {
        starts_at: slot,
        document,
        language: "it".into(),
    }
}

/// The last OTP e-mailed to `to`.
pub async fn last_otp(c: &Client, to: &str) -> String {
    let mails = c.sandbox_outbox(Some(to)).await.expect("outbox");
    let body = mails
        .iter()
        .rev()
        .find(|m| m.body.starts_with("Codice OTP: "))
        .map(|m| m.body.clone())
        .expect("an OTP mail");
    body["Codice OTP: ".len().."Codice OTP: ".len() + 6].to_owned()
}

/// Proceeds from "identified" to a completed request through the OTP.
pub async fn finish_with_otp(c: &Client, id: &str, contact_email: &str) -> IdentityRequestView {
    act(c, id, IdentityAction::Proceed).await;
    let r = act(
        c,
        id,
        IdentityAction::CompleteRequest { terms: all_terms() },
    )
    .await;
    assert_eq!(r.step, StepData::OtpSent);
    let code = last_otp(c, contact_email).await;
    act(c, id, IdentityAction::ConfirmOtp { code: code.into() }).await
}

pub fn code_of(e: &pec_provider::Error) -> &str {
    e.code().unwrap_or("<no code>")
}

/// The code an authenticator app with `secret` shows at the sandbox clock's now.
pub async fn totp_now(c: &Client, secret: &str) -> String {
    let now = c.sandbox_clock().await.expect("clock").now.timestamp();
    pec_sandbox::totp::code(secret, now).expect("base32 secret")
}

/// Moves the sandbox clock to the next 30-second step: a two-step code is accepted once, so a
/// test that needs another one waits for the authenticator's next code, as a person does.
pub async fn next_step(c: &Client) {
    c.sandbox_advance_clock(30).await.expect("clock");
}

/// Turns two-step login on for `address` (identity already confirmed) with the session of
/// `c`; returns the enrolment (secret and recovery codes). The clock is then on a new step.
pub async fn enable_two_step(c: &Client, address: &str) -> TwoStepEnrolment {
    let en = c.two_step_enrol(address).await.expect("enrol");
    let code = totp_now(c, &en.secret).await;
    let m = c.two_step_confirm(address, &code).await.expect("confirm");
    assert!(m.two_step_login);
    next_step(c).await;
    en
}

/// A code that is not `code` (for wrong-code cases).
pub fn wrong(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}
