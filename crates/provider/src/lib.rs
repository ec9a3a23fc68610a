//! HTTP client of the PEC provider API (reqwest + rustls).
//!
//! - **https only**, except for loopback addresses: the app's embedded sandbox listens on
//!   `127.0.0.1`, anything else carries passwords and session tokens over the network.
//! - **The OS certificate store and the system proxy** (`pec-net`), so offices behind a proxy or a
//!   TLS-inspecting firewall reach the provider; an untrusted certificate is its own error
//!   ([`Error::UntrustedCertificate`]) that names the firewall.
//! - **Timeouts** on connect and on every request, so a stuck provider shows an error instead of
//!   a spinner forever.
//! - **Retries with backoff only where repeating is harmless**: GET and DELETE, and creating
//!   POSTs, which always carry an `Idempotency-Key` (one key per logical call, reused by its
//!   retries, so the server creates at most one thing). Sign-in, wizard actions, OTP and card
//!   answers are never retried: repeating them could burn an attempt or a single-use challenge.
//! - **Typed errors that keep the server's problem**: [`Error::Api`] holds the stable code and both
//!   messages, so the UI can key on `otp.invalid` and show Italian or English.
//!
//! - **Portals with their own sessions**: the registry (change of the PEC on record) and the
//!   association's renewal portal have their own accounts; [`Portal`] tokens are kept apart from
//!   the provider's, so signing in to one never signs out of another.
//!
//! ```no_run
//! # async fn demo() -> Result<(), pec_provider::Error> {
//! let client = pec_provider::Client::new("http://127.0.0.1:8787")?;
//! client.sign_in("mario.rossi@pec.sandbox.test", "Demo-Password-1", None).await?;
//! for m in client.mailboxes().await? {
//!     println!("{}: {}", m.address, m.identity_state_label_it);
//! }
//! # Ok(()) }
//! ```

pub mod api;
pub mod card_message;
pub mod payment;
mod portals;

pub use card_message::SignableChallenge;
pub use payment::{PaymentError, PaymentKeys};
pub use portals::Portal;

use std::net::IpAddr;
use std::sync::RwLock;
use std::time::Duration;

use api::*;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for a whole request (documents up to 5 MiB included).
    pub request_timeout: Duration,
    /// Retries of an idempotent call after a transport error or a 502/503/504.
    pub max_retries: u32,
    /// First backoff; doubled on each retry.
    pub initial_backoff: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_retries: 3,
            initial_backoff: Duration::from_millis(200),
        }
    }
}

/// What can go wrong calling the provider.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The base URL is not https and not loopback.
    #[error("the provider URL must use https (plain http only on loopback): {0}")]
    InsecureUrl(String),
    /// The base URL cannot be parsed.
    #[error("invalid provider URL: {0}")]
    InvalidUrl(String),
    /// The provider answered with a problem.
    #[error("{} ({}): {}", problem.code, status, problem.message_en)]
    Api {
        /// HTTP status.
        status: u16,
        /// The problem body, with its stable code and both messages (boxed: errors travel in
        /// every `Result`, and should stay small).
        problem: Box<Problem>,
    },
    /// The provider did not answer in time.
    #[error("the provider did not answer in time")]
    Timeout,
    /// Connection or protocol failure.
    #[error("cannot reach the provider: {0}")]
    Transport(String),
    /// The provider's certificate is not trusted by this computer: most often a firewall that
    /// inspects TLS with a company CA missing from the OS store (or a wrong clock).
    #[error("the provider's certificate is not trusted: {0}")]
    UntrustedCertificate(String),
    /// The answer was not what the API says.
    #[error("unexpected answer from the provider: {0}")]
    Decode(String),
    /// A call that needs a session was made without one.
    #[error("not signed in")]
    NotSignedIn,
    /// An id (from the webview or from the provider) that cannot be a URL path segment; the
    /// request was not sent. The id itself is left out: it may be a delegation token.
    #[error("an id is not a valid URL path segment")]
    InvalidId,
}

/// What may be one path segment of a provider URL: 1 to 256 printable ASCII characters, not
/// `.` or `..`, and none of the characters that end or escape a segment (`/ \ ? # %`) or that
/// some servers split on (`;`, `,`). Every id the API hands out (request, practice, ticket,
/// order, captcha ids, tokens, PEC addresses, tax codes) fits.
pub fn valid_segment(segment: &str) -> bool {
    const DELIMITERS: &[u8] = b"/\\?#%;,";
    (1..=256).contains(&segment.len())
        && segment != "."
        && segment != ".."
        && segment
            .bytes()
            .all(|b| b.is_ascii_graphic() && !DELIMITERS.contains(&b))
}

impl Error {
    /// The server's stable problem code, if the server answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { problem, .. } => Some(&problem.code),
            _ => None,
        }
    }

    /// The error as the app shows it: the provider's own problem (its code and both messages)
    /// when it answered with one, else our code for what went wrong on the way.
    pub fn to_localized(&self) -> pec_domain::Localized {
        use pec_domain::Localized as L;
        match self {
            Self::Api { problem, .. } => problem.localized(),
            Self::InsecureUrl(_) => L::new(
                "provider.insecure_url",
                "L'indirizzo del fornitore deve usare https (http solo in locale).",
                "The provider address must use https (plain http only on this computer).",
            ),
            Self::InvalidUrl(_) => L::new(
                "provider.invalid_url",
                "L'indirizzo del fornitore non è valido.",
                "The provider address is not valid.",
            ),
            Self::Timeout => L::new(
                "provider.timeout",
                "Il fornitore non ha risposto in tempo. Riprova tra poco.",
                "The provider did not answer in time. Try again shortly.",
            ),
            Self::Transport(detail) => L::new(
                "provider.unreachable",
                format!(
                    "Impossibile contattare il fornitore ({detail}). Controlla la connessione e riprova."
                ),
                format!(
                    "Cannot reach the provider ({detail}). Check the connection and try again."
                ),
            ),
            Self::UntrustedCertificate(_) => L::new(
                UNTRUSTED_CERTIFICATE,
                "Il certificato del fornitore non è riconosciuto da questo computer. Se la rete \
                 è protetta da un firewall o proxy che ispeziona le connessioni cifrate (HTTPS), \
                 chiedi al tuo reparto informatico di installare il suo certificato nell'archivio \
                 dei certificati del sistema; controlla anche che data e ora del computer siano giuste.",
                "The provider's certificate is not recognised by this computer. If the network is \
                 protected by a firewall or proxy that inspects encrypted (HTTPS) connections, ask \
                 your IT department to install its certificate in the system's certificate store; \
                 also check that the computer's date and time are right.",
            ),
            Self::Decode(_) => L::new(
                "provider.bad_answer",
                "Il fornitore ha dato una risposta inattesa.",
                "The provider gave an unexpected answer.",
            ),
            Self::NotSignedIn => L::new(
                SESSION_REQUIRED,
                "Accedi per continuare.",
                "Sign in to continue.",
            ),
            Self::InvalidId => L::new(
                "provider.invalid_id",
                "L'identificativo ricevuto non è valido: la richiesta non è stata inviata.",
                "The identifier received is not valid: the request was not sent.",
            ),
        }
    }

    /// The HTTP status, if the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    fn from_reqwest(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            Self::Timeout
        } else if pec_net::is_untrusted_certificate(&e) {
            Self::UntrustedCertificate(e.without_url().to_string())
        } else if e.is_decode() {
            Self::Decode(e.to_string())
        } else {
            // Without the URL: it may hold a delegation token.
            Self::Transport(e.without_url().to_string())
        }
    }

    fn retryable(&self) -> bool {
        match self {
            Self::Timeout | Self::Transport(_) => true,
            Self::Api { status, .. } => matches!(status, 502..=504),
            _ => false,
        }
    }
}

/// The code of a connection refused because the provider's certificate is not trusted.
pub const UNTRUSTED_CERTIFICATE: &str = "provider.untrusted_certificate";

/// The code of a call made without a session (the app's own "not signed in" shares it).
pub const SESSION_REQUIRED: &str = "session.required";

/// Result of a client call.
pub type Result<T> = std::result::Result<T, Error>;

/// Which credential a call carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// None: sign-in, refresh, public links.
    None,
    /// The provider session's access token.
    Session,
    /// The sandbox's per-run back-office secret (`/sandbox/*` only).
    Sandbox,
}

/// Whether a call may be repeated after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    Yes,
    No,
}

/// A provider API client. Cheap to share behind an `Arc`; holds the current access token.
pub struct Client {
    http: reqwest::Client,
    base: Url,
    config: ClientConfig,
    // Tokens and the secret are wiped when replaced or dropped (audit L5).
    token: RwLock<Option<Token>>,
    /// Sessions of the registry and renewal portals: separate accounts, separate tokens.
    portal_tokens: RwLock<[Option<Token>; 2]>,
    /// The sandbox's back-office secret, for the `sandbox_*` calls (tests, the embedded demo).
    sandbox_secret: RwLock<Option<Token>>,
    /// The provider's clock as its last answer's `Date` header told it (see [`Client::provider_now`]).
    clock: ProviderClock,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with default timeouts and retries.
    pub fn new(base_url: &str) -> Result<Self> {
        Self::with_config(base_url, ClientConfig::default())
    }

    /// A client with explicit settings.
    pub fn with_config(base_url: &str, config: ClientConfig) -> Result<Self> {
        let base = Url::parse(base_url).map_err(|e| Error::InvalidUrl(e.to_string()))?;
        check_secure(&base)?;
        // The OS certificate store and the system proxy (pec-net): offices reach the provider
        // through proxies and TLS-inspecting firewalls.
        let http = pec_net::client_builder(&base)
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // A redirect could move the request to plain http or another host with our token.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("pec-provider/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Transport(e.to_string()))?;
        Ok(Self {
            http,
            base,
            config,
            token: RwLock::new(None),
            portal_tokens: RwLock::new([None, None]),
            sandbox_secret: RwLock::new(None),
            clock: ProviderClock::default(),
        })
    }

    /// The provider's current time, from the `Date` header of its latest answer (the API
    /// documents one on every response) carried forward by the local clock; `None` before
    /// the first answer. Deadlines and reminders are the provider's: a device clock that is
    /// wrong, or a sandbox clock moved by a test, must not change what is due.
    pub fn provider_now(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.clock.now()
    }

    /// Asks the provider for its time (a `GET /v1/health`, whose answer carries `Date`).
    pub async fn fetch_provider_now(&self) -> Result<chrono::DateTime<chrono::Utc>> {
        self.health().await?;
        self.clock
            .now()
            .ok_or_else(|| Error::Decode("the provider sent no Date header".into()))
    }

    /// The provider's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// Uses `token` for the calls that need a session (e.g. one restored from the keyring).
    pub fn set_access_token(&self, token: Option<Token>) {
        if let Ok(mut t) = self.token.write() {
            *t = token;
        }
    }

    /// Uses `secret` for the sandbox back-office calls (`sandbox_*`): a sandbox-mode server
    /// answers them only with the secret of its run (see `pec_sandbox::Config::sandbox_secret`).
    pub fn set_sandbox_secret(&self, secret: Option<String>) {
        if let Ok(mut s) = self.sandbox_secret.write() {
            *s = secret.map(Token::from);
        }
    }

    fn bearer(&self) -> Option<Token> {
        self.token.read().ok().and_then(|t| t.clone())
    }

    /// The URL of `segments` under the base. Every segment is checked first (audit L7): ids
    /// come from the webview and from the provider's answers, and `url` silently drops `.`
    /// and `..` segments, so `identity_request("..")` would become another route.
    fn url(&self, segments: &[&str]) -> Result<Url> {
        if !segments.iter().all(|s| valid_segment(s)) {
            return Err(Error::InvalidId);
        }
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| Error::InvalidUrl(self.base.to_string()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    // -----------------------------------------------------------------------------------------
    // Sessions

    /// Signs in with a PEC address or account id; the session's access token is kept for the
    /// following calls. Never retried (each failure counts towards the lock-out).
    pub async fn sign_in(
        &self,
        login: &str,
        password: &str,
        totp_code: Option<&str>,
    ) -> Result<SessionTokens> {
        let body = SignInRequest {
            login: login.to_owned(),
            password: password.to_owned(),
            totp_code: totp_code.map(str::to_owned),
        };
        let tokens: SessionTokens = self
            .send(
                Method::POST,
                &["v1", "sessions"],
                Some(&body),
                None,
                Auth::None,
                Retry::No,
            )
            .await?;
        self.set_access_token(Some(tokens.access_token.clone()));
        Ok(tokens)
    }

    /// Exchanges a refresh token for new tokens (kept for the following calls).
    pub async fn refresh(&self, refresh_token: &str) -> Result<SessionTokens> {
        let body = RefreshRequest {
            refresh_token: refresh_token.into(),
        };
        let tokens: SessionTokens = self
            .send(
                Method::POST,
                &["v1", "sessions", "refresh"],
                Some(&body),
                None,
                Auth::None,
                Retry::No,
            )
            .await?;
        self.set_access_token(Some(tokens.access_token.clone()));
        Ok(tokens)
    }

    /// Signs out; the token is forgotten here too.
    pub async fn sign_out(&self) -> Result<()> {
        self.send_empty(
            Method::DELETE,
            &["v1", "sessions", "current"],
            None::<&()>,
            Auth::Session,
            Retry::Yes,
        )
        .await?;
        self.set_access_token(None);
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Mailboxes and notifications

    /// The account's mailboxes.
    pub async fn mailboxes(&self) -> Result<Vec<MailboxView>> {
        self.get(&["v1", "mailboxes"]).await
    }

    /// One mailbox.
    pub async fn mailbox(&self, address: &str) -> Result<MailboxView> {
        self.get(&["v1", "mailboxes", address]).await
    }

    /// Bell notifications and banners.
    pub async fn notifications(&self) -> Result<Vec<NotificationView>> {
        self.get(&["v1", "notifications"]).await
    }

    /// Marks a notification read.
    pub async fn mark_notification_read(&self, id: &str) -> Result<()> {
        self.send_empty(
            Method::POST,
            &["v1", "notifications", id, "read"],
            None::<&()>,
            Auth::Session,
            Retry::Yes,
        )
        .await
    }

    // -----------------------------------------------------------------------------------------
    // Identity requests

    /// Starts an identity confirmation for a mailbox ("Conferma identità").
    pub async fn create_identity_request(&self, address: &str) -> Result<IdentityRequestView> {
        self.create_identity_request_keyed(address, &new_key())
            .await
    }

    /// As [`Self::create_identity_request`] with the caller's idempotency key (e.g. one persisted
    /// across an app restart).
    pub async fn create_identity_request_keyed(
        &self,
        address: &str,
        key: &str,
    ) -> Result<IdentityRequestView> {
        self.create(
            &["v1", "mailboxes", address, "identity-requests"],
            None::<&()>,
            key,
        )
        .await
    }

    /// An identity request.
    pub async fn identity_request(&self, id: &str) -> Result<IdentityRequestView> {
        self.get(&["v1", "identity-requests", id]).await
    }

    /// Applies a wizard action. Not retried: the server's answer says where the request is.
    pub async fn act(&self, id: &str, action: &IdentityAction) -> Result<IdentityRequestView> {
        self.send(
            Method::POST,
            &["v1", "identity-requests", id, "actions"],
            Some(action),
            None,
            Auth::Session,
            Retry::No,
        )
        .await
    }

    /// Uploads a document for a failed legal-representative check.
    pub async fn upload_document(
        &self,
        id: &str,
        filename: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<DocumentView> {
        let key = new_key();
        let mut url = self.url(&["v1", "identity-requests", id, "documents"])?;
        url.query_pairs_mut().append_pair("filename", filename);
        let mut attempt = 0;
        loop {
            let req = self
                .authorised(self.http.post(url.clone()))?
                .header(IDEMPOTENCY_KEY_HEADER, &key)
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes.clone());
            match self.finish::<DocumentView>(req).await {
                Err(e) if e.retryable() && attempt < self.config.max_retries => {
                    self.backoff(attempt).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// What a delegation link (from the e-mail) is for; needs no session.
    pub async fn delegation(&self, token: &str) -> Result<DelegationView> {
        self.send(
            Method::GET,
            &["v1", "delegations", token],
            None::<&()>,
            None,
            Auth::None,
            Retry::Yes,
        )
        .await
    }

    // -----------------------------------------------------------------------------------------
    // Methods

    /// A single-use challenge for the card to sign.
    pub async fn card_challenge(&self, id: &str) -> Result<CardChallenge> {
        self.create(
            &["v1", "identity-requests", id, "card", "challenge"],
            None::<&()>,
            &new_key(),
        )
        .await
    }

    /// A single-use challenge, as the message the card is to sign (see [`card_message`]):
    /// built here from this client's own provider origin, `id` and the provider's nonce, which
    /// must be exactly 32 bytes (anything else is refused as a bad answer, never signed).
    pub async fn card_challenge_to_sign(&self, id: &str) -> Result<SignableChallenge> {
        use base64::Engine;
        let challenge = self.card_challenge(id).await?;
        let nonce = base64::engine::general_purpose::STANDARD
            .decode(challenge.challenge.trim())
            .map_err(|_| Error::Decode("the card challenge is not base64".into()))?;
        let origin =
            card_message::origin_of(&self.base).map_err(|e| Error::Decode(e.to_string()))?;
        let message =
            card_message::message(&origin, id, &nonce).map_err(|e| Error::Decode(e.to_string()))?;
        Ok(SignableChallenge {
            challenge_id: challenge.challenge_id,
            message,
            expires_at: challenge.expires_at,
        })
    }

    /// The card's answer. Never retried (the challenge is single use).
    pub async fn card_response(
        &self,
        id: &str,
        resp: &CardResponse,
    ) -> Result<IdentityRequestView> {
        self.send(
            Method::POST,
            &["v1", "identity-requests", id, "card", "response"],
            Some(resp),
            None,
            Auth::Session,
            Retry::No,
        )
        .await
    }

    /// Starts a SPID login.
    pub async fn start_spid(&self, id: &str) -> Result<SpidLogin> {
        self.create(
            &["v1", "identity-requests", id, "spid"],
            None::<&()>,
            &new_key(),
        )
        .await
    }

    /// Polls a SPID login.
    pub async fn poll_spid(&self, id: &str, handle: &str) -> Result<SpidPoll> {
        self.get(&["v1", "identity-requests", id, "spid", handle])
            .await
    }

    /// Starts a CieID login ("Entra con CIE" in the browser, the CieID app on the phone).
    pub async fn start_cieid(&self, id: &str) -> Result<CieIdLogin> {
        self.create(
            &["v1", "identity-requests", id, "cieid"],
            None::<&()>,
            &new_key(),
        )
        .await
    }

    /// Polls a CieID login.
    pub async fn poll_cieid(&self, id: &str, handle: &str) -> Result<CieIdPoll> {
        self.get(&["v1", "identity-requests", id, "cieid", handle])
            .await
    }

    /// The request form to sign for firma digitale / firma remota (issued on first read).
    pub async fn signature_form(&self, id: &str) -> Result<SignatureForm> {
        self.get(&["v1", "identity-requests", id, "signature-form"])
            .await
    }

    /// Sends the signed form (`.p7m`); the provider verifies it and evaluates the identified
    /// person. Never retried: a second copy would meet a request that has moved on.
    pub async fn send_signed_form(
        &self,
        id: &str,
        upload: &SignedFormUpload,
    ) -> Result<IdentityRequestView> {
        self.send(
            Method::POST,
            &["v1", "identity-requests", id, "signature-form", "signed"],
            Some(upload),
            None,
            Auth::Session,
            Retry::No,
        )
        .await
    }

    /// The signed form the provider kept.
    pub async fn signed_form(&self, id: &str) -> Result<SignedFormView> {
        self.get(&["v1", "identity-requests", id, "signature-form", "signed"])
            .await
    }

    /// Free webcam slots.
    pub async fn webcam_slots(&self) -> Result<Vec<WebcamSlot>> {
        self.get(&["v1", "webcam", "slots"]).await
    }

    /// Books a video call.
    pub async fn book_webcam(&self, id: &str, req: &WebcamBookingRequest) -> Result<WebcamBooking> {
        self.create(
            &["v1", "identity-requests", id, "webcam", "booking"],
            Some(req),
            &new_key(),
        )
        .await
    }

    // -----------------------------------------------------------------------------------------
    // Two-step login and app passwords

    /// Starts two-step enrolment of a mailbox without it (the answer holds the secret and the
    /// recovery codes, shown only now).
    pub async fn two_step_enrol(&self, address: &str) -> Result<TwoStepEnrolment> {
        self.two_step_reenrol(address, &SecondFactorProof::default())
            .await
    }

    /// Starts enrolling a new authenticator while two-step login is on: `proof` of the current
    /// one (a code, or a recovery code) is needed. Not retried: the proof is single use.
    pub async fn two_step_reenrol(
        &self,
        address: &str,
        proof: &SecondFactorProof,
    ) -> Result<TwoStepEnrolment> {
        self.send(
            Method::POST,
            &["v1", "mailboxes", address, "two-step", "enrolment"],
            Some(proof),
            None,
            Auth::Session,
            Retry::No,
        )
        .await
    }

    /// Confirms enrolment with a code of the new authenticator: two-step login is on (or
    /// moved), and the account's other sessions end.
    pub async fn two_step_confirm(&self, address: &str, code: &str) -> Result<MailboxView> {
        let body = CodeRequest {
            code: code.to_owned(),
        };
        self.send(
            Method::POST,
            &["v1", "mailboxes", address, "two-step", "confirmation"],
            Some(&body),
            None,
            Auth::Session,
            Retry::No,
        )
        .await
    }

    /// Turns two-step login off, with `proof` of the current factor; the account's other
    /// sessions end. Never retried, since a proof is single use.
    pub async fn two_step_disable(
        &self,
        address: &str,
        proof: &SecondFactorProof,
    ) -> Result<MailboxView> {
        self.send(
            Method::POST,
            &["v1", "mailboxes", address, "two-step", "disable"],
            Some(proof),
            None,
            Auth::Session,
            Retry::No,
        )
        .await
    }

    /// Creates an app password, with a current code of the mailbox's two-step login (the
    /// answer is the only time the password is shown). Not retried: the code is single use,
    /// and a repeat of the creation would not show the password again.
    pub async fn create_app_password(
        &self,
        address: &str,
        label: &str,
        totp_code: Option<&str>,
    ) -> Result<AppPasswordView> {
        let body = AppPasswordRequest {
            label: label.to_owned(),
            totp_code: totp_code.map(str::to_owned),
        };
        self.send(
            Method::POST,
            &["v1", "mailboxes", address, "app-passwords"],
            Some(&body),
            Some(&new_key()),
            Auth::Session,
            Retry::No,
        )
        .await
    }

    /// App passwords of a mailbox.
    pub async fn app_passwords(&self, address: &str) -> Result<Vec<AppPasswordView>> {
        self.get(&["v1", "mailboxes", address, "app-passwords"])
            .await
    }

    /// Revokes an app password.
    pub async fn delete_app_password(&self, address: &str, id: &str) -> Result<()> {
        self.send_empty(
            Method::DELETE,
            &["v1", "mailboxes", address, "app-passwords", id],
            None::<&()>,
            Auth::Session,
            Retry::Yes,
        )
        .await
    }

    // -----------------------------------------------------------------------------------------
    // Sandbox back office (only on a sandbox-mode server)

    /// Liveness.
    pub async fn health(&self) -> Result<Health> {
        self.send(
            Method::GET,
            &["health"],
            None::<&()>,
            None,
            Auth::None,
            Retry::Yes,
        )
        .await
    }

    /// The served OpenAPI document, as text.
    pub async fn openapi_document(&self) -> Result<String> {
        let req = self.http.get(self.url(&["openapi.json"])?);
        let resp = req.send().await.map_err(Error::from_reqwest)?;
        let bytes = read_body(resp, MAX_ANSWER_BYTES).await?;
        String::from_utf8(bytes).map_err(|e| Error::Decode(e.to_string()))
    }

    /// The sandbox outbox, optionally only messages to `to`.
    pub async fn sandbox_outbox(&self, to: Option<&str>) -> Result<Vec<OutboxMessage>> {
        let mut url = self.url(&["sandbox", "outbox"])?;
        if let Some(to) = to {
            url.query_pairs_mut().append_pair("to", to);
        }
        self.finish(self.with_sandbox_secret(self.http.get(url)))
            .await
    }

    /// The sandbox clock.
    pub async fn sandbox_clock(&self) -> Result<ClockView> {
        self.send(
            Method::GET,
            &["sandbox", "clock"],
            None::<&()>,
            None,
            Auth::Sandbox,
            Retry::Yes,
        )
        .await
    }

    /// Moves the sandbox clock forward.
    pub async fn sandbox_advance_clock(&self, seconds: u32) -> Result<ClockView> {
        self.send(
            Method::POST,
            &["sandbox", "clock", "advance"],
            Some(&ClockAdvance { seconds }),
            None,
            Auth::Sandbox,
            Retry::No,
        )
        .await
    }

    /// The operator's decision on submitted documents.
    pub async fn sandbox_decide_checks(
        &self,
        id: &str,
        passed: bool,
    ) -> Result<IdentityRequestView> {
        self.send(
            Method::POST,
            &["sandbox", "identity-requests", id, "checks"],
            Some(&ChecksDecision { passed }),
            None,
            Auth::Sandbox,
            Retry::No,
        )
        .await
    }

    /// The back office records a change of holder: the request starts again.
    pub async fn sandbox_holder_changed(&self, id: &str) -> Result<IdentityRequestView> {
        self.send(
            Method::POST,
            &["sandbox", "identity-requests", id, "holder-changed"],
            None::<&()>,
            None,
            Auth::Sandbox,
            Retry::No,
        )
        .await
    }

    /// The operator's decision after a video call.
    pub async fn sandbox_decide_webcam(
        &self,
        booking_id: &str,
        decision: &WebcamDecision,
    ) -> Result<WebcamBooking> {
        self.send(
            Method::POST,
            &["sandbox", "webcam", "bookings", booking_id, "decision"],
            Some(decision),
            None,
            Auth::Sandbox,
            Retry::No,
        )
        .await
    }

    /// Seeds a test account.
    pub async fn sandbox_seed_account(&self, req: &SeedAccountRequest) -> Result<SeededAccount> {
        self.send(
            Method::POST,
            &["sandbox", "accounts"],
            Some(req),
            None,
            Auth::Sandbox,
            Retry::No,
        )
        .await
    }

    // -----------------------------------------------------------------------------------------
    // Plumbing

    async fn get<T: DeserializeOwned>(&self, path: &[&str]) -> Result<T> {
        self.send(
            Method::GET,
            path,
            None::<&()>,
            None,
            Auth::Session,
            Retry::Yes,
        )
        .await
    }

    async fn create<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &[&str],
        body: Option<&B>,
        key: &str,
    ) -> Result<T> {
        self.send(
            Method::POST,
            path,
            body,
            Some(key),
            Auth::Session,
            Retry::Yes,
        )
        .await
    }

    fn authorised(&self, req: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder> {
        let token = self.bearer().ok_or(Error::NotSignedIn)?;
        Ok(req.bearer_auth(token.expose()))
    }

    /// Adds the sandbox secret, if one was given (without it the server answers 401).
    fn with_sandbox_secret(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.sandbox_secret.read().ok().and_then(|s| s.clone()) {
            Some(secret) => req.header(SANDBOX_SECRET_HEADER, secret.expose()),
            None => req,
        }
    }

    fn build<B: Serialize + ?Sized>(
        &self,
        method: &Method,
        path: &[&str],
        body: Option<&B>,
        key: Option<&str>,
        auth: Auth,
    ) -> Result<reqwest::RequestBuilder> {
        let mut req = self.http.request(method.clone(), self.url(path)?);
        match auth {
            Auth::None => {}
            Auth::Session => req = self.authorised(req)?,
            Auth::Sandbox => req = self.with_sandbox_secret(req),
        }
        if let Some(key) = key {
            req = req.header(IDEMPOTENCY_KEY_HEADER, key);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        Ok(req)
    }

    async fn send<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &[&str],
        body: Option<&B>,
        key: Option<&str>,
        auth: Auth,
        retry: Retry,
    ) -> Result<T> {
        let mut attempt = 0;
        loop {
            let req = self.build(&method, path, body, key, auth)?;
            match self.finish(req).await {
                Err(e)
                    if retry == Retry::Yes
                        && e.retryable()
                        && attempt < self.config.max_retries =>
                {
                    self.backoff(attempt).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn send_empty<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &[&str],
        body: Option<&B>,
        auth: Auth,
        retry: Retry,
    ) -> Result<()> {
        let mut attempt = 0;
        loop {
            let req = self.build(&method, path, body, None, auth)?;
            let result = match req
                .send()
                .await
                .inspect(|r| self.clock.observe(r.headers()))
            {
                Ok(resp) if resp.status().is_success() => Ok(()),
                Ok(resp) => Err(problem_of(resp).await),
                Err(e) => Err(Error::from_reqwest(e)),
            };
            match result {
                Err(e)
                    if retry == Retry::Yes
                        && e.retryable()
                        && attempt < self.config.max_retries =>
                {
                    self.backoff(attempt).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn finish<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<T> {
        let resp = req.send().await.map_err(Error::from_reqwest)?;
        self.clock.observe(resp.headers());
        if !resp.status().is_success() {
            return Err(problem_of(resp).await);
        }
        let bytes = read_body(resp, MAX_ANSWER_BYTES).await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode(e.to_string()))
    }

    async fn backoff(&self, attempt: u32) {
        let base = self
            .config
            .initial_backoff
            .saturating_mul(1 << attempt.min(6));
        // Up to +50% jitter, from the clock's nanoseconds: enough to spread retries apart.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let jitter = base.mul_f64(f64::from(nanos % 500) / 1000.0);
        tokio::time::sleep(base + jitter).await;
    }
}

/// The offset of the provider's clock from ours, learnt from `Date` headers.
#[derive(Default)]
struct ProviderClock {
    /// Provider time minus local time, in milliseconds; `None` until a `Date` was seen.
    offset_ms: RwLock<Option<i64>>,
}

impl ProviderClock {
    fn observe(&self, headers: &reqwest::header::HeaderMap) {
        let Some(date) = headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_http_date)
        else {
            return;
        };
        let offset = (date - chrono::Utc::now()).num_milliseconds();
        if let Ok(mut o) = self.offset_ms.write() {
            *o = Some(offset);
        }
    }

    fn now(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let offset = (*self.offset_ms.read().ok()?)?;
        chrono::Utc::now().checked_add_signed(chrono::TimeDelta::milliseconds(offset))
    }
}

/// An HTTP date in its preferred form (IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`), the only
/// one a server may send (RFC 9110 section 5.6.7).
fn parse_http_date(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let naive =
        chrono::NaiveDateTime::parse_from_str(text.trim(), "%a, %d %b %Y %H:%M:%S GMT").ok()?;
    Some(naive.and_utc())
}

/// The most of one answer's body the client reads (audit I4): the API's answers are
/// kilobytes, its largest (an outbox page, a captcha image, the OpenAPI document) well under
/// a MiB; a provider (or whoever answers in its place) must not make the app hold an
/// unbounded body in memory.
pub const MAX_ANSWER_BYTES: usize = 8 << 20;

/// The most of an error answer's body read: a problem document is a few hundred bytes.
const MAX_PROBLEM_BYTES: usize = 64 << 10;

/// Reads `resp`'s body, at most `limit` bytes: a longer one (announced or sent) is refused as
/// a bad answer as soon as it is known to be longer, without reading the rest.
pub(crate) async fn read_body(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>> {
    let too_long = || Error::Decode(format!("the answer is longer than {limit} bytes"));
    if resp
        .content_length()
        .is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX))
    {
        return Err(too_long());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(Error::from_reqwest)? {
        if body.len() + chunk.len() > limit {
            return Err(too_long());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn problem_of(resp: reqwest::Response) -> Error {
    let status = resp.status();
    let bytes = read_body(resp, MAX_PROBLEM_BYTES).await.unwrap_or_default();
    match serde_json::from_slice::<Problem>(&bytes) {
        Ok(problem) => Error::Api {
            status: status.as_u16(),
            problem: Box::new(problem),
        },
        Err(_) => Error::Api {
            status: status.as_u16(),
            problem: Box::new(Problem {
                type_uri: "about:blank".into(),
                title: status.canonical_reason().unwrap_or("error").into(),
                status: status.as_u16(),
                code: generic_code(status).into(),
                message_it: format!("Il fornitore ha risposto con un errore ({status})."),
                message_en: format!("The provider answered with an error ({status})."),
                retry_after: None,
            }),
        },
    }
}

fn generic_code(status: StatusCode) -> &'static str {
    if status.is_server_error() {
        "server.error"
    } else {
        "request.error"
    }
}

fn check_secure(url: &Url) -> Result<()> {
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
                Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                None => false,
            };
            if loopback {
                Ok(())
            } else {
                Err(Error::InsecureUrl(url.to_string()))
            }
        }
        _ => Err(Error::InsecureUrl(url.to_string())),
    }
}

/// A fresh idempotency key.
pub fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_in_the_preferred_form_are_read_others_are_not() {
        let d = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(d.to_rfc3339(), "1994-11-06T08:49:37+00:00");
        // The obsolete forms and garbage are ignored: no clock is better than a wrong one.
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 +0100"), None);
        assert_eq!(parse_http_date(""), None);
    }

    /// L5: the client holds its tokens and the sandbox secret out of `Debug`.
    #[test]
    fn debug_of_a_signed_in_client_shows_no_token() {
        let c = Client::new("http://127.0.0.1:1/").unwrap();
        c.set_access_token(Some("at-a1b2c3d4e5f6".into()));
        c.set_portal_token(Portal::Renewal, Some("pt-0a1b2c3d4e5f".into()));
        c.set_sandbox_secret(Some("sb-9z8y7x6w5v4u".into()));
        let shown = format!("{c:?}");
        for secret in ["a1b2c3d4e5f6", "0a1b2c3d4e5f", "9z8y7x6w5v4u"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert_eq!(
            c.bearer().map(|t| t.expose().to_owned()).as_deref(),
            Some("at-a1b2c3d4e5f6")
        );
    }

    #[test]
    fn https_required_except_loopback() {
        assert!(Client::new("https://pec.example.it").is_ok());
        assert!(Client::new("http://127.0.0.1:8787").is_ok());
        assert!(Client::new("http://[::1]:8787").is_ok());
        assert!(Client::new("http://localhost:8787").is_ok());
        assert!(matches!(
            Client::new("http://pec.example.it"),
            Err(Error::InsecureUrl(_))
        ));
        assert!(matches!(
            Client::new("http://10.0.0.1"),
            Err(Error::InsecureUrl(_))
        ));
        assert!(matches!(Client::new("ftp://x"), Err(Error::InsecureUrl(_))));
    }

    #[test]
    fn path_segments_are_checked_before_they_become_a_url() {
        let c = Client::new("http://127.0.0.1:1/base/").unwrap();
        let u = c
            .url(&["v1", "mailboxes", "mario.rossi+x@pec.example.it"])
            .unwrap();
        assert_eq!(
            u.as_str(),
            "http://127.0.0.1:1/base/v1/mailboxes/mario.rossi+x@pec.example.it"
        );
        for bad in [
            "", ".", "..", "../x", "a/b", "a?b", "a#b", "a%2e", "a\\b", "a b", "a;b", "a,b", "à",
            "a\nb",
        ] {
            assert!(
                matches!(
                    c.url(&["v1", "identity-requests", bad]),
                    Err(Error::InvalidId)
                ),
                "{bad:?}"
            );
        }
        assert!(c.url(&["v1", &"x".repeat(257)]).is_err());
        assert!(c.url(&["v1", &"x".repeat(256)]).is_ok());
    }

    #[test]
    fn only_transport_and_gateway_errors_are_retried() {
        assert!(Error::Timeout.retryable());
        let api = |status| Error::Api {
            status,
            problem: Box::new(Problem {
                type_uri: String::new(),
                title: String::new(),
                status,
                code: "x".into(),
                message_it: String::new(),
                message_en: String::new(),
                retry_after: None,
            }),
        };
        assert!(api(503).retryable());
        assert!(!api(422).retryable());
        assert!(!api(500).retryable());
    }
}
